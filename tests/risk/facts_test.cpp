// The crossing picture → facts mapping (plugins/risk-rules/facts.h): a full truck picture,
// a traveller, missing and ill-typed fields (null facts, no exception), procedure facts.
#include <doctest/doctest.h>

#include <string>

#include "engine.h"
#include "facts.h"

namespace kordon::risk {
namespace {

using nlohmann::json;

const char kTruck[] = R"({
  "id": "CR-0007", "lane": "lane-1", "state": "open", "revision": 5,
  "plates": [{"raw": "01 KG 123 ABC", "plate": "01KG123ABC", "country": "kg", "confidence": 0.9}],
  "documents": [{"nationality": "KAZ", "valid": false, "document_number": "N1",
                 "checks": [{"field": "document_number", "present": true, "valid": false},
                            {"field": "birth_date", "present": true, "valid": true}],
                 "repairs": [{"field": "birth_date", "line": 2, "column": 1, "from": "O",
                              "to": "0"}]}],
  "containers": [{"code": "MSCU 123456-5", "check_digit_valid": true},
                 {"code": "TGHU7654321", "check_digit_valid": false},
                 {"code": "CSQU3054383", "check_digit_valid": true, "repaired": true}],
  "weights": [{"kg": 30000, "net": false}, {"kg": 38000, "tare_kg": 0, "net": false}],
  "xray": [{"scan_id": "X1"}],
  "watchlist_hits": [{"entry": {"kind": "vehicle", "list": "demo", "id": "V-1"}, "score": 0.8,
                      "explanation": "plate"},
                     {"entry": {"kind": "person"}, "score": 0.95, "explanation": "name"}],
  "manifests": [{"manifest": {"carrier": "Silk Road Logistics", "plates": ["01KG123ABC"],
                 "containers": [{"code": "MSCU1234565", "size_type": "42G1"}, "CSQU3054383"],
                 "consignor": {"name": "Urumqi Trading"}, "consignee": "Bishkek Imports",
                 "origin": "CN", "destination": {"country": "KG"},
                 "goods": [{"hs_code": "8703.23", "description": "cars", "gross_kg": 15000},
                           {"hs_code": "9301", "description": "?"}],
                 "declared_gross_kg": 20000}}],
  "facts": {"supervisor_flag": {"value": true, "source": "night.lua", "time_us": 1},
            "axles": 5, "odd": {"value": {"nested": 1}}},
  "risk": {"channel": "red"}, "decision": null
})";

TEST_CASE("a truck's picture gives every fact") {
  FactOptions o;
  o.vehicle_tare_kg = 15000;
  o.utc_offset_minutes = 360;
  o.lane_kinds["lane-1"] = "cargo";
  // 2026-11-28T17:30:00Z = 23:30 at +06:00
  const Facts f = FactsFromCrossing(json::parse(kTruck), "", "", 1795887000000000LL, o);
  auto num = [&](const char* k) { return std::get<double>(f.at(k)); };
  auto str = [&](const char* k) { return std::get<std::string>(f.at(k)); };
  auto list = [&](const char* k) { return std::get<List>(f.at(k)); };
  CHECK(str("crossing_id") == "CR-0007");
  CHECK(str("lane") == "lane-1");
  CHECK(str("lane_kind") == "cargo");
  CHECK(str("crossing_state") == "open");
  CHECK(num("local_hour") == 23);
  CHECK(str("plate") == "01KG123ABC");
  CHECK(str("plate_country") == "KG");
  CHECK(num("documents") == 1);
  CHECK(list("nationalities") == List{"KAZ"});
  CHECK(std::get<bool>(f.at("nationality_plate_mismatch")) == true);
  CHECK(num("documents_invalid") == 1);
  CHECK(num("check_digit_failures") == 2);  // the MRZ number, TGHU7654321
  CHECK(num("repaired_reads") == 2);        // the birth date, CSQU3054383
  CHECK(list("containers") == List{"MSCU1234565", "TGHU7654321", "CSQU3054383"});
  CHECK(std::get<bool>(f.at("manifest_missing")) == false);
  CHECK(str("carrier") == "Silk Road Logistics");
  CHECK(str("consignor") == "Urumqi Trading");
  CHECK(str("consignee") == "Bishkek Imports");
  CHECK(str("origin") == "CN");
  CHECK(str("destination") == "KG");
  CHECK(list("hs_codes") == List{"870323", "9301"});
  CHECK(list("hs_chapters") == List{"87", "93"});
  CHECK(num("declared_gross_kg") == 20000);
  CHECK(num("weight_kg") == 38000);
  CHECK(num("weight_net_kg") == 23000);
  CHECK(num("weight_discrepancy_pct") == 15);
  CHECK(std::get<bool>(f.at("weight_mismatch")) == true);
  CHECK(list("containers_not_in_manifest") == List{"TGHU7654321"});
  CHECK(num("watchlist_hits") == 2);
  CHECK(num("watchlist_best_score") == 0.95);
  CHECK(list("watchlist_kinds") == List{"person", "vehicle"});
  CHECK(num("xray_scans") == 1);
  CHECK(std::get<bool>(f.at("is_cargo")) == true);
  CHECK(IsNull(f.at("carrier_red_history")));
  CHECK(std::get<bool>(f.at("fact.supervisor_flag")) == true);
  CHECK(std::get<double>(f.at("fact.axles")) == 5);
  CHECK(IsNull(f.at("fact.odd")));  // an object is not a fact value
}

