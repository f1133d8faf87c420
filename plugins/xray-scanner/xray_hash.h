// xray_hash.h — SHA-256 of an image file, streamed in chunks through libsodium
// (crypto_hash_sha256_*), so that a 2 GiB image never sits in memory.
//
// Thread safety: pure functions; each call uses its own state. sodium_init() is called once
// (it is thread-safe and idempotent).
#ifndef KORDON_PLUGINS_XRAY_SCANNER_XRAY_HASH_H_
#define KORDON_PLUGINS_XRAY_SCANNER_XRAY_HASH_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kordon::xray {

inline constexpr size_t kHashChunkBytes = 1 << 20;

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

struct FileHash {
  std::string sha256;  // lower-case hex
  uint64_t bytes = 0;  // bytes hashed
  int64_t mtime_ns = 0;  // of the file when opened
};

// Opens `name` relative to the directory `dir_fd` without following a symbolic link and
// without blocking (a FIFO cannot hang the caller), checks that it is a regular file of at
// most `max_bytes`, and hashes it in kHashChunkBytes pieces. `stop` (may be null) is checked
// between chunks. nullopt with *error set on any failure ("stopped" when stopped).
std::optional<FileHash> HashFileAt(int dir_fd, const std::string& name, uint64_t max_bytes,
                                   const std::atomic<bool>* stop, std::string* error);

}  // namespace kordon::xray

#endif  // KORDON_PLUGINS_XRAY_SCANNER_XRAY_HASH_H_
