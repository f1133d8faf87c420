// weighbridge_bench — how fast the weighbridge parsers are, beside a baseline that does the
// least any parser must do, measured in the same run (see README.md, "weighbridge_bench"):
//  - MT-SICS replies/s: ParseSicsReply (tokens, status, value, unit, conversion) vs strtod over
//    the same value fields found by a fixed offset;
//  - Toledo frames/s: ToledoFramer + ParseToledoFrame (framing, checksum, status bits, digits)
//    vs memchr framing (find STX, step a fixed length) and an atoi-like sum of the digits.
// Exit status 1 when the parsers disagree with the baselines (a wrong weight is a failure).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "weighbridge.h"
#include "weighbridge_device.h"
#include "bench_row.h"

namespace {

namespace wb = kordon::weighbridge;
using Clock = std::chrono::steady_clock;

// Keeps the optimiser from dropping the work.
volatile double g_sink = 0;

template <typename Fn>
double MedianSeconds(int repeat, Fn fn) {
  std::vector<double> runs;
  for (int i = 0; i < repeat; ++i) {
    const auto start = Clock::now();
    fn();
    runs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  size_t count = 200000;
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--count" && i + 1 < argc) {
      count = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: weighbridge_bench [--count N] [--repeat N]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  count = std::max<size_t>(count, 10);

  // The same truck weights for both protocols.
  std::vector<double> kg(count);
  for (size_t i = 0; i < count; ++i) kg[i] = 3000 + static_cast<double>((i * 7919) % 41000);

  // ---- MT-SICS ----
  std::vector<std::string> replies(count);
  for (size_t i = 0; i < count; ++i)
    replies[i] = wb::device::SicsWeightReply("S", i % 4 != 0, kg[i], 1, "kg");
  double sics_sum = 0, base_sum = 0;
  const double sics_s = MedianSeconds(repeat, [&] {
    double sum = 0;
    for (const std::string& r : replies) {
      const wb::SicsReply reply = wb::ParseSicsReply(r);
      if (reply.reading.has_weight) sum += reply.reading.kg;
    }
    sics_sum = sum;
    g_sink = sum;
  });
  const double strtod_s = MedianSeconds(repeat, [&] {
    double sum = 0;
    // "S S " + 10-character value field: what strtod alone costs, with nothing checked.
    for (const std::string& r : replies) sum += std::strtod(r.c_str() + 4, nullptr);
    base_sum = sum;
    g_sink = sum;
  });
  bool ok = std::fabs(sics_sum - base_sum) < 1e-6 * std::max(1.0, base_sum);

  // ---- Toledo ----
  std::string stream;
  for (size_t i = 0; i < count; ++i) {
    wb::device::ToledoFields f;
    f.weight_digits = static_cast<uint32_t>(kg[i]);
    f.motion = i % 4 == 0;
    stream += wb::device::ToledoFrameBytes(f, true);
  }
  size_t frames = 0, base_frames = 0;
  double toledo_sum = 0, memchr_sum = 0;
  const double toledo_s = MedianSeconds(repeat, [&] {
    wb::ToledoFramer framer(true);
    size_t n = 0;
    double sum = 0;
    std::string error;
    // Fed in 4 KiB reads, as the link delivers them.
    for (size_t pos = 0; pos < stream.size(); pos += 4096) {
      framer.Feed(
          std::string_view(stream).substr(pos, 4096),
          [&](std::string_view frame) {
            auto f = wb::ParseToledoFrame(frame, true, &error);
            if (f && f->reading.has_weight) {
              ++n;
              sum += f->reading.kg;
            }
          },
          [](std::string_view, std::string_view) {});
    }
    frames = n;
    toledo_sum = sum;
    g_sink = sum;
  });
  const double memchr_s = MedianSeconds(repeat, [&] {
    size_t n = 0;
    double sum = 0;
    const char* p = stream.data();
    const char* end = p + stream.size();
    while ((p = static_cast<const char*>(std::memchr(p, wb::kStx, static_cast<size_t>(end - p)))) &&
           end - p >= 18) {
      unsigned v = 0;
      for (int i = 4; i < 10; ++i) v = v * 10 + static_cast<unsigned>(p[i] - '0');
      sum += v;
      ++n;
      p += 18;
    }
    base_frames = n;
    memchr_sum = sum;
    g_sink = sum;
  });
  ok = ok && frames == count && base_frames == count && std::fabs(toledo_sum - memchr_sum) < 1e-6;

  const auto rate = [&](double s) { return static_cast<double>(count) / s; };
  std::printf("weighbridge_bench: %zu items, median of %d runs\n", count, repeat);
  std::printf("%-30s %14s %14s %8s\n", "", "parser /s", "baseline /s", "ratio");
  std::printf("%-30s %14.0f %14.0f %8.2f\n", "MT-SICS replies (vs strtod)", rate(sics_s),
              rate(strtod_s), strtod_s / sics_s);
  std::printf("%-30s %14.0f %14.0f %8.2f\n", "Toledo frames (vs memchr)", rate(toledo_s),
              rate(memchr_s), memchr_s / toledo_s);
  kordon::bench::PrintRow({"parsers", "weighbridge: MT-SICS replies", rate(sics_s), "replies/s",
                           "strtod on the value field", rate(strtod_s), strtod_s / sics_s, "",
                           std::nullopt});
  kordon::bench::PrintRow({"parsers", "weighbridge: Toledo continuous frames", rate(toledo_s),
                           "frames/s", "memchr framing", rate(memchr_s), memchr_s / toledo_s, "",
                           std::nullopt});
  if (!ok) {
    std::fprintf(stderr, "weighbridge_bench: parser and baseline disagree (sics %.1f vs %.1f, "
                 "toledo %zu frames %.1f vs %zu frames %.1f)\n", sics_sum, base_sum, frames,
                 toledo_sum, base_frames, memchr_sum);
    return 1;
  }
  return 0;
}
