// plugin_signature.cpp — see plugin_signature.h.
#include "plugin_signature.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace kordon::signing {
namespace {

constexpr char kKeyIdDomain[] = "kordon-key-id-v1";  // + '\0'
constexpr char kSigDomain[] = "kordon-plugin-sig-v1";  // + '\0'

bool Init(std::string* error) {
  if (sodium_init() < 0) {
    *error = "libsodium cannot be initialised";
    return false;
  }
  return true;
}

std::string Base64(const uint8_t* data, size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Decodes exactly `size` bytes of base64; false on anything else.
bool FromBase64(std::string_view text, uint8_t* out, size_t size) {
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, size, text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  return len == size && end == text.data() + text.size();
}

bool FromHex(std::string_view text, uint8_t* out, size_t size) {
  if (text.size() != size * 2) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;  // lower case only
  size_t len = 0;
  return sodium_hex2bin(out, size, text.data(), text.size(), nullptr, &len, nullptr) == 0 &&
         len == size;
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

std::optional<std::string> ReadSmallFile(const std::string& path, size_t limit,
                                         std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) {
    *error = fmt::format("'{}' is larger than {} bytes", path, limit);
    return std::nullopt;
  }
  return text;
}

// The one key line of a key file: its words, or an error naming the line.
std::optional<std::vector<std::string_view>> KeyLine(std::string_view text, const char* tag,
                                                     const std::string& path,
                                                     std::string* error) {
  std::optional<std::vector<std::string_view>> found;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    std::vector<std::string_view> w = Words(line);
    if (w.empty() || w[0][0] == '#') continue;
    if (w[0] != tag || found) {
      *error = fmt::format("{}:{}: expected one '{} ...' line{}", path, line_no, tag,
                           found ? " (a second key line)" : "");
      return std::nullopt;
    }
    found = w;
  }
  if (!found) *error = fmt::format("{}: no '{} ...' line", path, tag);
  return found;
}

FileIdentity IdentityFromStat(const struct stat& st) {
  FileIdentity id;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return id;
}

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

bool WriteExclusive(const std::string& path, mode_t mode, const std::string& text,
                    std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = fmt::format("cannot create '{}': {}{}", path, std::strerror(errno),
                         errno == EEXIST ? " (key files are never overwritten)" : "");
    return false;
  }
  ::fchmod(fd, mode);  // the umask may have taken bits away; never added any
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = fmt::format("cannot write '{}': {}", path, std::strerror(errno));
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = fmt::format("cannot write '{}': {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

std::string Hex(const uint8_t* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

std::string Blake2b256Hex(std::string_view bytes) {
  std::string error;
  if (!Init(&error)) return "";
  uint8_t h[32];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                     nullptr, 0);
  return Hex(h, sizeof(h));
}

std::string KeyIdOf(const std::array<uint8_t, 32>& key) {
  std::string input(kKeyIdDomain, sizeof(kKeyIdDomain));  // with its '\0'
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  uint8_t h[32];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                     nullptr, 0);
  return Hex(h, 8);
}

bool GenerateSigningKeyFiles(const std::string& prefix, std::string* key_id,
                             std::string* error) {
  if (!Init(error)) return false;
  SigningKey key;
  crypto_sign_keypair(key.pub.data(), key.secret.data());
  key.key_id = KeyIdOf(key.pub);
  const std::string secret_path = prefix + ".sign.key";
  const std::string public_path = prefix + ".sign.pub";
  std::error_code ec;
  if (std::filesystem::exists(public_path, ec)) {
    *error = fmt::format("'{}' exists already (key files are never overwritten)", public_path);
    return false;
  }
  std::string secret_text = fmt::format(
      "# Kordon plugin-signing SECRET key (Ed25519), key id {}. Keep it off the hosts.\n"
      "{} {} {}\n",
      key.key_id, kSecretTag, Base64(key.secret.data(), key.secret.size()), key.key_id);
  sodium_memzero(key.secret.data(), key.secret.size());
  if (!WriteExclusive(secret_path, 0600, secret_text, error)) {
    sodium_memzero(secret_text.data(), secret_text.size());
    return false;
  }
  sodium_memzero(secret_text.data(), secret_text.size());
  std::string public_text = fmt::format(
      "# Kordon plugin-signing public key (Ed25519): list this file in [host] vendor_keys\n"
      "{} {} {}\n",
      kPublicTag, Base64(key.pub.data(), key.pub.size()), key.key_id);
  if (!WriteExclusive(public_path, 0644, public_text, error)) return false;
  *key_id = key.key_id;
  return true;
}

std::optional<SigningKey> ReadSigningKeyFile(const std::string& path, std::string* error) {
  if (!Init(error)) return std::nullopt;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    *error = fmt::format("'{}' is readable by group or others (mode {:o}); a signing key must "
                         "be private: chmod 600 '{}'", path, st.st_mode & 0777, path);
    return std::nullopt;
  }
  auto text = ReadSmallFile(path, 4096, error);
  if (!text) return std::nullopt;
  auto words = KeyLine(*text, kSecretTag, path, error);
  std::optional<SigningKey> out;
  if (words) {
    SigningKey key;
    if (words->size() < 2 || words->size() > 3 ||
        !FromBase64((*words)[1], key.secret.data(), key.secret.size())) {
      *error = fmt::format("{}: the key is not 64 bytes of base64", path);
    } else {
      crypto_sign_ed25519_sk_to_pk(key.pub.data(), key.secret.data());
      key.key_id = KeyIdOf(key.pub);
      out = key;
    }
  }
  sodium_memzero(text->data(), text->size());
  return out;
}

