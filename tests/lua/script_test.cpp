// The kordon API of a script (host/src/lua/script.h) against a fake environment: handlers,
// errors with lines, coroutine waits and calls, timers, settings, the crossing/risk helpers,
// hot reload and CheckScript.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "fake_environment.h"

namespace kordon::lua {
namespace {

using nlohmann::json;
using testing::FakeEnvironment;

TEST_CASE("a handler gets the message; an error is reported with its line and the next "
          "message is handled") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('weighbridge.', function(m)\n"
                   "  if m.body.kg > 40000 then error('too heavy') end\n"
                   "  kordon.publish('out', {topic = m.topic, kg = m.body.kg, lane = m.lane},\n"
                   "                 {lane = m.lane})\n"
                   "end)"));
  CHECK(env.script->Prefixes() == std::vector<std::string>{"weighbridge."});
  CHECK(env.script->Wants("weighbridge.weight"));
  CHECK_FALSE(env.script->Wants("camera.plate"));
  env.Send("weighbridge.weight", {{"kg", 50000}}, "3");
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].kind == ScriptError::Kind::kRuntime);
  CHECK(env.errors[0].message == "test.lua:2: too heavy");
  CHECK(env.errors[0].traceback.find("stack traceback") != std::string::npos);
  env.Send("weighbridge.weight", {{"kg", 12000}}, "3");
  REQUIRE(env.published.size() == 1);
  CHECK(env.published[0].body == json{{"topic", "weighbridge.weight"}, {"kg", 12000},
                                      {"lane", "3"}});
  CHECK(env.published[0].lane == "3");
}

// An environment that delivers re-entrantly: a publish comes straight back as a message.
class EchoEnvironment : public FakeEnvironment {
 public:
  void Publish(const std::string& topic, std::string_view body, const std::string& lane,
               const std::string& crossing_id) override {
    FakeEnvironment::Publish(topic, body, lane, crossing_id);
    if (topic != "ping") return;
    const std::string text(body);
    Message m;
    m.topic = "pong";
    m.body_text = text;  // a view that dies with this call: the engine must copy it
    script->Dispatch(m);
  }
};

TEST_CASE("a message delivered from inside a publish is queued until the activation ends") {
  EchoEnvironment env;
  REQUIRE(env.Load("local order = {}\n"
                   "kordon.on('start', function()\n"
                   "  kordon.publish('ping', {n = 1})\n"
                   "  order[#order + 1] = 'after ping'\n"
                   "end)\n"
                   "kordon.on('pong', function(m)\n"
                   "  order[#order + 1] = 'pong ' .. m.body.n\n"
                   "  kordon.publish('order', {order = order})\n"
                   "end)"));
  env.Send("start", json::object());
  REQUIRE(env.published.size() == 2);
  CHECK(env.published[1].body["order"] == json::array({"after ping", "pong 1"}));
  CHECK(env.errors.empty());
}

TEST_CASE("kordon.wait returns the matching message, or nil on timeout") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('crossing.opened', function(m)\n"
                   "  local w = kordon.wait('weighbridge.weight', {lane = m.lane, stable = true},"
                   " 90000)\n"
                   "  kordon.publish('out', {kg = w and w.body.kg or kordon.null})\n"
                   "end)"));
  SUBCASE("a match") {
    env.Send("crossing.opened", json::object(), "3");
    CHECK(env.script->suspended() == 1);
    env.Send("weighbridge.weight", {{"kg", 1}, {"stable", true}}, "4");   // other lane
    env.Send("weighbridge.weight", {{"kg", 2}, {"stable", false}}, "3");  // not stable
    CHECK(env.published.empty());
    env.Send("weighbridge.weight", {{"kg", 3}, {"stable", true}}, "3");
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body == json{{"kg", 3}});
    CHECK(env.timers.empty());  // the timeout was cancelled
  }
  SUBCASE("a timeout") {
    env.Send("crossing.opened", json::object(), "3");
    env.Advance(89'999);
    CHECK(env.published.empty());
    env.Advance(1);
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body == json{{"kg", nullptr}});
  }
  CHECK(env.script->suspended() == 0);
  CHECK(env.errors.empty());
}

