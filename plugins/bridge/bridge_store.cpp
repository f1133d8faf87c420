// bridge_store.cpp — see bridge_store.h.
#include "bridge_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace kordon::bridge {
namespace {

using sqlite::Db;
using sqlite::DbStatus;
using sqlite::Statement;

constexpr int64_t kSchemaVersion = 1;

// 16 random bytes as hex: the epoch of a fresh outbox.
std::string RandomHex16() {
  unsigned char raw[16] = {};
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!::read(fd, raw, sizeof(raw));
    ::close(fd);
  }
  std::string out;
  char buf[3];
  for (unsigned char c : raw) {
    std::snprintf(buf, sizeof(buf), "%02x", c);
    out += buf;
  }
  return out;
}

std::unique_ptr<Db> OpenFile(const std::string& path, std::string* error) {
  DbStatus s;
  sqlite::OpenOptions options;
  // FULL: an acknowledged message must survive a power cut on the sending side's outbox and
  // the receiving side's applied ids; the link, not the disk, is the bottleneck.
  options.synchronous_full = true;
  std::unique_ptr<Db> db = Db::Open(path, options, &s);
  if (!db) *error = s.message;
  return db;
}

}  // namespace

// --- Outbox ------------------------------------------------------------------------------

std::unique_ptr<Outbox> Outbox::Open(const std::string& path, int64_t limit,
                                     const std::vector<std::string>& partners,
                                     std::string* error) {
  std::unique_ptr<Outbox> box(new Outbox());
  box->limit_ = limit;
  box->db_ = OpenFile(path, error);
  if (!box->db_) return nullptr;
  Db& db = *box->db_;
  DbStatus s = db.Exec(
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS outbox(partner TEXT NOT NULL, seq INTEGER NOT NULL,"
      " header TEXT NOT NULL, body TEXT NOT NULL, queued_us INTEGER NOT NULL,"
      " PRIMARY KEY(partner, seq)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS acked(partner TEXT PRIMARY KEY, seq INTEGER NOT NULL);");
  if (s.ok()) s = db.SetUserVersion(kSchemaVersion);
  if (!s.ok()) {
    *error = s.message;
    return nullptr;
  }
  Statement get = db.Prepare("SELECT value FROM meta WHERE key = 'epoch'", &s);
  if (!get) {
    *error = s.message;
    return nullptr;
  }
  if (get.Next() == Statement::Step::kRow) {
    box->epoch_ = get.Text(0);
  } else {
    box->epoch_ = RandomHex16();
    Statement put = db.Prepare("INSERT INTO meta(key, value) VALUES('epoch', ?)", &s);
    if (put) s = put.Bind(1, box->epoch_).Run();
    if (!s.ok()) {
      *error = s.message;
      return nullptr;
    }
  }
  for (const std::string& p : partners) {
    PartnerState st;
    Statement q = db.Prepare(
        "SELECT (SELECT count(*) FROM outbox WHERE partner = ?1),"
        " (SELECT max(seq) FROM outbox WHERE partner = ?1),"
        " (SELECT seq FROM acked WHERE partner = ?1)",
        &s);
    if (!q || q.Bind(1, p).Next() != Statement::Step::kRow) {
      *error = q ? q.status().message : s.message;
      return nullptr;
    }
    st.backlog = q.Int(0);
    st.acked = static_cast<uint64_t>(q.Int(2));
    st.next_seq = std::max<uint64_t>(static_cast<uint64_t>(q.Int(1)), st.acked) + 1;
    box->partners_[p] = st;
  }
  return box;
}

std::map<std::string, Outbox::Enqueued> Outbox::Enqueue(const std::vector<std::string>& partners,
                                                        const std::string& header,
                                                        const std::string& body,
                                                        std::string* error) {
  std::map<std::string, Enqueued> result;
  std::lock_guard<std::mutex> lock(mutex_);
  sqlite::Transaction tx(db_.get());
  if (!tx.ok()) {
    *error = tx.status().message;
    for (const auto& p : partners) result[p] = Enqueued::kError;
    return result;
  }
  DbStatus s;
  Statement ins = db_->Prepare(
      "INSERT INTO outbox(partner, seq, header, body, queued_us) VALUES(?, ?, ?, ?, "
      "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))",
      &s);
  if (!ins) {
    *error = s.message;
    for (const auto& p : partners) result[p] = Enqueued::kError;
    return result;
  }
  std::map<std::string, PartnerState> updated;
  for (const std::string& p : partners) {
    PartnerState st = partners_[p];
    if (st.backlog >= limit_) {
      result[p] = Enqueued::kFull;
      continue;
    }
    ins.Reset();
    s = ins.Bind(1, p).Bind(2, static_cast<int64_t>(st.next_seq)).Bind(3, header).Bind(4, body)
            .Run();
    if (!s.ok()) {
      *error = s.message;
      for (const auto& q : partners) result[q] = Enqueued::kError;
      return result;  // rolled back
    }
    ++st.next_seq;
    ++st.backlog;
    updated[p] = st;
    result[p] = Enqueued::kOk;
  }
  if (!updated.empty()) {
    s = tx.Commit();
    if (!s.ok()) {
      *error = s.message;
      for (const auto& q : partners) result[q] = Enqueued::kError;
      return result;
    }
  }
  for (auto& [p, st] : updated) partners_[p] = st;
  return result;
}

std::vector<OutboxRow> Outbox::Read(const std::string& partner, uint64_t from_seq, size_t max,
                                    std::string* error) {
  std::vector<OutboxRow> rows;
  std::lock_guard<std::mutex> lock(mutex_);
  DbStatus s;
  Statement q = db_->Prepare(
      "SELECT seq, header, body FROM outbox WHERE partner = ? AND seq >= ? ORDER BY seq LIMIT ?",
      &s);
  if (!q) {
    *error = s.message;
    return rows;
  }
  q.Bind(1, partner).Bind(2, static_cast<int64_t>(from_seq)).Bind(3, static_cast<int64_t>(max));
  Statement::Step step;
  while ((step = q.Next()) == Statement::Step::kRow)
    rows.push_back({static_cast<uint64_t>(q.Int(0)), q.Text(1), q.Text(2)});
  if (step == Statement::Step::kError) *error = q.status().message;
  return rows;
}

int64_t Outbox::Acknowledge(const std::string& partner, uint64_t seq, std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  PartnerState& st = partners_[partner];
  if (seq <= st.acked) return 0;
  sqlite::Transaction tx(db_.get());
  if (!tx.ok()) {
    *error = tx.status().message;
    return -1;
  }
  DbStatus s;
  Statement del = db_->Prepare("DELETE FROM outbox WHERE partner = ? AND seq <= ?", &s);
  if (del) s = del.Bind(1, partner).Bind(2, static_cast<int64_t>(seq)).Run();
  const int64_t removed = s.ok() ? db_->Changes() : 0;
  if (s.ok()) {
    Statement up = db_->Prepare(
        "INSERT INTO acked(partner, seq) VALUES(?1, ?2) "
        "ON CONFLICT(partner) DO UPDATE SET seq = max(seq, ?2)",
        &s);
    if (up) s = up.Bind(1, partner).Bind(2, static_cast<int64_t>(seq)).Run();
  }
  if (s.ok()) s = tx.Commit();
  if (!s.ok()) {
    *error = s.message;
    return -1;
  }
  st.acked = seq;
  st.backlog = std::max<int64_t>(0, st.backlog - removed);
  // A partner that acknowledges past what we hold (another outbox of ours?) must not make us
  // reuse its numbers.
  st.next_seq = std::max(st.next_seq, seq + 1);
  return removed;
}

int64_t Outbox::Backlog(const std::string& partner) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = partners_.find(partner);
  return it == partners_.end() ? 0 : it->second.backlog;
}

