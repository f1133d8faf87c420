// CURVE on the host bus's TCP endpoints (bus.secret_key_file, bus.allowed_keys) with a real
// kordon-host and keys made by `kordon keys generate`:
//  - a client with an allowed key publishes and subscribes (also `kordon pub --server-key`);
//  - a client with an unknown key, a client without CURVE and a client whose handshake fails
//    (a wrong server key: what a tampered handshake looks like) are refused; nothing they
//    send reaches the bus; the refusals are counted in the exit statistics and logged;
//  - a non-loopback plain endpoint, and a secret key file open to others, are refused at
//    start with a message naming the setting.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <zmq.hpp>

#include "envelope.h"
#include "host_harness.h"

namespace kordon::testing {
namespace {

// The Z85 line of a key file written by `kordon keys generate` (a comment line, then the key).
std::string KeyOf(const std::string& path) {
  std::string text = ReadFileOrEmpty(path);
  const size_t nl = text.find('\n');
  return nl == std::string::npos ? "" : text.substr(nl + 1, 40);
}

// A client of a CURVE bus with the given keys, subscribed to `prefixes` (and client.sync).
std::unique_ptr<host::BusClient> CurveClient(const ReadyInfo& ready,
                                             const std::string& server_pub,
                                             const std::string& key_file,
                                             const std::vector<std::string>& prefixes,
                                             const std::string& source) {
  auto c = std::make_unique<host::BusClient>(source);
  if (!server_pub.empty()) {
    host::Status s = c->UseCurve(server_pub, key_file);
    REQUIRE_MESSAGE(s.ok(), s.message());
  }
  for (const std::string& p : prefixes) c->Subscribe(p);
  c->Subscribe("client.sync");
  REQUIRE(c->ConnectEgress(ready.egress).ok());
  REQUIRE(c->ConnectIngress(ready.ingress).ok());
  return c;
}

struct CurveStats {
  uint64_t total = 0, key = 0, mechanism = 0, handshake = 0;
};

std::optional<CurveStats> ParseCurveStats(const std::string& log) {
  static const std::regex kLine(
      R"(bus CURVE: refused clients (\d+) \(unknown key (\d+), no CURVE (\d+), )"
      R"(failed handshake (\d+)\))");
  std::smatch m;
  if (!std::regex_search(log, m, kLine)) return std::nullopt;
  return CurveStats{std::stoull(m[1]), std::stoull(m[2]), std::stoull(m[3]), std::stoull(m[4])};
}

TEST_SUITE("bus-curve") {

TEST_CASE("a CURVE bus admits the allowed key and refuses, counts and logs the others") {
  TempDir keys, dir;
  std::string out, err;
  for (const char* who : {"host", "client", "stranger"})
    REQUIRE_MESSAGE(RunKordon(keys, {"keys", "generate", "--out", keys.File(who)}, &out, &err) ==
                        0, err);
  const std::string host_pub = keys.File("host.pub");
  HostProcess host(dir, HostSection(dir, "bus.secret_key_file = " + keys.File("host.key") +
                                             "\nbus.allowed_keys = " + keys.File("client.pub")));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  CHECK(host.WaitForLog("CURVE on ingress and egress; 1 client key(s) allowed", 5s));

  auto good = CurveClient(host.ready(), host_pub, keys.File("client.key"), {"test"}, "good");
  REQUIRE_MESSAGE(good->WaitUntilLive(5s).ok(), host.Log());
  REQUIRE(good->Publish("test.allowed", R"({"n":1})").ok());
  auto got = ReceiveTopic(*good, "test.allowed", 5s);
  REQUIRE_MESSAGE(got.has_value(), host.Log());
  CHECK(got->envelope.source == "good");

  // The intruders: an unknown key, no CURVE at all, and the allowed client key with a wrong
  // server key (the server cannot open the client's HELLO box: a failed handshake). Raw
  // sockets with linger 0, each a PUSH with a valid message queued and a SUB to everything.
  const std::string server = KeyOf(host_pub);
  const std::string stranger_pub = KeyOf(keys.File("stranger.pub"));
  const std::string stranger_sec = KeyOf(keys.File("stranger.key"));
  const std::string client_pub = KeyOf(keys.File("client.pub"));
  const std::string client_sec = KeyOf(keys.File("client.key"));
  struct Keys {
    std::string server, pub, sec;  // all "" = plain
  };
  const std::vector<Keys> intruders = {{server, stranger_pub, stranger_sec},
                                       {"", "", ""},
                                       {stranger_pub, client_pub, client_sec}};
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> sockets;
  const std::string envelope = host::EncodeEnvelope(host::NewEnvelope("intruder"));
  for (const Keys& k : intruders) {
    for (auto type : {zmq::socket_type::push, zmq::socket_type::sub}) {
      zmq::socket_t s(ctx, type);
      s.set(zmq::sockopt::linger, 0);
      if (!k.server.empty()) {
        s.set(zmq::sockopt::curve_serverkey, k.server);
        s.set(zmq::sockopt::curve_publickey, k.pub);
        s.set(zmq::sockopt::curve_secretkey, k.sec);
      }
      if (type == zmq::socket_type::sub) {
        s.set(zmq::sockopt::subscribe, "");
        s.connect(host.ready().egress);
      } else {
        s.connect(host.ready().ingress);
        s.send(zmq::str_buffer("test.intruder"), zmq::send_flags::sndmore);
        s.send(zmq::buffer(envelope), zmq::send_flags::sndmore);
        s.send(zmq::str_buffer(R"({"n":666})"), zmq::send_flags::none);
      }
      sockets.push_back(std::move(s));
    }
  }
  CHECK_MESSAGE(host.WaitForLog("client key " + stranger_pub + " is not allowed", 10s),
                host.Log());
  CHECK_MESSAGE(host.WaitForLog("(no CURVE): handshake failed", 10s), host.Log());
  CHECK_MESSAGE(host.WaitForLog("(failed CURVE handshake): handshake failed", 10s), host.Log());
  CHECK_MESSAGE(host.WaitForLog("cryptographic error", 10s), host.Log());
  CHECK_MESSAGE(host.WaitForLog("refused a client from 127.0.0.1:", 10s), host.Log());
  // Nothing of theirs reaches the bus (the allowed client subscribes to every test topic),
  // and they receive nothing of it.
  REQUIRE(good->Publish("test.allowed", R"({"n":2})").ok());
  auto messages = ReceiveFor(*good, 1500ms);
  int intruder = 0, allowed = 0;
  for (const auto& m : messages) {
    intruder += m.topic == "test.intruder";
    allowed += m.topic == "test.allowed";
  }
  CHECK(intruder == 0);
  CHECK(allowed == 1);
  for (size_t i = 1; i < sockets.size(); i += 2) {
    zmq::message_t m;
    CHECK_FALSE(sockets[i].recv(m, zmq::recv_flags::dontwait).has_value());
  }
  sockets.clear();

  // The command-line tool with the client's key.
  const std::string ingress = host.ready().ingress, egress = host.ready().egress;
  CHECK_MESSAGE(RunKordon(dir, {"pub", "test.cli", R"({"n":3})", "--ingress", ingress,
                                "--egress", egress, "--server-key", host_pub, "--key",
                                keys.File("client.key")}, &out, &err) == 0, err);
  CHECK(RunKordon(dir, {"pub", "test.cli", "{}", "--ingress", ingress, "--egress", egress,
                        "--key", keys.File("client.key")}, &out, &err) == 1);
  CHECK(Contains(err, "--key needs --server-key"));

  good.reset();
  auto exit = host.StopWith(SIGTERM, 15s);
  REQUIRE_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  auto stats = ParseCurveStats(host.Log());
  REQUIRE_MESSAGE(stats.has_value(), host.Log());
  CHECK(stats->key >= 1);
  CHECK(stats->mechanism >= 1);
  CHECK(stats->handshake >= 1);
  CHECK(stats->total == stats->key + stats->mechanism + stats->handshake);
  auto bus = ParseBusStats(host.Log());
  REQUIRE(bus.has_value());
  CHECK(bus->external_rejected == 0);
}

TEST_CASE("plain TCP beyond loopback and an exposed secret key are refused at start") {
  TempDir keys, dir;
  std::string out, err;
  REQUIRE_MESSAGE(RunKordon(keys, {"keys", "generate", "--out", keys.File("host")}, &out, &err) ==
                      0, err);
  {
    HostProcess host(dir, "[host]\nbus.ingress = tcp://0.0.0.0:0\nbus.egress =\n");
    auto exit = host.WaitExit(10s);
    REQUIRE(exit.has_value());
    CHECK(exit->ExitedWith(1));
    CHECK_MESSAGE(Contains(host.Log(), "bus.ingress = 'tcp://0.0.0.0:0': plain TCP endpoints "
                                       "must be on loopback"), host.Log());
  }
  {
    ::chmod(keys.File("host.key").c_str(), 0644);
    HostProcess host(dir, "[host]\nbus.ingress = tcp://0.0.0.0:0\nbus.egress =\n"
                          "bus.secret_key_file = " + keys.File("host.key") +
                          "\nbus.allowed_keys = " + keys.File("host.pub") + "\n");
    auto exit = host.WaitExit(10s);
    REQUIRE(exit.has_value());
    CHECK(exit->ExitedWith(1));
    CHECK_MESSAGE(Contains(host.Log(), "bus.secret_key_file: secret key file"), host.Log());
    CHECK(Contains(host.Log(), "chmod 600"));
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
