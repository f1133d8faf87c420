// site_sim.cpp — kordon-site-sim: a whole simulated road crossing on TCP (see README.md).
//
//   kordon-site-sim [--listen ADDR] [--base-port N] [--seed N] [--interval-ms N] [--count N]
//                   [--xray-dir DIR] [--manifests FILE] [--quiet]
//
// Three lanes, each device a TCP server speaking its real protocol: document readers (MRZ
// lines), plate cameras and a container camera (the camera feed of plugins/plate-reader and
// plugins/container-reader), weighbridges (MT-SICS on lane 1, Toledo continuous output on
// lane 3), and a cargo X-ray that drops scans into a spool directory. Vehicles come from
// scenario.h; each lane plays one vehicle every interval: plate, containers, documents, the
// weighbridge settling on the vehicle's weight, the X-ray scan, the bridge emptying.
//
// stdout: one "listening LANE DEVICE ADDR:PORT" line per device, then "ready" (tests read
// these); then one line per vehicle. stderr: connections and trouble. SIGINT / SIGTERM end
// the program with exit code 0. One thread, one poll loop, plain POSIX sockets.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario.h"
#include "sim_support.h"
#include "site_devices.h"
#include "site_weighbridge.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::sim::Vehicle;
using kordon::sim::VehicleKind;

struct Options {
  std::string address = "127.0.0.1";
  int base_port = 7410;  // 0: every device on an ephemeral port
  uint64_t seed = 1;
  int64_t interval_ms = 12000;
  std::optional<int64_t> count;
  std::string xray_dir;
  std::string manifests;
  bool quiet = false;
};

void Usage() {
  std::fprintf(stderr,
               "usage: kordon-site-sim [--listen ADDR] [--base-port N] [--seed N] "
               "[--interval-ms N] [--count N]\n"
               "                       [--xray-dir DIR] [--manifests FILE] [--quiet]\n"
               "Plays a road crossing: see plugins/site-sim/README.md.\n");
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    }
    if (arg == "--quiet") {
      o->quiet = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "kordon-site-sim: %s needs a value\n", arg.c_str());
      return false;
    }
    const std::string value = argv[++i];
    auto number = [&](int64_t min, int64_t max, int64_t* out) {
      auto v = kordon::sim::ParseInt(value, min, max);
      if (!v) {
        std::fprintf(stderr, "kordon-site-sim: %s must be a whole number in %lld..%lld, got '%s'\n",
                     arg.c_str(), static_cast<long long>(min), static_cast<long long>(max),
                     value.c_str());
        return false;
      }
      *out = *v;
      return true;
    };
    int64_t v = 0;
    if (arg == "--listen") {
      in_addr probe{};
      if (inet_pton(AF_INET, value.c_str(), &probe) != 1) {
        std::fprintf(stderr, "kordon-site-sim: --listen '%s' is not an IPv4 address\n",
                     value.c_str());
        return false;
      }
      o->address = value;
    } else if (arg == "--base-port") {
      if (!number(0, 65535 - kordon::sim::kDevicePortSpan, &v)) return false;
      o->base_port = static_cast<int>(v);
    } else if (arg == "--seed") {
      if (!number(0, INT64_MAX, &v)) return false;
      o->seed = static_cast<uint64_t>(v);
    } else if (arg == "--interval-ms") {
      if (!number(500, 3600000, &v)) return false;
      o->interval_ms = v;
    } else if (arg == "--count") {
      if (!number(0, INT64_MAX, &v)) return false;
      o->count = v;
    } else if (arg == "--xray-dir") {
      o->xray_dir = value;
    } else if (arg == "--manifests") {
      o->manifests = value;
    } else {
      std::fprintf(stderr, "kordon-site-sim: unknown option %s\n", arg.c_str());
      return false;
    }
  }
  return true;
}

// One scheduled action.
struct Event {
  Clock::time_point when;
  uint64_t order;  // ties run in the order they were scheduled
  std::function<void()> run;
  bool operator>(const Event& other) const {
    return when != other.when ? when > other.when : order > other.order;
  }
};

class Scheduler {
 public:
  void At(Clock::time_point when, std::function<void()> run) {
    events_.push(Event{when, ++order_, std::move(run)});
  }
  // Runs what is due; returns when the next event is due (or far away).
  Clock::time_point RunDue(Clock::time_point now) {
    while (!events_.empty() && events_.top().when <= now) {
      Event e = events_.top();
      events_.pop();
      e.run();
    }
    return events_.empty() ? now + std::chrono::seconds(1) : events_.top().when;
  }

