// Signed plugins with the real kordon-host (require_signed = true): a signed plugin loads and
// works, in process and isolated (kordon-runner loads only the bytes the host verified); a
// plugin file with a byte appended or flipped, an unsigned one, one signed by an unknown key
// and one with a malformed .sig are refused with the reason in the log, and the host does not
// start (on_plugin_error = stop), as for any plugin that cannot load.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "host_harness.h"

namespace kordon::testing {
namespace {

namespace fs = std::filesystem;

// A vendor key and a signed copy of test_c_echo in dir ("echo.so" + "echo.so.sig").
struct SignedPlugin {
  explicit SignedPlugin(const TempDir& dir) : dir(dir) {
    std::string out, err;
    REQUIRE_MESSAGE(RunKordon(dir, {"keys", "generate-signing", "--out", dir.File("vendor")},
                              &out, &err) == 0, err);
    CHECK(Contains(out, "key id "));
    fs::copy_file(TestPlugin("test_c_echo"), plugin);
    REQUIRE_MESSAGE(RunKordon(dir, {"plugin", "sign", plugin, "--key",
                                    dir.File("vendor.sign.key")}, &out, &err) == 0, err);
    REQUIRE(fs::exists(plugin + ".sig"));
  }
  std::string Config(const std::string& extra = "", const std::string& plugin_extra = "") const {
    return HostSection(dir, "require_signed = true\nvendor_keys = " + dir.File("vendor.sign.pub") +
                                "\n" + extra) +
           PluginSection("echo", plugin, plugin_extra);
  }
  const TempDir& dir;
  std::string plugin = dir.File("echo.so");
};

void ExpectPong(HostProcess& host) {
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(15s, &why), why);
  auto client = ConnectClient(host.ready(), {"test"}, &why);
  REQUIRE_MESSAGE(client, why);
  REQUIRE(client->Publish("test.ping", R"({"signed":1})").ok());
  auto pong = ReceiveTopic(*client, "test.pong", 5s);
  REQUIRE_MESSAGE(pong.has_value(), host.Log());
  CHECK(pong->body == R"({"signed":1})");
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
}

// Starts a host on `config` that must refuse the plugin: exit 2, every fragment in the log.
void ExpectRefused(const TempDir& dir, const std::string& config,
                   const std::vector<std::string>& fragments) {
  HostProcess host(dir, config, "refused.ini");
  REQUIRE(host.started());
  auto status = host.WaitExit(15s);
  INFO(host.Log());
  REQUIRE(status.has_value());
  CHECK(status->ExitedWith(2));
  CHECK(Contains(host.Log(), "[plugin.echo] refused: signature check failed"));
  for (const std::string& f : fragments) CHECK(Contains(host.Log(), f));
  CHECK_FALSE(Contains(host.Log(), "created echo"));
}

}  // namespace

TEST_SUITE("signing") {

TEST_CASE("a signed plugin loads and runs, in process and isolated") {
  TempDir dir;
  SignedPlugin p(dir);
  std::string out;
  CHECK(RunKordon(dir, {"plugin", "verify", p.plugin, "--key", dir.File("vendor.sign.pub")},
                  &out) == 0);
  CHECK(Contains(out, "VERIFIED"));
  SUBCASE("in process") {
    HostProcess host(dir, p.Config());
    ExpectPong(host);
    CHECK(Contains(host.Log(), "[plugin.echo] signature ok"));
    CHECK(Contains(host.Log(), "signatures: 1 plugin file(s) verified, 0 refused"));
  }
  SUBCASE("isolation = process") {
    HostProcess host(dir, p.Config("", "isolation = process"));
    ExpectPong(host);
    CHECK(Contains(host.Log(), "[plugin.echo] signature ok"));
  }
}

TEST_CASE("a modified, unsigned, foreign-signed or badly signed plugin is refused") {
  TempDir dir;
  SignedPlugin p(dir);
  SUBCASE("a byte appended") {
    std::ofstream(p.plugin, std::ios::app | std::ios::binary) << '\0';
    ExpectRefused(dir, p.Config(), {"modified since signing", "hash mismatch"});
    std::string out;
    CHECK(RunKordon(dir, {"plugin", "verify", p.plugin, "--key", dir.File("vendor.sign.pub")},
                    &out) == 2);
    CHECK(Contains(out, "modified since signing"));
  }
  SUBCASE("a byte flipped") {
    std::fstream f(p.plugin, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(200);
    char c = 0;
    f.read(&c, 1);
    f.seekp(200);
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
    f.close();
    ExpectRefused(dir, p.Config(), {"modified since signing", "hash mismatch"});
  }
  SUBCASE("unsigned (no .sig)") {
    fs::remove(p.plugin + ".sig");
    ExpectRefused(dir, p.Config(), {"unsigned", "is not signed"});
  }
  SUBCASE("signed by a key that is not among vendor_keys") {
    std::string err;
    REQUIRE(RunKordon(dir, {"keys", "generate-signing", "--out", dir.File("rogue")}, nullptr,
                      &err) == 0);
    REQUIRE(RunKordon(dir, {"plugin", "sign", p.plugin, "--key", dir.File("rogue.sign.key"),
                            "--force"}, nullptr, &err) == 0);
    ExpectRefused(dir, p.Config(), {"unknown key", "not among the trusted vendor keys"});
  }
  SUBCASE("a malformed .sig names the line") {
    std::ofstream(p.plugin + ".sig", std::ios::trunc) << "kordon-plugin-signature 1\nalgo\n";
    ExpectRefused(dir, p.Config(), {"malformed signature", "line 2"});
  }
  SUBCASE("a renamed copy with its .sig renamed") {
    fs::rename(p.plugin, dir.File("other.so"));
    fs::rename(p.plugin + ".sig", dir.File("other.so.sig"));
    HostProcess host(dir, HostSection(dir, "require_signed = true\nvendor_keys = " +
                                               dir.File("vendor.sign.pub")) +
                              PluginSection("echo", dir.File("other.so")), "refused.ini");
    auto status = host.WaitExit(15s);
    INFO(host.Log());
    REQUIRE(status.has_value());
    CHECK(status->ExitedWith(2));
    CHECK(Contains(host.Log(), "signature of another file"));
  }
}

TEST_CASE("require_signed without vendor_keys is a configuration error") {
  TempDir dir;
  HostProcess host(dir, HostSection(dir, "require_signed = true") +
                            PluginSection("echo", TestPlugin("test_c_echo")));
  auto status = host.WaitExit(10s);
  INFO(host.Log());
  REQUIRE(status.has_value());
  CHECK_FALSE(status->ExitedWith(0));
  CHECK(Contains(host.Log(), "require_signed = true needs vendor_keys"));
}

}  // TEST_SUITE("signing")

}  // namespace kordon::testing
