// Messages between the outside world and plugins, through the real bus on 127.0.0.1: pings
// and pongs, timer ticks, requests and replies in both directions, lanes, and what the host
// does with frames that are not bus messages.
#include <signal.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "envelope.h"
#include "host_harness.h"

namespace kordon::testing {
namespace {

using host::BusMessage;
using host::ClientPublishOptions;

// Starts a host on `config` and connects a live client subscribed to `prefixes`.
struct Site {
  TempDir dir;
  std::unique_ptr<HostProcess> host;
  std::unique_ptr<host::BusClient> client;
  std::string why;

  bool Start(const std::string& plugins, const std::vector<std::string>& prefixes,
             const std::string& host_extra = "") {
    host = std::make_unique<HostProcess>(dir, HostSection(dir, host_extra) + plugins);
    if (!host->WaitReady(10s, &why)) return false;
    client = ConnectClient(host->ready(), prefixes, &why);
    if (!client) why += "\nlog:\n" + host->Log();
    return client != nullptr;
  }

  // SIGTERM; true when the host exited 0 within 10 s.
  bool Stop(std::string* how) {
    client.reset();
    auto s = host->StopWith(SIGTERM, 10s);
    *how = (s ? s->ToString() : "did not exit within 10 s") + "; log:\n" + host->Log();
    return s && s->ExitedWith(0);
  }
};

std::string Correlation(const BusMessage& m) {
  return host::IsZeroId(m.envelope.correlation_id) ? "" : host::IdToHex(m.envelope.correlation_id);
}

TEST_SUITE("messaging") {

TEST_CASE("a C plugin answers pings, ticks and answers requests from outside") {
  Site site;
  REQUIRE_MESSAGE(site.Start(PluginSection("echo", TestPlugin("test_c_echo"), "lane = lane-7\ntick_ms = 20"),
                             {"test", "client.reply"}),
                  site.why);
  host::BusClient& client = *site.client;

  SUBCASE("test.ping from outside comes back as test.pong, body and crossing id unchanged") {
    ClientPublishOptions o;
    o.lane = "lane-9";
    o.crossing_id = "KG-2024-000123";
    const std::string body = R"({"plate":"01KG123ABC","weight_kg":18250,"nested":{"a":[1,2,3]}})";
    auto id = client.Publish("test.ping", body, o);
    REQUIRE(id.ok());
    auto pong = ReceiveTopic(client, "test.pong", 5s);
    REQUIRE_MESSAGE(pong.has_value(), site.host->Log());
    CHECK(pong->body == body);
    CHECK(pong->envelope.crossing_id == "KG-2024-000123");
    CHECK(pong->envelope.source == "echo");
    CHECK(pong->envelope.lane == "lane-7");  // the instance's lane, as test_c_echo publishes
    CHECK(host::IdToHex(pong->envelope.id) != *id);
    // Exactly one pong for one ping.
    std::vector<BusMessage> later = ReceiveFor(client, 300ms);
    for (const BusMessage& m : later) CHECK(m.topic != "test.pong");
  }

  SUBCASE("tick_ms ticks arrive, numbered without gaps") {
    std::vector<int64_t> numbers;
    while (numbers.size() < 5) {
      auto tick = ReceiveTopic(client, "test.tick", 2s);
      REQUIRE_MESSAGE(tick.has_value(), site.host->Log());
      CHECK(tick->envelope.source == "echo");
      CHECK(tick->envelope.lane == "lane-7");
      nlohmann::json j = nlohmann::json::parse(tick->body, nullptr, false);
      REQUIRE(j.contains("n"));
      numbers.push_back(j["n"].get<int64_t>());
    }
    for (size_t i = 1; i < numbers.size(); ++i) CHECK(numbers[i] == numbers[i - 1] + 1);
  }

  SUBCASE("a request to service echo from outside gets a reply on its reply_to topic") {
    ClientPublishOptions o;
    o.reply_to = "client.reply.t1";
    o.crossing_id = "CR-7";
    const std::string body = R"({"q":"hello"})";
    auto id = client.Publish("rpc.echo", body, o);
    REQUIRE(id.ok());
    auto reply = ReceiveTopic(client, "client.reply.t1", 5s);
    REQUIRE_MESSAGE(reply.has_value(), site.host->Log());
    CHECK(Correlation(*reply) == *id);
    CHECK(reply->body == body);
    CHECK((reply->envelope.flags & host::kFlagErrorReply) == 0);
    CHECK(reply->envelope.source == "echo");
    CHECK(reply->envelope.crossing_id == "CR-7");

    o.reply_to = "client.reply.t2";
    auto failing = client.Publish("rpc.echo", R"({"q":"fail"})", o);
    REQUIRE(failing.ok());
    auto error = ReceiveTopic(client, "client.reply.t2", 5s);
    REQUIRE_MESSAGE(error.has_value(), site.host->Log());
    CHECK(Correlation(*error) == *failing);
    CHECK((error->envelope.flags & host::kFlagErrorReply) != 0);
    CHECK(nlohmann::json::parse(error->body) == nlohmann::json({{"error", "asked to fail"}}));
  }

  std::string how;
  CHECK_MESSAGE(site.Stop(&how), how);
}

TEST_CASE("a plugin asks another plugin's service and gets the answer") {
  Site site;
  // test_cpp_probe's default subscription "test.probe" covers its own test.probe.seen (see the
  // "test-plugins" suite); a narrower one keeps it from feeding itself here.
  REQUIRE_MESSAGE(site.Start(PluginSection("probe", TestPlugin("test_cpp_probe"), "subscribe = test.probe.in") +
                                 PluginSection("asker", TestPlugin("test_c_echo"), "request_service = probe"),
                             {"test"}),
                  site.why);
  REQUIRE(site.client->Publish("test.ping", R"({"ask":true})").ok());
  auto reply = ReceiveTopic(*site.client, "test.reply", 5s);
  REQUIRE_MESSAGE(reply.has_value(), site.host->Log());
  CHECK(reply->envelope.source == "asker");
  nlohmann::json j = nlohmann::json::parse(reply->body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["status"] == "KORDON_OK");
  CHECK(j["body"] == nlohmann::json({{"pong", true}, {"n", 1}}));

  std::string how;
  CHECK_MESSAGE(site.Stop(&how), how);
  auto stats = ParseInstanceStats(site.host->Log());
  CHECK(stats["asker"].requests == 1);
  CHECK(stats["asker"].timed_out == 0);
  CHECK(stats["probe"].received == 1);  // the request, nothing else
}

TEST_CASE("a request nobody provides fails with KORDON_E_TIMEOUT after request_timeout_ms") {
  Site site;
  REQUIRE_MESSAGE(site.Start(PluginSection("asker", TestPlugin("test_c_echo"),
                                           "request_service = probe\nrequest_timeout_ms = 400"),
                             {"test"}),
                  site.why);
  const auto sent = std::chrono::steady_clock::now();
  REQUIRE(site.client->Publish("test.ping", R"({"ask":true})").ok());
  auto reply = ReceiveTopic(*site.client, "test.reply", 5s);
  const auto elapsed = std::chrono::steady_clock::now() - sent;
  REQUIRE_MESSAGE(reply.has_value(), site.host->Log());
  nlohmann::json j = nlohmann::json::parse(reply->body, nullptr, false);
  CHECK(j["status"] == "KORDON_E_TIMEOUT");
  CHECK(j["body"].is_null());
  CHECK(elapsed >= 380ms);
  CHECK(elapsed < 3s);
  CHECK(Contains(site.host->Log(), "got no reply in time"));

  std::string how;
  CHECK_MESSAGE(site.Stop(&how), how);
  auto stats = ParseInstanceStats(site.host->Log());
  CHECK(stats["asker"].requests == 1);
  CHECK(stats["asker"].timed_out == 1);
}

TEST_CASE("two instances of one plugin on two lanes each answer with their own lane") {
  Site site;
  REQUIRE_MESSAGE(site.Start(PluginSection("echo-a", TestPlugin("test_c_echo"), "lane = lane-1\npong_topic = test.pong.a") +
                                 PluginSection("echo-b", TestPlugin("test_c_echo"), "lane = lane-2\npong_topic = test.pong.b"),
                             {"test"}),
                  site.why);
  CHECK(site.host->ready().instances == std::vector<std::string>{"echo-a", "echo-b"});
  ClientPublishOptions o;
  o.crossing_id = "X-1";
  REQUIRE(site.client->Publish("test.ping", R"({"both":true})", o).ok());
  std::vector<BusMessage> got = ReceiveFor(*site.client, 1500ms);
  int a = 0, b = 0;
  for (const BusMessage& m : got) {
    if (m.topic == "test.pong.a") {
      ++a;
      CHECK(m.envelope.lane == "lane-1");
      CHECK(m.envelope.source == "echo-a");
      CHECK(m.envelope.crossing_id == "X-1");
    } else if (m.topic == "test.pong.b") {
      ++b;
      CHECK(m.envelope.lane == "lane-2");
      CHECK(m.envelope.source == "echo-b");
      CHECK(m.envelope.crossing_id == "X-1");
    }
  }
  CHECK(a == 1);
  CHECK(b == 1);
  std::string how;
  CHECK_MESSAGE(site.Stop(&how), how);
}

}  // TEST_SUITE("messaging")

TEST_SUITE("malformed") {

TEST_CASE("malformed frames from outside are rejected, announced and counted; the host stays up") {
  Site site;
  REQUIRE_MESSAGE(site.Start(PluginSection("echo", TestPlugin("test_c_echo")), {"test", "bus.frame.rejected"},
                             "bus.max_body_bytes = 1024"),
                  site.why);
  host::BusClient& client = *site.client;

  host::Envelope e;
  e.id = host::NewMessageId();
  e.time_us = host::NowMicros();
  e.source = "integration-test";
  const std::string envelope = host::EncodeEnvelope(e);
  host::Envelope unknown_flags = e;
  unknown_flags.flags = 0x4;
  std::string wrong_magic = envelope;
  wrong_magic[0] = 'X';
  const std::string body = R"({"ok":true})";

  struct Bad {
    std::string what;
    std::vector<std::string> frames;
    std::string reason_fragment;
  };
  const std::vector<Bad> bad = {
      {"one frame", {"test.ping"}, "1 frame"},
      {"four frames", {"test.ping", envelope, body, "extra"}, "4 frames"},
      {"bad topic", {"Test..Ping", envelope, body}, "topic"},
      {"wrong magic", {"test.ping", wrong_magic, body}, "magic"},
      {"truncated envelope", {"test.ping", envelope.substr(0, 30), body}, "shorter"},
      {"body not JSON", {"test.ping", envelope, "plate=01KG123ABC"}, "JSON"},
      {"body a JSON array", {"test.ping", envelope, R"([{"ok":true}])"}, "JSON object"},
      {"invalid UTF-8 in body", {"test.ping", envelope, "{\"name\":\"\xC3\x28\xFF\"}"}, "UTF-8"},
      {"reserved topic", {"$ctl.marker", envelope, body}, "reserved"},
      {"unknown envelope flags", {"test.ping", host::EncodeEnvelope(unknown_flags), body}, "unknown bits"},
      {"body over bus.max_body_bytes", {"test.ping", envelope, R"({"pad":")" + std::string(1500, 'x') + R"("})"},
       "more than the limit of 1024"},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    CAPTURE(bad[i].what);
    REQUIRE(client.SendRaw(bad[i].frames).ok());
    auto event = ReceiveTopic(client, "bus.frame.rejected", 5s);
    REQUIRE_MESSAGE(event.has_value(), site.host->Log());
    nlohmann::json j = nlohmann::json::parse(event->body, nullptr, false);
    REQUIRE(j.is_object());
    CAPTURE(event->body);
    REQUIRE(j.contains("reason"));
    CHECK(Contains(j["reason"].get<std::string>(), bad[i].reason_fragment));
    CHECK(j["frames"] == bad[i].frames.size());
    CHECK(j["rejected_total"] == i + 1);
    CHECK(event->envelope.source == "integ");
    CHECK(site.host->child().running());
  }

  // Nothing malformed reached the plugin, and a valid message still goes through.
  REQUIRE(client.Publish("test.ping", R"({"after":"rejections"})").ok());
  std::vector<BusMessage> skipped;
  auto pong = ReceiveTopic(client, "test.pong", 5s, nullptr, &skipped);
  REQUIRE_MESSAGE(pong.has_value(), site.host->Log());
  CHECK(pong->body == R"({"after":"rejections"})");
  for (const BusMessage& m : skipped) CHECK(m.topic != "test.pong");

  std::string how;
  REQUIRE_MESSAGE(site.Stop(&how), how);
  const std::string log = site.host->Log();
  CHECK(Contains(log, "external rejected " + std::to_string(bad.size()) + ","));
  auto bus = ParseBusStats(log);
  REQUIRE(bus.has_value());
  CHECK(bus->external_rejected == bad.size());
  auto stats = ParseInstanceStats(log);
  CHECK(stats["echo"].received == 1);
  CHECK(stats["echo"].published == 1);
}

}  // TEST_SUITE("malformed")

TEST_SUITE("malformed-oversize") {

// bus.h promises that a bad frame from outside is "counted, logged, answered with a
// bus.frame.rejected event and dropped". A frame larger than bus.max_body_bytes + 4096 is
// refused by ZeroMQ itself (ZMQ_MAXMSGSIZE on the ingress socket), which closes the client's
// connection instead.
TEST_CASE("a frame far over bus.max_body_bytes is rejected visibly, and the client's next message arrives") {
  Site site;
  REQUIRE_MESSAGE(site.Start(PluginSection("echo", TestPlugin("test_c_echo")), {"test", "bus.frame.rejected"},
                             "bus.max_body_bytes = 1024"),
                  site.why);
  host::Envelope e;
  e.id = host::NewMessageId();
  e.time_us = host::NowMicros();
  e.source = "integration-test";
  const std::string huge = R"({"pad":")" + std::string(20000, 'x') + R"("})";
  REQUIRE(site.client->SendRaw({"test.ping", host::EncodeEnvelope(e), huge}).ok());
  REQUIRE(site.client->Publish("test.ping", R"({"after":"oversize"})").ok());
  std::vector<BusMessage> got = ReceiveFor(*site.client, 2000ms);
  int rejected = 0, pongs = 0;
  for (const BusMessage& m : got) {
    rejected += m.topic == "bus.frame.rejected";
    pongs += m.topic == "test.pong" && m.body == R"({"after":"oversize"})";
  }
  CHECK(site.host->child().running());
  CHECK(rejected == 1);
  CHECK(pongs == 1);
  // Once ZeroMQ has reconnected, the same client gets through again.
  REQUIRE(site.client->Publish("test.ping", R"({"later":true})").ok());
  CHECK(ReceiveTopic(*site.client, "test.pong", 5s).has_value());
  std::string how;
  CHECK_MESSAGE(site.Stop(&how), how);
  auto bus = ParseBusStats(site.host->Log());
  REQUIRE(bus.has_value());
  CHECK(bus->external_rejected == 1);
}

}  // TEST_SUITE("malformed-oversize")

TEST_SUITE("test-plugins") {

// test_cpp_probe.cpp promises one test.probe.seen per message it receives. Its default
// subscription must not cover what it publishes itself, or it would answer its own answers.
TEST_CASE("test_cpp_probe with its default subscription answers one message with one test.probe.seen") {
  Site site;
  REQUIRE_MESSAGE(site.Start(PluginSection("probe", TestPlugin("test_cpp_probe")), {"test"}), site.why);
  REQUIRE(site.client->Publish("test.probe.in", R"({"once":true})").ok());
  std::vector<BusMessage> got = ReceiveFor(*site.client, 500ms);
  int seen = 0;
  for (const BusMessage& m : got) seen += m.topic == "test.probe.seen";
  CHECK(seen == 1);
  std::string how;
  CHECK_MESSAGE(site.Stop(&how), how);
  CHECK(ParseInstanceStats(site.host->Log())["probe"].received == 1);
}

}  // TEST_SUITE("test-plugins")

}  // namespace
}  // namespace kordon::testing
