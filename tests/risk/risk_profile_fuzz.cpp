// risk_profile_fuzz.cpp — fuzz target for the risk profile reader and the condition parser
// (plugins/risk-rules/profile.h, expression.h). Invariants: nothing throws or crashes; a file
// is either a whole profile or an error naming "fuzz.ini:LINE: "; a profile's criteria can be
// evaluated against empty and sample facts; its [facts] settings are read or refused by line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine.h"
#include "facts.h"
#include "fuzz_check.h"
#include "profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace risk = kordon::risk;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const risk::FactCatalog* catalog : {&risk::BuiltinCatalog(),
                                           static_cast<const risk::FactCatalog*>(nullptr)}) {
    const risk::ProfileResult r = risk::ParseProfile(text, "fuzz.ini", catalog);
    FUZZ_CHECK(r.ok() == r.error.empty(), "either a profile or an error");
    if (!r.ok()) {
      FUZZ_CHECK(r.error.rfind("fuzz.ini:", 0) == 0, "an error names the file");
      FUZZ_CHECK(r.error.find(": ", 9) != std::string::npos, "an error names the line");
      continue;
    }
    const risk::Profile& p = *r.profile;
    FUZZ_CHECK(!p.id.empty() && !p.version.empty(), "a profile has an id and a version");
    for (const risk::Criterion& c : p.criteria) {
      FUZZ_CHECK(c.when != nullptr, "every criterion has a condition");
      FUZZ_CHECK(c.weight >= 0, "weights are never negative");
    }
    risk::FactOptions options;
    std::string error;
    if (!risk::FactOptionsFromProfile(p, &options, &error))
      FUZZ_CHECK(error.rfind("fuzz.ini:", 0) == 0, "a [facts] error names the file");
    const risk::Facts empty;
    const risk::Facts sample = {{"origin", std::string("CN")}, {"weight_kg", 1.0},
                                {"hs_chapters", risk::List{"87"}}, {"manifest_missing", true}};
    for (const risk::Facts* facts : {&empty, &sample}) {
      const risk::Assessment a = risk::Assess(p, *facts, {}, "CR-1", 1);
      FUZZ_CHECK(a.channel >= a.score_channel, "the decision is never below the score's channel");
      FUZZ_CHECK(a.draw >= 0 && a.draw < 1, "the draw is in [0, 1)");
      (void)risk::AssessmentBody(a, p, *facts, "CR-1", "lane-1").dump();
    }
  }
  // The condition parser alone, on the raw bytes.
  std::string error;
  auto e = risk::Expression::Parse(text, &risk::BuiltinCatalog(), &error);
  FUZZ_CHECK((e == nullptr) == !error.empty(), "either an expression or an error");
  if (e == nullptr) FUZZ_CHECK(error.rfind("column ", 0) == 0, "an error names the column");
  return 0;
}
