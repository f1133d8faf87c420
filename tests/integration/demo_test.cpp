// The demo site of config/demo.ini, as shipped: two simulated plate cameras and a logger.
// Only the endpoints change ('*' ports, so that the test never clashes with a running demo),
// plus a ready file and the build's plugin directory.
#include <signal.h>

#include <map>
#include <regex>
#include <set>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

static_assert(sizeof("А") == 3, "this file must be compiled as UTF-8");

// The plate as plate-sim's README defines its `plate` field, for the letters of its default
// list: separators removed, upper case, Cyrillic look-alikes replaced by their Latin twins.
std::string ExpectedPlate(std::string raw) {
  static const std::pair<const char*, const char*> kLookAlikes[] = {
      {"А", "A"}, {"В", "B"}, {"Е", "E"}, {"К", "K"}, {"М", "M"}, {"Н", "H"},
      {"О", "O"}, {"Р", "P"}, {"С", "C"}, {"Т", "T"}, {"Х", "X"}, {"У", "Y"}};
  for (const auto& [cyrillic, latin] : kLookAlikes) {
    for (size_t pos; (pos = raw.find(cyrillic)) != std::string::npos;) raw.replace(pos, std::string(cyrillic).size(), latin);
  }
  std::string out;
  for (char c : raw) {
    if (c == ' ' || c == '-') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

// config/demo.ini with its endpoints replaced. Fails the test when a line to replace is gone.
std::string DemoConfig(const TempDir& dir) {
  const std::string original = ReadFileOrEmpty(SourcePath("config/demo.ini"));
  REQUIRE_MESSAGE(!original.empty(), "cannot read config/demo.ini");
  std::string out;
  int replaced = 0;
  for (const std::string& line : Lines(original)) {
    if (line.rfind("bus.ingress", 0) == 0) {
      out += "bus.ingress = tcp://127.0.0.1:*\n";
      ++replaced;
    } else if (line.rfind("bus.egress", 0) == 0) {
      out += "bus.egress = tcp://127.0.0.1:*\n";
      ++replaced;
    } else if (line == "[host]") {
      out += line + "\nready_file = " + dir.File("ready.json") + "\nplugin_path = " + KORDON_PLUGIN_DIR + "\n";
      ++replaced;
    } else {
      out += line + "\n";
    }
  }
  REQUIRE_MESSAGE(replaced == 3, "config/demo.ini no longer has [host], bus.ingress and bus.egress lines");
  return out;
}

TEST_SUITE("demo") {

TEST_CASE("the demo site runs: plate reads from both lanes, with normalised plates") {
  TempDir dir;
  HostProcess host(dir, DemoConfig(dir), "demo.ini");
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  CHECK(host.ready().instances == std::vector<std::string>{"logger", "lane1-documents", "lane1-camera", "lane2-camera"});
  auto client = ConnectClient(host.ready(), {"scanner"}, &why);
  REQUIRE_MESSAGE(client, why);

  const std::map<std::string, std::pair<std::string, std::string>> lanes = {
      {"lane-1", {"lane1-camera", "lane1-camera"}},  // lane -> (instance, camera)
      {"lane-2", {"lane2-camera", "lane2-cam"}}};
  const std::regex kNormalised("^[A-Z0-9]+$");
  std::set<std::string> seen;
  std::optional<nlohmann::json> first_lane1;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (seen.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto m = ReceiveTopic(*client, "scanner.plate.read",
                          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!m) break;
    CAPTURE(m->body);
    REQUIRE(lanes.count(m->envelope.lane) == 1);
    const auto& [instance, camera] = lanes.at(m->envelope.lane);
    CHECK(m->envelope.source == instance);
    nlohmann::json body = nlohmann::json::parse(m->body, nullptr, false);
    REQUIRE(body.is_object());
    CHECK(body["camera"] == camera);
    const std::string plate = body["plate"].get<std::string>();
    CHECK(std::regex_match(plate, kNormalised));
    CHECK(plate == ExpectedPlate(body["raw"].get<std::string>()));
    if (m->envelope.lane == "lane-1" && body["sequence"] == 1) first_lane1 = body;
    seen.insert(m->envelope.lane);
  }
  INFO(host.Log());
  CHECK(seen == std::set<std::string>{"lane-1", "lane-2"});
  // plate-sim's README quotes the first read of this very instance (seed 1, default plates).
  REQUIRE(first_lane1.has_value());
  CHECK((*first_lane1)["raw"] == "02 KG 345 АВС");
  CHECK((*first_lane1)["plate"] == "02KG345ABC");
  CHECK((*first_lane1)["country"] == "KG");
  CHECK((*first_lane1)["confidence"] == 0.82);
  CHECK((*first_lane1)["image_ref"] == "sim://lane1-camera/1.jpg");

  client.reset();
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
}

}  // TEST_SUITE("demo")

}  // namespace
}  // namespace kordon::testing
