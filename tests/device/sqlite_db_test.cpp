// Tests of plugins/common/sqlite_db: real SQLite files in a fresh temporary folder.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "sqlite_db.h"

namespace {

using kordon::sqlite::BackgroundCheckpointer;
using kordon::sqlite::Db;
using kordon::sqlite::DbStatus;
using kordon::sqlite::OpenOptions;
using kordon::sqlite::Statement;
using kordon::sqlite::Transaction;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/kordon-sqlite-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string File(const char* name) const { return (path / name).string(); }
};

std::unique_ptr<Db> OpenOrFail(const std::string& path, OpenOptions options = {}) {
  DbStatus status;
  auto db = Db::Open(path, options, &status);
  INFO(status.message);
  REQUIRE(db != nullptr);
  return db;
}

int64_t CountRows(Db* db) {
  DbStatus status;
  Statement s = db->Prepare("SELECT count(*) FROM t", &status);
  REQUIRE(s);
  REQUIRE(s.Next() == Statement::Step::kRow);
  return s.Int(0);
}

// 2 000 rows of 4 000 bytes in 40 transactions into table t: about 2 000 pages, past SQLite's
// own 1 000-page checkpoint and below a fallback of 100 000.
void WriteBigRows(Db* writer) {
  const std::string row(4000, 'x');
  DbStatus status;
  for (int i = 0; i < 40; ++i) {
    Transaction t(writer);
    REQUIRE(t.ok());
    for (int j = 0; j < 50; ++j) {
      Statement insert = writer->Prepare("INSERT INTO t VALUES (?)", &status);
      REQUIRE(insert.Bind(1, row).Run().ok());
    }
    REQUIRE(t.Commit().ok());
  }
}

}  // namespace

TEST_CASE("open creates a WAL file; statements bind and read every type") {
  TempDir dir;
  auto db = OpenOrFail(dir.File("a.sqlite"));
  REQUIRE(db->Exec("CREATE TABLE t (s TEXT, i INTEGER, d REAL, n TEXT)").ok());
  DbStatus status;
  Statement ins = db->Prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", &status);
  REQUIRE(ins);
  const std::string cyrillic = "Жолдошбеков Нурлан ӨҮҢ";
  ins.Bind(1, cyrillic).Bind(2, int64_t{1} << 40).Bind(3, 12.5).Bind(4, std::optional<std::string>());
  CHECK(ins.Run().ok());
  CHECK(db->LastInsertRowId() == 1);
  CHECK(db->Changes() == 1);

  Statement sel = db->Prepare("SELECT s, i, d, n FROM t", &status);
  REQUIRE(sel);
  REQUIRE(sel.Next() == Statement::Step::kRow);
  CHECK(sel.Text(0) == cyrillic);
  CHECK(sel.Int(1) == (int64_t{1} << 40));
  CHECK(sel.Double(2) == 12.5);
  CHECK(sel.IsNull(3));
  CHECK_FALSE(sel.OptionalText(3).has_value());
  CHECK(sel.Text(3).empty());
  CHECK(sel.Next() == Statement::Step::kDone);

  sel.Reset();
  CHECK(sel.Next() == Statement::Step::kRow);  // reusable after Reset

  Statement mode = db->Prepare("PRAGMA journal_mode", &status);
  REQUIRE(mode.Next() == Statement::Step::kRow);
  CHECK(mode.Text(0) == "wal");
}

