// `kordon script test`'s engine (host/src/lua/replay.h): recordings parsed with line numbers,
// the simulated clock (timers and wait timeouts fire in order between messages and during the
// settle time), canned service replies, effects compared with an expectation; and the static
// check's argument checks (CheckScript) and the bus's prefix rule (PrefixMatches).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "replay.h"
#include "script.h"

namespace kordon::lua {
namespace {

using nlohmann::json;

std::vector<RecordedMessage> Recording(const std::string& text) {
  std::vector<RecordedMessage> out;
  std::string error;
  REQUIRE_MESSAGE(ParseRecording(text, "rec.jsonl", &out, &error), error);
  return out;
}

std::string Line(const std::string& topic, long long time_us, const json& body,
                 const std::string& lane = "") {
  // `{}` at a call site is null to nlohmann; a message body is an object.
  json j = {{"topic", topic}, {"time_us", time_us},
            {"body", body.is_null() ? json::object() : body}};
  if (!lane.empty()) j["lane"] = lane;
  return j.dump() + "\n";
}

TEST_CASE("ParseRecording: every bad line is named, blank lines are skipped") {
  std::vector<RecordedMessage> out;
  std::string error;
  CHECK(ParseRecording(Line("a.b", 5, {}) + "\n  \n" + Line("c", 6, {{"x", 1}}, "lane-1"),
                       "r", &out, &error));
  REQUIRE(out.size() == 2);
  CHECK(out[1].line == 4);
  CHECK(out[1].message.lane == "lane-1");
  CHECK(out[1].message.body == json{{"x", 1}});
  CHECK(out[1].message.id == "replay-4");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "r:1: not a JSON object"},
      {"[1]", "r:1: not a JSON object"},
      {R"({"time_us": 1, "body": {}})", "r:1: 'topic' (a non-empty string) is required"},
      {R"({"topic": "a", "time_us": 1, "body": []})", "r:1: 'body' (a JSON object) is required"},
      {R"({"topic": "a", "time_us": -1, "body": {}})", "r:1: 'time_us' (microseconds"},
      {R"({"topic": "a", "time_us": 1.5, "body": {}})", "r:1: 'time_us' (microseconds"},
      {R"({"topic": "a", "time_us": 1, "body": {}, "lane": 3})", "r:1: 'lane' must be a string"},
  };
  for (const auto& [text, message] : bad) {
    CAPTURE(text);
    out.clear();
    CHECK_FALSE(ParseRecording(text, "r", &out, &error));
    CHECK(error.rfind(message, 0) == 0);
  }
}

