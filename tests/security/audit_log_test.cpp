// Unit tests of the audit log (plugins/audit/audit_log): records chain to the genesis and to
// each other; reopening continues the chain; and `verify` names the first broken record for
// each kind of tampering: a body edited, a record deleted, two records swapped, a record
// rewritten with a recomputed hash, records removed from the end (caught by a checkpoint), a
// forged checkpoint signature.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "audit_log.h"

namespace fs = std::filesystem;
using namespace kordon::audit;

namespace {

struct Dir {
  Dir() {
    char t[] = "/tmp/kordon-audit-XXXXXX";
    path = mkdtemp(t);
  }
  ~Dir() { fs::remove_all(path); }
  std::string File(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

Record Make(int i) {
  Record r;
  r.time_us = 1'700'000'000'000'000 + i;
  r.topic = i % 2 ? "officer.decision" : "officer.override";
  r.source = "console";
  r.lane = "lane-1";
  r.crossing_id = "X" + std::to_string(i);
  r.body = "{\"n\":" + std::to_string(i) + "}";
  return r;
}

void Fill(const std::string& path, int n, const CheckpointKey* key = nullptr, int every = 0) {
  std::string error;
  auto log = AuditLog::Open(path, &error);
  REQUIRE_MESSAGE(log, error);
  for (int i = 1; i <= n; ++i) {
    Record r = Make(i);
    REQUIRE(log->Append(&r).ok());
    if (every > 0 && i % every == 0) REQUIRE(log->Checkpoint(key, r.time_us).ok());
  }
}

// Runs SQL on the file as an intruder with sqlite3 would: the append-only triggers dropped.
void Tamper(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const std::string all = "DROP TRIGGER IF EXISTS audit_records_append_only_u;"
                          "DROP TRIGGER IF EXISTS audit_records_append_only_d;" + sql;
  int rc = sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err);
  CHECK_MESSAGE(rc == SQLITE_OK, (err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
}

CheckpointKey NewKey() {
  REQUIRE(sodium_init() >= 0);
  CheckpointKey k;
  crypto_sign_keypair(k.pub.data(), k.secret.data());
  k.key_id = "test";
  return k;
}

}  // namespace

TEST_CASE("an untouched log verifies; reopening continues the chain") {
  Dir dir;
  const std::string path = dir.File("audit.sqlite");
  Fill(path, 5);
  std::string error;
  {
    auto log = AuditLog::Open(path, &error);
    REQUIRE(log);
    CHECK(log->head_seq() == 5);
    Record r = Make(6);
    REQUIRE(log->Append(&r).ok());
    CHECK(r.seq == 6);
  }
  VerifyResult v = VerifyAuditFile(path, {});
  CHECK(v.outcome == VerifyResult::Outcome::kIntact);
  CHECK(v.records == 6);
  int n = 0;
  REQUIRE(ReadRecords(path, 0, "officer.decision", [&](const Record&) { ++n; }, &error));
  CHECK(n == 3);
}

TEST_CASE("the hash covers every field, through a length-prefixed encoding") {
  Record a = Make(1);
  a.seq = 1;
  a.prev_hash = std::string(64, '0');
  const std::string h = RecordHash(a);
  for (auto edit : {+[](Record& r) { r.seq = 2; }, +[](Record& r) { r.time_us++; },
                    +[](Record& r) { r.topic += "x"; }, +[](Record& r) { r.source = "x"; },
                    +[](Record& r) { r.lane = ""; }, +[](Record& r) { r.crossing_id = "Y"; },
                    +[](Record& r) { r.body = "{}"; }, +[](Record& r) { r.prev_hash[0] = '1'; }}) {
    Record b = a;
    edit(b);
    CHECK(RecordHash(b) != h);
  }
  // Moving a byte between neighbouring fields changes the hash too.
  Record b = a;
  b.source = "consol";
  b.lane = "elane-1";
  CHECK(RecordHash(b) != h);
}

TEST_CASE("the append-only triggers stop a plain UPDATE or DELETE") {
  Dir dir;
  const std::string path = dir.File("audit.sqlite");
  Fill(path, 2);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE audit_records SET body='{}'", nullptr, nullptr, nullptr) !=
        SQLITE_OK);
  CHECK(sqlite3_exec(db, "DELETE FROM audit_records", nullptr, nullptr, nullptr) != SQLITE_OK);
  sqlite3_close(db);
}

TEST_CASE("verify names the first broken record") {
  Dir dir;
  const std::string path = dir.File("audit.sqlite");
  Fill(path, 6);
  VerifyResult v;
  SUBCASE("a body edited") {
    Tamper(path, "UPDATE audit_records SET body='{\"n\":99}' WHERE seq=3");
    v = VerifyAuditFile(path, {});
    CHECK(v.first_bad_seq == 3);
    CHECK(v.problem.find("hash mismatch") != std::string::npos);
  }
  SUBCASE("a middle record deleted") {
    Tamper(path, "DELETE FROM audit_records WHERE seq=4");
    v = VerifyAuditFile(path, {});
    CHECK(v.first_bad_seq == 4);
    CHECK(v.problem.find("missing seq 4") != std::string::npos);
  }
  SUBCASE("two records swapped (contents exchanged, seq kept)") {
    Tamper(path,
           "CREATE TEMP TABLE t AS SELECT * FROM audit_records WHERE seq IN (2,3);"
           "DELETE FROM audit_records WHERE seq IN (2,3);"
           "INSERT INTO audit_records SELECT 5 - seq, time_us, topic, source, lane, crossing_id,"
           " body, prev_hash, hash FROM t;");
    v = VerifyAuditFile(path, {});
    CHECK(v.first_bad_seq == 2);
  }
  SUBCASE("a record rewritten with its hash recomputed: the next link breaks") {
    std::string error;
    Record r = Make(3);
    r.seq = 3;
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, "SELECT prev_hash FROM audit_records WHERE seq=3", -1, &st, nullptr);
      REQUIRE(sqlite3_step(st) == SQLITE_ROW);
      r.prev_hash = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      sqlite3_finalize(st);
      sqlite3_close(db);
    }
    r.body = "{\"n\":\"forged\"}";
    r.hash = RecordHash(r);
    Tamper(path, "UPDATE audit_records SET body='" + r.body + "', hash='" + r.hash +
                     "' WHERE seq=3");
    v = VerifyAuditFile(path, {});
    CHECK(v.first_bad_seq == 4);
    CHECK(v.problem.find("prev link") != std::string::npos);
  }
  SUBCASE("the genesis changed") {
    Tamper(path, "UPDATE audit_header SET genesis='" + std::string(64, 'a') + "'");
    v = VerifyAuditFile(path, {});
    CHECK(v.first_bad_seq == 1);
  }
  CHECK(v.outcome == VerifyResult::Outcome::kBroken);
}

