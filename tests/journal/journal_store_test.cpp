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
  auto store = JournalStore::OpenForWriting(path, Synchronous::kNormal, busy_ms, &s);
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

}  // namespace
}  // namespace kordon::journal
