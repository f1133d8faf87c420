// stable_weight.cpp — the stable-weight rule (see stable_weight.h and README.md).
#include "stable_weight.h"

#include <algorithm>
#include <cmath>

namespace kordon::weighbridge {

StableWeightDetector::Events StableWeightDetector::Add(const Reading& reading,
                                                       std::string_view frame,
                                                       Clock::time_point now) {
  Events events;
  // A status (overload, underload, not ready) is not a weight, and motion is not stable:
  // either breaks the window. Neither says the bridge is empty, so the vehicle stays.
  if (!reading.has_weight || reading.motion) {
    window_.reset();
    return events;
  }
  if (reading.kg < settings_.min_weight_kg) {
    window_.reset();
    if (vehicle_present_) {
      vehicle_present_ = false;
      published_kg_.reset();
      events.cleared = true;
    }
    return events;
  }
  if (!vehicle_present_) {
    vehicle_present_ = true;
    ++vehicle_seq_;
  }
  // The window holds readings that all lie within the tolerance of each other.
  if (window_ && std::max(window_->max_kg, reading.kg) - std::min(window_->min_kg, reading.kg) >
                     settings_.tolerance_kg)
    window_.reset();
  if (!window_) {
    window_ = Window{now, now, 0, reading.kg, reading.kg};
  }
  Window& w = *window_;
  w.last = now;
  ++w.readings;
  w.min_kg = std::min(w.min_kg, reading.kg);
  w.max_kg = std::max(w.max_kg, reading.kg);
  if (w.last - w.first < settings_.window) return events;
  // Settled. Once per vehicle, unless it settles again at a weight beyond the tolerance of the
  // one published (a second axle group drove on, a load was shifted).
  if (published_kg_ && std::fabs(reading.kg - *published_kg_) <= settings_.tolerance_kg)
    return events;
  published_kg_ = reading.kg;
  StableWeight s;
  s.kg = reading.kg;
  s.tare_kg = reading.tare_kg;
  s.net = reading.net;
  s.window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(w.last - w.first).count();
  s.readings = w.readings;
  s.min_kg = w.min_kg;
  s.max_kg = w.max_kg;
  s.raw_value = reading.raw_value;
  s.raw_unit = reading.raw_unit;
  s.frame = EscapeFrame(frame);
  s.vehicle_seq = vehicle_seq_;
  events.stable = std::move(s);
  return events;
}

}  // namespace kordon::weighbridge
