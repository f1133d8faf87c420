// plate_feed_fuzz.cpp — fuzz target for the camera feed parser with the plate normaliser and
// the plate-reader bodies. Invariants: nothing throws; every outcome is a read, a rejection or
// a heartbeat with a JSON object body; a published plate is only A-Z, 0-9 and Cyrillic letters
// and normalises to itself; a rejection quotes at most 512 bytes of valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "camera_feed.h"
#include "fuzz_check.h"
#include "plate.h"
#include "plate_message.h"
#include "utf8.h"

namespace {

constexpr size_t kMaxLines = 16;

void CheckPlate(const std::string& plate) {
  FUZZ_CHECK(!plate.empty(), "a published plate is not empty");
  for (size_t pos = 0; pos < plate.size();) {
    const auto cp = kordon::text::DecodeUtf8(plate, &pos);
    FUZZ_CHECK(cp.has_value(), "a published plate is UTF-8");
    const bool ok = (*cp >= U'A' && *cp <= U'Z') || (*cp >= U'0' && *cp <= U'9') ||
                    kordon::plate::IsCyrillicLetter(*cp);
    FUZZ_CHECK(ok, "a published plate is only A-Z, 0-9 and Cyrillic letters");
  }
  const auto again = kordon::plate::NormalisePlate(plate);
  FUZZ_CHECK(again.ok && again.plate == plate, "a normalised plate normalises to itself");
}

void CheckOutcome(const kordon::camera::Outcome& o) {
  using Kind = kordon::camera::Outcome::Kind;
  if (o.kind == Kind::kHeartbeat) return;
  const auto body = nlohmann::json::parse(o.body, nullptr, false);
  FUZZ_CHECK(body.is_object(), "a body is a JSON object");
  if (o.kind == Kind::kRead) {
    FUZZ_CHECK(o.topic == kordon::plate::kReadTopic, "a read goes to scanner.plate.read");
    CheckPlate(body["plate"].get<std::string>());
    const std::string script = body["script"].get<std::string>();
    FUZZ_CHECK(script == "latin" || script == "cyrillic" || script == "mixed", "a script");
  } else {
    FUZZ_CHECK(o.topic == kordon::plate::kRejectedTopic, "a rejection's topic");
    const std::string raw = body["raw"].get<std::string>();
    FUZZ_CHECK(raw.size() <= kordon::camera::kMaxRawBytes, "raw is cut to 512 bytes");
    FUZZ_CHECK(kordon::text::IsValidUtf8(raw), "raw is UTF-8");
    FUZZ_CHECK(!body["reason"].get<std::string>().empty(), "a rejection says why");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const kordon::camera::Settings settings{"fuzz-cam", 0.5, "tcp://127.0.0.1:9"};
  // As a feed: one outcome per line.
  // Lines are handled one by one, with no state between them, so more than a few lines per
  // input only repeat the same code: at most kMaxLines (an input of 2 KiB of newlines was
  // 2 048 rejections, each a JSON body written and read back).
  std::string_view rest = text;
  for (size_t lines = 0; !rest.empty() && lines < kMaxLines; ++lines) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    std::string_view line = rest.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const kordon::camera::FeedLine parsed =
        kordon::camera::ParseFeedLine(line, kordon::camera::FeedKind::kPlate);
    FUZZ_CHECK((parsed.type == kordon::camera::FeedLine::Type::kError) == !parsed.error.empty(),
               "an error says why, and only an error");
    if (parsed.type == kordon::camera::FeedLine::Type::kRead)
      FUZZ_CHECK(!parsed.read.text.empty() && parsed.read.text.size() <= 128, "text 1..32");
    CheckOutcome(kordon::plate::HandleLine(line, settings));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  // As a scanner.plate.raw body, and as a plate text.
  CheckOutcome(kordon::plate::HandleRawBody(text, settings));
  const auto plate = kordon::plate::NormalisePlate(text);
  FUZZ_CHECK(plate.ok != !plate.error.empty(), "a plate or an error");
  if (plate.ok) CheckPlate(plate.plate);
  return 0;
}
