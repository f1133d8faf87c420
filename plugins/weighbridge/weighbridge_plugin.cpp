// weighbridge_plugin.cpp — the weighbridge plugin: reads a truck scale terminal over TCP or a
// serial port (DeviceLink) in MT-SICS (polled with SI) or the Toledo continuous output, and
// publishes scale.weight.live (never final), scale.weight.stable (once per settled vehicle),
// scale.weight.cleared, scale.error and device.status; zero / tare arrive as scale.command and
// are answered with scale.command.result. See README.md.
//
// Threading: the constructor, Start, Stop, OnMessage and the tick timer run on the instance's
// thread; the link's callbacks run on the link's reader thread. Everything the two share (the
// SICS session, the command queue, the framer, the stable-weight detector, the counters of
// failures) is guarded by mutex_, which is also held while publishing so that messages go out
// in the order the device sent them. Writes to the link happen outside the lock (a Write may
// wait up to its timeout). Host::Publish and DeviceModel are thread-safe.

#include <kordon/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "device_link.h"
#include "device_model.h"
#include "device_plugin.h"
#include "sics_session.h"
#include "stable_weight.h"
#include "weighbridge.h"
#include "weighbridge_message.h"

namespace {

namespace wb = kordon::weighbridge;
using kordon::device::DeviceState;
using kordon::device::LinkState;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kDeviceKind[] = "weighbridge";
constexpr int kFailuresForError = 3;      // in a row: the device state becomes error
constexpr size_t kMaxQueuedCommands = 4;  // zero / tare waiting behind the outstanding one

class Weighbridge : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit Weighbridge(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    const std::optional<std::string> link = h.Config("link");
    if (!link) throw std::invalid_argument("setting 'link' is required (tcp://HOST:PORT or "
                                           "serial:///dev/NAME?baud=RATE)");
    std::string error;
    std::optional<kordon::device::LinkSpec> spec = kordon::device::ParseLinkString(*link, &error);
    if (!spec) throw std::invalid_argument("setting 'link': " + error);
    spec_ = std::move(*spec);

    const std::string protocol = h.ConfigOr("protocol", "sics");
    if (protocol != "sics" && protocol != "toledo-continuous")
      throw std::invalid_argument("setting 'protocol' must be 'sics' or 'toledo-continuous', "
                                  "got '" + protocol + "'");
    sics_ = protocol == "sics";
    const std::string checksum = h.ConfigOr("checksum", "true");
    if (checksum != "true" && checksum != "false")
      throw std::invalid_argument("setting 'checksum' must be 'true' or 'false', got '" +
                                  checksum + "'");
    checksum_ = checksum == "true";

    poll_interval_ = milliseconds(IntSetting("poll_interval_ms", 200, 50, 10000));
    reply_timeout_ = milliseconds(IntSetting("reply_timeout_ms", 1000, 50, 60000));
    const int64_t live = IntSetting("live_interval_ms", 500, 0, 60000);
    if (live != 0 && live < 50)
      throw std::invalid_argument("setting 'live_interval_ms' must be 0 (off) or 50..60000");
    live_interval_ = milliseconds(live);
    wb::StableSettings stable;
    stable.tolerance_kg = DoubleSetting("stable_tolerance_kg", 20, 0.001, 10000);
    stable.window = milliseconds(IntSetting("stable_window_ms", 1500, 100, 600000));
    stable.min_weight_kg = DoubleSetting("min_weight_kg", 200, 0, 1e6);
    scale_ = h.ConfigOr("scale", h.instance_name());
    if (scale_.empty()) throw std::invalid_argument("setting 'scale' must not be empty");

    session_ = std::make_unique<wb::SicsSession>(reply_timeout_);
    detector_ = std::make_unique<wb::StableWeightDetector>(stable);
    framer_ = std::make_unique<wb::ToledoFramer>(checksum_);
    model_ = kordon::device::MakeDeviceModel(*this, kDeviceKind, spec_.text);
  }

  ~Weighbridge() override {
    if (link_) link_->Stop();
  }

