// The manifest plugin's message side (plugins/manifest/manifest_message.h): lookup keys from
// plate and container reads and from service requests, the choice among several manifests,
// and the bodies against the required members of their schemas in sdk/schemas.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "manifest.h"
#include "manifest_message.h"
#include "schema_check.h"

namespace kordon::manifest {
namespace {

using nlohmann::json;

StoredManifest Stored(const std::string& number, const std::string& lane,
                      const std::string& country) {
  StoredManifest s;
  Manifest& m = s.manifest;
  m.number = number;
  m.lane = lane;
  m.carrier = "C";
  m.plates = {"01KG123ABC"};
  m.plate_country = country;
  m.containers = {{"CSQU3054383", "45G1"}};
  m.consignor = "A";
  m.consignee = "B";
  m.origin = "CN";
  m.destination = "KZ";
  m.goods = {{"8471", "", 1000.0, std::nullopt, 3}};
  m.declared_gross_kg = 20000;
  REQUIRE(Validate(&m) == "");
  s.lodged_at = 1700000000;
  s.source = "follow:/f:1";
  return s;
}

// The body conforms to the schema (or the sub-schema `pointer` selects, a JSON pointer).
void RequireSchemaMembers(const json& body, const std::string& schema_file,
                          const std::string& pointer = "") {
  const json schema = kordon::testing::LoadSchema(schema_file).at(json::json_pointer(pointer));
  const std::string problems = kordon::testing::SchemaProblems(body, schema);
  CHECK_MESSAGE(problems.empty(), schema_file << pointer << ": " << body.dump() << "\n" << problems);
}

TEST_CASE("plate reads: normalised plate and country; bad bodies refused") {
  std::string error;
  auto k = FromPlateRead(
      R"({"camera": "c", "raw": "x", "plate": "01 kg 123-abc", "country": "KG"})", &error);
  REQUIRE_MESSAGE(k.has_value(), error);
  CHECK(k->matched_by == "plate");
  CHECK(k->value == "01KG123ABC");
  CHECK(k->country == "KG");
  CHECK_FALSE(FromPlateRead("[1]", &error));
  CHECK(error == "the body is not a JSON object");
  CHECK_FALSE(FromPlateRead(R"({"plate": 7})", &error));
  CHECK(error == "'plate' must be a string");
  CHECK_FALSE(FromPlateRead(R"({"camera": "c"})", &error));
  CHECK(error == "no 'plate' to look up");
}

TEST_CASE("container reads: valid codes, the reader's repair, invalid codes refused") {
  std::string error;
  auto k = FromContainerRead(R"({"code": "CSQU3054383", "valid": true})", &error);
  REQUIRE_MESSAGE(k.has_value(), error);
  CHECK(k->value == "CSQU3054383");
  CHECK_FALSE(k->repaired);
  k = FromContainerRead(R"({"code": "CSQU3O54383", "valid": false, "repaired_valid": true,
                            "repair": {"position": 5, "from": "O", "to": "0",
                                       "code": "CSQU3054383"}})",
                        &error);
  REQUIRE_MESSAGE(k.has_value(), error);
  CHECK(k->value == "CSQU3054383");
  CHECK(k->repaired);
  CHECK_FALSE(FromContainerRead(R"({"code": "MSCU1234565", "valid": false})", &error));
  CHECK(error == "container 'MSCU1234565' is not a valid ISO 6346 code: check digit mismatch: "
                 "expected 6, found 5");
}

TEST_CASE("lookup requests: exactly one known member") {
  std::string error;
  auto k = FromLookupRequest(R"({"container": "csqu 305438 3"})", &error);
  REQUIRE_MESSAGE(k.has_value(), error);
  CHECK(k->matched_by == "container");
  CHECK(k->value == "CSQU3054383");
  k = FromLookupRequest(R"({"manifest": "KG-1"})", &error);
  REQUIRE(k.has_value());
  CHECK(k->value == "KG-1");
  CHECK_FALSE(FromLookupRequest(R"({})", &error));
  CHECK(error == "give exactly one of plate, container or manifest");
  CHECK_FALSE(FromLookupRequest(R"({"plate": "A1", "manifest": "KG-1"})", &error));
  CHECK(error == "give exactly one of plate, container or manifest");
  CHECK_FALSE(FromLookupRequest(R"({"plate": ""})", &error));
  CHECK(error == "'plate' is empty");
  CHECK_FALSE(FromLookupRequest(R"({"vin": "X"})", &error));
  CHECK(error == "unknown member 'vin' (plate, container or manifest)");
}

TEST_CASE("Choose: the read's lane first, else the newest; another country is another car") {
  const std::vector<StoredManifest> found = {Stored("KG-3", "lane-2", "KG"),
                                             Stored("KG-2", "lane-1", ""),
                                             Stored("KG-1", "lane-1", "KZ")};
  LookupKey key{"plate", "01KG123ABC", "KG", false};
  std::vector<std::string> others;
  CHECK(Choose(found, key, "lane-1", &others) == 1u);
  CHECK(others == std::vector<std::string>{"KG-3"});  // KG-1 is a KZ plate
  CHECK(Choose(found, key, "lane-9", &others) == 0u);
  key.country = "";
  CHECK(Choose(found, key, "", &others) == 0u);
  CHECK(others == std::vector<std::string>{"KG-2", "KG-1"});
  key.country = "UZ";
  CHECK(Choose({Stored("KG-1", "", "KZ")}, key, "", &others) == std::nullopt);
}

TEST_CASE("a refused line's hints: its number and lane when they are plain strings") {
  LineHints h = HintsOf(R"({"manifest": "KG-2026/7", "lane": "lane-1", "goods": 3})");
  CHECK(h.manifest == "KG-2026/7");
  CHECK(h.lane == "lane-1");
  h = HintsOf(R"({"manifest": 7, "lane": "lane 1"})");
  CHECK(h.manifest == "");
  CHECK(h.lane == "");
  CHECK(HintsOf("not json").lane == "");
}

TEST_CASE("the bodies carry what their schemas require") {
  const StoredManifest m = Stored("KG-1", "lane-1", "KG");
  const LookupKey key{"plate", "01KG123ABC", "KG", false};
  json match = json::parse(MatchBody(m, key, {"KG-0"}, "abc", "scanner.plate.read"));
  RequireSchemaMembers(match, "db.manifest.match.v1.json");
  CHECK(match["manifest"]["lodged_at"] == "2023-11-14T22:13:20Z");
  CHECK(match["manifest"]["goods"][0]["packages"] == 3);
  CHECK(match["others"] == json::array({"KG-0"}));
  RequireSchemaMembers(json::parse(UnmatchedBody(key, "abc", "scanner.plate.read")),
                       "db.manifest.unmatched.v1.json");
  json lodged = json::parse(LodgedBody(m, true, "/f", 7));
  RequireSchemaMembers(lodged, "db.manifest.lodged.v1.json");
  CHECK(lodged["containers"] == json::array({"CSQU3054383"}));
  CHECK(lodged["amended"] == true);
  RequireSchemaMembers(json::parse(ErrorBody("bad", "/f", 3, "", "", 1)),
                       "db.manifest.error.v1.json");
  json reply = json::parse(ReplyBody({m}));
  REQUIRE(reply["manifests"].size() == 1);
  RequireSchemaMembers(reply["manifests"][0], "db.manifest.match.v1.json",
                       "/properties/manifest");
}

}  // namespace
}  // namespace kordon::manifest
