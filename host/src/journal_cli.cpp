// journal_cli.cpp — see journal_cli.h.
#include "journal_cli.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bus_client.h"
#include "cli_options.h"
#include "envelope.h"
#include "journal_store.h"

namespace kordon::host {

namespace po = boost::program_options;
using journal::JournalRow;
using journal::JournalStore;
using journal::QueryFilter;
using journal::StoreStatus;

namespace {

constexpr int64_t kUsPerSecond = 1000000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char kJournalUsage[] =
    "Usage: kordon journal <subcommand> DB [options]\n"
    "  query DB [--crossing ID] [--lane L] [--topic PREFIX] [--since T] [--until T]\n"
    "           [--limit N] [--json]      matching messages, oldest first\n"
    "  export DB [filters] [-o FILE]      JSON Lines (the format of kordon tail --json)\n"
    "  retention DB --older-than 30d [--max-size-mb N] [--dry-run]\n"
    "  check DB                           integrity_check and counts (exit 2 when not ok)\n"
    "T: RFC 3339 (2026-11-28T01:30:00Z) or relative to now (-30s, -15m, -2h, -1d).\n";

// The row as a bus message: what `kordon tail --json` prints, through the same ToJson.
BusMessage ToBusMessage(const JournalRow& r) {
  BusMessage m;
  m.topic = r.topic;
  IdFromHex(r.id, &m.envelope.id);
  if (!r.correlation_id.empty()) IdFromHex(r.correlation_id, &m.envelope.correlation_id);
  m.envelope.time_us = r.time_us;
  m.envelope.source = r.source;
  m.envelope.lane = r.lane;
  m.envelope.crossing_id = r.crossing_id;
  m.envelope.schema = r.schema;
  m.envelope.schema_version = r.schema_version;
  m.envelope.reply_to = r.reply_to;
  m.envelope.flags = static_cast<uint16_t>(r.flags);
  m.body = r.body;
  return m;
}

// The line `kordon tail` prints (local time, as there).
std::string HumanLine(const JournalRow& r) {
  std::time_t secs = static_cast<std::time_t>(r.time_us / kUsPerSecond);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}.{:03d} {} lane={} crossing={} from={} {}", buf,
                     static_cast<int>((r.time_us / 1000) % 1000), r.topic,
                     r.lane.empty() ? "-" : r.lane, r.crossing_id.empty() ? "-" : r.crossing_id,
                     r.source, r.body);
}

bool ParseArgs(int argc, char** argv, po::options_description& d, po::variables_map& vm,
               const std::string& usage, int* exit_code) {
  po::positional_options_description pos;
  pos.add("db", 1);
  d.add_options()("db", po::value<std::string>(), "the journal file");
  if (!ParseCommandLine(argc, argv, d, pos, usage.c_str(), &vm, exit_code, "kordon journal"))
    return false;
  if (!vm.count("db")) {
    fmt::print(stderr, "kordon journal: DB is required\n{}", usage);
    *exit_code = 1;
    return false;
  }
  return true;
}

void AddFilterOptions(po::options_description& d) {
  d.add_options()
    ("crossing", po::value<std::string>(), "only this crossing id")
    ("lane", po::value<std::string>(), "only this lane")
    ("topic", po::value<std::string>(), "only topics under this prefix (whole segments)")
    ("since", po::value<std::string>(), "from this time (RFC 3339 or -15m)")
    ("until", po::value<std::string>(), "before this time (RFC 3339 or -15m)")
    ("limit", po::value<int64_t>(), "at most N rows");
}

