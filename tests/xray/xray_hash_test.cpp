// SHA-256 through libsodium: known vectors (FIPS 180-2) in memory and streamed from a file
// across chunk boundaries; refusal of symbolic links, FIFOs and oversize files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "xray_device.h"
#include "xray_hash.h"

namespace kordon::xray {
namespace {

struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/xray-hash-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~ScratchDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
};

TEST_CASE("SHA-256 of known vectors") {
  CHECK(Sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("HashFileAt streams a file in chunks and matches the in-memory digest") {
  ScratchDir dir;
  const int dir_fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(dir_fd >= 0);
  std::string error;
  REQUIRE(WriteFileIn(dir.path, "abc.bin", "abc", &error));
  auto h = HashFileAt(dir_fd, "abc.bin", 100, nullptr, &error);
  REQUIRE_MESSAGE(h.has_value(), error);
  CHECK(h->sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(h->bytes == 3);

  // One million 'a' (FIPS 180-2 vector), plus enough to cross several chunk boundaries.
  std::string big(kHashChunkBytes * 2 + 12345, 'a');
  REQUIRE(WriteFileIn(dir.path, "big.bin", big, &error));
  h = HashFileAt(dir_fd, "big.bin", big.size(), nullptr, &error);
  REQUIRE_MESSAGE(h.has_value(), error);
  CHECK(h->sha256 == Sha256Hex(big));
  CHECK(h->bytes == big.size());
  REQUIRE(WriteFileIn(dir.path, "million.bin", std::string(1000000, 'a'), &error));
  h = HashFileAt(dir_fd, "million.bin", 1 << 30, nullptr, &error);
  REQUIRE(h.has_value());
  CHECK(h->sha256 == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  SUBCASE("too large") {
    CHECK_FALSE(HashFileAt(dir_fd, "big.bin", big.size() - 1, nullptr, &error));
    CHECK(error.find("larger than") != std::string::npos);
  }
  SUBCASE("a symbolic link is refused") {
    REQUIRE(::symlinkat("abc.bin", dir_fd, "link.bin") == 0);
    CHECK_FALSE(HashFileAt(dir_fd, "link.bin", 100, nullptr, &error));
    CHECK(error.find("symbolic link") != std::string::npos);
  }
  SUBCASE("a FIFO is refused without blocking") {
    REQUIRE(::mkfifoat(dir_fd, "fifo.bin", 0644) == 0);
    CHECK_FALSE(HashFileAt(dir_fd, "fifo.bin", 100, nullptr, &error));
    CHECK(error.find("not a regular file") != std::string::npos);
  }
  SUBCASE("missing") {
    CHECK_FALSE(HashFileAt(dir_fd, "none.bin", 100, nullptr, &error));
    CHECK(error.find("cannot open") != std::string::npos);
  }
  SUBCASE("stopped") {
    std::atomic<bool> stop{true};
    CHECK_FALSE(HashFileAt(dir_fd, "big.bin", big.size(), &stop, &error));
    CHECK(error == "stopped");
  }
  ::close(dir_fd);
}

}  // namespace
}  // namespace kordon::xray