TEST_CASE("Replay: the simulated clock fires timers and wait timeouts in order") {
  const std::string script = R"(
kordon.on("tick", function(m)
  kordon.after(1500, function() kordon.publish("late", {n = m.body.n, at = kordon.now()}) end)
  local w = kordon.wait("tock", {n = m.body.n}, 1000)
  kordon.publish("waited", {n = m.body.n, got = w ~= nil, at = kordon.now()})
end)
)";
  const long long t0 = 1'000'000'000'000'000;
  const auto rec = Recording(Line("tick", t0, {{"n", 1}}) + Line("tock", t0 + 500'000, {{"n", 1}}) +
                             Line("tick", t0 + 5'000'000, {{"n", 2}}));
  ReplayOptions options;
  options.settle_ms = 10'000;
  ReplayResult r = Replay(script, "s.lua", rec, options);
  REQUIRE(r.loaded);
  CHECK(r.errors.empty());
  std::vector<std::string> seen;
  for (const json& e : r.effects)
    seen.push_back(e["topic"].get<std::string>() + ":" + e["body"]["n"].dump() + "@" +
                   std::to_string(e["time_us"].get<long long>() - t0));
  // Tick 1's wait is met at +0.5 s and its timer fires at +1.5 s, in the gap before tick 2;
  // tick 2's wait times out at +6 s and its timer fires at +6.5 s, in the settle time.
  CHECK(seen == std::vector<std::string>{"waited:1@500000", "late:1@1500000", "waited:2@6000000",
                                         "late:2@6500000"});
  CHECK(r.effects[0]["body"]["got"] == true);
  CHECK(r.effects[2]["body"]["got"] == false);
  CHECK(r.effects[1]["body"]["at"] == 1'000'000'001.5);
  CHECK(r.end_us == t0 + 5'000'000 + 10'000'000);
  CHECK(r.messages == 3);

  // The same replay, the same effects.
  ReplayResult again = Replay(script, "s.lua", rec, options);
  CHECK(again.effects == r.effects);
}

TEST_CASE("Replay: calls are effects; canned replies, successive replies, errors, timeouts") {
  const std::string script = R"(
kordon.on("go", function(m)
  local reply, err = kordon.call(m.body.service, {n = m.body.n}, 2000)
  kordon.publish("result", {reply = reply or kordon.null, err = err or kordon.null})
end)
)";
  const auto rec = Recording(Line("go", 10, {{"service", "a"}, {"n", 1}}) +
                             Line("go", 20, {{"service", "a"}, {"n", 2}}) +
                             Line("go", 30, {{"service", "a"}, {"n", 3}}) +
                             Line("go", 40, {{"service", "b"}, {"n", 4}}) +
                             Line("go", 50, {{"service", "c"}, {"n", 5}}));
  ReplayOptions options;
  options.services = {{"a", json::array({{{"first", true}}, {{"second", true}}})},
                      {"b", {{"$error", "no such crossing"}}}};
  ReplayResult r = Replay(script, "s.lua", rec, options);
  REQUIRE(r.loaded);
  REQUIRE(r.effects.size() == 10);
  CHECK(r.effects[0] == json{{"time_us", 10}, {"call", "a"}, {"body", {{"n", 1}}}});
  CHECK(r.effects[1]["body"]["reply"] == json{{"first", true}});
  CHECK(r.effects[3]["body"]["reply"] == json{{"second", true}});
  CHECK(r.effects[5]["body"]["reply"] == json{{"second", true}});  // the last one repeats
  CHECK(r.effects[7]["body"]["err"] == "no such crossing");
  CHECK(r.effects[9]["body"]["err"].get<std::string>().find("timeout: service 'c'") == 0);
  CHECK(r.effects[9]["time_us"] == 50 + 2'000'000);
}

TEST_CASE("Replay: load failures, runtime errors and a runaway timer are reported") {
  ReplayResult r = Replay("kordon.on('x', 5)", "bad.lua", {}, {});
  CHECK_FALSE(r.loaded);
  CHECK(r.load_error.message.find("bad.lua:1:") == 0);

  r = Replay("kordon.on('x', function(m) error('boom') end)", "e.lua",
             Recording(Line("x", 1, {})), {});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message == "e.lua:1: boom");

  ReplayOptions options;
  options.max_timer_fires = 100;
  r = Replay("kordon.every(1, function() end)", "t.lua", Recording(Line("x", 1, {})), options);
  CHECK(r.runaway);
  CHECK(r.timer_fires == 101);
}

