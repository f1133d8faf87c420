// The condition language (plugins/risk-rules/expression.h): each expression type against a
// table of fact sets, three-valued logic with missing facts, and parse errors with columns.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "expression.h"
#include "facts.h"

namespace kordon::risk {
namespace {

// Unknown (nullopt) printed as "unknown" in failures.
std::string Show(std::optional<bool> r) { return !r ? "unknown" : (*r ? "true" : "false"); }

const Facts kTruck = {
    {"weight_discrepancy_pct", 15.0},
    {"hs_chapters", List{"87", "84"}},
    {"origin", std::string("CN")},
    {"manifest_missing", false},
    {"watchlist_hits", 0.0},
    {"containers_not_in_manifest", List{"MSCU1234565"}},
    {"local_hour", 23.0},
    {"carrier", Value()},  // null: unknown
    {"fact.supervisor_flag", true},
};

struct Case {
  const char* condition;
  const char* expected;  // "true", "false", "unknown"
};

TEST_CASE("each expression type evaluates against facts (three-valued)") {
  const Case cases[] = {
      // comparisons on numbers
      {"weight_discrepancy_pct > 10", "true"},
      {"weight_discrepancy_pct >= 15", "true"},
      {"weight_discrepancy_pct < 15", "false"},
      {"weight_discrepancy_pct <= 15.0", "true"},
      {"weight_discrepancy_pct == 15", "true"},
      {"weight_discrepancy_pct != 15", "false"},
      {"weight_discrepancy_pct > -5", "true"},
      // strings
      {"origin == \"CN\"", "true"},
      {"origin == 'KZ'", "false"},
      {"origin != \"KZ\"", "true"},
      {"origin < \"DE\"", "true"},
      // booleans
      {"manifest_missing", "false"},
      {"not manifest_missing", "true"},
      {"manifest_missing == false", "true"},
      {"fact.supervisor_flag", "true"},
      {"true", "true"},
      // in lists
      {"origin in (\"CN\", \"AF\")", "true"},
      {"origin not in (\"CN\", \"AF\")", "false"},
      {"hs_chapters in (\"93\", \"87\")", "true"},
      {"hs_chapters in (\"93\")", "false"},
      {"\"87\" in hs_chapters", "true"},
      {"\"93\" not in hs_chapters", "true"},
      {"local_hour in (22, 23, 0)", "true"},
      // exists() and count()
      {"exists(origin)", "true"},
      {"exists(carrier)", "false"},
      {"exists(consignee)", "false"},  // absent entirely
      {"count(containers_not_in_manifest) > 0", "true"},
      {"count(hs_chapters) == 2", "true"},
      // and / or / not / parentheses, precedence (and binds tighter than or)
      {"weight_discrepancy_pct > 10 and origin == \"CN\"", "true"},
      {"weight_discrepancy_pct > 20 or origin == \"CN\"", "true"},
      {"weight_discrepancy_pct > 20 or origin == \"KZ\" and true", "false"},
      {"(weight_discrepancy_pct > 20 or origin == \"CN\") and not manifest_missing", "true"},
      {"local_hour >= 22 or local_hour < 5", "true"},
      // unknown facts: comparisons are unknown, and/or follow Kleene's logic
      {"carrier == \"X\"", "unknown"},
      {"not (carrier == \"X\")", "unknown"},
      {"carrier == \"X\" and origin == \"KZ\"", "false"},
      {"carrier == \"X\" and origin == \"CN\"", "unknown"},
      {"carrier == \"X\" or origin == \"CN\"", "true"},
      {"carrier == \"X\" or origin == \"KZ\"", "unknown"},
      {"declared_gross_kg > 0", "unknown"},
      {"carrier in (\"A\", \"B\")", "unknown"},
      {"fact.unknown_thing", "unknown"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.condition);
    std::string error;
    auto e = Expression::Parse(c.condition, &BuiltinCatalog(), &error);
    REQUIRE_MESSAGE(e != nullptr, error);
    CHECK(Show(e->Test(kTruck)) == c.expected);
  }
}

TEST_CASE("parse errors name the column and what is wrong") {
  const struct {
    const char* condition;
    const char* error;
  } cases[] = {
      {"weigth_discrepancy_pct > 10",
       "column 1: unknown fact 'weigth_discrepancy_pct' (did you mean 'weight_discrepancy_pct'?)"},
      {"weight_discrepancy_pct > ", "column 26: expected a value, found the end of the condition"},
      {"weight_discrepancy_pct = 10", "column 24: '=' is not a comparison: write '=='"},
      {"origin > 10", "column 8: '>' compares a string with a number: it would never be true"},
      {"origin in (\"CN\", 4)", "column 18: the list holds a number but the left side is a string"},
      {"origin in (\"CN\" \"AF\")",
       "column 17: expected ',' or ')' in the list, found string \"AF\""},
      {"(origin == \"CN\"", "column 16: expected ')' to close the '(' at column 1, found the end "
                            "of the condition"},
      {"origin == \"CN", "column 11: unterminated string"},
      {"weight_kg", "column 1: the condition is a number, not true/false: compare it (for example "
                    "'x > 10' or 'x == \"A\"')"},
      {"origin and manifest_missing", "column 8: 'and' needs true/false on both sides, found a "
                                      "string"},
      {"hs_chapters > 2", "column 1: '>' cannot compare a list (use 'in' or count())"},
      {"count(origin) > 1", "column 7: count() needs a list; 'origin' is a string"},
      {"exists origin", "column 8: exists is a function: write exists(fact)"},
      {"weight_kg > 10kg", "column 13: unexpected '10k'"},
      {"origin == \"CN\" extra", "column 16: expected 'and', 'or' or the end of the condition, "
                                 "found 'extra'"},
      {"origin @ 3", "column 8: unexpected '@'"},
      {"", "column 1: expected a value, found the end of the condition"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.condition);
    std::string error;
    auto e = Expression::Parse(c.condition, &BuiltinCatalog(), &error);
    CHECK(e == nullptr);
    CHECK(error == c.error);
  }
}

TEST_CASE("deep nesting is refused, not a stack overflow") {
  std::string deep(5000, '(');
  deep += "true";
  deep += std::string(5000, ')');
  std::string error;
  CHECK(Expression::Parse(deep, nullptr, &error) == nullptr);
  CHECK(error.find("nested deeper than 64 levels") != std::string::npos);
  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  nots += "true";
  CHECK(Expression::Parse(nots, nullptr, &error) == nullptr);
}

TEST_CASE("procedure facts (fact.*) and indicators (indicator.*) are open names") {
  std::string error;
  CHECK(Expression::Parse("fact.anything == 3 or indicator.night", &BuiltinCatalog(), &error));
  CHECK(Expression::Parse("facts.anything == 3", &BuiltinCatalog(), &error) == nullptr);
}

TEST_CASE("values are formatted for officers") {
  CHECK(FormatValue(Value(15.0)) == "15");
  CHECK(FormatValue(Value(15.25)) == "15.25");
  CHECK(FormatValue(Value(0.333333)) == "0.33");
  CHECK(FormatValue(Value(List{"A", "B"})) == "A, B");
  CHECK(FormatValue(Value()) == "unknown");
  CHECK(FormatValue(Value(true)) == "true");
}

}  // namespace
}  // namespace kordon::risk
