// journal_store.cpp — see journal_store.h.
#include "journal_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kordon::journal {

// auto_vacuum must be chosen before the first table exists: INCREMENTAL lets retention give
// pages back to the file system without a full VACUUM (which would lock out the writer).
//
// One index per row only, the unique id (duplicates are skipped by INSERT OR IGNORE): each
// per-row index costs about as much CPU per insert as the row itself. Queries by crossing,
// lane, topic and time narrow down through `blocks` instead: one row per kBlockRows
// consecutive rows of a commit, with their time range, and their distinct crossing ids,
// lanes and topics in `block_keys`; the matching blocks are then read by seq range.
const char kJournalSchema[] =
    "CREATE TABLE IF NOT EXISTS messages (\n"
    "  seq            INTEGER PRIMARY KEY,  -- the journal's own order, monotonically increasing\n"
    "  id             BLOB    NOT NULL,     -- message id: 16 bytes (TEXT if not 32 hex digits)\n"
    "  correlation_id BLOB,                 -- NULL when none; else like id\n"
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
    "CREATE TABLE IF NOT EXISTS blocks (\n"
    "  first_seq      INTEGER PRIMARY KEY,  -- the block's rows: seq BETWEEN first_seq AND\n"
    "  last_seq       INTEGER NOT NULL,     --   last_seq (some may be gone: retention)\n"
    "  min_time_us    INTEGER NOT NULL,     -- min(time_us) and max(time_us) of its rows\n"
    "  max_time_us    INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS block_keys (\n"
    "  kind           INTEGER NOT NULL,     -- 1 crossing_id, 2 lane, 3 topic\n"
    "  value          TEXT    NOT NULL,     -- a value some row of the block has ('' is not kept)\n"
    "  first_seq      INTEGER NOT NULL,     -- the block\n"
    "  PRIMARY KEY (kind, value, first_seq)\n"
    ") WITHOUT ROWID;\n";

namespace {

enum KeyKind : int { kCrossingKey = 1, kLaneKey = 2, kTopicKey = 3 };

constexpr char kColumns[] =
    "seq, id, correlation_id, time_us, recv_us, topic, source, lane, crossing_id, schema, "
    "schema_version, reply_to, flags, body";

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

// An id column back as text: a 16-byte BLOB as 32 lower-case hex digits, NULL as "", TEXT
// (an id that was not hex when written) as it is.
void ColumnId(sqlite3_stmt* s, int i, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  const int type = sqlite3_column_type(s, i);
  if (type == SQLITE_NULL) {
    out->clear();
  } else if (type == SQLITE_BLOB && sqlite3_column_bytes(s, i) == 16) {
    const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, i));
    out->resize(32);
    for (int k = 0; k < 16; ++k) {
      (*out)[2 * k] = kHex[p[k] >> 4];
      (*out)[2 * k + 1] = kHex[p[k] & 0xF];
    }
  } else {
    *out = ColumnText(s, i);
  }
}

// Binds an id as stored: 16 bytes from 32 hex digits, else the text. `buf` must live until
// the statement has been stepped (SQLITE_STATIC).
void BindId(sqlite3_stmt* s, int i, const std::string& id, unsigned char (&buf)[16]) {
  if (IdToBlob(id, buf)) {
    sqlite3_bind_blob(s, i, buf, 16, SQLITE_STATIC);
  } else {
    BindText(s, i, id);
  }
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// The value of each lower-case hex digit, -1 for every other byte. Lower case only: an id in
// upper case is kept as TEXT, so that it reads back unchanged.
struct HexTable {
  signed char value[256];
  constexpr HexTable() : value() {
    for (int c = 0; c < 256; ++c) value[c] = -1;
    for (int c = '0'; c <= '9'; ++c) value[c] = static_cast<signed char>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) value[c] = static_cast<signed char>(c - 'a' + 10);
  }
};
constexpr HexTable kHexTable;

int HexDigit(char c) { return kHexTable.value[static_cast<unsigned char>(c)]; }

// The last few distinct values seen (a small ring): Seen() says whether `v` is one of them,
// and remembers it when not.
class RecentValues {
 public:
  bool Seen(std::string_view v) {
    for (size_t i = 0; i < kSize; ++i)
      if (i < count_ && values_[i] == v) return true;
    values_[next_] = v;
    next_ = (next_ + 1) % kSize;
    if (count_ < kSize) ++count_;
    return false;
  }

