// The bridge plugin between two real kordon-host processes on this machine (site-a and
// site-b, each with a journal and a bridge, CURVE keys made by `kordon keys generate`):
//  - a client with an unknown key and a client without CURVE are refused, counted and logged;
//  - a steady stream each way while site-b's host is stopped and restarted three times:
//    afterwards each site's journal holds every message of the other site exactly once, in
//    the order it was published.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstdio>
#include <cstring>
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
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string SiteConfig(const TempDir& dir, const std::string& keys, const std::string& site,
                       uint16_t listen, const std::string& partner, uint16_t partner_port) {
  return HostSection(dir) +
         PluginSection("journal", SitePlugin("journal"),
                       "path = " + dir.File("journal.db") + "\nsubscribe = test.stream\n"
                       "batch_ms = 10") +
         PluginSection("blo", SitePlugin("bridge"),
                       "site = " + site + "\nlisten = tcp://127.0.0.1:" + std::to_string(listen) +
                           "\nsecret_key_file = " + keys + "/" + site + ".key" +
                           "\nallowed_keys = " + keys + "/" + partner + ".pub" +
                           "\npartners = " + partner + "@tcp://127.0.0.1:" +
                           std::to_string(partner_port) + "\npartner_key." + partner + " = " +
                           keys + "/" + partner + ".pub" + "\nforward = test.stream, alert." +
                           "\noutbox = " + dir.File("outbox.db") +
                           "\napplied = " + dir.File("applied.db") +
                           "\nack_timeout_ms = 1000\nheartbeat_ms = 300\nstatus_interval_ms = 500");
}

// The `n` of every test.stream message the bridge (instance "blo") published into this site's
// journal, in journal order.
std::vector<int> Bridged(const TempDir& dir, const std::string& from) {
  return JournalNumbers(dir.File("journal.db"), "test.stream", "blo", from);
}

// A DEALER that tries to speak KBL/1 to `endpoint`: with `keys` as a CURVE client (server key
// `server_pub`), without them in plain TCP.
void* Intruder(void* ctx, const std::string& endpoint, const std::string& server_pub,
               const std::string* pub, const std::string* sec) {
  void* s = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
  if (pub != nullptr) {
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub.c_str(), 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub->c_str(), 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec->c_str(), 40);
  }
  zmq_connect(s, endpoint.c_str());
  for (const char* f : {"KBL/1", "HELLO", "intruder", "e", "1"})
    zmq_send(s, f, std::strlen(f), std::string(f) == "1" ? 0 : ZMQ_SNDMORE);
  return s;
}

std::string ReadKey(const std::string& path) {
  std::string text = ReadFileOrEmpty(path);
  size_t nl = text.find('\n');
  return text.substr(nl + 1, 40);
}

