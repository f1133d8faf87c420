// The sandbox and the limits (host/src/lua/script.h): what a script cannot reach, and that an
// infinite loop (even wrapped in pcall), deep recursion and memory growth are stopped and
// reported with the script and line while the script goes on with its next message.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>

#include "fake_environment.h"

namespace kordon::lua {
namespace {

using testing::FakeEnvironment;

// Runs body as a handler of "t" and returns what it published on "out" as body.v.
nlohmann::json Eval(FakeEnvironment& env, const std::string& expr) {
  REQUIRE(env.Load("kordon.on('t', function(m) kordon.publish('out', {v = " + expr +
                   "}) end)"));
  env.Send("t", nlohmann::json::object());
  REQUIRE(env.errors.empty());
  REQUIRE(env.published.size() == 1);
  return env.published[0].body.value("v", nlohmann::json());
}

TEST_CASE("the sandbox has no io, os.execute, require, debug, dofile or loadfile") {
  FakeEnvironment env;
  const nlohmann::json v = Eval(env,
      "{type(io), type(os.execute), type(os.getenv), type(os.remove), type(require),"
      " type(package), type(debug), type(dofile), type(loadfile), type(string.dump),"
      " type(os.exit)}");
  for (const auto& t : v) CHECK(t == "nil");
  CHECK(v.size() == 11);
}

TEST_CASE("the safe libraries are there, and os.time reads the engine's clock") {
  FakeEnvironment env;
  const nlohmann::json v = Eval(env,
      "{type(string.format), type(table.concat), type(math.floor), type(utf8.char),"
      " type(coroutine.wrap), os.time(), type(os.clock()), os.date('!%Y', 0)}");
  CHECK(v[0] == "function");
  CHECK(v[4] == "function");
  CHECK(v[5] == 1'700'000'000);  // FakeEnvironment's now, not the machine's
  CHECK(v[6] == "number");
  CHECK(v[7] == "1970");
}

TEST_CASE("load accepts text chunks only; bytecode is refused") {
  FakeEnvironment env;
  const nlohmann::json v = Eval(env,
      "{load('return 1 + 1')(), select(2, load('\\27Lua', 'x', 'b')),"
      " select(2, load('\\27LuaT\\0', 'x'))}");
  CHECK(v[0] == 2);
  CHECK(v[1].get<std::string>().find("binary chunks are not allowed") != std::string::npos);
  CHECK(v[2].get<std::string>().find("binary chunk") != std::string::npos);
}

TEST_CASE("collectgarbage: only harmless options") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function() collectgarbage('stop') end)"));
  env.Send("t", nlohmann::json::object());
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message.find("collectgarbage('stop') is not allowed") !=
        std::string::npos);
  CHECK(env.errors[0].message.find("test.lua:1:") == 0);
}

TEST_CASE("an infinite loop is stopped with its line and the script handles the next message") {
  FakeEnvironment env;
  Limits limits;
  limits.instructions = 100'000;
  REQUIRE(env.Load("kordon.on('loop', function()\n  while true do end\nend)\n"
                   "kordon.on('ok', function() kordon.publish('out', {}) end)",
                   limits));
  env.Send("loop", nlohmann::json::object());
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].kind == ScriptError::Kind::kBudget);
  CHECK(env.errors[0].message.find("test.lua:2:") == 0);
  CHECK(env.errors[0].message.find("instruction budget exceeded") != std::string::npos);
  env.Send("ok", nlohmann::json::object());
  CHECK(env.published.size() == 1);
  CHECK(env.script->stats().budget_kills == 1);
}

TEST_CASE("pcall cannot swallow the kill") {
  FakeEnvironment env;
  Limits limits;
  limits.instructions = 100'000;
  SUBCASE("pcall in a loop") {
    REQUIRE(env.Load("kordon.on('t', function()\n"
                     "  while true do pcall(function() while true do end end) end\n"
                     "end)",
                     limits));
  }
  SUBCASE("xpcall with a handler that loops, and coroutines") {
    REQUIRE(env.Load("kordon.on('t', function()\n"
                     "  while true do\n"
                     "    xpcall(function() while true do end end,\n"
                     "           function() while true do end end)\n"
                     "    coroutine.resume(coroutine.create(function() while true do end end))\n"
                     "  end\n"
                     "end)",
                     limits));
  }
  env.Send("t", nlohmann::json::object());
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].kind == ScriptError::Kind::kBudget);
  CHECK(env.script->suspended() == 0);
}

