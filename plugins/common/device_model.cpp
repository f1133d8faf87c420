// device_model.cpp — see device_model.h.
#include "device_model.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

namespace kordon::device {

const char* DeviceStateName(DeviceState state) {
  switch (state) {
    case DeviceState::kClosed: return "closed";
    case DeviceState::kIdle: return "idle";
    case DeviceState::kBusy: return "busy";
    case DeviceState::kError: return "error";
    case DeviceState::kOffline: return "offline";
  }
  return "unknown";
}

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rfc3339(int64_t us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((us / 1000) % 1000));
  return out;
}

}  // namespace

std::string DeviceStatusBody(const DeviceStatus& status) {
  const bool healthy = status.state == DeviceState::kIdle || status.state == DeviceState::kBusy;
  const nlohmann::json body = {
      {"device", status.device},
      {"kind", status.kind},
      {"state", DeviceStateName(status.state)},
      {"previous", DeviceStateName(status.previous)},
      {"reason", status.reason},
      {"link", status.link},
      {"healthy", healthy},
      {"since", status.since_us > 0 ? nlohmann::json(Rfc3339(status.since_us)) : nlohmann::json()},
      {"requested", status.requested},
      {"stats",
       {{"lines_received", status.stats.lines_received},
        {"reads_published", status.stats.reads_published},
        {"errors", status.stats.errors},
        {"reconnects", status.stats.reconnects},
        {"bytes_received", status.stats.bytes_received}}},
  };
  // A device may send anything; the body must stay valid UTF-8 JSON.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

DeviceModel::DeviceModel(std::string device, std::string kind, std::string link,
                         Publisher publisher)
    : device_(std::move(device)),
      kind_(std::move(kind)),
      link_(std::move(link)),
      publisher_(std::move(publisher)) {}

bool DeviceModel::SetState(DeviceState state, std::string_view reason) {
  std::lock_guard lock(mutex_);
  if (state == state_) return false;
  previous_ = state_;
  state_ = state;
  reason_ = std::string(reason);
  since_us_ = NowMicros();
  if (publisher_) {
    DeviceStatus s{device_, kind_, state_, previous_, reason_, link_, stats(), since_us_, false};
    publisher_(kStatusTopic, DeviceStatusBody(s));
  }
  return true;
}

bool DeviceModel::AnswerStatusRequest(std::string_view request_body) {
  const nlohmann::json request = nlohmann::json::parse(request_body, nullptr, false);
  if (request.is_object()) {
    auto it = request.find("device");
    if (it != request.end() && (!it->is_string() || it->get<std::string>() != device_))
      return false;
  }
  std::lock_guard lock(mutex_);
  if (!publisher_) return false;
  DeviceStatus s{device_, kind_, state_, previous_, reason_, link_, stats(), since_us_, true};
  publisher_(kStatusTopic, DeviceStatusBody(s));
  return true;
}

void DeviceModel::CountLine(size_t bytes) {
  ++lines_received_;
  bytes_received_ += bytes;
}
void DeviceModel::CountBytes(size_t bytes) { bytes_received_ += bytes; }
void DeviceModel::CountRead() { ++reads_published_; }
void DeviceModel::CountError() { ++errors_; }
void DeviceModel::CountReconnect() { ++reconnects_; }

DeviceState DeviceModel::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

DeviceStats DeviceModel::stats() const {
  DeviceStats s;
  s.lines_received = lines_received_.load();
  s.reads_published = reads_published_.load();
  s.errors = errors_.load();
  s.reconnects = reconnects_.load();
  s.bytes_received = bytes_received_.load();
  return s;
}

DeviceStatus DeviceModel::status() const {
  std::lock_guard lock(mutex_);
  return DeviceStatus{device_, kind_, state_, previous_, reason_, link_, stats(), since_us_, false};
}

DeviceHealth DeviceModel::Health() const {
  const DeviceStatus s = status();
  DeviceHealth health;
  health.healthy = s.state == DeviceState::kIdle || s.state == DeviceState::kBusy;
  health.summary = std::string(DeviceStateName(s.state)) + " (" + s.reason + "); " +
                   std::to_string(s.stats.lines_received) + " lines, " +
                   std::to_string(s.stats.reads_published) + " reads, " +
                   std::to_string(s.stats.errors) + " errors, " +
                   std::to_string(s.stats.reconnects) + " reconnects, " +
                   std::to_string(s.stats.bytes_received) + " bytes";
  return health;
}

}  // namespace kordon::device
