// Unit tests of signed plugins (host/src/plugin_signature): key files (0600, never
// overwritten, exposed secret refused, key id checked), the .sig format (every line checked,
// the failing line named) and every refusal: unsigned, malformed, unknown key, altered .sig,
// another file's name, a byte appended or flipped.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "plugin_signature.h"

namespace fs = std::filesystem;
using namespace kordon::signing;

namespace {

struct Dir {
  Dir() {
    char t[] = "/tmp/kordon-signing-XXXXXX";
    path = mkdtemp(t);
  }
  ~Dir() { fs::remove_all(path); }
  std::string File(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A vendor key pair and a signed "plugin" in dir.
struct Fixture {
  Dir dir;
  SigningKey key;
  PublicKey pub;
  std::string plugin = dir.File("scanner.so");
  Fixture() {
    std::string id, error;
    REQUIRE(GenerateSigningKeyFiles(dir.File("vendor"), &id, &error));
    auto k = ReadSigningKeyFile(dir.File("vendor.sign.key"), &error);
    REQUIRE_MESSAGE(k, error);
    key = *k;
    auto p = ReadPublicKeyFile(dir.File("vendor.sign.pub"), &error);
    REQUIRE_MESSAGE(p, error);
    pub = *p;
    CHECK(pub.key_id == id);
    CHECK(key.key_id == id);
    Write(plugin, std::string("\x7f" "ELF pretend plugin bytes\n", 26) + std::string(5000, 'x'));
    Sign(plugin);
  }
  void Sign(const std::string& file) {
    std::string error;
    auto sig = SignFile(file, key, &error);
    REQUIRE_MESSAGE(sig, error);
    Write(file + ".sig", *sig);
  }
};

}  // namespace

TEST_CASE("key files: secret 0600, never overwritten, exposed secret refused") {
  Dir dir;
  std::string id, error;
  REQUIRE(GenerateSigningKeyFiles(dir.File("k"), &id, &error));
  CHECK(id.size() == 16);
  struct stat st {};
  REQUIRE(stat(dir.File("k.sign.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Read(dir.File("k.sign.pub")).find(std::string(kPublicTag) + " ") != std::string::npos);
  const std::string before = Read(dir.File("k.sign.key"));
  CHECK_FALSE(GenerateSigningKeyFiles(dir.File("k"), &id, &error));
  CHECK(error.find("never overwritten") != std::string::npos);
  CHECK(Read(dir.File("k.sign.key")) == before);
  chmod(dir.File("k.sign.key").c_str(), 0644);
  CHECK_FALSE(ReadSigningKeyFile(dir.File("k.sign.key"), &error));
  CHECK(error.find("chmod 600") != std::string::npos);
}

TEST_CASE("a public key file whose id does not match its key is refused") {
  Fixture f;
  std::string text = Read(f.dir.File("vendor.sign.pub"));
  text.replace(text.rfind(f.pub.key_id), 16, "0000000000000000");
  Write(f.dir.File("bad.sign.pub"), text);
  std::string error;
  CHECK_FALSE(ReadPublicKeyFile(f.dir.File("bad.sign.pub"), &error));
  CHECK(error.find("does not belong") != std::string::npos);
}

TEST_CASE("a signed file verifies; the .sig carries key id, name, size and hash") {
  Fixture f;
  Verification v = VerifyFile(f.plugin, {f.pub});
  CHECK_MESSAGE(v.ok(), v.reason);
  CHECK(v.key_id == f.pub.key_id);
  std::string error;
  auto sig = ParseSignature(Read(f.plugin + ".sig"), &error);
  REQUIRE_MESSAGE(sig, error);
  CHECK(sig->file == "scanner.so");
  CHECK(sig->size == 5026);
  CHECK(Hex(sig->hash.data(), 64) == v.hash_hex);
}

TEST_CASE("refusals: unsigned, unknown key, a byte appended, a byte flipped") {
  Fixture f;
  SUBCASE("no .sig") {
    fs::remove(f.plugin + ".sig");
    Verification v = VerifyFile(f.plugin, {f.pub});
    CHECK(v.verdict == Verdict::kNoSignature);
    CHECK(v.reason.find("not signed") != std::string::npos);
  }
  SUBCASE("signed by a key that is not trusted") {
    std::string id, error;
    REQUIRE(GenerateSigningKeyFiles(f.dir.File("other"), &id, &error));
    auto other = ReadPublicKeyFile(f.dir.File("other.sign.pub"), &error);
    Verification v = VerifyFile(f.plugin, {*other});
    CHECK(v.verdict == Verdict::kUnknownKey);
    CHECK(v.reason.find(f.pub.key_id) != std::string::npos);
  }
  SUBCASE("a byte appended") {
    std::ofstream(f.plugin, std::ios::app | std::ios::binary) << 'z';
    Verification v = VerifyFile(f.plugin, {f.pub});
    CHECK(v.verdict == Verdict::kModified);
    CHECK(v.reason.find("hash mismatch") != std::string::npos);
    CHECK(v.reason.find("5026") != std::string::npos);
  }
  SUBCASE("a byte flipped, same size") {
    std::string bytes = Read(f.plugin);
    bytes[100] ^= 1;
    Write(f.plugin, bytes);
    Verification v = VerifyFile(f.plugin, {f.pub});
    CHECK(v.verdict == Verdict::kModified);
  }
}

TEST_CASE("a signature cannot be moved to another file or name") {
  Fixture f;
  SUBCASE("a renamed copy with the .sig renamed too") {
    fs::copy_file(f.plugin, f.dir.File("barrier.so"));
    fs::copy_file(f.plugin + ".sig", f.dir.File("barrier.so.sig"));
    Verification v = VerifyFile(f.dir.File("barrier.so"), {f.pub});
    CHECK(v.verdict == Verdict::kWrongFile);
    CHECK(v.reason.find("scanner.so") != std::string::npos);
  }
  SUBCASE("another file's .sig") {
    Write(f.dir.File("logger.so"), "another plugin");
    fs::copy_file(f.plugin + ".sig", f.dir.File("logger.so.sig"));
    Verification v = VerifyFile(f.dir.File("logger.so"), {f.pub});
    CHECK_FALSE(v.ok());
  }
  SUBCASE("the .sig's name edited to match: the signature breaks") {
    fs::copy_file(f.plugin, f.dir.File("barrier.so"));
    std::string sig = Read(f.plugin + ".sig");
    sig.replace(sig.find("file scanner.so"), 15, "file barrier.so");
    Write(f.dir.File("barrier.so.sig"), sig);
    Verification v = VerifyFile(f.dir.File("barrier.so"), {f.pub});
    CHECK(v.verdict == Verdict::kBadSignature);
  }
  SUBCASE("the .sig's hash and size edited to a modified file: the signature breaks") {
    std::ofstream(f.plugin, std::ios::app | std::ios::binary) << 'z';
    std::string error;
    auto d = HashFile(f.plugin, &error);
    REQUIRE(d);
    auto sig = ParseSignature(Read(f.plugin + ".sig"), &error);
    REQUIRE(sig);
    sig->hash = d->hash;
    sig->size = d->size;
    Write(f.plugin + ".sig", FormatSignature(*sig));
    CHECK(VerifyFile(f.plugin, {f.pub}).verdict == Verdict::kBadSignature);
  }
  SUBCASE("the domain separation is in the signed message") {
    std::string error;
    auto sig = ParseSignature(Read(f.plugin + ".sig"), &error);
    REQUIRE(sig);
    const std::string m = SignedMessage(*sig);
    CHECK(m.compare(0, 21, std::string("kordon-plugin-sig-v1\0", 21)) == 0);
  }
}

TEST_CASE("a malformed .sig is refused naming the line") {
  Fixture f;
  const std::string good = Read(f.plugin + ".sig");
  struct Case {
    std::string from, to;
    std::string line;
  };
  for (const Case& c : {Case{"kordon-plugin-signature 1", "kordon-plugin-signature 2", "line 1"},
                        Case{"algorithm ed25519", "algorithm rsa", "line 2"},
                        Case{"key-id ", "key-id zz", "line 3"},
                        Case{"file scanner.so", "file ../scanner.so", "line 4"},
                        Case{"size ", "size -", "line 5"},
                        Case{"blake2b-512 ", "blake2b-512 x", "line 6"},
                        Case{"\nsignature ", "\nsignature !", "line 7"}}) {
    std::string text = good;
    text.replace(text.find(c.from), c.from.size(), c.to);
    Write(f.plugin + ".sig", text);
    Verification v = VerifyFile(f.plugin, {f.pub});
    CHECK(v.verdict == Verdict::kMalformed);
    CHECK_MESSAGE(v.reason.find(c.line) != std::string::npos, v.reason);
  }
  Write(f.plugin + ".sig", good.substr(0, good.size() / 2));
  CHECK(VerifyFile(f.plugin, {f.pub}).verdict == Verdict::kMalformed);
  Write(f.plugin + ".sig", good + "extra\n");
  CHECK(VerifyFile(f.plugin, {f.pub}).verdict == Verdict::kMalformed);
  Write(f.plugin + ".sig", "");
  CHECK(VerifyFile(f.plugin, {f.pub}).verdict == Verdict::kMalformed);
}
