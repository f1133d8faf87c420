// mrz_reader.cpp — the mrz-reader plugin: turns the raw MRZ text of a document reader into a
// scanner.document.read (or scanner.document.rejected) message.
//
// For now the text arrives on the bus as scanner.document.raw ({"mrz": "...", "reader":
// "..."}); this stands in for the serial/TCP device link and its simulator, which come in a
// later step. Each result carries the incoming message's lane and crossing id.
//
// Threading: the host calls the constructor and OnMessage on the instance's own thread, one
// call at a time; the instance has no state besides counters.

#include <kordon/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "mrz.h"
#include "mrz_message.h"

namespace {

class MrzReader : public kordon::Plugin {
 public:
  explicit MrzReader(kordon::Host host) : Plugin(std::move(host)) {}

  kordon::Status OnMessage(const kordon::Message& m) override {
    // Subscriptions match prefixes; only the exact topic is a reader's text.
    if (m.topic() != kordon::mrz::kRawTopic) return kordon::Status::Ok();
    // Two-digit years are resolved against the day the text was published (UTC).
    const std::chrono::sys_days day = std::chrono::floor<std::chrono::days>(
        std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(m.time_us())));
    const kordon::mrz::Outcome outcome =
        kordon::mrz::HandleRawBody(m.body(), std::chrono::year_month_day(day));

    const std::string lane(m.lane());
    const std::string crossing_id(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing_id.empty()) options.crossing_id = crossing_id.c_str();
    kordon::Status s = host().Publish(outcome.topic, outcome.body, options);
    if (!s.ok()) {
      ++failures_;
      host().Warn("result of message " + std::string(m.id()) + " not published: " + s.ToString() +
                  " (" + std::to_string(failures_) + " failed so far)");
    }
    return kordon::Status::Ok();
  }

 private:
  uint64_t failures_ = 0;
};

}  // namespace

KORDON_PLUGIN(MrzReader, {.name = "mrz-reader",
                          .kind = KORDON_KIND_SCANNER,
                          .vendor = "Kordon",
                          .version = "0.1.0",
                          .description = "Reads ICAO Doc 9303 MRZs (scanner.document.raw -> "
                                         "scanner.document.read / .rejected)",
                          .publishes = {kordon::mrz::kReadTopic, kordon::mrz::kRejectedTopic},
                          .subscribes = {kordon::mrz::kRawTopic},
                          .services = {}})
