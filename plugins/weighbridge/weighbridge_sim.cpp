// weighbridge_sim.cpp — kordon-weighbridge-sim: a simulated truck weighbridge terminal on TCP.
//
//   kordon-weighbridge-sim --listen 127.0.0.1:PORT [--protocol sics|toledo-continuous]
//       [--vehicles-kg 18450,32100 | random] [--hold-ms N] [--ramp-ms N] [--empty-ms N]
//       [--rate-hz N] [--no-checksum] [--seed N]
//       [--fault bad-checksum|garbage|silent-after N|overload|unknown-unit|es]
//
// Listens on PORT (0: an ephemeral port) and prints "listening HOST:PORT" as the first line of
// stdout. The bridge plays trucks from the start of the program (weighbridge_device.h): empty,
// a truck drives on (motion), settles at its weight with a few kg of noise, holds, drives off.
// MT-SICS: every client's SI / S / Z / T lines (CR LF) are answered; Toledo: every client
// gets a frame --rate-hz times a second. SIGINT / SIGTERM end it with exit code 0. See README.md.
//
// One thread, one poll loop; plain POSIX sockets.

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
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "weighbridge_device.h"

#include "sim_support.h"

namespace {

namespace dev = kordon::weighbridge::device;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Fault { kNone, kBadChecksum, kGarbage, kSilentAfter, kOverload, kUnknownUnit, kEs };

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool listen_set = false;
  bool sics = true;
  dev::TruckProfileOptions profile;
  bool random_vehicles = false;
  int64_t rate_hz = 10;
  bool checksum = true;
  Fault fault = Fault::kNone;
  int64_t silent_after = 0;
  bool help = false;
};

struct Client {
  int fd = -1;
  std::string peer;
  std::string input;
  int64_t sent = 0;  // replies or frames
  Clock::time_point next_frame;
};

void Usage() {
  std::fprintf(stderr,
               "usage: kordon-weighbridge-sim --listen HOST:PORT [--protocol sics|"
               "toledo-continuous]\n  [--vehicles-kg KG,KG,...|random] [--hold-ms N] "
               "[--ramp-ms N] [--empty-ms N] [--rate-hz N]\n  [--no-checksum] [--seed N] "
               "[--fault bad-checksum|garbage|silent-after N|overload|unknown-unit|es]\n");
}

bool Fail(const std::string& what) {
  std::fprintf(stderr, "kordon-weighbridge-sim: %s\n", what.c_str());
  return false;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o->help = true;
      return true;
    }
    if (arg == "--no-checksum") {
      o->checksum = false;
      continue;
    }
    if (i + 1 >= argc) return Fail(arg + " needs a value");
    const std::string value = argv[++i];
    const auto ms = [&](milliseconds* out) {
      auto v = kordon::sim::ParseInt(value, 0, 3600000);
      if (!v) return Fail(arg + " must be 0..3600000 (milliseconds)");
      *out = milliseconds(*v);
      return true;
    };
    if (arg == "--listen") {
      const size_t colon = value.rfind(':');
      auto port = colon == std::string::npos ? std::nullopt
                                             : kordon::sim::ParseInt(value.substr(colon + 1), 0, 65535);
      if (!port) return Fail("--listen '" + value + "' is not HOST:PORT (port 0..65535)");
      o->host = value.substr(0, colon);
      o->port = static_cast<uint16_t>(*port);
      o->listen_set = true;
    } else if (arg == "--protocol") {
      if (value != "sics" && value != "toledo-continuous")
        return Fail("--protocol must be sics or toledo-continuous");
      o->sics = value == "sics";
    } else if (arg == "--vehicles-kg") {
      o->profile.vehicles_kg.clear();
      if (value == "random") {
        o->random_vehicles = true;
        continue;
      }
      size_t start = 0;
      while (start <= value.size()) {
        const size_t comma = std::min(value.find(',', start), value.size());
        auto v = kordon::sim::ParseInt(value.substr(start, comma - start), 1, 999999);
        if (!v) return Fail("--vehicles-kg takes kilograms 1..999999 separated by commas");
        o->profile.vehicles_kg.push_back(static_cast<double>(*v));
        start = comma + 1;
      }
    } else if (arg == "--hold-ms") {
      if (!ms(&o->profile.hold)) return false;
    } else if (arg == "--ramp-ms") {
      if (!ms(&o->profile.ramp)) return false;
    } else if (arg == "--empty-ms") {
      if (!ms(&o->profile.empty)) return false;
    } else if (arg == "--rate-hz") {
      auto v = kordon::sim::ParseInt(value, 1, 1000);
      if (!v) return Fail("--rate-hz must be 1..1000");
      o->rate_hz = *v;
    } else if (arg == "--seed") {
      auto v = kordon::sim::ParseInt(value, 0, INT64_MAX);
      if (!v) return Fail("--seed must be a number >= 0");
      o->profile.seed = static_cast<uint64_t>(*v);
    } else if (arg == "--fault") {
      if (value == "bad-checksum") o->fault = Fault::kBadChecksum;
      else if (value == "garbage") o->fault = Fault::kGarbage;
      else if (value == "overload") o->fault = Fault::kOverload;
      else if (value == "unknown-unit") o->fault = Fault::kUnknownUnit;
      else if (value == "es") o->fault = Fault::kEs;
      else if (value == "silent-after") {
        if (i + 1 >= argc) return Fail("--fault silent-after needs N");
        auto v = kordon::sim::ParseInt(argv[++i], 0, INT64_MAX);
        if (!v) return Fail("--fault silent-after N: N must be >= 0");
        o->fault = Fault::kSilentAfter;
        o->silent_after = *v;
      } else {
        return Fail("unknown --fault '" + value + "'");
      }
    } else {
      return Fail("unknown option " + arg);
    }
  }
  if (!o->listen_set) return Fail("--listen is required");
  if (o->random_vehicles) {
    std::mt19937_64 r(o->profile.seed);
    std::uniform_int_distribution<int> kg(3000, 44000);
    for (int i = 0; i < 16; ++i) o->profile.vehicles_kg.push_back(kg(r) / 10 * 10);
  }
  return true;
}

