// journal_store.h — the journal's SQLite file: the table, batched inserts, queries, retention
// and the integrity check. A pure library (no kordon host or SDK types): the journal plugin,
// `kordon journal`, the tests and the benchmark all use it.
//
// Thread safety: a JournalStore is one SQLite connection; use it from one thread at a time.
// Several stores (processes or threads) may open one file: WAL lets readers run while one
// writer commits.
#ifndef KORDON_PLUGINS_JOURNAL_JOURNAL_STORE_H_
#define KORDON_PLUGINS_JOURNAL_JOURNAL_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace kordon::journal {

// The file format this library writes (PRAGMA user_version). 0 with a `messages` table is
// format 1 (TEXT ids, four row indexes), migrated by OpenForWriting; see README.md.
constexpr int kJournalFormat = 2;

// Consecutive rows summarised by one `blocks` row (time range, and its crossing ids, lanes
// and topics in `block_keys`): what queries narrow down with instead of per-row indexes.
constexpr int64_t kBlockRows = 1024;

// One journaled message: the envelope as the plugin sees it, the body, and the journal's own
// receive time. `seq` is assigned by Insert (monotonically increasing, never reused while
// the newest row exists).
struct JournalRow {
  int64_t seq = 0;
  std::string topic;
  std::string id;              // 32 lower-case hex digits (stored as a 16-byte BLOB)
  std::string correlation_id;  // "" when none; else like id
  int64_t time_us = 0;
  int64_t recv_us = 0;
  std::string source;
  std::string lane;
  std::string crossing_id;
  std::string schema;
  uint32_t schema_version = 1;
  std::string reply_to;
  uint32_t flags = 0;
  std::string body;
};

// An outcome: ok, or the SQLite result code and a message. SQLITE_BUSY / SQLITE_FULL are
// kept apart so that the caller can retry them.
struct StoreStatus {
  int code = 0;  // SQLITE_OK
  std::string message;
  bool ok() const { return code == 0; }
  static StoreStatus Ok() { return {}; }
};

struct InsertResult {
  int64_t first_seq = 0;  // 0 when nothing was inserted
  int64_t last_seq = 0;
  uint64_t inserted = 0;
  uint64_t duplicates = 0;  // rows whose id was already journaled: skipped
};

// What `kordon journal query/export` select. Empty / zero fields do not filter.
struct QueryFilter {
  std::string crossing_id;
  std::string lane;
  std::string topic_prefix;  // whole segments: "scanner" matches scanner.x, not scannerx
  int64_t since_us = 0;      // time_us >= since_us when non-zero
  int64_t until_us = 0;      // time_us < until_us when non-zero
  int64_t limit = 0;         // at most this many rows (0: all)
};

struct RetentionResult {
  uint64_t deleted_by_age = 0;
  uint64_t deleted_by_size = 0;
  int64_t size_before = 0;  // bytes (main file + WAL)
  int64_t size_after = 0;
};

enum class Synchronous { kNormal, kFull };

// The writer connection's page cache (PRAGMA cache_size), MiB. It is the journal's largest
// use of memory, and it fills as the file grows: the plugin's `cache_mib` setting.
constexpr int kDefaultCacheMib = 2;

class JournalStore {
 public:
  ~JournalStore();
  JournalStore(const JournalStore&) = delete;
  JournalStore& operator=(const JournalStore&) = delete;

  // Opens (creating when absent) the journal at `path` for writing: WAL, the tables and the
  // index, prepared statements. `busy_timeout_ms`: how long a commit waits for a lock;
  // `cache_mib`: the page cache, 1 or more.
  // A format-1 file is migrated in one transaction (rolled back on failure, the file then
  // stays as it was); a file of a newer format than kJournalFormat is refused.
  static std::unique_ptr<JournalStore> OpenForWriting(const std::string& path, Synchronous sync,
                                                      int busy_timeout_ms, int cache_mib,
                                                      StoreStatus* status);
  // Opens an existing journal read-only (works while a writer commits, thanks to WAL). A
  // format-1 file is refused with a message saying how to migrate it (open it for writing).
  static std::unique_ptr<JournalStore> OpenReadOnly(const std::string& path,
                                                    StoreStatus* status);

