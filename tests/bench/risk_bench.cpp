// risk_bench — assessments per second for a risk profile of 200 criteria (plugins/risk-rules),
// beside a baseline that evaluates the same 200 conditions as hand-written C++ lambdas over a
// struct, in the same run; prints the ratio. Also the plugin's whole path per crossing:
// picture JSON → facts → assessment → risk.assessment body text.
//
// Exit status 1 when the engine and the lambdas disagree on any crossing (fired criteria,
// score or channel): the smoke run (CTest bench.risk_smoke) checks that.
//
//   risk_bench [--crossings N] [--repeat R] [--criteria C]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "facts.h"
#include "profile.h"
#include "bench_row.h"

namespace risk = kordon::risk;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const char* kCountries[] = {"CN", "KZ", "UZ", "AF", "TR", "RU", "IR", "DE"};
const char* kChapters[] = {"87", "84", "93", "24", "22", "61", "85", "71", "39", "44"};
const char* kCarriers[] = {"Silk Road Logistics", "Tengri Trans", "Ala-Too Cargo",
                           "Kashgar Express"};

// The baseline's view of a crossing: the same facts as typed fields.
struct Plain {
  double weight_discrepancy_pct = 0;
  std::string origin;
  std::vector<std::string> hs_chapters;
  double watchlist_hits = 0;
  double local_hour = 0;
  bool manifest_missing = false;
  double containers_not_in_manifest = 0;
  std::optional<std::string> carrier;
  double declared_gross_kg = 0;
  double check_digit_failures = 0;
  std::string lane;
  double repaired_reads = 0;
  double documents_invalid = 0;
};

struct Generated {
  std::string profile_text;
  std::vector<std::function<bool(const Plain&)>> lambdas;
  std::vector<double> weights;
  std::vector<int> channel;  // -1 none, else risk::Channel
};

bool In(const std::vector<std::string>& items, const char* a, const char* b) {
  for (const std::string& s : items)
    if (s == a || s == b) return true;
  return false;
}

Generated Generate(int n) {
  Generated g;
  g.profile_text = "[profile]\nid = bench\nversion = 1\n[channels]\nblue = 20\nyellow = 50\n"
                   "red = 100\n[rates]\nrandom = 2%\n";
  for (int i = 0; i < n; ++i) {
    std::string when;
    std::function<bool(const Plain&)> f;
    const char* c1 = kCountries[i % 8];
    const char* c2 = i % 3 == 0 ? kCountries[(i * 3 + 1) % 8] : "ZZ";
    const char* h1 = kChapters[i % 10];
    const char* h2 = i % 3 == 0 ? kChapters[(i * 7 + 3) % 10] : "00";
    switch (i % 8) {
      case 0: {
        const double t = 10 + (i * 7) % 30;
        when = "weight_discrepancy_pct > " + std::to_string(static_cast<int>(t));
        f = [t](const Plain& p) { return p.weight_discrepancy_pct > t; };
        break;
      }
      case 1:
        when = std::string("origin in (\"") + c1 + "\", \"" + c2 + "\")";
        f = [c1, c2](const Plain& p) { return p.origin == c1 || p.origin == c2; };
        break;
      case 2:
        when = std::string("hs_chapters in (\"") + h1 + "\", \"" + h2 + "\")";
        f = [h1, h2](const Plain& p) { return In(p.hs_chapters, h1, h2); };
        break;
      case 3: {
        const double h = i % 24;
        when = "watchlist_hits > 0 and local_hour >= " + std::to_string(i % 24);
        f = [h](const Plain& p) { return p.watchlist_hits > 0 && p.local_hour >= h; };
        break;
      }
      case 4: {
        const double k = i % 3;
        when = "not manifest_missing and count(containers_not_in_manifest) > " +
               std::to_string(i % 3);
        f = [k](const Plain& p) {
          return !p.manifest_missing && p.containers_not_in_manifest > k;
        };
        break;
      }
      case 5: {
        const char* carrier = kCarriers[i % 4];
        when = std::string("exists(carrier) and carrier == \"") + carrier + "\"";
        f = [carrier](const Plain& p) { return p.carrier && *p.carrier == carrier; };
        break;
      }
      case 6: {
        const double kg = 22000 + (i % 10) * 300;
        const double n = 1 + i % 2;
        when = "declared_gross_kg >= " + std::to_string(static_cast<int>(kg)) +
               " or check_digit_failures > " + std::to_string(1 + i % 2);
        f = [kg, n](const Plain& p) {
          return p.declared_gross_kg >= kg || p.check_digit_failures > n;
        };
        break;
      }
      default: {
        const std::string lane = "lane-" + std::to_string(1 + i % 4);
        when = "lane in (\"" + lane + "\", \"lane-9\") and (repaired_reads > 0 or "
               "documents_invalid > 0)";
        f = [lane](const Plain& p) {
          return p.lane == lane && (p.repaired_reads > 0 || p.documents_invalid > 0);
        };
        break;
      }
    }
    const double weight = i % 17;
    const int channel = i % 25 == 0 ? static_cast<int>(risk::Channel::kRed)
                                    : (i % 11 == 0 ? static_cast<int>(risk::Channel::kYellow) : -1);
    g.profile_text += "[criterion c" + std::to_string(i) + "]\nwhen = " + when + "\nweight = " +
                      std::to_string(static_cast<int>(weight)) + "\n";
    if (channel >= 0)
      g.profile_text += std::string("channel = ") +
                        risk::ChannelName(static_cast<risk::Channel>(channel)) + "\n";
    g.profile_text += "text = Criterion " + std::to_string(i) + " ({origin})\n";
    g.lambdas.push_back(std::move(f));
    g.weights.push_back(weight);
    g.channel.push_back(channel);
  }
  return g;
}

