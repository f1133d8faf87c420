// The procedures plugin in a real kordon-host: a script answers bus messages, calls a real
// service (the crossings plugin's crossings.command), sees only what it subscribed to and not
// its own publications; an infinite loop, a runaway recursion and an io attempt are stopped
// and reported with the script and line while the script goes on; editing the file reloads it
// live, a broken edit is reported (procedure.error, alert.raised) and the previous version
// keeps running; a fixed edit is picked up. And `kordon script check` / `test` exit codes.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

using host::ClientPublishOptions;
using nlohmann::json;

json Body(const host::BusMessage& m) { return json::parse(m.body, nullptr, false); }

// Version `v` of the test procedure.
std::string Procedure(int v) {
  return R"lua(
local version = )lua" + std::to_string(v) + R"lua(
local greeting = kordon.setting("greeting", "hello")

kordon.on("test.ping", function(m)
  kordon.publish("test.pong", {version = version, greeting = greeting, n = m.body.n,
                               lane = m.lane or kordon.null})
end)

-- Our own publications never come back to us (test.pong would answer itself for ever).
kordon.on("test.pong", function(m) kordon.publish("test.echoed", {}) end)

kordon.on("test.loop", function(m)
  while true do pcall(function() while true do end end) end
end)

kordon.on("test.recurse", function(m)
  local function f(n) return f(n + 1) + 1 end
  f(1)
end)

kordon.on("test.io", function(m)
  io.open("/etc/passwd")
end)

kordon.on("test.fact", function(m)
  local reply, err = kordon.crossing.fact({lane = "lane-9"}, "checked_by_procedure", true)
  kordon.publish("test.fact.result", {ok = reply ~= nil, err = err or kordon.null,
                                      crossing_id = reply and reply.crossing_id or kordon.null})
end)
)lua";
}

