// Plugins the host must refuse, and what it does about them: every refusal is shown with a
// message that names the instance, the file and what is wrong, both by `kordon-host --check`
// and by `kordon plugin info`; on_plugin_error decides whether the host starts without them.
#include <signal.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

// One broken plugin file and the fragments its refusal message must contain.
struct Refusal {
  std::string what;
  std::string file;
  std::vector<std::string> fragments;
};

std::vector<Refusal> Refusals() {
  return {
      {"file missing", TestPlugin("no_such_plugin"), {"does not exist"}},
      {"not a shared library", TestPlugin("not_a_library"), {"not a loadable shared library"}},
      {"entry symbol missing", TestPlugin("test_no_entry"), {"kordon_plugin_entry", "does not export"}},
      {"major 2, refuses the offer", TestPlugin("test_abi_major2"), {"2.0", "1.0"}},
      {"major 2, accepts the offer", TestPlugin("test_abi_major2_accepts"), {"2.0", "1.0", "major"}},
      {"newer minor", TestPlugin("test_abi_newer_minor"), {"1.5", "upgrade"}},
      {"descriptor too small", TestPlugin("test_small_struct"), {"bytes", "descriptor"}},
      {"no name", TestPlugin("test_no_name"), {"incomplete descriptor", "missing name"}},
      {"no handle_message", TestPlugin("test_no_handle"), {"incomplete descriptor", "handle_message"}},
      {"kind unspecified", TestPlugin("test_bad_kind"), {"incomplete descriptor", "kind"}},
  };
}

// The line of `kordon-host --check` output that reports `instance`, or "".
std::string CheckLineFor(const std::string& out, const std::string& instance) {
  for (const std::string& line : Lines(out))
    if (line.rfind("REFUSED ", 0) == 0 && Contains(line, " " + instance + " ")) return line;
  return "";
}

TEST_SUITE("refusal") {

TEST_CASE("kordon-host --check refuses each broken plugin with a message naming instance, file and cause") {
  for (const Refusal& r : Refusals()) {
    CAPTURE(r.what);
    TempDir dir;
    const std::string config = dir.File("site.ini");
    // The instance's section header is on line 4.
    WriteFile(config, "[host]\nname = check\n\n" + PluginSection("lane3-device", r.file));
    RunResult run = RunProgram({HostBinary(), "--check", "--config", config}, dir.path());
    INFO(run.Describe());
    CHECK(run.status.ExitedWith(2));
    const std::string line = CheckLineFor(run.out, "lane3-device");
    REQUIRE_MESSAGE(!line.empty(), "no REFUSED line for lane3-device");
    CHECK(Contains(line, r.file));
    CHECK(Contains(line, config + ":4:"));
    for (const std::string& fragment : r.fragments) {
      CAPTURE(fragment);
      CHECK(Contains(line, fragment));
    }
    CHECK(Contains(run.out, config + ": 1 instance(s), 1 refused"));
  }
}

TEST_CASE("kordon-host --check reports every instance, not only the first refusal") {
  TempDir dir;
  const std::string config = dir.File("site.ini");
  std::string text = "[host]\nname = check\n";
  std::vector<Refusal> refusals = Refusals();
  text += PluginSection("good", TestPlugin("test_c_echo"));
  for (size_t i = 0; i < refusals.size(); ++i)
    text += PluginSection("bad-" + std::to_string(i), refusals[i].file);
  text += PluginSection("off", TestPlugin("test_no_entry"), "enabled = false");
  WriteFile(config, text);
  RunResult run = RunProgram({HostBinary(), "--check", "--config", config}, dir.path());
  INFO(run.Describe());
  CHECK(run.status.ExitedWith(2));
  CHECK(Contains(run.out, "ok      good"));
  CHECK(Contains(run.out, "off     off"));
  for (size_t i = 0; i < refusals.size(); ++i) {
    CAPTURE(refusals[i].what);
    CHECK(Contains(CheckLineFor(run.out, "bad-" + std::to_string(i)), refusals[i].file));
  }
  CHECK(Contains(run.out, config + ": " + std::to_string(refusals.size() + 2) + " instance(s), " +
                              std::to_string(refusals.size()) + " refused"));

  // The same site without the broken ones passes the check.
  WriteFile(config, "[host]\nname = check\n" + PluginSection("good", TestPlugin("test_c_echo")) +
                        PluginSection("off", TestPlugin("test_no_entry"), "enabled = false"));
  RunResult clean = RunProgram({HostBinary(), "--check", "--config", config}, dir.path());
  INFO(clean.Describe());
  CHECK(clean.status.ExitedWith(0));
  CHECK(Contains(clean.out, config + ": 2 instance(s), 0 refused"));
  CHECK_FALSE(Contains(clean.out, "REFUSED"));
}

TEST_CASE("kordon plugin info refuses each broken plugin with exit 2 and the cause on stderr") {
  TempDir dir;
  for (const Refusal& r : Refusals()) {
    CAPTURE(r.what);
    RunResult run = RunProgram({ToolBinary(), "plugin", "info", r.file}, dir.path());
    INFO(run.Describe());
    CHECK(run.status.ExitedWith(2));
    CHECK(Contains(run.err, "refused"));
    CHECK(Contains(run.err, r.file));
    for (const std::string& fragment : r.fragments) {
      CAPTURE(fragment);
      CHECK(Contains(run.err, fragment));
    }
    CHECK(run.out.empty());
  }
}

TEST_CASE("kordon plugin info describes a good plugin, as text and as JSON") {
  TempDir dir;
  const std::string file = TestPlugin("test_c_echo");
  RunResult text = RunProgram({ToolBinary(), "plugin", "info", file}, dir.path());
  INFO(text.Describe());
  REQUIRE(text.status.ExitedWith(0));
  CHECK(Contains(text.out, "name:        test-c-echo\n"));
  CHECK(Contains(text.out, "kind:        other\n"));
  CHECK(Contains(text.out, "ABI:         1.0"));
  CHECK(Contains(text.out, "publishes:   test.pong, test.tick, test.reply\n"));
  CHECK(Contains(text.out, "subscribes:  test.ping\n"));
  CHECK(Contains(text.out, "services:    echo\n"));

  RunResult json = RunProgram({ToolBinary(), "plugin", "info", "--json", file}, dir.path());
  INFO(json.Describe());
  REQUIRE(json.status.ExitedWith(0));
  nlohmann::json j = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["name"] == "test-c-echo");
  CHECK(j["kind"] == "other");
  CHECK(j["abi"] == "1.0");
  CHECK(j["vendor"] == "Kordon tests");
  CHECK(j["version"] == "1.0.0");
  CHECK(j["publishes"] == nlohmann::json({"test.pong", "test.tick", "test.reply"}));
  CHECK(j["subscribes"] == nlohmann::json({"test.ping"}));
  CHECK(j["services"] == nlohmann::json({"echo"}));
}