TEST_CASE("two waiting handlers do not block each other; a filter function works") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('start', function(m)\n"
                   "  local w = kordon.wait('go', function(x) return x.body.n == m.body.n end,"
                   " 1000)\n"
                   "  kordon.publish('done', {n = w.body.n})\n"
                   "end)"));
  env.Send("start", {{"n", 1}});
  env.Send("start", {{"n", 2}});
  env.Send("go", {{"n", 2}});
  env.Send("go", {{"n", 1}});
  REQUIRE(env.published.size() == 2);
  CHECK(env.published[0].body["n"] == 2);
  CHECK(env.published[1].body["n"] == 1);
}

TEST_CASE("kordon.call returns the reply, or nil and the error") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function()\n"
                   "  local r, err = kordon.call('manifest.lookup', {plate = 'AB123'}, 2000)\n"
                   "  kordon.publish('out', {r = r or kordon.null, err = err})\n"
                   "end)"));
  env.Send("t", json::object());
  REQUIRE(env.requests.size() == 1);
  auto [id, sent] = *env.requests.begin();
  CHECK(sent.service == "manifest.lookup");
  CHECK(sent.body == json{{"plate", "AB123"}});
  CHECK(sent.timeout_ms == 2000);
  SUBCASE("reply") {
    const json reply = {{"found", true}, {"goods", json::array({"steel"})}};
    env.script->OnReply(id, &reply, "");
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body == json{{"r", reply}});
  }
  SUBCASE("error") {
    env.script->OnReply(id, nullptr, "timeout after 2000 ms");
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body == json{{"r", nullptr}, {"err", "timeout after 2000 ms"}});
  }
  SUBCASE("a reply Lua cannot hold (invalid UTF-8) resumes with nil, err") {
    const json reply = {{"s", std::string("\xff")}};
    env.script->OnReply(id, &reply, "");
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body["err"].get<std::string>().find("UTF-8") != std::string::npos);
  }
  env.script->OnReply(id, nullptr, "late");  // a second reply is ignored
  CHECK(env.published.size() == 1);
  CHECK(env.errors.empty());
}

TEST_CASE("wait and call are refused where they cannot wait") {
  FakeEnvironment env;
  CHECK_FALSE(env.Load("kordon.wait('x', nil, 10)"));
  CHECK(env.load_error.find("test.lua:1:") == 0);
  CHECK(env.load_error.find("not available while the script loads") != std::string::npos);
  REQUIRE(env.Load("kordon.on('t', function()\n"
                   "  coroutine.wrap(function() kordon.call('s', {}, 10) end)()\n"
                   "end)\n"
                   "kordon.on('y', function() coroutine.yield() end)"));
  env.Send("t", json::object());
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message.find("test.lua:2:") == 0);
  CHECK(env.errors[0].message.find("not in a coroutine the script created") !=
        std::string::npos);
  env.Send("y", json::object());
  REQUIRE(env.errors.size() == 2);
  CHECK(env.errors[1].kind == ScriptError::Kind::kApi);
  CHECK(env.script->suspended() == 0);
}

TEST_CASE("timers: after, every, cancel") {
  FakeEnvironment env;
  REQUIRE(env.Load("local n = 0\n"
                   "local id = kordon.every(1000, function()\n"
                   "  n = n + 1\n"
                   "  kordon.publish('tick', {n = n})\n"
                   "end)\n"
                   "kordon.after(2500, function() kordon.cancel(id) end)"));
  env.Advance(10'000);
  REQUIRE(env.published.size() == 2);
  CHECK(env.published[1].body["n"] == 2);
  CHECK(env.timers.empty());
}

TEST_CASE("a timer that waits, and an error in a timer") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.after(10, function()\n"
                   "  local m = kordon.wait('x', nil, 100)\n"
                   "  kordon.publish('out', {got = m ~= nil})\n"
                   "  error('after publish')\n"
                   "end)"));
  env.Advance(10);
  env.Send("x", json::object());
  REQUIRE(env.published.size() == 1);
  CHECK(env.published[0].body["got"] == true);
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message == "test.lua:4: after publish");
}

