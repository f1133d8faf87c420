// The crossings file (plugins/crossings/crossing_store.h) on real SQLite files: a round trip
// of every part of the picture, reloading the open crossings into a new Book, search by each
// key (names across scripts), a locked file and a full disk (nothing half-written, a retry
// works), a file of another kind refused.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "book.h"
#include "crossing_store.h"

namespace kordon::crossings {
namespace {

constexpr int64_t kT0 = 1'795'000'000'000'000;
constexpr int64_t kSecond = 1'000'000;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kordon-crossings-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<CrossingStore> OpenStore(const std::string& path, bool read_only = false,
                                         int busy_ms = 100) {
  std::string error;
  auto store = CrossingStore::Open(path, read_only, busy_ms, &error);
  REQUIRE_MESSAGE(store, error);
  return store;
}

int n = 0;
Meta M(const std::string& topic, const std::string& lane, const std::string& crossing = "") {
  Meta m;
  m.topic = topic;
  m.id = "id" + std::to_string(++n);
  m.time_us = kT0;
  m.source = "test";
  m.lane = lane;
  m.crossing_id = crossing;
  return m;
}

// A book with two lanes' traffic: lane-1 closed by the next vehicle (a Cyrillic-named
// traveller and a container), lane-2 open (held).
struct Site {
  Book book{BookOptions{}};
  std::string closed_id, open_id, held_id;
  Site() {
    closed_id = book.OnMessage(M("scanner.plate.read", "lane-1"),
                               R"({"camera": "c", "raw": "01 KG 777 AAA", "plate": "01KG777AAA"})",
                               kT0)
                    .events[0].crossing_id;
    book.OnMessage(M("scanner.document.read", "lane-1"),
                   R"({"document_number": "AN9876543", "issuing_state": "KGZ", "valid": true,
                       "primary_identifier": "Токтогулов", "secondary_identifier": "Нурлан"})",
                   kT0);
    book.OnMessage(M("scanner.container.read", "lane-1"),
                   R"({"code": "MSCU4418392", "valid": true})", kT0);
    open_id = book.OnMessage(M("scanner.plate.read", "lane-1"),
                             R"({"camera": "c", "raw": "777 АЕК 05", "plate": "777AEK05"})",
                             kT0 + 10 * kSecond)
                  .events[2].crossing_id;
    held_id = book.OnMessage(M("scanner.document.read", "lane-2"),
                             R"({"document_number": "N1", "issuing_state": "KAZ",
                                 "primary_identifier": "SULEIMENOVA",
                                 "secondary_identifier": "ZHANAR"})",
                             kT0 + 20 * kSecond)
                  .events[0].crossing_id;
    std::string e;
    auto hold = ParseCommand(R"({"action": "hold", "crossing_id": ")" + held_id +
                                 R"(", "reason": "r"})",
                             &e);
    REQUIRE(book.OnCommand(*hold, M("crossing.command", ""), kT0).error.empty());
    auto fact = ParseCommand(R"({"action": "fact", "crossing_id": ")" + held_id +
                                 R"(", "key": "k", "value": [1, "two", {"3": null}]})",
                             &e);
    REQUIRE(book.OnCommand(*fact, M("crossing.command", ""), kT0).error.empty());
  }
  std::vector<Record> Records() {
    std::vector<Record> r;
    for (const std::string& id : book.TakeDirty()) r.push_back(ToRecord(*book.Find(id)));
    return r;
  }
};

TEST_CASE("crossings round-trip through the file; open and held ones reload into a new book") {
  TempDir dir;
  const std::string path = dir.File("c.db");
  Site site;
  {
    auto store = OpenStore(path);
    auto s = store->Write(site.Records());
    REQUIRE_MESSAGE(s.ok(), s.message);
    int64_t version = 0;
    REQUIRE(store->db().UserVersion(&version).ok());
    CHECK(version == kSchemaVersion);
  }
  auto store = OpenStore(path);
  for (const std::string& id : {site.closed_id, site.open_id, site.held_id}) {
    sqlite::DbStatus s;
    auto c = store->Get(id, &s);
    REQUIRE_MESSAGE(c.has_value(), id);
    CHECK(c->ToJson() == site.book.Find(id)->ToJson());
  }
  sqlite::DbStatus s;
  CHECK_FALSE(store->Get("nope", &s).has_value());
  CHECK(s.ok());
  CHECK(store->Exists(site.open_id));

  std::vector<Crossing> unclosed;
  std::vector<std::string> problems;
  REQUIRE(store->LoadUnclosed(&unclosed, &problems).ok());
  CHECK(problems.empty());
  REQUIRE(unclosed.size() == 2);
  Book again({});
  for (Crossing& c : unclosed) again.Restore(std::move(c));
  CHECK(again.Current("lane-1")->id == site.open_id);
  CHECK(again.Current("lane-2")->id == site.held_id);
  CHECK(again.Current("lane-2")->state == State::kHeld);
  CHECK(again.Current("lane-2")->facts["k"]["value"] == Json::array({1, "two", {{"3", nullptr}}}));
}

