// bench_row.h: the shared benchmark table's line format. Every benchmark program prints, beside
// its own human-readable output, one `@row {json}` line per headline figure on stdout;
// tests/bench/run-all collects them into one Markdown table (see README.md here).
//
//   @row {"group":"bus","figure":"...","value":512000,"unit":"msg/s","baseline":"...",
//         "baseline_value":640000,"ratio":0.80,"goal":">= 0.7","met":true}
//
// Header-only and dependency-free so that every bench program can include it. PrintRow writes
// one whole line with a single fwrite and flushes it; safe from any thread (stdio locks).
#ifndef KORDON_TESTS_BENCH_BENCH_ROW_H_
#define KORDON_TESTS_BENCH_BENCH_ROW_H_

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

namespace kordon::bench {

struct Row {
  std::string group;   // bus, bus-tcp, end-to-end, memory, parsers, journal, ...
  std::string figure;  // what was measured, with its conditions
  double value = 0;
  std::string unit;
  std::string baseline;                  // what the same run measured beside it ("" = none)
  std::optional<double> baseline_value;  // in `unit`
  std::optional<double> ratio;           // as the program defines it (the figure says which way)
  std::string goal;                      // the goal for this figure ("" = none)
  std::optional<bool> met;
};

inline std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// A JSON number: not NaN or infinite (JSON has neither), four significant digits at least.
inline std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  if (std::fabs(v) >= 1000 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

inline void PrintRow(const Row& r) {
  std::string line = "@row {\"group\":" + JsonString(r.group) +
                     ",\"figure\":" + JsonString(r.figure) + ",\"value\":" + JsonNumber(r.value) +
                     ",\"unit\":" + JsonString(r.unit);
  if (!r.baseline.empty()) line += ",\"baseline\":" + JsonString(r.baseline);
  if (r.baseline_value) line += ",\"baseline_value\":" + JsonNumber(*r.baseline_value);
  if (r.ratio) line += ",\"ratio\":" + JsonNumber(std::round(*r.ratio * 1000) / 1000);
  if (!r.goal.empty()) line += ",\"goal\":" + JsonString(r.goal);
  if (r.met) line += std::string(",\"met\":") + (*r.met ? "true" : "false");
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace kordon::bench

#endif  // KORDON_TESTS_BENCH_BENCH_ROW_H_