TEST_CASE("the demo profile sends the 15 % overweight truck to red with the reason") {
  ProfileResult r =
      LoadProfile(std::string(KORDON_SOURCE_DIR) + "/config/risk-profile.ini", &BuiltinCatalog());
  REQUIRE_MESSAGE(r.ok(), r.error);
  FactOptions o;
  std::string error;
  REQUIRE(FactOptionsFromProfile(*r.profile, &o, &error));
  json picture = json::parse(kTruck);
  picture.erase("watchlist_hits");
  picture["containers"] = json::array({{{"code", "MSCU1234565"}, {"check_digit_valid", true}}});
  picture["documents"] = json::array();
  picture.erase("facts");
  picture["manifests"][0]["manifest"]["goods"] = json::array({{{"hs_code", "8703"}}});
  const Facts f = FactsFromCrossing(picture, "lane-1", "CR-0007", 1795860000000000LL, o);
  Assessment a = Assess(*r.profile, f, {}, "CR-0007", 1);
  CHECK(a.channel == Channel::kRed);
  REQUIRE(!a.fired.empty());
  CHECK(a.fired[0].criterion->id == "weight-over-manifest");
  CHECK(a.fired[0].text ==
        "Declared weight exceeded by 15% (23000 kg net against 20000 kg declared)");
}

TEST_CASE("missing and ill-typed fields give null facts, never an exception") {
  const char* pictures[] = {
      "{}",
      "[]",
      "null",
      R"({"plates": 7, "documents": "x", "containers": [1, null, {"code": 5}],
          "weights": {"latest": {"kg": "heavy"}}, "manifests": [{"unmatched": true}],
          "watchlist_hits": [{"score": "high"}], "facts": [1], "lane": 3})",
      R"({"manifests": [{"manifest": {"goods": [{"hs_code": 87}], "declared_gross_kg": "x",
          "containers": [{"code": null}]}}], "weights": [{"kg": 1e308}]})",
      R"({"weights": {"stable": [{"kg": 40000}]}, "manifest": {"declared_gross_kg": 0}})",
  };
  for (const char* p : pictures) {
    CAPTURE(p);
    Facts f;
    CHECK_NOTHROW(f = FactsFromCrossing(json::parse(p), "", "", 0, FactOptions()));
    CHECK(IsNull(f.at("weight_discrepancy_pct")));
    CHECK(IsNull(f.at("origin")));
  }
  Facts f = FactsFromCrossing(json::parse("{}"), "lane-9", "CR-1", 0, FactOptions());
  CHECK(IsNull(f.at("manifest_missing")));  // no lookup answered yet: unknown
  CHECK(std::get<bool>(FactsFromCrossing(json::parse(R"({"manifests": [{"status": "unmatched",
      "matched_by": "plate", "value": "01KG123ABC", "manifest": null}]})"), "lane-9", "CR-1", 0,
      FactOptions()).at("manifest_missing")) == true);
  CHECK(std::get<bool>(f.at("is_cargo")) == false);
  CHECK(IsNull(f.at("containers_not_in_manifest")));  // no manifest: unknown, not empty
  CHECK(IsNull(f.at("local_hour")));
  CHECK(IsNull(f.at("lane_kind")));
  f = FactsFromCrossing(json::parse(pictures[5]), "", "", 0, FactOptions());
  CHECK(std::get<double>(f.at("weight_kg")) == 40000);
  CHECK(std::get<bool>(f.at("is_cargo")) == true);
  CHECK(IsNull(f.at("weight_discrepancy_pct")));  // declared 0: no percentage
}

