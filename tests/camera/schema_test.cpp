// The bodies plate-reader and container-reader publish conform to their schemas in
// sdk/schemas (and plate-sim's v1 body to scanner.plate.read v2). A small validator for the
// keywords those schemas use: type (one or a list), enum, required, properties, minimum,
// maximum. Patterns are not checked here (the unit tests check what they describe).
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "container_message.h"
#include "plate_message.h"

namespace {

using Json = nlohmann::json;

Json LoadSchema(const std::string& file) {
  std::ifstream in(std::string(KORDON_SOURCE_DIR) + "/sdk/schemas/" + file);
  REQUIRE_MESSAGE(in.good(), file);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

bool HasType(const Json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") return value.is_number_integer();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "null") return value.is_null();
  if (type == "array") return value.is_array();
  return false;
}

// Appends what is wrong with `value` under `schema` to *problems.
void Validate(const Json& value, const Json& schema, const std::string& where,
              std::string* problems) {
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    if (t->is_string()) ok = HasType(value, *t);
    for (const Json& one : t->is_array() ? *t : Json::array()) ok = ok || HasType(value, one);
    if (!ok) *problems += where + ": wrong type " + value.dump() + "\n";
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool ok = false;
    for (const Json& one : *e) ok = ok || one == value;
    if (!ok) *problems += where + ": not in enum: " + value.dump() + "\n";
  }
  if (value.is_number()) {
    if (auto m = schema.find("minimum"); m != schema.end() && value.get<double>() < *m)
      *problems += where + ": below minimum\n";
    if (auto m = schema.find("maximum"); m != schema.end() && value.get<double>() > *m)
      *problems += where + ": above maximum\n";
  }
  if (!value.is_object()) return;
  for (const Json& name : schema.value("required", Json::array()))
    if (!value.contains(name.get<std::string>()))
      *problems += where + ": missing required " + name.get<std::string>() + "\n";
  const Json properties = schema.value("properties", Json::object());
  for (const auto& [key, field] : value.items()) {
    if (auto p = properties.find(key); p != properties.end()) {
      Validate(field, *p, where + "." + key, problems);
    } else {
      *problems += where + ": field " + key + " not in the schema\n";
    }
  }
}

void CheckConforms(const std::string& body, const std::string& schema_file) {
  std::string problems;
  Validate(Json::parse(body), LoadSchema(schema_file), schema_file, &problems);
  CHECK_MESSAGE(problems.empty(), body << "\n" << problems);
}

const kordon::camera::Settings kSettings{"cam", 0.5, "tcp://127.0.0.1:9"};

TEST_CASE("plate-reader bodies conform to their schemas; plate-sim's v1 body to v2") {
  for (const char* line :
       {R"({"plate": "01 KG 123 ABC", "confidence": 0.93, "country": "KG", "region": "01",)"
        R"( "image": "/i.jpg", "camera": "c", "time": "2026-11-28T10:15:03.120Z",)"
        R"( "direction": "in", "id": 123})",
        "PLATE;;;жд 1;0.1;;;", "PLATE;;;A/1;;;;", "\xFF garbage", "HEARTBEAT;;c"}) {
    const kordon::camera::Outcome o = kordon::plate::HandleLine(line, kSettings);
    if (o.topic == kordon::plate::kReadTopic) CheckConforms(o.body, "scanner.plate.read.v2.json");
    if (o.topic == kordon::plate::kRejectedTopic)
      CheckConforms(o.body, "scanner.plate.rejected.v1.json");
  }
  // What plate-sim publishes (its README's example).
  CheckConforms(R"({"camera":"lane1-camera","raw":"02 KG 345 АВС","plate":"02KG345ABC",)"
                R"("confidence":0.82,"country":"KG","image_ref":"sim://lane1-camera/1.jpg",)"
                R"("sequence":1})",
                "scanner.plate.read.v2.json");
  CheckConforms(R"({"plate": "01KG", "id": 5, "direction": null})", "scanner.plate.raw.v1.json");
}

TEST_CASE("container-reader bodies conform to their schemas") {
  for (const char* line :
       {R"({"code": "CSQU 305438 3", "confidence": 0.88, "size_type": "22G1", "position": "rear",)"
        R"( "id": "9", "camera": "c", "image": "/i", "time": "2026-11-28T10:15:03Z"})",
        "CONTAINER;;;MSCU 123456-5;;;", "CONTAINER;;;CSQU3O54383;;;", "CONTAINER;;;HELLO;;;",
        "junk"}) {
    const kordon::camera::Outcome o = kordon::container::HandleLine(line, kSettings);
    if (o.topic == kordon::container::kReadTopic)
      CheckConforms(o.body, "scanner.container.read.v1.json");
    if (o.topic == kordon::container::kRejectedTopic)
      CheckConforms(o.body, "scanner.container.rejected.v1.json");
  }
  CheckConforms(R"({"code": "CSQU3054383", "position": "top"})", "scanner.container.raw.v1.json");
}

}  // namespace
