// risk_cli.cpp — see risk_cli.h.
//
//   kordon risk check PROFILE [--json]
//   kordon risk compare --live P1 --candidate P2 --replay EXPORT.jsonl [--seed HEX] [--json]
//
// compare replays the crossing.updated and risk.indicator messages of a journal export (the
// format of `kordon journal export`, BusMessage::ToJson) through both profiles exactly as the
// risk-rules plugin does (same facts, same indicators, same random draw), and reports each
// crossing's final channel under each profile.
#include "risk_cli.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bus_client.h"
#include "cli_options.h"
#include "engine.h"
#include "facts.h"
#include "profile.h"

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;
namespace risk = kordon::risk;
using nlohmann::json;

namespace kordon::host {
namespace {

const char kRiskUsage[] =
    "Usage:\n"
    "  kordon risk check PROFILE [--json]\n"
    "  kordon risk compare --live P1 --candidate P2 --replay EXPORT.jsonl [--seed HEX] "
    "[--json]\n";

std::string Dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string Pct(double share) { return risk::FormatValue(risk::Value(share * 100.0)) + "%"; }

// A profile with its [facts] options; nullopt (after printing the error) when invalid.
struct Loaded {
  std::shared_ptr<const risk::Profile> profile;
  risk::FactOptions options;
};

std::optional<Loaded> Load(const std::string& path, const char* who) {
  risk::ProfileResult r = risk::LoadProfile(path, &risk::BuiltinCatalog());
  if (!r.ok()) {
    fmt::print(stderr, "kordon risk {}: {}\n", who, r.error);
    return std::nullopt;
  }
  Loaded l;
  std::string error;
  if (!risk::FactOptionsFromProfile(*r.profile, &l.options, &error)) {
    fmt::print(stderr, "kordon risk {}: {}\n", who, error);
    return std::nullopt;
  }
  l.profile = std::move(r.profile);
  return l;
}

std::string Thresholds(const risk::Profile& p) {
  std::string s;
  for (size_t c = 1; c < risk::kChannelCount; ++c)
    if (p.threshold[c])
      s += fmt::format("{}{} >= {}", s.empty() ? "" : ", ",
                       risk::ChannelName(static_cast<risk::Channel>(c)),
                       risk::FormatValue(risk::Value(*p.threshold[c])));
  return s.empty() ? "none (direct channels only)" : s;
}

std::string Expected(const risk::Profile& p) {
  std::string s;
  for (size_t c = 0; c < risk::kChannelCount; ++c)
    if (p.expected[c])
      s += fmt::format("{}{} {}", s.empty() ? "" : ", ",
                       risk::ChannelName(static_cast<risk::Channel>(c)), Pct(*p.expected[c]));
  return s.empty() ? "not set" : s;
}

int Check(int argc, char** argv) {
  po::options_description d("kordon risk check PROFILE");
  d.add_options()("profile", po::value<std::string>(), "the profile file")(
      "json", "print the criteria as JSON");
  po::positional_options_description pos;
  pos.add("profile", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kRiskUsage, &vm, &rc, "kordon risk")) return rc;
  if (!vm.count("profile")) {
    fmt::print(stderr, "kordon risk check: PROFILE is required\n{}", kRiskUsage);
    return 1;
  }
  std::optional<Loaded> l = Load(vm["profile"].as<std::string>(), "check");
  if (!l) return 2;
  const risk::Profile& p = *l->profile;
  if (vm.count("json")) {
    json criteria = json::array();
    for (const risk::Criterion& c : p.criteria) {
      json j = {{"id", c.id}, {"line", c.line}, {"when", c.when->text()}, {"text", c.text},
                {"weight", risk::ValueToJson(risk::Value(c.weight))}};
      j["channel"] = c.channel ? json(risk::ChannelName(*c.channel)) : json(nullptr);
      j["random"] = c.random_rate ? json(*c.random_rate) : json(nullptr);
      criteria.push_back(std::move(j));
    }
    fmt::print("{}\n", Dump({{"id", p.id}, {"version", p.version}, {"file", p.file},
                             {"digest", p.digest}, {"criteria", std::move(criteria)}}, 2));
    return 0;
  }
  fmt::print("profile {} version {} ({}, digest {})\n", p.id, p.version, p.file, p.digest);
  if (!p.description.empty()) fmt::print("  {}\n", p.description);
  fmt::print("thresholds: {}\nrandom selection: {} -> at least {}\nexpected rates: {}\n",
             Thresholds(p), Pct(p.random_rate), risk::ChannelName(p.random_channel),
             Expected(p));
  if (!p.fact_settings.empty()) {
    fmt::print("facts:");
    for (const auto& [key, s] : p.fact_settings) fmt::print(" {} = {};", key, s.value);
    fmt::print("\n");
  }
  fmt::print("criteria ({}):\n", p.criteria.size());
  for (const risk::Criterion& c : p.criteria) {
    std::string effect;
    if (c.weight > 0 || (!c.channel && !c.random_rate))
      effect = "weight " + risk::FormatValue(risk::Value(c.weight));
    if (c.channel)
      effect +=
          std::string(effect.empty() ? "" : ", ") + "channel " + risk::ChannelName(*c.channel);
    if (c.random_rate) effect += std::string(effect.empty() ? "" : ", ") + "random " +
                                 Pct(*c.random_rate);
    fmt::print("  {} (line {}): {}\n    when {}\n    text {}\n", c.id, c.line, effect,
               c.when->text(), c.text);
  }
  return 0;
}

// One crossing during a replay.
struct Replayed {
  std::string lane;
  std::vector<risk::Indicator> indicators;
  json picture;
  int64_t time_us = 0;
  bool seen_update = false;
  std::array<risk::Channel, 2> channel{};
  std::array<std::vector<std::string>, 2> fired;
  std::array<double, 2> score{};
};

int Compare(int argc, char** argv) {
  po::options_description d("kordon risk compare");
  d.add_options()("live", po::value<std::string>(), "the profile in force")(
      "candidate", po::value<std::string>(), "the profile to try")(
      "replay", po::value<std::string>(), "a journal export (kordon journal export), JSON Lines")(
      "seed", po::value<std::string>(),
      "random selection seed, hex (default: the one recorded in the export's risk.assessment "
      "messages, else 0)")("json", "print the result as one JSON object");
  po::positional_options_description pos;
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kRiskUsage, &vm, &rc, "kordon risk")) return rc;
  if (!vm.count("live") || !vm.count("candidate") || !vm.count("replay")) {
    fmt::print(stderr, "kordon risk compare: --live, --candidate and --replay are required\n{}",
               kRiskUsage);
    return 1;
  }
  std::optional<uint64_t> seed;
  std::string seed_from = "--seed";
  if (vm.count("seed")) {
    const std::string s = vm["seed"].as<std::string>();
    if (s.empty() || s.size() > 16 ||
        s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      fmt::print(stderr, "kordon risk compare: --seed must be 1-16 hex digits\n");
      return 1;
    }
    seed = std::stoull(s, nullptr, 16);
  }
  std::optional<Loaded> profiles[2] = {Load(vm["live"].as<std::string>(), "compare"),
                                       Load(vm["candidate"].as<std::string>(), "compare")};
  if (!profiles[0] || !profiles[1]) return 2;

  const std::string path = vm["replay"].as<std::string>();
  // Streams the export (it may hold a day of a site's messages), calling fn per message in
  // file order; 0, or 3 after printing what is wrong with which line.
  auto for_each = [&path](const std::function<void(const BusMessage&)>& fn) -> int {
    std::ifstream in(path);
    if (!in) {
      fmt::print(stderr, "kordon risk compare: {}: cannot be read\n", path);
      return 3;
    }
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json j = json::parse(line, nullptr, false);
      Result<BusMessage> m = j.is_object()
                                 ? BusMessage::FromJson(j)
                                 : Result<BusMessage>(Status::InvalidArgument("not JSON"));
      if (!m.ok()) {
        fmt::print(stderr, "kordon risk compare: {}:{}: not a journal export line: {}\n", path,
                   line_no, m.status().message());
        return 3;
      }
      fn(*m);
    }
    if (in.bad()) {
      fmt::print(stderr, "kordon risk compare: {}: read error\n", path);
      return 3;
    }
    return 0;
  };
  if (!seed) {
    // Replay with the seed the live site used, so random selections come out the same.
    const int scanned = for_each([&](const BusMessage& m) {
      if (seed || m.topic != "risk.assessment") return;
      json body = json::parse(m.body, nullptr, false);
      if (!body.is_object() || !body.contains("random") || !body["random"].is_object()) return;
      const json& r = body["random"];
      if (!r.contains("seed") || !r["seed"].is_string()) return;
      try {
        seed = std::stoull(r["seed"].get<std::string>(), nullptr, 16);
        seed_from = "the export's risk.assessment";
      } catch (const std::exception&) {
      }
    });
    if (scanned != 0) return scanned;
  }
  if (!seed) {
    seed = 0;
    seed_from = "default; none recorded in the export";
  }

  std::map<std::string, Replayed> crossings;  // sorted by id for the report
  uint64_t updates = 0, indicators = 0, bad = 0;
  auto assess = [&](const std::string& id, Replayed& r) {
    for (int k = 0; k < 2; ++k) {
      risk::Facts facts =
          risk::FactsFromCrossing(r.picture, r.lane, id, r.time_us, profiles[k]->options);
      for (const risk::Indicator& i : r.indicators) facts["indicator." + i.name] = true;
      const risk::Assessment a = risk::Assess(*profiles[k]->profile, facts, r.indicators, id,
                                              *seed);
      r.channel[k] = a.channel;
      r.score[k] = a.score;
      r.fired[k].clear();
      for (const risk::Fired& f : a.fired) r.fired[k].push_back(f.criterion->id);
    }
  };
  const int replayed = for_each([&](const BusMessage& m) {
    if (m.topic == "crossing.updated" || m.topic == "crossing.opened" ||
        m.topic == "crossing.closed") {
      json picture = json::parse(m.body, nullptr, false);
      std::string id = m.envelope.crossing_id;
      if (id.empty() && picture.is_object() && picture.contains("id") && picture["id"].is_string())
        id = picture["id"].get<std::string>();
      if (!picture.is_object() || id.empty()) {
        ++bad;
        return;
      }
      ++updates;
      Replayed& r = crossings[id];
      r.picture = std::move(picture);
      r.lane = m.envelope.lane;
      r.time_us = m.envelope.time_us;
      r.seen_update = true;
      assess(id, r);
    } else if (m.topic == "risk.indicator") {
      std::string id, error;
      std::optional<risk::Indicator> ind =
          risk::IndicatorFromJson(json::parse(m.body, nullptr, false), &id, &error);
      if (id.empty()) id = m.envelope.crossing_id;
      if (!ind || id.empty()) {
        ++bad;
        return;
      }
      ++indicators;
      if (ind->source.empty()) ind->source = m.envelope.source;
      Replayed& r = crossings[id];
      bool replaced = false;
      for (risk::Indicator& i : r.indicators)
        if (i.name == ind->name && i.source == ind->source) {
          i = *ind;
          replaced = true;
        }
      if (!replaced) r.indicators.push_back(std::move(*ind));
      if (r.seen_update) assess(id, r);
    }
  });
  if (replayed != 0) return replayed;

  std::array<std::array<uint64_t, risk::kChannelCount>, 2> counts{};
  size_t assessed = 0;
  json changed = json::array();
  json channels = json::object();
  for (const auto& [id, r] : crossings) {
    if (!r.seen_update) continue;
    ++assessed;
    channels[id] = {{"live", risk::ChannelName(r.channel[0])},
                    {"candidate", risk::ChannelName(r.channel[1])}};
    for (int k = 0; k < 2; ++k) ++counts[k][static_cast<size_t>(r.channel[k])];
    if (r.channel[0] == r.channel[1]) continue;
    json added = json::array(), removed = json::array();
    for (const std::string& f : r.fired[1])
      if (std::find(r.fired[0].begin(), r.fired[0].end(), f) == r.fired[0].end())
        added.push_back(f);
    for (const std::string& f : r.fired[0])
      if (std::find(r.fired[1].begin(), r.fired[1].end(), f) == r.fired[1].end())
        removed.push_back(f);
    changed.push_back({{"crossing_id", id}, {"lane", r.lane},
                       {"live", risk::ChannelName(r.channel[0])},
                       {"candidate", risk::ChannelName(r.channel[1])},
                       {"live_score", risk::ValueToJson(risk::Value(r.score[0]))},
                       {"candidate_score", risk::ValueToJson(risk::Value(r.score[1]))},
                       {"added", std::move(added)}, {"removed", std::move(removed)}});
  }

  if (vm.count("json")) {
    json out = {{"replay", path}, {"updates", updates}, {"indicators", indicators},
                {"skipped", bad}, {"crossings", assessed}, {"seed", risk::Hex64(*seed)},
                {"changed", changed}, {"channels", std::move(channels)}};
    const char* names[2] = {"live", "candidate"};
    for (int k = 0; k < 2; ++k) {
      const risk::Profile& p = *profiles[k]->profile;
      json c = json::object();
      json e = json::object();
      for (size_t ch = 0; ch < risk::kChannelCount; ++ch) {
        c[risk::ChannelName(static_cast<risk::Channel>(ch))] = counts[k][ch];
        if (p.expected[ch]) e[risk::ChannelName(static_cast<risk::Channel>(ch))] = *p.expected[ch];
      }
      out[names[k]] = {{"id", p.id}, {"version", p.version}, {"file", p.file},
                       {"counts", std::move(c)}, {"expected", std::move(e)}};
    }
    fmt::print("{}\n", Dump(out, 2));
    return 0;
  }
  const risk::Profile& live = *profiles[0]->profile;
  const risk::Profile& cand = *profiles[1]->profile;
  fmt::print("live:      {} version {} ({})\n", live.id, live.version, live.file);
  fmt::print("candidate: {} version {} ({})\n", cand.id, cand.version, cand.file);
  fmt::print("replayed:  {} crossing pictures, {} risk.indicator, {} crossings from {}{}\n",
             updates, indicators, assessed, path,
             bad ? fmt::format(" ({} unreadable messages skipped)", bad) : "");
  fmt::print("seed:      {} ({})\n\n", risk::Hex64(*seed), seed_from);
  fmt::print("{:<8} {:>6} {:>10} {:>6} {:>8} {:>8} {:>9}\n", "channel", "live", "candidate",
             "shift", "live%", "cand.%", "expected");
  for (size_t ch = 0; ch < risk::kChannelCount; ++ch) {
    const int64_t shift = static_cast<int64_t>(counts[1][ch]) - static_cast<int64_t>(counts[0][ch]);
    auto share = [&](uint64_t n) {
      return assessed ? Pct(static_cast<double>(n) / static_cast<double>(assessed)) : "-";
    };
    fmt::print("{:<8} {:>6} {:>10} {:>6} {:>8} {:>8} {:>9}\n",
               risk::ChannelName(static_cast<risk::Channel>(ch)), counts[0][ch], counts[1][ch],
               shift > 0 ? "+" + std::to_string(shift) : std::to_string(shift),
               share(counts[0][ch]), share(counts[1][ch]),
               live.expected[ch] ? Pct(*live.expected[ch]) : "-");
  }
  fmt::print("\n{} crossing(s) would change channel{}\n", changed.size(),
             changed.empty() ? "" : ":");
  for (const json& c : changed) {
    std::string why;
    for (const auto& f : c["added"]) why += " +" + f.get<std::string>();
    for (const auto& f : c["removed"]) why += " -" + f.get<std::string>();
    fmt::print("  {:<20} {:<8} {} -> {}{}\n", c["crossing_id"].get<std::string>(),
               c["lane"].get<std::string>(), c["live"].get<std::string>(),
               c["candidate"].get<std::string>(), why);
  }
  return 0;
}

}  // namespace

int RiskCommand(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "check") return Check(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "compare") return Compare(argc - 1, argv + 1);
  if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << kRiskUsage;
    return 0;
  }
  fmt::print(stderr, "kordon risk: unknown or missing subcommand\n{}", kRiskUsage);
  return 1;
}

}  // namespace kordon::host
