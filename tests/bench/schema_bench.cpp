// schema_bench — what [host] validate_schemas costs per published body: parsing the body and
// checking it against its schema (host/src/schema), for a small body (scale.weight.stable,
// ~250 bytes) and a large one (a whole crossing.closed picture from the demo, ~5.5 KB); beside
// the baseline of what the host does to every publish anyway — ValidateBody (the UTF-8 and
// JSON-object check) — measured in the same run, with the ratio.
//
// Exit status 1 when a body does not conform (the smoke run, bench.schema_smoke, checks that).
//
//   schema_bench [--iterations N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "envelope.h"
#include "schema.h"
#include "bench_row.h"

using Clock = std::chrono::steady_clock;

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename Fn>
double NsPer(long n, Fn&& fn) {
  double best = 1e18;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) fn();
    best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
                              static_cast<double>(n));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  long n = 20000;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--iterations")) n = std::atol(argv[i + 1]);
  const std::string dir = KORDON_SOURCE_DIR;
  kordon::schema::SchemaSet schemas;
  std::string error;
  if (!schemas.Load(dir + "/sdk/schemas", &error)) {
    std::fprintf(stderr, "schema_bench: %s\n", error.c_str());
    return 1;
  }
  struct Case {
    const char* schema;
    std::string body;
  } cases[] = {
      {"scale.weight.stable",
       R"({"scale":"lane1-scale","kg":24020,"tare_kg":0,"net":false,"window_ms":1200,)"
       R"("readings":6,"min_kg":24000,"max_kg":24030,"raw":{"value":"24020","unit":"kg"},)"
       R"("frame":"S S      24020 kg","vehicle_seq":17})"},
      {"crossing.closed", Read(dir + "/tests/bench/data/crossing.closed.json")},
  };
  std::printf("schema_bench: best of 3 x %ld, ns per body\n", n);
  std::printf("  %-22s %6s  %12s  %14s  %6s\n", "schema", "bytes", "baseline", "parse+validate",
              "ratio");
  int status = 0;
  for (const Case& c : cases) {
    const nlohmann::json* sch = schemas.Find(c.schema, 1);
    const auto problems =
        kordon::schema::Problems(nlohmann::json::parse(c.body, nullptr, false), *sch);
    if (sch == nullptr || !problems.empty()) {
      std::fprintf(stderr, "schema_bench: the %s body does not conform: %s\n", c.schema,
                   problems.empty() ? "no schema" : problems.front().c_str());
      status = 1;
      continue;
    }
    volatile bool sink = false;
    const double base = NsPer(n, [&] { sink = kordon::host::ValidateBody(c.body, 1 << 20).ok(); });
    const double full = NsPer(n, [&] {
      sink = kordon::schema::Problems(nlohmann::json::parse(c.body, nullptr, false), *sch).empty();
    });
    std::printf("  %-22s %6zu  %12.0f  %14.0f  %6.1f\n", c.schema, c.body.size(), base, full,
                full / base);
    kordon::bench::PrintRow({"schema",
                             std::string("validate_schemas: parse + check ") + c.schema + " (" +
                                 std::to_string(c.body.size()) + " B)",
                             full / 1000, "us/body", "the host's own body check (ValidateBody)",
                             base / 1000, full / base, "", std::nullopt});
  }
  return status;
}
