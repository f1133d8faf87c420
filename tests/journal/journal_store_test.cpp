// The journal file (plugins/journal/journal_store): batched inserts, duplicate ids, queries
// and their filters, retention in chunks, the size guard, a locked file — on real SQLite
// files in a temporary directory.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "journal_store.h"

namespace kordon::journal {
namespace {

constexpr int64_t kT0 = 1795829400LL * 1000000;  // 2026-11-28T01:30:00Z

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kordon-journal-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string Id(int n) {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%032x", n);
  return buf;
}

JournalRow Row(int n, const std::string& topic = "scanner.plate.read",
               const std::string& lane = "lane1", const std::string& crossing = "") {
  JournalRow r;
  r.id = Id(n);
  r.topic = topic;
  r.lane = lane;
  r.crossing_id = crossing;
  r.source = "test";
  r.schema = topic;
  r.time_us = kT0 + n * 1000000LL;
  r.recv_us = r.time_us + 5;
  r.body = "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + std::string(200, 'x') + "\"}";
  return r;
}

std::unique_ptr<JournalStore> OpenWriter(const std::string& path, int busy_ms = 200) {
  StoreStatus s;
  auto store = JournalStore::OpenForWriting(path, Synchronous::kNormal, busy_ms,
                                            kordon::journal::kDefaultCacheMib, &s);
  REQUIRE_MESSAGE(store, s.message);
  return store;
}

std::vector<int64_t> Seqs(JournalStore& store, const QueryFilter& f) {
  std::vector<int64_t> out;
  StoreStatus s = store.Query(f, [&](const JournalRow& r) {
    out.push_back(r.seq);
    return true;
  });
  REQUIRE_MESSAGE(s.ok(), s.message);
  return out;
}

TEST_CASE("a batch is inserted in one transaction with increasing seqs that survive a reopen") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  {
    auto store = OpenWriter(path);
    std::vector<JournalRow> rows;
    for (int i = 1; i <= 100; ++i) rows.push_back(Row(i));
    rows[3].correlation_id = Id(999);
    rows[3].reply_to = "rpc.reply.x";
    rows[3].flags = 1;
    InsertResult result;
    StoreStatus s = store->Insert(&rows, &result);
    REQUIRE_MESSAGE(s.ok(), s.message);
    CHECK(result.inserted == 100);
    CHECK(result.duplicates == 0);
    CHECK(result.first_seq == 1);
    CHECK(result.last_seq == 100);
    CHECK(rows[99].seq == 100);
  }
  auto store = OpenWriter(path);
  CHECK(store->last_seq() == 100);
  std::vector<JournalRow> more = {Row(101)};
  InsertResult result;
  REQUIRE(store->Insert(&more, &result).ok());
  CHECK(result.first_seq == 101);
  // Every field comes back as written.
  JournalRow back;
  QueryFilter f;
  REQUIRE(store->Query(f, [&](const JournalRow& r) {
                 if (r.seq == 4) back = r;
                 return true;
               }).ok());
  const JournalRow want = Row(4);
  CHECK(back.id == want.id);
  CHECK(back.correlation_id == Id(999));
  CHECK(back.reply_to == "rpc.reply.x");
  CHECK(back.flags == 1);
  CHECK(back.body == want.body);
  CHECK(back.time_us == want.time_us);
  CHECK(back.recv_us == want.recv_us);
  CHECK(back.topic == want.topic);
  CHECK(back.schema == want.schema);
}

TEST_CASE("the writer's page cache is the size asked for") {
  TempDir dir;
  StoreStatus s;
  auto store = JournalStore::OpenForWriting(dir.File("j.db"), Synchronous::kNormal, 100, 5, &s);
  REQUIRE_MESSAGE(store, s.message);
  CHECK(store->page_cache_mib() == 5);
  CHECK(OpenWriter(dir.File("k.db"))->page_cache_mib() == kordon::journal::kDefaultCacheMib);
}

TEST_CASE("a duplicate id is skipped and counted, not an error") {
  TempDir dir;
  auto store = OpenWriter(dir.File("j.db"));
  std::vector<JournalRow> rows = {Row(1), Row(2)};
  InsertResult result;
  REQUIRE(store->Insert(&rows, &result).ok());
  // A replay after a restart: 2 again, and 3 new; and 3 twice in the same batch.
  std::vector<JournalRow> again = {Row(2), Row(3), Row(3)};
  StoreStatus s = store->Insert(&again, &result);
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(result.inserted == 1);
  CHECK(result.duplicates == 2);
  CHECK(again[0].seq == 0);
  CHECK(again[1].seq == 3);
  CHECK(again[2].seq == 0);
  int64_t count = 0;
  REQUIRE(store->Count(&count).ok());
  CHECK(count == 3);
}

TEST_CASE("queries filter by crossing, lane, topic segments, time and limit, in seq order") {
  TempDir dir;
  auto store = OpenWriter(dir.File("j.db"));
  std::vector<JournalRow> rows = {
      Row(1, "scanner.plate.read", "lane1", "c-1"), Row(2, "scanner.document.read", "lane2", "c-2"),
      Row(3, "scannerx.other", "lane1", "c-1"),     Row(4, "scanner", "lane1", ""),
      Row(5, "officer.decision", "lane2", "c-2")};
  InsertResult result;
  REQUIRE(store->Insert(&rows, &result).ok());
  QueryFilter f;
  CHECK(Seqs(*store, f) == std::vector<int64_t>{1, 2, 3, 4, 5});
  f.crossing_id = "c-2";
  CHECK(Seqs(*store, f) == std::vector<int64_t>{2, 5});
  f = {};
  f.lane = "lane1";
  CHECK(Seqs(*store, f) == std::vector<int64_t>{1, 3, 4});
  f = {};
  f.topic_prefix = "scanner";  // not scannerx.other
  CHECK(Seqs(*store, f) == std::vector<int64_t>{1, 2, 4});
  f.topic_prefix = "scanner.plate";
  CHECK(Seqs(*store, f) == std::vector<int64_t>{1});
  f = {};
  f.since_us = kT0 + 2 * 1000000LL;
  f.until_us = kT0 + 5 * 1000000LL;
  CHECK(Seqs(*store, f) == std::vector<int64_t>{2, 3, 4});
  f.limit = 2;
  CHECK(Seqs(*store, f) == std::vector<int64_t>{2, 3});
  f = {};
  f.lane = "lane2";
  f.topic_prefix = "officer";
  CHECK(Seqs(*store, f) == std::vector<int64_t>{5});
}

TEST_CASE("retention deletes by age in chunks, dry-run deletes nothing") {
  TempDir dir;
  auto store = OpenWriter(dir.File("j.db"));
  std::vector<JournalRow> rows;
  for (int i = 1; i <= 1000; ++i) rows.push_back(Row(i));
  InsertResult result;
  REQUIRE(store->Insert(&rows, &result).ok());
  RetentionResult r;
  const int64_t cutoff = kT0 + 701 * 1000000LL;  // rows 1..700 are older
  REQUIRE(store->Retain(cutoff, 0, 64, /*dry_run=*/true, &r).ok());
  CHECK(r.deleted_by_age == 700);
  int64_t count = 0;
  REQUIRE(store->Count(&count).ok());
  CHECK(count == 1000);
  StoreStatus s = store->Retain(cutoff, 0, 64, false, &r);
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(r.deleted_by_age == 700);
  REQUIRE(store->Count(&count).ok());
  CHECK(count == 300);
  QueryFilter f;
  f.limit = 1;
  CHECK(Seqs(*store, f) == std::vector<int64_t>{701});
  bool ok = false;
  std::string report;
  REQUIRE(store->IntegrityCheck(&ok, &report).ok());
  CHECK(ok);
}

TEST_CASE("the size guard deletes the oldest rows until the data fits, keeps the newest") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  auto store = OpenWriter(path);
  for (int b = 0; b < 10; ++b) {
    std::vector<JournalRow> rows;
    for (int i = 1; i <= 1000; ++i) rows.push_back(Row(b * 1000 + i));
    InsertResult result;
    REQUIRE(store->Insert(&rows, &result).ok());
  }
  RetentionResult r;
  StoreStatus s = store->Retain(0, 1024 * 1024, 500, false, &r);
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(r.deleted_by_size > 0);
  CHECK(r.size_before > 2 * 1024 * 1024);
  CHECK(r.size_after <= 1024 * 1024 + 64 * 1024);  // the data plus a few free pages
  int64_t count = 0;
  REQUIRE(store->Count(&count).ok());
  CHECK(count == 10000 - static_cast<int64_t>(r.deleted_by_size));
  // What remains is the newest, and seq goes on after a reopen.
  store.reset();
  store = OpenWriter(path);
  CHECK(store->last_seq() == 10000);
  bool found = true;
  REQUIRE(store->Contains(Id(1), &found).ok());
  CHECK_FALSE(found);
  REQUIRE(store->Contains(Id(10000), &found).ok());
  CHECK(found);
}

