// site_weighbridge.cpp — see site_weighbridge.h.
#include "site_weighbridge.h"

#include <algorithm>
#include <cmath>

#include "weighbridge_device.h"

namespace kordon::sim {

namespace wd = kordon::weighbridge::device;

Weighbridge::Weighbridge(std::string lane, std::string device, Protocol protocol, uint64_t seed)
    : Endpoint(std::move(lane), std::move(device)), protocol_(protocol), random_(seed) {}

void Weighbridge::DriveOn(double kg, std::chrono::milliseconds ramp) {
  from_kg_ = Now().kg;
  to_kg_ = kg;
  ramp_start_ = Clock::now();
  ramp_ = ramp;
}

void Weighbridge::DriveOff(std::chrono::milliseconds ramp) { DriveOn(0, ramp); }

Weighbridge::Reading Weighbridge::Now() {
  const auto elapsed = Clock::now() - ramp_start_;
  Reading r;
  if (elapsed < ramp_) {
    const double f = std::chrono::duration<double>(elapsed) / std::chrono::duration<double>(ramp_);
    // A truck rolls on axle by axle: the weight climbs in steps, with the bridge swinging.
    const double steps = std::floor(f * 4) / 4 + 0.25 * std::sin(f * 40) * 0.2;
    r.kg = from_kg_ + (to_kg_ - from_kg_) * std::clamp(steps, 0.0, 1.0);
    r.motion = true;
  } else {
    r.kg = to_kg_;
    // Settled: now and then the display flickers by one 10 kg step.
    if (to_kg_ > 0) {
      const double u = std::uniform_real_distribution<double>(0, 1)(random_);
      r.kg += u < 0.1 ? -10 : u > 0.9 ? 10 : 0;
    }
  }
  r.kg = std::round(r.kg / 10) * 10;  // a weighbridge shows 10 kg steps
  return r;
}

void Weighbridge::OnLine(int fd, std::string_view line) {
  if (protocol_ != Protocol::kSics) return;  // a continuous-output terminal ignores input
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  const Reading r = Now();
  std::string reply;
  if (line == "SI") {
    reply = wd::SicsWeightReply("S", !r.motion, r.kg - tare_kg_, 0, "kg");
  } else if (line == "S") {
    // "S" waits for a stable weight; the simulator answers at once while settled and with
    // "S I" (not executable now) while in motion, which a real terminal does after its timeout.
    reply = r.motion ? "S I" : wd::SicsWeightReply("S", true, r.kg - tare_kg_, 0, "kg");
  } else if (line == "Z") {
    reply = r.motion ? "Z I" : r.kg > 2000 ? "Z +" : "Z A";  // zero only an (almost) empty bridge
  } else if (line == "T") {
    if (r.motion) {
      reply = "T I";
    } else {
      tare_kg_ = r.kg;
      reply = wd::SicsWeightReply("T", true, tare_kg_, 0, "kg");
    }
  } else if (line == "TAC") {
    tare_kg_ = 0;
    reply = "TAC A";
  } else if (line == "@") {
    tare_kg_ = 0;
    reply = "I4 A \"0123456789\"";
  } else if (line == "I4") {
    reply = "I4 A \"0123456789\"";
  } else {
    reply = "ES";
  }
  Send(fd, reply + "\r\n");
}

Clock::time_point Weighbridge::Tick(Clock::time_point now) {
  if (protocol_ != Protocol::kToledoContinuous) return now + std::chrono::seconds(1);
  if (now >= next_frame_) {
    if (clients() > 0) {
      const Reading r = Now();
      wd::ToledoFields f;
      f.decimal_code = 2;  // x1: kilograms as whole numbers
      f.increment_code = 1;
      f.kg = true;
      f.motion = r.motion;
      f.weight_digits = static_cast<uint32_t>(std::clamp(r.kg, 0.0, 999999.0));
      Broadcast(wd::ToledoFrameBytes(f, /*checksum=*/true));
    }
    next_frame_ = now + std::chrono::milliseconds(100);
  }
  return next_frame_;
}

}  // namespace kordon::sim