 private:
  static constexpr size_t kSize = 8;
  std::string_view values_[kSize];
  size_t next_ = 0, count_ = 0;
};

// Reads one row of a SELECT of kColumns.
void ReadRow(sqlite3_stmt* s, JournalRow* r) {
  r->seq = sqlite3_column_int64(s, 0);
  ColumnId(s, 1, &r->id);
  ColumnId(s, 2, &r->correlation_id);
  r->time_us = sqlite3_column_int64(s, 3);
  r->recv_us = sqlite3_column_int64(s, 4);
  r->topic = ColumnText(s, 5);
  r->source = ColumnText(s, 6);
  r->lane = ColumnText(s, 7);
  r->crossing_id = ColumnText(s, 8);
  r->schema = ColumnText(s, 9);
  r->schema_version = static_cast<uint32_t>(sqlite3_column_int64(s, 10));
  r->reply_to = ColumnText(s, 11);
  r->flags = static_cast<uint32_t>(sqlite3_column_int64(s, 12));
  r->body = ColumnText(s, 13);
}

}  // namespace

bool IdToBlob(const std::string& hex, unsigned char (&out)[16]) {
  if (hex.size() != 32) return false;
  for (int k = 0; k < 16; ++k) {
    const int hi = HexDigit(hex[2 * k]), lo = HexDigit(hex[2 * k + 1]);
    if (hi < 0 || lo < 0) return false;
    out[k] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

JournalStore::~JournalStore() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(insert_block_);
  sqlite3_finalize(insert_key_);
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

StoreStatus JournalStore::ReadFormat(int* format) {
  StmtGuard g;
  if (StoreStatus s = Prepare("SELECT (SELECT user_version FROM pragma_user_version()), "
                              "(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                              "name = 'messages')",
                              &g.stmt);
      !s.ok())
    return s;
  if (sqlite3_step(g.stmt) != SQLITE_ROW) return Error("user_version");
  const int version = sqlite3_column_int(g.stmt, 0);
  const bool has_messages = sqlite3_column_int(g.stmt, 1) > 0;
  // 0: a new file (no table yet), or format 1, which had no user_version.
  *format = version != 0 ? version : has_messages ? 1 : 0;
  return StoreStatus::Ok();
}

StoreStatus JournalStore::PrepareWriteStatements() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(insert_block_);
  sqlite3_finalize(insert_key_);
  insert_ = insert_block_ = insert_key_ = nullptr;
  if (StoreStatus s = Prepare(
          "INSERT OR IGNORE INTO messages (seq, id, correlation_id, time_us, recv_us, topic, "
          "source, lane, crossing_id, schema, schema_version, reply_to, flags, body) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
          &insert_);
      !s.ok())
    return s;
  if (StoreStatus s = Prepare("INSERT INTO blocks (first_seq, last_seq, min_time_us, "
                              "max_time_us) VALUES (?1, ?2, ?3, ?4)",
                              &insert_block_);
      !s.ok())
    return s;
  return Prepare("INSERT OR IGNORE INTO block_keys (kind, value, first_seq) VALUES (?1, ?2, ?3)",
                 &insert_key_);
}

