// manifest_store.cpp — see manifest_store.h.
#include "manifest_store.h"

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kordon::manifest {
namespace {

using sqlite::DbStatus;
using sqlite::Statement;

const char kSchema[] =
    "CREATE TABLE IF NOT EXISTS manifests ("
    "  number TEXT PRIMARY KEY, body TEXT NOT NULL, lodged_at INTEGER NOT NULL,"
    "  revision INTEGER NOT NULL, source TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS manifest_plates ("
    "  plate TEXT NOT NULL, number TEXT NOT NULL, PRIMARY KEY (plate, number)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS manifest_containers ("
    "  code TEXT NOT NULL, number TEXT NOT NULL, PRIMARY KEY (code, number)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS manifest_plates_number ON manifest_plates (number);"
    "CREATE INDEX IF NOT EXISTS manifest_containers_number ON manifest_containers (number);";

const char kColumns[] = "m.number, m.body, m.lodged_at, m.revision, m.source";

}  // namespace

std::unique_ptr<Store> Store::Open(const std::string& path, int busy_timeout_ms,
                                   DbStatus* status) {
  sqlite::OpenOptions options;
  options.busy_timeout_ms = busy_timeout_ms;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, options, status);
  if (!db) return nullptr;
  int64_t version = 0;
  if (*status = db->UserVersion(&version); !status->ok()) return nullptr;
  if (version > kSchemaVersion) {
    *status = {1, path + " has manifest schema version " + std::to_string(version) +
                      ", newer than this Kordon's " + std::to_string(kSchemaVersion)};
    return nullptr;
  }
  if (version < kSchemaVersion) {
    sqlite::Transaction t(db.get());
    if (!t.ok()) {
      *status = t.status();
      return nullptr;
    }
    if (*status = db->Exec(kSchema); !status->ok()) return nullptr;
    if (*status = db->SetUserVersion(kSchemaVersion); !status->ok()) return nullptr;
    if (*status = t.Commit(); !status->ok()) return nullptr;
  }
  std::unique_ptr<Store> store(new Store(std::move(db)));
  if (*status = store->Prepare(); !status->ok()) return nullptr;
  return store;
}

DbStatus Store::Prepare() {
  DbStatus s;
  const std::string cols = kColumns;
  by_plate_ = db_->Prepare("SELECT " + cols +
                               " FROM manifest_plates p JOIN manifests m ON m.number = p.number"
                               " WHERE p.plate = ?1 AND m.lodged_at >= ?2"
                               " ORDER BY m.lodged_at DESC, m.number",
                           &s);
  if (!s.ok()) return s;
  by_container_ =
      db_->Prepare("SELECT " + cols +
                       " FROM manifest_containers c JOIN manifests m ON m.number = c.number"
                       " WHERE c.code = ?1 AND m.lodged_at >= ?2"
                       " ORDER BY m.lodged_at DESC, m.number",
                   &s);
  if (!s.ok()) return s;
  by_number_ = db_->Prepare("SELECT " + cols + " FROM manifests m WHERE m.number = ?1", &s);
  return s;
}

