// The mrz-reader plugin on a real device link: kordon-mrz-sim (the reader simulator) on an
// ephemeral TCP port, a kordon-host whose mrz-reader connects to it, and a bus client that
// watches device.status and the document reads — through a simulator crash and restart.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

std::string SimBinary() { return std::string(KORDON_BIN_DIR) + "/kordon-mrz-sim"; }

// Starts the simulator on `port` (0: ephemeral) and waits for its "listening" line; returns
// the bound port, or 0 with *why set.
uint16_t StartSim(const TempDir& dir, uint16_t port, std::unique_ptr<ChildProcess>* sim,
                  std::string* why) {
  return StartListeningSimulator({SimBinary(), "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--interval-ms", "200"},
                                 dir, sim, why);
}

bool IsState(const host::BusMessage& m, const std::string& state) {
  nlohmann::json j = nlohmann::json::parse(m.body, nullptr, false);
  return j.is_object() && j.value("state", "") == state && j.value("device", "") == "desk1";
}

bool IsValidTd3(const host::BusMessage& m) {
  nlohmann::json j = nlohmann::json::parse(m.body, nullptr, false);
  if (!j.is_object() || j.value("format", "") != "TD3") return false;
  if (!j.value("valid", false) || j.value("document_number", "") != "L898902C3") return false;
  if (!j.contains("checks") || j["checks"].size() != 5) return false;
  for (const auto& c : j["checks"])
    if (!c.value("valid", false)) return false;
  return true;
}

TEST_SUITE("mrz-reader") {

TEST_CASE("mrz-reader reads documents from the simulator and follows its restarts") {
  TempDir dir;
  std::unique_ptr<ChildProcess> sim;
  std::string why;
  const uint16_t port = StartSim(dir, 0, &sim, &why);
  REQUIRE_MESSAGE(port != 0, why);

  HostProcess host(dir, HostSection(dir) +
                            PluginSection("desk1", SitePlugin("mrz-reader"),
                                          "lane = lane-3\nlink = tcp://127.0.0.1:" +
                                              std::to_string(port)));
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  // device.status may go out before the client is live; the reads repeat every 200 ms, and
  // the idle state is checked through the sequence below (offline after the crash, idle again).
  auto client = ConnectClient(host.ready(), {"device.status", "scanner.document"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  auto read = ReceiveTopic(*client, "scanner.document.read", 10s, IsValidTd3);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  CHECK(read->envelope.lane == "lane-3");
  CHECK(read->envelope.source == "desk1");
  CHECK(nlohmann::json::parse(read->body).value("reader", "") == "desk1");

  // The simulator dies: the link drops and the reader goes offline.
  sim->Kill();
  auto offline = ReceiveTopic(*client, "device.status", 10s,
                              [](const host::BusMessage& m) { return IsState(m, "offline"); });
  REQUIRE_MESSAGE(offline.has_value(), host.Log());
  CHECK(nlohmann::json::parse(offline->body).value("previous", "") == "idle");

  // Back on the same port: idle again, and reads flow again.
  REQUIRE_MESSAGE(StartSim(dir, port, &sim, &why) == port, why);
  auto idle = ReceiveTopic(*client, "device.status", 15s,
                           [](const host::BusMessage& m) { return IsState(m, "idle"); });
  REQUIRE_MESSAGE(idle.has_value(), host.Log());
  nlohmann::json status = nlohmann::json::parse(idle->body);
  CHECK(status.value("kind", "") == "document-reader");
  CHECK(status["stats"].value("reconnects", 0) >= 1);
  read = ReceiveTopic(*client, "scanner.document.read", 10s, IsValidTd3);
  REQUIRE_MESSAGE(read.has_value(), host.Log());

  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  CHECK(sim->Signal(SIGTERM));
  auto sim_exit = sim->WaitFor(5s);
  REQUIRE(sim_exit.has_value());
  CHECK_MESSAGE(sim_exit->ExitedWith(0), sim->ReadStderr());
}

TEST_CASE("mrz-reader with a link is offline until the reader listens, then idle") {
  TempDir dir;
  std::unique_ptr<ChildProcess> sim;
  std::string why;
  // A free port: the simulator's ephemeral one, closed again at once.
  const uint16_t port = StartSim(dir, 0, &sim, &why);
  REQUIRE_MESSAGE(port != 0, why);
  sim->Kill();

  HostProcess host(dir, HostSection(dir) +
                            PluginSection("desk1", SitePlugin("mrz-reader"),
                                          "link = tcp://127.0.0.1:" + std::to_string(port)));
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"device.status", "scanner.document"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  REQUIRE_MESSAGE(StartSim(dir, port, &sim, &why) == port, why);
  auto idle = ReceiveTopic(*client, "device.status", 15s,
                           [](const host::BusMessage& m) { return IsState(m, "idle"); });
  REQUIRE_MESSAGE(idle.has_value(), host.Log());
  nlohmann::json status = nlohmann::json::parse(idle->body);
  CHECK(status.value("previous", "") == "offline");
  CHECK(status.value("link", "") == "tcp://127.0.0.1:" + std::to_string(port));
  auto read = ReceiveTopic(*client, "scanner.document.read", 10s, IsValidTd3);
  REQUIRE_MESSAGE(read.has_value(), host.Log());

  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
}

TEST_CASE("mrz-reader refuses a bad link or group timeout at create, naming the setting") {
  for (const std::string& setting :
       {std::string("link = tcp://127.0.0.1"), std::string("group_timeout_ms = 5")}) {
    CAPTURE(setting);
    TempDir dir;
    HostProcess bad(dir, HostSection(dir) +
                             PluginSection("desk1", SitePlugin("mrz-reader"), setting));
    auto exit = bad.WaitExit(10s);
    REQUIRE_MESSAGE(exit.has_value(), bad.Log());
    CHECK_FALSE(exit->ExitedWith(0));
    CHECK_MESSAGE(Contains(bad.Log(), "setting '" + setting.substr(0, setting.find(' ')) + "'"),
                  bad.Log());
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
