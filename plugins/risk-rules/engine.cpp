// engine.cpp — assessment, random draw, body, hash.
#include "engine.h"

#include <cmath>
#include <cstring>

namespace kordon::risk {

namespace {

uint64_t SplitMix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Fill(const TextTemplate& t, const BoundFacts& bound) {
  std::string out;
  for (const TextTemplate::Part& p : t.parts) {
    if (!p.is_fact) {
      out += p.literal;
      continue;
    }
    const Value* v = p.slot < bound.size() ? bound[p.slot] : nullptr;
    out += v != nullptr ? FormatValue(*v) : "unknown";
  }
  return out;
}

}  // namespace

double RandomDraw(uint64_t seed, std::string_view crossing_id) {
  const uint64_t h = SplitMix64(seed ^ Fnv1a64(crossing_id));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

Assessment Assess(const Profile& profile, const BoundFacts& bound,
                  const std::vector<Indicator>& indicators, std::string_view crossing_id,
                  uint64_t seed) {
  Assessment a;
  Channel floor = Channel::kGreen;
  a.random_rate = profile.random_rate;
  for (const Criterion& c : profile.criteria) {
    std::optional<bool> r = c.when->Test(bound);
    if (!r) {
      a.undetermined.push_back(&c);
      continue;
    }
    if (!*r) continue;
    a.score += c.weight;
    if (c.channel) floor = Stronger(floor, *c.channel);
    if (c.random_rate && *c.random_rate > a.random_rate) a.random_rate = *c.random_rate;
    a.fired.push_back(Fired{&c, Fill(c.text_template, bound)});
  }
  for (const Indicator& i : indicators) {
    a.score += i.weight;
    if (i.channel) floor = Stronger(floor, *i.channel);
  }
  a.indicators = indicators;
  a.score_channel = profile.ScoreChannel(a.score);
  a.seed = seed;
  a.draw = RandomDraw(seed, crossing_id);
  a.random_selected = a.draw < a.random_rate;
  if (a.random_selected) floor = Stronger(floor, profile.random_channel);
  // The decision is the strongest of everything that applies: a criterion or indicator that
  // fires can only raise it (weights are ≥ 0 and channels are floors).
  a.channel = Stronger(a.score_channel, floor);
  return a;
}

nlohmann::json ValueToJson(const Value& v) {
  switch (v.index()) {
    case 0: return nullptr;
    case 1: return std::get<bool>(v);
    case 2: {
      const double d = std::get<double>(v);
      if (!std::isfinite(d)) return nullptr;
      if (d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
      return d;
    }
    case 3: return std::get<std::string>(v);
    default: return std::get<List>(v);
  }
}

std::optional<Value> ValueFromJson(const nlohmann::json& j) {
  if (j.is_null()) return Value();
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number()) {
    const double d = j.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return Value(d);
  }
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    List items;
    for (const auto& x : j) {
      if (!x.is_string()) return std::nullopt;
      items.push_back(x.get<std::string>());
    }
    return Value(std::move(items));
  }
  return std::nullopt;
}

std::optional<Indicator> IndicatorFromJson(const nlohmann::json& body, std::string* crossing_id,
                                           std::string* error) {
  auto fail = [&](const std::string& what) -> std::optional<Indicator> {
    *error = what;
    return std::nullopt;
  };
  if (!body.is_object()) return fail("the body is not an object");
  auto str = [&](const char* key, std::string* out, bool required) {
    auto it = body.find(key);
    if (it == body.end()) return !required;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return !required || !out->empty();
  };
  Indicator i;
  std::string cid;
  if (!str("crossing_id", &cid, false)) return fail("'crossing_id' must be a string");
  if (!str("name", &i.name, true)) return fail("'name' must be a non-empty string");
  if (!str("text", &i.text, true)) return fail("'text' must be a non-empty string");
  if (!str("source", &i.source, false)) return fail("'source' must be a string");
  if (i.name.size() > 128 || i.text.size() > 1000 || i.source.size() > 128)
    return fail("'name', 'source' (128) or 'text' (1000) is too long");
  bool any = false;
  if (auto it = body.find("weight"); it != body.end()) {
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 1000))
      return fail("'weight' must be a number between 0 and 1000");
    i.weight = it->get<double>();
    any = true;
  }
  if (auto it = body.find("channel"); it != body.end()) {
    std::optional<Channel> c;
    if (it->is_string()) c = ParseChannel(it->get<std::string>());
    if (!c) return fail("'channel' must be " + ChannelList());
    i.channel = *c;
    any = true;
  }
  if (!any) return fail("give 'weight' or 'channel'");
  *crossing_id = cid;
  return i;
}

