// camera_bench.cpp — lines per second through the camera feed path of plate-reader and
// container-reader: feed parser (camera_feed) + normaliser / ISO 6346 + body builder, i.e.
// plate::HandleLine and container::HandleLine, exactly what the plugins run per line on the
// link thread (publishing excluded). Beside two baselines measured in the same run on the same
// bytes: splitting them into lines with memchr only (the floor: touching the bytes), and
// nlohmann::json::parse alone on each line (what parsing the JSON costs without any checks or
// building the body). Prints lines/s, MB/s and the ratios.
//
// Three workloads of --lines lines each: plate JSON lines, plate delimited lines, container
// JSON lines (a mix of valid codes, wrong check digits and OCR-repairable reads). Each run is
// repeated --repeat times (alternating the paths) and the median is reported.
//
// Exit status: 0; 1 when a line's outcome is not the expected one (every line is a read);
// 2 on a usage error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "camera_feed.h"
#include "container_message.h"
#include "plate_message.h"
#include "bench_row.h"
#include "bench_stats.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::bench::Median;

struct Workload {
  const char* name;
  std::string bytes;  // lines, each ending in "\r\n"
  bool json;
  std::function<kordon::camera::Outcome(std::string_view)> handle;
};

const kordon::camera::Settings kSettings{"bench-cam", 0.5, "tcp://127.0.0.1:9100"};

std::string PlateText(size_t i) {
  static const char* const kPlates[] = {"01 KG 123 ABC", "02 KG 345 АВС", "08-KG-456-EKX",
                                        "777 аек 05",    "123 ABC 02",    "050 КМ 01",
                                        "07 KG 321 ТХЕ", "жд 123 01"};
  return kPlates[i % (sizeof kPlates / sizeof kPlates[0])];
}

std::string ContainerCode(size_t i) {
  static const char* const kCodes[] = {"CSQU 305438 3", "MSCU 123456-5", "CSQU3O54383",
                                       "MWCU6059784",   "MSKU 907032 3", "C5QU3054383"};
  return kCodes[i % (sizeof kCodes / sizeof kCodes[0])];
}

std::string Serial(size_t i) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%06zu", i % 1000000);
  return buffer;
}

std::string PlateJsonLines(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += R"({"plate": ")" + PlateText(i) + R"(", "confidence": 0.93, "country": "KG", )"
           R"("region": "01", "image": "/var/spool/anpr/cam1/)" + Serial(i) +
           R"(.jpg", "camera": "lane1-cam", "time": "2026-11-28T10:15:03.120Z", )"
           R"("direction": "in", "id": ")" + Serial(i) + "\"}\r\n";
  }
  return out;
}

std::string PlateDelimitedLines(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += "PLATE;2026-11-28T10:15:03.120Z;lane1-cam;" + PlateText(i) + ";0.93;KG;01;" +
           "/var/spool/anpr/cam1/" + Serial(i) + ".jpg\r\n";
  }
  return out;
}

std::string ContainerJsonLines(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += R"({"code": ")" + ContainerCode(i) + R"(", "confidence": 0.88, )"
           R"("camera": "lane1-ccr", "position": "rear", "size_type": "22G1", )"
           R"("image": "/var/spool/ccr/)" + Serial(i) +
           R"(.jpg", "time": "2026-11-28T10:15:03.120Z", "id": ")" + Serial(i) + "\"}\r\n";
  }
  return out;
}

// Calls fn(line) for every line of `bytes` (CR dropped), memchr to find the ends.
template <class Fn>
size_t ForEachLine(const std::string& bytes, Fn&& fn) {
  size_t lines = 0;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) nl = end;
    std::string_view line(p, static_cast<size_t>(nl - p));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    ++lines;
    p = nl + 1;
  }
  return lines;
}

