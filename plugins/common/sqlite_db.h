// sqlite_db.h — a thin RAII layer over the SQLite C API for the database plugins (crossings,
// manifest, …) and their `kordon` subcommands: open a file the way Kordon always does (WAL,
// busy timeout, checked), prepared statements that finalize themselves, transactions that roll
// back unless committed, and errors as values that name the file, the statement and the
// SQLite result code (so that callers can tell SQLITE_BUSY and SQLITE_FULL apart and retry).
//
// No exceptions: every call returns a DbStatus. No host or SDK types.
//
// Thread safety: one Db is one connection; use it (and its statements) from one thread at a
// time. Several connections (threads or processes) may share a file: WAL lets readers run while
// one writer commits.
#ifndef KORDON_PLUGINS_COMMON_SQLITE_DB_H_
#define KORDON_PLUGINS_COMMON_SQLITE_DB_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

struct sqlite3;
struct sqlite3_stmt;

namespace kordon::sqlite {

// An outcome: ok, or the SQLite (primary) result code and a message that names the file.
struct DbStatus {
  int code = 0;  // SQLITE_OK
  std::string message;
  bool ok() const { return code == 0; }
  // The database is locked by another connection (SQLITE_BUSY / SQLITE_LOCKED).
  bool busy() const;
  // The disk (or the page limit) is full (SQLITE_FULL).
  bool full() const;
  static DbStatus Ok() { return {}; }
};

class Db;

// A prepared statement. Bind parameters are 1-based; columns 0-based. Text is bound by copy
// (SQLITE_TRANSIENT), so arguments need not outlive the call.
class Statement {
 public:
  enum class Step { kRow, kDone, kError };

  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  explicit operator bool() const { return stmt_ != nullptr; }

  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& BindNull(int index);
  // NULL when empty.
  Statement& Bind(int index, const std::optional<std::string>& text);
  Statement& Bind(int index, const std::optional<double>& value);

  // One step. kError: status() says why (and the statement must be Reset before reuse).
  Step Next();
  // Steps to the end (for statements that return no rows): ok, or the error.
  DbStatus Run();
  // Resets and clears the bindings, ready to run again.
  void Reset();
  const DbStatus& status() const { return status_; }

  std::string Text(int column) const;  // "" for NULL
  std::optional<std::string> OptionalText(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  std::optional<double> OptionalDouble(int column) const;
  bool IsNull(int column) const;

 private:
  friend class Db;
  Statement(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  DbStatus status_;
};

struct OpenOptions {
  bool read_only = false;    // open an existing file for reading only
  bool create = true;        // create the file when absent (ignored when read_only)
  bool wal = true;           // journal_mode=WAL, verified (writers only)
  bool synchronous_full = false;  // synchronous=FULL instead of NORMAL (writers; WAL)
  int busy_timeout_ms = 2000;
};

class Db {
 public:
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens `path` as `options` say. On failure returns nullptr and sets *status.
  static std::unique_ptr<Db> Open(const std::string& path, const OpenOptions& options,
                                  DbStatus* status);

  // Runs one or more statements with no results (DDL, PRAGMA, BEGIN …).
  DbStatus Exec(std::string_view sql);
  // Prepares one statement; on failure the statement is empty and *status says why.
  Statement Prepare(std::string_view sql, DbStatus* status);

  // PRAGMA user_version: the schema version a plugin stores in its file.
  DbStatus UserVersion(int64_t* version);
  DbStatus SetUserVersion(int64_t version);
  // PRAGMA integrity_check: *ok, and the first problems when not ok.
  DbStatus IntegrityCheck(bool* ok, std::string* report);
  // Caps the file at `pages` pages for this connection (PRAGMA max_page_count): a write that
  // would grow past it fails with SQLITE_FULL, as on a full disk (how tests make one).
  DbStatus LimitPages(int64_t pages);

  int64_t LastInsertRowId() const;
  int64_t Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // The status of the last failed call on this connection, prefixed with `what`.
  DbStatus Error(std::string_view what) const;

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE on construction (the write lock is taken at once, so a busy file fails here
// and not half-way); ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db* db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Whether BEGIN succeeded; status() says why not.
  bool ok() const { return began_; }
  const DbStatus& status() const { return status_; }
  DbStatus Commit();

 private:
  Db* db_;
  bool began_ = false;
  bool done_ = false;
  DbStatus status_;
};

// Checkpoints a WAL file from a thread and a connection of its own, every `interval`, so that
// the writer's commits do not pay for it. SQLite's automatic checkpoint runs inside the commit
// that crosses 1 000 WAL pages: it copies the pages back into the database and syncs it, about
// 10 ms where a commit takes 0.1 ms, and the writer's thread (a plugin's actor) waits.
// wal_checkpoint(PASSIVE) neither waits for nor blocks the writer or readers. Start() raises the
// writer's automatic checkpoint to `writer_fallback_pages` rather than turning it off: if this
// thread falls behind or fails, the WAL is still bounded. Failures are counted and kept for the
// owner's log; the thread never stops on one.
class BackgroundCheckpointer {
 public:
  struct Stats {
    uint64_t runs = 0;
    uint64_t failures = 0;
    int64_t wal_frames = 0;  // the WAL's length at the last run (0 after a restart of it)
    std::string last_error;
  };

  // Opens the second connection to writer->path() and starts the thread; nullptr and *status
  // when the connection cannot be opened.
  static std::unique_ptr<BackgroundCheckpointer> Start(Db* writer,
                                                       std::chrono::milliseconds interval,
                                                       int64_t writer_fallback_pages,
                                                       DbStatus* status);
  ~BackgroundCheckpointer();  // stops the thread (after the checkpoint in progress, if any)
  BackgroundCheckpointer(const BackgroundCheckpointer&) = delete;
  BackgroundCheckpointer& operator=(const BackgroundCheckpointer&) = delete;

  Stats stats() const;

 private:
  BackgroundCheckpointer(std::unique_ptr<Db> db, std::chrono::milliseconds interval);
  void Run();

  std::unique_ptr<Db> db_;  // used by the thread only
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mutex_)
  Stats stats_;        // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace kordon::sqlite

#endif  // KORDON_PLUGINS_COMMON_SQLITE_DB_H_
