// mrz_reader.cpp — the mrz-reader plugin: turns the raw MRZ text of a document reader into a
// scanner.document.read (or scanner.document.rejected) message.
//
// Two inputs, both parsed the same way (see README.md):
//  - the bus: scanner.document.raw ({"mrz": "...", "reader": "..."}), for manual entry and
//    tests; each result carries the incoming message's lane and crossing id;
//  - with the `link` setting, the reader itself over TCP or a serial port (DeviceLink): one
//    MRZ line per CR / CRLF, grouped into documents by LineGrouper; results carry the
//    instance's lane. The reader's state goes out as device.status (DeviceModel).
//
// Threading: the constructor, Start, Stop, OnMessage and the expiry timer run on the
// instance's thread. The link's callbacks run on the link's reader thread. The grouper is
// shared between the link thread (lines, drops) and the timer (expiry): it is guarded by
// mutex_, which is also held while a device result is published, so results go out in the
// order the lines arrived. Host::Publish and DeviceModel are thread-safe.

#include <kordon/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "device_link.h"
#include "device_model.h"
#include "device_plugin.h"
#include "mrz.h"
#include "mrz_grouper.h"
#include "mrz_message.h"

namespace {

constexpr int64_t kDefaultGroupTimeoutMs = 500;
constexpr int64_t kMinGroupTimeoutMs = 50;
constexpr int64_t kMaxGroupTimeoutMs = 60000;
constexpr char kDeviceKind[] = "document-reader";

std::chrono::year_month_day UtcDay(std::chrono::system_clock::time_point t) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t));
}