TEST_SUITE("bridge") {

TEST_CASE("two sites: refusals are counted; a cut and restored link loses and doubles nothing") {
  TempDir keys, dir_a, dir_b;
  std::string out, err;
  for (const char* site : {"site-a", "site-b", "stranger"})
    REQUIRE_MESSAGE(RunKordon(keys, {"keys", "generate", "--out", keys.File(site)}, &out, &err) ==
                        0, err);
  const uint16_t port_a = FreePort();
  const uint16_t port_b = FreePort();
  REQUIRE((port_a != 0 && port_b != 0 && port_a != port_b));
  const std::string config_a = SiteConfig(dir_a, keys.path(), "site-a", port_a, "site-b", port_b);
  const std::string config_b = SiteConfig(dir_b, keys.path(), "site-b", port_b, "site-a", port_a);

  std::string why;
  HostProcess host_a(dir_a, config_a);
  REQUIRE_MESSAGE(host_a.WaitReady(10s, &why), why);
  auto host_b = std::make_unique<HostProcess>(dir_b, config_b);
  REQUIRE_MESSAGE(host_b->WaitReady(10s, &why), why);
  auto client_a = ConnectClient(host_a.ready(), {"bridge.link.status"}, &why, "stream-a");
  REQUIRE_MESSAGE(client_a != nullptr, why);

  // --- Refusals: an unknown key, and no CURVE at all, on site-a's listener. -------------
  {
    void* ctx = zmq_ctx_new();
    const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port_a);
    const std::string server_pub = ReadKey(keys.File("site-a.pub"));
    const std::string pub = ReadKey(keys.File("stranger.pub"));
    const std::string sec = ReadKey(keys.File("stranger.key"));
    void* curve_intruder = Intruder(ctx, endpoint, server_pub, &pub, &sec);
    void* plain_intruder = Intruder(ctx, endpoint, server_pub, nullptr, nullptr);
    CHECK_MESSAGE(host_a.WaitForLog("client key " + pub + " is not allowed", 10s), host_a.Log());
    // A client without CURVE: the listener sees the mechanism mismatch or, when the client
    // hangs up first, a handshake cut short ("handshake failed on ...: Broken pipe").
    bool plain_refused = false;
    for (auto end = std::chrono::steady_clock::now() + 10s;
         !plain_refused && std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(50ms)) {
      const std::string log = host_a.Log();
      plain_refused = Contains(log, "security mechanism mismatch") ||
                      Contains(log, "refused a client (connection from");
    }
    CHECK_MESSAGE(plain_refused, host_a.Log());
    zmq_close(curve_intruder);
    zmq_close(plain_intruder);
    zmq_ctx_term(ctx);
    // The count is in the link status, which answers device.status.request.
    auto published = client_a->Publish("device.status.request", "{}");
    REQUIRE(published.ok());
    auto status = ReceiveTopic(*client_a, "bridge.link.status", 5s, [](const host::BusMessage& m) {
      auto j = nlohmann::json::parse(m.body, nullptr, false);
      return j.is_object() && j.value("requested", false);
    });
    REQUIRE_MESSAGE(status.has_value(), host_a.Log());
    auto j = nlohmann::json::parse(status->body);
    CHECK(j["inbound"].value("refused_clients", 0) >= 2);
    CHECK(j.value("partner", "") == "site-b");
    CHECK(j.value("secure", false));
  }

  // --- The stream, with site-b stopped and restarted three times. -------------------------
  int sent_a = 0, sent_b = 0;
  auto publish = [](host::BusClient& c, const std::string& from, int n) {
    auto r = c.Publish("test.stream", "{\"from\":\"" + from + "\",\"n\":" + std::to_string(n) +
                                          "}");
    REQUIRE(r.ok());
  };
  const auto started = std::chrono::steady_clock::now();
  for (int cut = 0; cut < 3; ++cut) {
    auto client_b = ConnectClient(host_b->ready(), {}, &why, "stream-b");
    REQUIRE_MESSAGE(client_b != nullptr, why);
    for (int i = 0; i < 80; ++i) {
      publish(*client_a, "site-a", sent_a++);
      publish(*client_b, "site-b", sent_b++);
      std::this_thread::sleep_for(5ms);
    }
    client_b.reset();  // lingers until its messages are with the host
    // Cut: stop site-b; site-a keeps publishing into its outbox meanwhile.
    auto exit = host_b->StopWith(SIGTERM, 15s);
    REQUIRE_MESSAGE((exit && exit->ExitedWith(0)), host_b->Log());
    for (int i = 0; i < 80; ++i) {
      publish(*client_a, "site-a", sent_a++);
      std::this_thread::sleep_for(5ms);
    }
    std::remove(dir_b.File("ready.json").c_str());
    host_b = std::make_unique<HostProcess>(dir_b, config_b);
    REQUIRE_MESSAGE(host_b->WaitReady(10s, &why), why);
  }
  // A last stretch with both up.
  {
    auto client_b = ConnectClient(host_b->ready(), {}, &why, "stream-b");
    REQUIRE_MESSAGE(client_b != nullptr, why);
    for (int i = 0; i < 80; ++i) {
      publish(*client_a, "site-a", sent_a++);
      publish(*client_b, "site-b", sent_b++);
      std::this_thread::sleep_for(5ms);
    }
  }
  // Everything arrives; then a little longer, to see that nothing arrives twice.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (Bridged(dir_b, "site-a").size() < size_t(sent_a) ||
          Bridged(dir_a, "site-b").size() < size_t(sent_b)))
    std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(1500ms);
  const std::vector<int> at_b = Bridged(dir_b, "site-a");
  const std::vector<int> at_a = Bridged(dir_a, "site-b");
  CHECK_MESSAGE(CheckOnceInOrder(at_b, sent_a) == "", "site-a -> site-b\n" << host_b->Log());
  CHECK_MESSAGE(CheckOnceInOrder(at_a, sent_b) == "", "site-b -> site-a\n" << host_a.Log());
  CHECK(sent_a == 560);
  CHECK(sent_b == 320);
  CHECK(std::chrono::steady_clock::now() - started < 60s);

  // The link came back each time: site-a saw its partner disconnect and return.
  auto up = ReceiveTopic(*client_a, "bridge.link.status", 5s, [](const host::BusMessage& m) {
    auto j = nlohmann::json::parse(m.body, nullptr, false);
    return j.is_object() && j.value("link_state", "") == "up" && j.value("backlog", -1) == 0 &&
           j["counters"].value("reconnects", 0) >= 3;
  });
  if (!up) {
    CHECK(client_a->Publish("device.status.request", "{}").ok());
    up = ReceiveTopic(*client_a, "bridge.link.status", 5s, [](const host::BusMessage& m) {
      auto j = nlohmann::json::parse(m.body, nullptr, false);
      return j.is_object() && j.value("link_state", "") == "up" && j.value("backlog", -1) == 0 &&
             j["counters"].value("reconnects", 0) >= 3;
    });
  }
  CHECK_MESSAGE(up.has_value(), host_a.Log());

  client_a.reset();
  auto exit_b = host_b->StopWith(SIGTERM, 15s);
  CHECK_MESSAGE((exit_b && exit_b->ExitedWith(0)), host_b->Log());
  auto exit_a = host_a.StopWith(SIGTERM, 15s);
  CHECK_MESSAGE((exit_a && exit_a->ExitedWith(0)), host_a.Log());
  CHECK(Contains(host_a.Log(), "bridge of site site-a: received 320"));
}

