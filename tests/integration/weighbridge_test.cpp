// The weighbridge plugin on a real device link: kordon-weighbridge-sim (the scale simulator) on
// an ephemeral TCP port speaking MT-SICS or the Toledo continuous output, a kordon-host whose
// weighbridge connects to it, and a bus client that watches what comes out: the stable weight
// of each truck, zero / tare through scale.command, and for each fault mode scale.error,
// device.status error / offline and never a stable weight from bad data.
#include <signal.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

using nlohmann::json;

std::string SimBinary() { return std::string(KORDON_BIN_DIR) + "/kordon-weighbridge-sim"; }

// Starts the simulator with `args` on an ephemeral port; returns the port, or 0 with *why.
uint16_t StartSim(const TempDir& dir, const std::vector<std::string>& args,
                  std::unique_ptr<ChildProcess>* sim, std::string* why) {
  std::vector<std::string> argv = {SimBinary(), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return StartListeningSimulator(argv, dir, sim, why);
}

// A short truck cycle: empty 300 ms, 300 ms driving on, 3 s settled, 300 ms off.
const std::vector<std::string> kFastTrucks = {"--vehicles-kg", "18450,32100", "--empty-ms",
                                              "300",           "--ramp-ms",   "300",
                                              "--hold-ms",     "3000"};

std::string Settings(uint16_t port, const std::string& protocol, const std::string& extra = "") {
  return "lane = lane-2\nlink = tcp://127.0.0.1:" + std::to_string(port) +
         "\nprotocol = " + protocol +
         "\npoll_interval_ms = 100\nreply_timeout_ms = 300\nstable_window_ms = 1000\n"
         "live_interval_ms = 200\n" + extra;
}

json Body(const host::BusMessage& m) { return json::parse(m.body, nullptr, false); }

bool IsState(const host::BusMessage& m, const std::string& state) {
  const json j = Body(m);
  return j.is_object() && j.value("state", "") == state && j.value("device", "") == "wb1";
}

struct Run {
  TempDir dir;
  std::unique_ptr<ChildProcess> sim;
  std::unique_ptr<HostProcess> host;
  std::unique_ptr<host::BusClient> client;
};

// Simulator + host + client subscribed to scale.* and device.status.
void StartAll(Run* run, const std::vector<std::string>& sim_args, const std::string& protocol,
              const std::string& extra = "") {
  std::string why;
  const uint16_t port = StartSim(run->dir, sim_args, &run->sim, &why);
  REQUIRE_MESSAGE(port != 0, why);
  run->host = std::make_unique<HostProcess>(
      run->dir, HostSection(run->dir) + PluginSection("wb1", SitePlugin("weighbridge"),
                                                      Settings(port, protocol, extra)));
  REQUIRE_MESSAGE(run->host->WaitReady(10s, &why), why);
  run->client = ConnectClient(run->host->ready(), {"scale", "device.status"}, &why);
  REQUIRE_MESSAGE(run->client != nullptr, why);
}

void StopAll(Run* run) {
  run->client.reset();
  auto exit = run->host->StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), run->host->Log());
  CHECK(run->sim->Signal(SIGTERM));
  auto sim_exit = run->sim->WaitFor(5s);
  REQUIRE(sim_exit.has_value());
  CHECK_MESSAGE(sim_exit->ExitedWith(0), run->sim->ReadStderr());
}

// The stable weights of the first truck (18450 kg, noise +-5 kg).
void CheckFirstTruck(Run& run, double tolerance) {
  std::vector<host::BusMessage> skipped;
  auto stable = ReceiveTopic(*run.client, "scale.weight.stable", 15s, nullptr, &skipped);
  REQUIRE_MESSAGE(stable.has_value(), run.host->Log());
  const json j = Body(*stable);
  CHECK(std::fabs(j.value("kg", 0.0) - 18450) <= tolerance);
  CHECK(j.value("scale", "") == "wb1");
  CHECK(j.value("vehicle_seq", 0) >= 1);
  CHECK(j.value("readings", 0) >= 2);
  CHECK(j.value("window_ms", 0) >= 1000);
  CHECK(j.value("max_kg", 0.0) - j.value("min_kg", 0.0) <= 20);
  CHECK(j["raw"].value("unit", "") == "kg");
  CHECK(stable->envelope.lane == "lane-2");
  // Live weights went out before, and none claims to be final.
  int live = 0;
  for (const auto& m : skipped) {
    if (m.topic != "scale.weight.live") continue;
    ++live;
    CHECK(Body(m).value("stable", true) == false);
  }
  CHECK(live > 0);
}

