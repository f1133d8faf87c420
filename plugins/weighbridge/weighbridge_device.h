// weighbridge_device.h — the device side of a weighbridge, for simulators: MT-SICS reply and
// Toledo continuous frame encoders, and a truck weight profile (empty bridge, a truck drives
// on with motion, settles with small noise, holds, drives off). Used by kordon-weighbridge-sim
// and reusable by a site simulator (static library kordon_weighbridge_device).
//
// Thread safety: the encoders are pure; a TruckProfile is a plain value (one thread).
#ifndef KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_DEVICE_H_
#define KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_DEVICE_H_

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::weighbridge::device {

// "S S     18450 kg" (stable) / "S D …" (dynamic): value formatted with `decimals` places,
// right-aligned in a 10-character field as MT-SICS does, then the unit. No CR LF.
std::string SicsWeightReply(std::string_view id, bool stable, double value, int decimals,
                            std::string_view unit);

// What a Toledo frame says; see the status bit table in README.md.
struct ToledoFields {
  int decimal_code = 2;    // status A bits 0-2: 0 = x100, 1 = x10, 2 = x1, 3 = x0.1 … 7
  int increment_code = 1;  // status A bits 3-4: 1 = 1, 2 = 2, 3 = 5
  bool net = false;
  bool negative = false;
  bool out_of_range = false;
  bool motion = false;
  bool kg = true;
  bool power_up = false;
  bool print_request = false;
  uint32_t weight_digits = 0;  // the six weight digits as a number (0..999999)
  uint32_t tare_digits = 0;
};

// STX, SWA, SWB, SWC, 6 weight digits, 6 tare digits, CR, and the checksum byte when
// `checksum`. Status bytes carry the always-1 bit 5 of every status word; bit 7 (parity) is 0.
std::string ToledoFrameBytes(const ToledoFields& fields, bool checksum);

// A truck weight profile, cycling through `vehicles_kg`.
struct TruckProfileOptions {
  std::vector<double> vehicles_kg = {18450, 32100};
  std::chrono::milliseconds empty{1500};  // bridge empty between trucks
  std::chrono::milliseconds ramp{1500};   // driving on (and off), with motion
  std::chrono::milliseconds hold{4000};   // settled
  double noise_kg = 5;                     // +- while settled (within a 20 kg tolerance)
  uint64_t seed = 1;
};

struct ProfilePoint {
  double kg = 0;
  bool motion = false;
  size_t vehicle = 0;  // index into vehicles_kg of the current (or next) truck
};

class TruckProfile {
 public:
  explicit TruckProfile(TruckProfileOptions options);
  // The weight at `elapsed` since the start of the run (non-decreasing calls).
  ProfilePoint At(std::chrono::milliseconds elapsed);

 private:
  TruckProfileOptions options_;
  std::mt19937_64 random_;
};

}  // namespace kordon::weighbridge::device

#endif  // KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_DEVICE_H_
