// device_model.h — the UnifiedPOS-style device model shared by the device plugins: a state
// (closed / idle / busy / error / offline), statistics counters, a health check, and the
// device.status body published on every state change. Independent of the SDK: publishing goes
// through a callback, so the model is testable without a host (see README.md).
//
// Thread safety: every member function is safe from any thread. Counters are atomics; state
// changes are serialised by one mutex, which is held while the publisher runs, so device.status
// bodies go out in the order of the changes. The publisher must not call back into the model.
#ifndef KORDON_PLUGINS_COMMON_DEVICE_MODEL_H_
#define KORDON_PLUGINS_COMMON_DEVICE_MODEL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace kordon::device {

inline constexpr char kStatusTopic[] = "device.status";
// A roll call: every device plugin answers it with its current device.status (requested: true).
// `kordon devices` and the console use it; the body is {} or {"device": NAME} for one device.
inline constexpr char kStatusRequestTopic[] = "device.status.request";

enum class DeviceState {
  kClosed,   // not opened (before start, after stop)
  kIdle,     // connected, ready
  kBusy,     // connected, working on a read or a command
  kError,    // connected but failing (e.g. the device reports a fault)
  kOffline,  // not reachable; the link retries on its own
};
const char* DeviceStateName(DeviceState state);

struct DeviceStats {
  uint64_t lines_received = 0;
  uint64_t reads_published = 0;
  uint64_t errors = 0;
  uint64_t reconnects = 0;
  uint64_t bytes_received = 0;
};

struct DeviceHealth {
  bool healthy = false;  // idle or busy
  std::string summary;   // one line for a log: "idle; 3 lines, 2 reads, 0 errors, ..."
};

// Everything a device.status body says.
struct DeviceStatus {
  std::string device;  // the instance name
  std::string kind;    // "plate-camera", "scale", ...
  DeviceState state = DeviceState::kClosed;
  DeviceState previous = DeviceState::kClosed;
  std::string reason;
  std::string link;    // the link string
  DeviceStats stats;
  int64_t since_us = 0;    // when the device entered `state` (µs since the Unix epoch, UTC)
  bool requested = false;  // this body answers a device.status.request, not a change
};

// The device.status body: {"device", "kind", "state", "previous", "reason", "link",
// "healthy" (state idle or busy), "since" (RFC 3339 UTC, when the state was entered),
// "requested", "stats": {"lines_received", "reads_published", "errors", "reconnects",
// "bytes_received"}}.
// Pure; never throws except std::bad_alloc. Text that is not UTF-8 is replaced, not refused.
std::string DeviceStatusBody(const DeviceStatus& status);

class DeviceModel {
 public:
  // Called with (kStatusTopic, body) on every state change.
  using Publisher = std::function<void(std::string_view topic, const std::string& body)>;

  // Starts in kClosed. Publishes nothing until the first change.
  DeviceModel(std::string device, std::string kind, std::string link, Publisher publisher);

  // Moves to `state` and publishes device.status. A move to the state the device is already
  // in publishes nothing and returns false (the reason is kept as it was).
  bool SetState(DeviceState state, std::string_view reason);

  // Publishes the current status as the answer to a device.status.request (requested: true),
  // whatever the state. `request_body` is the request's body: {} asks every device,
  // {"device": NAME} only this one (others ignore it). Returns whether it answered.
  bool AnswerStatusRequest(std::string_view request_body);

  void CountLine(size_t bytes);  // one line received, with its bytes
  void CountBytes(size_t bytes);  // bytes received outside lines (terminators, discarded)
  void CountRead();               // one read published
  void CountError();
  void CountReconnect();

  DeviceState state() const;
  DeviceStats stats() const;
  DeviceStatus status() const;
  DeviceHealth Health() const;

 private:
  const std::string device_;
  const std::string kind_;
  const std::string link_;
  const Publisher publisher_;

  mutable std::mutex mutex_;
  DeviceState state_ = DeviceState::kClosed;     // GUARDED_BY(mutex_)
  DeviceState previous_ = DeviceState::kClosed;  // GUARDED_BY(mutex_)
  std::string reason_ = "not opened";            // GUARDED_BY(mutex_)
  int64_t since_us_ = 0;                         // GUARDED_BY(mutex_)

  std::atomic<uint64_t> lines_received_{0};
  std::atomic<uint64_t> reads_published_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> bytes_received_{0};
};

}  // namespace kordon::device

#endif  // KORDON_PLUGINS_COMMON_DEVICE_MODEL_H_