TEST_CASE("a locked file: the insert fails with SQLITE_BUSY, writes nothing, and a retry works") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  auto store = OpenWriter(path, 50);
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  std::vector<JournalRow> rows = {Row(1), Row(2)};
  InsertResult result;
  StoreStatus s = store->Insert(&rows, &result);
  CHECK(s.code == SQLITE_BUSY);
  CHECK(s.message.find("locked") != std::string::npos);
  CHECK(rows[0].seq == 0);
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  s = store->Insert(&rows, &result);
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(result.inserted == 2);
  CHECK(result.first_seq == 1);
}

TEST_CASE("a full disk: SQLITE_FULL, the batch is not in the file, the file stays sound") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  auto store = OpenWriter(path);
  std::vector<JournalRow> rows = {Row(1)};
  InsertResult result;
  REQUIRE(store->Insert(&rows, &result).ok());
  // Room for a little more than what is there, then a batch far too big for it.
  REQUIRE(store->LimitPages(40).ok());
  StoreStatus s;
  int n = 2;
  for (int attempt = 0; attempt < 50 && s.ok(); ++attempt) {
    rows.clear();
    for (int i = 0; i < 200; ++i) rows.push_back(Row(n++));
    s = store->Insert(&rows, &result);
  }
  REQUIRE(s.code == SQLITE_FULL);
  CHECK(rows[0].seq == 0);
  int64_t count = 0;
  REQUIRE(store->Count(&count).ok());
  bool found = true;
  REQUIRE(store->Contains(rows.back().id, &found).ok());
  CHECK_FALSE(found);
  bool ok = false;
  std::string report;
  REQUIRE(store->IntegrityCheck(&ok, &report).ok());
  CHECK(ok);
  // Space again: the same rows go in, after the ones already there.
  REQUIRE(store->LimitPages(1000000).ok());
  s = store->Insert(&rows, &result);
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(result.inserted == 200);
  CHECK(result.first_seq == count + 1);
}

