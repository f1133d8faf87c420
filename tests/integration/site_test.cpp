// The site topology (plugins/bridge/README.md "Site topology", config/site/): a hub and two
// lane workstations, three real kordon-host processes on this machine, each with a journal and
// a bridge over CURVE; the hub's own bus is a CURVE bus too.
//  - up: crossings, decisions and alerts of each lane reach the hub;
//  - down: watchlist and profile updates published at the hub reach both lanes;
//  - relayed: an alert of one lane reaches the other lane through the hub, never back to its
//    own lane;
//  - the hub is stopped and restarted twice during a steady stream: afterwards every message
//    arrived exactly once, in order per sender (counted in the journals).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

// A TCP port that was free a moment ago (bound to port 0, then closed).
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string Endpoint(uint16_t port) { return "tcp://127.0.0.1:" + std::to_string(port); }

const char kTopics[] = "crossing.closed, officer.decision, alert.raised, db.watchlist.updated, "
                       "risk.profile.reload";

std::string Journal(const TempDir& dir) {
  return PluginSection("journal", SitePlugin("journal"),
                       "path = " + dir.File("journal.db") + "\nsubscribe = " + kTopics +
                           "\nbatch_ms = 10");
}

std::string BridgeCommon(const TempDir& dir) {
  return "\noutbox = " + dir.File("outbox.db") + "\napplied = " + dir.File("applied.db") +
         "\nack_timeout_ms = 1000\nheartbeat_ms = 300\nstatus_interval_ms = 500";
}

// The hub: its bus is CURVE (the test's tools hold tools.key); its bridge takes what the lanes
// send, sends updates and alerts down, and relays one lane's alerts to the other.
std::string HubConfig(const TempDir& dir, const std::string& keys, uint16_t hub,
                      uint16_t lane1, uint16_t lane2) {
  return HostSection(dir, "bus.secret_key_file = " + keys + "/hub-bus.key\nbus.allowed_keys = " +
                              keys + "/tools.pub") +
         Journal(dir) +
         PluginSection("site", SitePlugin("bridge"),
                       "site = hub\nlisten = " + Endpoint(hub) + "\nsecret_key_file = " + keys +
                           "/hub.key\nallowed_keys = " + keys + "/lane1.pub, " + keys +
                           "/lane2.pub\npartners = lane1@" + Endpoint(lane1) + ", lane2@" +
                           Endpoint(lane2) + "\npartner_key.lane1 = " + keys +
                           "/lane1.pub\npartner_key.lane2 = " + keys + "/lane2.pub" +
                           "\nforward = db.watchlist.updated, risk.profile., alert." +
                           "\nrelay = alert." + BridgeCommon(dir));
}

std::string LaneConfig(const TempDir& dir, const std::string& keys, const std::string& lane,
                       uint16_t listen, uint16_t hub) {
  return HostSection(dir) + Journal(dir) +
         PluginSection("site", SitePlugin("bridge"),
                       "site = " + lane + "\nlisten = " + Endpoint(listen) +
                           "\nsecret_key_file = " + keys + "/" + lane + ".key\nallowed_keys = " +
                           keys + "/hub.pub\npartners = hub@" + Endpoint(hub) +
                           "\npartner_key.hub = " + keys + "/hub.pub" +
                           "\nforward = crossing.closed, officer.decision, alert." +
                           BridgeCommon(dir));
}

// The `n` of every `topic` message from `from` that the bridge (instance "site") published
// into this host's journal, in journal order.
std::vector<int> Bridged(const TempDir& dir, const std::string& topic, const std::string& from) {
  return JournalNumbers(dir.File("journal.db"), topic, "site", from);
}

std::unique_ptr<host::BusClient> HubTool(const ReadyInfo& ready, const std::string& keys) {
  auto c = std::make_unique<host::BusClient>("hub-tool");
  host::Status s = c->UseCurve(keys + "/hub-bus.pub", keys + "/tools.key");
  REQUIRE_MESSAGE(s.ok(), s.message());
  REQUIRE(c->ConnectIngress(ready.ingress).ok());
  return c;
}

