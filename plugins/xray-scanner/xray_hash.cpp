// xray_hash.cpp — see xray_hash.h.
#include "xray_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include <sodium.h>

namespace kordon::xray {
namespace {

std::string Hex(const unsigned char* digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(crypto_hash_sha256_BYTES * 2, '0');
  for (size_t i = 0; i < crypto_hash_sha256_BYTES; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xF];
  }
  return out;
}

bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

// Closes a descriptor on every path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string Sha256Hex(std::string_view data) {
  InitSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return Hex(digest);
}

std::optional<FileHash> HashFileAt(int dir_fd, const std::string& name, uint64_t max_bytes,
                                   const std::atomic<bool>* stop, std::string* error) {
  if (!InitSodium()) {
    *error = "libsodium failed to initialise";
    return std::nullopt;
  }
  Fd file;
  file.fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (file.fd < 0) {
    *error = errno == ELOOP ? "'" + name + "' is a symbolic link (refused)"
                            : "cannot open '" + name + "': " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    *error = "cannot stat '" + name + "': " + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "'" + name + "' is not a regular file";
    return std::nullopt;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    *error = "'" + name + "' is larger than " + std::to_string(max_bytes) + " bytes";
    return std::nullopt;
  }
  FileHash result;
  result.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const auto buffer = std::make_unique<unsigned char[]>(kHashChunkBytes);
  for (;;) {
    if (stop && stop->load(std::memory_order_relaxed)) {
      *error = "stopped";
      return std::nullopt;
    }
    const ssize_t n = ::read(file.fd, buffer.get(), kHashChunkBytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = "cannot read '" + name + "': " + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    result.bytes += static_cast<uint64_t>(n);
    if (result.bytes > max_bytes) {  // grew while being read
      *error = "'" + name + "' grew past " + std::to_string(max_bytes) + " bytes";
      return std::nullopt;
    }
    crypto_hash_sha256_update(&state, buffer.get(), static_cast<unsigned long long>(n));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  result.sha256 = Hex(digest);
  return result;
}

}  // namespace kordon::xray
