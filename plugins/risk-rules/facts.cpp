// facts.cpp — crossing picture → facts. Written against the field names announced for
// crossing.updated (plugins/crossings, issue 4); where the final names may differ, a few
// spellings are accepted. Unknown or ill-typed fields give null facts.
#include "facts.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <set>

#include "engine.h"

namespace kordon::risk {

namespace {

using nlohmann::json;

const json* Field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<std::string> Str(const json& j, const char* key) {
  const json* f = Field(j, key);
  if (f == nullptr || !f->is_string()) return std::nullopt;
  return f->get<std::string>();
}

std::optional<double> Num(const json& j, const char* key) {
  const json* f = Field(j, key);
  if (f == nullptr || !f->is_number()) return std::nullopt;
  const double d = f->get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<bool> Bool(const json& j, const char* key) {
  const json* f = Field(j, key);
  if (f == nullptr || !f->is_boolean()) return std::nullopt;
  return f->get<bool>();
}

// The items of j[key]: an array's object elements, or one object.
std::vector<const json*> Items(const json& j, const char* key) {
  std::vector<const json*> out;
  const json* f = Field(j, key);
  if (f == nullptr) return out;
  if (f->is_object()) out.push_back(f);
  if (f->is_array())
    for (const json& x : *f)
      if (x.is_object()) out.push_back(&x);
  return out;
}

// A name that may be a string or an object with "name".
std::optional<std::string> NameOf(const json& j, const char* key) {
  if (auto s = Str(j, key)) return s;
  const json* f = Field(j, key);
  if (f != nullptr && f->is_object()) return Str(*f, "name");
  return std::nullopt;
}

// A country that may be a string or an object with "country" / "code".
std::optional<std::string> PlaceOf(const json& j, const char* key) {
  if (auto s = Str(j, key)) return s;
  const json* f = Field(j, key);
  if (f != nullptr && f->is_object()) {
    if (auto c = Str(*f, "country")) return c;
    return Str(*f, "code");
  }
  return std::nullopt;
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Container codes compared without spaces, dashes and case (ISO 6346 as printed varies).
std::string ContainerKey(std::string s) {
  std::string out;
  for (char c : Upper(std::move(s)))
    if (c != ' ' && c != '-' && c != '.') out += c;
  return out;
}

// The matched manifests of a picture: "manifests" (crossing.updated: {status: found |
// unmatched, manifest: the declaration or null, matched_by, ...}) or a single "manifest".
// One declaration matched twice (by the plate and by a container) counts once: its number is
// the declaration's "manifest" member.
std::vector<const json*> Manifests(const json& picture) {
  std::vector<const json*> out;
  std::set<std::string> numbers;
  auto add = [&](const json* m) {
    if (auto number = Str(*m, "manifest"); number && !numbers.insert(*number).second) return;
    out.push_back(m);
  };
  for (const json* m : Items(picture, "manifests")) {
    if (Str(*m, "status") == std::optional<std::string>("unmatched")) continue;
    const json* inner = Field(*m, "manifest");
    if (inner != nullptr && inner->is_object()) add(inner);
    else if (Field(*m, "declared_gross_kg") != nullptr || Field(*m, "goods") != nullptr)
      add(m);  // a bare declaration
  }
  if (const json* m = Field(picture, "manifest"); m != nullptr && m->is_object()) {
    const json* inner = Field(*m, "manifest");
    add(inner != nullptr && inner->is_object() ? inner : m);
  }
  return out;
}

// The latest stable weight: "weights" as an array (last with kg), an object with "latest" or
// "stable" (array), or a weight itself.
const json* LatestWeight(const json& picture) {
  const json* w = Field(picture, "weights");
  if (w == nullptr) w = Field(picture, "weight");
  if (w == nullptr) return nullptr;
  auto last_with_kg = [](const json& arr) -> const json* {
    for (auto it = arr.rbegin(); it != arr.rend(); ++it)
      if (it->is_object() && Num(*it, "kg")) return &*it;
    return nullptr;
  };
  if (w->is_array()) return last_with_kg(*w);
  if (!w->is_object()) return nullptr;
  if (const json* l = Field(*w, "latest"); l != nullptr && l->is_object() && Num(*l, "kg"))
    return l;
  if (const json* s = Field(*w, "stable"); s != nullptr && s->is_array()) {
    if (const json* x = last_with_kg(*s)) return x;
  }
  if (Num(*w, "kg")) return w;
  return nullptr;
}

List Sorted(std::set<std::string> s) { return List(s.begin(), s.end()); }

bool ParseDouble(const std::string& text, double* out) {
  const char* b = text.data();
  const char* e = b + text.size();
  auto [end, ec] = std::from_chars(b, e, *out);
  return !text.empty() && ec == std::errc() && end == e && std::isfinite(*out);
}

}  // namespace

std::string Alpha3ToAlpha2(std::string_view a3) {
  static const std::map<std::string_view, std::string_view> kCodes = {
      {"KGZ", "KG"}, {"KAZ", "KZ"}, {"UZB", "UZ"}, {"TJK", "TJ"}, {"TKM", "TM"}, {"RUS", "RU"},
      {"CHN", "CN"}, {"AFG", "AF"}, {"IRN", "IR"}, {"TUR", "TR"}, {"AZE", "AZ"}, {"ARM", "AM"},
      {"GEO", "GE"}, {"BLR", "BY"}, {"UKR", "UA"}, {"MDA", "MD"}, {"MNG", "MN"}, {"PAK", "PK"},
      {"IND", "IN"}, {"DEU", "DE"}, {"D", "DE"},   {"POL", "PL"}, {"LTU", "LT"}, {"LVA", "LV"},
      {"EST", "EE"}, {"FIN", "FI"}, {"FRA", "FR"}, {"ITA", "IT"}, {"NLD", "NL"}, {"BEL", "BE"},
      {"AUT", "AT"}, {"CZE", "CZ"}, {"SVK", "SK"}, {"HUN", "HU"}, {"ROU", "RO"}, {"BGR", "BG"},
      {"GBR", "GB"}, {"USA", "US"}, {"KOR", "KR"}, {"JPN", "JP"}, {"ARE", "AE"}, {"ESP", "ES"},
  };
  auto it = kCodes.find(a3);
  return it == kCodes.end() ? "" : std::string(it->second);
}

// The officer's decision as a word, or "".
static std::string DecisionWord(const json& picture) {
  const json* d = Field(picture, "decision");
  if (d == nullptr) return "";
  if (d->is_string()) return d->get<std::string>();
  if (auto s = Str(*d, "decision")) return *s;
  if (auto s = Str(*d, "outcome")) return *s;
  return "";
}

bool DecisionRefused(const json& picture) {
  const std::string w = DecisionWord(picture);
  return w == "refused_entry" || w == "goods_detained" || w == "refused" || w == "denied" ||
         w == "rejected";
}

bool FactOptionsFromProfile(const Profile& profile, FactOptions* out, std::string* error) {
  FactOptions o;
  for (const auto& [key, s] : profile.fact_settings) {
    const int line = s.line;  // clang 14 cannot capture a structured binding
    auto fail = [&](const std::string& what) {
      *error = profile.Where(line) + ": [facts] " + what;
      return false;
    };
    double v = 0;
    if (key == "vehicle_tare_kg") {
      if (!ParseDouble(s.value, &v) || v < 0 || v > 100000)
        return fail("'vehicle_tare_kg' must be a weight in kg between 0 and 100000");
      o.vehicle_tare_kg = v;
    } else if (key == "weight_tolerance_pct") {
      if (!ParseDouble(s.value, &v) || v < 0 || v > 100)
        return fail("'weight_tolerance_pct' must be between 0 and 100");
      o.weight_tolerance_pct = v;
    } else if (key == "truck_min_kg") {
      if (!ParseDouble(s.value, &v) || v < 0 || v > 100000)
        return fail("'truck_min_kg' must be between 0 and 100000");
      o.truck_min_kg = v;
    } else if (key == "utc_offset") {
      // "+06:00", "-03:30", "Z"
      const std::string& t = s.value;
      if (t == "Z" || t == "+00:00") {
        o.utc_offset_minutes = 0;
      } else if (t.size() == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':' &&
                 std::isdigit(static_cast<unsigned char>(t[1])) &&
                 std::isdigit(static_cast<unsigned char>(t[2])) &&
                 std::isdigit(static_cast<unsigned char>(t[4])) &&
                 std::isdigit(static_cast<unsigned char>(t[5]))) {
        const int h = (t[1] - '0') * 10 + (t[2] - '0');
        const int m = (t[4] - '0') * 10 + (t[5] - '0');
        if (h > 14 || m > 59) return fail("'utc_offset' is out of range");
        o.utc_offset_minutes = (t[0] == '-' ? -1 : 1) * (h * 60 + m);
      } else {
        return fail("'utc_offset' must look like +06:00, -03:30 or Z");
      }
    } else if (key == "lane_kinds") {
      // "lane-1:cargo lane-2:cargo lane-3:car" (spaces or commas between pairs)
      std::string item;
      std::string text = s.value + " ";
      for (char c : text) {
        if (c == ' ' || c == ',' || c == '\t') {
          if (item.empty()) continue;
          const size_t colon = item.find(':');
          if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
            return fail("'lane_kinds' takes LANE:KIND pairs (lane-1:cargo lane-3:car), got '" +
                        item + "'");
          o.lane_kinds[item.substr(0, colon)] = item.substr(colon + 1);
          item.clear();
        } else {
          item += c;
        }
      }
    } else {
      return fail("unknown setting '" + key +
                  "'; allowed: vehicle_tare_kg, weight_tolerance_pct, truck_min_kg, utc_offset, "
                  "lane_kinds");
    }
  }
  *out = std::move(o);
  return true;
}

const FactCatalog& BuiltinCatalog() {
  static const FactCatalog catalog = [] {
    FactCatalog c;
    using T = ValueType;
    auto add = [&c](const char* name, T type, const char* description) {
      c.facts[name] = FactCatalog::Entry{type, description};
    };
    add("crossing_id", T::kString, "the crossing's id");
    add("lane", T::kString, "the lane");
    add("lane_kind", T::kString, "[facts] lane_kinds for the lane (cargo, car, bus, ...)");
    add("crossing_state", T::kString, "the crossing's state (open, closed, ...)");
    add("decision", T::kString, "the officer's decision, when made");
    add("local_hour", T::kNumber, "hour of the update in the office's time zone, 0-23");
    add("plate", T::kString, "first normalised plate");
    add("plate_country", T::kString, "first plate's country (ISO alpha-2)");
    add("plates", T::kList, "every normalised plate read");
    add("documents", T::kNumber, "number of travel documents read");
    add("nationalities", T::kList, "documents' nationalities (ICAO alpha-3)");
    add("nationality_plate_mismatch", T::kBool,
        "no document's nationality is the plate's country (null without both)");
    add("documents_invalid", T::kNumber, "documents not valid (check digits or fields)");
    add("check_digit_failures", T::kNumber,
        "failed MRZ check digits plus containers whose check digit fails");
    add("repaired_reads", T::kNumber, "documents and containers read only after a repair");
    add("containers", T::kList, "container codes read");
    add("container_count", T::kNumber, "number of containers read");
    add("manifest_missing", T::kBool,
        "a lookup found no manifest for the vehicle (null until the manifest plugin answered)");
    add("carrier", T::kString, "the manifest's carrier");
    add("consignor", T::kString, "the manifest's consignor");
    add("consignee", T::kString, "the manifest's consignee");
    add("origin", T::kString, "the manifest's origin");
    add("destination", T::kString, "the manifest's destination");
    add("hs_codes", T::kList, "HS codes of the declared goods");
    add("hs_chapters", T::kList, "HS chapters (first two digits) of the declared goods");
    add("declared_gross_kg", T::kNumber, "the manifest's declared gross weight");
    add("weight_kg", T::kNumber, "latest stable weight on the weighbridge");
    add("weight_net_kg", T::kNumber, "stable weight minus the vehicle tare");
    add("weight_discrepancy_pct", T::kNumber,
        "(net weight - declared gross) / declared gross x 100, signed");
    add("weight_mismatch", T::kBool, "|weight_discrepancy_pct| above weight_tolerance_pct");
    add("containers_not_in_manifest", T::kList,
        "containers read that no matched manifest lists (null without a manifest)");
    add("watchlist_hits", T::kNumber, "watchlist hits on the crossing");
    add("watchlist_best_score", T::kNumber, "best watchlist hit score (0-1)");
    add("watchlist_kinds", T::kList, "kinds of the hit entries (person, document, vehicle)");
    add("xray_scans", T::kNumber, "X-ray scans of the crossing");
    add("screening_errors", T::kNumber,
        "reads that could not be screened or looked up (watchlist, manifest): not clean");
    add("read_problems", T::kNumber, "reads the crossing could not use");
    add("is_cargo", T::kBool,
        "a lane of kind cargo, a container, a manifest or a weight of truck_min_kg or more");
    add("carrier_red_history", T::kNumber,
        "other crossings of the carrier last assessed red or refused (plugin setting "
        "'history'; null without it)");
    c.open_prefixes = {"fact.", "indicator."};
    return c;
  }();
  return catalog;
}

Facts FactsFromCrossing(const json& picture, std::string_view lane_in,
                        std::string_view crossing_in, int64_t time_us,
                        const FactOptions& options) {
  Facts f;
  // Every built-in fact is present (null when unknown): the assessment lists what was used.
  for (const auto& [name, entry] : BuiltinCatalog().facts) f[name] = Value();

  std::string lane(lane_in);
  if (lane.empty()) lane = Str(picture, "lane").value_or("");
  std::string crossing(crossing_in);
  if (crossing.empty())
    crossing = Str(picture, "id").value_or(Str(picture, "crossing_id").value_or(""));
  if (!crossing.empty()) f["crossing_id"] = crossing;
  if (!lane.empty()) {
    f["lane"] = lane;
    if (auto it = options.lane_kinds.find(lane); it != options.lane_kinds.end())
      f["lane_kind"] = it->second;
  }
  if (auto s = Str(picture, "state")) f["crossing_state"] = *s;
  if (std::string d = DecisionWord(picture); !d.empty()) f["decision"] = d;

  if (time_us > 0) {
    const std::time_t secs = static_cast<std::time_t>(time_us / 1000000);
    int hour = 0;
    if (options.utc_offset_minutes) {
      const int64_t local = static_cast<int64_t>(secs) + *options.utc_offset_minutes * 60LL;
      hour = static_cast<int>(((local % 86400) + 86400) % 86400 / 3600);
    } else {
      std::tm tm{};
      localtime_r(&secs, &tm);
      hour = tm.tm_hour;
    }
    f["local_hour"] = static_cast<double>(hour);
  }

  // Plates.
  List plates;
  std::optional<std::string> plate_country;
  for (const json* p : Items(picture, "plates")) {
    std::optional<std::string> norm = Str(*p, "plate");
    if (!norm) norm = Str(*p, "raw");
    if (norm && !norm->empty()) plates.push_back(*norm);
    if (!plate_country) {
      auto c = Str(*p, "country");
      if (c && !c->empty()) plate_country = Upper(*c);
    }
  }
  if (!plates.empty()) {
    f["plate"] = plates.front();
    f["plates"] = plates;
  }
  if (plate_country) f["plate_country"] = *plate_country;

  // Documents.
  const std::vector<const json*> docs = Items(picture, "documents");
  double check_failures = 0, repaired = 0, invalid = 0;
  std::set<std::string> nationalities;
  for (const json* d : docs) {
    if (auto n = Str(*d, "nationality"); n && !n->empty()) nationalities.insert(Upper(*n));
    if (Bool(*d, "valid") == false) ++invalid;
    for (const json* c : Items(*d, "checks"))
      if (Bool(*c, "present").value_or(true) && Bool(*c, "valid") == false) ++check_failures;
    const json* r = Field(*d, "repairs");
    if (r != nullptr && r->is_array() && !r->empty()) ++repaired;
  }
  f["documents"] = static_cast<double>(docs.size());
  if (!docs.empty()) {
    f["nationalities"] = Sorted(nationalities);
    f["documents_invalid"] = invalid;
  }
  if (plate_country && !nationalities.empty()) {
    bool same = false;
    bool known = false;
    for (const std::string& n : nationalities) {
      const std::string a2 = Alpha3ToAlpha2(n);
      if (a2.empty()) continue;
      known = true;
      if (a2 == *plate_country) same = true;
    }
    if (known) f["nationality_plate_mismatch"] = !same;
  }

  // Containers.
  List containers;
  for (const json* c : Items(picture, "containers")) {
    auto code = Str(*c, "code");
    if (!code || code->empty()) continue;
    containers.push_back(ContainerKey(*code));
    std::optional<bool> valid = Bool(*c, "check_digit_valid");
    if (!valid) valid = Bool(*c, "valid");
    bool was_repaired = Bool(*c, "repaired").value_or(false) ||
                        Bool(*c, "check_digit_repaired").value_or(false);
    if (const json* r = Field(*c, "repair"); r != nullptr && r->is_object()) was_repaired = true;
    if (was_repaired) ++repaired;
    else if (valid == false) ++check_failures;
  }
  f["containers"] = containers;
  f["container_count"] = static_cast<double>(containers.size());
  f["check_digit_failures"] = check_failures;
  f["repaired_reads"] = repaired;

  // Manifests.
  const std::vector<const json*> manifests = Manifests(picture);
  // Missing only once a lookup said so: before the manifest plugin has answered for the
  // plate, the fact is unknown (null), so that a truck is not flagged for the milliseconds
  // between its plate read and the lookup's answer.
  bool looked_up = false;
  for (const json* m : Items(picture, "manifests"))
    looked_up = looked_up || Str(*m, "status") == std::optional<std::string>("unmatched");
  if (!manifests.empty()) f["manifest_missing"] = false;
  else if (looked_up) f["manifest_missing"] = true;
  else f["manifest_missing"] = std::monostate{};
  std::optional<double> declared;
  if (!manifests.empty()) {
    const json& m = *manifests.front();
    if (auto s = NameOf(m, "carrier")) f["carrier"] = *s;
    if (auto s = NameOf(m, "consignor")) f["consignor"] = *s;
    if (auto s = NameOf(m, "consignee")) f["consignee"] = *s;
    if (auto s = PlaceOf(m, "origin")) f["origin"] = *s;
    if (auto s = PlaceOf(m, "destination")) f["destination"] = *s;
    std::set<std::string> codes, chapters, listed;
    double declared_sum = 0;
    bool all_declared = true;
    // A declaration too large for the picture is {"truncated": true, "bytes": N}: what it
    // lists is unknown, so nothing is concluded from it.
    bool truncated = false;
    for (const json* mf : manifests) {
      if (Bool(*mf, "truncated") == true) truncated = true;
      for (const json* g : Items(*mf, "goods")) {
        std::string hs = Str(*g, "hs_code").value_or("");
        hs.erase(std::remove_if(hs.begin(), hs.end(), [](char c) { return c == '.' || c == ' '; }),
                 hs.end());
        if (hs.size() >= 2) {
          codes.insert(hs);
          chapters.insert(hs.substr(0, 2));
        }
      }
      const json* cs = Field(*mf, "containers");
      if (cs != nullptr && cs->is_array())
        for (const json& c : *cs) {
          if (c.is_string()) listed.insert(ContainerKey(c.get<std::string>()));
          else if (auto code = Str(c, "code")) listed.insert(ContainerKey(*code));
        }
      if (auto d = Num(*mf, "declared_gross_kg")) declared_sum += *d;
      else all_declared = false;
    }
    if (!truncated) {
      f["hs_codes"] = Sorted(codes);
      f["hs_chapters"] = Sorted(chapters);
      if (all_declared) {
        declared = declared_sum;
        f["declared_gross_kg"] = declared_sum;
      }
      List missing;
      for (const std::string& c : containers)
        if (!listed.count(c)) missing.push_back(c);
      f["containers_not_in_manifest"] = missing;
    }
  }

  // Weight against the declaration.
  std::optional<double> weight_kg;
  if (const json* w = LatestWeight(picture)) {
    weight_kg = Num(*w, "kg");
    f["weight_kg"] = *weight_kg;
    // A net reading (the weighbridge tared the vehicle) is compared as it is.
    const double net = Bool(*w, "net").value_or(false) ? *weight_kg
                                                        : *weight_kg - options.vehicle_tare_kg;
    f["weight_net_kg"] = net;
    if (declared && *declared > 0) {
      const double pct = (net - *declared) / *declared * 100.0;
      f["weight_discrepancy_pct"] = std::round(pct * 100.0) / 100.0;
      f["weight_mismatch"] = std::fabs(pct) > options.weight_tolerance_pct;
    }
  }

  // Watchlist hits.
  const std::vector<const json*> hits = Items(picture, "watchlist_hits").empty()
                                            ? Items(picture, "hits")
                                            : Items(picture, "watchlist_hits");
  f["watchlist_hits"] = static_cast<double>(hits.size());
  if (!hits.empty()) {
    std::optional<double> best;
    std::set<std::string> kinds;
    for (const json* h : hits) {
      if (auto s = Num(*h, "score"); s && (!best || *s > *best)) best = *s;
      if (const json* e = Field(*h, "entry"); e != nullptr)
        if (auto k = Str(*e, "kind")) kinds.insert(*k);
    }
    if (best) f["watchlist_best_score"] = *best;
    f["watchlist_kinds"] = Sorted(kinds);
  }

  // X-ray.
  std::vector<const json*> scans = Items(picture, "xray");
  if (scans.empty()) scans = Items(picture, "xray_scans");
  f["xray_scans"] = static_cast<double>(scans.size());
  if (const json* e = Field(picture, "screening_errors"); e != nullptr && e->is_array())
    f["screening_errors"] = static_cast<double>(e->size());
  if (const json* e = Field(picture, "problems"); e != nullptr && e->is_array())
    f["read_problems"] = static_cast<double>(e->size());

  const bool cargo_lane =
      f["lane_kind"].index() == 3 && std::get<std::string>(f["lane_kind"]) == "cargo";
  f["is_cargo"] = cargo_lane || !containers.empty() || !manifests.empty() ||
                  (weight_kg && *weight_kg >= options.truck_min_kg);

  // Facts added by site procedures: {key: {value, source, time_us}} or {key: value}.
  if (const json* pf = Field(picture, "facts"); pf != nullptr && pf->is_object()) {
    for (const auto& [key, entry] : pf->items()) {
      if (key.empty() || key.size() > 120) continue;
      const json* v = entry.is_object() ? Field(entry, "value") : &entry;
      std::optional<Value> value = v != nullptr ? ValueFromJson(*v) : std::nullopt;
      f["fact." + key] = value ? *value : Value();
    }
  }
  return f;
}

}  // namespace kordon::risk
