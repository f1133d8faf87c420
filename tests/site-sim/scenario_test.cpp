// Tests of plugins/site-sim/scenario: documents parse with the real MRZ parser (and fail or
// get repaired exactly where the scenario says it damaged them), container check digits, plate
// forms, weights, determinism.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>

#include "iso6346.h"
#include "mrz.h"
#include "scenario.h"

using kordon::sim::Scenario;
using kordon::sim::ScenarioOptions;
using kordon::sim::Vehicle;
using kordon::sim::VehicleKind;

namespace {

const std::chrono::year_month_day kToday{std::chrono::year{2026}, std::chrono::month{11},
                                         std::chrono::day{28}};

bool Mentions(const Vehicle& v, const std::string& what) {
  for (const auto& n : v.notes)
    if (n.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("clean documents parse and validate with the MRZ parser") {
  ScenarioOptions o;
  o.ocr_damage_rate = 0;
  o.mrz_check_wrong_rate = 0;
  Scenario s(o);
  int td1 = 0, td3 = 0;
  for (int i = 0; i < 300; ++i) {
    const Vehicle v = s.Next(i % 2 ? VehicleKind::kCar : VehicleKind::kTruck);
    REQUIRE(v.documents.size() == 1 + v.passengers.size());
    for (const std::string& text : v.documents) {
      const auto r = kordon::mrz::Parse(text, kToday);
      INFO(text);
      REQUIRE(r.ok());
      CHECK(r.document->valid());
      CHECK(r.document->repairs.empty());
      (r.document->format == kordon::mrz::Format::kTD1 ? td1 : td3)++;
    }
  }
  CHECK(td1 > 10);  // identity cards and passports both occur
  CHECK(td3 > 100);
}

TEST_CASE("damaged documents are repaired or fail exactly as the notes say") {
  ScenarioOptions o;
  o.ocr_damage_rate = 0.3;
  o.mrz_check_wrong_rate = 0.3;
  Scenario s(o);
  int repaired = 0, wrong = 0;
  for (int i = 0; i < 200; ++i) {
    const Vehicle v = s.Next(VehicleKind::kCar);
    for (const std::string& text : v.documents) {
      const auto r = kordon::mrz::Parse(text, kToday);
      REQUIRE(r.ok());
      if (!r.document->repairs.empty()) ++repaired;
      if (!r.document->valid()) ++wrong;
    }
    const bool any_repair = Mentions(v, "OCR damage"), any_wrong = Mentions(v, "check digit is wrong");
    if (!any_repair && !any_wrong)
      for (const std::string& text : v.documents) CHECK(kordon::mrz::Parse(text, kToday).document->valid());
  }
  CHECK(repaired > 20);
  CHECK(wrong > 20);
}

TEST_CASE("containers carry a right check digit unless the notes say otherwise") {
  ScenarioOptions o;
  o.container_check_wrong_rate = 0.2;
  Scenario s(o);
  int containers = 0, wrong = 0;
  for (int i = 0; i < 300; ++i) {
    const Vehicle v = s.Next(VehicleKind::kTruck);
    CHECK(v.has_manifest);
    CHECK(v.gross_kg > 10000);
    for (const auto& c : v.containers) {
      REQUIRE(c.code.size() == 11);
      ++containers;
      const bool right = kordon::iso6346::Analyse(c.code).valid;
      CHECK(right == !c.check_digit_wrong);
      // The manifest declares the registered number: always valid, and the painted one when
      // that is right.
      CHECK(kordon::iso6346::Analyse(c.registered_code).valid);
      CHECK((c.registered_code == c.code) == right);
      CHECK(c.registered_code.substr(0, 10) == c.code.substr(0, 10));
      if (!right) {
        ++wrong;
        CHECK(Mentions(v, c.code));
      }
    }
  }
  CHECK(containers > 150);
  CHECK(wrong > 10);
}

TEST_CASE("plates: normalised form is A-Z 0-9; raw text has the camera's spaces and Cyrillic") {
  Scenario s(ScenarioOptions{});
  std::set<std::string> countries;
  int cyrillic = 0;
  for (int i = 0; i < 400; ++i) {
    const Vehicle v = s.Next(VehicleKind::kCar);
    for (char c : v.plate) CHECK(((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')));
    countries.insert(v.plate_country);
    for (unsigned char c : v.plate_raw)
      if (c >= 0xD0) {
        ++cyrillic;
        break;
      }
    CHECK(v.plate_confidence > 0.3);
    CHECK(v.plate_confidence <= 1.0);
  }
  CHECK(countries.size() >= 4);
  CHECK(cyrillic > 40);
}

TEST_CASE("weights: discrepancies only where the notes say so") {
  Scenario s(ScenarioOptions{});
  int discrepancies = 0;
  for (int i = 0; i < 300; ++i) {
    const Vehicle v = s.Next(VehicleKind::kTruck);
    // The scale weighs the truck and its cargo; the manifest declares the cargo.
    const double ratio = (v.gross_kg - kordon::sim::kTruckTareKg) / v.manifest.declared_gross_kg;
    if (Mentions(v, "against the declared")) {
      ++discrepancies;
      CHECK((ratio > 1.07 || ratio < 0.93));
    } else {
      CHECK(ratio > 0.98);
      CHECK(ratio < 1.02);
      CHECK(v.manifest.declared_gross_kg > 0);
    }
  }
  CHECK(discrepancies > 15);
}

TEST_CASE("the same seed plays the same day; another seed another") {
  Scenario a(ScenarioOptions{.seed = 7}), b(ScenarioOptions{.seed = 7}), c(ScenarioOptions{.seed = 8});
  bool differs = false;
  for (int i = 0; i < 50; ++i) {
    const Vehicle va = a.Next(VehicleKind::kTruck), vb = b.Next(VehicleKind::kTruck),
                  vc = c.Next(VehicleKind::kTruck);
    CHECK(va.plate_raw == vb.plate_raw);
    CHECK(va.documents == vb.documents);
    CHECK(va.gross_kg == vb.gross_kg);
    differs = differs || va.plate_raw != vc.plate_raw;
  }
  CHECK(differs);
}

TEST_CASE("watchlisted people and plates turn up") {
  Scenario s(ScenarioOptions{.watchlist_rate = 0.2});
  int people = 0, plates = 0;
  for (int i = 0; i < 200; ++i) {
    const Vehicle v = s.Next(VehicleKind::kCar);
    people += v.driver.watchlisted;
    plates += v.plate_watchlisted;
  }
  CHECK(people > 5);
  CHECK(plates > 5);
}
