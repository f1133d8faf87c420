// bench_stats.h: the clock and the order statistics every benchmark program reports with, so
// that "p99" means the same thing in every row of the table (tests/bench/README.md).
//
//   Percentile(v, 0.99)  nearest rank: the smallest sample with at least 99 % of the samples
//                        at or below it (ceil(p * n)-th of the sorted samples; p = 1 is the
//                        largest). Takes its samples by value and sorts the copy.
//   Median(v)            the middle sample, or the mean of the two middle ones.
//   NowNs()              steady clock, nanoseconds: for latencies inside one process or between
//                        processes on one machine (CLOCK_MONOTONIC is system-wide on Linux).
#ifndef KORDON_TESTS_BENCH_BENCH_STATS_H_
#define KORDON_TESTS_BENCH_BENCH_STATS_H_

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kordon::bench {

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename T>
double Percentile(std::vector<T> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return static_cast<double>(v[std::clamp<size_t>(rank, 1, v.size()) - 1]);
}

template <typename T>
double Median(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? static_cast<double>(v[n / 2])
                    : (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2;
}

}  // namespace kordon::bench

#endif  // KORDON_TESTS_BENCH_BENCH_STATS_H_