// Format 1 (TEXT ids, indexes on id, crossing, lane+time, topic+time): the rows are copied in
// seq order into the format-2 tables (ids as BLOBs, blocks built as by Insert), then the old
// table goes. REQUIRES: the caller holds a write transaction.
StoreStatus JournalStore::MigrateFromFormat1() {
  for (const char* sql :
       {"DROP INDEX IF EXISTS messages_id", "DROP INDEX IF EXISTS messages_crossing",
        "DROP INDEX IF EXISTS messages_lane_time", "DROP INDEX IF EXISTS messages_topic_time",
        "ALTER TABLE messages RENAME TO messages_format1", kJournalSchema}) {
    if (StoreStatus s = Exec(sql); !s.ok()) return s;
  }
  if (StoreStatus s = PrepareWriteStatements(); !s.ok()) return s;
  {
    StmtGuard g;
    if (StoreStatus s = Prepare((std::string("SELECT ") + kColumns +
                                 " FROM messages_format1 ORDER BY seq")
                                    .c_str(),
                                &g.stmt);
        !s.ok())
      return s;
    std::vector<JournalRow> rows;
    for (bool more = true; more;) {
      rows.resize(kBlockRows);
      size_t n = 0;
      for (; n < rows.size(); ++n) {
        const int rc = sqlite3_step(g.stmt);
        if (rc == SQLITE_DONE) {
          more = false;
          break;
        }
        if (rc != SQLITE_ROW) return Error("migrate: read");
        ReadRow(g.stmt, &rows[n]);
      }
      rows.resize(n);
      if (rows.empty()) break;
      InsertResult ignored;
      if (StoreStatus s = WriteRows(&rows, /*assign_seq=*/false, &ignored); !s.ok()) return s;
    }
  }
  for (const char* sql : {"DROP TABLE messages_format1", "PRAGMA user_version=2"}) {
    if (StoreStatus s = Exec(sql); !s.ok()) return s;
  }
  return StoreStatus::Ok();
}

