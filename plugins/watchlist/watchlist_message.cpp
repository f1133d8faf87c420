// watchlist_message.cpp — see watchlist_message.h.

#include "watchlist_message.h"

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "names.h"
#include "json_member.h"
#include "plate.h"

namespace kordon::watchlist {
namespace {

using nlohmann::json;

json EntryJson(const Entry& e) {
  json j = {{"list", e.list}, {"id", e.id}, {"kind", e.kind}, {"names", e.names},
            {"dob", e.birth_dates}, {"nationalities", e.nationalities}, {"reason", e.reason}};
  if (!e.documents.empty()) {
    j["documents"] = json::array();
    for (const Document& d : e.documents)
      j["documents"].push_back({{"number", d.number}, {"country", d.country}});
  }
  if (!e.plates.empty()) {
    j["plates"] = json::array();
    for (const Plate& p : e.plates)
      j["plates"].push_back({{"plate", p.plate}, {"country", p.country}});
  }
  if (!e.vins.empty()) j["vins"] = e.vins;
  return j;
}

json HitJson(const Hit& hit, const std::string& subject) {
  json s = json::parse(subject, nullptr, false);
  // What the hit is about: a person when the name matched, else what matched.
  if (s.is_object()) {
    const std::string& m = hit.matched;
    s["kind"] = m.find("name") != std::string::npos ? "person"
                : m.find("document") != std::string::npos ? "document"
                                                          : "vehicle";
  }
  return {{"subject", s}, {"entry", EntryJson(*hit.entry)}, {"score", hit.score},
          {"matched", hit.matched}, {"explanation", hit.explanation}};
}

}  // namespace

std::optional<Checked> FromDocumentRead(std::string_view body, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    *error = "the body is not a JSON object";
    return std::nullopt;
  }
  std::string primary, secondary, birth, nationality, number, issuing;
  if (!StringMember(j, "primary_identifier", &primary, error) ||
      !StringMember(j, "secondary_identifier", &secondary, error) ||
      !StringMember(j, "birth_date", &birth, error) ||
      !StringMember(j, "nationality", &nationality, error) ||
      !StringMember(j, "document_number", &number, error) ||
      !StringMember(j, "issuing_state", &issuing, error))
    return std::nullopt;
  if (primary.empty() && secondary.empty() && number.empty()) {
    *error = "neither a name nor a document number to check";
    return std::nullopt;
  }
  Checked c;
  c.query.name = primary + " " + secondary;
  c.query.surname_parts = SplitName(primary).size();
  c.query.birth_date = IsValidBirthDate(birth) ? birth : "";
  c.query.nationality = nationality;
  c.query.document_number = number;
  c.query.document_country = issuing;
  json s = {{"kind", "person"},       {"primary_identifier", primary},
            {"secondary_identifier", secondary}, {"birth_date", birth},
            {"nationality", nationality}, {"document_number", number},
            {"issuing_state", issuing}};
  if (auto v = j.find("valid"); v != j.end() && v->is_boolean()) s["valid"] = *v;
  c.subject = s.dump();
  return c;
}

std::optional<Checked> FromPlateRead(std::string_view body, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    *error = "the body is not a JSON object";
    return std::nullopt;
  }
  std::string plate, country;
  if (!StringMember(j, "plate", &plate, error) || !StringMember(j, "country", &country, error))
    return std::nullopt;
  kordon::plate::NormalisedPlate p = kordon::plate::NormalisePlate(plate);
  if (!p.ok) {
    *error = "plate '" + plate + "': " + p.error;
    return std::nullopt;
  }
  Checked c;
  c.query.plate = p.plate;
  c.query.plate_country = country;
  c.subject = json({{"kind", "vehicle"}, {"plate", p.plate}, {"country", country}}).dump();
  return c;
}

std::optional<Checked> FromCheckRequest(std::string_view body, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    *error = "the request body is not a JSON object";
    return std::nullopt;
  }
  static const char* const kKeys[] = {"name",           "birth_date", "nationality",
                                      "document_number", "issuing_state", "plate",
                                      "country",        "vin"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKeys) known |= key == k;
    if (!known) {
      *error = "unknown member '" + key +
               "' (name, birth_date, nationality, document_number, issuing_state, plate, "
               "country, vin)";
      return std::nullopt;
    }
  }
  Checked c;
  Query& q = c.query;
  std::string plate;
  if (!StringMember(j, "name", &q.name, error) ||
      !StringMember(j, "birth_date", &q.birth_date, error) ||
      !StringMember(j, "nationality", &q.nationality, error) ||
      !StringMember(j, "document_number", &q.document_number, error) ||
      !StringMember(j, "issuing_state", &q.document_country, error) ||
      !StringMember(j, "plate", &plate, error) ||
      !StringMember(j, "country", &q.plate_country, error) ||
      !StringMember(j, "vin", &q.vin, error))
    return std::nullopt;
  if (!q.birth_date.empty() && !IsValidBirthDate(q.birth_date)) {
    *error = "'birth_date' must be YYYY-MM-DD or YYYY, got '" + q.birth_date + "'";
    return std::nullopt;
  }
  if (!plate.empty()) {
    kordon::plate::NormalisedPlate p = kordon::plate::NormalisePlate(plate);
    if (!p.ok) {
      *error = "'plate': " + p.error;
      return std::nullopt;
    }
    q.plate = p.plate;
  }
  if (!q.name.empty() && SplitName(q.name).empty()) {
    *error = "'name' has no letters";
    return std::nullopt;
  }
  if (q.name.empty() && q.document_number.empty() && q.plate.empty() && q.vin.empty()) {
    *error = "nothing to check: give a name, document_number, plate or vin";
    return std::nullopt;
  }
  json s = j;
  s["kind"] = !q.name.empty() ? "person" : !q.document_number.empty() ? "document" : "vehicle";
  c.subject = s.dump();
  return c;
}

std::string HitBody(const Hit& hit, const std::string& subject, std::string_view source_id,
                    std::string_view source_topic) {
  json j = HitJson(hit, subject);
  j["source_id"] = std::string(source_id);
  j["source_topic"] = std::string(source_topic);
  return j.dump();
}

std::string ReplyBody(const std::vector<Hit>& hits, const std::string& subject) {
  json list = json::array();
  for (const Hit& h : hits) list.push_back(HitJson(h, subject));
  return json({{"hits", list}}).dump();
}

}  // namespace kordon::watchlist
