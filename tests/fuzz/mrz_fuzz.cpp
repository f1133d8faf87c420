// mrz_fuzz.cpp — fuzz target for the MRZ parser, the line grouper and the message bodies
// (plugins/mrz-reader). Invariants: nothing throws; a document the parser calls valid has
// every check digit valid and recomputable; the grouper never loses or invents lines; every
// body is a JSON object.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "fuzz_json.h"
#include "mrz.h"
#include "mrz_grouper.h"
#include "mrz_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace std::chrono;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const year_month_day today{year{2026}, month{11}, day{28}};

  const kordon::mrz::ParseResult result = kordon::mrz::Parse(text, today);
  FUZZ_CHECK(result.ok() != !result.error.empty(), "either a document or an error");
  if (result.ok()) {
    const kordon::mrz::Document& d = *result.document;
    FUZZ_CHECK(!d.lines.empty() && d.lines.size() <= 3, "an MRZ has 2 or 3 lines");
    for (const kordon::mrz::Check& c : d.checks) {
      if (d.valid()) FUZZ_CHECK(c.valid, "a valid document has only valid checks");
      if (c.present && c.valid) FUZZ_CHECK(c.found == c.expected, "a valid check matches");
    }
    for (const kordon::mrz::Repair& r : d.repairs)
      FUZZ_CHECK(r.from != r.to, "a repair changes a character");
    const auto body = nlohmann::json::parse(kordon::mrz::ReadBody(d, "fuzz"), nullptr, false);
    FUZZ_CHECK(body.is_object(), "scanner.document.read is a JSON object");
  }

  // The same bytes as a device line stream.
  kordon::mrz::LineGrouper grouper(milliseconds(500));
  auto now = kordon::mrz::LineGrouper::Clock::time_point{};
  size_t fed = 0, out = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find_first_of("\r\n"), rest.size());
    std::string_view line = rest.substr(0, end);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    if (!line.empty()) ++fed;
    for (const auto& g : grouper.Feed(rest.substr(0, end), now)) out += g.lines.size();
    rest.remove_prefix(std::min(end + 1, rest.size()));
    now += milliseconds(size % 3 == 0 ? 600 : 10);  // sometimes past the timeout
  }
  if (auto g = grouper.Expire(now + seconds(1))) out += g->lines.size();
  if (auto g = grouper.Flush("end")) out += g->lines.size();
  FUZZ_CHECK(fed == out, "the grouper hands back every line it was fed");

  // The bus path: the same bytes as a scanner.document.raw body.
  const kordon::mrz::Outcome o = kordon::mrz::HandleRawBody(text, today);
  FUZZ_CHECK(o.topic == kordon::mrz::kReadTopic || o.topic == kordon::mrz::kRejectedTopic,
             "an outcome is a read or a rejection");
  FUZZ_CHECK(IsJsonObject(o.body), "the body is JSON");
  return 0;
}
