// camera_plugin.h — the plugin glue shared by plate-reader and container-reader: settings, the
// device link and model, the heartbeat watchdog, and publishing what the plugin's pure message
// module makes of each feed line or scanner.*.raw body. Header-only (it needs the SDK, which
// kordon_device does not); included by exactly one source file per plugin.
//
// Traits (one struct per plugin) supply: kName (for logs), kRawTopic, kReadTopic,
// kRejectedTopic, kReadSchemaVersion, kDeviceKind, and
//   static camera::Outcome HandleLine(std::string_view line, const camera::Settings&);
//   static camera::Outcome HandleRawBody(std::string_view body, const camera::Settings&);
//
// Threading: the constructor, Start, Stop, OnMessage and the watchdog timer run on the
// instance's thread; the link's callbacks on its reader thread. The watchdog state (connected,
// last activity, silent) is shared between them and guarded by mutex_, which is also held
// while the matching device state is set, so a late timer tick cannot put an offline camera
// into "error". Host::Publish and DeviceModel are thread-safe.
#ifndef KORDON_PLUGINS_COMMON_CAMERA_PLUGIN_H_
#define KORDON_PLUGINS_COMMON_CAMERA_PLUGIN_H_

#include <kordon/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "camera_feed.h"
#include "device_link.h"
#include "device_model.h"
#include "device_plugin.h"
#include "utf8.h"