volatile size_t g_sink = 0;  // keeps the work from being optimised away

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  size_t lines = 200000;
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "--lines" || a == "--repeat") && i + 1 < argc) {
      char* end = nullptr;
      const long long v = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || v < 1) {
        std::fprintf(stderr, "camera_bench: %s needs a positive integer\n", argv[i - 1]);
        return 2;
      }
      if (a == "--lines") lines = static_cast<size_t>(v);
      else repeat = static_cast<int>(v);
    } else {
      std::fprintf(stderr,
                   "usage: camera_bench [--lines N (200000)] [--repeat N (3)]\n"
                   "exit status: 0; 1 a line gave the wrong outcome; 2 usage\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }

  std::vector<Workload> workloads;
  workloads.push_back({"plate JSON", PlateJsonLines(lines), true,
                       [](std::string_view l) { return kordon::plate::HandleLine(l, kSettings); }});
  workloads.push_back({"plate delimited", PlateDelimitedLines(lines), false,
                       [](std::string_view l) { return kordon::plate::HandleLine(l, kSettings); }});
  workloads.push_back({"container JSON", ContainerJsonLines(lines), true,
                       [](std::string_view l) {
                         return kordon::container::HandleLine(l, kSettings);
                       }});

  std::printf("camera_bench: %zu lines per workload, median of %d runs\n\n", lines, repeat);
  std::printf("%-16s %-22s %12s %9s %14s\n", "workload", "path", "lines/s", "MB/s",
              "camera/baseline");
  int status = 0;
  for (const Workload& w : workloads) {
    std::vector<double> ours, split, json;
    for (int r = 0; r < repeat; ++r) {
      // memchr only.
      auto t0 = Clock::now();
      size_t bytes = 0;
      ForEachLine(w.bytes, [&](std::string_view l) { bytes += l.size(); });
      g_sink = g_sink + bytes;
      split.push_back(Seconds(Clock::now() - t0));
      // nlohmann::json::parse alone (JSON workloads).
      if (w.json) {
        t0 = Clock::now();
        size_t objects = 0;
        ForEachLine(w.bytes, [&](std::string_view l) {
          objects += nlohmann::json::parse(l, nullptr, false).is_object();
        });
        g_sink = g_sink + objects;
        json.push_back(Seconds(Clock::now() - t0));
      }
      // The camera path.
      t0 = Clock::now();
      size_t reads = 0, body_bytes = 0;
      ForEachLine(w.bytes, [&](std::string_view l) {
        const kordon::camera::Outcome o = w.handle(l);
        reads += o.kind == kordon::camera::Outcome::Kind::kRead;
        body_bytes += o.body.size();
      });
      ours.push_back(Seconds(Clock::now() - t0));
      g_sink = g_sink + body_bytes;
      if (reads != lines) {
        std::fprintf(stderr, "camera_bench: %s: %zu of %zu lines were reads\n", w.name, reads,
                     lines);
        status = 1;
      }
    }
    const double mb = static_cast<double>(w.bytes.size()) / 1e6;
    const double t_ours = Median(ours), t_split = Median(split);
    const auto row = [&](const char* path, double t, double ratio) {
      std::printf("%-16s %-22s %12.0f %9.1f", w.name, path, static_cast<double>(lines) / t,
                  mb / t);
      if (ratio > 0) std::printf(" %14.3f", ratio);
      std::printf("\n");
    };
    row("camera path", t_ours, 0);
    row("memchr split only", t_split, t_split / t_ours);
    if (w.json) row("nlohmann parse only", Median(json), Median(json) / t_ours);
    const double lps = static_cast<double>(lines) / t_ours;
    if (w.json) {
      const double base = static_cast<double>(lines) / Median(json);
      kordon::bench::PrintRow({"parsers", std::string("camera: ") + w.name, lps, "lines/s",
                               "nlohmann parse only", base, lps / base, "", std::nullopt});
    } else {
      const double base = static_cast<double>(lines) / t_split;
      kordon::bench::PrintRow({"parsers", std::string("camera: ") + w.name, lps, "lines/s",
                               "memchr split only", base, lps / base, "", std::nullopt});
    }
    std::printf("\n");
  }
  std::printf("camera/baseline: the camera path's lines/s divided by the baseline's (1.0 = as "
              "fast as the baseline)\n");
  return status;
}
