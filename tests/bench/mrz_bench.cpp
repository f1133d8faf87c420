// mrz_bench — documents per second through the mrz-reader's parsing path (line grouping,
// ICAO Doc 9303 parsing with every check digit, the scanner.document.read body), beside a
// baseline measured in the same run over the same bytes: the line splitting alone, which is
// the least any reader of this stream must do. See README.md.
//
//   mrz_bench [--documents N] [--repeat N] [--json]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mrz.h"
#include "mrz_grouper.h"
#include "mrz_message.h"
#include "bench_row.h"

namespace {

using Clock = std::chrono::steady_clock;

// The ICAO specimens (TD3, TD1, TD2) and a TD3 whose birth date needs an OCR repair, as a
// reader sends them: lines ended with CR LF.
const char* const kDocuments[] = {
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\r\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\r\n",
    "I<UTOD231458907<<<<<<<<<<<<<<<\r\n7408122F1204159UTO<<<<<<<<<<<6\r\nERIKSSON<<ANNA<MARIA<<<<<<<<<<\r\n",
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\r\nD231458907UTO7408122F1204159<<<<<<<6\r\n",
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\r\nL898902C36UTO74O8122F1204159ZE184226B<<<<<10\r\n",
};

template <typename Fn>
void ForEachLine(std::string_view stream, Fn&& fn) {
  while (!stream.empty()) {
    const char* nl = static_cast<const char*>(std::memchr(stream.data(), '\n', stream.size()));
    const size_t end = nl ? static_cast<size_t>(nl - stream.data()) : stream.size();
    std::string_view line = stream.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    stream.remove_prefix(std::min(end + 1, stream.size()));
  }
}

struct Figures {
  double per_second = 0;
  uint64_t checksum = 0;  // keeps the optimiser from dropping the work
};

Figures Baseline(const std::string& stream, size_t documents) {
  Figures f;
  const auto start = Clock::now();
  ForEachLine(stream, [&](std::string_view line) { f.checksum += line.size() + line[0]; });
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  f.per_second = static_cast<double>(documents) / s;
  return f;
}

Figures Parse(const std::string& stream, size_t documents, size_t* valid) {
  Figures f;
  const std::chrono::year_month_day today{std::chrono::year{2026}, std::chrono::month{11},
                                          std::chrono::day{28}};
  kordon::mrz::LineGrouper grouper(std::chrono::milliseconds(500));
  const auto now = kordon::mrz::LineGrouper::Clock::now();
  *valid = 0;
  const auto start = Clock::now();
  ForEachLine(stream, [&](std::string_view line) {
    for (const kordon::mrz::LineGroup& g : grouper.Feed(line, now)) {
      kordon::mrz::ParseResult r = kordon::mrz::Parse(g.Text(), today);
      if (!r.ok()) continue;
      *valid += r.document->valid();
      f.checksum += kordon::mrz::ReadBody(*r.document, "bench").size();
    }
  });
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  f.per_second = static_cast<double>(documents) / s;
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  size_t documents = 200000;
  int repeat = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if ((a == "--documents" || a == "--repeat") && i + 1 < argc) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1) {
        std::fprintf(stderr, "mrz_bench: %s needs a whole number >= 1\n", a.c_str());
        return 2;
      }
      if (a == "--documents") documents = static_cast<size_t>(v);
      else repeat = static_cast<int>(v);
    } else {
      std::fprintf(stderr, "usage: mrz_bench [--documents N] [--repeat N] [--json]\n");
      return 2;
    }
  }
  std::string stream;
  for (size_t i = 0; i < documents; ++i) stream += kDocuments[i % std::size(kDocuments)];

  std::vector<double> base, parsed;
  size_t valid = 0;
  uint64_t checksum = 0;
  for (int r = 0; r < repeat; ++r) {
    const Figures b = Baseline(stream, documents);
    const Figures p = Parse(stream, documents, &valid);
    base.push_back(b.per_second);
    parsed.push_back(p.per_second);
    checksum += b.checksum + p.checksum;
  }
  // Every document of the stream must have parsed and validated (the repaired one included):
  // a benchmark of a parser that rejects its input measures nothing.
  if (valid != documents) {
    std::fprintf(stderr, "mrz_bench: %zu of %zu documents valid\n", valid, documents);
    return 1;
  }
  const double p = Median(parsed), b = Median(base);
  if (json) {
    std::printf("%s\n", nlohmann::json{{"bench", "mrz"},
                                       {"documents", documents},
                                       {"bytes", stream.size()},
                                       {"documents_per_s", p},
                                       {"baseline_documents_per_s", b},
                                       {"ratio", p / b},
                                       {"checksum", checksum}}
                            .dump(2)
                            .c_str());
  } else {
    std::printf("mrz_bench: %zu documents (TD3, TD1, TD2, TD3 with an OCR repair), %zu bytes, median of %d\n",
                documents, stream.size(), repeat);
    std::printf("  mrz-reader parse + body   %12.0f documents/s  (%.1f MB/s)\n", p,
                p * static_cast<double>(stream.size()) / static_cast<double>(documents) / 1e6);
    std::printf("  baseline: line split only %12.0f documents/s\n", b);
    std::printf("  ratio parser/baseline     %12.2g  (%.1f µs per document against %.3f µs)\n", p / b,
                1e6 / p, 1e6 / b);
  }
  kordon::bench::PrintRow({"parsers", "MRZ: grouper + ICAO 9303 parse + body", p, "documents/s",
                           "line split only (memchr)", b, p / b, "", std::nullopt});
  return 0;
}