TEST_CASE("CompareEffects: expectations may leave members out; differences are named") {
  const std::vector<json> actual = {
      {{"time_us", 5}, {"topic", "a"}, {"body", {{"kg", 41000}, {"list", {1, 2}}, {"x", 1}}}},
      {{"time_us", 6}, {"call", "s"}, {"body", json::object()}}};
  CHECK(CompareEffects({{{"topic", "a"}, {"body", {{"kg", 41000.0}}}}, {{"call", "s"}}}, actual)
            .empty());
  auto d = CompareEffects({{{"topic", "a"}, {"body", {{"kg", 40000}, {"list", {1}}}}},
                           {{"call", "s"}, {"body", {{"n", 1}}}}},
                          actual);
  REQUIRE(d.size() == 3);
  CHECK(d[0] == "effect 1: body.kg: expected 40000, got 41000");
  CHECK(d[1] == "effect 1: body.list: expected [1], got [1,2]");
  CHECK(d[2] == "effect 2: body.n: missing (expected 1)");
  d = CompareEffects({{{"topic", "a"}}}, actual);
  REQUIRE(d.size() == 1);
  CHECK(d[0].find("effect 2: not expected: ") == 0);
  d = CompareEffects({{{"topic", "a"}}, {{"call", "s"}}, {{"topic", "z"}}}, actual);
  REQUIRE(d.size() == 1);
  CHECK(d[0].find("effect 3: expected {\"topic\":\"z\"}, but the script did nothing more") == 0);
}

TEST_CASE("CheckScript: argument counts, literal types, timeouts and topics") {
  auto p = CheckScript(
      "kordon.on('crossing.opened', 'handler')\n"                 // 1: not a function
      "kordon.on('crossing.opened')\n"                            // 2: too few
      "kordon.wait('x', nil, 0)\n"                                // 3: timeout out of range
      "kordon.after(-5, function() end)\n"                        // 4: negative delay
      "kordon.every(1.5, function() end)\n"                       // 5: not whole
      "kordon.publish('Bad.Topic', {})\n"                         // 6: topic characters
      "kordon.publish('a..b', {})\n"                              // 7: empty segment
      "kordon.risk.indicator('text')\n"                           // 8: table expected
      "kordon.console.ask{question = 'q'}\n"                      // 9: fine (call sugar)
      "kordon.crossing.fact('c1', 'k', 1, 2)\n"                   // 10: too many
      "kordon.setting = nil\n"                                    // 11: assignment, fine
      "kordon.on('a', function(m) local x, y = 1, 2 end)\n"       // 12: commas inside, fine
      "kordon.log.info('a', 1, {}, nil)\n"                        // 13: variadic, fine
      "kordon.call('svc', {}, 5000)\n",                           // 14: fine
      "c.lua");
  const std::vector<std::string> expected = {
      "c.lua:1: kordon.on: argument 2 must be function, got a string",
      "c.lua:2: kordon.on needs 2 arguments, got 1",
      "c.lua:3: kordon.wait: 0 is not a whole number of milliseconds in 1..86400000",
      "c.lua:4: kordon.after: -5 is not a whole number of milliseconds in 1..86400000",
      "c.lua:5: kordon.every: 1.5 is not a whole number of milliseconds in 1..86400000",
      "c.lua:6: kordon.publish: 'Bad.Topic' has a character a topic cannot have ('B'; segments "
      "use a-z 0-9 _ -)",
      "c.lua:7: kordon.publish: 'a..b' has an empty segment",
      "c.lua:8: kordon.risk.indicator: argument 1 must be table, got a string",
      "c.lua:10: kordon.crossing.fact takes at most 3 arguments, got 4",
  };
  CHECK(p == expected);
  // Prefixes may end with a dot or be empty; topics may not.
  CHECK(CheckScript("kordon.on('', function() end)\nkordon.on('a.', function() end)\n"
                    "kordon.wait('scale.', nil, 10)", "d.lua")
            .empty());
}

TEST_CASE("PrefixMatches: whole segments, as the bus routes") {
  CHECK(PrefixMatches("crossing", "crossing"));
  CHECK(PrefixMatches("crossing", "crossing.opened"));
  CHECK_FALSE(PrefixMatches("crossing", "crossings.get"));
  CHECK(PrefixMatches("crossing.", "crossing.opened"));
  CHECK_FALSE(PrefixMatches("crossing.", "crossing"));
  CHECK(PrefixMatches("", "anything"));
  CHECK_FALSE(PrefixMatches("scale.weight.stable", "scale.weight"));
}

}  // namespace
}  // namespace kordon::lua
