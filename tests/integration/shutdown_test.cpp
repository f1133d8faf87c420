// Stopping the host: SIGTERM and SIGINT stop the plugins in reverse order of start and lose
// nothing that was accepted; a slow subscriber makes publishers wait and fail visibly instead
// of losing messages silently.
#include <signal.h>

#include <regex>
#include <thread>

#include <doctest/doctest.h>

#include "host_harness.h"

namespace kordon::testing {
namespace {

// A consumer listed first (started first, stopped last), then a producer ticking every ms.
std::string ProducerConsumerConfig(const TempDir& dir) {
  return HostSection(dir) +
         PluginSection("consumer", TestPlugin("test_cpp_probe"), "subscribe = test.tick") +
         PluginSection("producer", TestPlugin("test_c_echo"), "tick_ms = 1");
}

struct ShutdownRun {
  std::optional<ExitStatus> status;
  std::chrono::milliseconds took{0};
  std::string log;
};

ShutdownRun RunAndStop(const TempDir& dir, const std::string& config, int signal,
                       std::chrono::milliseconds run_for,
                       std::chrono::milliseconds stop_timeout = 10s) {
  ShutdownRun run;
  HostProcess host(dir, config);
  std::string why;
  if (!host.WaitReady(10s, &why)) {
    run.log = why;
    return run;
  }
  std::this_thread::sleep_for(run_for);
  const auto before = std::chrono::steady_clock::now();
  run.status = host.StopWith(signal, stop_timeout);
  run.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - before);
  run.log = host.Log();
  return run;
}

// Index of the first line of `log` after line `from` that names `instance` as stopping
// (statistics lines excepted), or -1.
long StopLineOf(const std::vector<std::string>& lines, size_t from, const std::string& instance) {
  static const std::regex kStop(R"(\bstop(ped|ping|s)?\b)", std::regex::icase);
  for (size_t i = from; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (Contains(l, ": received ") || !Contains(l, instance)) continue;
    if (std::regex_search(l, kStop)) return static_cast<long>(i);
  }
  return -1;
}

TEST_SUITE("shutdown") {

TEST_CASE("SIGTERM and SIGINT stop the host cleanly and every accepted message is delivered") {
  struct Round {
    int signal;
    const char* name;
  };
  const Round rounds[] = {{SIGTERM, "SIGTERM"}, {SIGTERM, "SIGTERM"}, {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"}};
  int round = 0;
  for (const Round& r : rounds) {
    CAPTURE(++round);
    CAPTURE(r.name);
    TempDir dir;
    ShutdownRun run = RunAndStop(dir, ProducerConsumerConfig(dir), r.signal, 1000ms);
    INFO(run.log);
    REQUIRE(run.status.has_value());
    CHECK(run.status->ExitedWith(0));
    CHECK(run.took < 5s);
    CHECK(Contains(run.log, std::string(r.name) + " received: stopping plugins in reverse order of start"));
    CHECK(Contains(run.log, "stopped cleanly"));

    auto stats = ParseInstanceStats(run.log);
    REQUIRE(stats.count("consumer") == 1);
    REQUIRE(stats.count("producer") == 1);
    const InstanceStatsLine& consumer = stats["consumer"];
    const InstanceStatsLine& producer = stats["producer"];
    // The producer really ran: ~1000 ticks a second, allow a loaded machine a tenth of that.
    CHECK(producer.published >= 100);
    CHECK(producer.published == producer.timers);
    CHECK(producer.publish_failures == 0);
    // Every tick the bus accepted reached the consumer, which was still running.
    CHECK(consumer.received == producer.published);
    CHECK(consumer.not_delivered_after_stop == 0);
    CHECK(consumer.dropped_before_start == 0);
    CHECK(consumer.handler_errors == 0);
    // test_cpp_probe publishes one test.probe.seen per message, also after the producer stopped.
    CHECK(consumer.published == consumer.received);
    CHECK(consumer.publish_failures == 0);
  }
}

TEST_CASE("the producer stops first: a consumer with a backlog gets all of it before it stops") {
  // integ_slow takes 2 ms a message against the producer's one per ms, so at SIGTERM hundreds
  // of ticks wait for it. Stopped in the wrong order (consumer first), it would drop them as
  // "not delivered after stop".
  TempDir dir;
  const std::string config = HostSection(dir) +
                             PluginSection("consumer", IntegrationPlugin("integ_slow"), "delay_ms = 2") +
                             PluginSection("producer", TestPlugin("test_c_echo"), "tick_ms = 1");
  ShutdownRun run = RunAndStop(dir, config, SIGTERM, 1000ms);
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(run.status->ExitedWith(0));
  CHECK(run.took < 8s);
  auto stats = ParseInstanceStats(run.log);
  REQUIRE(stats.count("consumer") == 1);
  REQUIRE(stats.count("producer") == 1);
  CHECK(stats["producer"].published >= 100);
  CHECK(stats["producer"].publish_failures == 0);
  CHECK(stats["consumer"].received == stats["producer"].published);
  CHECK(stats["consumer"].not_delivered_after_stop == 0);
}

}  // TEST_SUITE("shutdown")

TEST_SUITE("shutdown-stop-error") {

TEST_CASE("a plugin whose stop reports an error does not make the host report a stuck plugin") {
  TempDir dir;
  ShutdownRun run = RunAndStop(
      dir, HostSection(dir) + PluginSection("device", IntegrationPlugin("integ_slow"), "stop_status = failed"),
      SIGTERM, 100ms);
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(Contains(run.log, "plugin instance 'device' reported KORDON_E_FAILED from stop"));
  // Exit code 3 means "a plugin got stuck during shutdown"; this one returned at once.
  CHECK(run.status->exited);
  CHECK_FALSE(run.status->ExitedWith(3));
  CHECK_FALSE(Contains(run.log, "stuck"));
}

}  // TEST_SUITE("shutdown-stop-error")

TEST_SUITE("shutdown-stuck") {

// kordon-host's exit codes: "3 a plugin got stuck during shutdown". The host gives a lifecycle
// call plugin_call_timeout_ms (30 s by default; 1 s here).
TEST_CASE("a plugin stuck in stop makes the host exit 3, not report a clean stop") {
  TempDir dir;
  ShutdownRun run = RunAndStop(
      dir, HostSection(dir, "plugin_call_timeout_ms = 1000") +
               PluginSection("device", IntegrationPlugin("integ_slow"), "stop_delay_ms = 60000"),
      SIGTERM, 100ms, 20s);
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(Contains(run.log, "plugin instance 'device' has not returned from a call"));
  CHECK(run.status->ExitedWith(3));
  CHECK_FALSE(Contains(run.log, "stopped cleanly"));
}

}  // TEST_SUITE("shutdown-stuck")

TEST_SUITE("shutdown-log") {

TEST_CASE("the exit log shows the instances stopping in reverse order of start") {
  TempDir dir;
  ShutdownRun run = RunAndStop(dir, ProducerConsumerConfig(dir), SIGTERM, 300ms);
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(run.status->ExitedWith(0));
  std::vector<std::string> lines = Lines(run.log);
  size_t signal_line = static_cast<size_t>(std::max(0, LineOf(run.log, "SIGTERM received")));
  long producer = StopLineOf(lines, signal_line, "producer");
  long consumer = StopLineOf(lines, signal_line, "consumer");
  CHECK_MESSAGE(producer >= 0, "no log line says that 'producer' stopped");
  CHECK_MESSAGE(consumer >= 0, "no log line says that 'consumer' stopped");
  CHECK(producer < consumer);
}

}  // TEST_SUITE("shutdown-log")

TEST_SUITE("backpressure") {

TEST_CASE("a slow subscriber makes publishes fail visibly (KORDON_E_BUSY), and what was accepted is delivered") {
  TempDir dir;
  const std::string config =
      HostSection(dir, "bus.queue_limit = 10\nbus.publish_timeout_ms = 20") +
      PluginSection("slow", IntegrationPlugin("integ_slow"), "delay_ms = 10") +
      PluginSection("producer", TestPlugin("test_c_echo"), "tick_ms = 1");
  ShutdownRun run = RunAndStop(dir, config, SIGTERM, 1500ms);
  INFO(run.log);
  REQUIRE(run.status.has_value());
  CHECK(run.status->ExitedWith(0));
  auto stats = ParseInstanceStats(run.log);
  auto bus = ParseBusStats(run.log);
  REQUIRE(stats.count("slow") == 1);
  REQUIRE(stats.count("producer") == 1);
  REQUIRE(bus.has_value());
  const InstanceStatsLine& slow = stats["slow"];
  const InstanceStatsLine& producer = stats["producer"];
  // Not silent: refusals are counted and logged, and the bus counts its waits.
  CHECK(producer.publish_failures > 0);
  CHECK(producer.published + producer.publish_failures == producer.timers);
  CHECK(Contains(run.log, "KORDON_E_BUSY"));
  CHECK(bus->backpressure_waits > 0);
  // Nothing accepted is lost, not even at shutdown with the queues full.
  CHECK(slow.received == producer.published);
  CHECK(slow.not_delivered_after_stop == 0);
  CHECK_FALSE(Contains(run.log, "cannot flush"));
}

}  // TEST_SUITE("backpressure")

}  // namespace
}  // namespace kordon::testing
