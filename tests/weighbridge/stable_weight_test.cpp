// Tests of the stable-weight rule (plugins/weighbridge/stable_weight.h), with an injected
// clock: settling, noise within and beyond the tolerance, the motion flag, statuses, the empty
// bridge, a second vehicle.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "stable_weight.h"

namespace {

using namespace kordon::weighbridge;
using std::chrono::milliseconds;
using Clock = StableWeightDetector::Clock;

Reading Weight(double kg, bool motion = false) {
  Reading r;
  r.has_weight = true;
  r.kg = kg;
  r.motion = motion;
  r.status = motion ? ScaleStatus::kMotion : ScaleStatus::kOk;
  r.raw_value = std::to_string(static_cast<int>(kg));
  r.raw_unit = "kg";
  return r;
}

Reading Status(ScaleStatus status) {
  Reading r;
  r.status = status;
  return r;
}

// Feeds readings every 100 ms from *now; returns the stable weights and counts clears.
struct Feeder {
  StableWeightDetector detector{StableSettings{20, milliseconds(1500), 200}};
  Clock::time_point now{};
  std::vector<StableWeight> stable;
  int cleared = 0;

  void Add(const Reading& r, int times = 1) {
    for (int i = 0; i < times; ++i) {
      auto events = detector.Add(r, "frame", now);
      if (events.stable) stable.push_back(*events.stable);
      cleared += events.cleared;
      now += milliseconds(100);
    }
  }
};

}  // namespace

TEST_SUITE("weighbridge") {

TEST_CASE("stable: a vehicle settles after the window and is published once") {
  Feeder f;
  f.Add(Weight(0), 5);
  f.Add(Weight(9000, true), 5);   // driving on
  f.Add(Weight(18450), 15);       // 0..1400 ms: not yet
  CHECK(f.stable.empty());
  f.Add(Weight(18450), 1);        // 1500 ms
  REQUIRE(f.stable.size() == 1);
  const StableWeight& s = f.stable[0];
  CHECK(s.kg == 18450);
  CHECK(s.window_ms == 1500);
  CHECK(s.readings == 16);
  CHECK(s.vehicle_seq == 1);
  CHECK(s.frame == "frame");
  f.Add(Weight(18455), 50);  // holds: no second publication
  CHECK(f.stable.size() == 1);
}

TEST_CASE("stable: noise within the tolerance settles, beyond it restarts the window") {
  Feeder f;
  for (int i = 0; i < 16; ++i) f.Add(Weight(18450 + (i % 2 ? 9 : -9)));
  REQUIRE(f.stable.size() == 1);
  CHECK(f.stable[0].min_kg == 18441);
  CHECK(f.stable[0].max_kg == 18459);

  Feeder g;
  for (int i = 0; i < 40; ++i) g.Add(Weight(18450 + (i % 2 ? 15 : -15)));  // spread 30 > 20
  CHECK(g.stable.empty());
}

TEST_CASE("stable: the device's motion flag and statuses break the window") {
  Feeder f;
  f.Add(Weight(18450), 10);
  f.Add(Weight(18450, true), 1);  // the device says motion, even at the same weight
  f.Add(Weight(18450), 15);
  CHECK(f.stable.empty());
  f.Add(Weight(18450), 1);
  CHECK(f.stable.size() == 1);

  for (ScaleStatus status :
       {ScaleStatus::kOverload, ScaleStatus::kUnderload, ScaleStatus::kNotReady}) {
    Feeder g;
    g.Add(Weight(18450), 10);
    g.Add(Status(status), 1);
    g.Add(Weight(18450), 15);
    CHECK(g.stable.empty());
    CHECK(g.cleared == 0);  // a status does not say the bridge is empty
  }

  Feeder h;
  h.Add(Weight(18450), 10);
  h.detector.Interrupt();  // a timeout or a bad frame
  h.Add(Weight(18450), 15);
  CHECK(h.stable.empty());
}

TEST_CASE("stable: an empty bridge is not a vehicle; clearing starts a new vehicle") {
  Feeder f;
  f.Add(Weight(150), 40);  // below min_weight_kg
  CHECK(f.stable.empty());
  CHECK(f.cleared == 0);

  f.Add(Weight(18450), 16);
  REQUIRE(f.stable.size() == 1);
  f.Add(Weight(0), 1);
  CHECK(f.cleared == 1);
  CHECK_FALSE(f.detector.vehicle_present());
  f.Add(Weight(0), 5);
  CHECK(f.cleared == 1);  // once

  // The second vehicle weighs the same: still published, with a new sequence number.
  f.Add(Weight(18450), 16);
  REQUIRE(f.stable.size() == 2);
  CHECK(f.stable[1].vehicle_seq == 2);
}

TEST_CASE("stable: the same vehicle settling again beyond the tolerance is published again") {
  Feeder f;
  f.Add(Weight(18450), 16);
  REQUIRE(f.stable.size() == 1);
  f.Add(Weight(18450, true), 3);  // rocks, settles at the same weight: nothing new
  f.Add(Weight(18460), 16);
  CHECK(f.stable.size() == 1);
  f.Add(Weight(25000, true), 3);  // a trailer drove on
  f.Add(Weight(25000), 16);
  REQUIRE(f.stable.size() == 2);
  CHECK(f.stable[1].kg == 25000);
  CHECK(f.stable[1].vehicle_seq == 1);
}

}  // TEST_SUITE
