// mrz_message.cpp — see mrz_message.h.

#include "mrz_message.h"

#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kordon::mrz {
namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& body) {
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json DateJson(const Date& date) {
  switch (date.state) {
    case Date::State::kValid: return date.iso;
    case Date::State::kUnknown: return "unknown";
    case Date::State::kInvalid: break;
  }
  return nullptr;
}

}  // namespace

std::string ReadBody(const Document& d, std::string_view reader) {
  // Built member by member: nlohmann's nested initializer lists copy every value several
  // times, which made this body cost three times the parse (see tests/bench/README.md).
  Json checks = Json::array();
  for (const Check& c : d.checks) {
    Json& j = checks.emplace_back(Json::object());
    j["field"] = c.field;
    j["present"] = c.present;
    j["valid"] = c.valid;
    j["expected"] = std::string(1, c.expected);
    j["found"] = std::string(1, c.found);
    j["line"] = c.line;
    j["column"] = c.column;
  }
  Json repairs = Json::array();
  for (const Repair& r : d.repairs) {
    Json& j = repairs.emplace_back(Json::object());
    j["field"] = r.field;
    j["line"] = r.line;
    j["column"] = r.column;
    j["from"] = std::string(1, r.from);
    j["to"] = std::string(1, r.to);
  }
  std::string mrz;
  for (const std::string& line : d.lines) mrz += (mrz.empty() ? "" : "\n") + line;
  Json body = Json::object();
  body["reader"] = reader;
  body["format"] = FormatName(d.format);
  body["valid"] = d.valid();
  body["document_code"] = d.document_code;
  body["issuing_state"] = d.issuing_state;
  body["document_number"] = d.document_number;
  body["nationality"] = d.nationality;
  body["birth_date"] = DateJson(d.birth_date);
  body["birth_date_raw"] = d.birth_date.raw;
  body["sex"] = d.sex;
  body["expiry_date"] = DateJson(d.expiry_date);
  body["expiry_date_raw"] = d.expiry_date.raw;
  body["optional_data_1"] = d.optional_data_1;
  body["optional_data_2"] = d.optional_data_2;
  body["primary_identifier"] = d.primary_identifier;
  body["secondary_identifier"] = d.secondary_identifier;
  body["checks"] = std::move(checks);
  body["repairs"] = std::move(repairs);
  body["problems"] = d.problems;
  body["mrz"] = std::move(mrz);
  return Dump(body);
}

std::string RejectedBody(std::string_view reason, std::string_view raw, std::string_view reader) {
  return Dump(Json{{"reader", reader}, {"reason", reason}, {"raw", raw}});
}

Outcome HandleRawBody(std::string_view body, std::chrono::year_month_day today) {
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object())
    return {kRejectedTopic, RejectedBody("the body is not a JSON object", "", "")};
  std::string reader;
  if (auto it = parsed.find("reader"); it != parsed.end() && it->is_string())
    reader = it->get<std::string>();
  auto it = parsed.find("mrz");
  if (it == parsed.end() || !it->is_string())
    return {kRejectedTopic, RejectedBody("the body has no string field 'mrz'", "", reader)};
  const std::string raw = it->get<std::string>();
  ParseResult result = Parse(raw, today);
  if (!result.ok()) return {kRejectedTopic, RejectedBody(result.error, raw, reader)};
  return {kReadTopic, ReadBody(*result.document, reader)};
}

}  // namespace kordon::mrz
