// journal_bench: sustained messages per second through a real kordon-host into the journal
// plugin (SQLite, WAL), with synchronous=FULL and =NORMAL, beside a baseline measured in the
// same run: the same rows inserted straight into a journal file with JournalStore::Insert in
// batches of the same size (no host, no bus, no thread hand-over). Prints the ratio. Also, in
// the same run: the bus's ceiling (the host delivering the same frames to a plugin that only
// counts them, tests/bench/bench_sink.cpp) and the same rows in the journal's format 1 (TEXT
// ids, four per-row indexes) by raw SQL, to compare the file formats.
//
//   baseline   rows --JournalStore::Insert (batch_max rows per transaction)--> file
//   kordon     PUSH --> bus.ingress --> broker --> journal's actor (OnMessage, batch)
//                   --> writer thread (one transaction per batch) --> file --> journal.committed
//
// Rows are realistic: ~300-byte JSON bodies, four topics, four lanes, crossing ids. The host
// run is timed from the first send to the journal.committed that covers the last message
// (its per-source last id), so it is what a client can count on as acknowledged.
//
// Exit status: 0; 1 when a run failed or the file does not hold every message; 2 on a usage
// error.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "envelope.h"
#include "host_harness.h"
#include "journal_store.h"
#include "bench_row.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::journal::JournalRow;
using kordon::journal::JournalStore;
using kordon::journal::StoreStatus;
using kordon::journal::Synchronous;
using namespace std::chrono_literals;

constexpr const char* kTopics[] = {"scanner.plate.read", "scanner.document.read",
                                   "scale.weight.stable", "scanner.container.read"};
constexpr char kSource[] = "journal-bench";
constexpr char kUsage[] =
    "usage: journal_bench [--messages N] [--repeat R] [--batch-max B] "
    "[--only sink|baseline|kordon] [--cache-mib M]\n";

struct Options {
  int messages = 300000;
  int repeat = 1;
  int batch_max = 2000;
  int cache_mib = kordon::journal::kDefaultCacheMib;  // the journal's page cache (cache_mib)
  std::string only;  // "sink", "baseline" or "kordon": one part alone (for profiling)
};

struct Frames {
  std::string topic, envelope, body, id;
};

// ~300-byte bodies of the kind the devices publish.
std::string Body(int n) {
  nlohmann::json j;
  j["plate"] = fmt::format("01KG{:03d}ABC", n % 1000);
  j["country"] = "KG";
  j["confidence"] = 0.93 + (n % 7) * 0.01;
  j["camera"] = fmt::format("lane{}-front", n % 4 + 1);
  j["image"] = fmt::format("/var/lib/kordon/images/2026/11/28/{:08d}.jpg", n);
  j["bbox"] = {120, 340, 410, 120};
  j["reader"] = "plate-reader";
  j["raw"] = fmt::format("01 KG {:03d} ABC", n % 1000);
  j["note"] = std::string(90, 'x');
  return j.dump();
}

