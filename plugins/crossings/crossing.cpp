// crossing.cpp — see crossing.h.
#include "crossing.h"

#include <ctime>
#include <set>

#include "names.h"
#include "plate.h"

namespace kordon::crossings {
namespace {

// A member when it has the type asked for, else a default: device bodies are validated JSON
// but their fields are only as good as the device, so nothing here trusts a type.
std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
Json Member(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() ? *it : Json(nullptr);
}
// A member copied only when it is one of the JSON types given ("snbao": string, number,
// boolean, array, object; null always allowed); otherwise null.
Json Typed(const Json& j, const char* key, const char* types) {
  Json v = Member(j, key);
  if (v.is_null()) return v;
  for (const char* t = types; *t != '\0'; ++t) {
    if ((*t == 's' && v.is_string()) || (*t == 'n' && v.is_number()) ||
        (*t == 'b' && v.is_boolean()) || (*t == 'a' && v.is_array()) ||
        (*t == 'o' && v.is_object()))
      return v;
  }
  return nullptr;
}

// An item too large for the picture (a manifest of thousands of goods lines) is replaced by
// a marker that says so; the whole message stays in the journal (evidence).
// An item too big for the picture keeps only what identifies it (`keep`: its key, the
// message id, times and counts — what the schema requires), each member cut down to its
// short scalars, and says it was truncated.
Json Bounded(Json item, const Limits& limits, std::initializer_list<const char*> keep = {}) {
  const size_t bytes = item.dump().size();
  if (bytes <= limits.item_bytes) return item;
  constexpr size_t kSmall = 256;
  Json out = {{"truncated", true}, {"bytes", bytes}};
  for (const char* key : keep) {
    auto it = item.find(key);
    if (it == item.end()) continue;
    if (it->is_object()) {
      Json small = Json::object();
      for (const auto& [k, v] : it->items())
        if (!v.is_structured() && v.dump().size() <= kSmall) small[k] = v;
      out[key] = std::move(small);
    } else if (it->dump().size() <= kSmall) {
      out[key] = *it;
    }
  }
  return out;
}

// Identifiers (document numbers, plates, container codes, scan ids) longer than this are not
// identifiers: the read is refused as bad input rather than stored.
constexpr size_t kMaxIdentifier = 64;

Applied Fail(std::string why);
Applied TooLong(const char* what, size_t size) {
  return Fail(std::string("a read whose '") + what + "' is " + std::to_string(size) +
              " bytes long (at most " + std::to_string(kMaxIdentifier) + ")");
}

Json* FindBy(Json* list, const char* key, const std::string& value) {
  for (Json& item : *list)
    if (item.is_object() && Str(item, key) == value) return &item;
  return nullptr;
}

void CountRead(Json* item, const Meta& meta) {
  (*item)["reads"] = item->value("reads", 1) + 1;
  (*item)["last_read_id"] = meta.id;
}

Applied Fail(std::string why) { return Applied{false, std::move(why)}; }

Applied ApplyPlate(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  std::string plate = Str(b, "plate");
  if (plate.empty()) plate = SearchPlate(Str(b, "raw"));
  if (plate.empty()) return Fail("a plate read without a readable 'plate'");
  if (plate.size() > kMaxIdentifier) return TooLong("plate", plate.size());
  const bool out = Str(b, "direction") == "out";
  if (c->plate.empty() && !out) c->plate = plate;
  if (Json* known = FindBy(&c->plates, "plate", plate)) {
    CountRead(known, meta);
    return {};
  }
  Json item = {{"plate", plate},
               {"raw", Typed(b, "raw", "s")},
               {"country", Typed(b, "country", "s")},
               {"confidence", Typed(b, "confidence", "n")},
               {"low_confidence", Typed(b, "low_confidence", "b")},
               {"camera", Typed(b, "camera", "s")},
               {"direction", Typed(b, "direction", "s")},
               {"camera_read_id", Typed(b, "read_id", "s")},
               {"read_id", meta.id},
               {"time_us", meta.time_us},
               {"reads", 1}};
  AppendBounded(c, &c->plates, "plates", std::move(item), limits.list);
  return {};
}

constexpr std::initializer_list<const char*> kDocumentKeys = {"document_number", "issuing_state",
                                                              "read_id", "time_us", "reads"};

Applied ApplyDocument(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  const std::string number = SearchCode(Str(b, "document_number"));
  if (number.empty()) return Fail("a document read without a 'document_number'");
  if (number.size() > kMaxIdentifier) return TooLong("document_number", number.size());
  const std::string state = Str(b, "issuing_state");
  if (state.size() > kMaxIdentifier) return TooLong("issuing_state", state.size());
  Json item = {{"document_number", number},
               {"issuing_state", state},
               {"document_code", Typed(b, "document_code", "s")},
               {"format", Typed(b, "format", "s")},
               {"valid", Typed(b, "valid", "b")},
               {"primary_identifier", Typed(b, "primary_identifier", "s")},
               {"secondary_identifier", Typed(b, "secondary_identifier", "s")},
               {"nationality", Typed(b, "nationality", "s")},
               {"birth_date", Typed(b, "birth_date", "s")},
               {"sex", Typed(b, "sex", "s")},
               {"expiry_date", Typed(b, "expiry_date", "s")},
               {"checks", Typed(b, "checks", "a")},
               {"repairs", Typed(b, "repairs", "a")},
               {"problems", Typed(b, "problems", "a")},
               {"reader", Typed(b, "reader", "s")},
               {"read_id", meta.id},
               {"time_us", meta.time_us},
               {"reads", 1}};
  for (Json& known : c->documents) {
    if (Str(known, "document_number") != number || Str(known, "issuing_state") != state)
      continue;
    // The same document again: a valid read replaces an invalid one (the officer sees the
    // best read); otherwise the first read stays and the count goes up.
    const bool better = known["valid"] != Json(true) && item["valid"] == Json(true);
    const Json first_id = known["read_id"];
    const int reads = known.value("reads", 1);
    if (better) {
      known = Bounded(std::move(item), limits, kDocumentKeys);
      known["first_read_id"] = first_id;
      known["reads"] = reads;
    }
    CountRead(&known, meta);
    return {};
  }
  AppendBounded(c, &c->documents, "documents", Bounded(std::move(item), limits, kDocumentKeys),
                limits.list);
  return {};
}

Applied ApplyContainer(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  const std::string code = SearchCode(Str(b, "code"));
  if (code.empty()) return Fail("a container read without a 'code'");
  if (code.size() > kMaxIdentifier) return TooLong("code", code.size());
  if (Json* known = FindBy(&c->containers, "code", code)) {
    CountRead(known, meta);
    return {};
  }
  Json item = {{"code", code},
               {"raw", Typed(b, "raw", "s")},
               {"valid", Typed(b, "valid", "b")},
               {"check", Typed(b, "check", "o")},
               {"repaired_valid", Typed(b, "repaired_valid", "b")},
               {"repair", Typed(b, "repair", "o")},
               {"size_type", Typed(b, "size_type", "s")},
               {"confidence", Typed(b, "confidence", "n")},
               {"camera", Typed(b, "camera", "s")},
               {"position", Typed(b, "position", "s")},
               {"read_id", meta.id},
               {"time_us", meta.time_us},
               {"reads", 1}};
  AppendBounded(c, &c->containers, "containers",
                Bounded(std::move(item), limits, {"code", "read_id", "time_us", "reads"}),
                limits.list);
  return {};
}

Applied ApplyWeight(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  const Json kg = Member(b, "kg");
  if (!kg.is_number()) return Fail("a stable weight without a numeric 'kg'");
  Json item = {{"kg", kg},
               {"tare_kg", Typed(b, "tare_kg", "n")},
               {"net", Typed(b, "net", "b")},
               {"scale", Typed(b, "scale", "s")},
               {"vehicle_seq", Typed(b, "vehicle_seq", "n")},
               {"read_id", meta.id},
               {"time_us", meta.time_us}};
  AppendBounded(c, &c->weights, "weights", std::move(item), limits.list);
  return {};
}

Applied ApplyXray(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  const std::string scan = Str(b, "scan_id");
  if (scan.empty()) return Fail("an X-ray scan without a 'scan_id'");
  if (scan.size() > kMaxIdentifier) return TooLong("scan_id", scan.size());
  // Delivery is at-least-once: the same scan again is counted, not added.
  if (Json* known = FindBy(&c->xray, "scan_id", scan)) {
    CountRead(known, meta);
    return {};
  }
  const Json image = Typed(b, "image", "o");
  Json item = {{"scan_id", scan},
               {"scanner", Typed(b, "scanner", "s")},
               {"time", Typed(b, "time", "s")},
               {"image_path", image.is_object() ? Typed(image, "path", "s") : Json(nullptr)},
               {"image_sha256", image.is_object() ? Typed(image, "sha256", "s") : Json(nullptr)},
               {"containers", Typed(b, "containers", "a")},
               {"container_checks", Typed(b, "container_checks", "a")},
               {"marks", Typed(b, "marks", "a")},
               {"operator", Typed(b, "operator", "o")},
               {"read_id", meta.id},
               {"time_us", meta.time_us},
               {"reads", 1}};
  AppendBounded(c, &c->xray, "xray",
                Bounded(std::move(item), limits, {"scan_id", "read_id", "time_us", "reads"}),
                limits.list);
  return {};
}

Applied ApplyHit(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  const Json entry = Typed(b, "entry", "o");
  if (!entry.is_object()) return Fail("a watchlist hit without an 'entry' object");
  const std::string list = Str(entry, "list");
  const std::string id = Str(entry, "id");
  const std::string source = Str(b, "source_id");
  if (source.size() > kMaxIdentifier) return TooLong("source_id", source.size());
  if (list.size() > kMaxIdentifier) return TooLong("entry.list", list.size());
  if (id.size() > kMaxIdentifier) return TooLong("entry.id", id.size());
  for (const Json& known : c->hits)
    if (Str(known["entry"], "list") == list && Str(known["entry"], "id") == id &&
        Str(known, "source_id") == source)
      return {};
  Json item = {{"entry", entry},
               {"score", Typed(b, "score", "n")},
               {"matched", Typed(b, "matched", "s")},
               {"explanation", Typed(b, "explanation", "s")},
               {"subject", Typed(b, "subject", "o")},
               {"source_id", source},
               {"source_topic", Typed(b, "source_topic", "s")},
               {"id", meta.id},
               {"time_us", meta.time_us}};
  AppendBounded(c, &c->hits, "hits",
                Bounded(std::move(item), limits, {"entry", "source_id", "id", "time_us"}),
                limits.list);
  return {};
}

Applied ApplyScreeningError(Crossing* c, const Meta& meta, const Json& b,
                            const Limits& limits) {
  Json item = {{"reason", Typed(b, "reason", "s")},
               {"source_id", Typed(b, "source_id", "s")},
               {"source_topic", Typed(b, "source_topic", "s")},
               {"id", meta.id},
               {"time_us", meta.time_us}};
  AppendBounded(c, &c->screening_errors, "screening_errors", std::move(item), limits.list);
  return {};
}

Applied ApplyManifest(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  const bool found = meta.topic == "db.manifest.match";
  Json item = {{"status", found ? "found" : "unmatched"},
               {"source_id", Typed(b, "source_id", "s")},
               {"source_topic", Typed(b, "source_topic", "s")},
               {"manifest", Typed(b, "manifest", "o").is_object()
                                ? Bounded(Typed(b, "manifest", "o"), limits)
                                : Json(nullptr)},
               {"id", meta.id},
               {"time_us", meta.time_us}};
  // What was looked up (plugins/manifest: matched_by plate|container, value; other manifests
  // that also matched; a read repaired before the lookup).
  // Each copied only when it has the type the picture promises (a peer may send anything).
  if (const std::string by = Str(b, "matched_by"); by == "plate" || by == "container")
    item["matched_by"] = by;
  if (const std::string value = Str(b, "value"); !value.empty() && value.size() <= kMaxIdentifier)
    item["value"] = value;
  if (Json others = Bounded(Typed(b, "others", "a"), limits); others.is_array())
    item["others"] = std::move(others);  // an oversized list is left out
  if (const Json repaired = Typed(b, "repaired", "o"); repaired.is_object())
    item["repaired"] = Bounded(repaired, limits);
  AppendBounded(c, &c->manifests, "manifests", std::move(item), limits.list);
  return {};
}

Applied ApplyRisk(Crossing* c, const Meta& meta, const Json& b, const Limits& limits) {
  c->risk = Bounded(b, limits);
  c->risk["id"] = meta.id;
  c->risk["time_us"] = meta.time_us;
  c->risk["source"] = meta.source;
  ++c->risk_assessments;
  return {};
}

Json DroppedJson(const std::map<std::string, uint64_t>& d) {
  Json j = Json::object();
  for (const auto& [k, v] : d) j[k] = v;
  return j;
}

}  // namespace

const char* StateName(State s) {
  switch (s) {
    case State::kOpen: return "open";
    case State::kHeld: return "held";
    case State::kClosed: return "closed";
  }
  return "open";
}

std::optional<State> ParseState(std::string_view name) {
  if (name == "open") return State::kOpen;
  if (name == "held") return State::kHeld;
  if (name == "closed") return State::kClosed;
  return std::nullopt;
}

void AppendBounded(Crossing* c, Json* list, const char* name, Json item, size_t cap) {
  if (list->size() >= cap) {
    ++c->dropped[name];
    return;
  }
  list->push_back(std::move(item));
}

Applied ApplyMessage(Crossing* c, const Meta& meta, const Json& body, const Limits& limits) {
  ++c->evidence_total;
  AppendBounded(c, &c->evidence, "evidence", meta.id, limits.evidence);
  if (!body.is_object()) return Fail("the body is not a JSON object");
  const std::string& t = meta.topic;
  Applied r;
  if (t == "scanner.plate.read") r = ApplyPlate(c, meta, body, limits);
  else if (t == "scanner.document.read") r = ApplyDocument(c, meta, body, limits);
  else if (t == "scanner.container.read") r = ApplyContainer(c, meta, body, limits);
  else if (t == "scale.weight.stable") r = ApplyWeight(c, meta, body, limits);
  else if (t == "scale.weight.cleared")
    c->weight_cleared = {{"scale", Typed(body, "scale", "s")},
                         {"vehicle_seq", Typed(body, "vehicle_seq", "n")},
                         {"id", meta.id}, {"time_us", meta.time_us}};
  else if (t == "scanner.xray.scan") r = ApplyXray(c, meta, body, limits);
  else if (t == "db.watchlist.hit") r = ApplyHit(c, meta, body, limits);
  else if (t == "db.watchlist.error" || t == "db.manifest.error")
    r = ApplyScreeningError(c, meta, body, limits);
  else if (t == "db.manifest.match" || t == "db.manifest.unmatched")
    r = ApplyManifest(c, meta, body, limits);
  else if (t == "risk.assessment") r = ApplyRisk(c, meta, body, limits);
  if (!r.ok)
    AppendBounded(c, &c->problems, "problems",
                  Json{{"topic", t}, {"id", meta.id}, {"reason", r.error},
                       {"time_us", meta.time_us}},
                  limits.list);
  return r;
}

ChannelChoice ChooseChannel(const Json& channel_override, const Json& risk) {
  if (channel_override.is_object() && channel_override.contains("channel"))
    return {Str(channel_override, "channel"), true};
  return {risk.is_object() ? Str(risk, "channel") : "", false};
}

std::string Crossing::Channel() const { return ChooseChannel(channel_override, risk).channel; }

std::string Crossing::RiskChannel() const {
  return risk.is_object() ? Str(risk, "channel") : "";
}

Json Crossing::ToJson() const {
  Json j = {{"id", id},
            {"lane", lane},
            {"state", StateName(state)},
            {"current", current},
            {"late", late},
            {"revision", revision},
            {"inputs_revision", inputs_revision},
            {"opened_us", opened_us},
            {"opened", UtcText(opened_us)},
            {"updated_us", updated_us},
            {"activity_us", activity_us},
            {"closed_us", closed_us ? Json(closed_us) : Json(nullptr)},
            {"closed", closed_us ? Json(UtcText(closed_us)) : Json(nullptr)},
            {"close_reason", close_reason.empty() ? Json(nullptr) : Json(close_reason)},
            {"close_detail", close_detail.empty() ? Json(nullptr) : Json(close_detail)},
            {"plate", plate.empty() ? Json(nullptr) : Json(plate)},
            {"plates", plates},
            {"documents", documents},
            {"containers", containers},
            {"weights", {{"stable", weights},
                         {"latest", weights.empty() ? Json(nullptr) : weights.back()},
                         {"cleared", weight_cleared}}},
            {"xray", xray},
            {"hits", hits},
            {"screening_errors", screening_errors},
            {"manifests", manifests},
            {"problems", problems},
            {"risk", risk},
            {"risk_assessments", risk_assessments},
            {"facts", facts},
            {"notes", notes},
            {"hold", hold},
            {"decision", decision},
            {"override", channel_override},
            {"overrides", overrides},
            {"evidence", evidence},
            {"evidence_total", evidence_total},
            {"dropped", DroppedJson(dropped)}};
  return j;
}

std::optional<Crossing> Crossing::FromJson(const Json& j, std::string* error) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("lane") ||
      !j["lane"].is_string()) {
    *error = "not a crossing picture (no id or lane)";
    return std::nullopt;
  }
  Crossing c;
  try {
    c.id = j["id"].get<std::string>();
    c.lane = j["lane"].get<std::string>();
    auto state = ParseState(j.value("state", ""));
    if (!state) {
      *error = "crossing " + c.id + ": unknown state";
      return std::nullopt;
    }
    c.state = *state;
    c.current = j.value("current", true);
    c.late = j.value("late", false);
    c.revision = j.value("revision", int64_t{0});
    c.inputs_revision = j.value("inputs_revision", int64_t{0});
    c.opened_us = j.value("opened_us", int64_t{0});
    c.updated_us = j.value("updated_us", int64_t{0});
    c.activity_us = j.value("activity_us", c.updated_us);
    c.closed_us = j["closed_us"].is_number() ? j["closed_us"].get<int64_t>() : 0;
    c.close_reason = Str(j, "close_reason");
    c.close_detail = Str(j, "close_detail");
    c.plate = Str(j, "plate");
    auto array = [&](const char* key) {
      Json v = Member(j, key);
      return v.is_array() ? v : Json::array();
    };
    c.plates = array("plates");
    c.documents = array("documents");
    c.containers = array("containers");
    const Json w = Member(j, "weights");
    if (w.is_object()) {
      c.weights = array("x");  // empty
      if (w.contains("stable") && w["stable"].is_array()) c.weights = w["stable"];
      c.weight_cleared = Member(w, "cleared");
    }
    c.xray = array("xray");
    c.hits = array("hits");
    c.screening_errors = array("screening_errors");
    c.manifests = array("manifests");
    c.problems = array("problems");
    c.risk = Member(j, "risk");
    c.risk_assessments = j.value("risk_assessments", uint64_t{0});
    c.facts = j["facts"].is_object() ? j["facts"] : Json::object();
    c.notes = array("notes");
    c.hold = Member(j, "hold");
    c.decision = Member(j, "decision");
    c.channel_override = Member(j, "override");  // absent in pictures stored before overrides
    c.overrides = j.value("overrides", uint64_t{0});
    c.evidence = array("evidence");
    c.evidence_total = j.value("evidence_total", uint64_t{c.evidence.size()});
    if (j.contains("dropped") && j["dropped"].is_object())
      for (const auto& [k, v] : j["dropped"].items())
        if (v.is_number_unsigned()) c.dropped[k] = v.get<uint64_t>();
  } catch (const Json::exception& e) {
    *error = "crossing picture: " + std::string(e.what());
    return std::nullopt;
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> SearchKeys(const Crossing& c) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const Json& p : c.plates)
    if (std::string v = Str(p, "plate"); !v.empty()) keys.emplace("plate", v);
  for (const Json& d : c.documents) {
    if (std::string v = Str(d, "document_number"); !v.empty()) keys.emplace("document", v);
    const std::string name =
        SearchName(Str(d, "primary_identifier") + " " + Str(d, "secondary_identifier"));
    if (!name.empty()) keys.emplace("name", name);
  }
  for (const Json& k : c.containers)
    if (std::string v = Str(k, "code"); !v.empty()) keys.emplace("container", v);
  for (const Json& s : c.xray)
    if (s["containers"].is_array())
      for (const Json& code : s["containers"])
        if (code.is_string() && !SearchCode(code.get<std::string>()).empty())
          keys.emplace("container", SearchCode(code.get<std::string>()));
  return {keys.begin(), keys.end()};
}