TEST_CASE("a reader sees committed rows while the writer is open; a non-journal is refused") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  auto writer = OpenWriter(path);
  std::vector<JournalRow> rows = {Row(1)};
  InsertResult result;
  REQUIRE(writer->Insert(&rows, &result).ok());
  StoreStatus s;
  auto reader = JournalStore::OpenReadOnly(path, &s);
  REQUIRE_MESSAGE(reader, s.message);
  int64_t count = 0;
  REQUIRE(reader->Count(&count).ok());
  CHECK(count == 1);
  rows = {Row(2)};
  REQUIRE(writer->Insert(&rows, &result).ok());
  REQUIRE(reader->Count(&count).ok());
  CHECK(count == 2);

  const std::string other = dir.File("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  CHECK_FALSE(JournalStore::OpenReadOnly(other, &s));
  CHECK_FALSE(JournalStore::OpenReadOnly(dir.File("absent.db"), &s));
}


// Runs one SQL statement on the file with a connection of its own; returns the first column
// of the first row as text ("" when none).
std::string RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK,
                  sqlite3_errmsg(db));
  std::string out;
  const int rc = sqlite3_step(stmt);
  CHECK_MESSAGE((rc == SQLITE_ROW || rc == SQLITE_DONE), sqlite3_errmsg(db));
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  CHECK_MESSAGE(rc == SQLITE_OK, (error != nullptr ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
}

std::vector<JournalRow> All(JournalStore& store, const QueryFilter& f = {}) {
  std::vector<JournalRow> out;
  StoreStatus s = store.Query(f, [&](const JournalRow& r) {
    out.push_back(r);
    return true;
  });
  REQUIRE_MESSAGE(s.ok(), s.message);
  return out;
}

TEST_CASE("ids are stored as 16-byte BLOBs and read back as the same 32 hex digits") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  auto store = OpenWriter(path);
  std::vector<JournalRow> rows = {Row(1), Row(2), Row(3)};
  rows[0].id = "3a01c6f1c9cd86bc0000000000001f40";
  rows[1].correlation_id = rows[0].id;
  rows[2].id = "not-a-hex-id";                      // kept as TEXT, unchanged
  rows[2].correlation_id = "3A01C6F1C9CD86BC00000000000001F4";  // upper case: TEXT too
  InsertResult result;
  REQUIRE(store->Insert(&rows, &result).ok());
  CHECK(RawSql(path, "SELECT typeof(id) || length(id) || ' ' || hex(id) FROM messages "
                     "WHERE seq = 1") == "blob16 3A01C6F1C9CD86BC0000000000001F40");
  CHECK(RawSql(path, "SELECT typeof(correlation_id) FROM messages WHERE seq = 1") == "null");
  CHECK(RawSql(path, "SELECT typeof(correlation_id) FROM messages WHERE seq = 2") == "blob");
  CHECK(RawSql(path, "SELECT typeof(id) FROM messages WHERE seq = 3") == "text");
  std::vector<JournalRow> back = All(*store);
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back[i].id == rows[i].id);
    CHECK(back[i].correlation_id == rows[i].correlation_id);
  }
  for (const JournalRow& r : rows) {
    bool found = false;
    REQUIRE(store->Contains(r.id, &found).ok());
    CHECK(found);
  }
  bool found = true;
  REQUIRE(store->Contains("3a01c6f1c9cd86bc00000000000001f5", &found).ok());
  CHECK_FALSE(found);
  // The same id in another case is another id (as it was with TEXT ids).
  REQUIRE(store->Contains("3A01C6F1C9CD86BC0000000000001F40", &found).ok());
  CHECK_FALSE(found);
}