namespace kordon::camera {

inline constexpr int64_t kMaxHeartbeatTimeoutMs = 3'600'000;
inline constexpr int64_t kMinHeartbeatTimeoutMs = 100;

template <class Traits>
class CameraPlugin : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one, which
  // makes create fail with that message.
  explicit CameraPlugin(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    if (auto text = h.Config("link")) {
      std::string error;
      std::optional<device::LinkSpec> spec = device::ParseLinkString(*text, &error);
      if (!spec) throw std::invalid_argument("setting 'link': " + error);
      spec_ = std::move(*spec);
      settings_.link = spec_->text;
    }
    settings_.camera = h.ConfigOr("camera", h.instance_name());
    if (settings_.camera.empty()) throw std::invalid_argument("setting 'camera' must not be empty");
    if (!text::IsValidUtf8(settings_.camera))
      throw std::invalid_argument("setting 'camera' is not valid UTF-8");
    if (auto text = h.Config("min_confidence")) {
      double value = -1;
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value,
                                             std::chars_format::fixed);
      if (ec != std::errc() || end != text->data() + text->size() || !std::isfinite(value) ||
          value < 0 || value > 1)
        throw std::invalid_argument("setting 'min_confidence' must be a number from 0 to 1, "
                                    "got '" + *text + "'");
      settings_.min_confidence = value;
    }
    const int64_t ms = h.ConfigInt("heartbeat_timeout_ms", 0);
    if (ms != 0 && (ms < kMinHeartbeatTimeoutMs || ms > kMaxHeartbeatTimeoutMs))
      throw std::invalid_argument("setting 'heartbeat_timeout_ms' must be 0 (off) or between " +
                                  std::to_string(kMinHeartbeatTimeoutMs) + " and " +
                                  std::to_string(kMaxHeartbeatTimeoutMs) + ", got " +
                                  std::to_string(ms));
    if (ms != 0 && !spec_)
      throw std::invalid_argument("setting 'heartbeat_timeout_ms' needs the setting 'link'");
    heartbeat_timeout_ = std::chrono::milliseconds(ms);
    if (spec_) {
      model_ = device::MakeDeviceModel(*this, Traits::kDeviceKind, spec_->text);
    }
  }

  ~CameraPlugin() override {
    if (link_) link_->Stop();
  }

  kordon::Status Start() override {
    if (!spec_ || link_) return kordon::Status::Ok();
    if (heartbeat_timeout_.count() > 0) {
      const auto tick = std::clamp(heartbeat_timeout_ / 5, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(500));
      kordon::TimerId id = 0;
      kordon::Status s = host().StartTimer(
          tick, tick, [this] { Guarded("the heartbeat timer", [&] { CheckSilence(); }); }, &id);
      if (!s.ok()) return s;
      timer_ = id;
    }
    device::LinkOptions options;  // LF or CRLF, 4096 bytes
    device::LinkCallbacks callbacks;
    // The callbacks run on the link's thread, where an exception would end the process:
    // Guarded turns one (std::bad_alloc, a defect) into a counted, logged error.
    callbacks.on_line = [this](std::string_view line) {
      Guarded("a line", [&] { OnDeviceLine(line); });
    };
    callbacks.on_state = [this](device::LinkState state, std::string_view reason) {
      Guarded("a link state change", [&] { OnLinkState(state, reason); });
    };
    callbacks.on_error = [this](std::string_view error) {
      // An over-long line: its bytes are gone (the link never buffers them), so the
      // rejection quotes none.
      Guarded("an over-long line", [&] {
        model_->CountError();
        Publish(Outcome{Outcome::Kind::kRejected, Traits::kRejectedTopic,
                        RejectedBody(error, "", settings_.camera, settings_.link),
                        std::string(error)},
                nullptr);
      });
    };
    link_ = std::make_unique<device::DeviceLink>(*spec_, options, std::move(callbacks));
    std::string error;
    if (!link_->Start(&error)) {
      link_.reset();
      CancelTimer();
      return kordon::Status::Failed("cannot start the link " + spec_->text + ": " + error);
    }
    host().Info(std::string(Traits::kName) + " " + settings_.camera + " on " + spec_->text +
                (heartbeat_timeout_.count() > 0
                     ? ", silent after " + std::to_string(heartbeat_timeout_.count()) + " ms"
                     : std::string()));
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (!link_) return kordon::Status::Ok();
    link_->Stop();  // no callback runs after this
    link_.reset();
    CancelTimer();
    model_->SetState(device::DeviceState::kClosed, "stopped");
    host().Info(std::string(Traits::kName) + " " + settings_.camera + ": " +
                model_->Health().summary + ", " + std::to_string(heartbeats_.load()) +
                " heartbeats, " + std::to_string(rejected_.load()) + " lines rejected, " +
                std::to_string(failures_.load()) + " publish failures");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == device::kStatusRequestTopic) {  // the health check (device_model.h)
      if (model_) model_->AnswerStatusRequest(m.body());
      return kordon::Status::Ok();
    }
    // Subscriptions match prefixes; only the exact topic is manual entry.
    if (m.topic() != Traits::kRawTopic) return kordon::Status::Ok();
    Settings bus = settings_;
    bus.link.clear();
    const Outcome outcome = Traits::HandleRawBody(m.body(), bus);
    const std::string lane(m.lane());
    const std::string crossing_id(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing_id.empty()) options.crossing_id = crossing_id.c_str();
    Publish(outcome, &options);
    return kordon::Status::Ok();
  }

 private:
  using SteadyClock = std::chrono::steady_clock;

  void CancelTimer() {
    if (!timer_) return;
    kordon::Status s = host().CancelTimer(*timer_);
    if (!s.ok()) host().Warn("cancelling the heartbeat timer: " + s.ToString());
    timer_.reset();
  }

  // Runs fn; an exception from it is counted as a device error and logged, not propagated.
  template <class Fn>
  void Guarded(const char* what, Fn&& fn) noexcept {
    try {
      fn();
      return;
    } catch (const std::exception& e) {
      try {
        if (model_) model_->CountError();
        host().Error(std::string(Traits::kName) + ": handling " + what + " failed: " + e.what());
      } catch (...) {
      }
    } catch (...) {
      if (model_) model_->CountError();
    }
  }

  // Any thread. Publishes a read or a rejection (counted and logged); counts a heartbeat.
  // Returns true when a read went out.
  bool Publish(const Outcome& outcome, kordon::PublishOptions* given) {
    if (outcome.kind == Outcome::Kind::kHeartbeat) {
      ++heartbeats_;
      return false;
    }
    kordon::PublishOptions options = given ? *given : kordon::PublishOptions{};
    if (outcome.kind == Outcome::Kind::kRejected) {
      const uint64_t n = ++rejected_;
      host().Warn(std::string(Traits::kName) + " " + settings_.camera + ": rejected (" +
                  std::to_string(n) + " so far): " + outcome.detail);
    } else {
      options.schema_version = Traits::kReadSchemaVersion;
    }
    kordon::Status s = host().Publish(outcome.topic, outcome.body, options);
    if (!s.ok()) {
      const uint64_t n = ++failures_;
      host().Warn(outcome.topic + " not published: " + s.ToString() + " (" + std::to_string(n) +
                  " failed so far)");
      return false;
    }
    return outcome.kind == Outcome::Kind::kRead;
  }

  // Link thread.
  void OnDeviceLine(std::string_view line) {
    model_->CountLine(line.size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const SteadyClock::time_point now = SteadyClock::now();
      if (silent_) {
        silent_ = false;
        model_->SetState(device::DeviceState::kIdle,
                         "the camera sends again after " + Ms(now - last_activity_) + " ms");
      }
      last_activity_ = now;
    }
    const Outcome outcome = Traits::HandleLine(line, settings_);
    if (outcome.kind == Outcome::Kind::kRejected) model_->CountError();
    if (Publish(outcome, nullptr)) model_->CountRead();
  }

  // Link thread.
  void OnLinkState(device::LinkState state, std::string_view reason) {
    using device::DeviceState;
    using device::LinkState;
    std::lock_guard<std::mutex> lock(mutex_);
    switch (state) {
      case LinkState::kConnecting:
        model_->SetState(DeviceState::kOffline, "connecting to " + spec_->text);
        break;
      case LinkState::kConnected:
        if (connected_before_) model_->CountReconnect();
        connected_before_ = true;
        connected_ = true;
        silent_ = false;
        last_activity_ = SteadyClock::now();
        model_->SetState(DeviceState::kIdle, "connected to " + spec_->text);
        break;
      case LinkState::kDisconnected:
        connected_ = false;
        silent_ = false;
        model_->CountError();
        model_->SetState(DeviceState::kOffline, reason);
        break;
      case LinkState::kStopped: break;  // Stop reports kClosed
    }
  }

  // Instance thread (timer).
  void CheckSilence() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!connected_ || silent_) return;
    const auto quiet = SteadyClock::now() - last_activity_;
    if (quiet < heartbeat_timeout_) return;
    silent_ = true;
    model_->CountError();
    model_->SetState(device::DeviceState::kError, "camera silent for " + Ms(quiet) + " ms");
    host().Warn(std::string(Traits::kName) + " " + settings_.camera + ": no line for " +
                Ms(quiet) + " ms (heartbeat_timeout_ms " +
                std::to_string(heartbeat_timeout_.count()) + ")");
  }

  static std::string Ms(SteadyClock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  }

  std::optional<device::LinkSpec> spec_;  // set when `link` is
  Settings settings_;
  std::chrono::milliseconds heartbeat_timeout_{0};  // 0: off
  std::unique_ptr<device::DeviceModel> model_;       // set when `link` is
  std::unique_ptr<device::DeviceLink> link_;         // while started with a link
  std::optional<kordon::TimerId> timer_;
  std::atomic<uint64_t> heartbeats_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> failures_{0};

  std::mutex mutex_;
  bool connected_before_ = false;           // GUARDED_BY(mutex_)
  bool connected_ = false;                  // GUARDED_BY(mutex_)
  bool silent_ = false;                     // GUARDED_BY(mutex_): state error for silence
  SteadyClock::time_point last_activity_;  // GUARDED_BY(mutex_): last connect or line
};

}  // namespace kordon::camera

#endif  // KORDON_PLUGINS_COMMON_CAMERA_PLUGIN_H_