std::optional<PublicKey> ReadPublicKeyFile(const std::string& path, std::string* error) {
  if (!Init(error)) return std::nullopt;
  auto text = ReadSmallFile(path, 4096, error);
  if (!text) return std::nullopt;
  auto words = KeyLine(*text, kPublicTag, path, error);
  if (!words) return std::nullopt;
  PublicKey key;
  key.origin = path;
  if (words->size() < 2 || words->size() > 3 ||
      !FromBase64((*words)[1], key.key.data(), key.key.size())) {
    *error = fmt::format("{}: the key is not 32 bytes of base64", path);
    return std::nullopt;
  }
  key.key_id = KeyIdOf(key.key);
  if (words->size() == 3 && (*words)[2] != key.key_id) {
    *error = fmt::format("{}: key id {} does not belong to this key (its id is {})", path,
                         (*words)[2], key.key_id);
    return std::nullopt;
  }
  return key;
}

std::optional<std::vector<PublicKey>> ReadPublicKeyFiles(const std::vector<std::string>& paths,
                                                         std::string* error,
                                                         const std::string& directory) {
  std::vector<PublicKey> keys;
  for (const std::string& path : paths) {
    std::filesystem::path p(path);
    if (p.is_relative() && !directory.empty()) p = std::filesystem::path(directory) / p;
    std::optional<PublicKey> key = ReadPublicKeyFile(p.string(), error);
    if (!key) return std::nullopt;
    keys.push_back(std::move(*key));
  }
  return keys;
}

std::string SignedMessage(const Signature& sig) {
  std::string m(kSigDomain, sizeof(kSigDomain));  // with its '\0'
  m.append(kAlgorithm, sizeof(kAlgorithm));
  m += sig.key_id;
  m.push_back('\0');
  m += sig.file;
  m.push_back('\0');
  m += std::to_string(sig.size);
  m.push_back('\0');
  m.append(reinterpret_cast<const char*>(sig.hash.data()), sig.hash.size());
  return m;
}

std::string FormatSignature(const Signature& sig) {
  return fmt::format("{}\nalgorithm {}\nkey-id {}\nfile {}\nsize {}\nblake2b-512 {}\n"
                     "signature {}\n",
                     kSignatureMagic, kAlgorithm, sig.key_id, sig.file, sig.size,
                     Hex(sig.hash.data(), sig.hash.size()),
                     Base64(sig.signature.data(), sig.signature.size()));
}

