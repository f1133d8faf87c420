// The SSE fan-out (plugins/console/sse_hub.h): a slow client never makes Broadcast wait; it
// is told to reload, ended and counted.
#include "sse_hub.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

namespace kc = kordon::console;
using namespace std::chrono_literals;

namespace {

TEST_CASE("every client gets every frame in order") {
  kc::SseHub hub(8, 4);
  auto a = hub.Connect();
  auto b = hub.Connect();
  REQUIRE(a);
  REQUIRE(b);
  hub.Broadcast(kc::SseFrame("bus", "1"));
  hub.Broadcast(kc::SseFrame("bus", "2"));
  std::string f;
  for (auto& c : {a, b}) {
    REQUIRE(c->Take(&f, 10ms) == kc::SseClient::Next::kFrame);
    CHECK(f == "event: bus\ndata: 1\n\n");
    REQUIRE(c->Take(&f, 10ms) == kc::SseClient::Next::kFrame);
    CHECK(f == "event: bus\ndata: 2\n\n");
    CHECK(c->Take(&f, 1ms) == kc::SseClient::Next::kIdle);
  }
  CHECK(hub.stats().frames == 4);
}

TEST_CASE("a client that stops reading overflows: reload, end, counted; others go on") {
  kc::SseHub hub(4, 4);
  auto slow = hub.Connect();
  auto fast = hub.Connect();
  std::string f;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    hub.Broadcast(kc::SseFrame("bus", std::to_string(i)));
    REQUIRE(fast->Take(&f, 10ms) == kc::SseClient::Next::kFrame);
    CHECK(f == kc::SseFrame("bus", std::to_string(i)));
  }
  // Broadcast never waited for the slow one (1000 frames in well under a second).
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  REQUIRE(slow->Take(&f, 10ms) == kc::SseClient::Next::kFrame);
  CHECK(f.rfind("event: reload\n", 0) == 0);
  CHECK(slow->Take(&f, 10ms) == kc::SseClient::Next::kEnd);
  kc::SseHub::Stats s = hub.stats();
  CHECK(s.overflows == 1);
  CHECK(s.clients == 1);
}

TEST_CASE("max_clients is enforced and counted; CloseAll ends waiting clients") {
  kc::SseHub hub(4, 1);
  auto a = hub.Connect();
  REQUIRE(a);
  CHECK_FALSE(hub.Connect());
  CHECK(hub.stats().refused == 1);
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    hub.CloseAll();
  });
  std::string f;
  CHECK(a->Take(&f, 5s) == kc::SseClient::Next::kEnd);
  closer.join();
  hub.Disconnect(a);
  CHECK(hub.Connect());
}

}  // namespace