TEST_CASE("duplicate ids are still skipped after a restart, the file unchanged") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  std::vector<JournalRow> rows;
  for (int i = 1; i <= 3000; ++i) rows.push_back(Row(i));
  {
    auto store = OpenWriter(path);
    InsertResult result;
    REQUIRE(store->Insert(&rows, &result).ok());
    CHECK(result.inserted == 3000);
  }
  auto store = OpenWriter(path);
  // A replay of everything plus one new message, in one batch.
  std::vector<JournalRow> replay;
  for (int i = 1; i <= 3000; ++i) replay.push_back(Row(i));
  replay.push_back(Row(3001));
  InsertResult result;
  REQUIRE(store->Insert(&replay, &result).ok());
  CHECK(result.duplicates == 3000);
  CHECK(result.inserted == 1);
  CHECK(result.first_seq == 3001);
  CHECK(replay.back().seq == 3001);
  CHECK(replay.front().seq == 0);
  int64_t count = 0;
  REQUIRE(store->Count(&count).ok());
  CHECK(count == 3001);
  QueryFilter f;
  f.since_us = kT0 + 3001 * 1000000LL;
  std::vector<JournalRow> last = All(*store, f);
  REQUIRE(last.size() == 1);
  CHECK(last[0].id == Id(3001));
}

// The blocks answer exactly what a scan of every row would: many blocks, rows of one crossing
// spread over several of them, time out of order, and after retention deleted some.
TEST_CASE("queries through blocks match a scan of every row, also after retention") {
  TempDir dir;
  auto store = OpenWriter(dir.File("j.db"));
  std::mt19937 rng(7);
  const char* topics[] = {"scanner.plate.read", "scanner.document.read", "alert.raised",
                          "scale.weight.stable"};
  std::vector<JournalRow> all;
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<JournalRow> rows;
    const int n = batch == 2 ? 2500 : 700;  // a batch of several blocks, and small ones
    for (int i = 0; i < n; ++i) {
      const int k = static_cast<int>(all.size() + rows.size()) + 1;
      JournalRow r = Row(k, topics[rng() % 4], rng() % 5 == 0 ? "" : "lane" +
                         std::to_string(rng() % 4), "c-" + std::to_string(rng() % 60));
      r.time_us = kT0 + static_cast<int64_t>(rng() % 100000) * 1000;  // not in seq order
      rows.push_back(r);
    }
    InsertResult result;
    REQUIRE(store->Insert(&rows, &result).ok());
    all.insert(all.end(), rows.begin(), rows.end());
  }
  auto check = [&](const QueryFilter& f) {
    std::vector<int64_t> want;
    for (const JournalRow& r : all) {
      if (r.seq == 0) continue;
      if (!f.crossing_id.empty() && r.crossing_id != f.crossing_id) continue;
      if (!f.lane.empty() && r.lane != f.lane) continue;
      if (!f.topic_prefix.empty() && r.topic != f.topic_prefix &&
          r.topic.rfind(f.topic_prefix + ".", 0) != 0)
        continue;
      if (f.since_us != 0 && r.time_us < f.since_us) continue;
      if (f.until_us != 0 && r.time_us >= f.until_us) continue;
      want.push_back(r.seq);
      if (f.limit > 0 && static_cast<int64_t>(want.size()) == f.limit) break;
    }
    CHECK(Seqs(*store, f) == want);
  };
  auto check_all = [&] {
    for (int c = 0; c < 60; c += 7) {
      QueryFilter f;
      f.crossing_id = "c-" + std::to_string(c);
      check(f);
      f.lane = "lane2";
      check(f);
    }
    for (const char* topic : {"scanner", "alert", "scanner.plate", "scale.weight.stable", "x"}) {
      QueryFilter f;
      f.topic_prefix = topic;
      check(f);
      f.since_us = kT0 + 20000 * 1000LL;
      f.until_us = kT0 + 20500 * 1000LL;
      check(f);
    }
    QueryFilter f;
    f.lane = "lane3";
    check(f);
    f.limit = 10;
    check(f);
    f = {};
    f.until_us = kT0 + 300 * 1000LL;
    check(f);
  };
  check_all();
  RetentionResult r;
  REQUIRE(store->Retain(kT0 + 30000 * 1000LL, 0, 100, false, &r).ok());
  CHECK(r.deleted_by_age > 0);
  for (JournalRow& row : all)
    if (row.time_us < kT0 + 30000 * 1000LL) row.seq = 0;
  check_all();
  CHECK(RawSql(dir.File("j.db"), "SELECT count(*) FROM block_keys WHERE first_seq NOT IN "
                                 "(SELECT first_seq FROM blocks)") == "0");
}