std::optional<Signature> ParseSignature(std::string_view text, std::string* error) {
  if (text.size() > kMaxSignatureFileBytes) {
    *error = fmt::format("larger than {} bytes", kMaxSignatureFileBytes);
    return std::nullopt;
  }
  static const char* const kKeys[] = {"algorithm", "key-id", "file", "size", "blake2b-512",
                                      "signature"};
  Signature sig;
  int line_no = 0;
  size_t pos = 0;
  auto fail = [&](const std::string& why) {
    *error = fmt::format("line {}: {}", line_no, why);
    return std::nullopt;
  };
  while (pos < text.size() || line_no < 7) {
    if (pos >= text.size()) {
      ++line_no;
      return fail(line_no == 1 ? "empty file" : "the file ends early (7 lines expected)");
    }
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kSignatureMagic)
        return fail(fmt::format("expected '{}' (not a Kordon plugin signature, or a newer "
                                "format)", kSignatureMagic));
      continue;
    }
    if (line_no > 7) return fail("unexpected text after the signature line");
    const std::string key = kKeys[line_no - 2];
    if (line.rfind(key + " ", 0) != 0) return fail(fmt::format("expected '{} ...'", key));
    std::string_view value = line.substr(key.size() + 1);
    if (key == "algorithm") {
      if (value != kAlgorithm)
        return fail(fmt::format("algorithm '{}' is not '{}'", value, kAlgorithm));
    } else if (key == "key-id") {
      uint8_t raw[8];
      if (!FromHex(value, raw, sizeof(raw))) return fail("key-id is not 16 lower-case hex");
      sig.key_id = std::string(value);
    } else if (key == "file") {
      if (value.empty() || value.find('/') != std::string_view::npos ||
          value.find('\0') != std::string_view::npos || value == "." || value == "..")
        return fail("file must be a file name without a directory");
      sig.file = std::string(value);
    } else if (key == "size") {
      if (value.empty() || value.size() > 12 ||
          value.find_first_not_of("0123456789") != std::string_view::npos ||
          (value.size() > 1 && value[0] == '0'))
        return fail("size is not a decimal number of bytes");
      sig.size = std::stoull(std::string(value));
    } else if (key == "blake2b-512") {
      if (!FromHex(value, sig.hash.data(), sig.hash.size()))
        return fail("blake2b-512 is not 128 lower-case hex");
    } else if (!FromBase64(value, sig.signature.data(), sig.signature.size())) {
      return fail("signature is not 64 bytes of base64");
    }
  }
  return sig;
}

std::optional<Digest> HashFile(const std::string& path, std::string* error) {
  if (!Init(error)) return std::nullopt;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = fmt::format("'{}' is not a regular file", path);
    ::close(fd);
    return std::nullopt;
  }
  Digest d;
  d.identity = IdentityFromStat(st);
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, d.hash.size());
  std::vector<uint8_t> buffer(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    d.size += static_cast<uint64_t>(n);
    if (d.size > kMaxPluginBytes) {
      *error = fmt::format("'{}' is larger than {} bytes", path, kMaxPluginBytes);
      ::close(fd);
      return std::nullopt;
    }
    crypto_generichash_update(&state, buffer.data(), static_cast<size_t>(n));
  }
  crypto_generichash_final(&state, d.hash.data(), d.hash.size());
  // What was read is what the descriptor held at the end: a write during the read shows here.
  struct stat after {};
  if (::fstat(fd, &after) != 0 || !(IdentityFromStat(after) == d.identity) ||
      static_cast<int64_t>(d.size) != d.identity.size) {
    *error = fmt::format("'{}' changed while it was being read", path);
    ::close(fd);
    return std::nullopt;
  }
  ::close(fd);
  return d;
}

std::optional<FileIdentity> IdentityOf(const std::string& path, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = fmt::format("cannot stat '{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  return IdentityFromStat(st);
}

std::optional<std::string> SignFile(const std::string& path, const SigningKey& key,
                                    std::string* error) {
  std::optional<Digest> d = HashFile(path, error);
  if (!d) return std::nullopt;
  Signature sig;
  sig.key_id = key.key_id;
  sig.file = BaseName(path);
  sig.size = d->size;
  sig.hash = d->hash;
  const std::string m = SignedMessage(sig);
  crypto_sign_detached(sig.signature.data(), nullptr, reinterpret_cast<const uint8_t*>(m.data()),
                       m.size(), key.secret.data());
  return FormatSignature(sig);
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk: return "ok";
    case Verdict::kNoSignature: return "unsigned";
    case Verdict::kMalformed: return "malformed signature";
    case Verdict::kUnknownKey: return "unknown key";
    case Verdict::kBadSignature: return "bad signature";
    case Verdict::kWrongFile: return "signature of another file";
    case Verdict::kModified: return "modified since signing";
    case Verdict::kIo: return "unreadable";
  }
  return "?";
}