TEST_CASE("search by plate, document, name in either script, container, lane, state, time") {
  TempDir dir;
  Site site;
  auto store = OpenStore(dir.File("c.db"));
  REQUIRE(store->Write(site.Records()).ok());
  auto ids = [&](const std::string& body) {
    std::string e;
    auto q = ParseSearch(body, &e);
    REQUIRE_MESSAGE(q, e);
    std::vector<Json> found;
    auto s = store->Search(*q, &found);
    REQUIRE_MESSAGE(s.ok(), s.message);
    std::vector<std::string> out;
    for (const Json& j : found) out.push_back(j["id"]);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(ids(R"({"plate": "01 kg 777 aaa"})") == V{site.closed_id});
  CHECK(ids(R"({"plate": "777 АЕК 05"})") == V{site.open_id});  // Cyrillic look-alikes
  CHECK(ids(R"({"document": "an 9876543"})") == V{site.closed_id});
  CHECK(ids(R"({"name": "toktogulov"})") == V{site.closed_id});
  CHECK(ids(R"({"name": "Нурлан"})") == V{site.closed_id});
  CHECK(ids(R"({"name": "TOGUL"})") == V{site.closed_id});  // contains
  CHECK(ids(R"({"name": "Сулейменова Жанар"})") == V{site.held_id});  // transliterated
  CHECK(ids(R"({"name": "Нурлан Сулейменова"})").empty());
  CHECK(ids(R"({"name": "suleimenova zhanar"})") == V{site.held_id});
  CHECK(ids(R"({"container": "MSCU 441839 2"})") == V{site.closed_id});
  CHECK(ids(R"({"lane": "lane-1"})") == V{site.open_id, site.closed_id});  // newest first
  CHECK(ids(R"({"state": "held"})") == V{site.held_id});
  CHECK(ids(R"({"lane": "lane-1", "state": "closed"})") == V{site.closed_id});
  CHECK(ids(R"({"since_us": 1795000010000000})") == V{site.held_id, site.open_id});
  CHECK(ids(R"({"until_us": 1795000010000000})") == V{site.closed_id});
  CHECK(ids(R"({"limit": 1})").size() == 1);
  CHECK(ids(R"({"plate": "NOSUCH1"})").empty());
  CHECK(ids("{}").size() == 3);
}

TEST_CASE("an update replaces the row and its search keys") {
  TempDir dir;
  Site site;
  auto store = OpenStore(dir.File("c.db"));
  REQUIRE(store->Write(site.Records()).ok());
  Crossing c = *site.book.Find(site.held_id);
  c.documents = Json::array();
  c.revision = 99;
  REQUIRE(store->Write({ToRecord(c)}).ok());
  sqlite::DbStatus s;
  CHECK(store->Get(site.held_id, &s)->revision == 99);
  std::string e;
  std::vector<Json> found;
  REQUIRE(store->Search(*ParseSearch(R"({"name": "zhanar"})", &e), &found).ok());
  CHECK(found.empty());
}

TEST_CASE("a locked file: the write fails as busy, nothing is written, a retry works") {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto store = OpenStore(path, false, 50);
  Site site;
  const std::vector<Record> records = site.Records();
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto s = store->Write(records);
  CHECK(s.busy());
  CHECK(s.message.find("locked") != std::string::npos);
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  CHECK_FALSE(store->Exists(site.open_id));
  s = store->Write(records);
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(store->Exists(site.open_id));
}

TEST_CASE("a full disk: the write fails as full, nothing of it is in the file, a retry works") {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto store = OpenStore(path);
  Site site;
  REQUIRE(store->Write(site.Records()).ok());
  int64_t pages = 0;
  {
    sqlite::DbStatus s;
    auto q = store->db().Prepare("PRAGMA page_count", &s);
    REQUIRE(q.Next() == sqlite::Statement::Step::kRow);
    pages = q.Int(0);
  }
  REQUIRE(store->db().LimitPages(pages + 2).ok());
  // A crossing far larger than two pages.
  Crossing big = *site.book.Find(site.open_id);
  big.id = "big";
  for (int i = 0; i < 200; ++i) big.notes.push_back({{"text", std::string(100, 'x')}});
  auto s = store->Write({ToRecord(big), ToRecord(*site.book.Find(site.held_id))});
  CHECK(s.full());
  CHECK_FALSE(store->Exists("big"));
  bool ok = false;
  std::string report;
  REQUIRE(store->db().IntegrityCheck(&ok, &report).ok());
  CHECK(ok);
  REQUIRE(store->db().LimitPages(1000000).ok());
  s = store->Write({ToRecord(big)});
  REQUIRE_MESSAGE(s.ok(), s.message);
  CHECK(store->Exists("big"));
}

TEST_CASE("a file of another kind is refused, read-only opening needs a crossings file") {
  TempDir dir;
  const std::string path = dir.File("other.db");
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "CREATE TABLE messages (x)", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(other);
  std::string error;
  CHECK_FALSE(CrossingStore::Open(path, false, 100, &error));
  CHECK(error.find("not a crossings file") != std::string::npos);
  CHECK_FALSE(CrossingStore::Open(dir.File("absent.db"), true, 100, &error));
}

}  // namespace
}  // namespace kordon::crossings
