// The JSON <-> Lua value bridge (host/src/lua/value.h), table-driven both ways.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fake_environment.h"
#include "value.h"

namespace kordon::lua {
namespace {

using nlohmann::json;
using testing::FakeEnvironment;

TEST_CASE("JSON -> Lua -> JSON keeps the document") {
  const std::vector<std::string> docs = {
      R"({})",
      R"({"a":[]})",
      R"({"a":{}})",
      R"({"n":null,"list":[1,null,3]})",
      R"({"i":3,"f":3.0,"neg":-7,"big":9007199254740993,"frac":0.1})",
      R"({"name":"Иванов Пётр","city":"Брест","emoji":"🚛"})",
      R"({"deep":{"a":{"b":{"c":[[1,2],[3,[4,{"d":true}]]]}}}})",
      R"({"1":"string key","2":"another"})",
      R"({"goods":[{"kg":1.5,"hs":"7208"},{"kg":2,"hs":"7209"}]})",
  };
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function(m) kordon.publish('out', m.body) end)"));
  for (const auto& text : docs) {
    CAPTURE(text);
    env.published.clear();
    const json doc = json::parse(text);
    env.Send("t", doc);
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body == doc);
    CHECK(env.published[0].body.dump() == doc.dump());  // integers stay integers
    // The same as body text, straight into Lua (simdjson).
    env.published.clear();
    Message m;
    m.topic = "t";
    m.body_text = text;
    env.script->Dispatch(m);
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body.dump() == doc.dump());
  }
  CHECK(env.errors.empty());
}

TEST_CASE("body text that is not JSON or not UTF-8 is reported and the handler not run") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function(m) kordon.publish('out', m.body) end)"));
  for (const char* text : {"{\"a\":", "{\"s\":\"\xff\"}", "nul"}) {
    Message m;
    m.topic = "t";
    m.body_text = text;
    env.script->Dispatch(m);
  }
  CHECK(env.published.empty());
  REQUIRE(env.errors.size() == 3);
  for (const auto& e : env.errors)
    CHECK(e.message.find("the body is not valid JSON") != std::string::npos);
}

TEST_CASE("JSON -> Lua: types as a script sees them") {
  struct Case {
    const char* body;
    const char* expr;  // Lua, evaluated with b = the body
    json expected;
  };
  const std::vector<Case> cases = {
      {R"({"i":3})", "math.type(b.i)", "integer"},
      {R"({"f":3.0})", "math.type(b.f)", "float"},
      {R"({"n":null})", "b.n == kordon.null", true},
      {R"({"a":[1,null,3]})", "#b.a", 3},
      {R"({"a":[]})", "#b.a", 0},
      {R"({"s":"Брест"})", "utf8.len(b.s)", 5},
      {R"({"s":"Брест"})", "#b.s", 10},
      {R"({"u":18446744073709551615})", "math.type(b.u)", "float"},
      {R"({"o":{"x":{"y":"z"}}})", "b.o.x.y", "z"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expr);
    FakeEnvironment env;
    REQUIRE(env.Load(std::string("kordon.on('t', function(m) local b = m.body; "
                                 "kordon.publish('out', {v = ") + c.expr + "}) end)"));
    env.Send("t", json::parse(c.body));
    REQUIRE(env.published.size() == 1);
    CHECK(env.published[0].body["v"] == c.expected);
  }
}