nlohmann::json AssessmentBody(const Assessment& a, const Profile& profile, const Facts& facts,
                              std::string_view crossing_id, std::string_view lane) {
  nlohmann::json fired = nlohmann::json::array();
  nlohmann::json reasons = nlohmann::json::array();
  for (const Fired& f : a.fired) {
    nlohmann::json j = {{"id", f.criterion->id}, {"text", f.text},
                        {"weight", ValueToJson(Value(f.criterion->weight))},
                        {"line", f.criterion->line}};
    j["channel"] = f.criterion->channel ? nlohmann::json(ChannelName(*f.criterion->channel))
                                        : nlohmann::json(nullptr);
    fired.push_back(std::move(j));
    reasons.push_back(f.text);
  }
  nlohmann::json indicators = nlohmann::json::array();
  for (const Indicator& i : a.indicators) {
    nlohmann::json j = {{"name", i.name}, {"source", i.source}, {"text", i.text},
                        {"weight", ValueToJson(Value(i.weight))}};
    j["channel"] = i.channel ? nlohmann::json(ChannelName(*i.channel)) : nlohmann::json(nullptr);
    indicators.push_back(std::move(j));
    reasons.push_back(i.text);
  }
  if (a.random_selected) reasons.push_back("Selected at random");
  nlohmann::json undetermined = nlohmann::json::array();
  for (const Criterion* c : a.undetermined) undetermined.push_back(c->id);
  nlohmann::json fact_json = nlohmann::json::object();
  for (const auto& [name, value] : facts) fact_json[name] = ValueToJson(value);
  return {
      {"crossing_id", std::string(crossing_id)},
      {"lane", std::string(lane)},
      {"channel", ChannelName(a.channel)},
      {"score", ValueToJson(Value(a.score))},
      {"score_channel", ChannelName(a.score_channel)},
      {"reasons", std::move(reasons)},
      {"fired", std::move(fired)},
      {"indicators", std::move(indicators)},
      {"undetermined", std::move(undetermined)},
      {"random",
       {{"seed", Hex64(a.seed)}, {"draw", a.draw}, {"rate", a.random_rate},
        {"selected", a.random_selected}, {"channel", ChannelName(profile.random_channel)}}},
      {"profile",
       {{"id", profile.id}, {"version", profile.version}, {"digest", profile.digest}}},
      {"facts", std::move(fact_json)},
      {"facts_hash", Hex64(FactsHash(facts, a.indicators))},
  };
}

std::optional<std::string> RateMonitor::Add(Channel c, const Profile& profile,
                                            double tolerance) {
  if (window_ == 0) return std::nullopt;
  if (ring_.size() < window_) {
    ring_.push_back(c);
  } else {
    --counts_[static_cast<size_t>(ring_[next_])];
    ring_[next_] = c;
    next_ = (next_ + 1) % window_;
  }
  ++counts_[static_cast<size_t>(c)];
  ++since_report_;
  if (ring_.size() < window_ || since_report_ < window_) return std::nullopt;
  since_report_ = 0;
  std::string report;
  for (size_t i = 0; i < kChannelCount; ++i) {
    if (!profile.expected[i]) continue;
    const double share = static_cast<double>(counts_[i]) / static_cast<double>(window_);
    if (std::fabs(share - *profile.expected[i]) <= tolerance) continue;
    if (!report.empty()) report += "; ";
    report += std::string(ChannelName(static_cast<Channel>(i))) + " " +
              FormatValue(Value(share * 100)) + "% of the last " + std::to_string(window_) +
              " decisions, expected " + FormatValue(Value(*profile.expected[i] * 100)) + "%";
  }
  if (report.empty()) return std::nullopt;
  return report;
}

uint64_t FactsHash(const Facts& facts, const std::vector<Indicator>& indicators) {
  // A canonical serialisation: names in order, a type tag, values; separators that cannot
  // occur in the fields' lengths-prefixed form.
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&h](std::string_view s) {
    const uint64_t n = s.size();
    h = Fnv1a64(std::string_view(reinterpret_cast<const char*>(&n), sizeof(n)), h);
    h = Fnv1a64(s, h);
  };
  auto add_value = [&](const Value& v) {
    const char tag = static_cast<char>('0' + v.index());
    add(std::string_view(&tag, 1));
    switch (v.index()) {
      case 1: add(std::get<bool>(v) ? "1" : "0"); break;
      case 2: {
        const double d = std::get<double>(v);
        add(std::string_view(reinterpret_cast<const char*>(&d), sizeof(d)));
        break;
      }
      case 3: add(std::get<std::string>(v)); break;
      case 4:
        add(std::to_string(std::get<List>(v).size()));
        for (const std::string& s : std::get<List>(v)) add(s);
        break;
      default: break;
    }
  };
  for (const auto& [name, value] : facts) {
    add(name);
    add_value(value);
  }
  add("indicators");
  for (const Indicator& i : indicators) {
    add(i.name);
    add(i.source);
    add(i.text);
    add_value(Value(i.weight));
    add(i.channel ? ChannelName(*i.channel) : "-");
  }
  return h;
}

}  // namespace kordon::risk