DbStatus Store::Put(const std::vector<Manifest>& manifests,
                    const std::vector<std::string>& sources, int64_t now_s,
                    std::vector<PutOutcome>* outcomes, std::vector<int64_t>* revisions) {
  outcomes->clear();
  if (revisions != nullptr) revisions->clear();
  sqlite::Transaction t(db_.get());
  if (!t.ok()) return t.status();
  DbStatus s;
  Statement find = db_->Prepare("SELECT body, revision FROM manifests WHERE number = ?1", &s);
  if (!s.ok()) return s;
  Statement upsert = db_->Prepare(
      "INSERT OR REPLACE INTO manifests (number, body, lodged_at, revision, source)"
      " VALUES (?1, ?2, ?3, ?4, ?5)",
      &s);
  if (!s.ok()) return s;
  Statement del_plates = db_->Prepare("DELETE FROM manifest_plates WHERE number = ?1", &s);
  if (!s.ok()) return s;
  Statement del_containers = db_->Prepare("DELETE FROM manifest_containers WHERE number = ?1", &s);
  if (!s.ok()) return s;
  Statement add_plate =
      db_->Prepare("INSERT OR IGNORE INTO manifest_plates (plate, number) VALUES (?1, ?2)", &s);
  if (!s.ok()) return s;
  Statement add_container = db_->Prepare(
      "INSERT OR IGNORE INTO manifest_containers (code, number) VALUES (?1, ?2)", &s);
  if (!s.ok()) return s;

  std::vector<PutOutcome> result;
  std::vector<int64_t> stored_revisions;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Manifest& m = manifests[i];
    const std::string body = ToJson(m);
    find.Reset();
    find.Bind(1, m.number);
    int64_t revision = 1;
    PutOutcome outcome = PutOutcome::kNew;
    switch (find.Next()) {
      case Statement::Step::kRow:
        if (find.Text(0) == body) {
          outcome = PutOutcome::kUnchanged;
          revision = find.Int(1);
        } else {
          outcome = PutOutcome::kAmended;
          revision = find.Int(1) + 1;
        }
        break;
      case Statement::Step::kDone:
        break;
      case Statement::Step::kError:
        return find.status();
    }
    result.push_back(outcome);
    stored_revisions.push_back(revision);
    if (outcome == PutOutcome::kUnchanged) continue;
    upsert.Reset();
    upsert.Bind(1, m.number).Bind(2, body).Bind(3, now_s).Bind(4, revision);
    upsert.Bind(5, i < sources.size() ? sources[i] : std::string());
    if (s = upsert.Run(); !s.ok()) return s;
    for (Statement* del : {&del_plates, &del_containers}) {
      del->Reset();
      del->Bind(1, m.number);
      if (s = del->Run(); !s.ok()) return s;
    }
    for (const std::string& plate : m.plates) {
      add_plate.Reset();
      add_plate.Bind(1, plate).Bind(2, m.number);
      if (s = add_plate.Run(); !s.ok()) return s;
    }
    for (const Container& c : m.containers) {
      add_container.Reset();
      add_container.Bind(1, c.code).Bind(2, m.number);
      if (s = add_container.Run(); !s.ok()) return s;
    }
  }
  if (s = t.Commit(); !s.ok()) return s;
  *outcomes = std::move(result);
  if (revisions != nullptr) *revisions = std::move(stored_revisions);
  return DbStatus::Ok();
}

DbStatus Store::Select(Statement& s, std::vector<StoredManifest>* out) {
  out->clear();
  for (;;) {
    switch (s.Next()) {
      case Statement::Step::kRow: {
        StoredManifest sm;
        std::string error;
        std::optional<Manifest> m = ParseJsonLine(s.Text(1), &error);
        if (!m) {
          // Only another program writing the file could do this: say which row.
          DbStatus bad{11 /* SQLITE_CORRUPT */,
                       "manifest " + s.Text(0) + " in " + db_->path() + " is unreadable: " + error};
          s.Reset();
          return bad;
        }
        sm.manifest = std::move(*m);
        sm.lodged_at = s.Int(2);
        sm.revision = s.Int(3);
        sm.source = s.Text(4);
        out->push_back(std::move(sm));
        break;
      }
      case Statement::Step::kDone:
        s.Reset();
        return DbStatus::Ok();
      case Statement::Step::kError: {
        DbStatus e = s.status();
        s.Reset();
        return e;
      }
    }
  }
}

DbStatus Store::ByPlate(const std::string& plate, int64_t min_lodged_at,
                        std::vector<StoredManifest>* out) {
  by_plate_.Reset();
  by_plate_.Bind(1, plate).Bind(2, min_lodged_at);
  return Select(by_plate_, out);
}

DbStatus Store::ByContainer(const std::string& code, int64_t min_lodged_at,
                            std::vector<StoredManifest>* out) {
  by_container_.Reset();
  by_container_.Bind(1, code).Bind(2, min_lodged_at);
  return Select(by_container_, out);
}

DbStatus Store::ByNumber(const std::string& number, std::vector<StoredManifest>* out) {
  by_number_.Reset();
  by_number_.Bind(1, number);
  return Select(by_number_, out);
}

DbStatus Store::Count(int64_t* manifests) {
  DbStatus s;
  Statement st = db_->Prepare("SELECT count(*) FROM manifests", &s);
  if (!s.ok()) return s;
  if (st.Next() != Statement::Step::kRow) return st.status();
  *manifests = st.Int(0);
  return DbStatus::Ok();
}

std::string StoredJson(const StoredManifest& m) {
  nlohmann::json j = nlohmann::json::parse(ToJson(m.manifest));
  char when[32] = "";
  const time_t t = static_cast<time_t>(m.lodged_at);
  struct tm utc;
  gmtime_r(&t, &utc);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  j["lodged_at"] = when;
  j["revision"] = m.revision;
  j["source"] = m.source;
  return j.dump();
}

}  // namespace kordon::manifest