// A crossing picture (crossing.updated body) with random reads.
json Picture(std::mt19937_64& rng, int i) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  json goods = json::array();
  for (int k = 0, n = 1 + pick(3); k < n; ++k)
    goods.push_back({{"hs_code", std::string(kChapters[pick(10)]) + "0311"}});
  json containers = json::array(), listed = json::array();
  for (int k = 0, n = pick(3); k < n; ++k) {
    const std::string code = "MSCU" + std::to_string(1000000 + pick(9000000));
    containers.push_back({{"code", code}, {"check_digit_valid", pick(10) != 0}});
    if (pick(4) != 0) listed.push_back({{"code", code}});
  }
  const double declared = 10000 + pick(15000);
  json manifest = {{"origin", kCountries[pick(8)]}, {"destination", "KG"},
                   {"goods", goods}, {"containers", listed}, {"declared_gross_kg", declared}};
  if (pick(5) != 0) manifest["carrier"] = kCarriers[pick(4)];
  json p = {{"id", "CR-" + std::to_string(i)},
            {"plates", json::array({{{"plate", "01KG" + std::to_string(pick(999))},
                                     {"country", "KG"}}})},
            {"documents", json::array({{{"nationality", "KGZ"}, {"valid", pick(20) != 0},
                                        {"checks", json::array()},
                                        {"repairs", pick(10) == 0 ? json::array({1})
                                                                  : json::array()}}})},
            {"containers", containers},
            {"weights", json::array({{{"kg", 15000 + declared * (0.85 + pick(40) / 100.0)}}})},
            {"watchlist_hits", pick(15) == 0 ? json::array({{{"score", 0.9}}}) : json::array()},
            {"manifests", json::array({{{"manifest", manifest}}})}};
  return p;
}

Plain ToPlain(const risk::Facts& f) {
  auto num = [&](const char* k) {
    auto it = f.find(k);
    return it != f.end() && it->second.index() == 2 ? std::get<double>(it->second) : 0.0;
  };
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = f.find(k);
    if (it != f.end() && it->second.index() == 3) return std::get<std::string>(it->second);
    return std::nullopt;
  };
  auto list = [&](const char* k) {
    auto it = f.find(k);
    return it != f.end() && it->second.index() == 4 ? std::get<risk::List>(it->second)
                                                    : risk::List{};
  };
  Plain p;
  p.weight_discrepancy_pct = num("weight_discrepancy_pct");
  p.origin = str("origin").value_or("");
  p.hs_chapters = list("hs_chapters");
  p.watchlist_hits = num("watchlist_hits");
  p.local_hour = num("local_hour");
  p.manifest_missing = std::get<bool>(f.at("manifest_missing"));
  p.containers_not_in_manifest = static_cast<double>(list("containers_not_in_manifest").size());
  p.carrier = str("carrier");
  p.declared_gross_kg = num("declared_gross_kg");
  p.check_digit_failures = num("check_digit_failures");
  p.lane = str("lane").value_or("");
  p.repaired_reads = num("repaired_reads");
  p.documents_invalid = num("documents_invalid");
  return p;
}

