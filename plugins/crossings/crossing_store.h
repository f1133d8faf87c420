// crossing_store.h — the crossings file: one row per crossing (id, lane, state, times, close
// reason, revision, the picture as JSON) and a search table of normalised values (plate,
// document, name, container) per crossing, on the shared SQLite layer (common/sqlite_db.h),
// WAL. Schema version 1 in PRAGMA user_version. See README.md ("The store").
//
// Thread safety: one CrossingStore is one connection: use it from one thread at a time.
// Several processes may share the file (the plugin writes, `kordon crossings` reads).
#ifndef KORDON_PLUGINS_CROSSINGS_CROSSING_STORE_H_
#define KORDON_PLUGINS_CROSSINGS_CROSSING_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "crossing.h"
#include "sqlite_db.h"

namespace kordon::crossings {

inline constexpr int64_t kSchemaVersion = 1;

// A crossing as it goes into the file: taken from a Crossing at once, so that the plugin can
// keep it (and retry) even after the book forgot the crossing.
struct Record {
  std::string id;
  std::string lane;
  std::string state;
  int64_t opened_us = 0;
  int64_t updated_us = 0;
  int64_t closed_us = 0;
  std::string reason;
  int64_t revision = 0;
  std::string picture;  // Crossing::ToJson(), dumped
  std::vector<std::pair<std::string, std::string>> keys;  // SearchKeys()
};
// `picture`: c.ToJson().dump() when the caller has it already (it is computed otherwise).
Record ToRecord(const Crossing& c, std::string picture = "");

class CrossingStore {
 public:
  // Opens (creating when allowed) and checks the schema; nullptr and *error (naming the file)
  // when the file cannot be opened or is not a crossings file of a known version.
  static std::unique_ptr<CrossingStore> Open(const std::string& path, bool read_only,
                                             int busy_timeout_ms, std::string* error);

  // Writes the records in one transaction (all or nothing). busy()/full() tell a locked file
  // and a full disk apart from other failures.
  [[nodiscard]] sqlite::DbStatus Write(const std::vector<Record>& records);

  // Crossings that were open or held, oldest first.
  [[nodiscard]] sqlite::DbStatus LoadUnclosed(std::vector<Crossing>* out,
                                              std::vector<std::string>* problems);
  // One crossing's picture; nullopt when absent (or on an error, with *status set).
  std::optional<Crossing> Get(const std::string& id, sqlite::DbStatus* status);
  bool Exists(const std::string& id);
  // Newest first (by opening time), at most q.limit pictures.
  [[nodiscard]] sqlite::DbStatus Search(const SearchQuery& q, std::vector<Json>* out);

  // Moves the WAL checkpoints off the writer (sqlite::BackgroundCheckpointer): every
  // `interval` on a thread of their own; the writer checkpoints itself only past
  // kFallbackCheckpointPages. Writers only.
  [[nodiscard]] sqlite::DbStatus StartBackgroundCheckpoints(std::chrono::milliseconds interval);
  // nullopt before StartBackgroundCheckpoints.
  std::optional<sqlite::BackgroundCheckpointer::Stats> checkpoint_stats() const;
  static constexpr int64_t kFallbackCheckpointPages = 10000;  // ~40 MB of WAL

  sqlite::Db& db() { return *db_; }

 private:
  explicit CrossingStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Db> db_;
  std::unique_ptr<sqlite::BackgroundCheckpointer> checkpointer_;
  sqlite::Statement upsert_;
  sqlite::Statement delete_keys_;
  sqlite::Statement insert_key_;
};

}  // namespace kordon::crossings

#endif  // KORDON_PLUGINS_CROSSINGS_CROSSING_STORE_H_
