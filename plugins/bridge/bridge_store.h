// bridge_store.h — the bridge's two SQLite files (plugins/bridge/README.md):
//  - Outbox: messages waiting for each partner, in order, removed only when the partner
//    acknowledges them; bounded per partner. Sequence numbers are never reused within an
//    epoch (a random id of the file), even when the outbox empties and the plugin restarts.
//  - AppliedStore: on the receiving side, the last sequence applied per (sender site, epoch)
//    and the ids of the messages applied, pruned by age, so that each message is applied once.
//
// Thread safety: Outbox is safe from any thread (one mutex around one connection): the
// instance thread enqueues while the link thread reads and acknowledges. AppliedStore
// belongs to one thread (the link thread).
#ifndef KORDON_PLUGINS_BRIDGE_BRIDGE_STORE_H_
#define KORDON_PLUGINS_BRIDGE_BRIDGE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sqlite_db.h"

namespace kordon::bridge {

struct OutboxRow {
  uint64_t seq = 0;
  std::string header;  // the MSG header JSON
  std::string body;
};

class Outbox {
 public:
  enum class Enqueued { kOk, kFull, kError };

  // Opens (creating) the file, with room for `limit` messages per partner.
  static std::unique_ptr<Outbox> Open(const std::string& path, int64_t limit,
                                      const std::vector<std::string>& partners,
                                      std::string* error);

  // Appends a message for each of `partners` in one transaction. Per partner: kOk, kFull
  // (that partner already holds `limit` messages; its copy is not stored) or kError (with
  // *error; nothing is stored for anyone).
  std::map<std::string, Enqueued> Enqueue(const std::vector<std::string>& partners,
                                          const std::string& header, const std::string& body,
                                          std::string* error);

  // Up to `max` rows for `partner` with seq >= from_seq, in order.
  std::vector<OutboxRow> Read(const std::string& partner, uint64_t from_seq, size_t max,
                              std::string* error);
  // The partner acknowledged everything up to `seq`: those rows are removed and `seq` is
  // remembered (so that the next seq is larger even when the outbox empties). Returns the
  // number of rows removed, or -1 and *error.
  int64_t Acknowledge(const std::string& partner, uint64_t seq, std::string* error);

  // Rows waiting for `partner`.
  int64_t Backlog(const std::string& partner) const;
  // The highest seq the partner has acknowledged (0: none).
  uint64_t Acknowledged(const std::string& partner) const;
  const std::string& epoch() const { return epoch_; }
  int64_t limit() const { return limit_; }

 private:
  Outbox() = default;
  struct PartnerState {
    int64_t backlog = 0;
    uint64_t next_seq = 1;
    uint64_t acked = 0;
  };
  mutable std::mutex mutex_;
  std::unique_ptr<sqlite::Db> db_;                // GUARDED_BY(mutex_)
  std::map<std::string, PartnerState> partners_;  // GUARDED_BY(mutex_)
  std::string epoch_;
  int64_t limit_ = 0;
};

class AppliedStore {
 public:
  static std::unique_ptr<AppliedStore> Open(const std::string& path, std::string* error);

  // The last seq applied from (site, epoch); nullopt when the pair is unknown.
  std::optional<uint64_t> LastApplied(const std::string& site, const std::string& epoch);
  // Whether the message id (from its origin) was applied already.
  bool WasApplied(const std::string& origin, const std::string& id);

  // One batch of applied messages: Begin, Record… / SetLastApplied…, Commit.
  sqlite::DbStatus Begin();
  sqlite::DbStatus Record(const std::string& origin, const std::string& id, int64_t now_us);
  sqlite::DbStatus SetLastApplied(const std::string& site, const std::string& epoch,
                                  uint64_t seq);
  sqlite::DbStatus Commit();
  void Rollback();

  // Forgets ids applied before `before_us`; returns how many.
  int64_t Prune(int64_t before_us);

 private:
  AppliedStore() = default;
  std::unique_ptr<sqlite::Db> db_;
  sqlite::Statement was_applied_;
  sqlite::Statement record_;
  sqlite::Statement last_;
  sqlite::Statement set_last_;
};

}  // namespace kordon::bridge

#endif  // KORDON_PLUGINS_BRIDGE_BRIDGE_STORE_H_
