// journal_store.cpp — see journal_store.h.
#include "journal_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <string>
#include <utility>

namespace kordon::journal {

// auto_vacuum must be chosen before the first table exists: INCREMENTAL lets retention give
// pages back to the file system without a full VACUUM (which would lock out the writer).
const char kJournalSchema[] =
    "CREATE TABLE IF NOT EXISTS messages (\n"
    "  seq            INTEGER PRIMARY KEY,  -- the journal's own order, monotonically increasing\n"
    "  id             TEXT    NOT NULL,     -- message id, 32 hex digits\n"
    "  correlation_id TEXT    NOT NULL,     -- '' when none\n"
    "  time_us        INTEGER NOT NULL,     -- publication time, us since the epoch, UTC\n"
    "  recv_us        INTEGER NOT NULL,     -- when the journal received it\n"
    "  topic          TEXT    NOT NULL,\n"
    "  source         TEXT    NOT NULL,\n"
    "  lane           TEXT    NOT NULL,\n"
    "  crossing_id    TEXT    NOT NULL,\n"
    "  schema         TEXT    NOT NULL,\n"
    "  schema_version INTEGER NOT NULL,\n"
    "  reply_to       TEXT    NOT NULL,\n"
    "  flags          INTEGER NOT NULL,\n"
    "  body           TEXT    NOT NULL      -- the JSON body as received\n"
    ");\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON messages (id);\n"
    "CREATE INDEX IF NOT EXISTS messages_crossing ON messages (crossing_id);\n"
    "CREATE INDEX IF NOT EXISTS messages_lane_time ON messages (lane, time_us);\n"
    "CREATE INDEX IF NOT EXISTS messages_topic_time ON messages (topic, time_us);\n";

namespace {

// Finalizes a statement when the scope ends (sqlite3_finalize(nullptr) is a no-op).
struct StmtGuard {
  sqlite3_stmt* stmt = nullptr;
  ~StmtGuard() { sqlite3_finalize(stmt); }
};

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s, i));
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace

JournalStore::~JournalStore() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(begin_);
  sqlite3_finalize(commit_);
  sqlite3_close_v2(db_);
}

StoreStatus JournalStore::Error(const std::string& what) const {
  StoreStatus s;
  s.code = sqlite3_errcode(db_);
  if (s.code == SQLITE_OK) s.code = SQLITE_ERROR;
  s.message = what + ": " + sqlite3_errmsg(db_) + " (" + sqlite3_errstr(s.code) + ", " + path_ +
              ")";
  return s;
}

StoreStatus JournalStore::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Error(sql);
  return StoreStatus::Ok();
}

StoreStatus JournalStore::Prepare(const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK)
    return Error(std::string("prepare ") + sql);
  return StoreStatus::Ok();
}

std::unique_ptr<JournalStore> JournalStore::OpenForWriting(const std::string& path,
                                                           Synchronous sync,
                                                           int busy_timeout_ms,
                                                           StoreStatus* status) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  std::unique_ptr<JournalStore> store(new JournalStore(db, path));
  if (rc != SQLITE_OK) {
    *status = store->Error("open");
    return nullptr;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  const char* sync_sql =
      sync == Synchronous::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  for (const char* sql : {"PRAGMA auto_vacuum=INCREMENTAL", "PRAGMA journal_mode=WAL", sync_sql,
                          "PRAGMA foreign_keys=OFF", "PRAGMA cache_size=-65536",
                          kJournalSchema}) {
    if (*status = store->Exec(sql); !status->ok()) return nullptr;
  }
  // The WAL really is on (a file system without shared memory would refuse it).
  {
    StmtGuard g;
    if (*status = store->Prepare("PRAGMA journal_mode", &g.stmt); !status->ok()) return nullptr;
    if (sqlite3_step(g.stmt) != SQLITE_ROW || ColumnText(g.stmt, 0) != "wal") {
      *status = {SQLITE_ERROR, "journal_mode WAL is not available for " + path};
      return nullptr;
    }
  }
  {
    StmtGuard g;
    if (*status = store->Prepare("SELECT coalesce(max(seq), 0) FROM messages", &g.stmt);
        !status->ok())
      return nullptr;
    if (sqlite3_step(g.stmt) != SQLITE_ROW) {
      *status = store->Error("max(seq)");
      return nullptr;
    }
    store->last_seq_ = sqlite3_column_int64(g.stmt, 0);
  }
  if (*status = store->Prepare(
          "INSERT OR IGNORE INTO messages (seq, id, correlation_id, time_us, recv_us, topic, "
          "source, lane, crossing_id, schema, schema_version, reply_to, flags, body) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
          &store->insert_);
      !status->ok())
    return nullptr;
  // BEGIN IMMEDIATE takes the write lock at once, so that SQLITE_BUSY shows at the start of a
  // batch (where busy_timeout applies) and never half-way through it.
  if (*status = store->Prepare("BEGIN IMMEDIATE", &store->begin_); !status->ok()) return nullptr;
  if (*status = store->Prepare("COMMIT", &store->commit_); !status->ok()) return nullptr;
  *status = StoreStatus::Ok();
  return store;
}

