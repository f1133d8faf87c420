// The demo site of config/demo.ini, as shipped, against kordon-site-sim: every device plugin
// reads from its simulated device over TCP (or the X-ray spool) and its reads reach the bus.
// Only the endpoints change: '*' bus ports and the simulator on ephemeral ports (so that the
// test never clashes with a running demo), the X-ray spool in the test's directory, a ready
// file and the build's plugin directory.
//
// Also: plate-sim, the no-hardware stand-in camera, as its README describes it.
#include <signal.h>

#include <map>
#include <regex>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

static_assert(sizeof("А") == 3, "this file must be compiled as UTF-8");

constexpr int kDemoBasePort = 7410;  // config/demo.ini's first simulator port

std::string SiteSimBinary() { return std::string(KORDON_BIN_DIR) + "/kordon-site-sim"; }

// Starts kordon-site-sim on ephemeral ports and returns its ports in layout order (the
// "listening" lines before "ready"); empty with *why on failure.
std::vector<int> StartSiteSim(const TempDir& dir, const std::vector<std::string>& extra,
                              std::unique_ptr<ChildProcess>* sim, std::string* why) {
  std::vector<std::string> argv = {SiteSimBinary(), "--base-port", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  *sim = ChildProcess::Spawn(argv, dir.File("site-sim.out"), dir.File("site-sim.err"), why);
  if (!*sim) return {};
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string out = (*sim)->ReadStdout();
    if (out.find("ready\n") != std::string::npos) {
      std::vector<int> ports;
      for (const std::string& line : Lines(out)) {
        if (line == "ready") break;
        REQUIRE_MESSAGE(line.rfind("listening ", 0) == 0, "unexpected simulator line: " << line);
        ports.push_back(std::stoi(line.substr(line.rfind(':') + 1)));
      }
      return ports;
    }
    if (!(*sim)->running()) break;
    std::this_thread::sleep_for(10ms);
  }
  *why = "the site simulator did not get ready; stderr:\n" + (*sim)->ReadStderr();
  return {};
}

// config/demo.ini with its endpoints replaced. Fails the test when a line to replace is gone.
std::string DemoConfig(const TempDir& dir, const std::vector<int>& sim_ports) {
  const std::string original = ReadFileOrEmpty(SourcePath("config/demo.ini"));
  REQUIRE_MESSAGE(!original.empty(), "cannot read config/demo.ini");
  const std::regex link(R"(^link = tcp://127\.0\.0\.1:(\d+)$)");
  std::string out;
  int replaced = 0, links = 0, demo_files = 0, scripts = 0;
  for (const std::string& line : Lines(original)) {
    std::smatch m;
    if (line.rfind("bus.ingress", 0) == 0) {
      out += "bus.ingress = tcp://127.0.0.1:*\n";
      ++replaced;
    } else if (line.rfind("bus.egress", 0) == 0) {
      out += "bus.egress = tcp://127.0.0.1:*\n";
      ++replaced;
    } else if (line == "[host]") {
      out += line + "\nready_file = " + dir.File("ready.json") + "\nplugin_path = " + KORDON_PLUGIN_DIR + "\n";
      ++replaced;
    } else if (size_t at = line.find(" = /tmp/kordon-demo/"); at != std::string::npos) {
      // The spool, the journal, the watchlist: into the test's directory.
      out += line.substr(0, at) + " = " + dir.path() + "/" + line.substr(at + 20) + "\n";
      ++demo_files;
    } else if (line.rfind("import = config/", 0) == 0) {  // relative to the repository's root
      out += "import = " + SourcePath(line.substr(9)) + "\n";
      ++demo_files;
    } else if (line.rfind("profile = config/", 0) == 0) {
      out += "profile = " + SourcePath(line.substr(10)) + "\n";
      ++demo_files;
    } else if (line.rfind("listen = ", 0) == 0) {  // the console: any free port
      out += "listen = 127.0.0.1:0\n";
      ++scripts;
    } else if (line.rfind("script = scripts/", 0) == 0) {
      out += "script = " + SourcePath(line.substr(9)) + "\n";
      ++scripts;
    } else if (std::regex_match(line, m, link)) {
      const size_t offset = static_cast<size_t>(std::stoi(m[1]) - kDemoBasePort);
      REQUIRE_MESSAGE(offset < sim_ports.size(), "demo.ini links to a port the simulator lacks: " << line);
      out += "link = tcp://127.0.0.1:" + std::to_string(sim_ports[offset]) + "\n";
      ++links;
    } else {
      out += line + "\n";
    }
  }
  REQUIRE_MESSAGE(replaced == 3, "config/demo.ini no longer has [host], bus.ingress and bus.egress lines");
  // The spool, the journal, the audit log, the watchlist and its import, the manifests and
  // their followed file, the crossings, the risk profile, the console's users.
  CHECK(demo_files == 10);
  CHECK(scripts == 5);     // the site's procedures and the console's address
  CHECK(links == static_cast<int>(sim_ports.size()));  // every simulated device is wired
  return out;
}