TEST_CASE("seq goes on after retention deleted every row, also when blocks were left over") {
  TempDir dir;
  const std::string path = dir.File("j.db");
  {
    auto store = OpenWriter(path);
    std::vector<JournalRow> rows;
    for (int i = 1; i <= 1500; ++i) rows.push_back(Row(i));
    InsertResult result;
    REQUIRE(store->Insert(&rows, &result).ok());
  }
  // As if a retention run died between deleting rows and dropping their blocks.
  RawExec(path, "DELETE FROM messages");
  {
    auto store = OpenWriter(path);
    CHECK(store->last_seq() == 1500);
    std::vector<JournalRow> rows = {Row(1501)};
    InsertResult result;
    StoreStatus s = store->Insert(&rows, &result);
    REQUIRE_MESSAGE(s.ok(), s.message);
    CHECK(result.first_seq == 1501);
    RetentionResult r;
    REQUIRE(store->Retain(kT0 + 2000 * 1000000LL, 0, 100, false, &r).ok());
    CHECK(r.deleted_by_age == 1);
  }
  // The newest block stays (empty): seq never goes back, even with no row left.
  CHECK(RawSql(path, "SELECT count(*) FROM messages") == "0");
  CHECK(RawSql(path, "SELECT count(*) || ' ' || max(last_seq) FROM blocks") == "1 1501");
  auto store = OpenWriter(path);
  CHECK(store->last_seq() == 1501);
}

// A journal written before format 2: the DDL of kordon 1.0's journal, by raw SQL.
const char kFormat1Schema[] =
    "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;"
    "CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, correlation_id TEXT NOT "
    "NULL, time_us INTEGER NOT NULL, recv_us INTEGER NOT NULL, topic TEXT NOT NULL, source TEXT "
    "NOT NULL, lane TEXT NOT NULL, crossing_id TEXT NOT NULL, schema TEXT NOT NULL, "
    "schema_version INTEGER NOT NULL, reply_to TEXT NOT NULL, flags INTEGER NOT NULL, body TEXT "
    "NOT NULL);"
    "CREATE UNIQUE INDEX messages_id ON messages (id);"
    "CREATE INDEX messages_crossing ON messages (crossing_id);"
    "CREATE INDEX messages_lane_time ON messages (lane, time_us);"
    "CREATE INDEX messages_topic_time ON messages (topic, time_us);";

std::string Format1Insert(int seq, const JournalRow& r) {
  return "INSERT INTO messages VALUES (" + std::to_string(seq) + ", '" + r.id + "', '" +
         r.correlation_id + "', " + std::to_string(r.time_us) + ", " +
         std::to_string(r.recv_us) + ", '" + r.topic + "', '" + r.source + "', '" + r.lane +
         "', '" + r.crossing_id + "', '" + r.schema + "', " + std::to_string(r.schema_version) +
         ", '" + r.reply_to + "', " + std::to_string(r.flags) + ", '" + r.body + "');";
}