// False (after printing why) when a filter is malformed.
bool ReadFilter(const po::variables_map& vm, QueryFilter* f) {
  if (vm.count("crossing")) f->crossing_id = vm["crossing"].as<std::string>();
  if (vm.count("lane")) f->lane = vm["lane"].as<std::string>();
  if (vm.count("topic")) f->topic_prefix = vm["topic"].as<std::string>();
  if (vm.count("limit")) f->limit = vm["limit"].as<int64_t>();
  const int64_t now = NowUs();
  for (const char* key : {"since", "until"}) {
    if (!vm.count(key)) continue;
    const std::string text = vm[key].as<std::string>();
    std::optional<int64_t> t = ParseJournalTime(text, now);
    if (!t) {
      fmt::print(stderr, "kordon journal: --{} '{}' is neither RFC 3339 nor like -15m\n", key,
                 text);
      return false;
    }
    (std::string(key) == "since" ? f->since_us : f->until_us) = *t;
  }
  return true;
}

std::unique_ptr<JournalStore> OpenReadOnly(const std::string& path) {
  StoreStatus s;
  auto store = JournalStore::OpenReadOnly(path, &s);
  if (!store) fmt::print(stderr, "kordon journal: {}\n", s.message);
  return store;
}

int QueryOrExport(int argc, char** argv, bool is_export) {
  po::options_description d(is_export ? "kordon journal export options"
                                      : "kordon journal query options");
  AddFilterOptions(d);
  if (is_export) {
    d.add_options()("output,o", po::value<std::string>(), "write to FILE instead of stdout");
  } else {
    d.add_options()("json", "JSON Lines (the format of kordon tail --json)");
  }
  po::variables_map vm;
  int rc = 0;
  if (!ParseArgs(argc, argv, d, vm, kJournalUsage, &rc)) return rc;
  QueryFilter filter;
  if (!ReadFilter(vm, &filter)) return 1;
  auto store = OpenReadOnly(vm["db"].as<std::string>());
  if (!store) return 3;
  const bool json = is_export || vm.count("json");
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (is_export && vm.count("output")) {
    file.open(vm["output"].as<std::string>(), std::ios::out | std::ios::trunc);
    if (!file) {
      fmt::print(stderr, "kordon journal: cannot write {}\n", vm["output"].as<std::string>());
      return 3;
    }
    out = &file;
  }
  uint64_t n = 0;
  StoreStatus s = store->Query(filter, [&](const JournalRow& r) {
    if (json) {
      *out << ToBusMessage(r).ToJson().dump() << '\n';
    } else {
      *out << HumanLine(r) << '\n';
    }
    ++n;
    return static_cast<bool>(*out);
  });
  out->flush();
  if (!s.ok()) {
    fmt::print(stderr, "kordon journal: {}\n", s.message);
    return 3;
  }
  if (!*out) {
    fmt::print(stderr, "kordon journal: write failed after {} row(s)\n", n);
    return 3;
  }
  if (is_export) fmt::print(stderr, "kordon journal: exported {} message(s)\n", n);
  return 0;
}

int Retention(int argc, char** argv) {
  po::options_description d("kordon journal retention options");
  d.add_options()
    ("older-than", po::value<std::string>(), "delete rows older than this (30d, 12h, 15m)")
    ("max-size-mb", po::value<int64_t>()->default_value(0),
     "then delete the oldest rows until the data fits in N MiB")
    ("chunk", po::value<int64_t>()->default_value(5000), "rows per delete transaction")
    ("dry-run", "only count what --older-than would delete");
  po::variables_map vm;
  int rc = 0;
  if (!ParseArgs(argc, argv, d, vm, kJournalUsage, &rc)) return rc;
  int64_t cutoff = 0;
  if (vm.count("older-than")) {
    std::optional<int64_t> age = ParseJournalDuration(vm["older-than"].as<std::string>());
    if (!age) {
      fmt::print(stderr, "kordon journal: --older-than '{}' is not like 30d, 12h, 15m, 45s\n",
                 vm["older-than"].as<std::string>());
      return 1;
    }
    cutoff = NowUs() - *age;
  }
  const int64_t max_mb = vm["max-size-mb"].as<int64_t>();
  if (cutoff == 0 && max_mb <= 0) {
    fmt::print(stderr, "kordon journal: retention needs --older-than or --max-size-mb\n");
    return 1;
  }
  StoreStatus s;
  // A writer connection (it deletes), with the plugin's durability; waits for the plugin's
  // commits, which are short.
  auto store = JournalStore::OpenForWriting(vm["db"].as<std::string>(),
                                            journal::Synchronous::kFull, 10000,
                                            journal::kDefaultCacheMib, &s);
  if (!store) {
    fmt::print(stderr, "kordon journal: {}\n", s.message);
    return 3;
  }
  journal::RetentionResult r;
  s = store->Retain(cutoff, max_mb * 1024 * 1024, vm["chunk"].as<int64_t>(),
                    vm.count("dry-run") > 0, &r);
  if (!s.ok()) {
    fmt::print(stderr, "kordon journal: {}\n", s.message);
    return 3;
  }
  if (vm.count("dry-run")) {
    fmt::print("would delete {} row(s) older than the cutoff; file {} bytes\n", r.deleted_by_age,
               r.size_before);
  } else {
    fmt::print("deleted {} row(s) by age, {} by size; file {} -> {} bytes\n", r.deleted_by_age,
               r.deleted_by_size, r.size_before, r.size_after);
  }
  return 0;
}

