// The `kordon` tool as an operator runs it against a live host: `kordon tail` in the
// background, `kordon pub` in the foreground.
#include <signal.h>

#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "envelope.h"
#include "host_harness.h"

namespace kordon::testing {
namespace {

static_assert(sizeof("А") == 3, "this file must be compiled as UTF-8");

TEST_SUITE("tools") {

TEST_CASE("kordon devices: the roll call, an unhealthy device, hostile answers, no host") {
  TempDir dir;
  // A document reader whose device is not there: it answers, offline.
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("desk9", SitePlugin("mrz-reader"),
                                          "lane = lane-9\nlink = tcp://127.0.0.1:1"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  const std::string ingress = host.ready().ingress;
  const std::string egress = host.ready().egress;

  std::string error;
  auto devices = ChildProcess::Spawn({ToolBinary(), "devices", "--ingress", ingress, "--egress",
                                      egress, "--wait-ms", "2500"},
                                     dir.File("devices.out"), dir.File("devices.err"), &error);
  REQUIRE_MESSAGE(devices, error);
  // Meanwhile anyone may publish device.status: bodies of the wrong shape must be ignored
  // (not crash the tool, not count as answers).
  auto client = ConnectClient(host.ready(), {}, &why);
  REQUIRE_MESSAGE(client, why);
  const std::vector<std::string> hostile = {
      R"({"requested": "yes", "device": "x1", "healthy": true})",
      R"({"requested": true, "device": 7, "healthy": true})",
      R"({"requested": true, "device": "fake", "healthy": "very", "stats": [1]})",
      R"({"requested": true})"};
  for (int round = 0; round < 15 && devices->running(); ++round) {
    for (const std::string& body : hostile) REQUIRE(client->Publish("device.status", body, {}).ok());
    std::this_thread::sleep_for(100ms);
  }
  auto exit = devices->WaitFor(10s);
  const std::string out = devices->ReadStdout();
  INFO("stdout:\n" << out << "\nstderr:\n" << devices->ReadStderr());
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(4));  // a device is not healthy
  CHECK(Contains(out, "DEVICE"));
  CHECK(Contains(out, "desk9"));
  CHECK(Contains(out, "document-reader"));
  CHECK(Contains(out, "offline"));
  CHECK(Contains(out, "fake"));  // a well-formed answer counts, "healthy": "very" is not true
  CHECK_FALSE(Contains(out, "x1"));

  // Asking for one device that does not exist: nobody answers.
  RunResult none = RunProgram({ToolBinary(), "devices", "--ingress", ingress, "--egress", egress,
                               "--device", "nobody", "--wait-ms", "500"},
                              dir.path());
  INFO(none.Describe());
  CHECK(none.status.ExitedWith(4));
  CHECK(Contains(none.err, "no device answered"));

  auto host_exit = host.StopWith(SIGTERM);
  REQUIRE(host_exit.has_value());
  RunResult gone = RunProgram({ToolBinary(), "devices", "--ingress", ingress, "--egress", egress},
                              dir.path(), 20s);
  INFO(gone.Describe());
  CHECK(gone.status.ExitedWith(3));
}

TEST_CASE("kordon pub publishes, kordon tail --json prints, and Cyrillic text round-trips") {
  TempDir dir;
  // log_level = debug: the host logs each external subscription, which tells the test when
  // `kordon tail` is listening (ZeroMQ subscriptions take effect asynchronously).
  HostProcess host(dir, HostSection(dir, "log_level = debug") +
                            "[plugin.echo]\nlibrary = " + TestPlugin("test_c_echo") + "\n");
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  const std::string ingress = host.ready().ingress;
  const std::string egress = host.ready().egress;

  std::string error;
  auto tail = ChildProcess::Spawn({ToolBinary(), "tail", "--egress", egress, "--json", "--count", "2", "scanner"},
                                  dir.File("tail.out"), dir.File("tail.err"), &error);
  REQUIRE_MESSAGE(tail, error);
  REQUIRE_MESSAGE(host.WaitForLog("bus egress: subscribe 'scanner'", 5s), host.Log());

  // A client of our own, to compare bytes.
  auto client = ConnectClient(host.ready(), {"scanner"}, &why);
  REQUIRE_MESSAGE(client, why);

  const std::string plain = R"({"plate":"01KG123ABC"})";
  const std::string cyrillic = R"({"plate":"01KG123ABC","driver":"Асанов","note":"въезд, полоса 2"})";
  const std::regex kId("^[0-9a-f]{32}\n$");
  std::vector<std::string> ids;
  for (const std::string& body : {plain, cyrillic}) {
    RunResult pub = RunProgram({ToolBinary(), "pub", "--ingress", ingress, "--egress", egress,
                                "scanner.plate.read", body},
                               dir.path());
    INFO(pub.Describe());
    REQUIRE(pub.status.ExitedWith(0));
    REQUIRE(std::regex_match(pub.out, kId));
    ids.push_back(pub.out.substr(0, 32));
  }

  auto tail_exit = tail->WaitFor(5s);
  INFO("tail stdout:\n" << tail->ReadStdout() << "\ntail stderr:\n" << tail->ReadStderr() << "\nhost log:\n" << host.Log());
  REQUIRE(tail_exit.has_value());
  CHECK(tail_exit->ExitedWith(0));
  std::vector<std::string> lines = Lines(tail->ReadStdout());
  REQUIRE(lines.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    nlohmann::json j = nlohmann::json::parse(lines[i], nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j["topic"] == "scanner.plate.read");
    CHECK(j["id"] == ids[i]);
    CHECK(j["source"] == "kordon-cli");
    CHECK(j["body"]["plate"] == "01KG123ABC");
  }
  // The tool writes UTF-8, not \u escapes, and the text is unchanged.
  CHECK(Contains(lines[1], "\"driver\":\"Асанов\""));
  CHECK(nlohmann::json::parse(lines[1])["body"] == nlohmann::json::parse(cyrillic));

  // Byte for byte through the bus.
  std::vector<std::string> bodies;
  for (int i = 0; i < 2; ++i) {
    auto m = ReceiveTopic(*client, "scanner.plate.read", 3s);
    REQUIRE(m.has_value());
    CHECK(host::IdToHex(m->envelope.id) == ids[static_cast<size_t>(i)]);
    bodies.push_back(m->body);
  }
  CHECK(bodies == std::vector<std::string>{plain, cyrillic});

  SUBCASE("kordon pub refuses a bad topic and invalid JSON with exit 2") {
    struct Bad {
      std::string what, topic, body;
    };
    for (const Bad& b : {Bad{"upper case and empty segment", "Scanner..Read", plain},
                         Bad{"reserved", "$ctl.marker", plain},
                         Bad{"invalid JSON", "scanner.plate.read", R"({"plate":)"},
                         Bad{"a JSON array", "scanner.plate.read", R"(["01KG123ABC"])"}}) {
      CAPTURE(b.what);
      RunResult pub = RunProgram({ToolBinary(), "pub", "--ingress", ingress, "--egress", egress, b.topic, b.body},
                                 dir.path());
      INFO(pub.Describe());
      CHECK(pub.status.ExitedWith(2));
      CHECK(Contains(pub.err, "not sent"));
      CHECK(pub.out.empty());
    }
    // None of them reached the bus.
    for (const host::BusMessage& m : ReceiveFor(*client, 300ms)) CHECK(m.topic != "scanner.plate.read");
  }

  client.reset();
  auto exit = host.StopWith(SIGTERM);
  INFO(host.Log());
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
}

}  // TEST_SUITE("tools")

}  // namespace
}  // namespace kordon::testing