// The baseline's decision: same weights, thresholds, floors and random draw.
risk::Channel Baseline(const Generated& g, const risk::Profile& profile, const Plain& p,
                       const std::string& id, double* score, std::vector<int>* fired) {
  double s = 0;
  risk::Channel floor = risk::Channel::kGreen;
  for (size_t i = 0; i < g.lambdas.size(); ++i) {
    if (!g.lambdas[i](p)) continue;
    s += g.weights[i];
    if (g.channel[i] >= 0) floor = risk::Stronger(floor, static_cast<risk::Channel>(g.channel[i]));
    if (fired) fired->push_back(static_cast<int>(i));
  }
  if (risk::RandomDraw(1, id) < profile.random_rate)
    floor = risk::Stronger(floor, profile.random_channel);
  *score = s;
  return risk::Stronger(profile.ScoreChannel(s), floor);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  int crossings = 5000, repeat = 3, criteria = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--crossings")) crossings = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--criteria")) criteria = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: risk_bench [--crossings N] [--repeat R] [--criteria C]\n");
      return 2;
    }
  }
  if (crossings < 1 || repeat < 1 || criteria < 1) return 2;
  const Generated g = Generate(criteria);
  risk::ProfileResult r = risk::ParseProfile(g.profile_text, "bench.ini", &risk::BuiltinCatalog());
  if (!r.ok()) {
    std::fprintf(stderr, "generated profile refused: %s\n", r.error.c_str());
    return 1;
  }
  const risk::Profile& profile = *r.profile;

  std::mt19937_64 rng(2026);
  std::vector<std::string> pictures, ids;
  std::vector<std::string> lanes;
  std::vector<risk::Facts> facts;
  std::vector<Plain> plain;
  risk::FactOptions options;
  options.vehicle_tare_kg = 15000;
  for (int i = 0; i < crossings; ++i) {
    json p = Picture(rng, i);
    ids.push_back("CR-" + std::to_string(i));
    lanes.push_back("lane-" + std::to_string(1 + i % 4));
    pictures.push_back(p.dump());
    facts.push_back(risk::FactsFromCrossing(p, lanes.back(), ids.back(),
                                            1795860000000000LL + i * 60000000LL, options));
    plain.push_back(ToPlain(facts.back()));
  }

  // Agreement first: the engine and the lambdas must decide every crossing alike.
  size_t fired_total = 0;
  int disagreements = 0;
  uint64_t channel_counts[4] = {};
  for (int i = 0; i < crossings; ++i) {
    const risk::Assessment a = risk::Assess(profile, facts[i], {}, ids[i], 1);
    double score = 0;
    std::vector<int> fired;
    const risk::Channel c = Baseline(g, profile, plain[i], ids[i], &score, &fired);
    std::vector<int> engine_fired;
    for (const risk::Fired& f : a.fired)
      engine_fired.push_back(static_cast<int>(&*f.criterion - &profile.criteria[0]));
    if (c != a.channel || score != a.score || fired != engine_fired) {
      if (++disagreements <= 3)
        std::fprintf(stderr, "disagreement on %s: engine %s %.0f (%zu fired), lambdas %s %.0f "
                     "(%zu fired)\n", ids[i].c_str(), risk::ChannelName(a.channel), a.score,
                     a.fired.size(), risk::ChannelName(c), score, fired.size());
    }
    fired_total += a.fired.size();
    ++channel_counts[static_cast<size_t>(a.channel)];
  }

  std::printf("risk_bench: %d criteria, %d crossings, %.1f criteria fired per crossing; "
              "channels green %llu, blue %llu, yellow %llu, red %llu\n",
              criteria, crossings, static_cast<double>(fired_total) / crossings,
              static_cast<unsigned long long>(channel_counts[0]),
              static_cast<unsigned long long>(channel_counts[1]),
              static_cast<unsigned long long>(channel_counts[2]),
              static_cast<unsigned long long>(channel_counts[3]));
  volatile double sink = 0;
  double best_base = 0, best_engine = 0, best_whole = 0;
  for (int round = 0; round < repeat; ++round) {
    // Baseline: the lambdas over typed fields (no fact lookup at all).
    auto t0 = Clock::now();
    for (int i = 0; i < crossings; ++i) {
      double score = 0;
      sink = sink + static_cast<double>(Baseline(g, profile, plain[i], ids[i], &score, nullptr));
    }
    const double base = crossings / Seconds(Clock::now() - t0);
    // The engine: bind the profile's facts, evaluate 200 conditions, fill texts, decide.
    t0 = Clock::now();
    for (int i = 0; i < crossings; ++i)
      sink = sink + risk::Assess(profile, facts[i], {}, ids[i], 1).score;
    const double engine = crossings / Seconds(Clock::now() - t0);
    // The plugin's whole path: parse the picture, facts, assess, body text.
    t0 = Clock::now();
    size_t bytes = 0;
    for (int i = 0; i < crossings; ++i) {
      const json p = json::parse(pictures[i]);
      const risk::Facts f = risk::FactsFromCrossing(p, lanes[i], ids[i], 1795860000000000LL,
                                                    options);
      const risk::Assessment a = risk::Assess(profile, f, {}, ids[i], 1);
      bytes += risk::AssessmentBody(a, profile, f, ids[i], lanes[i]).dump().size();
    }
    const double whole = crossings / Seconds(Clock::now() - t0);
    std::printf("round %d: engine %.0f assessments/s, lambdas %.0f/s (engine/lambdas %.2f); "
                "picture->facts->assessment->body %.0f/s (%.0f bytes/body)\n",
                round + 1, engine, base, engine / base, whole,
                static_cast<double>(bytes) / crossings);
    best_base = std::max(best_base, base);
    best_engine = std::max(best_engine, engine);
    best_whole = std::max(best_whole, whole);
  }
  const std::string profile_text = std::to_string(criteria) + " criteria";
  kordon::bench::PrintRow({"risk", "assessments, generated profile of " + profile_text,
                           best_engine, "assessments/s", "the same conditions as C++ lambdas",
                           best_base, best_engine / best_base, "", std::nullopt});
  kordon::bench::PrintRow({"risk", "picture -> facts -> assessment -> body", best_whole,
                           "crossings/s", "", std::nullopt, std::nullopt, "", std::nullopt});
  if (disagreements > 0) {
    std::fprintf(stderr, "risk_bench: %d crossing(s) decided differently by the engine and the "
                 "lambdas\n", disagreements);
    return 1;
  }
  return 0;
}
