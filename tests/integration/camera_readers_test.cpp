// plate-reader and container-reader on a real device link: a tiny camera (a TCP server in this
// test) pushes feed lines to a kordon-host whose plugin connects to it, and a bus client
// watches the reads, the rejections and device.status — through garbage, a camera that goes
// silent, disconnects and reconnects.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

using Json = nlohmann::json;

// A camera: a TCP server on 127.0.0.1 that pushes lines to the one client it accepted.
class FakeCamera {
 public:
  FakeCamera() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(listener_, 4) == 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~FakeCamera() {
    CloseClient();
    close(listener_);
  }
  std::string link() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  bool Accept(std::chrono::milliseconds timeout) {
    pollfd p{listener_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    client_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    return client_ >= 0;
  }
  void Send(std::string_view bytes) {
    REQUIRE(send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void CloseClient() {
    if (client_ >= 0) close(client_);
    client_ = -1;
  }

 private:
  int listener_ = -1;
  int client_ = -1;
  uint16_t port_ = 0;
};

Json Body(const host::BusMessage& m) { return Json::parse(m.body, nullptr, false); }

std::function<bool(const host::BusMessage&)> State(const std::string& device,
                                                   const std::string& state) {
  return [=](const host::BusMessage& m) {
    const Json j = Body(m);
    return j.is_object() && j.value("device", "") == device && j.value("state", "") == state;
  };
}

std::function<bool(const host::BusMessage&)> Field(const std::string& name,
                                                   const std::string& value) {
  return [=](const host::BusMessage& m) {
    const Json j = Body(m);
    return j.is_object() && j.contains(name) && j[name] == value;
  };
}

// A line of random bytes without a terminator (seeded: the same bytes every run).
std::string RandomLine(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string line;
  while (line.size() < size) {
    const char c = static_cast<char>(rng() & 0xFF);
    if (c != '\n' && c != '\r') line.push_back(c);
  }
  return line;
}

TEST_SUITE("plate-reader") {

TEST_CASE("plate-reader publishes camera reads, rejects garbage and follows the camera") {
  FakeCamera camera;
  TempDir dir;
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("cam1", SitePlugin("plate-reader"),
                                          "lane = lane-1\nlink = " + camera.link() +
                                              "\ncamera = lane1-cam\nmin_confidence = 0.5"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  REQUIRE_MESSAGE(camera.Accept(10s), host.Log());
  auto client = ConnectClient(host.ready(), {"device.status", "scanner.plate"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  camera.Send(R"({"plate": "01 KG 123 ABC", "confidence": 0.93, "country": "KG", )"
              R"("region": "01", "image": "/var/spool/anpr/cam1/000123.jpg", )"
              R"("camera": "lane1-cam", "time": "2026-11-28T10:15:03.120Z", )"
              R"("direction": "in", "id": "000123"})"
              "\r\n");
  auto read = ReceiveTopic(*client, "scanner.plate.read", 10s);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  CHECK(read->envelope.lane == "lane-1");
  CHECK(read->envelope.source == "cam1");
  CHECK(read->envelope.schema_version == 2);
  Json j = Body(*read);
  CHECK(j["plate"] == "01KG123ABC");
  CHECK(j["read_id"] == "000123");
  CHECK(j["direction"] == "in");
  CHECK(j["script"] == "latin");
  CHECK(j["low_confidence"] == false);

  // The delimited form, Cyrillic look-alikes, a low confidence; a heartbeat publishes nothing.
  camera.Send("HEARTBEAT;2026-11-28T10:15:04Z;lane1-cam\n"
              "PLATE;2026-11-28T10:15:05Z;lane1-cam;02 KG 345 АВС;0.41;KG;02;\n");
  read = ReceiveTopic(*client, "scanner.plate.read", 10s);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  j = Body(*read);
  CHECK(j["plate"] == "02KG345ABC");
  CHECK(j["raw"] == "02 KG 345 АВС");
  CHECK(j["low_confidence"] == true);
  CHECK(j["image"].is_null());

  // Garbage: each bad line is one rejection, and the feed goes on.
  camera.Send(RandomLine(300, 7) + "\n");
  camera.Send(std::string("PLATE;;lane1-cam;AB\0C;;;;\n", 26));
  camera.Send("{\"plate\": \"\xC3\x28\"}\n");    // invalid UTF-8 in JSON
  camera.Send("PLATE;;lane1-\xFF;ABC;;;;\n");  // invalid UTF-8, delimited
  camera.Send(std::string(4097, 'A') + "\n");   // over the 4096-byte limit
  camera.Send("CONTAINER;;ccr;CSQU3054383;;;\n");
  camera.Send(R"({"plate": "01/KG"})" "\n");
  camera.Send(R"({"plate": "END 1"})" "\n");
  std::vector<host::BusMessage> skipped;
  read = ReceiveTopic(*client, "scanner.plate.read", 10s, Field("plate", "END1"), &skipped);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  size_t rejected = 0;
  for (const host::BusMessage& m : skipped) {
    if (m.topic != "scanner.plate.rejected") continue;
    ++rejected;
    const Json r = Body(m);
    REQUIRE(r.is_object());
    CHECK(r["camera"].is_string());
    CHECK(r["link"] == camera.link());
    CHECK(r["raw"].get<std::string>().size() <= 512);
    CHECK_FALSE(r["reason"].get<std::string>().empty());
  }
  CHECK_MESSAGE(rejected == 7, host.Log());
  for (const host::BusMessage& m : skipped) CHECK(m.topic != "scanner.plate.read");

  // The camera drops the connection: offline; it comes back: idle, one reconnect.
  camera.CloseClient();
  auto offline = ReceiveTopic(*client, "device.status", 10s, State("cam1", "offline"));
  REQUIRE_MESSAGE(offline.has_value(), host.Log());
  CHECK(Body(*offline)["previous"] == "idle");
  CHECK(Body(*offline)["kind"] == "plate-camera");
  REQUIRE(camera.Accept(10s));
  auto idle = ReceiveTopic(*client, "device.status", 10s, State("cam1", "idle"));
  REQUIRE_MESSAGE(idle.has_value(), host.Log());
  CHECK(Body(*idle)["stats"].value("reconnects", 0) == 1);
  CHECK(Body(*idle)["stats"].value("reads_published", 0) == 3);
  camera.Send(R"({"plate": "AFTER 2"})" "\n");
  read = ReceiveTopic(*client, "scanner.plate.read", 10s, Field("plate", "AFTER2"));
  REQUIRE_MESSAGE(read.has_value(), host.Log());

  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  CHECK(Contains(host.Log(), "7 lines rejected"));
}

TEST_CASE("plate-reader reports a silent camera as an error, and idle again on a heartbeat") {
  FakeCamera camera;
  TempDir dir;
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("cam1", SitePlugin("plate-reader"),
                                          "link = " + camera.link() +
                                              "\nheartbeat_timeout_ms = 300"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"device.status"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  REQUIRE(camera.Accept(10s));
  // The plugin may have gone silent before the client was live: a heartbeat now restarts the
  // silence, whose end the client then sees for sure.
  camera.Send("HEARTBEAT;;lane1-cam\n");
  auto error = ReceiveTopic(*client, "device.status", 10s, State("cam1", "error"));
  REQUIRE_MESSAGE(error.has_value(), host.Log());
  CHECK(Body(*error)["reason"].get<std::string>().rfind("camera silent for ", 0) == 0);
  CHECK(Body(*error)["previous"] == "idle");
  camera.Send(R"({"heartbeat": true, "camera": "lane1-cam"})" "\n");
  auto idle = ReceiveTopic(*client, "device.status", 10s, State("cam1", "idle"));
  REQUIRE_MESSAGE(idle.has_value(), host.Log());
  CHECK(Body(*idle)["previous"] == "error");
  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
}

TEST_CASE("plate-reader takes scanner.plate.raw from the bus, with lane and crossing id") {
  TempDir dir;
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("cam1", SitePlugin("plate-reader"), "lane = lane-2"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner.plate"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  host::ClientPublishOptions options;
  options.lane = "lane-7";
  options.crossing_id = "X-42";
  REQUIRE(client->Publish("scanner.plate.raw", R"({"plate": "777 аек 05"})", options).ok());
  auto read = ReceiveTopic(*client, "scanner.plate.read", 10s);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  CHECK(read->envelope.lane == "lane-7");
  CHECK(read->envelope.crossing_id == "X-42");
  CHECK(Body(*read)["plate"] == "777AEK05");
  CHECK(Body(*read)["camera"] == "cam1");
  REQUIRE(client->Publish("scanner.plate.raw", R"({"plate": ["no"]})", options).ok());
  auto rejected = ReceiveTopic(*client, "scanner.plate.rejected", 10s);
  REQUIRE_MESSAGE(rejected.has_value(), host.Log());
  CHECK(rejected->envelope.crossing_id == "X-42");
  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
}

TEST_CASE("plate-reader refuses bad settings at create, naming the setting") {
  for (const std::string& setting :
       {std::string("link = tcp://127.0.0.1"), std::string("min_confidence = 1.5"),
        std::string("heartbeat_timeout_ms = 5"), std::string("camera = ")}) {
    CAPTURE(setting);
    TempDir dir;
    HostProcess bad(dir, HostSection(dir) + PluginSection("cam1", SitePlugin("plate-reader"),
                                                          setting.rfind("link", 0) == 0
                                                              ? setting
                                                              : setting + "\nlink = "
                                                                          "tcp://127.0.0.1:9"));
    auto exit = bad.WaitExit(10s);
    REQUIRE_MESSAGE(exit.has_value(), bad.Log());
    CHECK_FALSE(exit->ExitedWith(0));
    CHECK_MESSAGE(Contains(bad.Log(), "setting '" + setting.substr(0, setting.find(' ')) + "'"),
                  bad.Log());
  }
}

}  // TEST_SUITE

TEST_SUITE("container-reader") {

TEST_CASE("container-reader checks ISO 6346, reports invalid codes and follows the camera") {
  FakeCamera camera;
  TempDir dir;
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("ccr1", SitePlugin("container-reader"),
                                          "lane = lane-1\nlink = " + camera.link()));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  REQUIRE_MESSAGE(camera.Accept(10s), host.Log());
  auto client = ConnectClient(host.ready(), {"device.status", "scanner.container"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  camera.Send(R"({"code": "CSQU 305438 3", "confidence": 0.88, "camera": "lane1-ccr", )"
              R"("position": "rear", "size_type": "22G1", "id": "77"})" "\n");
  auto read = ReceiveTopic(*client, "scanner.container.read", 10s);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  Json j = Body(*read);
  CHECK(j["code"] == "CSQU3054383");
  CHECK(j["valid"] == true);
  CHECK(j["size_type"] == "22G1");
  CHECK(j["owner"] == "CSQ");

  camera.Send("CONTAINER;2026-11-28T10:15:03Z;lane1-ccr;MSCU 123456-5;0.7;front;\n");
  read = ReceiveTopic(*client, "scanner.container.read", 10s);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  j = Body(*read);
  CHECK(j["valid"] == false);
  CHECK(j["check"]["expected"] == "6");
  CHECK(j["check"]["found"] == "5");

  camera.Send(std::string("garbage\0\xFF\n", 10));
  camera.Send("CONTAINER;;lane1-ccr;CSQU3O54383;;;\n");
  std::vector<host::BusMessage> skipped;
  read = ReceiveTopic(*client, "scanner.container.read", 10s, nullptr, &skipped);
  REQUIRE_MESSAGE(read.has_value(), host.Log());
  j = Body(*read);
  CHECK(j["repaired_valid"] == true);
  CHECK(j["repair"]["code"] == "CSQU3054383");
  size_t rejected = 0;
  for (const host::BusMessage& m : skipped) rejected += m.topic == "scanner.container.rejected";
  CHECK(rejected == 1);

  camera.CloseClient();
  auto offline = ReceiveTopic(*client, "device.status", 10s, State("ccr1", "offline"));
  REQUIRE_MESSAGE(offline.has_value(), host.Log());
  CHECK(Body(*offline)["kind"] == "container-camera");
  REQUIRE(camera.Accept(10s));
  REQUIRE_MESSAGE(
      ReceiveTopic(*client, "device.status", 10s, State("ccr1", "idle")).has_value(),
      host.Log());

  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