TEST_CASE("settings, log, now") {
  FakeEnvironment env;
  env.settings = {{"limit_kg", "40000"}, {"night", "yes"}, {"name", "lane 3"}, {"bad", "x"}};
  REQUIRE(env.Load("kordon.on('t', function()\n"
                   "  kordon.log.info('limit', kordon.setting('limit_kg', 0))\n"
                   "  kordon.publish('out', {l = kordon.setting('limit_kg', 0),"
                   " n = kordon.setting('night', false), s = kordon.setting('name'),"
                   " d = kordon.setting('missing', 7), now = kordon.now()})\n"
                   "  kordon.setting('bad', 1)\n"
                   "end)"));
  env.Send("t", json::object());
  REQUIRE(env.published.size() == 1);
  CHECK(env.published[0].body == json{{"l", 40000}, {"n", true}, {"s", "lane 3"}, {"d", 7},
                                      {"now", 1'700'000'000.0}});
  REQUIRE(env.logs.size() == 1);
  CHECK(env.logs[0] == "info: test.lua:2: limit 40000");
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message == "test.lua:4: setting 'bad' = 'x' is not a number");
}

TEST_CASE("publish refuses a body that is not JSON, naming the path") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function()\n"
                   "  kordon.publish('out', {goods = {{kg = 1}, {kg = 2}, {kg = 0/0}}})\n"
                   "end)"));
  env.Send("t", json::object());
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message ==
        "test.lua:2: kordon.publish: body.goods[3].kg: NaN is not JSON");
  CHECK(env.published.empty());
}

TEST_CASE("crossing, risk and console helpers") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function(m)\n"
                   "  local r, err = kordon.crossing.fact(m, 'weight.kg', 41000)\n"
                   "  kordon.risk.indicator{crossing_id = 'c1', name = 'overweight',"
                   " weight = 30, text = 'over 40 t'}\n"
                   "  kordon.console.ask{lane = m.lane, question = 'Portable scale?',"
                   " choices = {'yes', 'no'}}\n"
                   "  kordon.crossing.close('c1', 'done')\n"
                   "end)"));
  env.Send("t", json::object(), "3");
  REQUIRE(env.requests.size() == 1);
  CHECK(env.requests.begin()->second.service == "crossings.command");
  CHECK(env.requests.begin()->second.body ==
        json{{"action", "fact"}, {"lane", "3"}, {"key", "weight.kg"}, {"value", 41000}});
  const json ok = {{"ok", true}};
  env.script->OnReply(env.requests.begin()->first, &ok, "");
  REQUIRE(env.published.size() == 2);
  CHECK(env.published[0].topic == "risk.indicator");
  CHECK(env.published[0].body ==
        json{{"crossing_id", "c1"}, {"name", "overweight"}, {"weight", 30},
             {"text", "over 40 t"}});
  CHECK(env.published[0].crossing_id == "c1");
  CHECK(env.published[1].topic == "console.prompt");
  CHECK(env.published[1].body["choices"] == json::array({"yes", "no"}));
  REQUIRE(env.requests.size() == 2);
  CHECK(env.requests.rbegin()->second.body ==
        json{{"action", "close"}, {"crossing_id", "c1"}, {"reason", "done"}});
  CHECK(env.errors.empty());
}

TEST_CASE("hot reload: a broken new version is refused and the old one keeps running") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function() kordon.publish('v1', {}) end)"));
  std::unique_ptr<Script> old = std::move(env.script);
  for (const char* broken : {"kordon.on('t', function() end",               // syntax
                             "kordon.on('t', function() end)\nerror('no')",  // runtime
                             "kordon.on('t', 42)"}) {                        // API misuse
    CAPTURE(broken);
    ScriptError e;
    CHECK(Script::Load(broken, "test.lua", &env, {}, &e) == nullptr);
    CHECK(e.kind == ScriptError::Kind::kLoad);
    CHECK(e.message.find("test.lua:") == 0);
  }
  env.script = std::move(old);
  env.Send("t", json::object());
  REQUIRE(env.published.size() == 1);
  CHECK(env.published[0].topic == "v1");
  // A timer started by a version that failed later in its chunk does not survive it.
  CHECK(env.timers.empty());
  CHECK_FALSE(env.Load("kordon.every(10, function() end)\nerror('late')"));
  CHECK(env.timers.empty());
}