Verification VerifyDigest(const std::string& file_name, const Digest& digest,
                          std::string_view sig_text, const std::vector<PublicKey>& keys) {
  Verification v;
  v.hash_hex = Hex(digest.hash.data(), digest.hash.size());
  v.identity = digest.identity;
  std::string error;
  std::optional<Signature> sig = ParseSignature(sig_text, &error);
  if (!sig) {
    v.verdict = Verdict::kMalformed;
    v.reason = fmt::format("'{}.sig' is malformed: {}; sign the file again with kordon plugin "
                           "sign", file_name, error);
    return v;
  }
  v.key_id = sig->key_id;
  const PublicKey* signer = nullptr;
  std::string ids;
  for (const PublicKey& k : keys) {
    if (k.key_id == sig->key_id) signer = &k;
    ids += (ids.empty() ? "" : ", ") + k.key_id;
  }
  if (signer == nullptr) {
    v.verdict = Verdict::kUnknownKey;
    v.reason = fmt::format("'{}' is signed by key id {}, which is not among the trusted vendor "
                           "keys ({}); add the vendor's .sign.pub to vendor_keys if you trust it",
                           file_name, sig->key_id, ids.empty() ? "none" : ids);
    return v;
  }
  const std::string m = SignedMessage(*sig);
  if (crypto_sign_verify_detached(sig->signature.data(),
                                  reinterpret_cast<const uint8_t*>(m.data()), m.size(),
                                  signer->key.data()) != 0) {
    v.verdict = Verdict::kBadSignature;
    v.reason = fmt::format("the signature in '{}.sig' does not verify with key {} ({}): the "
                           ".sig file was altered or forged", file_name, signer->key_id,
                           signer->origin);
    return v;
  }
  if (sig->file != file_name) {
    v.verdict = Verdict::kWrongFile;
    v.reason = fmt::format("'{}.sig' is a valid signature of a file named '{}', not of '{}'; a "
                           "signature cannot be moved to another file name", file_name,
                           sig->file, file_name);
    return v;
  }
  if (sig->size != digest.size || sodium_memcmp(sig->hash.data(), digest.hash.data(), 64) != 0) {
    v.verdict = Verdict::kModified;
    v.reason = fmt::format("'{}' changed since it was signed by key {} (signed: {} bytes, "
                           "BLAKE2b {}...; now: {} bytes, BLAKE2b {}...): hash mismatch",
                           file_name, sig->key_id, sig->size, Hex(sig->hash.data(), 8),
                           digest.size, Hex(digest.hash.data(), 8));
    return v;
  }
  v.verdict = Verdict::kOk;
  v.reason = fmt::format("'{}' is signed by key {} ({})", file_name, signer->key_id,
                         signer->origin);
  return v;
}

Verification VerifyFile(const std::string& path, const std::vector<PublicKey>& keys) {
  Verification v;
  const std::string name = BaseName(path);
  std::string error;
  std::error_code ec;
  const std::string sig_path = path + ".sig";
  if (!std::filesystem::exists(sig_path, ec)) {
    v.verdict = Verdict::kNoSignature;
    v.reason = fmt::format("'{}' is not signed: no '{}' (require_signed = true; sign it with "
                           "kordon plugin sign)", path, sig_path);
    return v;
  }
  std::optional<std::string> sig_text = ReadSmallFile(sig_path, kMaxSignatureFileBytes, &error);
  if (!sig_text) {
    v.verdict = Verdict::kMalformed;
    v.reason = fmt::format("'{}' cannot be used: {}", sig_path, error);
    return v;
  }
  std::optional<Digest> digest = HashFile(path, &error);
  if (!digest) {
    v.verdict = Verdict::kIo;
    v.reason = error;
    return v;
  }
  v = VerifyDigest(name, *digest, *sig_text, keys);
  // Messages name the whole path, not only the file name.
  if (!v.ok() && name != path) v.reason = fmt::format("{} (file '{}')", v.reason, path);
  return v;
}

}  // namespace kordon::signing
