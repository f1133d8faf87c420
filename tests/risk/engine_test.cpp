// Assessment (plugins/risk-rules/engine.h): scores and thresholds, direct channels as floors,
// the monotonic-channel rule on random profiles, indicators, rates and the deterministic
// random draw, and the risk.assessment body.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "engine.h"
#include "facts.h"
#include "profile.h"

namespace kordon::risk {
namespace {

std::shared_ptr<const Profile> Make(const std::string& body, const std::string& rates = "") {
  const std::string text = "[profile]\nid = t\nversion = 7\n[channels]\nblue = 10\nyellow = 30\n"
                           "red = 60\n[rates]\n" + rates + "\n" + body;
  ProfileResult r = ParseProfile(text, "t.ini", &BuiltinCatalog());
  REQUIRE_MESSAGE(r.ok(), r.error);
  return r.profile;
}

const char kCriteria[] =
    "[criterion heavy]\nwhen = weight_discrepancy_pct >= 10\nweight = 40\nchannel = red\n"
    "text = Over by {weight_discrepancy_pct}%\n"
    "[criterion hit]\nwhen = watchlist_hits > 0\nweight = 60\nchannel = red\ntext = Hit\n"
    "[criterion docs]\nwhen = check_digit_failures > 0\nweight = 20\ntext = Check digits\n"
    "[criterion cn]\nwhen = origin == \"CN\"\nweight = 15\ntext = From {origin}\n"
    "[criterion nomf]\nwhen = manifest_missing\nchannel = yellow\ntext = No manifest\n";

TEST_CASE("score thresholds and direct channels give the decision (table)") {
  auto p = Make(kCriteria);
  const struct {
    const char* name;
    Facts facts;
    double score;
    const char* channel;
    std::vector<std::string> fired;
  } cases[] = {
      {"nothing fires", {{"weight_discrepancy_pct", 2.0}, {"manifest_missing", false}}, 0,
       "green", {}},
      {"below blue", {{"origin", std::string("KZ")}, {"manifest_missing", false}}, 0, "green", {}},
      {"score reaches blue", {{"origin", std::string("CN")}}, 15, "blue", {"cn"}},
      {"score reaches yellow",
       {{"origin", std::string("CN")}, {"check_digit_failures", 2.0}}, 35, "yellow",
       {"docs", "cn"}},
      {"direct red above a low score", {{"weight_discrepancy_pct", 15.0}}, 40, "red", {"heavy"}},
      {"direct yellow with score 0", {{"manifest_missing", true}}, 0, "yellow", {"nomf"}},
      {"watchlist hit", {{"watchlist_hits", 1.0}}, 60, "red", {"hit"}},
      {"everything", {{"weight_discrepancy_pct", 15.0}, {"watchlist_hits", 1.0},
                      {"check_digit_failures", 1.0}, {"origin", std::string("CN")},
                      {"manifest_missing", true}}, 135, "red",
       {"heavy", "hit", "docs", "cn", "nomf"}},
      {"unknown facts fire nothing", {}, 0, "green", {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Assessment a = Assess(*p, c.facts, {}, "CR-1", 1);
    CHECK(a.score == c.score);
    CHECK(std::string(ChannelName(a.channel)) == c.channel);
    std::vector<std::string> fired;
    for (const Fired& f : a.fired) fired.push_back(f.criterion->id);
    CHECK(fired == c.fired);
  }
}

TEST_CASE("criterion texts show the facts") {
  auto p = Make(kCriteria);
  Assessment a = Assess(*p, Facts{{"weight_discrepancy_pct", 15.0}, {"origin", std::string("CN")}},
                        {}, "CR-1", 1);
  REQUIRE(a.fired.size() == 2);
  CHECK(a.fired[0].text == "Over by 15%");
  CHECK(a.fired[1].text == "From CN");
}

TEST_CASE("conditions that cannot be decided are listed as undetermined") {
  auto p = Make(kCriteria);
  Assessment a = Assess(*p, Facts{{"watchlist_hits", 0.0}}, {}, "CR-1", 1);
  std::vector<std::string> ids;
  for (const Criterion* c : a.undetermined) ids.push_back(c->id);
  CHECK(ids == std::vector<std::string>{"heavy", "docs", "cn", "nomf"});
}

// The rule the officers rely on: one more indicator or fired criterion never gives a weaker
// channel. Checked on random profiles: for every crossing, the facts plus one more criterion
// firing (or one more indicator) give a channel at least as strong.
TEST_CASE("a stronger indicator never yields a weaker channel (random profiles)") {
  std::mt19937_64 rng(42);
  const char* channels[] = {"", "blue", "yellow", "red"};
  for (int round = 0; round < 200; ++round) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      text += "[criterion c" + std::to_string(i) + "]\nwhen = fact.f" + std::to_string(i) +
              "\nweight = " + std::to_string(rng() % 50) + "\n";
      const char* ch = channels[rng() % 4];
      if (*ch) text += std::string("channel = ") + ch + "\n";
      text += "text = c" + std::to_string(i) + "\n";
    }
    auto p = Make(text, "random = " + std::to_string(rng() % 30) + "%\n");
    for (int trial = 0; trial < 20; ++trial) {
      Facts facts;
      for (int i = 0; i < n; ++i) facts["fact.f" + std::to_string(i)] = (rng() % 2) == 0;
      const std::string id = "CR-" + std::to_string(rng());
      const Assessment before = Assess(*p, facts, {}, id, 9);
      for (int i = 0; i < n; ++i) {
        Facts more = facts;
        more["fact.f" + std::to_string(i)] = true;
        CHECK(Assess(*p, more, {}, id, 9).channel >= before.channel);
      }
      Indicator ind;
      ind.name = "x";
      ind.text = "x";
      ind.weight = static_cast<double>(rng() % 100);
      if (rng() % 2) ind.channel = static_cast<Channel>(rng() % 4);
      CHECK(Assess(*p, facts, {ind}, id, 9).channel >= before.channel);
    }
  }
}

TEST_CASE("indicators add their weight, their channel is a floor, and they are reported") {
  auto p = Make(kCriteria);
  Indicator heavy_truck{"lane3", "truck-procedure", "Over 40 t: lane 3", 12, std::nullopt};
  Indicator supervisor{"supervisor", "night-rule", "Supervisor wants a look", 0, Channel::kYellow};
  Assessment a = Assess(*p, Facts{}, {heavy_truck}, "CR-1", 1);
  CHECK(a.score == 12);
  CHECK(a.channel == Channel::kBlue);
  a = Assess(*p, Facts{}, {heavy_truck, supervisor}, "CR-1", 1);
  CHECK(a.channel == Channel::kYellow);
  nlohmann::json body = AssessmentBody(a, *p, Facts{}, "CR-1", "lane-1");
  REQUIRE(body["indicators"].size() == 2);
  CHECK(body["indicators"][1]["channel"] == "yellow");
  CHECK(body["reasons"] == nlohmann::json::array({"Over 40 t: lane 3", "Supervisor wants a look"}));

  std::string crossing, error;
  auto parsed = IndicatorFromJson(
      nlohmann::json::parse(R"({"crossing_id": "CR-9", "name": "n", "channel": "red",
                                "text": "t", "source": "s"})"),
      &crossing, &error);
  REQUIRE_MESSAGE(parsed.has_value(), error);
  CHECK(crossing == "CR-9");
  CHECK(parsed->channel == Channel::kRed);
  const struct {
    const char* body;
    const char* error;
  } bad[] = {
      {R"({"name": "n", "text": "t"})", "give 'weight' or 'channel'"},
      {R"({"name": "n", "text": "t", "weight": -1})",
       "'weight' must be a number between 0 and 1000"},
      {R"({"name": "n", "text": "t", "channel": "pink"})",
       "'channel' must be green, blue, yellow or red"},
      {R"({"text": "t", "weight": 1})", "'name' must be a non-empty string"},
      {R"({"name": "n", "weight": 1})", "'text' must be a non-empty string"},
      {R"([1])", "the body is not an object"},
  };
  for (const auto& b : bad) {
    CAPTURE(b.body);
    CHECK_FALSE(IndicatorFromJson(nlohmann::json::parse(b.body), &crossing, &error).has_value());
    CHECK(error == b.error);
  }
}

TEST_CASE("random draws are deterministic and match the documented algorithm") {
  // Golden values computed with the Python in README.md ("Random selection").
  CHECK(RandomDraw(0x2026, "CR-0001") == 0.37221276292253425);
  CHECK(RandomDraw(0, "") == 0.7636945250957473);
  CHECK(RandomDraw(0xffffffffffffffffULL, "lane-1/000042") == 0.8019296182500683);
  CHECK(RandomDraw(7, "CR-1") == RandomDraw(7, "CR-1"));
  CHECK(RandomDraw(7, "CR-1") != RandomDraw(8, "CR-1"));
}

TEST_CASE("random selection hits its rate, raises to random_channel, and replays") {
  const struct {
    const char* rates;
    double rate;
    Channel channel;
  } cases[] = {
      {"random = 2%\n", 0.02, Channel::kRed},
      {"random = 10%\nrandom_channel = yellow\n", 0.10, Channel::kYellow},
      {"random = 0%\n", 0.0, Channel::kRed},
      {"", 0.0, Channel::kRed},
  };
  for (const auto& c : cases) {
    CAPTURE(c.rates);
    auto p = Make("", c.rates);
    const int n = 100000;
    int selected = 0;
    for (int i = 0; i < n; ++i) {
      const std::string id = "CR-" + std::to_string(i);
      Assessment a = Assess(*p, Facts{}, {}, id, 0x5eed);
      CHECK(a.random_rate == doctest::Approx(c.rate));
      if (a.random_selected) {
        ++selected;
        if (a.channel != c.channel) FAIL("selected crossing not raised: ", id);
        CHECK(a.draw < c.rate);
      }
      // Replaying with the recorded seed gives the same decision.
      if (i % 1000 == 0) {
        Assessment again = Assess(*p, Facts{}, {}, id, a.seed);
        CHECK(again.channel == a.channel);
        CHECK(again.draw == a.draw);
      }
    }
    // Binomial: 5 standard deviations.
    const double sd = std::sqrt(n * c.rate * (1 - c.rate));
    CHECK(std::abs(selected - n * c.rate) <= 5 * sd + 0.5);
  }
}

TEST_CASE("a fired criterion's random rate raises the crossing's rate (never lowers it)") {
  auto p = Make("[criterion night]\nwhen = local_hour >= 22\nrandom = 50%\ntext = Night\n"
                "[criterion low]\nwhen = local_hour >= 0\nrandom = 1%\ntext = Any\n",
                "random = 2%\n");
  Assessment day = Assess(*p, Facts{{"local_hour", 12.0}}, {}, "CR-1", 3);
  Assessment night = Assess(*p, Facts{{"local_hour", 23.0}}, {}, "CR-1", 3);
  CHECK(day.random_rate == doctest::Approx(0.02));
  CHECK(night.random_rate == doctest::Approx(0.5));
  CHECK(night.score == 0);
  int selected = 0;
  for (int i = 0; i < 10000; ++i)
    selected += Assess(*p, Facts{{"local_hour", 23.0}}, {}, "N-" + std::to_string(i), 3)
                    .random_selected;
  CHECK(selected > 4500);
  CHECK(selected < 5500);
}

TEST_CASE("the assessment body carries everything needed to explain and replay it") {
  auto p = Make(kCriteria, "random = 2%\n");
  Facts facts{{"weight_discrepancy_pct", 15.0}, {"origin", std::string("CN")},
              {"hs_chapters", List{"87"}}, {"carrier", Value()}};
  Assessment a = Assess(*p, facts, {}, "CR-0001", 0x2026);
  nlohmann::json b = AssessmentBody(a, *p, facts, "CR-0001", "lane-1");
  CHECK(b["crossing_id"] == "CR-0001");
  CHECK(b["lane"] == "lane-1");
  CHECK(b["channel"] == "red");
  CHECK(b["score"] == 55);
  CHECK(b["score_channel"] == "yellow");
  CHECK(b["reasons"] == nlohmann::json::array({"Over by 15%", "From CN"}));
  CHECK(b["fired"][0] == nlohmann::json({{"id", "heavy"}, {"text", "Over by 15%"}, {"weight", 40},
                                         {"channel", "red"}, {"line", 11}}));
  CHECK(b["fired"][1]["channel"].is_null());
  CHECK(b["random"]["seed"] == "0000000000002026");
  CHECK(b["random"]["draw"] == 0.37221276292253425);
  CHECK(b["random"]["rate"] == 0.02);
  CHECK(b["random"]["selected"] == false);
  CHECK(b["profile"]["id"] == "t");
  CHECK(b["profile"]["version"] == "7");
  CHECK(b["facts"]["hs_chapters"] == nlohmann::json::array({"87"}));
  CHECK(b["facts"]["carrier"].is_null());
  CHECK(b["facts"]["weight_discrepancy_pct"] == 15);
  CHECK(b["facts_hash"].get<std::string>().size() == 16);
}

TEST_CASE("the facts hash changes with any fact or indicator and only then") {
  Facts a{{"x", 1.0}, {"l", List{"a", "b"}}};
  Facts b = a;
  CHECK(FactsHash(a, {}) == FactsHash(b, {}));
  b["x"] = 2.0;
  CHECK(FactsHash(a, {}) != FactsHash(b, {}));
  b = a;
  b["l"] = List{"ab"};
  CHECK(FactsHash(a, {}) != FactsHash(b, {}));
  b = a;
  b["x"] = std::string("1");
  CHECK(FactsHash(a, {}) != FactsHash(b, {}));
  Indicator i{"n", "s", "t", 1, std::nullopt};
  CHECK(FactsHash(a, {}) != FactsHash(a, {i}));
}

}  // namespace
}  // namespace kordon::risk