nlohmann::json Body(const host::BusMessage& m) { return nlohmann::json::parse(m.body, nullptr, false); }

TEST_SUITE("demo") {

TEST_CASE("the demo site reads every simulated device of every lane") {
  TempDir dir;
  std::unique_ptr<ChildProcess> sim;
  std::string why;
  const std::vector<int> ports = StartSiteSim(
      dir, {"--interval-ms", "4000", "--seed", "3", "--xray-dir", dir.File("xray-spool"),
            "--manifests", dir.File("manifests.jsonl")},
      &sim, &why);
  REQUIRE_MESSAGE(ports.size() == 9, why);

  HostProcess host(dir, DemoConfig(dir, ports), "demo.ini");
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner", "scale", "device", "db", "alert", "crossing", "risk",
                                             "procedure"},
                              &why);
  REQUIRE_MESSAGE(client, why);

  // What each lane must show within a few vehicles: (topic, lane) pairs.
  std::set<std::pair<std::string, std::string>> wanted = {
      {"scanner.plate.read", "lane-1"},    {"scanner.plate.read", "lane-2"},
      {"scanner.plate.read", "lane-3"},    {"scanner.document.read", "lane-1"},
      {"scanner.document.read", "lane-2"}, {"scanner.document.read", "lane-3"},
      {"scanner.container.read", "lane-1"}, {"scale.weight.stable", "lane-1"},
      {"scale.weight.stable", "lane-3"},   {"scanner.xray.scan", "lane-1"},
      // Every lane opens crossings and closes them when the next vehicle comes; the trucks'
      // manifests are found and attached to their crossings.
      {"crossing.opened", "lane-1"},       {"crossing.opened", "lane-2"},
      {"crossing.opened", "lane-3"},       {"crossing.closed", "lane-1"},
      {"crossing.closed", "lane-2"},       {"crossing.closed", "lane-3"},
      {"db.manifest.match", "lane-1"},     {"db.manifest.match", "lane-3"},
      {"truck crossing with its manifest", "lane-1"},
      {"truck crossing with its manifest", "lane-3"},
      // Every crossing is profiled: a channel, with its reasons when not green.
      {"risk.assessment", "lane-1"},       {"risk.assessment", "lane-2"},
      {"risk.assessment", "lane-3"}};
  const std::regex kNormalised("^[A-Z0-9]+$");
  std::map<std::string, std::string> device_state;  // instance -> last state
  std::vector<std::string> problems;
  const auto deadline = std::chrono::steady_clock::now() + 40s;
  while (!wanted.empty() && std::chrono::steady_clock::now() < deadline) {
    std::optional<host::BusMessage> m = client->Receive(200ms);
    if (!m) continue;
    const nlohmann::json body = Body(*m);
    if (!body.is_object()) {
      problems.push_back(m->topic + ": body is not JSON: " + m->body);
      continue;
    }
    // The supervisor's alert on a watchlist hit is the procedure doing its job; a weighbridge
    // outage would not be.
    if (m->topic == "alert.raised" &&
        body.value("source", "") == "procedure:supervisor-alert")
      continue;
    // Every read is screened: a read the watchlist cannot screen, any other alert, a failing
    // procedure, is a failure.
    if (m->topic == "db.watchlist.error" || m->topic == "alert.raised" ||
        m->topic == "procedure.error" ||
        m->topic == "db.manifest.error" || m->topic == "crossing.unattached" ||
        m->topic == "crossing.command.rejected") {
      problems.push_back(m->topic + ": " + m->body);
      continue;
    }
    if (m->topic == "device.status") {
      device_state[body.value("device", "?")] = body.value("state", "?");
      continue;
    }
    if (m->topic == "scanner.plate.read" &&
        !std::regex_match(body.value("plate", std::string("?")), kNormalised))
      problems.push_back("plate not normalised: " + m->body);
    if (m->topic == "scale.weight.stable" && !(body.value("kg", 0.0) > 5000))
      problems.push_back("a truck's stable weight under 5 t: " + m->body);
    if (m->topic == "risk.error") {
      problems.push_back(m->topic + ": " + m->body);
      continue;
    }
    if (m->topic == "risk.assessment") {
      const std::string channel = body.value("channel", "");
      if (channel != "green" && channel != "blue" && channel != "yellow" && channel != "red")
        problems.push_back("an assessment without a channel: " + m->body);
      if (channel != "green" && body.value("reasons", nlohmann::json::array()).empty())
        problems.push_back("a " + channel + " channel without reasons: " + m->body);
      if (m->envelope.crossing_id.empty() || body.value("crossing_id", "") != m->envelope.crossing_id)
        problems.push_back("an assessment without its crossing: " + m->body);
    }
    if (m->topic.rfind("crossing.", 0) == 0) {
      if (m->envelope.crossing_id.empty() || body.value("id", "") != m->envelope.crossing_id)
        problems.push_back(m->topic + " without its crossing id in the envelope: " + m->body);
      // A truck's crossing: its plate's manifest found, declaring the plate read.
      for (const auto& item : body.value("manifests", nlohmann::json::array()))
        if (item.value("status", "") == "found" && item.value("matched_by", "") == "plate" &&
            item.contains("manifest") && item["manifest"].is_object())
          wanted.erase({"truck crossing with its manifest", m->envelope.lane});
    }
    wanted.erase({m->topic, m->envelope.lane});
  }
  INFO("host log:\n" << host.Log() << "\nsimulator:\n" << sim->ReadStdout() << sim->ReadStderr());
  std::string missing;
  for (const auto& [topic, lane] : wanted) missing += " " + topic + "@" + lane;
  CHECK_MESSAGE(wanted.empty(), "never seen:" << missing);
  for (const std::string& p : problems) CHECK_MESSAGE(false, p);
  for (const auto& [instance, state] : device_state)
    CHECK_MESSAGE((state == "idle" || state == "busy"), instance << " is " << state);
  CHECK(!ReadFileOrEmpty(dir.File("manifests.jsonl")).empty());
  for (const char* script : {"heavy-trucks.lua: loaded", "weighbridge-offline.lua: loaded",
                             "night-shift.lua: loaded", "supervisor-alert.lua: loaded"})
    CHECK_MESSAGE(Contains(host.Log(), script), "the demo's procedure did not start: " << script);

  // The health check: every device instance of demo.ini answers `kordon devices`, healthy.
  const RunResult devices =
      RunProgram({ToolBinary(), "devices", "--json", "--ingress", host.ready().ingress, "--egress",
                  host.ready().egress},
                 dir.path(), 20s);
  INFO(devices.Describe());
  CHECK(devices.status.ExitedWith(0));
  std::set<std::string> answered;
  for (const std::string& line : Lines(devices.out)) {
    const nlohmann::json body = nlohmann::json::parse(line, nullptr, false);
    REQUIRE(body.is_object());
    CHECK(body["requested"] == true);
    CHECK(body["healthy"] == true);
    answered.insert(body.value("device", "?"));
  }
  CHECK(answered == std::set<std::string>{"lane1-documents", "lane1-plates", "lane1-containers",
                                          "lane1-scale", "lane1-xray", "lane2-documents",
                                          "lane2-plates", "lane3-documents", "lane3-plates",
                                          "lane3-scale"});

  client.reset();
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));

  // Everything is on record: the journal holds the reads of every lane, and its file is sound.
  const std::string db = dir.File("journal.sqlite");
  const RunResult check = RunProgram({ToolBinary(), "journal", "check", db}, dir.path(), 30s);
  INFO(check.Describe());
  CHECK(check.status.ExitedWith(0));
  const RunResult plates = RunProgram(
      {ToolBinary(), "journal", "query", db, "--topic", "scanner.plate.read", "--json"}, dir.path(), 30s);
  INFO(plates.Describe());
  REQUIRE(plates.status.ExitedWith(0));
  std::set<std::string> journaled_lanes;
  for (const std::string& line : Lines(plates.out)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["topic"] == "scanner.plate.read");
    journaled_lanes.insert(j.value("lane", "?"));
  }
  CHECK(journaled_lanes == std::set<std::string>{"lane-1", "lane-2", "lane-3"});
  // The audit log has the host's start and the risk profile's load, in an intact chain.
  const RunResult audit =
      RunProgram({ToolBinary(), "audit", "verify", dir.File("audit.sqlite")}, dir.path(), 30s);
  INFO(audit.Describe());
  CHECK(audit.status.ExitedWith(0));
  CHECK(Contains(audit.out, "chain intact"));
  const RunResult shown =
      RunProgram({ToolBinary(), "audit", "show", dir.File("audit.sqlite")}, dir.path(), 30s);
  INFO(shown.Describe());
  CHECK(Contains(shown.out, "host.started"));
  CHECK(Contains(shown.out, "risk.profile.loaded"));

  sim->Signal(SIGTERM);
  auto sim_exit = sim->WaitFor(5s);
  REQUIRE(sim_exit.has_value());
  CHECK(sim_exit->ExitedWith(0));
}