std::unique_ptr<JournalStore> JournalStore::OpenForWriting(const std::string& path,
                                                           Synchronous sync,
                                                           int busy_timeout_ms,
                                                           int cache_mib,
                                                           StoreStatus* status) {
  static_assert(kJournalFormat == 2, "MigrateFromFormat1 and the DDL write format 2");
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
  // cache_size < 0 is in KiB.
  const std::string cache_sql =
      "PRAGMA cache_size=-" + std::to_string(std::max(cache_mib, 1) * int64_t{1024});
  for (const char* sql : {"PRAGMA auto_vacuum=INCREMENTAL", "PRAGMA journal_mode=WAL", sync_sql,
                          "PRAGMA foreign_keys=OFF", cache_sql.c_str()}) {
    if (*status = store->Exec(sql); !status->ok()) return nullptr;
  }
  {
    StmtGuard g;
    if (*status = store->Prepare("PRAGMA cache_size", &g.stmt); !status->ok()) return nullptr;
    if (sqlite3_step(g.stmt) == SQLITE_ROW)
      store->page_cache_mib_ = -sqlite3_column_int64(g.stmt, 0) / 1024;  // < 0: KiB
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
  // The format is read and the tables made (or migrated) under the write lock, so that two
  // processes opening one new or old file do not both do it.
  if (*status = store->Exec("BEGIN IMMEDIATE"); !status->ok()) return nullptr;
  int format = 0;
  *status = store->ReadFormat(&format);
  if (status->ok()) {
    store->opened_format_ = format;
    if (format == 0) {
      *status = store->Exec(kJournalSchema);
      if (status->ok()) *status = store->Exec("PRAGMA user_version=2");
    } else if (format == 1) {
      *status = store->MigrateFromFormat1();
    } else if (format != kJournalFormat) {
      *status = {SQLITE_ERROR, "journal file format " + std::to_string(format) +
                                   " is newer than this kordon's (" +
                                   std::to_string(kJournalFormat) + "): " + path};
    }
  }
  if (status->ok()) *status = store->Exec("COMMIT");
  if (!status->ok()) {
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return nullptr;
  }
  // The old table's pages go back to the file system (auto_vacuum=INCREMENTAL files).
  if (format == 1) (void)store->Exec("PRAGMA incremental_vacuum");
  {
    StmtGuard g;
    // The newest block counts too: if retention deleted every row, seq still goes on (and a
    // new block never meets an old one's first_seq).
    if (*status = store->Prepare("SELECT max(coalesce((SELECT max(seq) FROM messages), 0), "
                                 "coalesce((SELECT last_seq FROM blocks ORDER BY first_seq DESC "
                                 "LIMIT 1), 0))",
                                 &g.stmt);
        !status->ok())
      return nullptr;
    if (sqlite3_step(g.stmt) != SQLITE_ROW) {
      *status = store->Error("max(seq)");
      return nullptr;
    }
    store->last_seq_ = sqlite3_column_int64(g.stmt, 0);
  }
  if (*status = store->PrepareWriteStatements(); !status->ok()) return nullptr;
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
  int format = 0;
  if (*status = store->ReadFormat(&format); !status->ok()) return nullptr;
  store->opened_format_ = format;
  if (format == 1) {
    *status = {SQLITE_ERROR,
               "journal file format 1 (text ids; this kordon reads format 2): start the journal "
               "on it once, or run `kordon journal retention` on it, to migrate it: " +
                   path};
    return nullptr;
  }
  if (format != kJournalFormat) {
    *status = {SQLITE_ERROR, "journal file format " + std::to_string(format) +
                                 " is not this kordon's (" + std::to_string(kJournalFormat) +
                                 "): " + path};
    return nullptr;
  }
  return store;
}

StoreStatus JournalStore::WriteBlock(const std::vector<JournalRow>& rows, size_t begin,
                                     size_t end) {
  int64_t first = 0, last = 0, min_time = 0, max_time = 0;
  // Distinct (kind, value) of the block; a block has few lanes and topics and a few dozen
  // crossings. A value among the last few of its kind is not collected again (most are, as
  // rows interleave a handful of lanes, topics and crossings); the rest are sorted and made
  // unique: cheaper than an INSERT OR IGNORE for every row.
  std::vector<std::pair<int, std::string_view>> keys;
  keys.reserve(end - begin);
  RecentValues recent[3];
  auto add = [&](int kind, std::string_view value) {
    if (recent[kind - 1].Seen(value)) return;
    keys.emplace_back(kind, value);
  };
  for (size_t i = begin; i < end; ++i) {
    const JournalRow& r = rows[i];
    if (r.seq == 0) continue;  // a duplicate, skipped
    if (first == 0) {
      first = r.seq;
      min_time = max_time = r.time_us;
    }
    last = r.seq;
    min_time = std::min(min_time, r.time_us);
    max_time = std::max(max_time, r.time_us);
    if (!r.crossing_id.empty()) add(kCrossingKey, r.crossing_id);
    if (!r.lane.empty()) add(kLaneKey, r.lane);
    add(kTopicKey, r.topic);
  }
  if (first == 0) return StoreStatus::Ok();
  sqlite3_stmt* b = insert_block_;
  sqlite3_reset(b);
  sqlite3_bind_int64(b, 1, first);
  sqlite3_bind_int64(b, 2, last);
  sqlite3_bind_int64(b, 3, min_time);
  sqlite3_bind_int64(b, 4, max_time);
  if (sqlite3_step(b) != SQLITE_DONE) {
    StoreStatus st = Error("insert block");
    sqlite3_reset(b);
    return st;
  }
  sqlite3_reset(b);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  sqlite3_stmt* k = insert_key_;
  for (const auto& [kind, value] : keys) {
    sqlite3_reset(k);
    sqlite3_bind_int(k, 1, kind);
    sqlite3_bind_text(k, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    sqlite3_bind_int64(k, 3, first);
    if (sqlite3_step(k) != SQLITE_DONE) {
      StoreStatus st = Error("insert block key");
      sqlite3_reset(k);
      return st;
    }
  }
  sqlite3_reset(k);
  return StoreStatus::Ok();
}

StoreStatus JournalStore::WriteRows(std::vector<JournalRow>* rows, bool assign_seq,
                                    InsertResult* result) {
  int64_t seq = last_seq_;
  size_t block_begin = 0;
  int64_t block_rows = 0;
  sqlite3_stmt* s = insert_;
  for (size_t i = 0; i < rows->size(); ++i) {
    JournalRow& r = (*rows)[i];
    const int64_t row_seq = assign_seq ? seq + 1 : r.seq;
    unsigned char id[16], correlation[16];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, row_seq);
    BindId(s, 2, r.id, id);
    if (r.correlation_id.empty()) {
      sqlite3_bind_null(s, 3);
    } else {
      BindId(s, 3, r.correlation_id, correlation);
    }
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
      return st;
    }
    if (sqlite3_changes(db_) == 0) {
      r.seq = 0;
      ++result->duplicates;
      continue;
    }
    r.seq = row_seq;
    seq = std::max(seq, row_seq);
    if (result->first_seq == 0) result->first_seq = row_seq;
    result->last_seq = row_seq;
    ++result->inserted;
    if (++block_rows == kBlockRows) {
      if (StoreStatus st = WriteBlock(*rows, block_begin, i + 1); !st.ok()) return st;
      block_begin = i + 1;
      block_rows = 0;
    }
  }
  sqlite3_reset(s);
  if (block_rows > 0) {
    if (StoreStatus st = WriteBlock(*rows, block_begin, rows->size()); !st.ok()) return st;
  }
  last_seq_ = seq;
  return StoreStatus::Ok();
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
  const int64_t seq_before = last_seq_;
  auto undo = [&](StoreStatus st) {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY); end it so that the retry
    // starts clean. Nothing of the batch is in the file.
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    for (JournalRow& r : *rows) r.seq = 0;
    *result = InsertResult{};
    last_seq_ = seq_before;
    return st;
  };
  if (StoreStatus st = WriteRows(rows, /*assign_seq=*/true, result); !st.ok()) return undo(st);
  sqlite3_reset(commit_);
  if (sqlite3_step(commit_) != SQLITE_DONE) {
    StoreStatus st = Error("commit");
    sqlite3_reset(commit_);
    return undo(st);
  }
  sqlite3_reset(commit_);
  return StoreStatus::Ok();
}