TEST_CASE("a format-1 file (TEXT ids) is migrated on open for writing, refused read-only") {
  TempDir dir;
  const std::string path = dir.File("old.db");
  std::vector<JournalRow> old;
  std::string sql = std::string(kFormat1Schema) + "BEGIN;";
  for (int i = 1; i <= 2100; ++i) {
    JournalRow r = Row(i, i % 3 == 0 ? "officer.decision" : "scanner.plate.read",
                       "lane" + std::to_string(i % 2), "c-" + std::to_string(i / 100));
    if (i == 5) {
      r.correlation_id = Id(4);
      r.reply_to = "rpc.reply.x";
      r.flags = 1;
      r.schema_version = 3;
    }
    if (i == 6) r.id = "legacy-id-6";  // not hex: stays text
    r.seq = i * 2;                     // seq with gaps (retention, duplicates) stays as it was
    sql += Format1Insert(static_cast<int>(r.seq), r);
    old.push_back(r);
  }
  sql += "COMMIT;";
  RawExec(path, sql);
  REQUIRE(RawSql(path, "PRAGMA user_version") == "0");

  StoreStatus s;
  CHECK_FALSE(JournalStore::OpenReadOnly(path, &s));
  CHECK(s.message.find("format 1") != std::string::npos);
  CHECK(s.message.find("migrate") != std::string::npos);

  {
    auto store = OpenWriter(path);
    CHECK(store->opened_format() == 1);
    CHECK(store->last_seq() == 4200);
    std::vector<JournalRow> back = All(*store);
    REQUIRE(back.size() == old.size());
    bool same = true;
    for (size_t i = 0; i < old.size(); ++i) {
      const JournalRow &a = old[i], &b = back[i];
      same = same && a.seq == b.seq && a.id == b.id && a.correlation_id == b.correlation_id &&
             a.time_us == b.time_us && a.recv_us == b.recv_us && a.topic == b.topic &&
             a.source == b.source && a.lane == b.lane && a.crossing_id == b.crossing_id &&
             a.schema == b.schema && a.schema_version == b.schema_version &&
             a.reply_to == b.reply_to && a.flags == b.flags && a.body == b.body;
      if (!same) FAIL("row " << i << " differs after the migration: " << b.id);
    }
    // Old ids are still duplicates; new rows continue after the old seqs.
    std::vector<JournalRow> again = {Row(7), Row(9999)};
    InsertResult result;
    REQUIRE(store->Insert(&again, &result).ok());
    CHECK(result.duplicates == 1);
    CHECK(again[1].seq == 4201);
    QueryFilter f;
    f.crossing_id = "c-7";
    f.lane = "lane1";
    std::vector<int64_t> want;
    for (const JournalRow& r : old)
      if (r.crossing_id == "c-7" && r.lane == "lane1") want.push_back(r.seq);
    CHECK(Seqs(*store, f) == want);
    f = {};
    f.topic_prefix = "officer";
    CHECK(Seqs(*store, f).size() == 700);
    bool ok = false;
    std::string report;
    REQUIRE(store->IntegrityCheck(&ok, &report).ok());
    CHECK(ok);
  }
  CHECK(RawSql(path, "PRAGMA user_version") == "2");
  CHECK(RawSql(path, "SELECT typeof(id) FROM messages WHERE seq = 2") == "blob");
  CHECK(RawSql(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'messages_%'") ==
        "1");  // messages_id only
  auto reader = JournalStore::OpenReadOnly(path, &s);
  REQUIRE_MESSAGE(reader, s.message);
  CHECK(reader->opened_format() == 2);
  // Opening it again does nothing more.
  CHECK(OpenWriter(path)->opened_format() == 2);
}

TEST_CASE("a file of a newer format is refused, not changed") {
  TempDir dir;
  const std::string path = dir.File("new.db");
  { auto store = OpenWriter(path); }
  RawExec(path, "PRAGMA user_version=3");
  StoreStatus s;
  CHECK_FALSE(JournalStore::OpenForWriting(path, Synchronous::kNormal, 100, 1, &s));
  CHECK(s.message.find("format 3") != std::string::npos);
  CHECK_FALSE(JournalStore::OpenReadOnly(path, &s));
  CHECK(s.message.find("format 3") != std::string::npos);
  CHECK(RawSql(path, "PRAGMA user_version") == "3");
}

}  // namespace
}  // namespace kordon::journal
