// schema_check.h — checks a message body against its JSON Schema in sdk/schemas, for the unit
// tests of the plugins that publish them. A small validator for the keywords the schemas use:
// type (one or a list), enum, required, properties, additionalProperties, items, minimum,
// maximum and pattern (std::regex ECMAScript, searched). Header-only; needs doctest and
// KORDON_SOURCE_DIR (tests/CMakeLists.txt defines it).
#ifndef KORDON_TESTS_SUPPORT_SCHEMA_CHECK_H_
#define KORDON_TESTS_SUPPORT_SCHEMA_CHECK_H_

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace kordon::testing {

// sdk/schemas/<file>, parsed; fails the test when it is missing.
inline nlohmann::json LoadSchema(const std::string& file) {
  std::ifstream in(std::string(KORDON_SOURCE_DIR) + "/sdk/schemas/" + file);
  REQUIRE_MESSAGE(in.good(), file);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

struct SchemaOptions {
  // A member that `properties` does not list is a problem even without
  // `"additionalProperties": false` (for schemas that mean to list every member).
  bool closed_objects = false;
};

namespace schema_detail {

inline bool HasType(const nlohmann::json& v, const std::string& t) {
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer();
  if (t == "boolean") return v.is_boolean();
  if (t == "object") return v.is_object();
  if (t == "null") return v.is_null();
  if (t == "array") return v.is_array();
  return false;
}

inline void Validate(const nlohmann::json& v, const nlohmann::json& schema,
                     const std::string& where, const SchemaOptions& options, std::string* out) {
  using Json = nlohmann::json;
  if (!schema.is_object()) return;
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    if (t->is_string()) ok = HasType(v, *t);
    if (t->is_array())
      for (const Json& one : *t) ok = ok || HasType(v, one);
    if (!ok) *out += where + ": wrong type " + v.dump() + "\n";
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool ok = false;
    for (const Json& one : *e) ok = ok || one == v;
    if (!ok) *out += where + ": not in enum: " + v.dump() + "\n";
  }
  if (v.is_number()) {
    if (auto m = schema.find("minimum"); m != schema.end() && v.get<double>() < *m)
      *out += where + ": below minimum\n";
    if (auto m = schema.find("maximum"); m != schema.end() && v.get<double>() > *m)
      *out += where + ": above maximum\n";
  }
  if (v.is_string())
    if (auto p = schema.find("pattern"); p != schema.end())
      if (!std::regex_search(v.get<std::string>(), std::regex(p->get<std::string>())))
        *out += where + ": does not match " + p->get<std::string>() + "\n";
  if (v.is_array())
    if (auto items = schema.find("items"); items != schema.end())
      for (size_t i = 0; i < v.size(); ++i)
        Validate(v[i], *items, where + "[" + std::to_string(i) + "]", options, out);
  if (!v.is_object()) return;
  for (const Json& name : schema.value("required", Json::array()))
    if (!v.contains(name.get<std::string>()))
      *out += where + ": missing required " + name.get<std::string>() + "\n";
  const Json props = schema.value("properties", Json::object());
  for (const auto& [key, value] : v.items()) {
    if (props.contains(key)) {
      Validate(value, props[key], where + "." + key, options, out);
    } else if (auto extra = schema.find("additionalProperties"); extra != schema.end()) {
      if (extra->is_boolean() && !extra->get<bool>())
        *out += where + ": member " + key + " not in the schema\n";
      else
        Validate(value, *extra, where + "." + key, options, out);
    } else if (options.closed_objects) {
      *out += where + ": member " + key + " not in the schema\n";
    }
  }
}

}  // namespace schema_detail

// What is wrong with `value` under `schema`, one line per problem; "" when it conforms.
inline std::string SchemaProblems(const nlohmann::json& value, const nlohmann::json& schema,
                                  const SchemaOptions& options = {}) {
  std::string out;
  schema_detail::Validate(value, schema, "$", options, &out);
  return out;
}

// Checks (doctest CHECK) that the JSON text `body` conforms to sdk/schemas/<schema_file>.
inline void CheckConforms(const std::string& body, const std::string& schema_file,
                          const SchemaOptions& options = {}) {
  const std::string problems =
      SchemaProblems(nlohmann::json::parse(body), LoadSchema(schema_file), options);
  CHECK_MESSAGE(problems.empty(), schema_file << ": " << body << "\n" << problems);
}

}  // namespace kordon::testing

#endif  // KORDON_TESTS_SUPPORT_SCHEMA_CHECK_H_