TEST_CASE("records removed from the end are found through a checkpoint") {
  Dir dir;
  const std::string path = dir.File("audit.sqlite");
  CheckpointKey key = NewKey();
  Fill(path, 10, &key, 5);
  VerifyResult v = VerifyAuditFile(path, {key.pub});
  REQUIRE(v.outcome == VerifyResult::Outcome::kIntact);
  CHECK(v.last_checkpoint_seq == 10);
  Tamper(path, "DELETE FROM audit_records WHERE seq > 8");
  v = VerifyAuditFile(path, {key.pub});
  CHECK(v.outcome == VerifyResult::Outcome::kBroken);
  CHECK(v.problem.find("records removed from the end") != std::string::npos);
  CHECK(v.first_bad_seq == 9);
}

TEST_CASE("a checkpoint by another key, or with a broken signature, is refused") {
  Dir dir;
  const std::string path = dir.File("audit.sqlite");
  CheckpointKey key = NewKey();
  CheckpointKey other = NewKey();
  Fill(path, 4, &key, 2);
  CHECK(VerifyAuditFile(path, {other.pub}).outcome == VerifyResult::Outcome::kBroken);
  Tamper(path, "UPDATE audit_checkpoints SET hash='" + std::string(64, 'b') + "' WHERE seq=4");
  VerifyResult v = VerifyAuditFile(path, {key.pub});
  CHECK(v.outcome == VerifyResult::Outcome::kBroken);
  CHECK(v.first_bad_seq == 4);
}

TEST_CASE("a file that is not an audit log is unreadable, not intact") {
  Dir dir;
  std::ofstream(dir.File("x.sqlite")) << "not sqlite";
  CHECK(VerifyAuditFile(dir.File("x.sqlite"), {}).outcome ==
        VerifyResult::Outcome::kUnreadable);
  CHECK(VerifyAuditFile(dir.File("missing.sqlite"), {}).outcome ==
        VerifyResult::Outcome::kUnreadable);
}
