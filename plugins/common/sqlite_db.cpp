// sqlite_db.cpp — see sqlite_db.h.
#include "sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <utility>

namespace kordon::sqlite {

bool DbStatus::busy() const {
  return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
}
bool DbStatus::full() const { return (code & 0xff) == SQLITE_FULL; }

// ---- Statement ----

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      status_(std::move(other.status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    status_ = std::move(other.status_);
  }
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
Statement& Statement::Bind(int index, const std::optional<std::string>& text) {
  return text ? Bind(index, std::string_view(*text)) : BindNull(index);
}
Statement& Statement::Bind(int index, const std::optional<double>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Statement::Step Statement::Next() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return Step::kRow;
  if (rc == SQLITE_DONE) return Step::kDone;
  status_ = db_->Error(sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "step");
  return Step::kError;
}

DbStatus Statement::Run() {
  for (;;) {
    switch (Next()) {
      case Step::kRow: continue;
      case Step::kDone: return DbStatus::Ok();
      case Step::kError: return status_;
    }
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  status_ = DbStatus::Ok();
}

std::string Statement::Text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p == nullptr ? std::string()
                      : std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}
std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::optional<double> Statement::OptionalDouble(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Double(column);
}
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Db ----

Db::~Db() { sqlite3_close_v2(db_); }

DbStatus Db::Error(std::string_view what) const {
  DbStatus s;
  s.code = db_ ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM;
  if (s.code == SQLITE_OK) s.code = SQLITE_ERROR;
  s.message = std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory") + " (" +
              sqlite3_errstr(s.code) + ", " + path_ + ")";
  return s;
}

std::unique_ptr<Db> Db::Open(const std::string& path, const OpenOptions& options,
                             DbStatus* status) {
  int flags = SQLITE_OPEN_NOMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  std::unique_ptr<Db> db(new Db(handle, path));
  if (rc != SQLITE_OK) {
    *status = db->Error("open");
    return nullptr;
  }
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, options.busy_timeout_ms);
  if (options.read_only) {
    // Opening is lazy: read the schema now so that "not a database" shows up here.
    if (*status = db->Exec("SELECT count(*) FROM sqlite_schema"); !status->ok()) return nullptr;
    *status = DbStatus::Ok();
    return db;
  }
  if (options.wal) {
    if (*status = db->Exec("PRAGMA journal_mode=WAL"); !status->ok()) return nullptr;
    // The WAL really is on (a file system without shared memory would refuse it).
    Statement mode = db->Prepare("PRAGMA journal_mode", status);
    if (!mode) return nullptr;
    if (mode.Next() != Statement::Step::kRow || mode.Text(0) != "wal") {
      *status = {SQLITE_ERROR, "journal_mode WAL is not available for " + path};
      return nullptr;
    }
  }
  if (*status = db->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                  : "PRAGMA synchronous=NORMAL");
      !status->ok())
    return nullptr;
  *status = DbStatus::Ok();
  return db;
}

DbStatus Db::Exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return Error(text.size() > 120 ? text.substr(0, 120) + "…" : text);
  return DbStatus::Ok();
}

Statement Db::Prepare(std::string_view sql, DbStatus* status) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    *status = Error("prepare " + std::string(sql));
    sqlite3_finalize(stmt);
    return {};
  }
  *status = DbStatus::Ok();
  return Statement(this, stmt);
}

DbStatus Db::UserVersion(int64_t* version) {
  DbStatus status;
  Statement s = Prepare("PRAGMA user_version", &status);
  if (!s) return status;
  if (s.Next() != Statement::Step::kRow) return s.status();
  *version = s.Int(0);
  return DbStatus::Ok();
}

DbStatus Db::SetUserVersion(int64_t version) {
  return Exec("PRAGMA user_version=" + std::to_string(version));
}

DbStatus Db::IntegrityCheck(bool* ok, std::string* report) {
  DbStatus status;
  Statement s = Prepare("PRAGMA integrity_check(20)", &status);
  if (!s) return status;
  report->clear();
  Statement::Step step;
  while ((step = s.Next()) == Statement::Step::kRow) {
    if (!report->empty()) *report += "\n";
    *report += s.Text(0);
  }
  if (step == Statement::Step::kError) return s.status();
  *ok = *report == "ok";
  return DbStatus::Ok();
}

DbStatus Db::LimitPages(int64_t pages) {
  return Exec("PRAGMA max_page_count=" + std::to_string(pages));
}

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int64_t Db::Changes() const { return sqlite3_changes64(db_); }

// ---- Transaction ----

Transaction::Transaction(Db* db) : db_(db) {
  status_ = db_->Exec("BEGIN IMMEDIATE");
  began_ = status_.ok();
}

Transaction::~Transaction() {
  if (began_ && !done_) db_->Exec("ROLLBACK");
}

DbStatus Transaction::Commit() {
  if (!began_) return status_;
  if (done_) return DbStatus::Ok();
  status_ = db_->Exec("COMMIT");
  if (status_.ok()) {
    done_ = true;
  } else {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY): roll it back so that the
    // caller can retry from the start with the same rows.
    db_->Exec("ROLLBACK");
    done_ = true;
  }
  return status_;
}

// ---- BackgroundCheckpointer ----

std::unique_ptr<BackgroundCheckpointer> BackgroundCheckpointer::Start(
    Db* writer, std::chrono::milliseconds interval, int64_t writer_fallback_pages,
    DbStatus* status) {
  OpenOptions options;
  options.create = false;
  std::unique_ptr<Db> db = Db::Open(writer->path(), options, status);
  if (!db) return nullptr;
  if (*status = writer->Exec("PRAGMA wal_autocheckpoint=" +
                             std::to_string(writer_fallback_pages));
      !status->ok())
    return nullptr;
  // Its own connection must not checkpoint on commit either (it never writes, but say so).
  if (*status = db->Exec("PRAGMA wal_autocheckpoint=0"); !status->ok()) return nullptr;
  *status = DbStatus::Ok();
  return std::unique_ptr<BackgroundCheckpointer>(
      new BackgroundCheckpointer(std::move(db), interval));
}

BackgroundCheckpointer::BackgroundCheckpointer(std::unique_ptr<Db> db,
                                               std::chrono::milliseconds interval)
    : db_(std::move(db)), interval_(interval), thread_([this] { Run(); }) {}

BackgroundCheckpointer::~BackgroundCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

BackgroundCheckpointer::Stats BackgroundCheckpointer::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void BackgroundCheckpointer::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    int wal_frames = 0, copied = 0;  // copied: of the whole WAL so far, not this run
    const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             &wal_frames, &copied);
    // SQLITE_BUSY: another connection was checkpointing; it did the work.
    const DbStatus s = rc == SQLITE_OK || rc == SQLITE_BUSY ? DbStatus::Ok()
                                                             : db_->Error("wal_checkpoint");
    lock.lock();
    ++stats_.runs;
    if (s.ok()) {
      stats_.wal_frames = std::max(wal_frames, 0);
    } else {
      ++stats_.failures;
      stats_.last_error = s.message;
    }
  }
}

}  // namespace kordon::sqlite