TEST_SUITE("weighbridge") {

TEST_CASE("weighbridge over MT-SICS: stable weight per truck, zero and tare, cleared") {
  Run run;
  StartAll(&run, kFastTrucks, "sics");
  CheckFirstTruck(run, 6);

  // Tare while the truck stands: answered with T S <tare> kg.
  auto id = run.client->Publish("scale.command", R"({"scale": "wb1", "command": "tare"})");
  REQUIRE(id.ok());
  auto result = ReceiveTopic(*run.client, "scale.command.result", 5s);
  REQUIRE_MESSAGE(result.has_value(), run.host->Log());
  json r = Body(*result);
  CHECK(r.value("command", "") == "tare");
  CHECK(r.value("request_id", "") == id.value());
  if (r.value("ok", false)) {
    CHECK(r.value("result", "") == "done");
    CHECK(std::fabs(r.value("tare_kg", 0.0) - 18450) <= 6);
  } else {
    CHECK(r.value("result", "") == "not_ready");  // the truck was driving
  }
  // Another scale's command is not ours: no result.
  REQUIRE(run.client->Publish("scale.command", R"({"scale": "wb9", "command": "tare"})").ok());
  id = run.client->Publish("scale.command", R"({"scale": "wb1", "command": "zero"})");
  REQUIRE(id.ok());
  result = ReceiveTopic(*run.client, "scale.command.result", 5s);
  REQUIRE_MESSAGE(result.has_value(), run.host->Log());
  r = Body(*result);
  CHECK(r.value("command", "") == "zero");  // the first result: wb9's tare got none
  CHECK(r.value("request_id", "") == id.value());
  CHECK(r.value("scale", "") == "wb1");

  auto cleared = ReceiveTopic(*run.client, "scale.weight.cleared", 10s);
  REQUIRE_MESSAGE(cleared.has_value(), run.host->Log());
  StopAll(&run);
}

TEST_CASE("weighbridge over the Toledo continuous output: stable weight with checksums") {
  Run run;
  StartAll(&run, [] {
    auto a = kFastTrucks;
    a.insert(a.end(), {"--protocol", "toledo-continuous", "--rate-hz", "20"});
    return a;
  }(), "toledo-continuous");
  CheckFirstTruck(run, 6);
  auto second = ReceiveTopic(*run.client, "scale.weight.stable", 10s);
  REQUIRE_MESSAGE(second.has_value(), run.host->Log());
  CHECK(std::fabs(Body(*second).value("kg", 0.0) - 32100) <= 6);
  StopAll(&run);
}

TEST_CASE("weighbridge resynchronises after garbage in the Toledo stream") {
  Run run;
  StartAll(&run, [] {
    auto a = kFastTrucks;
    a.insert(a.end(), {"--protocol", "toledo-continuous", "--fault", "garbage"});
    return a;
  }(), "toledo-continuous");
  auto error = ReceiveTopic(*run.client, "scale.error", 10s);
  REQUIRE_MESSAGE(error.has_value(), run.host->Log());
  CHECK(Body(*error).value("reason", "").find("outside a frame") != std::string::npos);
  CheckFirstTruck(run, 6);
  StopAll(&run);
}

}  // TEST_SUITE

