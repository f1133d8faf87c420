// engine.h — assessing one crossing's facts against a profile: the criteria that fire, the
// score, the channel (score thresholds, direct-channel floors, indicators, random selection;
// never weaker than any of them), the replayable random draw, and the risk.assessment body.
//
// Pure library: no SDK types. Thread safety: every function is reentrant; Assess only reads
// the profile.
#ifndef KORDON_PLUGINS_RISK_RULES_ENGINE_H_
#define KORDON_PLUGINS_RISK_RULES_ENGINE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "expression.h"
#include "profile.h"

namespace kordon::risk {

// An indicator added from outside the profile (site procedures: risk.indicator messages).
struct Indicator {
  std::string name;
  std::string source;
  std::string text;
  double weight = 0;               // 0..1000, added to the score
  std::optional<Channel> channel;  // a floor
};

// Parses a risk.indicator body {crossing_id, name, weight | channel, text, source}.
// nullopt and *error when it is not one; *crossing_id receives the body's crossing id.
std::optional<Indicator> IndicatorFromJson(const nlohmann::json& body, std::string* crossing_id,
                                           std::string* error);

struct Fired {
  const Criterion* criterion = nullptr;
  std::string text;  // placeholders filled in
};

struct Assessment {
  double score = 0;
  Channel channel = Channel::kGreen;        // the decision
  Channel score_channel = Channel::kGreen;  // what the score alone gives
  std::vector<Fired> fired;                 // in profile order
  std::vector<const Criterion*> undetermined;  // conditions unknown for lack of facts
  std::vector<Indicator> indicators;
  uint64_t seed = 0;
  double draw = 0;         // RandomDraw(seed, crossing id), in [0, 1)
  double random_rate = 0;  // the profile's rate, raised by fired `random` criteria
  bool random_selected = false;
};

// Deterministic draw in [0, 1) for a crossing: SplitMix64(seed XOR FNV-1a64(crossing_id)),
// top 53 bits / 2^53. Anyone holding the seed can recompute it (README.md, "Random
// selection").
double RandomDraw(uint64_t seed, std::string_view crossing_id);

// Assesses facts. `bound` must be Expression::BindNames(profile.fact_names, facts).
Assessment Assess(const Profile& profile, const BoundFacts& bound,
                  const std::vector<Indicator>& indicators, std::string_view crossing_id,
                  uint64_t seed);
inline Assessment Assess(const Profile& profile, const Facts& facts,
                         const std::vector<Indicator>& indicators, std::string_view crossing_id,
                         uint64_t seed) {
  return Assess(profile, Expression::BindNames(profile.fact_names, facts), indicators,
                crossing_id, seed);
}

// A fact value as JSON (lists as arrays of strings, null as null).
nlohmann::json ValueToJson(const Value& v);
// A JSON value as a fact: null, bool, number, string, array of strings (other arrays and
// objects: nullopt).
std::optional<Value> ValueFromJson(const nlohmann::json& j);

// The risk.assessment body (sdk/schemas/risk.assessment.v1.json).
nlohmann::json AssessmentBody(const Assessment& a, const Profile& profile, const Facts& facts,
                              std::string_view crossing_id, std::string_view lane);

// Observed channel shares over the last `window` decisions against a profile's expected
// rates: the office's check that a profile selects about as much as planned.
class RateMonitor {
 public:
  explicit RateMonitor(size_t window) : window_(window) {}
  // Records a decision. When a full window has passed since the last report and a channel's
  // observed share is more than `tolerance` (absolute, 0..1) away from its expected rate,
  // returns a sentence saying so ("red 30% of the last 200 decisions, expected 8%; ...").
  std::optional<std::string> Add(Channel c, const Profile& profile, double tolerance = 0.10);
  size_t size() const { return ring_.size(); }

 private:
  size_t window_;
  std::vector<Channel> ring_;
  size_t next_ = 0;
  size_t since_report_ = 0;
  std::array<size_t, kChannelCount> counts_{};
};

// A hash of what an assessment depends on besides the profile: the facts and indicators.
uint64_t FactsHash(const Facts& facts, const std::vector<Indicator>& indicators);

}  // namespace kordon::risk

#endif  // KORDON_PLUGINS_RISK_RULES_ENGINE_H_
