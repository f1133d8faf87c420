#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// schema_test.cpp — kordon_schema (host/src/schema): the JSON Schema keywords the SDK's schemas use, and the
// SDK's own schemas — every one loads, and every $ref in them resolves.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "schema.h"

namespace kordon::schema {
namespace {

using nlohmann::json;

std::vector<std::string> P(const json& v, const json& s) { return Problems(v, s); }

TEST_CASE("types, enums, const, required and members") {
  const json s = json::parse(R"({
    "type": "object", "required": ["a", "b"], "additionalProperties": false,
    "properties": {"a": {"type": ["integer", "null"]}, "b": {"enum": ["x", "y"]},
                   "c": {"const": false}, "d": {"type": "number", "exclusiveMinimum": 0}}})");
  CHECK(P({{"a", 1}, {"b", "x"}}, s).empty());
  CHECK(P({{"a", nullptr}, {"b", "y"}, {"c", false}, {"d", 0.5}}, s).empty());
  CHECK(P({{"a", 2.0}, {"b", "x"}}, s).empty());  // 2.0 is an integer in JSON Schema
  CHECK(P({{"a", 1.5}, {"b", "x"}}, s) ==
        std::vector<std::string>{"$.a: 1.5 is not of type [\"integer\",\"null\"]"});
  CHECK(P({{"b", "z"}, {"c", true}, {"d", 0}, {"e", 1}}, s) ==
        std::vector<std::string>{"$: the required member a is missing",
                                 "$.b: \"z\" is not one of [\"x\",\"y\"]", "$.c: true is not false",
                                 "$.d: 0.0 is not above 0", "$: the member e is not in the schema"});
}

TEST_CASE("strings, arrays, $ref and oneOf") {
  const json s = json::parse(R"({
    "$defs": {"channel": {"enum": ["green", "red"]}},
    "type": "object",
    "properties": {
      "name": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[A-ZА-Я]"},
      "list": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
      "channel": {"oneOf": [{"$ref": "#/$defs/channel"}, {"type": "null"}]},
      "broken": {"$ref": "#/$defs/nothing"}}})");
  CHECK(P({{"name", "Асн"}, {"list", {"a"}}, {"channel", "red"}}, s).empty());  // 3 code points
  CHECK(P({{"channel", nullptr}}, s).empty());
  const auto p = P({{"name", "abcd"}, {"list", {1, 2, 3}}, {"channel", "blue"}, {"broken", 1}}, s);
  REQUIRE(p.size() == 8);
  CHECK(p[0] == "$.broken: unresolvable $ref \"#/$defs/nothing\"");
  CHECK(p[1] == "$.channel: \"blue\" matches 0 of oneOf's schemas, not exactly one");
  CHECK(p[2] == "$.list: more than 2 items");
  CHECK(p[3] == "$.list[0]: 1 is not of type \"string\"");
  CHECK(p[6] == "$.name: longer than 3 characters");
  CHECK(p[7] == "$.name: \"abcd\" does not match ^[A-ZА-Я]");
}

TEST_CASE("closed objects on request") {
  const json s = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};
  CHECK(P({{"a", 1}, {"b", 2}}, s).empty());
  CHECK(Problems({{"a", 1}, {"b", 2}}, s, {.closed_objects = true}) ==
        std::vector<std::string>{"$: the member b is not in the schema"});
}

TEST_CASE("the SDK's schemas load and their references resolve") {
  SchemaSet set;
  std::string error;
  REQUIRE_MESSAGE(set.Load(std::string(KORDON_SOURCE_DIR) + "/sdk/schemas", &error), error);
  CHECK(set.size() > 40);
  const json* a = set.Find("risk.assessment", 1);
  REQUIRE(a != nullptr);
  // Not a valid assessment, but no $ref may be unresolvable.
  for (const std::string& p : Problems(json::object(), *a))
    CHECK_MESSAGE(p.find("unresolvable") == std::string::npos, p);
  CHECK(set.Find("risk.assessment", 9) == nullptr);
  CHECK_FALSE(SchemaSet().Load("/nonexistent", &error));
  CHECK(error == "/nonexistent: cannot be read");
}

}  // namespace
}  // namespace kordon::schema