// A suite of its own: six simulator runs take a while, apart from the suite above.
TEST_SUITE("weighbridge-faults") {

// Each fault: scale.error with the expected reason, device.status error, no stable weight.
struct FaultCase {
  std::vector<std::string> sim_args;
  std::string protocol;
  std::string reason;        // in scale.error's reason
  std::string state_reason;  // in device.status's reason
};

TEST_CASE("weighbridge faults give scale.error and device.status error, never a weight") {
  const std::vector<FaultCase> cases = {
      {{"--fault", "es"}, "sics", "answered SI with syntax_error", "failures in a row"},
      {{"--fault", "unknown-unit"}, "sics", "unknown unit 'oz'", "failures in a row"},
      {{"--fault", "silent-after", "3"}, "sics", "no reply to SI", "scale not answering"},
      {{"--fault", "overload"}, "sics", "", "overload"},
      {{"--protocol", "toledo-continuous", "--fault", "bad-checksum"}, "toledo-continuous",
       "bad checksum", "failures in a row"},
      {{"--protocol", "toledo-continuous", "--fault", "silent-after", "5"}, "toledo-continuous",
       "no frame within", "scale not answering"},
  };
  for (const FaultCase& c : cases) {
    CAPTURE(c.sim_args[1]);
    CAPTURE(c.protocol);
    Run run;
    std::vector<std::string> args = kFastTrucks;
    args.insert(args.end(), c.sim_args.begin(), c.sim_args.end());
    StartAll(&run, args, c.protocol);
    // The device may have gone to error before this client's subscription was live (a fault
    // on the very first reading): ask for the current state, as a console does on connect.
    REQUIRE(run.client->Publish("device.status.request", "{}").ok());
    std::vector<host::BusMessage> seen;
    auto error = ReceiveTopic(*run.client, "device.status", 10s,
                              [](const host::BusMessage& m) { return IsState(m, "error"); },
                              &seen);
    REQUIRE_MESSAGE(error.has_value(), run.host->Log());
    CHECK_MESSAGE(Body(*error).value("reason", "").find(c.state_reason) != std::string::npos,
                  error->body);
    // Long enough for a truck to settle (window 1 s, hold 3 s): still no stable weight.
    for (auto& m : ReceiveFor(*run.client, 4s)) seen.push_back(std::move(m));
    int errors = 0;
    for (const auto& m : seen) {
      CHECK_MESSAGE(m.topic != "scale.weight.stable", m.body);
      if (m.topic == "scale.error") {
        ++errors;
        if (!c.reason.empty())
          CHECK_MESSAGE(Body(m).value("reason", "").find(c.reason) != std::string::npos, m.body);
      }
      if (m.topic == "scale.weight.live") CHECK(Body(m).value("stable", true) == false);
      if (c.state_reason == "overload" && m.topic == "scale.weight.live") {
        CHECK(Body(m).value("status", "") == "overload");
        CHECK(Body(m)["kg"].is_null());
      }
    }
    if (!c.reason.empty()) CHECK(errors > 0);
    StopAll(&run);
  }
}

}  // TEST_SUITE

TEST_SUITE("weighbridge") {

TEST_CASE("weighbridge goes offline when the scale goes away, and refuses bad settings") {
  Run run;
  StartAll(&run, kFastTrucks, "sics");
  auto stable = ReceiveTopic(*run.client, "scale.weight.stable", 15s);
  REQUIRE_MESSAGE(stable.has_value(), run.host->Log());
  run.sim->Kill();
  auto offline = ReceiveTopic(*run.client, "device.status", 10s,
                              [](const host::BusMessage& m) { return IsState(m, "offline"); });
  REQUIRE_MESSAGE(offline.has_value(), run.host->Log());
  CHECK(Body(*offline).value("kind", "") == "weighbridge");
  run.client.reset();
  auto exit = run.host->StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), run.host->Log());

  for (const std::string& setting :
       {std::string("protocol = modbus"), std::string("poll_interval_ms = 5"),
        std::string("stable_tolerance_kg = lots"), std::string("checksum = maybe")}) {
    CAPTURE(setting);
    TempDir dir;
    HostProcess bad(dir, HostSection(dir) +
                             PluginSection("wb1", SitePlugin("weighbridge"),
                                           "link = tcp://127.0.0.1:9\n" + setting));
    auto bad_exit = bad.WaitExit(10s);
    REQUIRE_MESSAGE(bad_exit.has_value(), bad.Log());
    CHECK_FALSE(bad_exit->ExitedWith(0));
    CHECK_MESSAGE(Contains(bad.Log(), "setting '" + setting.substr(0, setting.find(' ')) + "'"),
                  bad.Log());
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
