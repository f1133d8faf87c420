// manifest_bench — lookups in the manifest store (plugins/manifest) over a large synthetic
// database: the import rate, then lookups per second and p50/p99/max latency by plate and by
// container (what the plugin does for every read: an indexed SELECT plus parsing and checking
// the stored JSON), beside a baseline measured in the same run: a std::unordered_map from the
// same plates to in-memory manifests (the least any lookup must do). See
// plugins/manifest/README.md.
//
//   manifest_bench [--manifests N] [--lookups N] [--seed N] [--dir DIR]
//
// Manifests are deterministic (a seeded generator): one plate each (`01KG123ABC` shape), a
// container on two in three (a valid ISO 6346 code), one to three goods lines. Lookups are
// half listed plates / containers and half unlisted ones. Exit status 1 when a listed plate or
// container is not found, or an unlisted one is.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "iso6346.h"
#include "manifest.h"
#include "manifest_store.h"
#include "bench_row.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace mf = kordon::manifest;

struct Figures {
  double per_s = 0, p50 = 0, p99 = 0, max = 0;
};

Figures Summarise(std::vector<double> us, double total_s) {
  Figures f;
  if (us.empty()) return f;
  std::sort(us.begin(), us.end());
  f.per_s = static_cast<double>(us.size()) / total_s;
  f.p50 = us[us.size() / 2];
  f.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  f.max = us.back();
  return f;
}

std::string Plate(uint64_t i) {
  static const char kLetters[] = "ABCEHKMOPTXY";
  char b[16];
  std::snprintf(b, sizeof b, "%02uKG%03u%c%c%c", static_cast<unsigned>(i % 10 + 1),
                static_cast<unsigned>(i / 10 % 1000), kLetters[i / 10000 % 12],
                kLetters[i / 120000 % 12], kLetters[i / 1440000 % 12]);
  return b;
}

