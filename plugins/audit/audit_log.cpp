// audit_log.cpp — see audit_log.h.
#include "audit_log.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

namespace kordon::audit {
namespace {

constexpr char kRecordDomain[] = "kordon-audit-record-v1";  // + '\0'
constexpr char kHeadDomain[] = "kordon-audit-head-v1";      // + '\0'

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit_header(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  format INTEGER NOT NULL,
  genesis TEXT NOT NULL,
  created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_records(
  seq INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  topic TEXT NOT NULL,
  source TEXT NOT NULL,
  lane TEXT NOT NULL,
  crossing_id TEXT NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints(
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  signature TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_records_append_only_u BEFORE UPDATE ON audit_records
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_append_only_d BEFORE DELETE ON audit_records
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

std::string Hex(const uint8_t* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

bool FromHex(std::string_view text, uint8_t* out, size_t size) {
  size_t len = 0;
  return text.size() == size * 2 &&
         sodium_hex2bin(out, size, text.data(), text.size(), nullptr, &len, nullptr) == 0 &&
         len == size;
}

void AppendField(std::string* out, std::string_view field) {
  uint64_t n = field.size();
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  out->append(field);
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Record ReadRow(const sqlite::Statement& st) {
  Record r;
  r.seq = st.Int(0);
  r.time_us = st.Int(1);
  r.topic = st.Text(2);
  r.source = st.Text(3);
  r.lane = st.Text(4);
  r.crossing_id = st.Text(5);
  r.body = st.Text(6);
  r.prev_hash = st.Text(7);
  r.hash = st.Text(8);
  return r;
}

constexpr char kSelectRecords[] =
    "SELECT seq, time_us, topic, source, lane, crossing_id, body, prev_hash, hash "
    "FROM audit_records";

}  // namespace

std::optional<CheckpointKey> ReadCheckpointKey(const std::string& path, std::string* error) {
  if (sodium_init() < 0) {
    *error = "libsodium cannot be initialised";
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    *error = fmt::format("'{}' may be read by group or others; chmod 600 it", path);
    return std::nullopt;
  }
  std::ifstream in(path);
  std::string line;
  std::optional<CheckpointKey> key;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string tag, b64;
    if (!(words >> tag) || tag[0] == '#') continue;
    words >> b64;
    CheckpointKey k;
    size_t len = 0;
    const char* end = nullptr;
    if (tag != "kordon-ed25519-secret" ||
        sodium_base642bin(k.secret.data(), k.secret.size(), b64.data(), b64.size(), nullptr,
                          &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != k.secret.size()) {
      *error = fmt::format("'{}' is not a signing key file (kordon keys generate-signing)", path);
      sodium_memzero(line.data(), line.size());
      return std::nullopt;
    }
    crypto_sign_ed25519_sk_to_pk(k.pub.data(), k.secret.data());
    std::string input("kordon-key-id-v1", sizeof("kordon-key-id-v1"));
    input.append(reinterpret_cast<const char*>(k.pub.data()), k.pub.size());
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), reinterpret_cast<const uint8_t*>(input.data()),
                       input.size(), nullptr, 0);
    k.key_id = Hex(h, 8);
    key = k;
    sodium_memzero(line.data(), line.size());
    sodium_memzero(b64.data(), b64.size());
  }
  if (!key) *error = fmt::format("'{}' holds no signing key", path);
  return key;
}

std::string CanonicalEncoding(const Record& r) {
  std::string out(kRecordDomain, sizeof(kRecordDomain));  // with its '\0'
  AppendField(&out, std::to_string(r.seq));
  AppendField(&out, std::to_string(r.time_us));
  AppendField(&out, r.topic);
  AppendField(&out, r.source);
  AppendField(&out, r.lane);
  AppendField(&out, r.crossing_id);
  AppendField(&out, r.body);
  AppendField(&out, r.prev_hash);
  return out;
}

std::string RecordHash(const Record& r) {
  const std::string bytes = CanonicalEncoding(r);
  uint8_t h[32];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                     nullptr, 0);
  return Hex(h, sizeof(h));
}

std::string CheckpointMessage(const std::string& genesis, int64_t seq, const std::string& hash) {
  std::string m(kHeadDomain, sizeof(kHeadDomain));
  m += genesis;
  m.push_back('\0');
  m += std::to_string(seq);
  m.push_back('\0');
  m += hash;
  return m;
}

std::unique_ptr<AuditLog> AuditLog::Open(const std::string& path, std::string* error) {
  if (sodium_init() < 0) {
    *error = "libsodium cannot be initialised";
    return nullptr;
  }
  sqlite::OpenOptions options;
  options.synchronous_full = true;  // a record acknowledged is a record on disk
  sqlite::DbStatus status;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, options, &status);
  if (!db) {
    *error = status.message;
    return nullptr;
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(db)));
  sqlite::Db& d = *log->db_;
  {
    sqlite::Transaction tx(&d);
    if (!tx.ok()) {
      *error = tx.status().message;
      return nullptr;
    }
    if (status = d.Exec(kSchema); !status.ok()) {
      *error = status.message;
      return nullptr;
    }
    sqlite::Statement st = d.Prepare("SELECT format, genesis FROM audit_header WHERE id = 1",
                                     &status);
    if (!st) {
      *error = status.message;
      return nullptr;
    }
    if (st.Next() == sqlite::Statement::Step::kRow) {
      if (st.Int(0) > kFormatVersion) {
        *error = fmt::format("'{}' is an audit log of format {}, newer than this program's {}",
                             path, st.Int(0), kFormatVersion);
        return nullptr;
      }
      log->genesis_ = st.Text(1);
    } else {
      uint8_t g[32];
      randombytes_buf(g, sizeof(g));
      log->genesis_ = Hex(g, sizeof(g));
      sqlite::Statement ins = d.Prepare(
          "INSERT INTO audit_header(id, format, genesis, created_us) VALUES (1, ?, ?, ?)",
          &status);
      if (!ins || !(status = ins.Bind(1, kFormatVersion).Bind(2, log->genesis_)
                                 .Bind(3, NowUs()).Run()).ok()) {
        *error = status.message;
        return nullptr;
      }
    }
    if (status = tx.Commit(); !status.ok()) {
      *error = status.message;
      return nullptr;
    }
  }
  log->head_hash_ = log->genesis_;
  sqlite::Statement last =
      d.Prepare(std::string(kSelectRecords) + " ORDER BY seq DESC LIMIT 1", &status);
  if (!last) {
    *error = status.message;
    return nullptr;
  }
  if (last.Next() == sqlite::Statement::Step::kRow) {
    Record r = ReadRow(last);
    // Appending to a head that does not match its own contents would chain new records to a
    // forgery; refuse and let `kordon audit verify` tell the whole story.
    if (RecordHash(r) != r.hash) {
      *error = fmt::format("'{}': the last record (seq {}) does not match its hash; run "
                           "kordon audit verify '{}'", path, r.seq, path);
      return nullptr;
    }
    log->head_seq_ = r.seq;
    log->head_hash_ = r.hash;
  }
  return log;
}

sqlite::DbStatus AuditLog::Append(Record* record) {
  record->seq = head_seq_ + 1;
  record->prev_hash = head_hash_;
  record->hash = RecordHash(*record);
  sqlite::DbStatus status;
  sqlite::Statement st = db_->Prepare(
      "INSERT INTO audit_records(seq, time_us, topic, source, lane, crossing_id, body, "
      "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      &status);
  if (!st) return status;
  status = st.Bind(1, record->seq).Bind(2, record->time_us).Bind(3, record->topic)
               .Bind(4, record->source).Bind(5, record->lane).Bind(6, record->crossing_id)
               .Bind(7, record->body).Bind(8, record->prev_hash).Bind(9, record->hash).Run();
  if (!status.ok()) return status;  // autocommit: nothing was written
  head_seq_ = record->seq;
  head_hash_ = record->hash;
  return status;
}

sqlite::DbStatus AuditLog::Checkpoint(const CheckpointKey* key, int64_t time_us) {
  if (head_seq_ == 0) return sqlite::DbStatus::Ok();
  std::string key_id, public_key, signature;
  if (key != nullptr) {
    const std::string m = CheckpointMessage(genesis_, head_seq_, head_hash_);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const uint8_t*>(m.data()), m.size(),
                         key->secret.data());
    key_id = key->key_id;
    public_key = Hex(key->pub.data(), key->pub.size());
    signature = Hex(sig, sizeof(sig));
  }
  sqlite::DbStatus status;
  sqlite::Statement st = db_->Prepare(
      "INSERT OR IGNORE INTO audit_checkpoints(seq, hash, time_us, key_id, public_key, "
      "signature) VALUES (?, ?, ?, ?, ?, ?)",
      &status);
  if (!st) return status;
  return st.Bind(1, head_seq_).Bind(2, head_hash_).Bind(3, time_us).Bind(4, key_id)
      .Bind(5, public_key).Bind(6, signature).Run();
}

VerifyResult VerifyAuditFile(const std::string& path,
                             const std::vector<std::array<uint8_t, 32>>& trusted) {
  VerifyResult result;
  if (sodium_init() < 0) {
    result.problem = "libsodium cannot be initialised";
    return result;
  }
  sqlite::OpenOptions options;
  options.read_only = true;
  options.create = false;
  sqlite::DbStatus status;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, options, &status);
  if (!db) {
    result.problem = status.message;
    return result;
  }
  std::string genesis;
  {
    sqlite::Statement st =
        db->Prepare("SELECT format, genesis FROM audit_header WHERE id = 1", &status);
    if (!st || st.Next() != sqlite::Statement::Step::kRow) {
      result.problem = fmt::format("'{}' is not a Kordon audit log (no header row{})", path,
                                   status.ok() ? "" : ": " + status.message);
      return result;
    }
    genesis = st.Text(1);
  }
  auto broken = [&](int64_t seq, std::string problem) {
    result.outcome = VerifyResult::Outcome::kBroken;
    result.first_bad_seq = seq;
    result.problem = std::move(problem);
    return result;
  };
  std::map<int64_t, std::string> hashes_at;  // only of checkpointed seqs, filled below
  std::set<int64_t> checkpoint_seqs;
  struct Cp {
    int64_t seq;
    std::string hash, key_id, public_key, signature;
  };
  std::vector<Cp> checkpoints;
  {
    sqlite::Statement st = db->Prepare(
        "SELECT seq, hash, key_id, public_key, signature FROM audit_checkpoints ORDER BY seq",
        &status);
    if (!st) {
      result.problem = status.message;
      return result;
    }
    while (st.Next() == sqlite::Statement::Step::kRow) {
      checkpoints.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4)});
      checkpoint_seqs.insert(st.Int(0));
    }
  }
  sqlite::Statement st = db->Prepare(std::string(kSelectRecords) + " ORDER BY seq", &status);
  if (!st) {
    result.problem = status.message;
    return result;
  }
  int64_t expected = 1;
  std::string prev = genesis;
  for (;;) {
    sqlite::Statement::Step step = st.Next();
    if (step == sqlite::Statement::Step::kError) {
      result.outcome = VerifyResult::Outcome::kUnreadable;
      result.problem = st.status().message;
      return result;
    }
    if (step != sqlite::Statement::Step::kRow) break;
    Record r = ReadRow(st);
    if (r.seq != expected)
      return broken(expected,
                    expected + 1 == r.seq
                        ? fmt::format("missing seq {}: the records go from seq {} to seq {}",
                                      expected, expected - 1, r.seq)
                        : fmt::format("missing seq {}..{}: the records go from seq {} to seq {}",
                                      expected, r.seq - 1, expected - 1, r.seq));
    if (r.prev_hash != prev)
      return broken(r.seq, r.seq == 1
                               ? "seq 1: prev link broken: prev_hash is not the file's genesis "
                                 "value (the header or the first record was changed)"
                               : fmt::format("seq {}: prev link broken: prev_hash is not the "
                                             "hash of seq {} (one of them was rewritten)",
                                             r.seq, r.seq - 1));
    const std::string computed = RecordHash(r);
    if (computed != r.hash)
      return broken(r.seq, fmt::format("seq {}: hash mismatch: the record's contents (topic "
                                       "'{}') do not match its stored hash (stored {}..., "
                                       "computed {}...)", r.seq, r.topic, r.hash.substr(0, 16),
                                       computed.substr(0, 16)));
    if (checkpoint_seqs.count(r.seq)) hashes_at[r.seq] = r.hash;
    prev = r.hash;
    ++expected;
  }
  result.records = expected - 1;
  for (const Cp& cp : checkpoints) {
    ++result.checkpoints;
    if (cp.seq > result.records)
      return broken(result.records + 1,
                    fmt::format("records removed from the end: a checkpoint covers seq {} but "
                                "the log ends at seq {} ({} record(s) missing)", cp.seq,
                                result.records, cp.seq - result.records));
    if (hashes_at[cp.seq] != cp.hash)
      return broken(cp.seq, fmt::format("seq {}: hash mismatch with the checkpoint of seq {} "
                                        "(the records up to it were rewritten)", cp.seq, cp.seq));
    if (cp.signature.empty()) {
      result.notes.push_back(fmt::format("checkpoint at seq {} is not signed", cp.seq));
    } else {
      std::array<uint8_t, 32> pk{};
      uint8_t sig[crypto_sign_BYTES];
      bool parsed = FromHex(cp.public_key, pk.data(), pk.size()) &&
                    FromHex(cp.signature, sig, sizeof(sig));
      const std::string m = CheckpointMessage(genesis, cp.seq, cp.hash);
      bool valid = parsed && crypto_sign_verify_detached(
                                 sig, reinterpret_cast<const uint8_t*>(m.data()), m.size(),
                                 pk.data()) == 0;
      if (!valid)
        return broken(cp.seq, fmt::format("checkpoint at seq {}: the signature does not verify",
                                          cp.seq));
      bool known = false;
      for (const auto& t : trusted) known = known || t == pk;
      if (!trusted.empty() && !known)
        return broken(cp.seq, fmt::format("checkpoint at seq {}: signed by key {}, which is not "
                                          "among the trusted keys", cp.seq, cp.key_id));
      if (trusted.empty())
        result.notes.push_back(fmt::format("checkpoint at seq {} signed by key {} (give --key "
                                           "to check whose key it is)", cp.seq, cp.key_id));
    }
    result.last_checkpoint_seq = cp.seq;
    result.checkpoint_key_id = cp.key_id;
  }
  result.outcome = VerifyResult::Outcome::kIntact;
  return result;
}

bool ReadRecords(const std::string& path, int64_t since_us, const std::string& topic_prefix,
                 const std::function<void(const Record&)>& each, std::string* error) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.create = false;
  sqlite::DbStatus status;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, options, &status);
  if (!db) {
    *error = status.message;
    return false;
  }
  sqlite::Statement st = db->Prepare(
      std::string(kSelectRecords) +
          " WHERE time_us >= ? AND substr(topic, 1, length(?)) = ? ORDER BY seq",
      &status);
  if (!st) {
    *error = status.message;
    return false;
  }
  st.Bind(1, since_us).Bind(2, topic_prefix).Bind(3, topic_prefix);
  for (;;) {
    sqlite::Statement::Step step = st.Next();
    if (step == sqlite::Statement::Step::kError) {
      *error = st.status().message;
      return false;
    }
    if (step != sqlite::Statement::Step::kRow) return true;
    each(ReadRow(st));
  }
}

}  // namespace kordon::audit