TEST_CASE("a looping xpcall handler and a looping __gc cannot escape the budget") {
  FakeEnvironment env;
  Limits limits;
  limits.instructions = 100'000;
  REQUIRE(env.Load("kordon.on('t', function()\n"
                   "  local ok, v = xpcall(function() error('x') end,\n"
                   "                       function(e) return e .. '!' end)\n"
                   "  kordon.publish('out', {ok = ok, v = v})\n"
                   "  setmetatable({}, {__gc = function() while true do end end})\n"
                   "end)",
                   limits));
  env.Send("t", nlohmann::json::object());
  REQUIRE(env.published.size() == 1);
  CHECK(env.published[0].body == nlohmann::json{{"ok", false}, {"v", "test.lua:2: x!"}});
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message ==
        "test.lua:5: __gc metamethods are not allowed in a site procedure");
}

TEST_CASE("a load that never ends is refused") {
  FakeEnvironment env;
  Limits limits;
  limits.load_instructions = 100'000;
  CHECK_FALSE(env.Load("local x = 0\nwhile true do x = x + 1 end", limits));
  CHECK(env.load_error.find("test.lua:2:") == 0);
  CHECK(env.load_error.find("instruction budget") != std::string::npos);
}

TEST_CASE("deep recursion is stopped with the script and line") {
  FakeEnvironment env;
  REQUIRE(env.Load("local function f(n) return 1 + f(n + 1) end\n"
                   "kordon.on('t', function() f(1) end)\n"
                   "kordon.on('ok', function() kordon.publish('out', {}) end)"));
  env.Send("t", nlohmann::json::object());
  REQUIRE(env.errors.size() == 1);
  const std::string& m = env.errors[0].message;
  CHECK(m.find("test.lua:1:") == 0);
  CHECK((m.find("stack overflow") != std::string::npos ||
         m.find("not enough memory") != std::string::npos));
  env.Send("ok", nlohmann::json::object());
  CHECK(env.published.size() == 1);
}

TEST_CASE("C-stack recursion (nested coroutines, string.gsub callbacks) is stopped") {
  FakeEnvironment env;
  REQUIRE(env.Load("local function f() return coroutine.wrap(f)() end\n"
                   "local function g(s) return (string.gsub('x', 'x', g)) end\n"
                   "kordon.on('co', function() f() end)\n"
                   "kordon.on('gsub', function() g('x') end)"));
  env.Send("co", nlohmann::json::object());
  env.Send("gsub", nlohmann::json::object());
  REQUIRE(env.errors.size() == 2);
  for (const auto& e : env.errors) {
    CAPTURE(e.message);
    CHECK(e.message.find("test.lua:") == 0);
    CHECK(e.message.find("overflow") != std::string::npos);
  }
}

TEST_CASE("a huge string and table growth hit the memory cap and are reported") {
  FakeEnvironment env;
  Limits limits;
  limits.memory_bytes = 4u << 20;
  REQUIRE(env.Load("kordon.on('str', function()\n  local s = string.rep('x', 100000000)\nend)\n"
                   "kordon.on('tab', function()\n  local t = {}\n"
                   "  for i = 1, 1e9 do t[i] = i end\nend)\n"
                   "kordon.on('cat', function()\n  local s = 'x'\n"
                   "  while true do s = s .. s end\nend)\n"
                   "kordon.on('ok', function() kordon.publish('out', {}) end)",
                   limits));
  env.Send("str", nlohmann::json::object());
  env.Send("tab", nlohmann::json::object());
  env.Send("cat", nlohmann::json::object());
  REQUIRE(env.errors.size() == 3);
  CHECK(env.errors[0].message.find("test.lua:2:") == 0);
  CAPTURE(env.errors[1].message);
  CAPTURE(env.errors[2].message);
  CHECK(env.errors[1].message.find("test.lua:6:") == 0);
  CHECK(env.errors[2].message.find("test.lua:10:") == 0);
  for (const auto& e : env.errors) {
    CAPTURE(e.message);
    CHECK(e.kind == ScriptError::Kind::kMemory);
    CHECK(e.message.find("not enough memory") != std::string::npos);
  }
  CHECK(env.script->memory_used() < limits.memory_bytes);
  env.Send("ok", nlohmann::json::object());
  CHECK(env.published.size() == 1);
}

TEST_CASE("a script too big for its memory cap does not load") {
  FakeEnvironment env;
  Limits limits;
  limits.memory_bytes = 1u << 20;
  CHECK_FALSE(env.Load("big = string.rep('x', 4000000)", limits));
  CHECK(env.load_error.find("not enough memory") != std::string::npos);
}

}  // namespace
}  // namespace kordon::lua