 private:
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t order_ = 0;
};

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// A lane: which devices it has and the vehicle on it.
struct Lane {
  std::string name;
  VehicleKind kind = VehicleKind::kCar;
  kordon::sim::DocumentReader* documents = nullptr;
  kordon::sim::Camera* plates = nullptr;
  kordon::sim::Camera* containers = nullptr;
  kordon::sim::Weighbridge* scale = nullptr;
  bool xray = false;
  int64_t played = 0;
  // The vehicle that arrives next: made one interval ahead, so that its carrier's manifest is
  // lodged before the truck reaches the lane, as a pre-arrival declaration is.
  std::optional<Vehicle> next;
};

class Site {
 public:
  Site(const Options& options, kordon::sim::DeviceSet* devices)
      : options_(options),
        devices_(devices),
        scenario_(kordon::sim::ScenarioOptions{.seed = options.seed}),
        random_(options.seed ^ 0x5eed) {}

  bool Open() {
    if (!options_.manifests.empty()) {
      manifests_.open(options_.manifests, std::ios::app);
      if (!manifests_) {
        std::fprintf(stderr, "kordon-site-sim: cannot write %s\n", options_.manifests.c_str());
        return false;
      }
    }
    lanes_ = {
        Lane{"lane-1", VehicleKind::kTruck, devices_->Documents("lane-1"), devices_->Plates("lane-1"),
             devices_->Containers("lane-1"), devices_->Scale("lane-1"), !options_.xray_dir.empty()},
        Lane{"lane-2", VehicleKind::kCar, devices_->Documents("lane-2"), devices_->Plates("lane-2"),
             nullptr, nullptr, false},
        Lane{"lane-3", VehicleKind::kTruck, devices_->Documents("lane-3"), devices_->Plates("lane-3"),
             nullptr, devices_->Scale("lane-3"), false},
    };
    for (Lane& lane : lanes_) Prepare(&lane);
    // Lanes start a little apart, so that their vehicles do not arrive in step.
    const Clock::time_point now = Clock::now();
    for (size_t i = 0; i < lanes_.size(); ++i)
      scheduler_.At(now + std::chrono::milliseconds(300 + 700 * static_cast<int64_t>(i)),
                    [this, i] { Arrive(i); });
    return true;
  }

  Clock::time_point RunDue(Clock::time_point now) { return scheduler_.RunDue(now); }

 private:
  std::chrono::milliseconds Fraction(double f) const {
    return std::chrono::milliseconds(static_cast<int64_t>(f * static_cast<double>(options_.interval_ms)));
  }

  // Makes the lane's next vehicle (unless --count is reached) and lodges its manifest.
  void Prepare(Lane* lane) {
    lane->next.reset();
    if (options_.count && lane->played >= *options_.count) return;
    lane->next = scenario_.Next(lane->kind);
    if (lane->next->has_manifest) WriteManifest(*lane, *lane->next);
  }

  void Arrive(size_t index) {
    Lane& lane = lanes_[index];
    if (!lane.next) return;  // --count reached
    ++lane.played;
    const Vehicle v = std::move(*lane.next);
    Prepare(&lane);
    const Clock::time_point t0 = Clock::now();
    Report(lane, v);

    // The timeline, as fractions of the interval (see README.md).
    if (lane.plates) lane.plates->SendPlate(v);
    if (lane.containers) {
      for (size_t i = 0; i < v.containers.size(); ++i)
        scheduler_.At(t0 + Fraction(0.05 + 0.03 * static_cast<double>(i)),
                      [&lane, v, i] { lane.containers->SendContainer(v.containers[i], i); });
    }
    if (lane.documents) {
      for (size_t i = 0; i < v.documents.size(); ++i)
        scheduler_.At(t0 + Fraction(0.10 + 0.06 * static_cast<double>(i)),
                      [&lane, v, i] { lane.documents->SendDocument(v.documents[i]); });
    }
    if (lane.scale && v.kind == VehicleKind::kTruck) {
      const double kg = v.gross_kg;
      scheduler_.At(t0 + Fraction(0.15),
                    [&lane, kg, this] { lane.scale->DriveOn(kg, Fraction(0.15)); });
      scheduler_.At(t0 + Fraction(0.80), [&lane, this] { lane.scale->DriveOff(Fraction(0.10)); });
    }
    if (lane.xray && v.kind == VehicleKind::kTruck)
      scheduler_.At(t0 + Fraction(0.55), [this, v] { devices_->WriteXrayScan(options_.xray_dir, v); });

    // The next vehicle: the interval give or take a fifth.
    const double jitter = std::uniform_real_distribution<double>(0.8, 1.2)(random_);
    scheduler_.At(t0 + Fraction(jitter), [this, index] { Arrive(index); });
  }