TEST_CASE("plate-sim, the stand-in camera, publishes what its README quotes") {
  TempDir dir;
  HostProcess host(dir, HostSection(dir) + PluginSection("lane1-camera", SitePlugin("plate-sim"),
                                                         "lane = lane-1\ninterval_ms = 1500\nseed = 1"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner"}, &why);
  REQUIRE_MESSAGE(client, why);
  // The first read goes out one interval after start, well after the client is live.
  auto first = ReceiveTopic(*client, "scanner.plate.read", 5s);
  REQUIRE(first.has_value());
  const nlohmann::json b = Body(*first);
  CHECK(b["sequence"] == 1);
  CHECK(b["raw"] == "02 KG 345 АВС");
  CHECK(b["plate"] == "02KG345ABC");
  CHECK(b["country"] == "KG");
  CHECK(b["confidence"] == 0.82);
  CHECK(b["image_ref"] == "sim://lane1-camera/1.jpg");
  auto any = ReceiveTopic(*client, "scanner.plate.read", 5s);
  REQUIRE(any.has_value());
  CHECK(any->envelope.lane == "lane-1");
  CHECK(std::regex_match(Body(*any).value("plate", std::string("?")), std::regex("^[A-Z0-9]+$")));
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
}

}  // TEST_SUITE("demo")

}  // namespace
}  // namespace kordon::testing