std::vector<Frames> MakeFrames(int count) {
  std::vector<Frames> out;
  out.reserve(count);
  for (int n = 0; n < count; ++n) {
    kordon::host::Envelope e = kordon::host::NewEnvelope(kSource);
    e.lane = fmt::format("lane{}", n % 4 + 1);
    e.crossing_id = fmt::format("c-{}-{}", n % 4 + 1, n / 40);
    Frames f;
    f.topic = kTopics[n % 4];
    f.envelope = kordon::host::EncodeEnvelope(e);
    f.body = Body(n);
    f.id = kordon::host::IdToHex(e.id);
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<JournalRow> MakeRows(const std::vector<Frames>& frames) {
  std::vector<JournalRow> rows;
  rows.reserve(frames.size());
  int n = 0;
  for (const Frames& f : frames) {
    JournalRow r;
    r.topic = f.topic;
    r.id = f.id;
    r.time_us = 1795829400LL * 1000000 + n;
    r.recv_us = r.time_us + 100;
    r.source = kSource;
    r.lane = fmt::format("lane{}", n % 4 + 1);
    r.crossing_id = fmt::format("c-{}-{}", n % 4 + 1, n / 40);
    r.schema = f.topic;
    r.body = f.body;
    rows.push_back(std::move(r));
    ++n;
  }
  return rows;
}

// Raw inserts in batches of batch_max; returns rows/s, or 0 on failure.
double Baseline(const std::vector<JournalRow>& all, Synchronous sync, int batch_max,
                int cache_mib) {
  kordon::testing::TempDir dir;
  StoreStatus s;
  auto store = JournalStore::OpenForWriting(dir.File("baseline.db"), sync, 1000, cache_mib, &s);
  if (!store) {
    fmt::print(stderr, "baseline: {}\n", s.message);
    return 0;
  }
  std::vector<JournalRow> batch;
  const auto start = Clock::now();
  for (size_t i = 0; i < all.size(); i += batch_max) {
    // Copies, as the plugin builds each row from the message it receives.
    batch.assign(all.begin() + i, all.begin() + std::min(all.size(), i + batch_max));
    kordon::journal::InsertResult result;
    if (s = store->Insert(&batch, &result); !s.ok()) {
      fmt::print(stderr, "baseline: {}\n", s.message);
      return 0;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return all.size() / secs;
}

// The bus's ceiling: the same frames through kordon-host to a plugin that only counts them
// (bench_sink), timed until it reports having seen the last one. Returns msg/s, 0 on failure.
double ThroughSink(const std::vector<Frames>& frames) {
  using namespace kordon::testing;
  TempDir dir;
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("sink", TestPlugin("bench_sink"), "subscribe = *\n"));
  std::string why;
  if (!host.WaitReady(15s, &why)) {
    fmt::print(stderr, "sink host: {}\n", why);
    return 0;
  }
  auto watch = ConnectClient(host.ready(), {"bench.sink.seen"}, &why, "journal-bench-watch");
  if (!watch) {
    fmt::print(stderr, "client: {}\n", why);
    return 0;
  }
  zmq::context_t ctx(1);
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(host.ready().ingress);
  const auto start = Clock::now();
  for (const Frames& f : frames) {
    (void)push.send(zmq::buffer(f.topic), zmq::send_flags::sndmore);
    (void)push.send(zmq::buffer(f.envelope), zmq::send_flags::sndmore);
    (void)push.send(zmq::buffer(f.body), zmq::send_flags::none);
  }
  const std::string done_env = kordon::host::EncodeEnvelope(kordon::host::NewEnvelope(kSource));
  (void)push.send(zmq::str_buffer("bench.sink.done"), zmq::send_flags::sndmore);
  (void)push.send(zmq::buffer(done_env), zmq::send_flags::sndmore);
  (void)push.send(zmq::str_buffer("{}"), zmq::send_flags::none);
  int64_t seen = -1;
  auto m = watch->Receive(60s);
  if (m && m->topic == "bench.sink.seen") {
    nlohmann::json j = nlohmann::json::parse(m->body, nullptr, false);
    if (j.is_object()) seen = j.value("n", int64_t{-1});
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  (void)host.StopWith(SIGTERM);
  if (seen < static_cast<int64_t>(frames.size())) {
    fmt::print(stderr, "sink: saw {} of {} messages\n", seen, frames.size());
    return 0;
  }
  return frames.size() / secs;
}

// The same rows into a file of the journal's format 1 (kordon 1.0: TEXT ids and four per-row
// indexes), by raw SQL as JournalStore::Insert did then: what format 2 is measured against.
// Returns rows/s, or 0 on failure.
double Format1Reference(const std::vector<JournalRow>& all, Synchronous sync, int batch_max,
                        int cache_mib) {
  kordon::testing::TempDir dir;
  sqlite3* db = nullptr;
  if (sqlite3_open(dir.File("format1.db").c_str(), &db) != SQLITE_OK) return 0;
  const std::string setup =
      std::string("PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
      (sync == Synchronous::kFull ? "FULL" : "NORMAL") +
      "; PRAGMA cache_size=-" + std::to_string(cache_mib * 1024) + ";"
      "CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, correlation_id TEXT "
      "NOT NULL, time_us INTEGER NOT NULL, recv_us INTEGER NOT NULL, topic TEXT NOT NULL, "
      "source TEXT NOT NULL, lane TEXT NOT NULL, crossing_id TEXT NOT NULL, schema TEXT NOT "
      "NULL, schema_version INTEGER NOT NULL, reply_to TEXT NOT NULL, flags INTEGER NOT NULL, "
      "body TEXT NOT NULL);"
      "CREATE UNIQUE INDEX messages_id ON messages (id);"
      "CREATE INDEX messages_crossing ON messages (crossing_id);"
      "CREATE INDEX messages_lane_time ON messages (lane, time_us);"
      "CREATE INDEX messages_topic_time ON messages (topic, time_us);";
  sqlite3_stmt* insert = nullptr;
  bool ok = sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK &&
            sqlite3_prepare_v2(db,
                               "INSERT OR IGNORE INTO messages VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                               "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                               -1, &insert, nullptr) == SQLITE_OK;
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(insert, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  std::vector<JournalRow> batch;
  int64_t seq = 0;
  const auto start = Clock::now();
  for (size_t i = 0; ok && i < all.size(); i += batch_max) {
    batch.assign(all.begin() + i, all.begin() + std::min(all.size(), i + batch_max));
    ok = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
    for (const JournalRow& r : batch) {
      if (!ok) break;
      sqlite3_reset(insert);
      sqlite3_bind_int64(insert, 1, ++seq);
      text(2, r.id);
      text(3, r.correlation_id);
      sqlite3_bind_int64(insert, 4, r.time_us);
      sqlite3_bind_int64(insert, 5, r.recv_us);
      text(6, r.topic);
      text(7, r.source);
      text(8, r.lane);
      text(9, r.crossing_id);
      text(10, r.schema);
      sqlite3_bind_int64(insert, 11, r.schema_version);
      text(12, r.reply_to);
      sqlite3_bind_int64(insert, 13, r.flags);
      text(14, r.body);
      ok = sqlite3_step(insert) == SQLITE_DONE;
    }
    ok = ok && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (!ok) fmt::print(stderr, "format 1: {}\n", sqlite3_errmsg(db));
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return ok ? all.size() / secs : 0;
}

// Through kordon-host; returns msg/s, or 0 on failure.
double ThroughHost(const std::vector<Frames>& frames, Synchronous sync, int batch_max,
                   int cache_mib) {
  using namespace kordon::testing;
  TempDir dir;
  const std::string db = dir.File("journal.db");
  HostProcess host(dir,
                   HostSection(dir) +
                       PluginSection("journal", SitePlugin("journal"),
                                     fmt::format("path = {}\nsynchronous = {}\nbatch_max = {}\n"
                                                 "cache_mib = {}\n",
                                                 db, sync == Synchronous::kFull ? "full" : "normal",
                                                 batch_max, cache_mib)));
  std::string why;
  if (!host.WaitReady(15s, &why)) {
    fmt::print(stderr, "host: {}\n", why);
    return 0;
  }
  auto watch = ConnectClient(host.ready(), {"journal.committed"}, &why, "journal-bench-watch");
  if (!watch) {
    fmt::print(stderr, "client: {}\n", why);
    return 0;
  }
  zmq::context_t ctx(1);
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(host.ready().ingress);
  const auto start = Clock::now();
  std::thread sender([&] {
    for (const Frames& f : frames) {
      (void)push.send(zmq::buffer(f.topic), zmq::send_flags::sndmore);
      (void)push.send(zmq::buffer(f.envelope), zmq::send_flags::sndmore);
      (void)push.send(zmq::buffer(f.body), zmq::send_flags::none);
    }
  });
  const std::string& last = frames.back().id;
  bool done = false;
  auto last_progress = Clock::now();
  while (!done && Clock::now() - last_progress < 20s) {
    auto m = watch->Receive(200ms);
    if (!m || m->topic != "journal.committed") continue;
    last_progress = Clock::now();
    nlohmann::json j = nlohmann::json::parse(m->body, nullptr, false);
    done = j.is_object() && j.contains("sources") && j["sources"].value(kSource, "") == last;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  sender.join();
  if (!done) {
    fmt::print(stderr, "host: the last message was not acknowledged; log:\n{}\n", host.Log());
    return 0;
  }
  (void)host.StopWith(SIGTERM);
  StoreStatus s;
  auto store = JournalStore::OpenReadOnly(db, &s);
  int64_t rows = 0;
  int64_t expected = static_cast<int64_t>(frames.size());
  if (!store || !store->Count(&rows).ok() || rows < expected) {
    fmt::print(stderr, "host: the file holds {} rows, expected at least {}\n", rows, expected);
    return 0;
  }
  return frames.size() / secs;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, kUsage);
      return 2;
    }
    const std::string value = argv[++i];
    const int v = std::atoi(value.c_str());
    if (a == "--only" && (value == "sink" || value == "baseline" || value == "kordon")) {
      o.only = value;
    } else if (a == "--messages" && v > 0) {
      o.messages = v;
    } else if (a == "--repeat" && v > 0) {
      o.repeat = v;
    } else if (a == "--batch-max" && v > 0) {
      o.batch_max = v;
    } else if (a == "--cache-mib" && v > 0) {
      o.cache_mib = v;
    } else {
      fmt::print(stderr, kUsage);
      return 2;
    }
  }
  fmt::print("journal_bench: {} messages, ~{}-byte bodies, batch_max {}, page cache {} MiB, "
             "median of {}\n",
             o.messages, Body(0).size(), o.batch_max, o.cache_mib, o.repeat);
  int status = 0;
  if (o.only.empty() || o.only == "sink") {
    // What the bus delivers to one plugin that does nothing: no journal can beat it.
    std::vector<double> sink;
    for (int r = 0; r < o.repeat; ++r) {
      sink.push_back(ThroughSink(MakeFrames(o.messages)));
      if (sink.back() == 0) status = 1;
    }
    fmt::print("bus ceiling (host -> do-nothing plugin): {:.0f} msg/s\n", Median(sink));
    kordon::bench::PrintRow({"journal", "bus ceiling: host -> do-nothing plugin over TCP",
                             Median(sink), "msg/s", "", std::nullopt, std::nullopt, "",
                             std::nullopt});
  }
  if (o.only == "sink") return status;
  fmt::print("{:<7} {:>16} {:>16} {:>7} {:>16} {:>9}\n", "sync", "raw sqlite msg/s",
             "kordon msg/s", "ratio", "format 1 msg/s", "2 vs 1");
  for (Synchronous sync : {Synchronous::kFull, Synchronous::kNormal}) {
    std::vector<double> base, host, format1;
    for (int r = 0; r < o.repeat; ++r) {
      // Fresh ids each run: the journal skips ids it already has.
      std::vector<Frames> frames = MakeFrames(o.messages);
      const std::vector<JournalRow> rows = MakeRows(frames);
      base.push_back(o.only == "kordon" ? 0 : Baseline(rows, sync, o.batch_max, o.cache_mib));
      format1.push_back(
          o.only == "kordon" ? 0 : Format1Reference(rows, sync, o.batch_max, o.cache_mib));
      host.push_back(o.only == "baseline" ? 0
                                          : ThroughHost(frames, sync, o.batch_max, o.cache_mib));
      if ((base.back() == 0 && o.only != "kordon") || (host.back() == 0 && o.only != "baseline"))
        status = 1;
    }
    const double b = Median(base), h = Median(host), f1 = Median(format1);
    fmt::print("{:<7} {:>16.0f} {:>16.0f} {:>7.2f} {:>16.0f} {:>9.2f}\n",
               sync == Synchronous::kFull ? "full" : "normal", b, h, b > 0 ? h / b : 0.0, f1,
               f1 > 0 ? b / f1 : 0.0);
    if (o.only.empty())
      kordon::bench::PrintRow(
          {"journal",
           fmt::format("host -> journal (SQLite WAL, synchronous {})",
                       sync == Synchronous::kFull ? "FULL" : "NORMAL"),
           h, "msg/s", "raw JournalStore inserts, same batches", b, b > 0 ? h / b : 0.0, "",
           std::nullopt});
  }
  return status;
}
