// site_weighbridge.h — the simulated weighbridges of kordon-site-sim: a bridge whose weight
// follows the trucks driving on and off (DriveOn / DriveOff from the site's timeline), served
// as Mettler Toledo MT-SICS (answers SI, S, SIR-less polling, Z, T, @, I4; ES otherwise) or as
// Toledo continuous output (a frame every 100 ms to every client). The bytes come from
// plugins/weighbridge/weighbridge_device.h, the same encoders kordon-weighbridge-sim uses.
//
// Thread safety: none; the simulator's one thread.
#ifndef KORDON_PLUGINS_SITE_SIM_SITE_WEIGHBRIDGE_H_
#define KORDON_PLUGINS_SITE_SIM_SITE_WEIGHBRIDGE_H_

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "site_devices.h"

namespace kordon::sim {

class Weighbridge : public Endpoint {
 public:
  enum class Protocol { kSics, kToledoContinuous };

  Weighbridge(std::string lane, std::string device, Protocol protocol, uint64_t seed);

  // A truck of `kg` drives on: the weight ramps from the current weight over `ramp`, in
  // motion, then settles with a little noise (within 10 kg).
  void DriveOn(double kg, std::chrono::milliseconds ramp);
  // The truck drives off: the weight ramps down to zero over `ramp`, in motion.
  void DriveOff(std::chrono::milliseconds ramp);

  Clock::time_point Tick(Clock::time_point now) override;

 protected:
  void OnLine(int fd, std::string_view line) override;

 private:
  struct Reading {
    double kg = 0;
    bool motion = false;
  };
  Reading Now();

  Protocol protocol_;
  std::mt19937_64 random_;
  double from_kg_ = 0;
  double to_kg_ = 0;
  Clock::time_point ramp_start_{};
  std::chrono::milliseconds ramp_{0};
  double tare_kg_ = 0;
  Clock::time_point next_frame_{};
};

}  // namespace kordon::sim

#endif  // KORDON_PLUGINS_SITE_SIM_SITE_WEIGHBRIDGE_H_