std::unique_ptr<JournalStore> JournalStore::OpenReadOnly(const std::string& path,
                                                         StoreStatus* status) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  std::unique_ptr<JournalStore> store(new JournalStore(db, path));
  if (rc != SQLITE_OK) {
    *status = store->Error("open read-only");
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  // A file that is not a journal fails here rather than in the first query.
  if (*status = store->Exec("SELECT seq FROM messages LIMIT 0"); !status->ok()) return nullptr;
  return store;
}

StoreStatus JournalStore::Insert(std::vector<JournalRow>* rows, InsertResult* result) {
  *result = InsertResult{};
  sqlite3_reset(begin_);
  if (sqlite3_step(begin_) != SQLITE_DONE) {
    StoreStatus s = Error("begin");
    sqlite3_reset(begin_);
    return s;
  }
  sqlite3_reset(begin_);
  int64_t seq = last_seq_;
  for (JournalRow& r : *rows) {
    sqlite3_stmt* s = insert_;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, seq + 1);
    BindText(s, 2, r.id);
    BindText(s, 3, r.correlation_id);
    sqlite3_bind_int64(s, 4, r.time_us);
    sqlite3_bind_int64(s, 5, r.recv_us);
    BindText(s, 6, r.topic);
    BindText(s, 7, r.source);
    BindText(s, 8, r.lane);
    BindText(s, 9, r.crossing_id);
    BindText(s, 10, r.schema);
    sqlite3_bind_int64(s, 11, r.schema_version);
    BindText(s, 12, r.reply_to);
    sqlite3_bind_int64(s, 13, r.flags);
    BindText(s, 14, r.body);
    if (sqlite3_step(s) != SQLITE_DONE) {
      StoreStatus st = Error("insert");
      sqlite3_reset(s);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      for (JournalRow& undo : *rows) undo.seq = 0;
      *result = InsertResult{};
      return st;
    }
    if (sqlite3_changes(db_) == 0) {
      r.seq = 0;
      ++result->duplicates;
      continue;
    }
    r.seq = ++seq;
    if (result->first_seq == 0) result->first_seq = seq;
    ++result->inserted;
  }
  sqlite3_reset(insert_);
  sqlite3_reset(commit_);
  if (sqlite3_step(commit_) != SQLITE_DONE) {
    StoreStatus st = Error("commit");
    sqlite3_reset(commit_);
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY); end it so that the retry
    // starts clean.
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    for (JournalRow& undo : *rows) undo.seq = 0;
    *result = InsertResult{};
    return st;
  }
  sqlite3_reset(commit_);
  result->last_seq = result->inserted > 0 ? seq : 0;
  last_seq_ = seq;
  return StoreStatus::Ok();
}

