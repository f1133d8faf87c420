// facts.h — the one place that knows the shape of a crossing.updated body: it maps the
// crossing's picture (plates, documents, containers, weights, manifests, watchlist hits,
// procedure facts) to the flat fact set that profiles read (README.md, "Facts"). Everything
// else in the risk module sees only facts, so a change in the crossings plugin's field names
// is a change here and nowhere else.
//
// Every field is optional: a missing or ill-typed field gives a null fact (unknown), never
// an exception.
//
// No SDK types. Thread safety: reentrant; BuiltinCatalog() is immutable after first use.
#ifndef KORDON_PLUGINS_RISK_RULES_FACTS_H_
#define KORDON_PLUGINS_RISK_RULES_FACTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "expression.h"
#include "profile.h"

namespace kordon::risk {

// How pictures are read; from a profile's [facts] section, so that a replay reads them the
// same way as the live site did.
struct FactOptions {
  double vehicle_tare_kg = 0;        // subtracted from a gross stable weight
  double weight_tolerance_pct = 5;   // |discrepancy| above it sets weight_mismatch
  double truck_min_kg = 3500;        // a weighed vehicle this heavy counts as cargo
  std::optional<int> utc_offset_minutes;  // local_hour's zone; unset: the machine's zone
  std::map<std::string, std::string, std::less<>> lane_kinds;  // lane -> "cargo", "car", ...
};

// Reads profile.fact_settings; false with "FILE:LINE: ..." in *error on a bad value.
bool FactOptionsFromProfile(const Profile& profile, FactOptions* out, std::string* error);

// The built-in facts with their types and descriptions; "fact." and "indicator." are open.
const FactCatalog& BuiltinCatalog();

// The facts of one crossing.updated. `lane` and `crossing_id` come from the envelope (the
// body's are used when those are empty); `time_us` is the message's time (local_hour).
Facts FactsFromCrossing(const nlohmann::json& picture, std::string_view lane,
                        std::string_view crossing_id, int64_t time_us, const FactOptions& options);

// True when the picture's officer decision refuses the crossing ("decision": "refused" /
// "denied" / "rejected", as a string or as {"decision": ...} / {"outcome": ...}).
bool DecisionRefused(const nlohmann::json& picture);

// ISO 3166-1 alpha-3 (passports: ICAO Doc 9303 nationality codes) to alpha-2 (plates), for
// the codes of the region and its trading partners; "" when not listed.
std::string Alpha3ToAlpha2(std::string_view alpha3);

}  // namespace kordon::risk

#endif  // KORDON_PLUGINS_RISK_RULES_FACTS_H_