  // Inserts the rows in one transaction; assigns rows[i].seq. Rows whose id is already in the
  // journal are skipped (seq 0) and counted. On error the transaction is rolled back, nothing
  // of this batch is in the file, and the rows keep seq 0: retry with the same rows.
  StoreStatus Insert(std::vector<JournalRow>* rows, InsertResult* result);

  // Calls fn for every matching row in seq order; fn returns false to stop.
  StoreStatus Query(const QueryFilter& filter, const std::function<bool(const JournalRow&)>& fn);

  // Whether a message id is in the journal.
  StoreStatus Contains(const std::string& id, bool* found);
  // Which format the file had when it was opened (1: migrated by OpenForWriting).
  int opened_format() const { return opened_format_; }
  StoreStatus Count(int64_t* rows);
  int64_t last_seq() const { return last_seq_; }
  // The writer connection's page cache as SQLite reports it (PRAGMA cache_size), MiB.
  int64_t page_cache_mib() const { return page_cache_mib_; }

  // Deletes rows with time_us < cutoff_us in chunks of `chunk` rows (one transaction each, so
  // that a writer is never locked out for long); then, when max_bytes > 0 and the file is
  // still larger, deletes the oldest rows (by seq) chunk by chunk until it is not. Then
  // checkpoints the WAL (TRUNCATE) and gives free pages back (incremental vacuum).
  // dry_run: counts what would be deleted by age, deletes nothing.
  StoreStatus Retain(int64_t cutoff_us, int64_t max_bytes, int64_t chunk, bool dry_run,
                     RetentionResult* result);

  // PRAGMA integrity_check: *ok and the first problems when not ok.
  StoreStatus IntegrityCheck(bool* ok, std::string* report);

  // Caps the file at `pages` pages (PRAGMA max_page_count) for this connection: a commit that
  // would grow past it fails with SQLITE_FULL, as on a full disk (how the tests make one).
  StoreStatus LimitPages(int64_t pages);

  // Bytes of the database file plus its WAL.
  int64_t FileBytes() const;
  const std::string& path() const { return path_; }

 private:
  JournalStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  StoreStatus Exec(const char* sql);
  StoreStatus Error(const std::string& what) const;
  StoreStatus Prepare(const char* sql, sqlite3_stmt** stmt);
  StoreStatus DeleteChunks(const char* sql, int64_t param, int64_t chunk, int64_t max_bytes,
                           uint64_t* deleted);
  StoreStatus ReadFormat(int* format);
  StoreStatus MigrateFromFormat1();
  StoreStatus PrepareWriteStatements();
  // Inserts rows (in a transaction the caller holds) with their blocks. assign_seq: each new
  // row gets the next seq, a duplicate id is skipped (seq 0); else rows keep theirs.
  StoreStatus WriteRows(std::vector<JournalRow>* rows, bool assign_seq, InsertResult* result);
  StoreStatus WriteBlock(const std::vector<JournalRow>& rows, size_t begin, size_t end);
  StoreStatus DropEmptyBlocks();

  sqlite3* db_ = nullptr;
  std::string path_;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* insert_block_ = nullptr;
  sqlite3_stmt* insert_key_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  int64_t last_seq_ = 0;
  int opened_format_ = kJournalFormat;
  int64_t page_cache_mib_ = 0;
};

// The DDL of the journal (also in README.md).
extern const char kJournalSchema[];

// A message id as stored: 32 lower-case hex digits as 16 bytes in *out; false for anything
// else (upper case too), which is stored as the text it is and so reads back unchanged.
bool IdToBlob(const std::string& hex, unsigned char (&out)[16]);

}  // namespace kordon::journal

#endif  // KORDON_PLUGINS_JOURNAL_JOURNAL_STORE_H_
