// The manifest store (plugins/manifest/manifest_store.h) on real SQLite files: import,
// amendment, unchanged re-import, lookups by plate, container and number with the age limit,
// and a locked or full database: an error that says so, nothing changed, no corruption.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "manifest.h"
#include "manifest_store.h"
#include "sqlite_db.h"

namespace kordon::manifest {
namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/kordon-manifest-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Manifest Make(const std::string& number, const std::string& plate, const std::string& container,
              double gross = 20000) {
  Manifest m;
  m.number = number;
  m.carrier = "Ак-Жол Транс";
  if (!plate.empty()) m.plates = {plate};
  if (!container.empty()) m.containers = {{container, "45G1"}};
  m.consignor = "A";
  m.consignee = "B";
  m.origin = "CN";
  m.destination = "KZ";
  m.goods = {{"8471", "laptops", std::nullopt, std::nullopt, std::nullopt}};
  m.declared_gross_kg = gross;
  REQUIRE(Validate(&m) == "");
  return m;
}

std::unique_ptr<Store> OpenStore(const std::string& path, int busy_ms = 2000) {
  sqlite::DbStatus s;
  auto store = Store::Open(path, busy_ms, &s);
  REQUIRE_MESSAGE(store != nullptr, s.message);
  return store;
}

int64_t Count(Store& store) {
  int64_t n = -1;
  REQUIRE(store.Count(&n).ok());
  return n;
}

TEST_CASE("put, look up by plate, container and number; amend; unchanged re-put") {
  TempDir dir;
  auto store = OpenStore(dir.File("m.db"));
  std::vector<PutOutcome> out;
  REQUIRE(store->Put({Make("KG-1", "01KG001AAA", "CSQU3054383"), Make("KG-2", "01KG002AAA", "")},
                     {"a:1", "a:2"}, 1000, &out)
              .ok());
  CHECK(out == std::vector<PutOutcome>{PutOutcome::kNew, PutOutcome::kNew});
  std::vector<StoredManifest> found;
  REQUIRE(store->ByPlate("01KG001AAA", 0, &found).ok());
  REQUIRE(found.size() == 1);
  CHECK(found[0].manifest.number == "KG-1");
  CHECK(found[0].manifest.carrier == "Ак-Жол Транс");
  CHECK(found[0].source == "a:1");
  CHECK(found[0].revision == 1);
  CHECK(found[0].lodged_at == 1000);
  REQUIRE(store->ByContainer("CSQU3054383", 0, &found).ok());
  REQUIRE(found.size() == 1);
  CHECK(found[0].manifest.number == "KG-1");
  REQUIRE(store->ByNumber("KG-2", &found).ok());
  REQUIRE(found.size() == 1);
  REQUIRE(store->ByPlate("01KG999AAA", 0, &found).ok());
  CHECK(found.empty());
  // The age limit: lodged before min_lodged_at is not found.
  REQUIRE(store->ByPlate("01KG001AAA", 1001, &found).ok());
  CHECK(found.empty());

  // An amendment: another plate and no container; the old index rows are gone.
  std::vector<int64_t> revisions;
  REQUIRE(store->Put({Make("KG-1", "01KG111AAA", "", 21000), Make("KG-2", "01KG002AAA", ""),
                      Make("KG-1", "01KG111AAA", "", 21000), Make("KG-4", "01KG004AAA", ""),
                      Make("KG-4", "01KG004AAA", "", 21000), Make("KG-4", "01KG004AAA", "")},
                     {"b:1", "b:2", "b:3", "b:4", "b:5", "b:6"}, 2000, &out, &revisions)
              .ok());
  CHECK(out == std::vector<PutOutcome>{PutOutcome::kAmended, PutOutcome::kUnchanged,
                                       PutOutcome::kUnchanged, PutOutcome::kNew,
                                       PutOutcome::kAmended, PutOutcome::kAmended});
  CHECK(revisions == std::vector<int64_t>{2, 1, 2, 1, 2, 3});
  REQUIRE(store->ByPlate("01KG001AAA", 0, &found).ok());
  CHECK(found.empty());
  REQUIRE(store->ByContainer("CSQU3054383", 0, &found).ok());
  CHECK(found.empty());
  REQUIRE(store->ByPlate("01KG111AAA", 0, &found).ok());
  REQUIRE(found.size() == 1);
  CHECK(found[0].revision == 2);
  CHECK(found[0].manifest.declared_gross_kg == 21000);
  REQUIRE(store->ByNumber("KG-2", &found).ok());
  CHECK(found[0].lodged_at == 1000);  // unchanged: not touched
  CHECK(Count(*store) == 3);

  // Several manifests for one plate: newest first.
  REQUIRE(store->Put({Make("KG-3", "01KG111AAA", "")}, {"c:1"}, 3000, &out).ok());
  REQUIRE(store->ByPlate("01KG111AAA", 0, &found).ok());
  REQUIRE(found.size() == 2);
  CHECK(found[0].manifest.number == "KG-3");
  CHECK(found[1].manifest.number == "KG-1");

  // The schema version is recorded; a reopen finds everything.
  store.reset();
  store = OpenStore(dir.File("m.db"));
  CHECK(Count(*store) == 4);
  int64_t version = 0;
  REQUIRE(store->db().UserVersion(&version).ok());
  CHECK(version == kSchemaVersion);
}

TEST_CASE("a file from a newer schema is refused") {
  TempDir dir;
  {
    sqlite::DbStatus s;
    auto db = sqlite::Db::Open(dir.File("m.db"), {}, &s);
    REQUIRE(db);
    REQUIRE(db->SetUserVersion(kSchemaVersion + 1).ok());
  }
  sqlite::DbStatus s;
  CHECK(Store::Open(dir.File("m.db"), 100, &s) == nullptr);
  CHECK(s.message.find("newer than this Kordon's") != std::string::npos);
}

TEST_CASE("a locked database: busy, nothing changed, and the same put succeeds afterwards") {
  TempDir dir;
  auto store = OpenStore(dir.File("m.db"), 50);
  std::vector<PutOutcome> out;
  REQUIRE(store->Put({Make("KG-1", "01KG001AAA", "")}, {"a"}, 1, &out).ok());
  sqlite::DbStatus s;
  auto other = sqlite::Db::Open(dir.File("m.db"), {}, &s);
  REQUIRE(other);
  REQUIRE(other->Exec("BEGIN IMMEDIATE").ok());
  const std::vector<Manifest> batch = {Make("KG-2", "01KG002AAA", ""),
                                       Make("KG-1", "01KG009AAA", "")};
  s = store->Put(batch, {"b", "c"}, 2, &out);
  CHECK_FALSE(s.ok());
  CHECK(s.busy());
  CHECK(out.empty());
  // Readers still read (WAL) and see the old state.
  std::vector<StoredManifest> found;
  REQUIRE(store->ByPlate("01KG001AAA", 0, &found).ok());
  CHECK(found.size() == 1);
  REQUIRE(other->Exec("COMMIT").ok());
  REQUIRE(store->Put(batch, {"b", "c"}, 2, &out).ok());
  CHECK(out == std::vector<PutOutcome>{PutOutcome::kNew, PutOutcome::kAmended});
  CHECK(Count(*store) == 2);
}

TEST_CASE("a full database: full, nothing changed, integrity ok") {
  TempDir dir;
  auto store = OpenStore(dir.File("m.db"));
  std::vector<PutOutcome> out;
  REQUIRE(store->Put({Make("KG-0", "01KG000AAA", "")}, {"a"}, 1, &out).ok());
  REQUIRE(store->db().LimitPages(1).ok());  // no growth beyond the current size
  std::vector<Manifest> batch;
  for (int i = 1; i <= 500; ++i) {
    Manifest m = Make("KG-" + std::to_string(i), "01KG" + std::to_string(100 + i) + "AAA", "");
    m.carrier = std::string(400, 'x');
    batch.push_back(m);
  }
  const sqlite::DbStatus s = store->Put(batch, {}, 2, &out);
  CHECK_FALSE(s.ok());
  CHECK(s.full());
  CHECK(Count(*store) == 1);
  bool ok = false;
  std::string report;
  REQUIRE(store->db().IntegrityCheck(&ok, &report).ok());
  CHECK_MESSAGE(ok, report);
  REQUIRE(store->db().LimitPages(1000000).ok());
  REQUIRE(store->Put(batch, {}, 2, &out).ok());
  CHECK(Count(*store) == 501);
}

TEST_CASE("StoredJson carries lodged_at, revision and source") {
  StoredManifest sm;
  sm.manifest = Make("KG-1", "01KG001AAA", "");
  sm.lodged_at = 86400;
  sm.revision = 3;
  sm.source = "follow:/x:7";
  const std::string j = StoredJson(sm);
  CHECK(j.find(R"("lodged_at":"1970-01-02T00:00:00Z")") != std::string::npos);
  CHECK(j.find(R"("revision":3)") != std::string::npos);
  CHECK(j.find(R"("source":"follow:/x:7")") != std::string::npos);
}

}  // namespace
}  // namespace kordon::manifest