  void Report(const Lane& lane, const Vehicle& v) {
    if (options_.quiet) return;
    std::vector<std::string> containers;
    for (const auto& c : v.containers) containers.push_back(c.code);
    std::string line = lane.name + " #" + std::to_string(v.seq) + " " +
                       (v.kind == VehicleKind::kTruck ? "truck" : "car") + " " + v.plate + " (" +
                       v.plate_country + ") driver " + v.driver.surname + " " +
                       v.driver.given_names;
    if (!v.passengers.empty()) line += " +" + std::to_string(v.passengers.size()) + " passengers";
    if (!containers.empty()) line += " containers " + Join(containers, ",");
    if (v.kind == VehicleKind::kTruck) {
      char weight[96];
      std::snprintf(weight, sizeof weight, " %.0f kg on the scale (cargo declared %.0f kg)", v.gross_kg,
                    v.manifest.declared_gross_kg);
      line += weight;
    }
    if (!v.notes.empty()) line += " — " + Join(v.notes, "; ");
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  void WriteManifest(const Lane& lane, const Vehicle& v) {
    if (!manifests_.is_open()) return;
    nlohmann::json containers = nlohmann::json::array();
    // The declaration names the registered number, even when the box is painted wrong.
    for (const auto& c : v.containers)
      containers.push_back({{"code", c.registered_code}, {"size_type", c.size_type}});
    const nlohmann::json goods = nlohmann::json::array(
        {{{"hs_code", v.manifest.hs_code}, {"description", v.manifest.goods}}});
    const nlohmann::json line = {{"manifest", v.manifest.number},
                                 {"lane", lane.name},
                                 {"carrier", v.manifest.consignor},
                                 {"plates", {v.plate}},
                                 {"plate_country", v.plate_country},
                                 {"containers", containers},
                                 {"consignor", v.manifest.consignor},
                                 {"consignee", v.manifest.consignee},
                                 {"origin", v.manifest.origin},
                                 {"destination", v.manifest.destination},
                                 {"goods", goods},
                                 {"declared_gross_kg", v.manifest.declared_gross_kg}};
    manifests_ << line.dump() << '\n';
    manifests_.flush();
  }

  const Options& options_;
  kordon::sim::DeviceSet* devices_;
  kordon::sim::Scenario scenario_;
  std::mt19937_64 random_;
  Scheduler scheduler_;
  std::vector<Lane> lanes_;
  std::ofstream manifests_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) {
    Usage();
    return 2;
  }

  // SIGINT / SIGTERM end the program; they arrive only inside ppoll (sim_support.h).
  const kordon::sim::StopSignals signals;

  kordon::sim::DeviceSet devices(options.seed);
  std::string error;
  if (!devices.Listen(options.address, options.base_port, &error)) {
    std::fprintf(stderr, "kordon-site-sim: %s\n", error.c_str());
    return 1;
  }
  if (!options.xray_dir.empty() && !devices.PrepareXrayDir(options.xray_dir, &error)) {
    std::fprintf(stderr, "kordon-site-sim: %s\n", error.c_str());
    return 1;
  }
  for (const std::string& line : devices.Describe()) std::printf("listening %s\n", line.c_str());
  std::printf("ready\n");
  std::fflush(stdout);

  Site site(options, &devices);
  if (!site.Open()) return 1;
  while (!signals.stop_requested()) {
    const Clock::time_point now = Clock::now();
    const Clock::time_point wake = std::min(site.RunDue(now), devices.Tick(now));
    if (!devices.Poll(wake, signals.wait_mask())) break;
  }
  std::fprintf(stderr, "kordon-site-sim: stopped\n");
  return 0;
}
