// stable_weight.h — decides when a vehicle on the weighbridge has settled, from the device's
// own motion flag and a window of readings; pure and clock-injected (times are given), so it
// is unit-tested without sockets or sleeps. See README.md ("Stable weight").
//
// Thread safety: a plain value; one thread at a time (the plugin guards it with its mutex).
#ifndef KORDON_PLUGINS_WEIGHBRIDGE_STABLE_WEIGHT_H_
#define KORDON_PLUGINS_WEIGHBRIDGE_STABLE_WEIGHT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "weighbridge.h"

namespace kordon::weighbridge {

struct StableSettings {
  double tolerance_kg = 20;
  std::chrono::milliseconds window{1500};
  double min_weight_kg = 200;
};

// A settled vehicle weight: what scale.weight.stable says.
struct StableWeight {
  double kg = 0;  // the last reading of the window: a value the scale displayed
  double tare_kg = 0;
  bool net = false;
  int64_t window_ms = 0;  // from the first to the last reading of the window
  uint64_t readings = 0;
  double min_kg = 0;
  double max_kg = 0;
  std::string raw_value;
  std::string raw_unit;
  std::string frame;  // the last reading's frame / reply, escaped
  uint64_t vehicle_seq = 0;
};

class StableWeightDetector {
 public:
  using Clock = std::chrono::steady_clock;

  struct Events {
    std::optional<StableWeight> stable;
    bool cleared = false;  // the bridge emptied (was above min_weight_kg, now below)
  };

  explicit StableWeightDetector(StableSettings settings) : settings_(settings) {}

  // One reading at `now` (readings come in time order). `frame` is kept for the event.
  Events Add(const Reading& reading, std::string_view frame, Clock::time_point now);
  // The readings stopped or went bad (timeout, bad frame, link drop): the window restarts,
  // the vehicle is kept (a stable weight needs a fresh, unbroken window).
  void Interrupt() { window_.reset(); }

  bool vehicle_present() const { return vehicle_present_; }
  uint64_t vehicle_seq() const { return vehicle_seq_; }

 private:
  struct Window {
    Clock::time_point first;
    Clock::time_point last;
    uint64_t readings = 0;
    double min_kg = 0;
    double max_kg = 0;
  };

  const StableSettings settings_;
  std::optional<Window> window_;
  bool vehicle_present_ = false;
  uint64_t vehicle_seq_ = 0;
  std::optional<double> published_kg_;  // the last stable weight of the present vehicle
};

}  // namespace kordon::weighbridge

#endif  // KORDON_PLUGINS_WEIGHBRIDGE_STABLE_WEIGHT_H_