TEST_SUITE("procedures") {

TEST_CASE("a procedure runs in the host, survives its own failures and reloads live") {
  TempDir dir;
  const std::string script = dir.File("probe.lua");
  WriteFile(script, Procedure(1));
  HostProcess site(
      dir, HostSection(dir) +
               PluginSection("crossings", SitePlugin("crossings"),
                             "path = " + dir.File("crossings.sqlite")) +
               PluginSection("probe", SitePlugin("procedures"),
                             "script = " + script +
                                 "\nreload_ms = 100\ngreeting = salam\ninstructions = 2000000"));
  std::string why;
  REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
  auto client =
      ConnectClient(site.ready(), {"test", "procedure", "alert", "crossing"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  ClientPublishOptions o;
  o.lane = "lane-2";
  auto ping = [&](int n) {
    REQUIRE(client->Publish("test.ping", json{{"n", n}}.dump(), o).ok());
    return ReceiveTopic(*client, "test.pong", 5s, [&](const host::BusMessage& m) {
      return Body(m)["n"] == n;
    });
  };

  auto pong = ping(1);
  REQUIRE_MESSAGE(pong.has_value(), site.Log());
  json b = Body(*pong);
  CHECK(b["version"] == 1);
  CHECK(b["greeting"] == "salam");
  CHECK(b["lane"] == "lane-2");
  CHECK(pong->envelope.source == "probe");

  // A real service: the crossings plugin opens nothing for a fact on an empty lane and says
  // so; the script gets nil, err.
  REQUIRE(client->Publish("test.fact", "{}", o).ok());
  auto fact = ReceiveTopic(*client, "test.fact.result", 5s);
  REQUIRE_MESSAGE(fact.has_value(), site.Log());
  CHECK(Body(*fact)["ok"] == false);
  CHECK(Body(*fact)["err"].is_string());

  // Failures: each reported with the script and the line; the script goes on.
  struct Case {
    const char* topic;
    const char* kind;
    const char* code;  // the line that fails
  };
  for (const Case& c : {Case{"test.loop", "budget", "while true do pcall"},
                        // Lua's stack limit or the memory cap, whichever comes first.
                        Case{"test.recurse", "runtime|memory", "return f(n + 1) + 1"},
                        Case{"test.io", "runtime", "io.open"}}) {
    CAPTURE(c.topic);
    REQUIRE(client->Publish(c.topic, "{}", o).ok());
    auto e = ReceiveTopic(*client, "procedure.error", 10s);
    REQUIRE_MESSAGE(e.has_value(), site.Log());
    json eb = Body(*e);
    CHECK(Contains(c.kind, eb["kind"].get<std::string>()));
    CHECK(eb["procedure"] == "probe");
    const std::string line = "probe.lua:" + std::to_string(LineOf(Procedure(1), c.code)) + ":";
    CHECK_MESSAGE(Contains(eb["message"].get<std::string>(), line), eb.dump());
    pong = ping(2);
    REQUIRE_MESSAGE(pong.has_value(), site.Log());
  }

  // A live edit: reloaded, the new version answers.
  WriteFile(script, Procedure(2));
  auto loaded = ReceiveTopic(*client, "procedure.loaded", 5s);
  REQUIRE_MESSAGE(loaded.has_value(), site.Log());
  CHECK(Body(*loaded)["reloaded"] == true);
  CHECK(Body(*loaded)["reloads"] == 1);
  pong = ping(3);
  REQUIRE_MESSAGE(pong.has_value(), site.Log());
  CHECK(Body(*pong)["version"] == 2);

  // A broken edit: reported with its line; version 2 keeps answering.
  WriteFile(script, "kordon.on(\"test.ping\", function(m)\n  kordon.publish(\n");
  auto err = ReceiveTopic(*client, "procedure.error", 5s);
  REQUIRE_MESSAGE(err.has_value(), site.Log());
  CHECK(Body(*err)["kind"] == "load");
  CHECK(Contains(Body(*err)["message"].get<std::string>(), "probe.lua:"));
  auto alert = ReceiveTopic(*client, "alert.raised", 5s);
  REQUIRE_MESSAGE(alert.has_value(), site.Log());
  CHECK(Contains(Body(*alert)["reason"].get<std::string>(), "previous version keeps running"));
  pong = ping(4);
  REQUIRE_MESSAGE(pong.has_value(), site.Log());
  CHECK(Body(*pong)["version"] == 2);

  // A top level that loops for ever is a failed load too.
  WriteFile(script, "while true do end\n");
  err = ReceiveTopic(*client, "procedure.error", 10s);
  REQUIRE_MESSAGE(err.has_value(), site.Log());
  CHECK(Body(*err)["kind"] == "load");
  pong = ping(5);
  REQUIRE_MESSAGE(pong.has_value(), site.Log());
  CHECK(Body(*pong)["version"] == 2);

  // Fixed: picked up.
  WriteFile(script, Procedure(3));
  loaded = ReceiveTopic(*client, "procedure.loaded", 5s);
  REQUIRE_MESSAGE(loaded.has_value(), site.Log());
  pong = ping(6);
  REQUIRE_MESSAGE(pong.has_value(), site.Log());
  CHECK(Body(*pong)["version"] == 3);

  // The script never saw its own test.pong.
  std::vector<host::BusMessage> rest = ReceiveFor(*client, 300ms);
  for (const auto& m : rest) CHECK(m.topic != "test.echoed");

  auto exit = site.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  CHECK(Contains(site.Log(), "probe.lua: stopping; activations"));
}

TEST_CASE("a script that does not load stops the host from starting it") {
  TempDir dir;
  WriteFile(dir.File("broken.lua"), "kordon.on(\"x\", 42)\n");
  HostProcess site(dir, HostSection(dir) + PluginSection("broken", SitePlugin("procedures"),
                                                         "script = " + dir.File("broken.lua")));
  auto exit = site.WaitExit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 2);
  CHECK(Contains(site.Log(), "broken.lua:1:"));
}

TEST_CASE("kordon script check and test: exit codes and messages") {
  TempDir dir;
  const std::string good = SourcePath("scripts/heavy-trucks.lua");
  std::string out, err;
  CHECK(RunKordon(dir, {"script", "check", good}, &out, &err) == 0);
  CHECK(Contains(out, "heavy-trucks.lua: ok"));

  WriteFile(dir.File("bad.lua"),
            "kordon.on('crossing.opened', 'not a function')\n"
            "kordon.after(-5, function() end)\n"
            "kordon.publish('Bad Topic', {})\n"
            "kordon.crossing.facts('x')\n");
  CHECK(RunKordon(dir, {"script", "check", dir.File("bad.lua")}, &out, &err) == 2);
  CHECK(Contains(out, "bad.lua:1: kordon.on: argument 2 must be function, got a string"));
  CHECK(Contains(out, "bad.lua:2: kordon.after"));
  CHECK(Contains(out, "bad.lua:3: kordon.publish: 'Bad Topic' has a character"));
  CHECK(Contains(out, "bad.lua:4: unknown kordon.crossing.facts"));

  // A top level that fails only when run is caught by the dry run.
  WriteFile(dir.File("runtime.lua"), "local x = nil\nlocal y = x.field\n");
  CHECK(RunKordon(dir, {"script", "check", dir.File("runtime.lua")}, &out, &err) == 2);
  CHECK(Contains(out, "runtime.lua:2:"));

  // test: the shipped expectation is met; a changed one is not (exit 2, the difference named).
  const std::string tests = SourcePath("scripts/tests/");
  const std::vector<std::string> base = {"script", "test", good, "--replay",
                                         tests + "heavy-trucks.recording.jsonl", "--services",
                                         tests + "services.json", "-q"};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--expect", tests + "heavy-trucks.expect.jsonl"});
  CHECK(RunKordon(dir, args, &out, &err) == 0);
  CHECK(Contains(err, "expectation " + tests + "heavy-trucks.expect.jsonl: met"));

  std::string expected = ReadFileOrEmpty(tests + "heavy-trucks.expect.jsonl");
  const std::string from = "\"value\":2350";
  REQUIRE(expected.find(from) != std::string::npos);
  expected.replace(expected.find(from), from.size(), "\"value\":2000");
  WriteFile(dir.File("wrong.expect.jsonl"), expected);
  args = base;
  args.insert(args.end(), {"--expect", dir.File("wrong.expect.jsonl")});
  CHECK(RunKordon(dir, args, &out, &err) == 2);
  CHECK(Contains(err, "effect 1: body.value: expected 2000, got 2350"));
  CHECK(Contains(err, "NOT met (1 differences)"));

  // A broken recording: exit 3 with its line.
  WriteFile(dir.File("broken.jsonl"),
            "{\"topic\": \"crossing.updated\", \"time_us\": 1, \"body\": {}}\n{\"topic\": 5}\n");
  args = {"script", "test", good, "--replay", dir.File("broken.jsonl")};
  CHECK(RunKordon(dir, args, &out, &err) == 3);
  CHECK(Contains(err, "broken.jsonl:2: 'topic' (a non-empty string) is required"));
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