uint64_t Outbox::Acknowledged(const std::string& partner) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = partners_.find(partner);
  return it == partners_.end() ? 0 : it->second.acked;
}

// --- AppliedStore ------------------------------------------------------------------------

std::unique_ptr<AppliedStore> AppliedStore::Open(const std::string& path, std::string* error) {
  std::unique_ptr<AppliedStore> store(new AppliedStore());
  store->db_ = OpenFile(path, error);
  if (!store->db_) return nullptr;
  Db& db = *store->db_;
  DbStatus s = db.Exec(
      "CREATE TABLE IF NOT EXISTS applied(origin TEXT NOT NULL, id TEXT NOT NULL,"
      " applied_us INTEGER NOT NULL, PRIMARY KEY(origin, id)) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS applied_by_time ON applied(applied_us);"
      "CREATE TABLE IF NOT EXISTS sessions(site TEXT NOT NULL, epoch TEXT NOT NULL,"
      " last_seq INTEGER NOT NULL, PRIMARY KEY(site, epoch)) WITHOUT ROWID;");
  if (s.ok()) s = db.SetUserVersion(kSchemaVersion);
  if (s.ok())
    store->was_applied_ = db.Prepare("SELECT 1 FROM applied WHERE origin = ? AND id = ?", &s);
  if (s.ok())
    store->record_ = db.Prepare(
        "INSERT OR IGNORE INTO applied(origin, id, applied_us) VALUES(?, ?, ?)", &s);
  if (s.ok())
    store->last_ = db.Prepare("SELECT last_seq FROM sessions WHERE site = ? AND epoch = ?", &s);
  if (s.ok())
    store->set_last_ = db.Prepare(
        "INSERT INTO sessions(site, epoch, last_seq) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(site, epoch) DO UPDATE SET last_seq = max(last_seq, ?3)",
        &s);
  if (!s.ok()) {
    *error = s.message;
    return nullptr;
  }
  return store;
}

std::optional<uint64_t> AppliedStore::LastApplied(const std::string& site,
                                                  const std::string& epoch) {
  last_.Reset();
  last_.Bind(1, site).Bind(2, epoch);
  std::optional<uint64_t> out;
  if (last_.Next() == Statement::Step::kRow) out = static_cast<uint64_t>(last_.Int(0));
  last_.Reset();
  return out;
}

bool AppliedStore::WasApplied(const std::string& origin, const std::string& id) {
  was_applied_.Reset();
  was_applied_.Bind(1, origin).Bind(2, id);
  const bool found = was_applied_.Next() == Statement::Step::kRow;
  was_applied_.Reset();
  return found;
}

DbStatus AppliedStore::Begin() { return db_->Exec("BEGIN IMMEDIATE"); }

DbStatus AppliedStore::Record(const std::string& origin, const std::string& id, int64_t now_us) {
  record_.Reset();
  return record_.Bind(1, origin).Bind(2, id).Bind(3, now_us).Run();
}

DbStatus AppliedStore::SetLastApplied(const std::string& site, const std::string& epoch,
                                      uint64_t seq) {
  set_last_.Reset();
  return set_last_.Bind(1, site).Bind(2, epoch).Bind(3, static_cast<int64_t>(seq)).Run();
}

DbStatus AppliedStore::Commit() { return db_->Exec("COMMIT"); }

void AppliedStore::Rollback() { (void)db_->Exec("ROLLBACK"); }

int64_t AppliedStore::Prune(int64_t before_us) {
  DbStatus s;
  Statement del = db_->Prepare("DELETE FROM applied WHERE applied_us < ?", &s);
  if (!del || !del.Bind(1, before_us).Run().ok()) return 0;
  return db_->Changes();
}

}  // namespace kordon::bridge
