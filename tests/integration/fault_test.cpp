// Fault tests of process isolation: a plugin that segfaults, aborts, hangs, leaks or floods
// runs isolated (kordon-runner) beside a steady flow between other plugins. The host must stay
// up, every message of the other flows must arrive (counted), and the bad plugin must be
// restarted, quarantined or throttled as host/README.md ("Process isolation") says.
// Each case prints its counts; each stays within a few seconds.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <chrono>
#include <regex>
#include <thread>

#include "host_harness.h"

namespace kordon::testing {
namespace {

// Short supervision durations so that several failures fit in a test.
std::string FaultHostSection(const TempDir& dir, const std::string& extra = "",
                             int backoff_initial_ms = 50, int backoff_max_ms = 400) {
  return HostSection(dir, fmt::format("supervision.heartbeat_ms = 100\n"
                                      "supervision.backoff_initial_ms = {}\n"
                                      "supervision.backoff_max_ms = {}\n"
                                      "supervision.stop_timeout_ms = 2000\n",
                                      backoff_initial_ms, backoff_max_ms) +
                              extra);
}

// The steady flows: a producer ticking every 2 ms, one consumer in process and one isolated
// (listed first: stopped last, after the producer's last tick has reached them).
std::string Flows() {
  return PluginSection("consumer", TestPlugin("test_cpp_probe"), "subscribe = test.tick") +
         PluginSection("iso-consumer", TestPlugin("test_cpp_probe"),
                       "subscribe = test.tick\nisolation = process");
}
std::string Producer() {
  return PluginSection("producer", TestPlugin("test_c_echo"), "tick_ms = 2");
}

// "<instance>: runner starts S, failures F, restarts R, heartbeat kills H, redelivered D,
// not delivered (queue full) Q, not delivered (quarantined) X, malformed from runner M,
// throttled T"
struct SupervisionLine {
  uint64_t starts = 0, failures = 0, restarts = 0, heartbeat_kills = 0, redelivered = 0;
  uint64_t queue_full = 0, quarantined = 0, malformed = 0, throttled = 0;
  bool found = false;
};

SupervisionLine ParseSupervision(const std::string& log, const std::string& instance) {
  static const std::regex kLine(
      R"(([a-z0-9_-]+): runner starts (\d+), failures (\d+), restarts (\d+), heartbeat kills (\d+), )"
      R"(redelivered (\d+), not delivered \(queue full\) (\d+), not delivered \(quarantined\) (\d+), )"
      R"(malformed from runner (\d+), throttled (\d+))");
  SupervisionLine s;
  for (const std::string& line : Lines(log)) {
    std::smatch m;
    if (!std::regex_search(line, m, kLine) || m[1] != instance) continue;
    s.found = true;
    s.starts = std::stoull(m[2]);
    s.failures = std::stoull(m[3]);
    s.restarts = std::stoull(m[4]);
    s.heartbeat_kills = std::stoull(m[5]);
    s.redelivered = std::stoull(m[6]);
    s.queue_full = std::stoull(m[7]);
    s.quarantined = std::stoull(m[8]);
    s.malformed = std::stoull(m[9]);
    s.throttled = std::stoull(m[10]);
  }
  return s;
}

struct FaultRun {
  std::optional<ExitStatus> status;
  std::string log;
  std::map<std::string, InstanceStatsLine> stats;
  SupervisionLine bad;
  std::vector<host::BusMessage> events;  // plugin.status and alert.raised seen on egress
  double stop_s = 0;                     // SIGTERM -> exit
  double life_s = 0;                     // the host's start -> exit
};

FaultRun RunFault(const TempDir& dir, const std::string& config,
                  std::chrono::milliseconds run_for) {
  FaultRun run;
  const auto begin = std::chrono::steady_clock::now();
  HostProcess host(dir, config);
  std::string why;
  if (!host.WaitReady(15s, &why)) {
    run.log = why;
    return run;
  }
  auto client = ConnectClient(host.ready(), {"plugin.status", "alert.raised"}, &why);
  if (client) {
    run.events = ReceiveFor(*client, run_for);
  } else {
    std::this_thread::sleep_for(run_for);
  }
  // The host is still up after everything the bad plugin did.
  CHECK_FALSE(host.child().WaitFor(0ms).has_value());
  const auto stop_begin = std::chrono::steady_clock::now();
  run.status = host.StopWith(SIGTERM, 20s);
  const auto end = std::chrono::steady_clock::now();
  run.stop_s = std::chrono::duration<double>(end - stop_begin).count();
  run.life_s = std::chrono::duration<double>(end - begin).count();
  run.log = host.Log();
  run.stats = ParseInstanceStats(run.log);
  run.bad = ParseSupervision(run.log, "bad");
  return run;
}

// The steady flows lost nothing: both consumers got every tick the producer published.
void CheckFlows(FaultRun& run, const char* fault) {
  REQUIRE(run.stats.count("producer") == 1);
  REQUIRE(run.stats.count("consumer") == 1);
  REQUIRE(run.stats.count("iso-consumer") == 1);
  const uint64_t published = run.stats["producer"].published;
  const uint64_t delivered = run.stats["consumer"].received;
  const uint64_t iso_delivered = run.stats["iso-consumer"].received;
  const uint64_t lost = (published - std::min(published, delivered)) +
                        (published - std::min(published, iso_delivered)) +
                        run.stats["producer"].publish_failures;
  MESSAGE(
      fmt::format("{}: crashes survived {}, restarts {}, heartbeat kills {}, messages "
                  "delivered {} + {} (isolated), messages lost {}",
                  fault, run.bad.failures, run.bad.restarts, run.bad.heartbeat_kills, delivered,
                  iso_delivered, lost));
  CHECK(published >= 200);
  CHECK(run.stats["producer"].publish_failures == 0);
  CHECK(delivered == published);
  CHECK(iso_delivered == published);
  CHECK(lost == 0);
}

std::string BadPlugin(const std::string& settings) {
  return PluginSection("bad", IntegrationPlugin("integ_fault"), "isolation = process\n" + settings);
}

int CountStatus(const std::vector<host::BusMessage>& events, const std::string& state) {
  int n = 0;
  for (const auto& e : events) {
    if (e.topic != "plugin.status") continue;
    auto j = nlohmann::json::parse(e.body, nullptr, false);
    if (j.is_object() && j.value("instance", "") == "bad" && j.value("state", "") == state) ++n;
  }
  return n;
}

}  // namespace

TEST_SUITE("fault") {
  TEST_CASE(
      "a crashing isolated plugin (segfault, abort, leak) is restarted; the other flows lose "
      "nothing") {
    struct Case {
      const char* fault;
      const char* settings;
    };
    const Case cases[] = {
        {"segfault", "fault = segfault\nafter = 150"},
        {"abort", "fault = abort\nafter = 150"},
        {"leak", "fault = leak\nafter = 1\nleak_kb = 2048\nmemory_limit_mb = 512"}};
    for (const Case& c : cases) {
      CAPTURE(c.fault);
      TempDir dir;
      FaultRun run = RunFault(dir,
                              FaultHostSection(dir, "supervision.quarantine_failures = 100\n") +
                                  Flows() + BadPlugin(c.settings) + Producer(),
                              2500ms);
      INFO(run.log);
      REQUIRE(run.status.has_value());
      CHECK(run.status->ExitedWith(0));
      REQUIRE(run.bad.found);
      CHECK(run.bad.failures >= 1);
      CHECK(run.bad.restarts >= 1);
      CHECK(CountStatus(run.events, "restarting") >= 1);
      CheckFlows(run, c.fault);
    }
  }

  TEST_CASE("a hanging isolated plugin misses three heartbeats, is killed and restarted") {
    TempDir dir;
    FaultRun run = RunFault(dir,
                            FaultHostSection(dir, "supervision.quarantine_failures = 100\n") +
                                Flows() + BadPlugin("fault = hang\nafter = 100") + Producer(),
                            2500ms);
    INFO(run.log);
    REQUIRE(run.status.has_value());
    CHECK(run.status->ExitedWith(0));
    REQUIRE(run.bad.found);
    CHECK(run.bad.heartbeat_kills >= 1);
    CHECK(run.bad.restarts >= 1);
    CHECK(Contains(run.log, "missed 3 heartbeats"));
    CheckFlows(run, "hang");
  }

  TEST_CASE("a plugin that falls behind is not taken for stuck, and costs a shutdown one flush "
            "timeout, not one per instance") {
    // Alive, but 10 ms a message against a tick every 2 ms: after six seconds a thousand or
    // more messages wait for it, so the shutdown's first flush (the ingress) times out on it.
    // Without giving up on it then, the flush after the producer stops would wait 10 s more.
    // Its heartbeat answers wait behind up to 1000 messages in flight (10 s), far past three
    // heartbeats of 100 ms; the messages it finishes meanwhile keep it from being killed.
    TempDir dir;
    FaultRun run = RunFault(
        dir, FaultHostSection(dir) + Flows() +
                 BadPlugin("fault = slow\nafter = 1\nslow_ms = 10") + Producer(),
        6000ms);
    INFO(run.log);
    REQUIRE(run.status.has_value());
    CHECK(run.status->ExitedWith(0));
    REQUIRE(run.bad.found);
    CHECK(run.bad.failures == 0);
    CHECK(run.bad.heartbeat_kills == 0);
    CHECK(run.bad.starts == 1);
    CHECK(Contains(run.log, "bad had not handled the messages from the ingress within 10 s; the "
                            "rest of the shutdown does not wait for it"));
    CHECK_FALSE(Contains(run.log, "had not handled the last messages"));
    MESSAGE(fmt::format("slow plugin: shutdown took {:.1f} s (one flush timeout is 10 s)",
                        run.stop_s));
    CHECK(run.stop_s < 16);
    CheckFlows(run, "slow");
  }

  TEST_CASE("an isolated plugin whose load-time code aborts is refused; the host is unharmed") {
    TempDir dir;
    const std::string boom =
        PluginSection("boom", IntegrationPlugin("integ_load_abort"), "isolation = process");
    {
      // on_plugin_error = stop: the host refuses to start and says why (it did not crash).
      HostProcess host(dir, HostSection(dir) + boom);
      std::optional<ExitStatus> exit = host.WaitExit(40s);
      INFO(host.Log());
      REQUIRE(exit.has_value());
      CHECK(exit->exited);
      CHECK(exit->ExitedWith(2));
      CHECK(Contains(host.Log(), "[plugin.boom] refused: loading"));
      CHECK(Contains(host.Log(), "in a child process ended with"));
    }
    // on_plugin_error = skip: the host runs without it, and the other flows deliver.
    FaultRun run = RunFault(dir, FaultHostSection(dir, "on_plugin_error = skip\n") + Flows() +
                                     boom + Producer(),
                            1500ms);
    INFO(run.log);
    REQUIRE(run.status.has_value());
    CHECK(run.status->ExitedWith(0));
    CHECK(Contains(run.log, "[plugin.boom] refused: loading"));
    CheckFlows(run, "abort while loading");
  }
}  // TEST_SUITE("fault")

TEST_SUITE("fault-quarantine") {
  TEST_CASE(
      "five failures within the window quarantine the plugin with an alert and a plugin.status") {
    TempDir dir;
    FaultRun run = RunFault(dir,
                            FaultHostSection(dir, "", 10, 20) + Flows() +
                                BadPlugin("fault = abort\nafter = 1") + Producer(),
                            2000ms);
    INFO(run.log);
    REQUIRE(run.status.has_value());
    CHECK(run.status->ExitedWith(0));
    REQUIRE(run.bad.found);
    CHECK(run.bad.failures == 5);
    CHECK(run.bad.restarts == 4);
    CHECK(run.bad.quarantined > 0);  // counted, never silently lost
    CHECK(Contains(run.log, "quarantined"));
    CHECK(CountStatus(run.events, "quarantined") == 1);
    bool alert = false;
    for (const auto& e : run.events)
      alert = alert || (e.topic == "alert.raised" && Contains(e.body, "'bad' is quarantined"));
    CHECK(alert);
    CheckFlows(run, "abort (quarantine)");
  }

}  // TEST_SUITE("fault-quarantine")

TEST_SUITE("fault-flood") {
  TEST_CASE("a flooding plugin is throttled by publish_limit; the other flows lose nothing") {
    for (const char* isolation : {"process", "in_process"}) {
      CAPTURE(isolation);
      TempDir dir;
      const std::string bad =
          PluginSection("bad", IntegrationPlugin("integ_fault"),
                        fmt::format("isolation = {}\nfault = flood\nafter = 1\nflood_batch = 200\n"
                                    "publish_limit = 2000\npublish_burst = 200",
                                    isolation));
      FaultRun run = RunFault(dir, FaultHostSection(dir) + Flows() + bad + Producer(), 2000ms);
      INFO(run.log);
      REQUIRE(run.status.has_value());
      CHECK(run.status->ExitedWith(0));
      REQUIRE(run.stats.count("bad") == 1);
      // At most the limit (plus the burst) got through: 2000 a second for as long as the host
      // ran (about 2.1 s; longer on a busy machine or in a sanitizer build), with a tenth
      // more for the token bucket's clock against ours.
      CHECK(run.stats["bad"].published <= 2000 * run.life_s * 1.1 + 200);
      CHECK(run.stats["bad"].published >= 1000);
      CHECK(run.stats["bad"].publish_failures > 0);
      CHECK(Contains(run.log, "throttled"));
      if (std::string(isolation) == "process") CHECK(run.bad.throttled > 0);
      MESSAGE(fmt::format("flood ({}): published {}, refused {}, host ran {:.1f} s", isolation,
                          run.stats["bad"].published, run.stats["bad"].publish_failures,
                          run.life_s));
      CheckFlows(run, "flood");
    }
  }

}  // TEST_SUITE("fault-flood")

}  // namespace kordon::testing
