// plugin_signature.h — signed plugin files (Ed25519 over a BLAKE2b-512 hash, libsodium):
// signing key files, the FILE.sig format, signing and verification. Used by `kordon keys
// generate-signing`, `kordon plugin sign|verify`, the host's require_signed check and
// kordon-runner (which loads only the bytes the host verified). The formats are described in
// sdk/README.md ("Signing plugins") and host/README.md ("Signed plugins").
//
// FILE.sig (text, LF, these seven lines in this order, nothing else):
//   kordon-plugin-signature 1
//   algorithm ed25519 blake2b-512
//   key-id <16 hex: the signer's key id>
//   file <the plugin file's name, no directory>
//   size <the file's size in bytes>
//   blake2b-512 <128 hex: BLAKE2b-512 of the whole file>
//   signature <base64: Ed25519 signature of SignedMessage()>
// SignedMessage = "kordon-plugin-sig-v1\0" "ed25519 blake2b-512\0" key-id "\0" file "\0"
//                 size "\0" hash(64 raw bytes). The prefix separates it from every other
// thing a Kordon key might sign; the name, size and hash bind it to one file's contents under
// one name, so a .sig cannot be moved to another file or renamed with a copy.
//
// Thread safety: every function is thread-safe (no shared state; libsodium is initialised
// once, thread-safely).
#ifndef KORDON_HOST_PLUGIN_SIGNATURE_H_
#define KORDON_HOST_PLUGIN_SIGNATURE_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::signing {

inline constexpr char kPublicTag[] = "kordon-ed25519-public";
inline constexpr char kSecretTag[] = "kordon-ed25519-secret";
inline constexpr char kSignatureMagic[] = "kordon-plugin-signature 1";
inline constexpr char kAlgorithm[] = "ed25519 blake2b-512";
inline constexpr size_t kMaxSignatureFileBytes = 4096;
inline constexpr uint64_t kMaxPluginBytes = uint64_t{1} << 30;  // 1 GiB

struct PublicKey {
  std::string key_id;               // 16 hex
  std::array<uint8_t, 32> key{};
  std::string origin;               // the file it came from, for messages
};

struct SigningKey {
  std::string key_id;
  std::array<uint8_t, 64> secret{};  // libsodium's seed + public key
  std::array<uint8_t, 32> pub{};
};

// The key id of a public key: the first 8 bytes of BLAKE2b-256("kordon-key-id-v1\0" + key),
// in hex.
std::string KeyIdOf(const std::array<uint8_t, 32>& key);

// Writes PREFIX.sign.key (mode 0600, created exclusively before anything is written) and
// PREFIX.sign.pub; never overwrites either. *key_id is the new key's id.
bool GenerateSigningKeyFiles(const std::string& prefix, std::string* key_id, std::string* error);

// Reads a secret key file; refuses one readable by group or others.
std::optional<SigningKey> ReadSigningKeyFile(const std::string& path, std::string* error);

// Reads a public key file ('#' comments, blank lines; one "kordon-ed25519-public BASE64 ID"
// line). The id, when given, must match the key.
std::optional<PublicKey> ReadPublicKeyFile(const std::string& path, std::string* error);

// Reads every file of `paths` (relative ones from `directory` when it is not empty); stops at
// the first that cannot be read, with its error.
std::optional<std::vector<PublicKey>> ReadPublicKeyFiles(const std::vector<std::string>& paths,
                                                         std::string* error,
                                                         const std::string& directory = "");

struct Signature {
  std::string key_id;
  std::string file;   // base name
  uint64_t size = 0;
  std::array<uint8_t, 64> hash{};
  std::array<uint8_t, 64> signature{};
};

// The exact bytes Ed25519 signs.
std::string SignedMessage(const Signature& sig);
std::string FormatSignature(const Signature& sig);
// Parses FILE.sig text; a failure names the line ("line 4: ...").
std::optional<Signature> ParseSignature(std::string_view text, std::string* error);

// The identity of a file as read (fstat of the descriptor that was hashed): the loader compares
// it with the path after dlopen to notice a file replaced or rewritten in between.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

struct Digest {
  std::array<uint8_t, 64> hash{};
  uint64_t size = 0;
  FileIdentity identity;
};

// Reads `path` once through one descriptor and hashes it (BLAKE2b-512).
std::optional<Digest> HashFile(const std::string& path, std::string* error);
std::optional<FileIdentity> IdentityOf(const std::string& path, std::string* error);

// Signs the file: the FILE.sig text.
std::optional<std::string> SignFile(const std::string& path, const SigningKey& key,
                                    std::string* error);

enum class Verdict {
  kOk,
  kNoSignature,   // FILE.sig missing
  kMalformed,     // FILE.sig unreadable as the format above
  kUnknownKey,    // signed by a key that is not among the trusted ones
  kBadSignature,  // the signature does not verify: the .sig was altered or forged
  kWrongFile,     // a valid signature of another file name
  kModified,      // the file is not what was signed (size or hash differ)
  kIo,            // the plugin file cannot be read
};
const char* VerdictName(Verdict v);

struct Verification {
  Verdict verdict = Verdict::kIo;
  std::string reason;    // a sentence for logs, naming the file and what to do
  std::string key_id;    // the signer (when the .sig could be read)
  std::string hash_hex;  // BLAKE2b-512 of the bytes read (when they could be read)
  FileIdentity identity;
  bool ok() const { return verdict == Verdict::kOk; }
};

// Verifies a signature against already-read file facts (pure; for tests and the CLI).
Verification VerifyDigest(const std::string& file_name, const Digest& digest,
                          std::string_view sig_text, const std::vector<PublicKey>& keys);

// Reads PATH and PATH.sig and verifies them against `keys`.
Verification VerifyFile(const std::string& path, const std::vector<PublicKey>& keys);

std::string Hex(const uint8_t* data, size_t size);
// BLAKE2b-256 of `bytes`, hex (the configuration's file_hash).
std::string Blake2b256Hex(std::string_view bytes);

}  // namespace kordon::signing

#endif  // KORDON_HOST_PLUGIN_SIGNATURE_H_
