// manifest_message.cpp — see manifest_message.h.
#include "manifest_message.h"

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iso6346.h"
#include "json_member.h"
#include "plate.h"

namespace kordon::manifest {
namespace {

using nlohmann::json;

json Parse(std::string_view body, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) *error = "the body is not a JSON object";
  return j;
}

bool NormalisePlate(const std::string& raw, std::string* out, std::string* error) {
  kordon::plate::NormalisedPlate p = kordon::plate::NormalisePlate(raw);
  if (!p.ok) {
    *error = "plate '" + raw + "': " + p.error;
    return false;
  }
  *out = std::move(p.plate);
  return true;
}

bool ValidContainer(const std::string& raw, std::string* out, std::string* error) {
  const kordon::iso6346::Analysis a = kordon::iso6346::Analyse(raw);
  if (!a.valid) {
    *error = "container '" + raw + "' is not a valid ISO 6346 code: " + a.problem;
    return false;
  }
  *out = a.code;
  return true;
}

}  // namespace

std::optional<LookupKey> FromPlateRead(std::string_view body, std::string* error) {
  json j = Parse(body, error);
  if (!j.is_object()) return std::nullopt;
  LookupKey k;
  k.matched_by = "plate";
  std::string plate;
  if (!StringMember(j, "plate", &plate, error) || !StringMember(j, "country", &k.country, error))
    return std::nullopt;
  if (plate.empty()) {
    *error = "no 'plate' to look up";
    return std::nullopt;
  }
  if (!NormalisePlate(plate, &k.value, error)) return std::nullopt;
  return k;
}

std::optional<LookupKey> FromContainerRead(std::string_view body, std::string* error) {
  json j = Parse(body, error);
  if (!j.is_object()) return std::nullopt;
  LookupKey k;
  k.matched_by = "container";
  std::string code;
  if (!StringMember(j, "code", &code, error)) return std::nullopt;
  if (code.empty()) {
    *error = "no 'code' to look up";
    return std::nullopt;
  }
  const auto valid = j.find("valid");
  if (valid != j.end() && valid->is_boolean() && !valid->get<bool>()) {
    // The reader says it does not validate; its unique repair is what it stands for.
    const auto repaired = j.find("repaired_valid");
    const auto repair = j.find("repair");
    if (repaired != j.end() && repaired->is_boolean() && repaired->get<bool>() &&
        repair != j.end() && repair->is_object()) {
      std::string fixed;
      if (!StringMember(*repair, "code", &fixed, error)) return std::nullopt;
      if (!ValidContainer(fixed, &k.value, error)) return std::nullopt;
      k.repaired = true;
      return k;
    }
  }
  if (!ValidContainer(code, &k.value, error)) return std::nullopt;
  return k;
}

std::optional<LookupKey> FromLookupRequest(std::string_view body, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    *error = "the request body is not a JSON object";
    return std::nullopt;
  }
  LookupKey k;
  for (const auto& [key, value] : j.items()) {
    if (key != "plate" && key != "container" && key != "manifest") {
      *error = "unknown member '" + key + "' (plate, container or manifest)";
      return std::nullopt;
    }
  }
  if (j.size() != 1) {
    *error = "give exactly one of plate, container or manifest";
    return std::nullopt;
  }
  const std::string which = j.begin().key();
  std::string value;
  if (!StringMember(j, which.c_str(), &value, error)) return std::nullopt;
  if (value.empty()) {
    *error = "'" + which + "' is empty";
    return std::nullopt;
  }
  k.matched_by = which;
  if (which == "plate") {
    if (!NormalisePlate(value, &k.value, error)) return std::nullopt;
  } else if (which == "container") {
    if (!ValidContainer(value, &k.value, error)) return std::nullopt;
  } else {
    k.value = value;
  }
  return k;
}

std::optional<size_t> Choose(const std::vector<StoredManifest>& found, const LookupKey& key,
                             std::string_view lane, std::vector<std::string>* others) {
  others->clear();
  std::vector<size_t> candidates;
  for (size_t i = 0; i < found.size(); ++i) {
    const std::string& country = found[i].manifest.plate_country;
    if (key.matched_by == "plate" && !key.country.empty() && !country.empty() &&
        key.country != country)
      continue;
    candidates.push_back(i);
  }
  if (candidates.empty()) return std::nullopt;
  size_t chosen = candidates[0];
  for (size_t i : candidates)
    if (!lane.empty() && found[i].manifest.lane == lane) {
      chosen = i;
      break;
    }
  for (size_t i : candidates)
    if (i != chosen) others->push_back(found[i].manifest.number);
  return chosen;
}

std::string MatchBody(const StoredManifest& m, const LookupKey& key,
                      const std::vector<std::string>& others, std::string_view source_id,
                      std::string_view source_topic) {
  json j = {{"manifest", json::parse(StoredJson(m))},
            {"matched_by", key.matched_by},
            {"value", key.value},
            {"others", others},
            {"source_id", std::string(source_id)},
            {"source_topic", std::string(source_topic)}};
  if (key.repaired) j["repaired"] = true;
  return j.dump();
}

std::string UnmatchedBody(const LookupKey& key, std::string_view source_id,
                          std::string_view source_topic) {
  return json({{"matched_by", key.matched_by},
               {"value", key.value},
               {"source_id", std::string(source_id)},
               {"source_topic", std::string(source_topic)}})
      .dump();
}

std::string LodgedBody(const StoredManifest& m, bool amended, const std::string& file,
                       size_t line) {
  std::vector<std::string> containers;
  for (const Container& c : m.manifest.containers) containers.push_back(c.code);
  return json({{"manifest", json::parse(StoredJson(m))},
               {"plates", m.manifest.plates},
               {"containers", containers},
               {"amended", amended},
               {"file", file},
               {"line", line}})
      .dump();
}

std::string ErrorBody(const std::string& reason, const std::string& file, size_t line,
                      std::string_view source_id, std::string_view source_topic,
                      uint64_t errors) {
  return json({{"reason", reason},
               {"file", file},
               {"line", line},
               {"source_id", std::string(source_id)},
               {"source_topic", std::string(source_topic)},
               {"errors", errors}})
      .dump();
}

LineHints HintsOf(std::string_view line) {
  LineHints h;
  const json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return h;
  auto pick = [&](const char* key, const char* extra) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::string();
    const std::string v = it->get<std::string>();
    if (v.empty() || v.size() > 64) return std::string();
    for (char c : v)
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || std::strchr(extra, c) != nullptr))
        return std::string();
    return v;
  };
  h.manifest = pick("manifest", "/");
  h.lane = pick("lane", ":");
  return h;
}

std::string ReplyBody(const std::vector<StoredManifest>& found) {
  json list = json::array();
  for (const StoredManifest& m : found) list.push_back(json::parse(StoredJson(m)));
  return json({{"manifests", list}}).dump();
}

}  // namespace kordon::manifest