class MrzReader : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one, which
  // makes create fail with that message.
  explicit MrzReader(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    if (auto text = h.Config("link")) {
      std::string error;
      std::optional<kordon::device::LinkSpec> spec = kordon::device::ParseLinkString(*text, &error);
      if (!spec) throw std::invalid_argument("setting 'link': " + error);
      spec_ = std::move(*spec);
    }
    const int64_t ms = h.ConfigInt("group_timeout_ms", kDefaultGroupTimeoutMs);
    if (ms < kMinGroupTimeoutMs || ms > kMaxGroupTimeoutMs)
      throw std::invalid_argument("setting 'group_timeout_ms' must be between " +
                                  std::to_string(kMinGroupTimeoutMs) + " and " +
                                  std::to_string(kMaxGroupTimeoutMs) + " (milliseconds), got " +
                                  std::to_string(ms));
    group_timeout_ = std::chrono::milliseconds(ms);
    reader_ = h.ConfigOr("reader", h.instance_name());
    if (reader_.empty()) throw std::invalid_argument("setting 'reader' must not be empty");
    grouper_ = std::make_unique<kordon::mrz::LineGrouper>(group_timeout_);
    if (spec_) {
      model_ = kordon::device::MakeDeviceModel(*this, kDeviceKind, spec_->text);
    }
  }

  ~MrzReader() override {
    if (link_) link_->Stop();
  }

  kordon::Status Start() override {
    if (!spec_ || link_) return kordon::Status::Ok();
    // Expiry of a partial group: checked a few times per timeout.
    const auto tick = std::clamp(group_timeout_ / 5, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(100));
    kordon::TimerId id = 0;
    kordon::Status s = host().StartTimer(tick, tick, [this] { ExpireGroup(); }, &id);
    if (!s.ok()) return s;
    timer_ = id;

    kordon::device::LinkOptions options;
    options.terminator = '\r';  // CR or CRLF; the LF of a CRLF is stripped by the grouper
    options.max_line_bytes = 1024;
    kordon::device::LinkCallbacks callbacks;
    callbacks.on_line = [this](std::string_view line) { OnDeviceLine(line); };
    callbacks.on_state = [this](kordon::device::LinkState state, std::string_view reason) {
      OnLinkState(state, reason);
    };
    callbacks.on_error = [this](std::string_view error) {
      model_->CountError();
      host().Warn("reader " + spec_->text + ": " + std::string(error));
    };
    link_ = std::make_unique<kordon::device::DeviceLink>(*spec_, options, std::move(callbacks));
    std::string error;
    if (!link_->Start(&error)) {
      link_.reset();
      CancelTimer();
      return kordon::Status::Failed("cannot start the link " + spec_->text + ": " + error);
    }
    host().Info("reader " + reader_ + " on " + spec_->text + ", lines grouped within " +
                std::to_string(group_timeout_.count()) + " ms");
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (!link_) return kordon::Status::Ok();
    link_->Stop();  // no callback runs after this
    link_.reset();
    CancelTimer();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto partial = grouper_->Flush("the plugin stopped"))
        host().Warn("reader " + reader_ + ": dropped a partial MRZ at stop: " + partial->detail);
    }
    model_->SetState(kordon::device::DeviceState::kClosed, "stopped");
    host().Info("reader " + reader_ + ": " + model_->Health().summary);
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == kordon::device::kStatusRequestTopic) {
      if (model_) model_->AnswerStatusRequest(m.body());
      return kordon::Status::Ok();
    }
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
    if (!s.ok()) CountFailure("result of message " + std::string(m.id()), s);
    return kordon::Status::Ok();
  }

 private:
  using Clock = kordon::mrz::LineGrouper::Clock;

  void CancelTimer() {
    if (!timer_) return;
    kordon::Status s = host().CancelTimer(*timer_);
    if (!s.ok()) host().Warn("cancelling the group timer: " + s.ToString());
    timer_.reset();
  }

  void CountFailure(const std::string& what, const kordon::Status& s) {
    const uint64_t n = ++failures_;
    host().Warn(what + " not published: " + s.ToString() + " (" + std::to_string(n) +
                " failed so far)");
  }

  // Link thread. A line may hold several MRZ lines when the reader ends them with LF only.
  void OnDeviceLine(std::string_view line) {
    model_->CountLine(line.size());
    std::lock_guard<std::mutex> lock(mutex_);
    const Clock::time_point now = Clock::now();
    while (!line.empty()) {
      const size_t end = std::min(line.find('\n'), line.size());
      for (const kordon::mrz::LineGroup& g : grouper_->Feed(line.substr(0, end), now))
        PublishGroup(g);
      line.remove_prefix(std::min(end + 1, line.size()));
    }
  }

  // Link thread.
  void OnLinkState(kordon::device::LinkState state, std::string_view reason) {
    using kordon::device::DeviceState;
    using kordon::device::LinkState;
    switch (state) {
      case LinkState::kConnecting:
        model_->SetState(DeviceState::kOffline, "connecting to " + spec_->text);
        break;
      case LinkState::kConnected:
        if (connected_before_) model_->CountReconnect();
        connected_before_ = true;
        model_->SetState(DeviceState::kIdle, "connected to " + spec_->text);
        break;
      case LinkState::kDisconnected: {
        model_->CountError();
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (auto partial = grouper_->Flush("the link dropped")) PublishGroup(*partial);
        }
        model_->SetState(DeviceState::kOffline, reason);
        break;
      }
      case LinkState::kStopped: break;  // Stop reports kClosed
    }
  }

  // Instance thread (timer).
  void ExpireGroup() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto partial = grouper_->Expire(Clock::now())) PublishGroup(*partial);
  }

  // REQUIRES: mutex_ held.
  void PublishGroup(const kordon::mrz::LineGroup& group) {
    const std::string text = group.Text();
    kordon::mrz::Outcome outcome;
    if (group.kind == kordon::mrz::LineGroup::Kind::kIncomplete) {
      model_->CountError();
      host().Warn("reader " + reader_ + ": incomplete MRZ discarded: " + group.detail);
      outcome = {kordon::mrz::kRejectedTopic,
                 kordon::mrz::RejectedBody(kordon::mrz::kIncompleteReason, text, reader_)};
    } else {
      kordon::mrz::ParseResult result =
          kordon::mrz::Parse(text, UtcDay(std::chrono::system_clock::now()));
      outcome = result.ok()
                    ? kordon::mrz::Outcome{kordon::mrz::kReadTopic,
                                           kordon::mrz::ReadBody(*result.document, reader_)}
                    : kordon::mrz::Outcome{kordon::mrz::kRejectedTopic,
                                           kordon::mrz::RejectedBody(result.error, text, reader_)};
    }
    kordon::Status s = host().Publish(outcome.topic, outcome.body);  // the instance's lane
    if (!s.ok()) {
      CountFailure("result of a document from " + spec_->text, s);
    } else if (outcome.topic == kordon::mrz::kReadTopic) {
      model_->CountRead();
    }
  }

  std::optional<kordon::device::LinkSpec> spec_;  // set when `link` is
  std::chrono::milliseconds group_timeout_{kDefaultGroupTimeoutMs};
  std::string reader_;
  std::unique_ptr<kordon::device::DeviceModel> model_;  // set when `link` is
  std::unique_ptr<kordon::device::DeviceLink> link_;    // while started with a link
  std::optional<kordon::TimerId> timer_;
  bool connected_before_ = false;  // link thread only
  std::atomic<uint64_t> failures_{0};

  std::mutex mutex_;
  std::unique_ptr<kordon::mrz::LineGrouper> grouper_;  // GUARDED_BY(mutex_)
};

}  // namespace

KORDON_PLUGIN(MrzReader, {.name = "mrz-reader",
                          .kind = KORDON_KIND_SCANNER,
                          .vendor = "Kordon",
                          .version = "0.2.0",
                          .description = "Reads ICAO Doc 9303 MRZs from a reader (link) or "
                                         "scanner.document.raw -> scanner.document.read / "
                                         ".rejected, device.status",
                          .publishes = {kordon::mrz::kReadTopic, kordon::mrz::kRejectedTopic,
                                        kordon::device::kStatusTopic},
                          .subscribes = {kordon::mrz::kRawTopic,
                                         kordon::device::kStatusRequestTopic},
                          .services = {}})