TEST_CASE("a full outbox is an alert and an error per message, never a silent drop") {
  TempDir dir;
  std::string why;
  const uint16_t dead = FreePort();  // nobody listens: the link stays down
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("blo", SitePlugin("bridge"),
                                          "site = site-a\npartners = site-b@tcp://127.0.0.1:" +
                                              std::to_string(dead) + "\nforward = test.\n"
                                              "outbox = " + dir.File("o.db") +
                                              "\noutbox_limit = 5\nstatus_interval_ms = 200"));
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"alert.raised", "bridge.link.status"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  for (int i = 0; i < 8; ++i) REQUIRE(client->Publish("test.stream", "{\"n\":1}").ok());
  auto alert = ReceiveTopic(*client, "alert.raised", 10s);
  REQUIRE_MESSAGE(alert.has_value(), host.Log());
  auto a = nlohmann::json::parse(alert->body);
  CHECK(a.value("partner", "") == "site-b");
  CHECK(a.value("severity", "") == "critical");
  CHECK(alert->envelope.source == "blo");
  auto status = ReceiveTopic(*client, "bridge.link.status", 10s, [](const host::BusMessage& m) {
    auto j = nlohmann::json::parse(m.body, nullptr, false);
    return j.is_object() && j.value("backlog", 0) == 5 &&
           j["counters"].value("refused_full", 0) == 3;
  });
  CHECK_MESSAGE(status.has_value(), host.Log());
  CHECK(host.WaitForLog("outbox for site-b is full (3 messages not queued so far)", 5s));
  client.reset();
  auto exit = host.StopWith(SIGTERM, 15s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  CHECK(Contains(host.Log(), "not queued (outbox full) 3"));
}

TEST_CASE("bridge settings are checked at create, naming the setting") {
  TempDir dir;
  std::string why;
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("blo", SitePlugin("bridge"),
                                          "site = a\nlisten = tcp://10.1.2.3:7600\noutbox = " +
                                              dir.File("o.db") + "\napplied = " +
                                              dir.File("a.db")));
  auto exit = host.WaitExit(10s);
  REQUIRE(exit.has_value());
  CHECK_FALSE(exit->ExitedWith(0));
  CHECK_MESSAGE(Contains(host.Log(), "plain TCP is allowed only on loopback"), host.Log());
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