TEST_CASE("a net weighbridge reading is compared as it is; tolerance decides the mismatch") {
  FactOptions o;
  o.vehicle_tare_kg = 15000;
  o.weight_tolerance_pct = 5;
  json p = {{"weights", json::array({{{"kg", 20800}, {"net", true}}})},
            {"manifest", {{"manifest", {{"declared_gross_kg", 20000}}}}}};
  Facts f = FactsFromCrossing(p, "", "", 0, o);
  CHECK(std::get<double>(f.at("weight_discrepancy_pct")) == 4);
  CHECK(std::get<bool>(f.at("weight_mismatch")) == false);
}

TEST_CASE("nationality against plate country") {
  CHECK(Alpha3ToAlpha2("KGZ") == "KG");
  CHECK(Alpha3ToAlpha2("XXX").empty());
  json p = {{"plates", json::array({{{"plate", "A1"}, {"country", "KG"}}})},
            {"documents", json::array({{{"nationality", "KAZ"}}, {{"nationality", "KGZ"}}})}};
  CHECK(std::get<bool>(FactsFromCrossing(p, "", "", 0, {}).at("nationality_plate_mismatch")) ==
        false);
  p["documents"] = json::array({{{"nationality", "XXA"}}});  // stateless: no mapping
  CHECK(IsNull(FactsFromCrossing(p, "", "", 0, {}).at("nationality_plate_mismatch")));
}

}  // namespace
}  // namespace kordon::risk

namespace kordon::risk {
namespace {

// A picture shaped as plugins/crossings publishes it (sdk/schemas/crossing.updated.v1.json on
// main): the manifest matched twice (by the plate and by the container), an unmatched
// lookup, weights as {stable, latest, cleared}, hits, a screening error, a refusal.
const char kCrossingsPicture[] = R"({
  "id": "lane-1-20261128T093000-7", "lane": "lane-1", "state": "closed", "current": false,
  "late": false, "revision": 12, "inputs_revision": 9, "opened_us": 1795854600000000,
  "opened": "2026-11-28T09:30:00Z", "updated_us": 1795854700000000,
  "activity_us": 1795854700000000, "closed_us": 1795854800000000,
  "closed": "2026-11-28T09:33:20Z", "close_reason": "decision", "close_detail": null,
  "plate": "01KG123ABC",
  "plates": [{"plate": "01KG123ABC", "raw": "01 KG 123 ABC", "country": "KG",
              "confidence": 0.93, "low_confidence": false, "camera": "cam1",
              "direction": "in", "camera_read_id": null, "read_id": "r1", "time_us": 1,
              "reads": 2, "last_read_id": "r2"}],
  "documents": [{"document_number": "AN9876543", "issuing_state": "KGZ",
                 "document_code": "P", "format": "TD3", "valid": true,
                 "primary_identifier": "TOKTOGULOV", "secondary_identifier": "NURLAN",
                 "nationality": "KGZ", "birth_date": "1981-02-14", "sex": "M",
                 "expiry_date": "2030-01-01", "checks": null, "repairs": null,
                 "problems": null, "reader": "desk1", "first_read_id": "d1",
                 "read_id": "d1", "time_us": 2, "reads": 1, "last_read_id": "d1"}],
  "containers": [{"code": "MSCU1234565", "raw": "MSCU 123456 5", "valid": true,
                  "check": null, "repaired_valid": null, "repair": null,
                  "size_type": "42G1", "confidence": 0.9, "camera": "cc1",
                  "position": "rear", "read_id": "c1", "time_us": 3, "reads": 1,
                  "last_read_id": "c1"}],
  "weights": {"stable": [{"kg": 37000, "tare_kg": 0, "net": false, "scale": "wb1",
                          "vehicle_seq": 4, "read_id": "w1", "time_us": 4}],
              "latest": {"kg": 37000, "tare_kg": 0, "net": false, "scale": "wb1",
                         "vehicle_seq": 4, "read_id": "w1", "time_us": 4},
              "cleared": null},
  "xray": [],
  "hits": [{"entry": {"list": "demo", "id": "V-001", "kind": "vehicle"}, "score": 1.0,
            "matched": "plate", "explanation": "plate 01KG777AAA", "subject": null,
            "source_id": "r1", "source_topic": "scanner.plate.read", "id": "h1",
            "time_us": 5}],
  "screening_errors": [{"reason": "watchlist unavailable"}],
  "manifests": [
    {"status": "found", "source_id": "r1", "source_topic": "scanner.plate.read",
     "matched_by": "plate", "value": "01KG123ABC", "others": [], "id": "m1", "time_us": 6,
     "manifest": {"manifest": "KG-2026-0042", "carrier": "Silk Road Logistics",
                  "plates": ["01KG123ABC"], "plate_country": "KG",
                  "containers": [{"code": "MSCU1234565", "size_type": "42G1"}],
                  "consignor": "Urumqi Trading", "consignee": "Bishkek Imports",
                  "origin": "CN", "destination": "KG",
                  "goods": [{"hs_code": "8703.23", "description": "cars",
                             "gross_kg": 20000}],
                  "declared_gross_kg": 20000, "revision": 1}},
    {"status": "found", "source_id": "c1", "source_topic": "scanner.container.read",
     "matched_by": "container", "value": "MSCU1234565", "others": [], "id": "m2",
     "time_us": 7,
     "manifest": {"manifest": "KG-2026-0042", "carrier": "Silk Road Logistics",
                  "containers": [{"code": "MSCU1234565", "size_type": "42G1"}],
                  "goods": [{"hs_code": "8703.23"}], "declared_gross_kg": 20000}},
    {"status": "unmatched", "source_id": "x", "source_topic": "scanner.plate.read",
     "matched_by": "plate", "value": "ZZ", "manifest": null, "others": [], "id": "m3",
     "time_us": 8}],
  "problems": [], "risk": {"channel": "red"}, "risk_assessments": 3,
  "facts": {"axles": {"value": 5, "source": "truck.lua", "time_us": 9}},
  "notes": [], "hold": null,
  "decision": {"decision": "refused_entry", "notes": "", "officer": "o1",
               "source": "console", "id": "dec1", "time_us": 10},
  "evidence": [], "evidence_total": 0, "dropped": {}
})";