int Check(int argc, char** argv) {
  po::options_description d("kordon journal check options");
  po::variables_map vm;
  int rc = 0;
  if (!ParseArgs(argc, argv, d, vm, kJournalUsage, &rc)) return rc;
  auto store = OpenReadOnly(vm["db"].as<std::string>());
  if (!store) return 2;  // not a readable journal: not ok
  bool ok = false;
  std::string report;
  int64_t rows = 0;
  StoreStatus s = store->IntegrityCheck(&ok, &report);
  if (s.ok()) s = store->Count(&rows);
  if (!s.ok()) {
    fmt::print(stderr, "kordon journal: {}\n", s.message);
    return 2;
  }
  int64_t first = 0;
  QueryFilter f;
  f.limit = 1;
  (void)store->Query(f, [&](const JournalRow& r) { first = r.seq; return false; });
  fmt::print("integrity_check: {}\nrows: {}\nfirst seq: {}\nbytes: {}\n", report, rows, first,
             store->FileBytes());
  return ok ? 0 : 2;
}

}  // namespace

std::optional<int64_t> ParseJournalDuration(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || n > 1000000000) return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  switch (text.back()) {
    case 's': return n * kUsPerSecond;
    case 'm': return n * 60 * kUsPerSecond;
    case 'h': return n * 3600 * kUsPerSecond;
    case 'd': return n * 86400 * kUsPerSecond;
    default: return std::nullopt;
  }
}

std::optional<int64_t> ParseJournalTime(const std::string& text, int64_t now_us) {
  if (!text.empty() && text[0] == '-') {
    std::optional<int64_t> d = ParseJournalDuration(text.substr(1));
    if (!d) return std::nullopt;
    return now_us - *d;
  }
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  char t = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &t, &h, &mi, &s,
                  &used) != 7 ||
      used != 19 || (t != 'T' && t != 't' && t != ' '))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  size_t pos = 19;
  int64_t frac_us = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100000;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      frac_us += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0, om = 0, n = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;  // RFC 3339 requires the offset
  }
  if (pos != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return secs * kUsPerSecond + frac_us;
}

int JournalCommand(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "{}", kJournalUsage);
    return 1;
  }
  const std::string sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    fmt::print("{}", kJournalUsage);
    return 0;
  }
  if (sub == "query") return QueryOrExport(argc - 1, argv + 1, false);
  if (sub == "export") return QueryOrExport(argc - 1, argv + 1, true);
  if (sub == "retention") return Retention(argc - 1, argv + 1);
  if (sub == "check") return Check(argc - 1, argv + 1);
  fmt::print(stderr, "kordon journal: unknown subcommand '{}'\n{}", sub, kJournalUsage);
  return 1;
}

}  // namespace kordon::host
