// weighbridge_device.cpp — weighbridge device encoders and truck profile (see the header).
#include "weighbridge_device.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "weighbridge.h"

namespace kordon::weighbridge::device {

std::string SicsWeightReply(std::string_view id, bool stable, double value, int decimals,
                            std::string_view unit) {
  char number[64];
  std::snprintf(number, sizeof number, "%10.*f", std::clamp(decimals, 0, 6), value);
  std::string out(id);
  out += stable ? " S " : " D ";
  out += number;
  out += ' ';
  out += unit;
  return out;
}

std::string ToledoFrameBytes(const ToledoFields& f, bool checksum) {
  const auto bit = [](bool on, int n) { return on ? (1 << n) : 0; };
  const char a = static_cast<char>(0x20 | (f.decimal_code & 7) | ((f.increment_code & 3) << 3));
  const char b = static_cast<char>(0x20 | bit(f.net, 0) | bit(f.negative, 1) |
                                   bit(f.out_of_range, 2) | bit(f.motion, 3) | bit(f.kg, 4) |
                                   bit(f.power_up, 6));
  const char c = static_cast<char>(0x20 | bit(f.print_request, 3));
  char digits[16];
  std::snprintf(digits, sizeof digits, "%06u%06u", static_cast<unsigned>(f.weight_digits % 1000000),
                static_cast<unsigned>(f.tare_digits % 1000000));
  std::string out;
  out += kordon::weighbridge::kStx;
  out += a;
  out += b;
  out += c;
  out += digits;
  out += kordon::weighbridge::kCr;
  if (checksum) out += static_cast<char>(kordon::weighbridge::ToledoChecksum(out));
  return out;
}

TruckProfile::TruckProfile(TruckProfileOptions options)
    : options_(std::move(options)), random_(options_.seed) {
  if (options_.vehicles_kg.empty()) options_.vehicles_kg = {18450};
}

ProfilePoint TruckProfile::At(std::chrono::milliseconds elapsed) {
  const int64_t empty = options_.empty.count(), ramp = std::max<int64_t>(1, options_.ramp.count());
  const int64_t hold = options_.hold.count();
  const int64_t cycle = empty + 2 * ramp + hold;
  const int64_t n = elapsed.count() / cycle;
  const int64_t t = elapsed.count() % cycle;
  ProfilePoint p;
  p.vehicle = static_cast<size_t>(n) % options_.vehicles_kg.size();
  const double target = options_.vehicles_kg[p.vehicle];
  std::uniform_real_distribution<double> noise(-options_.noise_kg, options_.noise_kg);
  if (t < empty) {
    p.kg = 0;
  } else if (t < empty + ramp) {
    // Axle by axle: the weight climbs in steps, and the bridge rocks.
    const double f = static_cast<double>(t - empty) / static_cast<double>(ramp);
    const double axles = std::min(1.0, std::floor(f * 4 + 1) / 4);
    p.kg = target * axles * (0.9 + 0.1 * f) + noise(random_) * 20;
    p.motion = true;
  } else if (t < empty + ramp + hold) {
    p.kg = target + noise(random_);
  } else {
    const double f = static_cast<double>(t - empty - ramp - hold) / static_cast<double>(ramp);
    p.kg = std::max(0.0, target * (1 - f)) + noise(random_) * 20;
    p.motion = true;
  }
  p.kg = std::max(0.0, p.kg);
  return p;
}

}  // namespace kordon::weighbridge::device