// The scale terminal's own state: the profile, and a tare taken with T.
class Scale {
 public:
  explicit Scale(const Options& o) : options_(o), profile_(o.profile), start_(Clock::now()) {}

  dev::ProfilePoint Now() {
    return profile_.At(std::chrono::duration_cast<milliseconds>(Clock::now() - start_));
  }

  // The reply to one MT-SICS command line (without CR LF).
  std::string Answer(std::string_view command) {
    if (options_.fault == Fault::kEs) return "ES";
    const dev::ProfilePoint p = Now();
    const bool overload = options_.fault == Fault::kOverload;
    const std::string unit = options_.fault == Fault::kUnknownUnit ? "oz" : "kg";
    if (command == "SI" || command == "S") {
      if (overload) return "S +";
      if (command == "S" && p.motion) return "S I";  // no stable weight now (no long wait)
      return dev::SicsWeightReply("S", !p.motion, p.kg - tare_kg_, 1, unit);
    }
    if (command == "Z") {
      if (p.motion) return "Z I";
      tare_kg_ = 0;
      return "Z A";
    }
    if (command == "T") {
      if (overload) return "T +";
      if (p.motion) return "T I";
      tare_kg_ = p.kg;
      return dev::SicsWeightReply("T", true, tare_kg_, 1, "kg");
    }
    return "ES";
  }

  // The next Toledo frame (with the fault applied).
  std::string Frame(int64_t n) {
    const dev::ProfilePoint p = Now();
    dev::ToledoFields f;
    f.decimal_code = 2;  // x1: whole kilograms
    f.increment_code = 1;
    f.kg = true;
    f.motion = p.motion;
    const double shown = p.kg - tare_kg_;
    f.net = tare_kg_ != 0;
    f.negative = shown < 0;
    f.weight_digits = static_cast<uint32_t>(std::lround(std::fabs(shown)));
    f.tare_digits = static_cast<uint32_t>(std::lround(tare_kg_));
    if (options_.fault == Fault::kOverload) {
      f.out_of_range = true;
      f.weight_digits = 999999;
    }
    std::string frame = dev::ToledoFrameBytes(f, options_.checksum);
    if (options_.fault == Fault::kBadChecksum && options_.checksum)
      frame.back() = static_cast<char>((frame.back() + 1) & 0x7f);
    if (options_.fault == Fault::kGarbage && n % 3 == 0)
      frame = std::string("\xff garbage\r\n") + frame.substr(0, 9) + frame;  // and a cut frame
    return frame;
  }

