// manifest_store.h — the manifests' SQLite store (plugins/common/sqlite_db.h, WAL,
// user_version 1): one row per manifest (its JSON), and plate and container index tables.
// Writes are atomic: a batch of manifests goes in one transaction or not at all; a manifest
// number already stored is replaced (a declaration amended) and reported as such.
//
// Thread safety: a Store is one connection; use it from one thread at a time. Several Stores
// (the plugin, `kordon manifest import`) may share a file: WAL lets readers run while one
// writer commits, and a writer waits up to busy_timeout_ms for another.
#ifndef KORDON_PLUGINS_MANIFEST_MANIFEST_STORE_H_
#define KORDON_PLUGINS_MANIFEST_MANIFEST_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "manifest.h"
#include "sqlite_db.h"

namespace kordon::manifest {

inline constexpr int64_t kSchemaVersion = 1;

struct StoredManifest {
  Manifest manifest;
  int64_t lodged_at = 0;  // unix seconds of the (last) store
  int64_t revision = 1;   // 1, then +1 for each amendment
  std::string source;     // "import:FILE", "follow:FILE:LINE", ...
};

// The outcome of Put, one per manifest given, in order.
enum class PutOutcome { kNew, kAmended, kUnchanged };

class Store {
 public:
  // Opens (creating when absent) and checks or creates the schema. A file from a newer
  // Kordon (user_version > kSchemaVersion) is refused. nullptr and *status on failure.
  static std::unique_ptr<Store> Open(const std::string& path, int busy_timeout_ms,
                                     sqlite::DbStatus* status);

  // Stores every manifest in one transaction (BEGIN IMMEDIATE … COMMIT): a number already
  // stored with another content is replaced (kAmended, revision + 1), with the same content
  // left alone (kUnchanged, so that re-reading a file is harmless). `sources` is parallel to
  // `manifests`. On failure nothing changed; status.busy() / status.full() say why.
  // *revisions (when not null) gets each manifest's revision as stored after the put.
  sqlite::DbStatus Put(const std::vector<Manifest>& manifests,
                       const std::vector<std::string>& sources, int64_t now_s,
                       std::vector<PutOutcome>* outcomes,
                       std::vector<int64_t>* revisions = nullptr);

  // Manifests carrying the plate / container, lodged at or after `min_lodged_at` (unix
  // seconds), newest first. The arguments are normalised by the caller.
  sqlite::DbStatus ByPlate(const std::string& plate, int64_t min_lodged_at,
                           std::vector<StoredManifest>* out);
  sqlite::DbStatus ByContainer(const std::string& code, int64_t min_lodged_at,
                               std::vector<StoredManifest>* out);
  sqlite::DbStatus ByNumber(const std::string& number, std::vector<StoredManifest>* out);

  sqlite::DbStatus Count(int64_t* manifests);

  sqlite::Db& db() { return *db_; }

 private:
  explicit Store(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
  sqlite::DbStatus Prepare();
  sqlite::DbStatus Select(sqlite::Statement& s, std::vector<StoredManifest>* out);

  std::unique_ptr<sqlite::Db> db_;
  sqlite::Statement by_plate_;
  sqlite::Statement by_container_;
  sqlite::Statement by_number_;
};

// The manifest object of the bus bodies and the lookup reply: the manifest as declared
// (ToJson) plus "lodged_at" (RFC 3339 UTC), "revision" and "source".
std::string StoredJson(const StoredManifest& m);

}  // namespace kordon::manifest

#endif  // KORDON_PLUGINS_MANIFEST_MANIFEST_STORE_H_
