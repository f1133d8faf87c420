// schema_check.h — checks a message body against its JSON Schema in sdk/schemas, for the unit
// tests of the plugins that publish them, with the product's validator (host/src/schema:
// the one `kordon plugin check` uses). Needs doctest, KORDON_SOURCE_DIR (tests/CMakeLists.txt
// defines it) and the kordon_schema library (linked to every test by tests/CMakeLists.txt).
#ifndef KORDON_TESTS_SUPPORT_SCHEMA_CHECK_H_
#define KORDON_TESTS_SUPPORT_SCHEMA_CHECK_H_

#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "schema.h"

namespace kordon::testing {

// sdk/schemas/<file>, parsed; fails the test when it is missing.
inline nlohmann::json LoadSchema(const std::string& file) {
  std::ifstream in(std::string(KORDON_SOURCE_DIR) + "/sdk/schemas/" + file);
  REQUIRE_MESSAGE(in.good(), file);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

using SchemaOptions = schema::Options;

// What is wrong with `value` under `schema`, one line per problem; "" when it conforms.
inline std::string SchemaProblems(const nlohmann::json& value, const nlohmann::json& schema,
                                  const SchemaOptions& options = {}) {
  std::string out;
  for (const std::string& p : schema::Problems(value, schema, options)) out += p + "\n";
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