namespace kordon::risk {
namespace {

TEST_CASE("the rate monitor reports channel shares off the expected rates, once per window") {
  auto p = ParseProfile("[profile]\nid = t\nversion = 1\n[rates]\nexpected_red = 10%\n"
                        "expected_green = 90%\n", "t.ini", nullptr);
  REQUIRE(p.ok());
  RateMonitor m(10);
  // 1 red in 10: as expected, nothing to say.
  for (int i = 0; i < 10; ++i)
    CHECK_FALSE(m.Add(i == 0 ? Channel::kRed : Channel::kGreen, *p.profile).has_value());
  // The next window: 5 red in the last 10.
  std::optional<std::string> report;
  for (int i = 0; i < 10; ++i) {
    auto r = m.Add(i < 5 ? Channel::kRed : Channel::kGreen, *p.profile);
    if (r) {
      CHECK(i == 9);  // once, at the end of the window
      report = r;
    }
  }
  REQUIRE(report.has_value());
  CHECK(*report == "green 50% of the last 10 decisions, expected 90%; red 50% of the last 10 "
                   "decisions, expected 10%");
  RateMonitor off(0);
  for (int i = 0; i < 100; ++i) CHECK_FALSE(off.Add(Channel::kRed, *p.profile).has_value());
}

}  // namespace
}  // namespace kordon::risk
