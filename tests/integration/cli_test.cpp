// kordon-host's command line: what an operator sees before any plugin is loaded.
#include <doctest/doctest.h>

#include "host_harness.h"

namespace kordon::testing {
namespace {

TEST_SUITE("cli") {

TEST_CASE("kordon-host --version prints the host version and the plugin ABI") {
  TempDir dir;
  RunResult r = RunProgram({HostBinary(), "--version"}, dir.path());
  INFO(r.Describe());
  CHECK(r.status.ExitedWith(0));
  CHECK(Contains(r.out, "kordon-host " KORDON_HOST_VERSION "\n"));
  CHECK(Contains(r.out, "plugin ABI 1.0"));
}

TEST_CASE("kordon-host --help lists the options and every [host] key with its default") {
  TempDir dir;
  RunResult r = RunProgram({HostBinary(), "--help"}, dir.path());
  INFO(r.Describe());
  CHECK(r.status.ExitedWith(0));
  for (const char* key : {"--config", "--check", "--ready-file", "on_plugin_error", "plugin_call_timeout_ms",
                          "bus.queue_limit", "(default: tcp://127.0.0.1:7400)"})
    CHECK_MESSAGE(Contains(r.out, key), key);
}

TEST_CASE("kordon-host without --config, or with a bad --log-level, exits 1") {
  TempDir dir;
  RunResult none = RunProgram({HostBinary()}, dir.path());
  INFO(none.Describe());
  CHECK(none.status.ExitedWith(1));
  CHECK(Contains(none.err, "--config FILE is required"));
  RunResult level = RunProgram({HostBinary(), "--config", dir.File("x.ini"), "--log-level", "loud"}, dir.path());
  INFO(level.Describe());
  CHECK(level.status.ExitedWith(1));
  CHECK(Contains(level.err, "'loud'"));
}

TEST_CASE("kordon-host --config with a missing file exits 1 naming the file") {
  TempDir dir;
  const std::string missing = dir.File("no-such-site.ini");
  RunResult r = RunProgram({HostBinary(), "--config", missing}, dir.path());
  INFO(r.Describe());
  CHECK(r.status.ExitedWith(1));
  CHECK(Contains(r.err, missing));
  CHECK(Contains(r.err, "does not exist"));
}

TEST_CASE("kordon-host exits 1 on a configuration syntax error, naming file:line") {
  TempDir dir;
  const std::string config = dir.File("broken.ini");
  WriteFile(config,
            "[host]\n"                    // 1
            "name = broken\n"             // 2
            "\n"                          // 3
            "# a comment\n"               // 4
            "this line has no equals\n"   // 5
            "[plugin.echo]\n"             // 6
            "library = x.so\n");          // 7
  RunResult r = RunProgram({HostBinary(), "--config", config}, dir.path());
  INFO(r.Describe());
  CHECK(r.status.ExitedWith(1));
  CHECK(Contains(r.err, config + ":5:"));

  SUBCASE("an unterminated section header") {
    WriteFile(config, "[host]\nname = x\n[plugin.echo\nlibrary = x.so\n");
    RunResult h = RunProgram({HostBinary(), "--config", config}, dir.path());
    INFO(h.Describe());
    CHECK(h.status.ExitedWith(1));
    CHECK(Contains(h.err, config + ":3:"));
  }
  SUBCASE("an unknown [host] key") {
    WriteFile(config, "[host]\nname = x\nbus.ingres = tcp://127.0.0.1:*\n");
    RunResult h = RunProgram({HostBinary(), "--config", config}, dir.path());
    INFO(h.Describe());
    CHECK(h.status.ExitedWith(1));
    CHECK(Contains(h.err, config + ":3:"));
    CHECK(Contains(h.err, "bus.ingres"));
  }
  SUBCASE("a plain TCP endpoint off loopback") {
    WriteFile(config, "[host]\nname = x\nbus.ingress = tcp://0.0.0.0:7400\n");
    RunResult h = RunProgram({HostBinary(), "--config", config}, dir.path());
    INFO(h.Describe());
    CHECK(h.status.ExitedWith(1));
    CHECK(Contains(h.err, config + ":3:"));
    CHECK(Contains(h.err, "loopback"));
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