StoreStatus JournalStore::Query(const QueryFilter& f,
                                const std::function<bool(const JournalRow&)>& fn) {
  std::string sql =
      "SELECT seq, id, correlation_id, time_us, recv_us, topic, source, lane, crossing_id, "
      "schema, schema_version, reply_to, flags, body FROM messages WHERE 1";
  if (!f.crossing_id.empty()) sql += " AND crossing_id = ?1";
  if (!f.lane.empty()) sql += " AND lane = ?2";
  // Whole segments, in a form the (topic, time_us) index can serve: '/' follows '.'.
  if (!f.topic_prefix.empty())
    sql += " AND (topic = ?3 OR (topic >= ?3 || '.' AND topic < ?3 || '/'))";
  if (f.since_us != 0) sql += " AND time_us >= ?4";
  if (f.until_us != 0) sql += " AND time_us < ?5";
  sql += " ORDER BY seq";
  if (f.limit > 0) sql += " LIMIT ?6";
  StmtGuard g;
  if (StoreStatus s = Prepare(sql.c_str(), &g.stmt); !s.ok()) return s;
  if (!f.crossing_id.empty()) BindText(g.stmt, 1, f.crossing_id);
  if (!f.lane.empty()) BindText(g.stmt, 2, f.lane);
  if (!f.topic_prefix.empty()) BindText(g.stmt, 3, f.topic_prefix);
  if (f.since_us != 0) sqlite3_bind_int64(g.stmt, 4, f.since_us);
  if (f.until_us != 0) sqlite3_bind_int64(g.stmt, 5, f.until_us);
  if (f.limit > 0) sqlite3_bind_int64(g.stmt, 6, f.limit);
  JournalRow r;
  for (;;) {
    const int rc = sqlite3_step(g.stmt);
    if (rc == SQLITE_DONE) return StoreStatus::Ok();
    if (rc != SQLITE_ROW) return Error("query");
    r.seq = sqlite3_column_int64(g.stmt, 0);
    r.id = ColumnText(g.stmt, 1);
    r.correlation_id = ColumnText(g.stmt, 2);
    r.time_us = sqlite3_column_int64(g.stmt, 3);
    r.recv_us = sqlite3_column_int64(g.stmt, 4);
    r.topic = ColumnText(g.stmt, 5);
    r.source = ColumnText(g.stmt, 6);
    r.lane = ColumnText(g.stmt, 7);
    r.crossing_id = ColumnText(g.stmt, 8);
    r.schema = ColumnText(g.stmt, 9);
    r.schema_version = static_cast<uint32_t>(sqlite3_column_int64(g.stmt, 10));
    r.reply_to = ColumnText(g.stmt, 11);
    r.flags = static_cast<uint32_t>(sqlite3_column_int64(g.stmt, 12));
    r.body = ColumnText(g.stmt, 13);
    if (!fn(r)) return StoreStatus::Ok();
  }
}

