// schema.h — message bodies checked against the SDK's JSON Schemas (sdk/schemas): the
// validator behind `kordon plugin check` and the unit tests' schema checks.
//
// A JSON Schema (draft 2020-12) subset: the keywords the SDK's schemas use — type (one or a
// list), enum, const, required, properties, additionalProperties (false or a schema), items,
// minItems/maxItems, minProperties/maxProperties, minimum/maximum/exclusiveMinimum/
// exclusiveMaximum, minLength/maxLength (in code points), pattern (ECMAScript, searched),
// oneOf, allOf, anyOf, and $ref to "#/$defs/NAME" within the same schema. Annotations
// (title, description, format, $id, $schema) are not checked. An unknown keyword is
// ignored, as the specification says.
//
// Thread safety: a SchemaSet is immutable after Load and may be shared; Validate is const.
#ifndef KORDON_HOST_SCHEMA_SCHEMA_H_
#define KORDON_HOST_SCHEMA_SCHEMA_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kordon::schema {

struct Options {
  // A member that `properties` does not list is a problem even without
  // "additionalProperties": false (for tests of bodies that mean to list every member).
  bool closed_objects = false;
};

// What is wrong with value under schema: one line per problem ("$.weights.latest.kg: ...");
// empty when it conforms. schema is the whole document ($ref resolves in it).
std::vector<std::string> Problems(const nlohmann::json& value, const nlohmann::json& schema,
                                  const Options& options = {});

// The schemas of a directory: <schema>.v<version>.json each.
class SchemaSet {
 public:
  // Reads every *.vN.json file of dir; false with *error naming the first unreadable or
  // unparsable file.
  bool Load(const std::string& dir, std::string* error);
  // nullptr when there is no schema of that name and version.
  const nlohmann::json* Find(const std::string& name, unsigned version) const;
  std::size_t size() const { return schemas_.size(); }

 private:
  std::map<std::pair<std::string, unsigned>, nlohmann::json> schemas_;
};

}  // namespace kordon::schema

#endif  // KORDON_HOST_SCHEMA_SCHEMA_H_
