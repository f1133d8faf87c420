// sics_reply_fuzz.cpp — fuzz target for the MT-SICS reply parser and command matching
// (plugins/weighbridge). Invariants: nothing throws; a reply is a weight only with a known
// unit and a finite value; statuses and errors carry no weight; every body is a JSON object;
// the session never answers a command with a reply for another one.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_json.h"
#include "sics_session.h"
#include "weighbridge.h"
#include "weighbridge_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace wb = kordon::weighbridge;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  wb::SicsSession session(std::chrono::milliseconds(100));
  auto now = wb::SicsSession::Clock::time_point{};
  const char* commands[] = {"SI", "Z", "T"};
  size_t n = 0;
  // A command, its reply and its expiry take a few lines; 32 lines reach every state of the
  // session, and more (256 bytes can hold 128 empty lines, each making two JSON bodies) only
  // repeat them.
  for (size_t lines = 0; !rest.empty() && lines < 32; ++lines) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));

    const wb::SicsReply r = wb::ParseSicsReply(line);
    FUZZ_CHECK((r.kind == wb::SicsReply::Kind::kInvalid) == !r.error.empty(),
               "an error sentence exactly for invalid replies");
    if (r.reading.has_weight) {
      FUZZ_CHECK(r.kind == wb::SicsReply::Kind::kWeight, "only weight replies carry a weight");
      FUZZ_CHECK(std::isfinite(r.reading.kg), "a weight is finite");
      FUZZ_CHECK(wb::KilogramsPerUnit(r.reading.raw_unit).has_value(), "a known unit");
    } else {
      FUZZ_CHECK(r.kind != wb::SicsReply::Kind::kWeight, "a weight reply has a weight");
    }
    FUZZ_CHECK(IsJsonObject(wb::LiveBody("fuzz", r.reading, line)), "live body is JSON");
    FUZZ_CHECK(IsJsonObject(wb::ErrorBody("fuzz", r.error, line)), "error body is JSON");

    if (session.CanSend(now)) session.Sent({commands[n++ % 3], ""}, now);
    const std::string sent = session.outstanding() ? session.outstanding()->text : "";
    const auto outcome = session.OnReply(r, now);
    if (outcome.kind == wb::SicsSession::ReplyOutcome::Kind::kAnswer) {
      FUZZ_CHECK(outcome.command && outcome.command->text == sent, "answers what was sent");
      FUZZ_CHECK(r.kind == wb::SicsReply::Kind::kInvalid || wb::SicsReplyAnswers(r, sent),
                 "a well-formed answer matches its command");
    }
    now += std::chrono::milliseconds(size % 2 ? 150 : 10);
    session.Expire(now);
  }
  return 0;
}