TEST_CASE("CheckScript: syntax errors with lines and unknown kordon names") {
  CHECK(CheckScript("kordon.on('t', function(m)\n  kordon.publish('x', {})\nend)", "a.lua")
            .empty());
  auto p = CheckScript("local x = 1\nif x then\n", "a.lua");
  REQUIRE(p.size() == 1);
  CHECK(p[0].find("a.lua:3:") == 0);
  p = CheckScript("-- kordon.nope in a comment\nlocal s = 'kordon.nope'\n"
                  "kordon.on('t', function()\n  kordon.publsh('x', {})\n"
                  "  kordon.log.debug('x')\n  kordon.risk.indicator{}\nend)",
                  "a.lua");
  REQUIRE(p.size() == 2);
  CHECK(p[0] == "a.lua:4: unknown kordon.publsh");
  CHECK(p[1] == "a.lua:5: unknown kordon.log.debug");
  CHECK(CheckScript(std::string("\x1bLua", 4), "a.lua").size() == 1);
}

}  // namespace
}  // namespace kordon::lua

namespace kordon::lua {
namespace {

// The example of scripts/README.md loads, passes the check and does what it says.
TEST_CASE("the scripts/README.md example works") {
  std::ifstream in(std::string(KORDON_SOURCE_DIR) + "/scripts/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const size_t begin = readme.find("```lua\n");
  REQUIRE(begin != std::string::npos);
  const size_t end = readme.find("```", begin + 7);
  const std::string text = readme.substr(begin + 7, end - begin - 7);
  CHECK(CheckScript(text, "example.lua").empty());
  FakeEnvironment env;
  REQUIRE(env.Load(text));
  Message open;
  open.topic = "crossing.opened";
  open.lane = "3";
  open.crossing_id = "c7";
  env.script->Dispatch(open);
  env.Send("scale.weight.stable", {{"kg", 41000}}, "3");
  REQUIRE(env.requests.size() == 1);
  CHECK(env.requests.begin()->second.body ==
        json{{"action", "fact"}, {"crossing_id", "c7"}, {"key", "weight.kg"}, {"value", 41000}});
  const json ok = {{"ok", true}};
  env.script->OnReply(env.requests.begin()->first, &ok, "");
  REQUIRE(env.published.size() == 1);
  CHECK(env.published[0].topic == "risk.indicator");
  CHECK(env.published[0].body["text"] == "41000 kg over 40000 kg");
  // No weight within 90 s: the officer is asked.
  env.script->Dispatch(open);
  env.Advance(90'000);
  REQUIRE(env.published.size() == 2);
  CHECK(env.published[1].topic == "console.prompt");
  CHECK(env.errors.empty());
}

}  // namespace
}  // namespace kordon::lua

namespace kordon::lua {
namespace {

// A script that grabs its own waiting activation and resumes or closes it itself gets errors,
// not a confused engine.
TEST_CASE("a script meddling with a waiting activation cannot break the engine") {
  FakeEnvironment env;
  REQUIRE(env.Load("local parked\n"
                   "kordon.on('a', function()\n"
                   "  parked = coroutine.running()\n"
                   "  local m = kordon.wait('never', nil, 1000)\n"
                   "  kordon.publish('woke', {got = m ~= nil})\n"
                   "end)\n"
                   "kordon.on('resume', function() coroutine.resume(parked, 'fake') end)\n"
                   "kordon.on('close', function() coroutine.close(parked) end)"));
  SUBCASE("resumed by the script") {
    env.Send("a", json::object());
    env.Send("resume", json::object());
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body["got"] == true);
  }
  SUBCASE("closed by the script") {
    env.Send("a", json::object());
    env.Send("close", json::object());
    CHECK(env.published.empty());
  }
  env.Advance(1000);  // the engine's own resume of that activation fails cleanly
  CHECK(env.script->suspended() == 0);
  for (const auto& e : env.errors) CHECK(e.message.find("test.lua") == 0);
  env.Send("a", json::object());
  CHECK(env.script->suspended() == 1);
}

}  // namespace
}  // namespace kordon::lua
