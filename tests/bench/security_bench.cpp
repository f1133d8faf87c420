// security_bench — what signed plugins and the audit log cost:
//  1. verifying a plugin file (read + BLAKE2b-512 + Ed25519, plugin_signature.h) beside the
//     baseline of reading the same file with plain read(), MB/s and the ratio;
//  2. appending audit records (hash chain, one synchronous FULL transaction each,
//     plugins/audit/audit_log.h) beside the same INSERT into a plain table with the same
//     settings (no hash), records/s and the ratio — the fsync dominates both.
//
// Exit status 1 when a signature does not verify or the chain is not intact (the smoke run,
// bench.security_smoke, checks that).
//
//   security_bench [--file-mib N] [--records N] [--repeat N]
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "audit_log.h"
#include "plugin_signature.h"

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool PlainRead(const std::string& path, uint64_t* sum) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  std::vector<char> buffer(1 << 20);
  ssize_t n;
  while ((n = ::read(fd, buffer.data(), buffer.size())) > 0)
    *sum += static_cast<uint8_t>(buffer[0]);
  ::close(fd);
  return n == 0;
}

}  // namespace

int main(int argc, char** argv) {
  long file_mib = 32, records = 300, repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--file-mib")) file_mib = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--records")) records = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeat")) repeat = std::atol(argv[i + 1]);
  }
  char templ[] = "/tmp/kordon-security-bench-XXXXXX";
  const std::string dir = mkdtemp(templ);
  int status = 0;
  std::string error, id;

  // 1. Plugin verification.
  const std::string plugin = dir + "/big.so";
  {
    std::ofstream out(plugin, std::ios::binary);
    std::string chunk(1 << 20, '\0');
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + 7);
    for (long i = 0; i < file_mib; ++i) out << chunk;
  }
  if (!kordon::signing::GenerateSigningKeyFiles(dir + "/k", &id, &error)) {
    std::fprintf(stderr, "security_bench: %s\n", error.c_str());
    return 1;
  }
  auto key = kordon::signing::ReadSigningKeyFile(dir + "/k.sign.key", &error);
  auto pub = kordon::signing::ReadPublicKeyFile(dir + "/k.sign.pub", &error);
  auto sig = key ? kordon::signing::SignFile(plugin, *key, &error) : std::nullopt;
  if (!sig || !pub) {
    std::fprintf(stderr, "security_bench: %s\n", error.c_str());
    return 1;
  }
  std::ofstream(plugin + ".sig") << *sig;
  double best_verify = 1e9, best_read = 1e9;
  uint64_t sum = 0;
  for (long r = 0; r < repeat; ++r) {
    auto t0 = Clock::now();
    if (!PlainRead(plugin, &sum)) status = 1;
    best_read = std::min(best_read, Seconds(t0));
    t0 = Clock::now();
    if (!kordon::signing::VerifyFile(plugin, {*pub}).ok()) status = 1;
    best_verify = std::min(best_verify, Seconds(t0));
  }
  const double mib = static_cast<double>(file_mib);
  std::printf("plugin verify (%ld MiB): %.0f MiB/s (%.1f ms); baseline read(): %.0f MiB/s "
              "(%.1f ms); ratio %.2fx\n",
              file_mib, mib / best_verify, best_verify * 1e3, mib / best_read, best_read * 1e3,
              best_verify / best_read);

  // 2. Audit appends.
  const std::string body =
      R"({"crossing_id":"C1","decision":"release","officer":"ana","reason":"documents ok"})";
  double best_audit = 1e9, best_plain = 1e9;
  for (long r = 0; r < repeat; ++r) {
    const std::string path = dir + "/audit" + std::to_string(r) + ".sqlite";
    auto log = kordon::audit::AuditLog::Open(path, &error);
    if (!log) {
      std::fprintf(stderr, "security_bench: %s\n", error.c_str());
      return 1;
    }
    auto t0 = Clock::now();
    for (long i = 0; i < records; ++i) {
      kordon::audit::Record rec;
      rec.time_us = i;
      rec.topic = "officer.decision";
      rec.source = "console";
      rec.lane = "lane-1";
      rec.crossing_id = "C1";
      rec.body = body;
      if (!log->Append(&rec).ok()) status = 1;
    }
    best_audit = std::min(best_audit, Seconds(t0));
    log.reset();
    if (kordon::audit::VerifyAuditFile(path, {}).records != records) status = 1;

    const std::string plain = dir + "/plain" + std::to_string(r) + ".sqlite";
    sqlite3* db = nullptr;
    sqlite3_open(plain.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE t(seq INTEGER PRIMARY KEY, time_us, topic, source, lane, "
                 "crossing_id, body)", nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &st, nullptr);
    t0 = Clock::now();
    for (long i = 0; i < records; ++i) {
      sqlite3_bind_int64(st, 1, i + 1);
      sqlite3_bind_int64(st, 2, i);
      sqlite3_bind_text(st, 3, "officer.decision", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 4, "console", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 5, "lane-1", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 6, "C1", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 7, body.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) != SQLITE_DONE) status = 1;
      sqlite3_reset(st);
    }
    best_plain = std::min(best_plain, Seconds(t0));
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  std::printf("audit append (%ld records, synchronous FULL): %.0f records/s; baseline plain "
              "INSERT, same settings: %.0f records/s; ratio %.2fx\n",
              records, records / best_audit, records / best_plain, best_audit / best_plain);
  fs::remove_all(dir);
  if (status != 0) std::fprintf(stderr, "security_bench: a check failed\n");
  return status;
}
