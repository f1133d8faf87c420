// container_feed_fuzz.cpp — fuzz target for the camera feed parser with ISO 6346 and the
// container-reader bodies. Invariants: nothing throws; every body is a JSON object; a code
// called valid is well-shaped and its check digit recomputes; a repair changes exactly one
// character, by a listed confusion, into a code that validates; an invalid code says why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "camera_feed.h"
#include "container_message.h"
#include "fuzz_check.h"
#include "iso6346.h"
#include "utf8.h"

namespace {

constexpr size_t kMaxLines = 16;

void CheckAnalysis(const kordon::iso6346::Analysis& a) {
  if (a.valid) {
    FUZZ_CHECK(a.shape_ok && a.code.size() == 11, "a valid code is well-shaped");
    const auto digit = kordon::iso6346::CheckDigit(a.code);
    FUZZ_CHECK(digit && *digit == a.code[10], "a valid code's check digit recomputes");
    FUZZ_CHECK(!a.repair && a.problem.empty(), "a valid code needs no repair");
  } else {
    FUZZ_CHECK(!a.problem.empty(), "an invalid code says why");
  }
  if (a.repair) {
    FUZZ_CHECK(a.repair_candidates == 1, "a repair is the only candidate");
    FUZZ_CHECK(kordon::iso6346::Analyse(a.repair->code).valid, "a repair validates");
    size_t differ = 0;
    for (size_t i = 0; i < a.code.size(); ++i) differ += a.code[i] != a.repair->code[i];
    FUZZ_CHECK(differ == 1 && a.code[a.repair->position] == a.repair->from &&
                   a.repair->code[a.repair->position] == a.repair->to,
               "a repair changes the one character it names");
  }
}

void CheckOutcome(const kordon::camera::Outcome& o) {
  using Kind = kordon::camera::Outcome::Kind;
  if (o.kind == Kind::kHeartbeat) return;
  const auto body = nlohmann::json::parse(o.body, nullptr, false);
  FUZZ_CHECK(body.is_object(), "a body is a JSON object");
  if (o.kind == Kind::kRead) {
    FUZZ_CHECK(o.topic == kordon::container::kReadTopic, "a read's topic");
    if (body["valid"].get<bool>()) {
      const std::string code = body["code"].get<std::string>();
      FUZZ_CHECK(code.size() == 11 && *kordon::iso6346::CheckDigit(code) == code[10],
                 "a published valid code's check digit recomputes");
    }
    FUZZ_CHECK(body["repaired_valid"].get<bool>() == body["repair"].is_object(),
               "repaired_valid goes with a repair");
  } else {
    FUZZ_CHECK(o.topic == kordon::container::kRejectedTopic, "a rejection's topic");
    const std::string raw = body["raw"].get<std::string>();
    FUZZ_CHECK(raw.size() <= kordon::camera::kMaxRawBytes && kordon::text::IsValidUtf8(raw),
               "raw is at most 512 bytes of UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const kordon::camera::Settings settings{"fuzz-ccr", 0.5, "tcp://127.0.0.1:9"};
  // Lines are handled one by one, with no state between them, so more than a few lines per
  // input only repeat the same code: at most kMaxLines (an input of 2 KiB of newlines was
  // 2 048 rejections, each a JSON body written and read back).
  std::string_view rest = text;
  for (size_t lines = 0; !rest.empty() && lines < kMaxLines; ++lines) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    std::string_view line = rest.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    CheckOutcome(kordon::container::HandleLine(line, settings));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  CheckOutcome(kordon::container::HandleRawBody(text, settings));
  if (size <= 64) CheckAnalysis(kordon::iso6346::Analyse(text));
  return 0;
}
