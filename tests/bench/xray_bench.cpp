// xray_bench: the xray-scanner plugin's two costs per scan, each beside a baseline measured in
// the same run (see README.md here):
//
//   metadata   files/s through ParseMetadata (parse + validate kordon-xray/1), beside
//              nlohmann::json::parse alone on the same texts
//   sha-256    MB/s of HashFileAt (libsodium, streamed in 1 MiB chunks) on an N MiB file,
//              beside plain read() of the same file with the same buffer (page cache warm)
//
// Each figure is the median of --repeat runs. Exit status: 0; 1 when a check fails (a
// metadata text refused, a digest that differs from the in-memory one); 2 on a usage error.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "xray_device.h"
#include "xray_hash.h"
#include "xray_metadata.h"
#include "bench_row.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool ParseArg(const char* text, int64_t min, int64_t* out) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < min) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t files = 20000, image_mib = 64, repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    int64_t* target = arg == "--files"       ? &files
                      : arg == "--image-mib" ? &image_mib
                      : arg == "--repeat"    ? &repeat
                                             : nullptr;
    if (target == nullptr || i + 1 >= argc || !ParseArg(argv[++i], 1, target)) {
      std::fprintf(stderr, "usage: xray_bench [--files N] [--image-mib N] [--repeat N]\n");
      return 2;
    }
  }

  // --- Metadata -------------------------------------------------------------------------------
  std::vector<std::string> texts, ids;
  for (int64_t i = 0; i < std::min<int64_t>(files, 1000); ++i) {
    const kordon::xray::ScanFiles f =
        kordon::xray::MakeScan(kordon::xray::RandomScanSpec(42, static_cast<uint64_t>(i), "b"));
    texts.push_back(f.metadata);
    ids.push_back(f.metadata_name.substr(0, f.metadata_name.size() - 5));
  }
  size_t text_bytes = 0;
  for (const auto& t : texts) text_bytes += t.size();
  std::vector<double> ours, base;
  for (int64_t r = 0; r < repeat; ++r) {
    size_t sink = 0;
    auto t0 = Clock::now();
    for (int64_t i = 0; i < files; ++i) {
      const size_t k = static_cast<size_t>(i) % texts.size();
      sink += nlohmann::json::parse(texts[k]).size();
    }
    base.push_back(static_cast<double>(files) / Seconds(Clock::now() - t0));
    t0 = Clock::now();
    for (int64_t i = 0; i < files; ++i) {
      const size_t k = static_cast<size_t>(i) % texts.size();
      const kordon::xray::ParseResult p =
          kordon::xray::ParseMetadata(texts[k], ids[k], uint64_t{2} << 30);
      if (!p.ok()) {
        std::fprintf(stderr, "xray_bench: metadata %zu refused: %s\n", k, p.error.c_str());
        return 1;
      }
      sink += p.metadata->marks.size();
    }
    ours.push_back(static_cast<double>(files) / Seconds(Clock::now() - t0));
    if (sink == SIZE_MAX) std::puts("");  // keeps the loops
  }
  const double ours_fps = Median(ours), base_fps = Median(base);
  std::printf("metadata: %lld files of %zu bytes on average, median of %lld runs\n",
              static_cast<long long>(files), text_bytes / texts.size(),
              static_cast<long long>(repeat));
  std::printf("  ParseMetadata (parse + validate)  %10.0f files/s\n", ours_fps);
  std::printf("  nlohmann::json::parse alone       %10.0f files/s\n", base_fps);
  std::printf("  ratio                             %10.2f\n", ours_fps / base_fps);
  kordon::bench::PrintRow({"parsers", "X-ray metadata: parse + validate", ours_fps, "files/s",
                           "nlohmann::json::parse alone", base_fps, ours_fps / base_fps, "",
                           std::nullopt});

  // --- SHA-256 --------------------------------------------------------------------------------
  char dir_template[] = "/tmp/xray-bench-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::perror("xray_bench: mkdtemp");
    return 1;
  }
  const std::string dir = dir_template;
  const size_t bytes = static_cast<size_t>(image_mib) << 20;
  std::string data(bytes, '\0');
  std::mt19937_64 random(7);
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t v = random();
    std::memcpy(&data[i], &v, 8);
  }
  std::string error;
  int status = 0;
  if (!kordon::xray::WriteFileIn(dir, "image.bin", data, &error)) {
    std::fprintf(stderr, "xray_bench: %s\n", error.c_str());
    status = 1;
  }
  const std::string expected = kordon::xray::Sha256Hex(data);
  data.clear();
  data.shrink_to_fit();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  std::vector<double> hash_mbs, read_mbs;
  const auto buffer = std::make_unique<char[]>(kordon::xray::kHashChunkBytes);
  for (int64_t r = 0; status == 0 && r < repeat; ++r) {
    auto t0 = Clock::now();
    const int fd = ::openat(dir_fd, "image.bin", O_RDONLY);
    size_t got = 0;
    for (ssize_t n; (n = ::read(fd, buffer.get(), kordon::xray::kHashChunkBytes)) > 0;)
      got += static_cast<size_t>(n);
    ::close(fd);
    read_mbs.push_back(static_cast<double>(got) / 1e6 / Seconds(Clock::now() - t0));
    t0 = Clock::now();
    auto h = kordon::xray::HashFileAt(dir_fd, "image.bin", bytes, nullptr, &error);
    const double s = Seconds(Clock::now() - t0);
    if (!h || h->sha256 != expected || got != bytes) {
      std::fprintf(stderr, "xray_bench: hash check failed: %s\n", h ? "digest differs" :
                                                                     error.c_str());
      status = 1;
      break;
    }
    hash_mbs.push_back(static_cast<double>(bytes) / 1e6 / s);
  }
  ::close(dir_fd);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
  if (status != 0) return status;
  const double hash = Median(hash_mbs), plain = Median(read_mbs);
  std::printf("sha-256: a %lld MiB file, 1 MiB chunks, page cache warm, median of %lld runs\n",
              static_cast<long long>(image_mib), static_cast<long long>(repeat));
  std::printf("  HashFileAt (libsodium)            %10.0f MB/s\n", hash);
  std::printf("  read() alone                      %10.0f MB/s\n", plain);
  std::printf("  ratio                             %10.2f\n", hash / plain);
  kordon::bench::PrintRow({"parsers", "X-ray image SHA-256 (libsodium)", hash, "MB/s",
                           "read() alone", plain, hash / plain, "", std::nullopt});
  std::printf("  a 2 GiB image takes about %.1f s to hash\n", 2147.483648 / hash);
  return 0;
}