StoreStatus JournalStore::Query(const QueryFilter& f,
                                const std::function<bool(const JournalRow&)>& fn) {
  // The row filters, checked on every row read.
  std::string where;
  if (!f.crossing_id.empty()) where += " AND crossing_id = ?1";
  if (!f.lane.empty()) where += " AND lane = ?2";
  // Whole segments: '/' follows '.'.
  if (!f.topic_prefix.empty())
    where += " AND (topic = ?3 OR (topic >= ?3 || '.' AND topic < ?3 || '/'))";
  if (f.since_us != 0) where += " AND time_us >= ?4";
  if (f.until_us != 0) where += " AND time_us < ?5";
  // Without filters every row is read anyway: one scan. Else only the blocks that may hold
  // matching rows, in seq order, each by its seq range (?6..?7).
  const bool by_blocks = !where.empty();
  std::string sql = std::string("SELECT ") + kColumns + " FROM messages WHERE " +
                    (by_blocks ? "seq BETWEEN ?6 AND ?7" : "1") + where + " ORDER BY seq";
  StmtGuard rows, blocks;
  if (StoreStatus s = Prepare(sql.c_str(), &rows.stmt); !s.ok()) return s;
  if (!f.crossing_id.empty()) BindText(rows.stmt, 1, f.crossing_id);
  if (!f.lane.empty()) BindText(rows.stmt, 2, f.lane);
  if (!f.topic_prefix.empty()) BindText(rows.stmt, 3, f.topic_prefix);
  if (f.since_us != 0) sqlite3_bind_int64(rows.stmt, 4, f.since_us);
  if (f.until_us != 0) sqlite3_bind_int64(rows.stmt, 5, f.until_us);
  if (by_blocks) {
    std::string bsql = "SELECT first_seq, last_seq FROM blocks WHERE 1";
    if (!f.crossing_id.empty())
      bsql += " AND first_seq IN (SELECT first_seq FROM block_keys WHERE kind = 1 AND "
              "value = ?1)";
    if (!f.lane.empty())
      bsql += " AND first_seq IN (SELECT first_seq FROM block_keys WHERE kind = 2 AND "
              "value = ?2)";
    // A range the key's index serves, a little wider than whole segments ("scanner-x"):
    // the rows are checked exactly.
    if (!f.topic_prefix.empty())
      bsql += " AND first_seq IN (SELECT first_seq FROM block_keys WHERE kind = 3 AND "
              "value >= ?3 AND value < ?3 || '/')";
    if (f.since_us != 0) bsql += " AND max_time_us >= ?4";
    if (f.until_us != 0) bsql += " AND min_time_us < ?5";
    bsql += " ORDER BY first_seq";
    if (StoreStatus s = Prepare(bsql.c_str(), &blocks.stmt); !s.ok()) return s;
    if (!f.crossing_id.empty()) BindText(blocks.stmt, 1, f.crossing_id);
    if (!f.lane.empty()) BindText(blocks.stmt, 2, f.lane);
    if (!f.topic_prefix.empty()) BindText(blocks.stmt, 3, f.topic_prefix);
    if (f.since_us != 0) sqlite3_bind_int64(blocks.stmt, 4, f.since_us);
    if (f.until_us != 0) sqlite3_bind_int64(blocks.stmt, 5, f.until_us);
  }
  JournalRow r;
  int64_t returned = 0;
  for (;;) {
    if (by_blocks) {
      const int rc = sqlite3_step(blocks.stmt);
      if (rc == SQLITE_DONE) return StoreStatus::Ok();
      if (rc != SQLITE_ROW) return Error("query blocks");
      sqlite3_reset(rows.stmt);
      sqlite3_bind_int64(rows.stmt, 6, sqlite3_column_int64(blocks.stmt, 0));
      sqlite3_bind_int64(rows.stmt, 7, sqlite3_column_int64(blocks.stmt, 1));
    }
    for (;;) {
      const int rc = sqlite3_step(rows.stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Error("query");
      ReadRow(rows.stmt, &r);
      if (!fn(r)) return StoreStatus::Ok();
      if (f.limit > 0 && ++returned >= f.limit) return StoreStatus::Ok();
    }
    if (!by_blocks) return StoreStatus::Ok();
  }
}

StoreStatus JournalStore::Contains(const std::string& id, bool* found) {
  StmtGuard g;
  if (StoreStatus s = Prepare("SELECT 1 FROM messages WHERE id = ?1", &g.stmt); !s.ok())
    return s;
  unsigned char buf[16];
  BindId(g.stmt, 1, id, buf);
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
// After each chunk the blocks wholly before the oldest row left go too (retention deletes
// from the front), so that the next chunk does not look through them again.
StoreStatus JournalStore::DeleteChunks(const char* sql, int64_t param, int64_t chunk,
                                       int64_t max_bytes, uint64_t* deleted) {
  StmtGuard del, used, front;
  if (StoreStatus s = Prepare(sql, &del.stmt); !s.ok()) return s;
  if (StoreStatus s = Prepare("DELETE FROM blocks WHERE first_seq < (SELECT coalesce(min(seq), "
                              "9223372036854775807) FROM messages) AND last_seq < "
                              "(SELECT coalesce(min(seq), 9223372036854775807) FROM messages) "
                              "AND first_seq < (SELECT max(first_seq) FROM blocks)",
                              &front.stmt);
      !s.ok())
    return s;
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
    sqlite3_reset(front.stmt);
    if (sqlite3_step(front.stmt) != SQLITE_DONE) return Error("delete blocks");
  }
}

// Blocks none of whose rows are left, and the keys of blocks that are gone: what remains
// after retention deleted rows in the middle (by age) and after DeleteChunks. The newest
// block stays even when empty: its last_seq is where seq goes on after a reopen.
StoreStatus JournalStore::DropEmptyBlocks() {
  if (StoreStatus s = Exec("DELETE FROM blocks WHERE NOT EXISTS (SELECT 1 FROM messages WHERE "
                           "seq BETWEEN blocks.first_seq AND blocks.last_seq) AND first_seq < "
                           "(SELECT max(first_seq) FROM blocks)");
      !s.ok())
    return s;
  return Exec("DELETE FROM block_keys WHERE first_seq NOT IN (SELECT first_seq FROM blocks)");
}

StoreStatus JournalStore::Retain(int64_t cutoff_us, int64_t max_bytes, int64_t chunk,
                                 bool dry_run, RetentionResult* result) {
  *result = RetentionResult{};
  if (chunk <= 0) chunk = 5000;
  result->size_before = FileBytes();
  if (dry_run) {
    StmtGuard g;
    if (StoreStatus s = Prepare("SELECT count(*) FROM blocks b JOIN messages m ON m.seq BETWEEN "
                                "b.first_seq AND b.last_seq WHERE b.min_time_us < ?1 AND "
                                "m.time_us < ?1",
                                &g.stmt);
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
            "DELETE FROM messages WHERE seq IN (SELECT m.seq FROM blocks b JOIN messages m ON "
            "m.seq BETWEEN b.first_seq AND b.last_seq WHERE b.min_time_us < ?1 AND "
            "m.time_us < ?1 LIMIT ?2)",
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
    if (StoreStatus s = DropEmptyBlocks(); !s.ok()) return s;
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
