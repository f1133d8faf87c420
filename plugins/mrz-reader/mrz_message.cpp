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
  Json checks = Json::array();
  for (const Check& c : d.checks) {
    checks.push_back({{"field", c.field},
                      {"present", c.present},
                      {"valid", c.valid},
                      {"expected", std::string(1, c.expected)},
                      {"found", std::string(1, c.found)},
                      {"line", c.line},
                      {"column", c.column}});
  }
  Json repairs = Json::array();
  for (const Repair& r : d.repairs) {
    repairs.push_back({{"field", r.field},
                       {"line", r.line},
                       {"column", r.column},
                       {"from", std::string(1, r.from)},
                       {"to", std::string(1, r.to)}});
  }
  std::string mrz;
  for (const std::string& line : d.lines) mrz += (mrz.empty() ? "" : "\n") + line;
  const Json body = {
      {"reader", reader},
      {"format", FormatName(d.format)},
      {"valid", d.valid()},
      {"document_code", d.document_code},
      {"issuing_state", d.issuing_state},
      {"document_number", d.document_number},
      {"nationality", d.nationality},
      {"birth_date", DateJson(d.birth_date)},
      {"birth_date_raw", d.birth_date.raw},
      {"sex", d.sex},
      {"expiry_date", DateJson(d.expiry_date)},
      {"expiry_date_raw", d.expiry_date.raw},
      {"optional_data_1", d.optional_data_1},
      {"optional_data_2", d.optional_data_2},
      {"primary_identifier", d.primary_identifier},
      {"secondary_identifier", d.secondary_identifier},
      {"checks", checks},
      {"repairs", repairs},
      {"problems", d.problems},
      {"mrz", mrz},
  };
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