TEST_CASE("a picture as plugins/crossings publishes it gives the expected facts") {
  FactOptions o;
  o.vehicle_tare_kg = 15000;
  const Facts f = FactsFromCrossing(json::parse(kCrossingsPicture), "lane-1",
                                    "lane-1-20261128T093000-7", 1795854700000000LL, o);
  auto num = [&](const char* k) { return std::get<double>(f.at(k)); };
  CHECK(std::get<std::string>(f.at("crossing_state")) == "closed");
  CHECK(std::get<std::string>(f.at("decision")) == "refused_entry");
  CHECK(DecisionRefused(json::parse(kCrossingsPicture)));
  CHECK(std::get<bool>(f.at("manifest_missing")) == false);
  CHECK(num("declared_gross_kg") == 20000);  // the declaration matched twice counts once
  CHECK(num("weight_kg") == 37000);
  CHECK(num("weight_discrepancy_pct") == 10);
  CHECK(std::get<List>(f.at("containers_not_in_manifest")).empty());
  CHECK(std::get<List>(f.at("hs_chapters")) == List{"87"});
  CHECK(num("watchlist_hits") == 1);
  CHECK(std::get<List>(f.at("watchlist_kinds")) == List{"vehicle"});
  CHECK(num("screening_errors") == 1);
  CHECK(num("read_problems") == 0);
  CHECK(num("check_digit_failures") == 0);  // "checks": null
  CHECK(num("repaired_reads") == 0);
  CHECK(std::get<bool>(f.at("nationality_plate_mismatch")) == false);
  CHECK(std::get<double>(f.at("fact.axles")) == 5);
  CHECK(std::get<std::string>(f.at("carrier")) == "Silk Road Logistics");
  // Our own assessment echoed back (risk, risk_assessments, revision) changes no fact.
  json echoed = json::parse(kCrossingsPicture);
  echoed["risk"] = {{"channel", "green"}};
  echoed["risk_assessments"] = 4;
  echoed["revision"] = 13;
  CHECK(FactsHash(FactsFromCrossing(echoed, "lane-1", "lane-1-20261128T093000-7",
                                    1795854700000000LL, o), {}) == FactsHash(f, {}));
}

TEST_CASE("a truncated declaration concludes nothing about containers or weight") {
  json p = json::parse(kCrossingsPicture);
  p["manifests"] = json::array({{{"status", "found"},
                                 {"manifest", {{"truncated", true}, {"bytes", 40000}}}}});
  const Facts f = FactsFromCrossing(p, "lane-1", "x", 1795854700000000LL, FactOptions());
  CHECK(std::get<bool>(f.at("manifest_missing")) == false);
  CHECK(IsNull(f.at("containers_not_in_manifest")));
  CHECK(IsNull(f.at("declared_gross_kg")));
  CHECK(IsNull(f.at("weight_discrepancy_pct")));
}

}  // namespace
}  // namespace kordon::risk