TEST_CASE("two [plugin.NAME] sections with one name: exit 1, naming both lines") {
  TempDir dir;
  const std::string config = dir.File("site.ini");
  WriteFile(config,
            "[host]\n"                                                // 1
            "name = dup\n"                                            // 2
            "[plugin.same]\n"                                         // 3
            "library = " + TestPlugin("test_c_echo") + "\n"           // 4
            "lane = lane-1\n"                                         // 5
            "\n"                                                      // 6
            "[plugin.same]\n"                                         // 7
            "library = " + TestPlugin("test_c_echo") + "\n");         // 8
  for (bool check : {true, false}) {
    CAPTURE(check);
    std::vector<std::string> argv = {HostBinary(), "--config", config};
    if (check) argv.push_back("--check");
    RunResult run = RunProgram(argv, dir.path());
    INFO(run.Describe());
    CHECK(run.status.ExitedWith(1));
    CHECK(Contains(run.err, "duplicate instance name"));
    CHECK(Contains(run.err, config + ":7:"));
    CHECK(Contains(run.err, "line 3"));
  }
}

}  // TEST_SUITE("refusal")

TEST_SUITE("plugin-errors") {

TEST_CASE("on_plugin_error = stop: a refused plugin keeps the host from starting (exit 2)") {
  TempDir dir;
  HostProcess host(dir, HostSection(dir) + PluginSection("good", TestPlugin("test_c_echo")) +
                            PluginSection("broken", TestPlugin("test_no_entry")));
  REQUIRE(host.started());
  auto status = host.WaitExit(10s);
  INFO(host.Log());
  REQUIRE(status.has_value());
  CHECK(status->ExitedWith(2));
  CHECK(Contains(host.Log(), "[plugin.broken] refused"));
  CHECK(Contains(host.Log(), "kordon_plugin_entry"));
  CHECK(Contains(host.Log(), "not starting"));
  CHECK_FALSE(Contains(host.Log(), "created good"));
  CHECK_FALSE(ReadReadyFile(dir.File("ready.json")).has_value());
}

TEST_CASE("on_plugin_error = skip: the host starts without the refused plugin, and the rest works") {
  TempDir dir;
  HostProcess host(dir, HostSection(dir, "on_plugin_error = skip") +
                            PluginSection("broken", TestPlugin("test_abi_newer_minor")) +
                            PluginSection("good", TestPlugin("test_c_echo")));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  CHECK(host.ready().instances == std::vector<std::string>{"good"});
  CHECK(host.ready().pid == host.child().pid());
  CHECK(Contains(host.Log(), "[plugin.broken] refused"));
  CHECK(Contains(host.Log(), "skipped"));

  auto client = ConnectClient(host.ready(), {"test"}, &why);
  REQUIRE_MESSAGE(client, why);
  auto id = client->Publish("test.ping", R"({"skip":1})");
  REQUIRE(id.ok());
  auto pong = ReceiveTopic(*client, "test.pong", 5s);
  REQUIRE_MESSAGE(pong.has_value(), host.Log());
  CHECK(pong->body == R"({"skip":1})");
  CHECK(pong->envelope.source == "good");

  auto exit = host.StopWith(SIGTERM);
  INFO(host.Log());
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
}

TEST_CASE("a plugin whose create fails stops the host (exit 2) with a message naming the instance") {
  struct Failing {
    std::string what, library, setting, fragment;
  };
  for (const Failing& f : {Failing{"C create returns an error", TestPlugin("test_c_echo"),
                                   "fail_create = 1", "KORDON_E_FAILED"},
                           Failing{"C++ constructor throws", TestPlugin("test_cpp_probe"),
                                   "throw_in_create = 1", "asked to throw"}}) {
    CAPTURE(f.what);
    TempDir dir;
    const std::string config = HostSection(dir) + PluginSection("good", TestPlugin("test_c_echo")) +
                               PluginSection("failing", f.library, f.setting);
    HostProcess host(dir, config);
    REQUIRE(host.started());
    auto status = host.WaitExit(10s);
    INFO(host.Log());
    REQUIRE(status.has_value());
    CHECK(status->ExitedWith(2));
    CHECK(Contains(host.Log(), "plugin instance 'failing'"));
    CHECK(Contains(host.Log(), "failed to create"));
    CHECK(Contains(host.Log(), f.fragment));
    CHECK(Contains(host.Log(), host.config_path() + ":" + std::to_string(LineOf(config, "[plugin.failing]")) + ":"));
    CHECK_FALSE(ReadReadyFile(dir.File("ready.json")).has_value());
  }
}

TEST_CASE("on_plugin_error = skip: instances whose create fails are left out, the others run") {
  TempDir dir;
  HostProcess host(dir, HostSection(dir, "on_plugin_error = skip") +
                            PluginSection("failing-c", TestPlugin("test_c_echo"), "fail_create = 1") +
                            PluginSection("good", TestPlugin("test_c_echo")) +
                            PluginSection("failing-cpp", TestPlugin("test_cpp_probe"), "throw_in_create = 1") +
                            PluginSection("probe", TestPlugin("test_cpp_probe"), "subscribe = test.probe.in"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  CHECK(host.ready().instances == std::vector<std::string>{"good", "probe"});
  CHECK(Contains(host.Log(), "plugin instance 'failing-c'"));
  CHECK(Contains(host.Log(), "plugin instance 'failing-cpp'"));

  auto client = ConnectClient(host.ready(), {"test"}, &why);
  REQUIRE_MESSAGE(client, why);
  REQUIRE(client->Publish("test.ping", R"({"k":2})").ok());
  auto pong = ReceiveTopic(*client, "test.pong", 5s);
  REQUIRE_MESSAGE(pong.has_value(), host.Log());
  CHECK(pong->envelope.source == "good");
  REQUIRE(client->Publish("test.probe.in", R"({"k":3})").ok());
  auto seen = ReceiveTopic(*client, "test.probe.seen", 5s);
  REQUIRE_MESSAGE(seen.has_value(), host.Log());
  CHECK(seen->envelope.source == "probe");
  CHECK(nlohmann::json::parse(seen->body) == nlohmann::json({{"n", 1}, {"topic", "test.probe.in"}}));

  auto exit = host.StopWith(SIGTERM);
  INFO(host.Log());
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
  auto stats = ParseInstanceStats(host.Log());
  CHECK(stats.count("good") == 1);
  CHECK(stats.count("probe") == 1);
  CHECK(stats.count("failing-c") == 0);
  CHECK(stats.count("failing-cpp") == 0);
}

}  // TEST_SUITE("plugin-errors")

}  // namespace
}  // namespace kordon::testing
