// xray_sim.cpp — kordon-xray-sim: a simulated cargo X-ray scanner writing into a spool
// directory.
//
//   kordon-xray-sim --spool DIR [--interval-ms N] [--count N] [--seed N] [--scanner ID]
//
// Writes one scan every interval (the first at once): a synthetic 512x256 grayscale image
// (binary PGM) and then its kordon-xray/1 metadata under a temporary name renamed into place
// (xray_device.h). Prints "wrote SCAN-ID" per scan on stdout. With --count, N scans and then
// exit 0; without, until SIGINT / SIGTERM (exit 0). Exit 1 when a write fails, 2 on a usage
// error.

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "xray_device.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

bool ParseInt(const char* text, int64_t min, int64_t* out) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < min) return false;
  *out = v;
  return true;
}

int Usage(const char* why) {
  std::fprintf(stderr,
               "kordon-xray-sim: %s\nusage: kordon-xray-sim --spool DIR [--interval-ms N] "
               "[--count N] [--seed N] [--scanner ID]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spool, scanner = "xray-sim";
  int64_t interval_ms = 2000, seed = 1;
  std::optional<int64_t> count;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("usage: kordon-xray-sim --spool DIR [--interval-ms N] [--count N] "
                  "[--seed N] [--scanner ID]\n");
      return 0;
    }
    if (i + 1 >= argc) return Usage("missing value after an option");
    const char* value = argv[++i];
    int64_t n = 0;
    if (arg == "--spool") {
      spool = value;
    } else if (arg == "--scanner") {
      scanner = value;
    } else if (arg == "--interval-ms") {
      if (!ParseInt(value, 0, &interval_ms)) return Usage("--interval-ms needs an integer >= 0");
    } else if (arg == "--count") {
      if (!ParseInt(value, 0, &n)) return Usage("--count needs an integer >= 0");
      count = n;
    } else if (arg == "--seed") {
      if (!ParseInt(value, 0, &seed)) return Usage("--seed needs an integer >= 0");
    } else {
      return Usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  if (spool.empty()) return Usage("--spool is required");
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  for (uint64_t index = 0; !g_stop && (!count || static_cast<int64_t>(index) < *count);
       ++index) {
    if (index > 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms);
      while (!g_stop && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (g_stop) break;
    }
    const kordon::xray::ScanSpec spec =
        kordon::xray::RandomScanSpec(static_cast<uint64_t>(seed), index, scanner);
    std::string error;
    if (!kordon::xray::WriteScan(spool, spec, &error)) {
      std::fprintf(stderr, "kordon-xray-sim: %s\n", error.c_str());
      return 1;
    }
    std::printf("wrote %s\n", spec.scan_id.c_str());
    std::fflush(stdout);
  }
  return 0;
}