  kordon::Status Start() override {
    if (link_) return kordon::Status::Ok();
    const milliseconds tick = std::clamp(std::min(poll_interval_, reply_timeout_) / 4,
                                         milliseconds(10), milliseconds(50));
    kordon::TimerId id = 0;
    kordon::Status s = host().StartTimer(tick, tick, [this] { OnTick(); }, &id);
    if (!s.ok()) return s;
    timer_ = id;

    kordon::device::LinkOptions options;
    options.raw = !sics_;  // Toledo: the checksum byte follows the CR; framed by STX + length
    options.terminator = '\n';  // SICS lines end CR LF; Write appends CR LF
    options.max_line_bytes = wb::kMaxSicsLine * 2;
    kordon::device::LinkCallbacks callbacks;
    callbacks.on_line = [this](std::string_view line) { OnSicsLine(line); };
    callbacks.on_bytes = [this](std::string_view bytes) { OnToledoBytes(bytes); };
    callbacks.on_state = [this](LinkState state, std::string_view reason) {
      OnLinkState(state, reason);
    };
    callbacks.on_error = [this](std::string_view error) {
      std::lock_guard<std::mutex> lock(mutex_);
      Failure("link: " + std::string(error), "");
    };
    link_ = std::make_unique<kordon::device::DeviceLink>(spec_, options, std::move(callbacks));
    std::string error;
    if (!link_->Start(&error)) {
      link_.reset();
      CancelTimer();
      return kordon::Status::Failed("cannot start the link " + spec_.text + ": " + error);
    }
    host().Info("scale " + scale_ + " on " + spec_.text + ", " +
                (sics_ ? "MT-SICS polled every " + std::to_string(poll_interval_.count()) + " ms"
                       : std::string("Toledo continuous output") +
                             (checksum_ ? " with checksum" : " without checksum")));
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (!link_) return kordon::Status::Ok();
    link_->Stop();  // no callback runs after this
    link_.reset();
    CancelTimer();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      FailCommands("the plugin stopped");
    }
    model_->SetState(DeviceState::kClosed, "stopped");
    host().Info("scale " + scale_ + ": " + model_->Health().summary + "; " +
                std::to_string(errors_published_.load()) + " scale.error published");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == kordon::device::kStatusRequestTopic) {  // the health check
      model_->AnswerStatusRequest(m.body());
      return kordon::Status::Ok();
    }
    // Subscriptions match prefixes: scale.command.result comes here too; only commands count.
    if (m.topic() != wb::kCommandTopic) return kordon::Status::Ok();
    std::string error;
    std::optional<wb::ScaleCommand> command = wb::ParseCommandBody(m.body(), &error);
    if (!command) {
      ++bad_commands_;
      host().Warn("scale.command " + std::string(m.id()) + " ignored: " + error + " (" +
                  std::to_string(bad_commands_.load()) + " so far)");
      return kordon::Status::Ok();
    }
    if (command->scale != scale_) return kordon::Status::Ok();  // another weighbridge's
    const std::string id(m.id());
    const std::string text = command->command == "zero" ? "Z" : "T";
    if (!sics_ && link_) {
      // The Toledo continuous output takes "Z" / "T" + CR LF but acknowledges nothing. The
      // write happens outside the lock: it may wait for the device.
      std::string why;
      const bool ok = link_->Write(text, &why);
      std::lock_guard<std::mutex> lock(mutex_);
      PublishResult(command->command, id, ok, ok ? "sent" : "failed",
                    ok ? "sent; the Toledo continuous output does not acknowledge commands"
                       : "not sent: " + why);
      return kordon::Status::Ok();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (!connected_) {
      PublishResult(command->command, id, false, "failed", "the scale is not connected");
      return kordon::Status::Ok();
    }
    if (queued_.size() >= kMaxQueuedCommands) {
      PublishResult(command->command, id, false, "rejected",
                    "too many commands waiting for the scale");
      return kordon::Status::Ok();
    }
    queued_.push_back({text, id});
    return kordon::Status::Ok();
  }

 private:
  int64_t IntSetting(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
    const int64_t v = host().ConfigInt(key, fallback);
    if (v < min || v > max)
      throw std::invalid_argument("setting '" + key + "' must be between " +
                                  std::to_string(min) + " and " + std::to_string(max) +
                                  ", got " + std::to_string(v));
    return v;
  }

  double DoubleSetting(const std::string& key, double fallback, double min, double max) {
    const std::optional<std::string> text = host().Config(key);
    if (!text) return fallback;
    const std::optional<double> v = wb::ParseWeightValue(*text);
    if (!v || *v < min || *v > max)
      throw std::invalid_argument("setting '" + key + "' must be a number between " +
                                  std::to_string(min) + " and " + std::to_string(max) +
                                  ", got '" + *text + "'");
    return *v;
  }

  void CancelTimer() {
    if (!timer_) return;
    kordon::Status s = host().CancelTimer(*timer_);
    if (!s.ok()) host().Warn("cancelling the tick timer: " + s.ToString());
    timer_.reset();
  }

  static std::string CommandName(std::string_view text) { return text == "Z" ? "zero" : "tare"; }

  // ---- instance thread ----------------------------------------------------------------------

  void OnTick() {
    const Clock::time_point now = Clock::now();
    std::optional<std::string> to_send;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!connected_) return;
      if (!sics_) {
        if (now - last_frame_ >= reply_timeout_) {
          last_frame_ = now;  // one report per silent period
          ++silent_periods_;
          Failure("no frame within " + std::to_string(reply_timeout_.count()) + " ms", "",
                  silent_periods_ >= kFailuresForError, /*silence=*/true);
        }
        return;
      }
      if (std::optional<wb::SicsSession::Command> expired = session_->Expire(now)) {
        const std::string why = "no reply to " + expired->text + " within " +
                                std::to_string(reply_timeout_.count()) + " ms";
        if (!expired->tag.empty())
          PublishResult(CommandName(expired->text), expired->tag, false, "timeout", why);
        Failure(why, "", session_->consecutive_timeouts() >= kFailuresForError,
                /*silence=*/true);
      }
      if (!session_->CanSend(now)) return;
      wb::SicsSession::Command command;
      if (!queued_.empty()) {
        command = std::move(queued_.front());
        queued_.pop_front();
      } else if (now >= next_poll_) {
        command = {"SI", ""};
        next_poll_ = now + poll_interval_;
      } else {
        return;
      }
      to_send = command.text;
      session_->Sent(std::move(command), now);
    }
    std::string why;
    if (link_->Write(*to_send, &why)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<wb::SicsSession::Command> failed = session_->FailOutstanding();
    if (failed && !failed->tag.empty())
      PublishResult(CommandName(failed->text), failed->tag, false, "failed", "write: " + why);
    Failure("cannot send " + *to_send + ": " + why, "", false, /*silence=*/true);
  }

  // ---- link thread ---------------------------------------------------------------------------

  void OnLinkState(LinkState state, std::string_view reason) {
    switch (state) {
      case LinkState::kConnecting:
        model_->SetState(DeviceState::kOffline, "connecting to " + spec_.text);
        break;
      case LinkState::kConnected: {
        if (connected_before_) model_->CountReconnect();
        connected_before_ = true;
        std::lock_guard<std::mutex> lock(mutex_);
        connected_ = true;
        failures_ = 0;
        silent_periods_ = 0;
        last_frame_ = Clock::now();
        next_poll_ = Clock::now();
        framer_->Reset();
        model_->SetState(DeviceState::kIdle, "connected to " + spec_.text);
        break;
      }
      case LinkState::kDisconnected: {
        model_->CountError();
        std::lock_guard<std::mutex> lock(mutex_);
        connected_ = false;
        FailCommands("the link dropped: " + std::string(reason));
        detector_->Interrupt();
        model_->SetState(DeviceState::kOffline, reason);
        break;
      }
      case LinkState::kStopped: break;  // Stop reports kClosed
    }
  }

  void OnSicsLine(std::string_view line) {
    model_->CountLine(line.size());
    const Clock::time_point now = Clock::now();
    const wb::SicsReply reply = wb::ParseSicsReply(line);
    std::lock_guard<std::mutex> lock(mutex_);
    using Outcome = wb::SicsSession::ReplyOutcome;
    const Outcome outcome = session_->OnReply(reply, now);
    if (outcome.kind != Outcome::Kind::kAnswer) {
      // Not taken as anyone's answer; reported, but the scale is talking, so no failure streak.
      CountAndPublishError(outcome.kind == Outcome::Kind::kLate
                               ? "late reply discarded (its command had timed out)"
                               : "unsolicited reply discarded",
                           line);
      return;
    }
    const wb::SicsSession::Command& command = *outcome.command;
    if (!command.tag.empty()) {
      CommandAnswered(command, reply, line);
      return;
    }
    switch (reply.kind) {
      case wb::SicsReply::Kind::kWeight:
      case wb::SicsReply::Kind::kNotReady:
      case wb::SicsReply::Kind::kOverload:
      case wb::SicsReply::Kind::kUnderload:
        HandleReading(reply.reading, line, now);
        break;
      case wb::SicsReply::Kind::kInvalid:
        Failure("bad reply to SI: " + reply.error, line);
        break;
      default:
        Failure(std::string("the scale answered SI with ") + wb::SicsKindName(reply.kind), line);
        break;
    }
  }

  void OnToledoBytes(std::string_view bytes) {
    model_->CountBytes(bytes.size());
    const Clock::time_point now = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    framer_->Feed(
        bytes,
        [&](std::string_view frame) {
          last_frame_ = now;
          silent_periods_ = 0;
          std::string error;
          std::optional<wb::ToledoFrame> f = wb::ParseToledoFrame(frame, checksum_, &error);
          if (!f) {
            Failure("bad frame: " + error, frame);
            return;
          }
          HandleReading(f->reading, frame, now);
        },
        [&](std::string_view garbage, std::string_view why) {
          Failure(std::string(why), garbage.substr(0, 64));
        });
  }

  // ---- shared, REQUIRES: mutex_ held ----------------------------------------------------------

  void HandleReading(const wb::Reading& reading, std::string_view frame, Clock::time_point now) {
    failures_ = 0;
    const char* status = wb::ScaleStatusName(reading.status);
    switch (reading.status) {
      case wb::ScaleStatus::kOk: model_->SetState(DeviceState::kIdle, "weight ok"); break;
      case wb::ScaleStatus::kMotion:
      case wb::ScaleStatus::kNotReady: model_->SetState(DeviceState::kBusy, status); break;
      case wb::ScaleStatus::kOverload:
      case wb::ScaleStatus::kUnderload: model_->SetState(DeviceState::kError, status); break;
    }
    const wb::StableWeightDetector::Events events = detector_->Add(reading, frame, now);
    if (live_interval_.count() > 0 &&
        (!last_live_ || now - *last_live_ >= live_interval_ || reading.status != last_status_)) {
      last_live_ = now;
      Publish(wb::kLiveTopic, wb::LiveBody(scale_, reading, frame));
    }
    last_status_ = reading.status;
    if (events.cleared)
      Publish(wb::kClearedTopic, wb::ClearedBody(scale_, detector_->vehicle_seq()));
    if (events.stable) {
      if (Publish(wb::kStableTopic, wb::StableBody(scale_, *events.stable))) model_->CountRead();
      host().Info("scale " + scale_ + ": vehicle " + std::to_string(events.stable->vehicle_seq) +
                  " stable at " + events.stable->raw_value + " " + events.stable->raw_unit);
    }
  }

  // A bad reply / frame / timeout: counted and published as scale.error. kFailuresForError in
  // a row (or `now_error`) make the device state error and restart the stable window. A single
  // bad frame between good ones does not: the good ones are checked (checksum, digits), and
  // line noise on a long cable must not keep a truck from ever being weighed. A silence
  // always restarts it (`silence`): a stable weight needs readings all through its window.
  void Failure(const std::string& reason, std::string_view frame, bool now_error = false,
               bool silence = false) {
    CountAndPublishError(reason, frame);
    ++failures_;
    if (silence) detector_->Interrupt();
    if (now_error || failures_ >= kFailuresForError) {
      detector_->Interrupt();
      const bool silent = reason.rfind("no ", 0) == 0;  // "no reply…", "no frame…"
      model_->SetState(DeviceState::kError,
                       silent ? "scale not answering: " + reason
                              : std::to_string(failures_) + " failures in a row: " + reason);
    }
  }

  void CountAndPublishError(const std::string& reason, std::string_view frame) {
    model_->CountError();
    host().Warn("scale " + scale_ + ": " + reason +
                (frame.empty() ? "" : " [" + wb::EscapeFrame(frame.substr(0, 64)) + "]"));
    if (Publish(wb::kErrorTopic, wb::ErrorBody(scale_, reason, frame))) ++errors_published_;
  }

  void CommandAnswered(const wb::SicsSession::Command& command, const wb::SicsReply& reply,
                       std::string_view line) {
    const std::string name = CommandName(command.text);
    using K = wb::SicsReply::Kind;
    switch (reply.kind) {
      case K::kWeight:  // T S <tare> <unit>
        PublishResult(name, command.tag, true, "done", wb::EscapeFrame(line), reply.reading.kg);
        break;
      case K::kDone: PublishResult(name, command.tag, true, "done", wb::EscapeFrame(line)); break;
      case K::kNotReady:
      case K::kOverload:
      case K::kUnderload:
        PublishResult(name, command.tag, false, wb::SicsKindName(reply.kind),
                      wb::EscapeFrame(line));
        break;
      default:
        PublishResult(name, command.tag, false, "failed",
                      std::string(wb::SicsKindName(reply.kind)) + ": " + wb::EscapeFrame(line));
        CountAndPublishError("bad reply to " + command.text + ": " +
                                 (reply.error.empty() ? wb::SicsKindName(reply.kind) : reply.error),
                             line);
        break;
    }
  }

  void FailCommands(const std::string& why) {
    std::optional<wb::SicsSession::Command> failed = session_->FailOutstanding();
    if (failed && !failed->tag.empty())
      PublishResult(CommandName(failed->text), failed->tag, false, "failed", why);
    for (const wb::SicsSession::Command& c : queued_)
      PublishResult(CommandName(c.text), c.tag, false, "failed", why);
    queued_.clear();
  }

  void PublishResult(const std::string& command, const std::string& request_id, bool ok,
                     std::string_view result, std::string_view detail,
                     std::optional<double> tare_kg = {}) {
    Publish(wb::kCommandResultTopic,
            wb::CommandResultBody(scale_, command, request_id, ok, result, detail, tare_kg));
  }

  bool Publish(std::string_view topic, const std::string& body) {
    kordon::Status s = host().Publish(topic, body);
    if (s.ok()) return true;
    host().Warn(std::string(topic) + " not published: " + s.ToString() + " (" +
                std::to_string(++publish_failures_) + " failed so far)");
    return false;
  }

  kordon::device::LinkSpec spec_;
  bool sics_ = true;
  bool checksum_ = true;
  milliseconds poll_interval_{200};
  milliseconds reply_timeout_{1000};
  milliseconds live_interval_{500};
  std::string scale_;
  std::unique_ptr<kordon::device::DeviceModel> model_;
  std::unique_ptr<kordon::device::DeviceLink> link_;  // while started
  std::optional<kordon::TimerId> timer_;
  bool connected_before_ = false;  // link thread only
  std::atomic<uint64_t> bad_commands_{0};
  std::atomic<uint64_t> errors_published_{0};
  std::atomic<uint64_t> publish_failures_{0};

  std::mutex mutex_;
  bool connected_ = false;                                 // GUARDED_BY(mutex_)
  std::unique_ptr<wb::SicsSession> session_;               // GUARDED_BY(mutex_)
  std::deque<wb::SicsSession::Command> queued_;            // GUARDED_BY(mutex_)
  std::unique_ptr<wb::StableWeightDetector> detector_;     // GUARDED_BY(mutex_)
  std::unique_ptr<wb::ToledoFramer> framer_;               // GUARDED_BY(mutex_)
  int failures_ = 0;                                       // GUARDED_BY(mutex_)
  int silent_periods_ = 0;                                 // GUARDED_BY(mutex_)
  Clock::time_point last_frame_{};                         // GUARDED_BY(mutex_)
  Clock::time_point next_poll_{};                          // GUARDED_BY(mutex_)
  std::optional<Clock::time_point> last_live_;             // GUARDED_BY(mutex_)
  wb::ScaleStatus last_status_ = wb::ScaleStatus::kOk;     // GUARDED_BY(mutex_)
};

}  // namespace

KORDON_PLUGIN(Weighbridge, {.name = "weighbridge",
                            .kind = KORDON_KIND_SCALE,
                            .vendor = "Kordon",
                            .version = "0.1.0",
                            .description = "Truck weighbridge (MT-SICS or Toledo continuous) -> "
                                           "scale.weight.live / .stable / .cleared, scale.error, "
                                           "device.status; zero / tare via scale.command",
                            .publishes = {wb::kLiveTopic, wb::kStableTopic, wb::kClearedTopic,
                                          wb::kErrorTopic, wb::kCommandResultTopic,
                                          kordon::device::kStatusTopic},
                            .subscribes = {wb::kCommandTopic,
                                           kordon::device::kStatusRequestTopic},
                            .services = {}})
