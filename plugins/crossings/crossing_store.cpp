// crossing_store.cpp — see crossing_store.h.
#include "crossing_store.h"

namespace kordon::crossings {
namespace {

using sqlite::DbStatus;
using sqlite::Statement;

const char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS crossings (
  id         TEXT PRIMARY KEY,
  lane       TEXT    NOT NULL,
  state      TEXT    NOT NULL,  -- open, held, closed
  opened_us  INTEGER NOT NULL,
  updated_us INTEGER NOT NULL,
  closed_us  INTEGER,           -- NULL while open
  reason     TEXT,              -- close reason
  revision   INTEGER NOT NULL,
  picture    TEXT    NOT NULL   -- the crossing.updated body
);
CREATE INDEX IF NOT EXISTS crossings_state ON crossings (state);
CREATE INDEX IF NOT EXISTS crossings_opened ON crossings (opened_us);
CREATE INDEX IF NOT EXISTS crossings_lane_opened ON crossings (lane, opened_us);
CREATE TABLE IF NOT EXISTS crossing_keys (
  crossing_id TEXT NOT NULL,
  kind        TEXT NOT NULL,  -- plate, document, name, container
  value       TEXT NOT NULL,  -- normalised (README.md, "Search")
  PRIMARY KEY (crossing_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS crossing_keys_value ON crossing_keys (kind, value);
)sql";

}  // namespace

Record ToRecord(const Crossing& c, std::string picture) {
  Record r;
  r.id = c.id;
  r.lane = c.lane;
  r.state = StateName(c.state);
  r.opened_us = c.opened_us;
  r.updated_us = c.updated_us;
  r.closed_us = c.closed_us;
  r.reason = c.close_reason;
  r.revision = c.revision;
  r.picture = picture.empty() ? c.ToJson().dump() : std::move(picture);
  r.keys = SearchKeys(c);
  return r;
}

DbStatus CrossingStore::StartBackgroundCheckpoints(std::chrono::milliseconds interval) {
  DbStatus s;
  checkpointer_ =
      sqlite::BackgroundCheckpointer::Start(db_.get(), interval, kFallbackCheckpointPages, &s);
  return s;
}

std::optional<sqlite::BackgroundCheckpointer::Stats> CrossingStore::checkpoint_stats() const {
  if (!checkpointer_) return std::nullopt;
  return checkpointer_->stats();
}

std::unique_ptr<CrossingStore> CrossingStore::Open(const std::string& path, bool read_only,
                                                   int busy_timeout_ms, std::string* error) {
  sqlite::OpenOptions options;
  options.read_only = read_only;
  options.create = !read_only;
  options.busy_timeout_ms = busy_timeout_ms;
  DbStatus s;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, options, &s);
  if (!db) {
    *error = s.message;
    return nullptr;
  }
  int64_t version = 0;
  if (s = db->UserVersion(&version); !s.ok()) {
    *error = s.message;
    return nullptr;
  }
  if (version > kSchemaVersion) {
    *error = path + " has crossings schema version " + std::to_string(version) +
             ", newer than this program's " + std::to_string(kSchemaVersion);
    return nullptr;
  }
  if (read_only) {
    if (version != kSchemaVersion) {
      *error = path + " is not a crossings file (schema version " + std::to_string(version) +
               ")";
      return nullptr;
    }
  } else if (version == 0) {
    // A new file, or one that is not ours: a file with other tables is refused rather
    // than written into.
    Statement count = db->Prepare(
        "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'crossing%'", &s);
    if (!count || count.Next() != Statement::Step::kRow) {
      *error = s.ok() ? count.status().message : s.message;
      return nullptr;
    }
    if (count.Int(0) != 0) {
      *error = path + " is not a crossings file (it has other tables)";
      return nullptr;
    }
    sqlite::Transaction t(db.get());
    if (!t.ok()) {
      *error = t.status().message;
      return nullptr;
    }
    if ((s = db->Exec(kSchema)).ok()) s = db->SetUserVersion(kSchemaVersion);
    if (s.ok()) s = t.Commit();
    if (!s.ok()) {
      *error = s.message;
      return nullptr;
    }
  }
  auto store = std::unique_ptr<CrossingStore>(new CrossingStore(std::move(db)));
  if (!read_only) {
    store->upsert_ = store->db_->Prepare(
        "INSERT INTO crossings (id, lane, state, opened_us, updated_us, closed_us, reason, "
        "revision, picture) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (id) DO UPDATE SET lane = ?2, state = ?3, opened_us = ?4, "
        "updated_us = ?5, closed_us = ?6, reason = ?7, revision = ?8, picture = ?9",
        &s);
    if (s.ok())
      store->delete_keys_ =
          store->db_->Prepare("DELETE FROM crossing_keys WHERE crossing_id = ?1", &s);
    if (s.ok())
      store->insert_key_ = store->db_->Prepare(
          "INSERT OR IGNORE INTO crossing_keys (crossing_id, kind, value) VALUES (?1, ?2, ?3)",
          &s);
    if (!s.ok()) {
      *error = s.message;
      return nullptr;
    }
  }
  return store;
}

DbStatus CrossingStore::Write(const std::vector<Record>& records) {
  if (records.empty()) return DbStatus::Ok();
  sqlite::Transaction t(db_.get());
  if (!t.ok()) return t.status();
  for (const Record& r : records) {
    upsert_.Reset();
    upsert_.Bind(1, r.id).Bind(2, r.lane).Bind(3, r.state).Bind(4, r.opened_us)
        .Bind(5, r.updated_us).Bind(7, r.reason).Bind(8, r.revision).Bind(9, r.picture);
    if (r.closed_us) upsert_.Bind(6, r.closed_us); else upsert_.BindNull(6);
    if (DbStatus s = upsert_.Run(); !s.ok()) return s;
    delete_keys_.Reset();
    if (DbStatus s = delete_keys_.Bind(1, r.id).Run(); !s.ok()) return s;
    for (const auto& [kind, value] : r.keys) {
      insert_key_.Reset();
      if (DbStatus s = insert_key_.Bind(1, r.id).Bind(2, kind).Bind(3, value).Run(); !s.ok())
        return s;
    }
  }
  return t.Commit();
}

DbStatus CrossingStore::LoadUnclosed(std::vector<Crossing>* out,
                                     std::vector<std::string>* problems) {
  DbStatus s;
  Statement q = db_->Prepare(
      "SELECT id, picture FROM crossings WHERE state != 'closed' ORDER BY opened_us", &s);
  if (!s.ok()) return s;
  for (;;) {
    switch (q.Next()) {
      case Statement::Step::kRow: {
        std::string error;
        Json j = Json::parse(q.Text(1), nullptr, false);
        std::optional<Crossing> c = Crossing::FromJson(j, &error);
        if (c) out->push_back(std::move(*c));
        else problems->push_back("crossing " + q.Text(0) + " not reloaded: " + error);
        break;
      }
      case Statement::Step::kDone: return DbStatus::Ok();
      case Statement::Step::kError: return q.status();
    }
  }
}

std::optional<Crossing> CrossingStore::Get(const std::string& id, DbStatus* status) {
  Statement q = db_->Prepare("SELECT picture FROM crossings WHERE id = ?1", status);
  if (!status->ok()) return std::nullopt;
  q.Bind(1, id);
  const Statement::Step step = q.Next();
  if (step == Statement::Step::kError) *status = q.status();
  if (step != Statement::Step::kRow) return std::nullopt;
  std::string error;
  std::optional<Crossing> c = Crossing::FromJson(Json::parse(q.Text(0), nullptr, false), &error);
  if (!c) *status = DbStatus{1, "crossing " + id + ": " + error};  // SQLITE_ERROR
  return c;
}

bool CrossingStore::Exists(const std::string& id) {
  DbStatus s;
  Statement q = db_->Prepare("SELECT 1 FROM crossings WHERE id = ?1", &s);
  if (!s.ok()) return false;
  q.Bind(1, id);
  return q.Next() == Statement::Step::kRow;
}

DbStatus CrossingStore::Search(const SearchQuery& q, std::vector<Json>* out) {
  std::string sql = "SELECT picture FROM crossings c WHERE 1";
  std::vector<std::string> texts;
  auto key = [&](const char* kind, const std::string& value, bool contains) {
    if (value.empty()) return;
    texts.push_back(contains ? "%" + value + "%" : value);
    sql += std::string(" AND EXISTS (SELECT 1 FROM crossing_keys k WHERE k.crossing_id = c.id "
                       "AND k.kind = '") +
           kind + "' AND k.value " + (contains ? "LIKE" : "=") + " ?" +
           std::to_string(texts.size()) + ")";
  };
  key("plate", q.plate, false);
  key("document", q.document, false);
  // SearchName gives A-Z, digits and spaces (and non-Latin letters kept as they are), so
  // the only LIKE wildcards that could appear come from the pattern itself.
  key("name", q.name, true);
  key("container", q.container, false);
  if (!q.lane.empty()) {
    texts.push_back(q.lane);
    sql += " AND c.lane = ?" + std::to_string(texts.size());
  }
  if (!q.state.empty()) {
    texts.push_back(q.state);
    sql += " AND c.state = ?" + std::to_string(texts.size());
  }
  const int n = static_cast<int>(texts.size());
  if (q.since_us) sql += " AND c.opened_us >= ?" + std::to_string(n + 1);
  if (q.until_us) sql += " AND c.opened_us < ?" + std::to_string(n + 2);
  sql += " ORDER BY c.opened_us DESC LIMIT ?" + std::to_string(n + 3);
  DbStatus s;
  Statement st = db_->Prepare(sql, &s);
  if (!s.ok()) return s;
  for (int i = 0; i < n; ++i) st.Bind(i + 1, texts[static_cast<size_t>(i)]);
  if (q.since_us) st.Bind(n + 1, *q.since_us);
  if (q.until_us) st.Bind(n + 2, *q.until_us);
  st.Bind(n + 3, q.limit);
  for (;;) {
    switch (st.Next()) {
      case Statement::Step::kRow: {
        Json j = Json::parse(st.Text(0), nullptr, false);
        if (!j.is_discarded()) out->push_back(std::move(j));
        break;
      }
      case Statement::Step::kDone: return DbStatus::Ok();
      case Statement::Step::kError: return st.status();
    }
  }
}

}  // namespace kordon::crossings
