// audit_cli.cpp — see audit_cli.h.
#include "audit_cli.h"

#include <time.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit_log.h"
#include "cli_options.h"
#include "plugin_signature.h"

namespace po = boost::program_options;

namespace kordon::host {
namespace {

const char kUsage[] =
    "Usage: kordon audit verify FILE [--key PUB ...]\n"
    "  checks the hash chain and the head checkpoints; exit 0 'N records, chain intact',\n"
    "  2 naming the first broken record (missing seq, prev link, hash mismatch, records\n"
    "  removed from the end), 3 when FILE is not a readable audit log. --key: the .sign.pub\n"
    "  files whose checkpoint signatures are trusted.\n"
    "       kordon audit show FILE [--since TIME] [--topic PREFIX] [--json]\n"
    "  prints the records; TIME is microseconds since the epoch or YYYY-MM-DDTHH:MM:SSZ.\n";

std::string FormatTime(int64_t us) {
  const time_t t = static_cast<time_t>(us / 1'000'000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Microseconds since the epoch, or YYYY-MM-DDTHH:MM:SSZ (UTC).
std::optional<int64_t> ParseTime(const std::string& text) {
  if (!text.empty() && text.size() <= 18 &&
      text.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(text);
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000;
}

int Verify(int argc, char** argv) {
  po::options_description d("options");
  d.add_options()("file", po::value<std::string>(), "the audit log")(
      "key,k", po::value<std::vector<std::string>>(), "a trusted .sign.pub")("help,h", "help");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kUsage, &vm, &rc, "kordon audit verify")) return rc;
  if (!vm.count("file")) {
    fmt::print(stderr, "kordon audit verify: FILE is required\n{}", kUsage);
    return 1;
  }
  std::vector<std::array<uint8_t, 32>> trusted;
  if (vm.count("key")) {
    std::string error;
    auto keys = signing::ReadPublicKeyFiles(vm["key"].as<std::vector<std::string>>(), &error);
    if (!keys) {
      fmt::print(stderr, "kordon audit verify: {}\n", error);
      return 1;
    }
    for (const signing::PublicKey& k : *keys) trusted.push_back(k.key);
  }
  const std::string file = vm["file"].as<std::string>();
  audit::VerifyResult r = audit::VerifyAuditFile(file, trusted);
  switch (r.outcome) {
    case audit::VerifyResult::Outcome::kIntact:
      fmt::print("{} records, chain intact", r.records);
      if (r.checkpoints > 0)
        fmt::print("; {} checkpoint(s), the last at seq {}{}", r.checkpoints,
                   r.last_checkpoint_seq,
                   r.checkpoint_key_id.empty() ? " (unsigned)"
                                               : " signed by key " + r.checkpoint_key_id);
      else
        fmt::print("; no checkpoint (records removed from the end cannot be detected)");
      fmt::print("\n");
      for (const std::string& n : r.notes) fmt::print("note: {}\n", n);
      return 0;
    case audit::VerifyResult::Outcome::kBroken:
      fmt::print("BROKEN at seq {}: {}\n", r.first_bad_seq, r.problem);
      return 2;
    case audit::VerifyResult::Outcome::kUnreadable:
      break;
  }
  fmt::print(stderr, "kordon audit verify: {}\n", r.problem);
  return 3;
}

int Show(int argc, char** argv) {
  po::options_description d("options");
  d.add_options()("file", po::value<std::string>(), "the audit log")(
      "since", po::value<std::string>(), "only records at or after this time")(
      "topic", po::value<std::string>()->default_value(""), "only topics with this prefix")(
      "json", "one JSON object per line")("help,h", "help");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kUsage, &vm, &rc, "kordon audit show")) return rc;
  if (!vm.count("file")) {
    fmt::print(stderr, "kordon audit show: FILE is required\n{}", kUsage);
    return 1;
  }
  int64_t since = 0;
  if (vm.count("since")) {
    auto t = ParseTime(vm["since"].as<std::string>());
    if (!t) {
      fmt::print(stderr, "kordon audit show: --since '{}' is not a time\n{}",
                 vm["since"].as<std::string>(), kUsage);
      return 1;
    }
    since = *t;
  }
  const bool json = vm.count("json") > 0;
  std::string error;
  bool ok = audit::ReadRecords(
      vm["file"].as<std::string>(), since, vm["topic"].as<std::string>(),
      [&](const audit::Record& r) {
        if (json) {
          nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
          nlohmann::json j{{"seq", r.seq},       {"time_us", r.time_us},
                           {"topic", r.topic},   {"source", r.source},
                           {"lane", r.lane},     {"crossing_id", r.crossing_id},
                           {"prev_hash", r.prev_hash}, {"hash", r.hash}};
          if (body.is_discarded())
            j["body_text"] = r.body;
          else
            j["body"] = body;
          fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        } else {
          fmt::print("{:>6} {} {} from={} lane={} crossing={} {}\n", r.seq, FormatTime(r.time_us),
                     r.topic, r.source.empty() ? "-" : r.source, r.lane.empty() ? "-" : r.lane,
                     r.crossing_id.empty() ? "-" : r.crossing_id, r.body);
        }
      },
      &error);
  if (!ok) {
    fmt::print(stderr, "kordon audit show: {}\n", error);
    return 3;
  }
  return 0;
}

}  // namespace

int AuditCommand(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "verify") return Verify(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "show") return Show(argc - 1, argv + 1);
  fmt::print(stderr, "{}", kUsage);
  return 1;
}

}  // namespace kordon::host