TEST_SUITE("site") {

TEST_CASE("hub and two lanes: up, down and relayed; two hub restarts lose and double nothing") {
  TempDir keys, hub_dir, lane1_dir, lane2_dir;
  std::string out, err;
  for (const char* who : {"hub", "lane1", "lane2", "hub-bus", "tools"})
    REQUIRE_MESSAGE(RunKordon(keys, {"keys", "generate", "--out", keys.File(who)}, &out, &err) ==
                        0, err);
  const uint16_t hub_port = FreePort(), lane1_port = FreePort(), lane2_port = FreePort();
  REQUIRE((hub_port != 0 && lane1_port != 0 && lane2_port != 0 && hub_port != lane1_port &&
           hub_port != lane2_port && lane1_port != lane2_port));
  const std::string hub_config =
      HubConfig(hub_dir, keys.path(), hub_port, lane1_port, lane2_port);
  std::string why;
  auto hub = std::make_unique<HostProcess>(hub_dir, hub_config);
  REQUIRE_MESSAGE(hub->WaitReady(10s, &why), why);
  HostProcess lane1(lane1_dir, LaneConfig(lane1_dir, keys.path(), "lane1", lane1_port, hub_port));
  HostProcess lane2(lane2_dir, LaneConfig(lane2_dir, keys.path(), "lane2", lane2_port, hub_port));
  REQUIRE_MESSAGE(lane1.WaitReady(10s, &why), why);
  REQUIRE_MESSAGE(lane2.WaitReady(10s, &why), why);
  auto lane1_client = ConnectClient(lane1.ready(), {}, &why, "lane1-tool");
  REQUIRE_MESSAGE(lane1_client != nullptr, why);
  auto lane2_client = ConnectClient(lane2.ready(), {}, &why, "lane2-tool");
  REQUIRE_MESSAGE(lane2_client != nullptr, why);

  const std::vector<std::string> up_topics = {"crossing.closed", "officer.decision",
                                              "alert.raised"};
  const std::vector<std::string> down_topics = {"db.watchlist.updated", "risk.profile.reload"};
  std::map<std::string, int> sent;  // "<from> <topic>" -> count
  auto publish = [&](host::BusClient& c, const std::string& from, const std::string& topic) {
    int& n = sent[from + " " + topic];
    auto r = c.Publish(topic, "{\"from\":\"" + from + "\",\"n\":" + std::to_string(n) + "}");
    REQUIRE(r.ok());
    ++n;
  };
  // Lanes publish all the time; the hub's tool only while the hub runs.
  auto stream = [&](host::BusClient* hub_tool, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      for (const std::string& t : up_topics) {
        publish(*lane1_client, "lane1", t);
        publish(*lane2_client, "lane2", t);
      }
      if (hub_tool != nullptr && i % 5 == 0)
        for (const std::string& t : down_topics) publish(*hub_tool, "hub", t);
      std::this_thread::sleep_for(8ms);
    }
  };

  const auto started = std::chrono::steady_clock::now();
  for (int cut = 0; cut < 2; ++cut) {
    {
      auto tool = HubTool(hub->ready(), keys.path());
      stream(tool.get(), 40);
    }  // the tool lingers until its messages are with the hub
    auto exit = hub->StopWith(SIGTERM, 15s);
    REQUIRE_MESSAGE((exit && exit->ExitedWith(0)), hub->Log());
    stream(nullptr, 40);  // into the lanes' outboxes meanwhile
    std::remove(hub_dir.File("ready.json").c_str());
    hub = std::make_unique<HostProcess>(hub_dir, hub_config);
    REQUIRE_MESSAGE(hub->WaitReady(10s, &why), why);
  }
  {
    auto tool = HubTool(hub->ready(), keys.path());
    stream(tool.get(), 40);
  }

  // What must arrive where.
  struct Expect {
    const TempDir* dir;
    std::string where, topic, from;
  };
  std::vector<Expect> expect;
  for (const std::string& t : up_topics) {
    expect.push_back({&hub_dir, "hub", t, "lane1"});
    expect.push_back({&hub_dir, "hub", t, "lane2"});
  }
  expect.push_back({&lane2_dir, "lane2", "alert.raised", "lane1"});  // relayed
  expect.push_back({&lane1_dir, "lane1", "alert.raised", "lane2"});
  for (const std::string& t : down_topics) {
    expect.push_back({&lane1_dir, "lane1", t, "hub"});
    expect.push_back({&lane2_dir, "lane2", t, "hub"});
  }
  auto all_arrived = [&] {
    for (const Expect& e : expect)
      if (Bridged(*e.dir, e.topic, e.from).size() < size_t(sent[e.from + " " + e.topic]))
        return false;
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline && !all_arrived())
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(1500ms);  // then a little longer: nothing may come twice
  for (const Expect& e : expect) {
    const int count = sent[e.from + " " + e.topic];
    CHECK(count >= 8);
    CHECK_MESSAGE(CheckOnceInOrder(Bridged(*e.dir, e.topic, e.from), count) == "",
                  e.from << " " << e.topic << " at " << e.where);
  }
  // Never back to its own lane; crossings and decisions stay between a lane and the hub.
  CHECK(Bridged(lane1_dir, "alert.raised", "lane1").empty());
  CHECK(Bridged(lane2_dir, "alert.raised", "lane2").empty());
  CHECK(Bridged(lane2_dir, "crossing.closed", "lane1").empty());
  CHECK(Bridged(lane1_dir, "officer.decision", "lane2").empty());
  CHECK(std::chrono::steady_clock::now() - started < 60s);

  lane1_client.reset();
  lane2_client.reset();
  auto exit_hub = hub->StopWith(SIGTERM, 15s);
  CHECK_MESSAGE((exit_hub && exit_hub->ExitedWith(0)), hub->Log());
  CHECK_MESSAGE(Contains(hub->Log(), "relayed "), hub->Log());
  for (HostProcess* lane : {&lane1, &lane2}) {
    auto exit = lane->StopWith(SIGTERM, 15s);
    CHECK_MESSAGE((exit && exit->ExitedWith(0)), lane->Log());
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
