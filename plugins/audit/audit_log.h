// audit_log.h — the tamper-evident audit log (library `kordon_audit_log`): an append-only
// SQLite file in which every record carries the BLAKE2b-256 hash of the one before it, with
// signed head checkpoints that make truncation visible. Written by plugins/audit, read by
// `kordon audit verify|show` and the tests. The format is described in plugins/audit/README.md.
//
// Record hash (BLAKE2b-256, libsodium crypto_generichash, no key) over the canonical encoding
//   "kordon-audit-record-v1\0" then, for each of seq (decimal), time_us (decimal), topic,
//   source, lane, crossing_id, body, prev_hash (64 hex): its length as 8 bytes big-endian,
//   then its bytes.
// The first record's prev_hash is the file's genesis value (32 random bytes, hex) in the
// header row. A checkpoint names a head (seq, hash) and, with a signing key, carries an
// Ed25519 signature over "kordon-audit-head-v1\0" genesis "\0" seq "\0" hash.
//
// Thread safety: an AuditLog is one SQLite connection; use it from one thread at a time.
// VerifyAuditFile and the free functions are thread-safe.
#ifndef KORDON_PLUGINS_AUDIT_AUDIT_LOG_H_
#define KORDON_PLUGINS_AUDIT_AUDIT_LOG_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite_db.h"

namespace kordon::audit {

inline constexpr int64_t kFormatVersion = 1;

struct Record {
  int64_t seq = 0;
  int64_t time_us = 0;  // the bus message's time (microseconds since the epoch, UTC)
  std::string topic;
  std::string source;
  std::string lane;
  std::string crossing_id;
  std::string body;       // the message body as received (JSON text)
  std::string prev_hash;  // 64 hex
  std::string hash;       // 64 hex
};

// The canonical bytes that Hash() covers (see above).
std::string CanonicalEncoding(const Record& r);
// BLAKE2b-256 of CanonicalEncoding(r), hex.
std::string RecordHash(const Record& r);
// The bytes a head checkpoint signs.
std::string CheckpointMessage(const std::string& genesis, int64_t seq, const std::string& hash);

// An Ed25519 key for checkpoints: the 64-byte libsodium secret key, its public key, its id
// (the same key files as plugin signing: `kordon keys generate-signing`).
struct CheckpointKey {
  std::string key_id;
  std::array<uint8_t, 64> secret{};
  std::array<uint8_t, 32> pub{};
};

// Reads a signing key file of `kordon keys generate-signing` (PREFIX.sign.key: a
// "kordon-ed25519-secret BASE64 ID" line; refused when group or others may read it). The key
// id is computed as host/src/plugin_signature.cpp does (this library cannot link the host).
std::optional<CheckpointKey> ReadCheckpointKey(const std::string& path, std::string* error);

class AuditLog {
 public:
  // Opens (creating with a fresh genesis when absent) the log at `path`, synchronous = FULL,
  // and reads its head. nullptr and *error when the file cannot be used: not an audit log, a
  // newer format, or its last record's hash does not match its contents.
  static std::unique_ptr<AuditLog> Open(const std::string& path, std::string* error);

  // Appends one record (seq, prev_hash and hash are filled in here) in its own transaction;
  // when it returns ok the record is on disk. On failure nothing changed (the head stays).
  sqlite::DbStatus Append(Record* record);

  // Writes a checkpoint of the current head (signed when `key` is given). No-op when empty.
  sqlite::DbStatus Checkpoint(const CheckpointKey* key, int64_t time_us);

  int64_t head_seq() const { return head_seq_; }
  const std::string& head_hash() const { return head_hash_; }
  const std::string& genesis() const { return genesis_; }
  const std::string& path() const { return db_->path(); }

 private:
  explicit AuditLog(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Db> db_;
  std::string genesis_;
  int64_t head_seq_ = 0;
  std::string head_hash_;  // the genesis when empty
};

// What `kordon audit verify` found.
struct VerifyResult {
  enum class Outcome { kIntact, kBroken, kUnreadable };
  Outcome outcome = Outcome::kUnreadable;
  int64_t records = 0;
  int64_t first_bad_seq = 0;     // kBroken: the first record found wrong
  std::string problem;           // kBroken / kUnreadable: a sentence naming seq and what differs
  int64_t checkpoints = 0;
  int64_t last_checkpoint_seq = 0;
  std::string checkpoint_key_id;  // of the last checkpoint, "" when unsigned
  // e.g. unsigned checkpoints, checkpoints whose key was not checked (no trusted keys given)
  std::vector<std::string> notes;
};

// Walks the whole file: seq 1..N without gaps, each prev_hash the hash of the record before
// (the genesis for seq 1), each hash recomputed; then the checkpoints: each must match the
// record at its seq, none may lie beyond the last record (records removed from the end), and
// with `trusted` keys each signature must verify by one of them.
VerifyResult VerifyAuditFile(const std::string& path,
                             const std::vector<std::array<uint8_t, 32>>& trusted);

// Reads records for `kordon audit show`: time_us >= since_us, topic starting with prefix.
bool ReadRecords(const std::string& path, int64_t since_us, const std::string& topic_prefix,
                 const std::function<void(const Record&)>& each, std::string* error);

}  // namespace kordon::audit

#endif  // KORDON_PLUGINS_AUDIT_AUDIT_LOG_H_