TEST_CASE("Lua -> JSON: values and errors naming the path") {
  struct Case {
    const char* lua;
    const char* expected;  // JSON text, or the error after "kordon.publish: "
    bool ok;
  };
  const std::vector<Case> cases = {
      {"{}", "{}", true},
      {"{a = {}}", R"({"a":{}})", true},
      {"{a = kordon.array()}", R"({"a":[]})", true},
      {"{a = kordon.array({1, 2})}", R"({"a":[1,2]})", true},
      {"{a = {1, kordon.null, 3}}", R"({"a":[1,null,3]})", true},
      {"{i = 3, f = 3.0, h = 0.5}", R"({"f":3.0,"h":0.5,"i":3})", true},
      {"{s = 'Иванов'}", R"({"s":"Иванов"})", true},
      {"{t = true, ff = false}", R"({"ff":false,"t":true})", true},
      {"{['a b'] = 1}", R"({"a b":1})", true},
      {"{a = {1, 2, nil, 4}}", "body.a: an array with holes (keys must be 1..4; use kordon.null "
                               "for a null)", false},
      {"{a = {1, x = 2}}", "body.a: a table with both string and integer keys is not JSON",
       false},
      {"{a = {[1.5] = 1}}", "body.a: a number key other than 1..n is not JSON (object keys "
                            "are strings)", false},
      {"{a = {[true] = 1}}", "body.a: a boolean key is not JSON (object keys are strings)",
       false},
      {"{a = {[0] = 1}}", "body.a: a number key other than 1..n is not JSON (object keys are "
                          "strings)", false},
      {"{f = print}", "body.f: a function is not JSON", false},
      {"{x = {y = 1/0}}", "body.x.y: infinity is not JSON", false},
      {"{s = '\\xff'}", "body.s: string is not valid UTF-8", false},
      {"{['\\xff'] = 1}", "body: a key is not valid UTF-8", false},
      {"{a = {{}, {b = {0/0}}}}", "body.a[2].b[1]: NaN is not JSON", false},
      {"{c = coroutine.create(print)}", "body.c: a thread is not JSON", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.lua);
    FakeEnvironment env;
    REQUIRE(env.Load(std::string("kordon.on('t', function() kordon.publish('out', ") + c.lua +
                     ") end)"));
    env.Send("t", json::object());
    if (c.ok) {
      REQUIRE(env.published.size() == 1);
      CHECK(env.published[0].body.dump() == c.expected);
      CHECK(env.errors.empty());
    } else {
      CHECK(env.published.empty());
      REQUIRE(env.errors.size() == 1);
      CHECK(env.errors[0].message == std::string("test.lua:1: kordon.publish: ") + c.expected);
    }
  }
}

TEST_CASE("Lua -> JSON: cycles, depth and arrays as bodies are refused") {
  struct Case {
    const char* setup;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"local t = {}; t.self = t; kordon.publish('out', t)",
       "body.self: a table that contains itself (a cycle) is not JSON"},
      {"local t = {}; local c = t; for i = 1, 70 do c.x = {}; c = c.x end; "
       "kordon.publish('out', t)",
       "nested deeper than 64 levels"},
      {"kordon.publish('out', {1, 2})", "body must be an object"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.setup);
    FakeEnvironment env;
    REQUIRE(env.Load(std::string("kordon.on('t', function() ") + c.setup + " end)"));
    env.Send("t", json::object());
    REQUIRE(env.errors.size() == 1);
    CHECK(env.errors[0].message.find(c.error) != std::string::npos);
  }
}

TEST_CASE("JSON -> Lua: too deep a message is refused and reported") {
  FakeEnvironment env;
  REQUIRE(env.Load("kordon.on('t', function(m) kordon.publish('out', {}) end)"));
  json deep = json::object();
  for (int i = 0; i < 80; ++i) deep = json{{"x", deep}};
  env.Send("t", deep);
  CHECK(env.published.empty());
  REQUIRE(env.errors.size() == 1);
  CHECK(env.errors[0].message.find("nested deeper than 64") != std::string::npos);
}

TEST_CASE("ValidUtf8") {
  CHECK(ValidUtf8("Брест 🚛"));
  CHECK_FALSE(ValidUtf8("\xff"));
  CHECK_FALSE(ValidUtf8("\xc0\xaf"));        // overlong '/'
  CHECK_FALSE(ValidUtf8("\xed\xa0\x80"));    // a surrogate
  CHECK_FALSE(ValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  CHECK_FALSE(ValidUtf8("\xd0"));            // cut
}

}  // namespace
}  // namespace kordon::lua