std::string SearchName(std::string_view name) {
  const std::string latin = watchlist::TransliterateToLatin(name);
  std::string out;
  bool space = false;
  for (char ch : latin) {
    const bool word = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      static_cast<unsigned char>(ch) >= 0x80;
    if (!word) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

std::string SearchPlate(std::string_view plate) {
  plate::NormalisedPlate p = plate::NormalisePlate(plate);
  return p.ok ? p.plate : std::string();
}

std::string SearchCode(std::string_view code) {
  std::string out;
  for (char ch : code) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) out += ch;
  }
  return out;
}

Json Summary(const Json& p) {
  Json plates = Json::array(), names = Json::array(), documents = Json::array(),
       containers = Json::array();
  auto each = [&](const char* key, auto fn) {
    if (p.contains(key) && p[key].is_array())
      for (const Json& item : p[key])
        if (item.is_object()) fn(item);
  };
  each("plates", [&](const Json& i) { plates.push_back(Str(i, "plate")); });
  each("documents", [&](const Json& i) {
    documents.push_back(Str(i, "document_number") + "/" + Str(i, "issuing_state"));
    names.push_back(Str(i, "primary_identifier") + " " + Str(i, "secondary_identifier"));
  });
  each("containers", [&](const Json& i) { containers.push_back(Str(i, "code")); });
  const Json risk = Member(p, "risk");
  const Json decision = Member(p, "decision");
  const ChannelChoice choice = ChooseChannel(Member(p, "override"), risk);
  const Json channel = choice.channel.empty() ? Json(nullptr) : Json(choice.channel);
  return Json{{"id", Member(p, "id")},
              {"lane", Member(p, "lane")},
              {"state", Member(p, "state")},
              {"opened", Member(p, "opened")},
              {"opened_us", Member(p, "opened_us")},
              {"closed", Member(p, "closed")},
              {"close_reason", Member(p, "close_reason")},
              {"plates", plates},
              {"names", names},
              {"documents", documents},
              {"containers", containers},
              {"hits", p.contains("hits") && p["hits"].is_array() ? p["hits"].size() : 0},
              {"channel", channel},
              {"overridden", choice.overridden},
              {"decision", decision.is_object() ? Member(decision, "decision") : Json(nullptr)},
              {"late", Member(p, "late")}};
}

std::string UtcText(int64_t time_us) {
  const std::time_t t = static_cast<std::time_t>(time_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace kordon::crossings