std::string Container(uint64_t i) {
  char b[16];
  std::snprintf(b, sizeof b, "KRDU%06u", static_cast<unsigned>(i % 1000000));
  std::string code = b;
  return code + *kordon::iso6346::CheckDigit(code);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 100000;
  size_t lookups = 20000;
  uint64_t seed = 7;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--manifests" && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--lookups" && i + 1 < argc) {
      lookups = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: manifest_bench [--manifests N] [--lookups N] [--seed N] [--dir DIR]\n");
      return 2;
    }
  }
  if (n == 0 || n > 900000 || lookups == 0) {
    std::fprintf(stderr, "manifest_bench: --manifests 1..900000, --lookups >= 1\n");
    return 2;
  }
  bool own_dir = false;
  if (dir.empty()) {
    char pattern[] = "/tmp/kordon-manifest-bench-XXXXXX";
    dir = mkdtemp(pattern);
    own_dir = true;
  }
  const std::string db_path = dir + "/manifests.db";
  ::unlink(db_path.c_str());

  std::mt19937_64 random(seed);
  static const char* const kHs[] = {"080810", "520100", "847130", "620342", "251710", "870323"};
  std::vector<mf::Manifest> manifests;
  manifests.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    mf::Manifest m;
    m.number = "KG-2026-" + std::to_string(100000 + i);
    m.lane = "lane-" + std::to_string(i % 4 + 1);
    m.carrier = "Ак-Жол Транс " + std::to_string(i % 500);
    m.plates = {Plate(i)};
    m.plate_country = "KG";
    if (i % 3 != 2) m.containers = {{Container(i), "45G1"}};
    m.consignor = "Ош Жибек ЖЧК";
    m.consignee = "ТОО Алматы Сауда";
    m.origin = "CN";
    m.destination = "KZ";
    const size_t lines = 1 + random() % 3;
    for (size_t g = 0; g < lines; ++g)
      m.goods.push_back({kHs[random() % 6], "goods line " + std::to_string(g), 5000.0, 4800.0,
                         static_cast<int64_t>(10 + g)});
    m.declared_gross_kg = 5000.0 * static_cast<double>(lines) + 8000;
    if (std::string why = mf::Validate(&m); !why.empty()) {
      std::fprintf(stderr, "manifest_bench: synthetic manifest %zu: %s\n", i, why.c_str());
      return 2;
    }
    manifests.push_back(std::move(m));
  }

  kordon::sqlite::DbStatus s;
  auto store = mf::Store::Open(db_path, 5000, &s);
  if (!store) {
    std::fprintf(stderr, "manifest_bench: %s\n", s.message.c_str());
    return 2;
  }
  auto start = Clock::now();
  std::vector<mf::PutOutcome> outcomes;
  s = store->Put(manifests, {}, 1000, &outcomes);
  const double import_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!s.ok()) {
    std::fprintf(stderr, "manifest_bench: import: %s\n", s.message.c_str());
    return 2;
  }

  // The queries: half listed, half not (plates past n, containers past n).
  struct Query {
    std::string plate, container;
    bool listed = false;
    bool has_container = false;
  };
  std::vector<Query> queries;
  for (size_t k = 0; k < lookups; ++k) {
    Query q;
    q.listed = k % 2 == 0;
    // Unlisted: past n, within the 1,000,000 distinct container serials.
    const uint64_t i = q.listed ? random() % n : n + random() % (1000000 - n);
    q.plate = Plate(i);
    q.container = Container(i);
    q.has_container = q.listed && i % 3 != 2;
    queries.push_back(std::move(q));
  }

  // Baseline: an in-memory map from plate to manifest index.
  start = Clock::now();
  std::unordered_map<std::string, size_t> by_plate;
  by_plate.reserve(n);
  for (size_t i = 0; i < n; ++i) by_plate.emplace(manifests[i].plates[0], i);
  const double map_build_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> base_us;
  size_t base_found = 0;
  start = Clock::now();
  for (const Query& q : queries) {
    const auto t = Clock::now();
    auto it = by_plate.find(q.plate);
    if (it != by_plate.end()) base_found += manifests[it->second].goods.size() > 0;
    base_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  const Figures base =
      Summarise(base_us, std::chrono::duration<double>(Clock::now() - start).count());

  size_t wrong = 0;
  auto run = [&](bool plates, Figures* f) {
    std::vector<double> us;
    std::vector<mf::StoredManifest> found;
    const auto begin = Clock::now();
    for (const Query& q : queries) {
      const auto t = Clock::now();
      const auto st = plates ? store->ByPlate(q.plate, 0, &found)
                             : store->ByContainer(q.container, 0, &found);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
      const bool expect = plates ? q.listed : q.has_container;
      if (!st.ok() || found.empty() == expect) {
        if (++wrong <= 5)
          std::fprintf(stderr, "  wrong: %s %s (%s)\n", plates ? "plate" : "container",
                       plates ? q.plate.c_str() : q.container.c_str(),
                       st.ok() ? (expect ? "not found" : "found") : st.message.c_str());
      }
    }
    *f = Summarise(us, std::chrono::duration<double>(Clock::now() - begin).count());
  };
  Figures plate, container;
  run(true, &plate);
  run(false, &container);
  int64_t count = 0;
  (void)store->Count(&count);
  store.reset();
  if (own_dir) std::system(("rm -rf '" + dir + "'").c_str());

  std::printf("manifest_bench: %zu manifests (%lld stored), %zu lookups each (half listed)\n", n,
              static_cast<long long>(count), lookups);
  std::printf("  import (one transaction) %8.2f s   %8.0f manifests/s\n", import_s,
              static_cast<double>(n) / import_s);
  std::printf("  by plate      %9.0f /s  p50 %7.1f us  p99 %7.1f us  max %8.1f us\n", plate.per_s,
              plate.p50, plate.p99, plate.max);
  std::printf("  by container  %9.0f /s  p50 %7.1f us  p99 %7.1f us  max %8.1f us\n",
              container.per_s, container.p50, container.p99, container.max);
  std::printf("  baseline (unordered_map plate -> manifest in memory): build %.3f s; "
              "%9.0f /s  p50 %5.2f us  p99 %5.2f us\n",
              map_build_s, base.per_s, base.p50, base.p99);
  std::printf("  ratio: store p99 / baseline p99 = %.0fx (plate); wrong results: %zu\n",
              base.p99 > 0 ? plate.p99 / base.p99 : 0.0, wrong);
  (void)base_found;
  kordon::bench::PrintRow({"manifest", "lookup by plate p99, " + std::to_string(n) + " manifests",
                           plate.p99, "us", "in-memory unordered_map p99", base.p99,
                           base.p99 > 0 ? plate.p99 / base.p99 : 0.0, "", std::nullopt});
  kordon::bench::PrintRow({"manifest", "import (one transaction)",
                           static_cast<double>(n) / import_s, "manifests/s", "", std::nullopt,
                           std::nullopt, "", std::nullopt});
  return wrong == 0 ? 0 : 1;
}