  void TareFromBus(std::string_view command) {
    const dev::ProfilePoint p = Now();
    if (command == "T") tare_kg_ = p.kg;
    if (command == "Z") tare_kg_ = 0;
  }

 private:
  const Options& options_;
  dev::TruckProfile profile_;
  Clock::time_point start_;
  double tare_kg_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) {
    Usage();
    return 2;
  }
  if (options.help) {
    Usage();
    return 0;
  }

  // SIGINT / SIGTERM end the program; they arrive only inside ppoll (sim_support.h).
  const kordon::sim::StopSignals signals;

  uint16_t bound_port = 0;
  std::string listen_error;
  const int listen_fd = kordon::sim::ListenTcp(options.host, options.port, &bound_port, &listen_error);
  if (listen_fd < 0) {
    std::fprintf(stderr, "%s: %s\n", "kordon-weighbridge-sim", listen_error.c_str());
    return 1;
  }
  std::printf("listening %s:%u\n", options.host.c_str(),
              static_cast<unsigned>(bound_port));
  std::fflush(stdout);

  Scale scale(options);
  const auto frame_interval = std::chrono::microseconds(1000000 / options.rate_hz);
  const auto silent = [&](const Client& c) {
    return options.fault == Fault::kSilentAfter && c.sent >= options.silent_after;
  };
  std::vector<Client> clients;
  while (!signals.stop_requested()) {
    const Clock::time_point now = Clock::now();
    if (!options.sics) {
      for (Client& c : clients) {
        if (c.fd < 0 || now < c.next_frame || silent(c)) continue;
        if (!kordon::sim::SendAll(c.fd, scale.Frame(c.sent))) {
          std::fprintf(stderr, "kordon-weighbridge-sim: %s: send failed, dropped\n",
                       c.peer.c_str());
          close(c.fd);
          c.fd = -1;
          continue;
        }
        ++c.sent;
        c.next_frame = now + frame_interval;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });

    std::vector<pollfd> fds;
    fds.push_back({listen_fd, POLLIN, 0});
    Clock::time_point wake = Clock::now() + std::chrono::seconds(1);
    for (const Client& c : clients) {
      fds.push_back({c.fd, POLLIN, 0});
      if (!options.sics && !silent(c)) wake = std::min(wake, c.next_frame);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now());
    const int64_t ns = std::max<int64_t>(0, wait.count());
    timespec timeout{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int ready = ppoll(fds.data(), fds.size(), &timeout, signals.wait_mask());
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "kordon-weighbridge-sim: poll: %s\n", std::strerror(errno));
      break;
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Client& c = clients[i - 1];
      char buffer[512];
      const ssize_t n = recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        std::fprintf(stderr, "kordon-weighbridge-sim: %s disconnected after %lld sent\n",
                     c.peer.c_str(), static_cast<long long>(c.sent));
        close(c.fd);
        c.fd = -1;
        continue;
      }
      c.input.append(buffer, static_cast<size_t>(n));
      if (c.input.size() > 4096) c.input.erase(0, c.input.size() - 4096);  // a flood
      size_t eol;
      while ((eol = c.input.find('\n')) != std::string::npos) {
        std::string line = c.input.substr(0, eol);
        c.input.erase(0, eol + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!options.sics) {  // Toledo continuous: Z / T act, nothing is answered
          scale.TareFromBus(line);
          continue;
        }
        if (silent(c)) continue;
        const std::string reply = scale.Answer(line) + "\r\n";
        ++c.sent;
        if (!kordon::sim::SendAll(c.fd, reply)) {
          close(c.fd);
          c.fd = -1;
          break;
        }
      }
    }
    if (fds[0].revents & POLLIN) {
      std::string peer;
      const int fd = kordon::sim::AcceptClient(listen_fd, /*non_blocking=*/false, &peer);
      if (fd >= 0) {
        Client c;
        c.fd = fd;
        c.peer = std::move(peer);
        c.next_frame = Clock::now();
        std::fprintf(stderr, "kordon-weighbridge-sim: %s connected\n", c.peer.c_str());
        clients.push_back(std::move(c));
      }
    }
  }
  for (Client& c : clients)
    if (c.fd >= 0) close(c.fd);
  close(listen_fd);
  std::fprintf(stderr, "kordon-weighbridge-sim: stopped\n");
  return 0;
}