StoreStatus JournalStore::Contains(const std::string& id, bool* found) {
  StmtGuard g;
  if (StoreStatus s = Prepare("SELECT 1 FROM messages WHERE id = ?1", &g.stmt); !s.ok())
    return s;
  BindText(g.stmt, 1, id);
  const int rc = sqlite3_step(g.stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("contains");
  *found = rc == SQLITE_ROW;
  return StoreStatus::Ok();
}

StoreStatus JournalStore::Count(int64_t* rows) {
  StmtGuard g;
  if (StoreStatus s = Prepare("SELECT count(*) FROM messages", &g.stmt); !s.ok()) return s;
  if (sqlite3_step(g.stmt) != SQLITE_ROW) return Error("count");
  *rows = sqlite3_column_int64(g.stmt, 0);
  return StoreStatus::Ok();
}

StoreStatus JournalStore::LimitPages(int64_t pages) {
  return Exec(("PRAGMA max_page_count=" + std::to_string(pages)).c_str());
}

int64_t JournalStore::FileBytes() const { return FileSize(path_) + FileSize(path_ + "-wal"); }

// Runs `sql` (a DELETE of at most ?2 rows, with ?1 = param) one chunk per transaction until
// it deletes nothing, or — when max_bytes > 0 — until the pages in use fit in max_bytes.
StoreStatus JournalStore::DeleteChunks(const char* sql, int64_t param, int64_t chunk,
                                       int64_t max_bytes, uint64_t* deleted) {
  StmtGuard del, used;
  if (StoreStatus s = Prepare(sql, &del.stmt); !s.ok()) return s;
  if (StoreStatus s = Prepare("SELECT (SELECT page_count FROM pragma_page_count()) - "
                              "(SELECT freelist_count FROM pragma_freelist_count()), "
                              "(SELECT page_size FROM pragma_page_size())",
                              &used.stmt);
      !s.ok())
    return s;
  for (;;) {
    if (max_bytes > 0) {
      sqlite3_reset(used.stmt);
      if (sqlite3_step(used.stmt) != SQLITE_ROW) return Error("page_count");
      const int64_t bytes = sqlite3_column_int64(used.stmt, 0) * sqlite3_column_int64(used.stmt, 1);
      if (bytes <= max_bytes) return StoreStatus::Ok();
    }
    sqlite3_reset(del.stmt);
    sqlite3_bind_int64(del.stmt, 1, param);
    sqlite3_bind_int64(del.stmt, 2, chunk);
    if (sqlite3_step(del.stmt) != SQLITE_DONE) return Error("delete");
    const int n = sqlite3_changes(db_);
    *deleted += static_cast<uint64_t>(n);
    if (n == 0) return StoreStatus::Ok();
  }
}

StoreStatus JournalStore::Retain(int64_t cutoff_us, int64_t max_bytes, int64_t chunk,
                                 bool dry_run, RetentionResult* result) {
  *result = RetentionResult{};
  if (chunk <= 0) chunk = 5000;
  result->size_before = FileBytes();
  if (dry_run) {
    StmtGuard g;
    if (StoreStatus s = Prepare("SELECT count(*) FROM messages WHERE time_us < ?1", &g.stmt);
        !s.ok())
      return s;
    sqlite3_bind_int64(g.stmt, 1, cutoff_us);
    if (sqlite3_step(g.stmt) != SQLITE_ROW) return Error("count");
    result->deleted_by_age = static_cast<uint64_t>(sqlite3_column_int64(g.stmt, 0));
    result->size_after = result->size_before;
    return StoreStatus::Ok();
  }
  if (cutoff_us > 0) {
    if (StoreStatus s = DeleteChunks(
            "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE time_us < ?1 "
            "ORDER BY seq LIMIT ?2)",
            cutoff_us, chunk, 0, &result->deleted_by_age);
        !s.ok())
      return s;
  }
  if (max_bytes > 0) {
    // The newest row stays, so that seq never goes back (max(seq) + 1 on the next open).
    if (StoreStatus s = DeleteChunks(
            "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE seq < "
            "(SELECT max(seq) FROM messages) ORDER BY seq LIMIT ?2) AND ?1 = ?1",
            0, chunk, max_bytes, &result->deleted_by_size);
        !s.ok())
      return s;
  }
  if (result->deleted_by_age + result->deleted_by_size > 0) {
    // Free pages go back to the file system; the WAL is emptied so that both shrink.
    StmtGuard g;
    if (StoreStatus s = Prepare("PRAGMA auto_vacuum", &g.stmt); !s.ok()) return s;
    const bool incremental =
        sqlite3_step(g.stmt) == SQLITE_ROW && sqlite3_column_int(g.stmt, 0) == 2;
    if (StoreStatus s = Exec(incremental ? "PRAGMA incremental_vacuum" : "VACUUM"); !s.ok())
      return s;
  }
  if (StoreStatus s = Exec("PRAGMA wal_checkpoint(TRUNCATE)"); !s.ok()) return s;
  result->size_after = FileBytes();
  return StoreStatus::Ok();
}

StoreStatus JournalStore::IntegrityCheck(bool* ok, std::string* report) {
  StmtGuard g;
  if (StoreStatus s = Prepare("PRAGMA integrity_check(20)", &g.stmt); !s.ok()) return s;
  report->clear();
  for (;;) {
    const int rc = sqlite3_step(g.stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error("integrity_check");
    if (!report->empty()) report->push_back('\n');
    report->append(ColumnText(g.stmt, 0));
  }
  *ok = *report == "ok";
  return StoreStatus::Ok();
}

}  // namespace kordon::journal