TEST_CASE("errors name the statement and the file; a bad statement does not prepare") {
  TempDir dir;
  auto db = OpenOrFail(dir.File("b.sqlite"));
  DbStatus status;
  Statement bad = db->Prepare("SELEKT 1", &status);
  CHECK_FALSE(bad);
  CHECK_FALSE(status.ok());
  CHECK(status.message.find("SELEKT") != std::string::npos);
  CHECK(status.message.find("b.sqlite") != std::string::npos);

  REQUIRE(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  Statement ins = db->Prepare("INSERT INTO t VALUES (?1)", &status);
  CHECK(ins.Bind(1, "x").Run().ok());
  ins.Reset();
  const DbStatus dup = ins.Bind(1, "x").Run();
  CHECK_FALSE(dup.ok());
  CHECK(dup.message.find("UNIQUE") != std::string::npos);
}

TEST_CASE("a transaction rolls back unless committed") {
  TempDir dir;
  auto db = OpenOrFail(dir.File("c.sqlite"));
  REQUIRE(db->Exec("CREATE TABLE t (v INTEGER)").ok());
  {
    Transaction tx(db.get());
    REQUIRE(tx.ok());
    REQUIRE(db->Exec("INSERT INTO t VALUES (1)").ok());
  }
  CHECK(CountRows(db.get()) == 0);
  {
    Transaction tx(db.get());
    REQUIRE(db->Exec("INSERT INTO t VALUES (2)").ok());
    CHECK(tx.Commit().ok());
  }
  CHECK(CountRows(db.get()) == 1);
}

TEST_CASE("a second writer is told the file is busy; a reader still reads") {
  TempDir dir;
  const std::string path = dir.File("d.sqlite");
  auto writer = OpenOrFail(path);
  REQUIRE(writer->Exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)").ok());
  OpenOptions quick;
  quick.busy_timeout_ms = 50;
  auto other = OpenOrFail(path, quick);
  Transaction holding(writer.get());
  REQUIRE(holding.ok());
  Transaction blocked(other.get());
  CHECK_FALSE(blocked.ok());
  CHECK(blocked.status().busy());

  OpenOptions ro;
  ro.read_only = true;
  auto reader = OpenOrFail(path, ro);
  CHECK(CountRows(reader.get()) == 1);
  CHECK_FALSE(reader->Exec("INSERT INTO t VALUES (2)").ok());
}

TEST_CASE("a full file reports SQLITE_FULL and keeps what was committed") {
  TempDir dir;
  auto db = OpenOrFail(dir.File("e.sqlite"));
  REQUIRE(db->Exec("CREATE TABLE t (v TEXT)").ok());
  REQUIRE(db->LimitPages(8).ok());
  DbStatus status;
  Statement ins = db->Prepare("INSERT INTO t VALUES (?1)", &status);
  DbStatus last;
  int committed = 0;
  for (int i = 0; i < 200 && last.ok(); ++i) {
    Transaction tx(db.get());
    REQUIRE(tx.ok());
    ins.Reset();
    last = ins.Bind(1, std::string(2000, 'x')).Run();
    if (last.ok()) last = tx.Commit();
    if (last.ok()) ++committed;
  }
  CHECK(last.full());
  CHECK(committed > 0);
  CHECK(CountRows(db.get()) == committed);
  bool ok = false;
  std::string report;
  REQUIRE(db->IntegrityCheck(&ok, &report).ok());
  CHECK(ok);
}

TEST_CASE("user_version round-trips; opening garbage or a missing read-only file fails clearly") {
  TempDir dir;
  auto db = OpenOrFail(dir.File("f.sqlite"));
  int64_t v = -1;
  REQUIRE(db->UserVersion(&v).ok());
  CHECK(v == 0);
  REQUIRE(db->SetUserVersion(3).ok());
  REQUIRE(db->UserVersion(&v).ok());
  CHECK(v == 3);

  const std::string junk = dir.File("junk.sqlite");
  std::ofstream(junk) << std::string(4096, 'j');
  DbStatus status;
  CHECK(Db::Open(junk, {}, &status) == nullptr);
  CHECK(status.message.find("junk.sqlite") != std::string::npos);

  OpenOptions ro;
  ro.read_only = true;
  CHECK(Db::Open(dir.File("absent.sqlite"), ro, &status) == nullptr);
  CHECK_FALSE(status.ok());
}

TEST_CASE("a background checkpointer copies the WAL back while the writer never does") {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto writer = OpenOrFail(path);
  REQUIRE(writer->Exec("CREATE TABLE t (v TEXT)").ok());
  DbStatus status;
  auto checkpointer = BackgroundCheckpointer::Start(writer.get(), std::chrono::milliseconds(50),
                                                    100000, &status);
  INFO(status.message);
  REQUIRE(checkpointer != nullptr);
  WriteBigRows(writer.get());
  // Two more runs: one of them started after the last commit and has finished.
  const uint64_t runs_before = checkpointer->stats().runs;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (checkpointer->stats().runs < runs_before + 2 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const BackgroundCheckpointer::Stats stats = checkpointer->stats();
  CHECK(stats.runs >= runs_before + 2);
  // Only the checkpointer can have copied the pages into the database file.
  CHECK(std::filesystem::file_size(path) >= 7'000'000);
  CHECK(stats.failures == 0);
  CHECK(stats.last_error.empty());
  checkpointer.reset();  // stops and joins
  CHECK(CountRows(writer.get()) == 2000);
}

TEST_CASE("the writer alone keeps its pages in the WAL under a high fallback") {
  // The control for the test above: without the checkpointer's thread, the same writes with the
  // same fallback leave the database file small (so the test above cannot pass by accident).
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto writer = OpenOrFail(path);
  REQUIRE(writer->Exec("CREATE TABLE t (v TEXT)").ok());
  REQUIRE(writer->Exec("PRAGMA wal_autocheckpoint=100000").ok());
  WriteBigRows(writer.get());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(std::filesystem::file_size(path) < 1'000'000);
}
