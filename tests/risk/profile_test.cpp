// The profile file (plugins/risk-rules/profile.h): a good file read whole, the demo profile,
// and a table of broken files, each refused with FILE:LINE and the reason.
#include <doctest/doctest.h>

#include <string>

#include "facts.h"
#include "profile.h"

namespace kordon::risk {
namespace {

const char kHead[] = "[profile]\nid = t\nversion = 1\n";

ProfileResult Parse(const std::string& text) {
  return ParseProfile(text, "p.ini", &BuiltinCatalog());
}

TEST_CASE("the inspection channels: one list, in order, parsed and named both ways") {
  for (size_t i = 0; i < kChannelCount; ++i) {
    const auto c = static_cast<Channel>(i);
    CHECK(ParseChannel(ChannelName(c)) == c);
  }
  CHECK_FALSE(ParseChannel("purple").has_value());
  CHECK_FALSE(ParseChannel("Red").has_value());
  CHECK_FALSE(ParseChannel("").has_value());
  CHECK(Stronger(Channel::kBlue, Channel::kYellow) == Channel::kYellow);
  CHECK(Stronger(Channel::kRed, Channel::kGreen) == Channel::kRed);
  CHECK(ChannelList() == "green, blue, yellow or red");
  CHECK(ChannelList(Channel::kBlue) == "blue, yellow or red");
  CHECK(ChannelList(Channel::kBlue, ", ") == "blue, yellow, red");
  CHECK(ChannelList(Channel::kRed) == "red");
}

TEST_CASE("a profile is read whole: sections, criteria, continuation lines, rates") {
  const std::string text = std::string(kHead) +
                           "description = a test\n"
                           "# a comment\n"
                           "; another\n"
                           "[channels]\nblue = 10\nyellow = 30\nred = 60\n"
                           "[rates]\nexpected_red = 8%\nexpected_yellow = 12.5 %\n"
                           "random = 2%\nrandom_channel = yellow\n"
                           "[criterion heavy]\n"
                           "when = weight_discrepancy_pct > 10\n"
                           "    and hs_chapters in (\"87\", \"93\")\n"
                           "weight = 40\n"
                           "channel = red\n"
                           "text = Over by {weight_discrepancy_pct}% {{sic}}\n"
                           "\n"
                           "[criterion night]\nwhen = local_hour >= 22\nrandom = 10%\n"
                           "text = Night\n";
  ProfileResult r = Parse(text);
  REQUIRE_MESSAGE(r.ok(), r.error);
  const Profile& p = *r.profile;
  CHECK(p.id == "t");
  CHECK(p.version == "1");
  CHECK(p.description == "a test");
  CHECK(p.digest.size() == 16);
  CHECK(*p.threshold[1] == 10);
  CHECK(*p.threshold[3] == 60);
  CHECK(*p.expected[3] == doctest::Approx(0.08));
  CHECK(*p.expected[2] == doctest::Approx(0.125));
  CHECK_FALSE(p.expected[0].has_value());
  CHECK(p.random_rate == doctest::Approx(0.02));
  CHECK(p.random_channel == Channel::kYellow);
  REQUIRE(p.criteria.size() == 2);
  const Criterion& c = p.criteria[0];
  CHECK(c.id == "heavy");
  CHECK(c.line == 16);
  CHECK(c.weight == 40);
  CHECK(c.channel == Channel::kRed);
  CHECK(c.when->text() == "weight_discrepancy_pct > 10 and hs_chapters in (\"87\", \"93\")");
  CHECK(*p.criteria[1].random_rate == doctest::Approx(0.10));
  CHECK(p.ScoreChannel(0) == Channel::kGreen);
  CHECK(p.ScoreChannel(10) == Channel::kBlue);
  CHECK(p.ScoreChannel(59.9) == Channel::kYellow);
  CHECK(p.ScoreChannel(60) == Channel::kRed);
}

TEST_CASE("the demo profile is valid and its [facts] settings are read") {
  ProfileResult r =
      LoadProfile(std::string(KORDON_SOURCE_DIR) + "/config/risk-profile.ini", &BuiltinCatalog());
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.profile->criteria.size() >= 8);
  CHECK(r.profile->random_rate == doctest::Approx(0.02));
  FactOptions o;
  std::string error;
  REQUIRE_MESSAGE(FactOptionsFromProfile(*r.profile, &o, &error), error);
  CHECK(o.vehicle_tare_kg == 15000);
  CHECK(o.utc_offset_minutes == 360);
  CHECK(o.lane_kinds.at("lane-1") == "cargo");
}

TEST_CASE("broken profiles are refused with FILE:LINE and the reason") {
  const std::string crit = "[criterion c]\nwhen = watchlist_hits > 0\n";  // lines 4, 5
  const struct {
    std::string text;
    const char* error;
  } cases[] = {
      {"", "p.ini:1: the [profile] section (id, version) is missing"},
      {"id = x\n", "p.ini:1: a setting before the first section; start with [profile]"},
      {"[profile]\nid = t\n", "p.ini:1: [profile] needs 'version' (recorded in every assessment)"},
      {std::string(kHead) + "[profile]\n", "p.ini:4: section [profile] appears twice"},
      {std::string(kHead) + "[rules]\n",
       "p.ini:4: unknown section [rules]; expected [profile], [channels], [rates], [facts] or "
       "[criterion ID]"},
      {std::string(kHead) + "[criterion]\n",
       "p.ini:4: a criterion needs an id of 1-64 letters, digits, '_', '-', '.': "
       "[criterion weight-over-manifest]"},
      {std::string(kHead) + "[channels\n", "p.ini:4: a section header ends with ']'"},
      {std::string(kHead) + "colour blue\n",
       "p.ini:4: expected 'key = value' or a [section], found 'colour blue'"},
      {std::string(kHead) + "id = u\n", "p.ini:4: 'id' is set twice in this section (first on "
                                        "line 2)"},
      {std::string(kHead) + "[channels]\nred = 30\nyellow = 40\n",
       "p.ini:5: the 'red' threshold must be above the 'yellow' threshold (channels go green < "
       "blue < yellow < red)"},
      {std::string(kHead) + "[channels]\ngreen = 3\n",
       "p.ini:5: unknown setting 'green' in [channels]; allowed: blue, yellow, red (the score "
       "from which each applies)"},
      {std::string(kHead) + "[channels]\nred = lots\n",
       "p.ini:5: 'red' must be a score between 0 and 1000000, got 'lots'"},
      {std::string(kHead) + "[rates]\nrandom = 2\n",
       "p.ini:5: 'random' must be a percentage such as 2%"},
      {std::string(kHead) + "[rates]\nexpected_red = 60%\nexpected_green = 50%\n",
       "p.ini:6: the expected rates add up to more than 100%"},
      {std::string(kHead) + "[rates]\nrandom_channel = green\n",
       "p.ini:5: 'random_channel' must be blue, yellow or red"},
      {std::string(kHead) + crit + "text = x\n",
       "p.ini:4: criterion 'c': give it a 'weight', a 'channel' or a 'random' rate"},
      {std::string(kHead) + crit + "weight = 5\n",
       "p.ini:4: criterion 'c': 'text' (what the officer reads) is missing"},
      {std::string(kHead) + "[criterion c]\nweight = 5\ntext = x\n",
       "p.ini:4: criterion 'c': 'when' (the condition) is missing"},
      {std::string(kHead) + crit + "weight = -5\ntext = x\n",
       "p.ini:6: 'weight' must be a number between 0 and 1000, got '-5'"},
      {std::string(kHead) + crit + "channel = green\ntext = x\n",
       "p.ini:6: 'channel = green' would never change anything (a direct channel is a floor); "
       "use 'weight = 0' for a note"},
      {std::string(kHead) + crit + "channel = orange\ntext = x\n",
       "p.ini:6: 'channel' must be blue, yellow or red, got 'orange'"},
      {std::string(kHead) + crit + "colour = red\n",
       "p.ini:6: unknown setting 'colour' in [criterion]; allowed: when, weight, channel, random, "
       "text"},
      {std::string(kHead) + "[criterion c]\nwhen = watchlist_hts > 0\nweight = 1\ntext = x\n",
       "p.ini:5: criterion 'c': when, column 8: unknown fact 'watchlist_hts' (did you mean "
       "'watchlist_hits'?)"},
      // The error is on the continuation line, at its own column.
      {std::string(kHead) + "[criterion c]\nwhen = watchlist_hits > 0\n  and origin = \"CN\"\n"
                            "weight = 1\ntext = x\n",
       "p.ini:6: criterion 'c': when, column 14: '=' is not a comparison: write '=='"},
      {std::string(kHead) + crit + "weight = 1\ntext = Hits: {watchlist_hit}\n",
       "p.ini:7: criterion 'c': text, column 14: unknown fact 'watchlist_hit' (did you mean "
       "'watchlist_hits'?)"},
      {std::string(kHead) + crit + "weight = 1\ntext = Hits: {watchlist_hits\n",
       "p.ini:7: criterion 'c': text, column 14: '{' without '}' (write '{{' for a brace)"},
      {std::string(kHead) + crit + "weight = 1\ntext = x\n[criterion c]\n",
       "p.ini:8: criterion 'c' is defined twice"},
      {std::string(kHead) + "\n  indented = 1\n",
       "p.ini:5: an indented line continues a value, but there is none above"},
      {std::string(kHead) + "x = \x01\n", "p.ini:4: control character in the line"},
      {std::string(kHead) + "[criterion c]\nwhen = true\nweight = 1\ntext = \xa0\n",
       "p.ini:7: the line is not valid UTF-8"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    ProfileResult r = Parse(c.text);
    CHECK_FALSE(r.ok());
    CHECK(r.error == c.error);
  }
}

TEST_CASE("[facts] settings are checked with their line") {
  ProfileResult r = Parse(std::string(kHead) + "[facts]\nvehicle_tare_kg = 15000\n"
                                               "utc_offset = 6\n");
  REQUIRE(r.ok());
  FactOptions o;
  std::string error;
  CHECK_FALSE(FactOptionsFromProfile(*r.profile, &o, &error));
  CHECK(error == "p.ini:6: [facts] 'utc_offset' must look like +06:00, -03:30 or Z");
  r = Parse(std::string(kHead) + "[facts]\ntare = 1\n");
  REQUIRE(r.ok());
  CHECK_FALSE(FactOptionsFromProfile(*r.profile, &o, &error));
  CHECK(error.rfind("p.ini:5: [facts] unknown setting 'tare'", 0) == 0);
}

TEST_CASE("a missing file is an error naming it") {
  ProfileResult r = LoadProfile("/nonexistent/risk.ini", &BuiltinCatalog());
  CHECK_FALSE(r.ok());
  CHECK(r.error == "/nonexistent/risk.ini: cannot be read");
}

}  // namespace
}  // namespace kordon::risk
