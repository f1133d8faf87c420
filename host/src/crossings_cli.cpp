// crossings_cli.cpp — see crossings_cli.h.
//
//   kordon crossings search --db PATH [--plate P] [--document N] [--name TEXT]
//                           [--container C] [--lane L] [--since T] [--until T]
//                           [--state open|held|closed] [--limit N] [--json]
//   kordon crossings show --db PATH ID [--json]
//
// The filters are those of the crossings.search service (plugins/crossings/README.md): plate,
// document and container exact after normalisation, name contained in a holder's name after
// transliteration (Cyrillic or Latin). T as `kordon journal` takes it: RFC 3339 or -15m/-2h/-1d.
#include "crossings_cli.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_options.h"
#include "command.h"
#include "crossing.h"
#include "crossing_store.h"
#include "journal_cli.h"

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;
namespace cx = kordon::crossings;
using Json = nlohmann::json;

namespace {

const char kCrossingsUsage[] =
    "Usage:\n"
    "  kordon crossings search --db PATH [--plate P] [--document N] [--name TEXT]\n"
    "                          [--container C] [--lane L] [--since T] [--until T]\n"
    "                          [--state open|held|closed] [--limit N] [--json]\n"
    "  kordon crossings show --db PATH ID [--json]\n"
    "T: RFC 3339 (2026-11-28T01:30:00Z) or relative to now (-30s, -15m, -2h, -1d).\n";

std::string Text(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string Joined(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const Json& v : list)
    out += (out.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

std::unique_ptr<cx::CrossingStore> OpenReadOnly(const std::string& path, const char* command) {
  std::string error;
  auto store = cx::CrossingStore::Open(path, true, 2000, &error);
  if (!store) fmt::print(stderr, "kordon crossings {}: {}\n", command, error);
  return store;
}

void PrintSummary(const Json& s) {
  std::string state = Text(s, "state");
  if (state == "closed") {
    state += " (" + Text(s, "close_reason");
    if (!Text(s, "decision").empty()) state += ": " + Text(s, "decision");
    state += ")";
  }
  fmt::print("{}  {}  {}  opened {}", Text(s, "id"), Text(s, "lane"), state, Text(s, "opened"));
  if (!Text(s, "closed").empty()) fmt::print("  closed {}", Text(s, "closed"));
  fmt::print("\n");
  if (!s["plates"].empty()) fmt::print("    plates: {}\n", Joined(s["plates"]));
  if (!s["names"].empty()) fmt::print("    people: {}\n", Joined(s["names"]));
  if (!s["documents"].empty()) fmt::print("    documents: {}\n", Joined(s["documents"]));
  if (!s["containers"].empty()) fmt::print("    containers: {}\n", Joined(s["containers"]));
  if (s.value("hits", 0) > 0) fmt::print("    watchlist hits: {}\n", s["hits"].dump());
  if (!Text(s, "channel").empty())
    fmt::print("    {}: {}\n", s.value("overridden", false) ? "channel (supervisor's override)"
                                                             : "risk channel",
               Text(s, "channel"));
  if (s.value("late", false)) fmt::print("    changed after it closed (late)\n");
}

void PrintPicture(const Json& p) {
  PrintSummary(cx::Summary(p));
  if (const Json o = p.value("override", Json()); o.is_object())
    fmt::print("    overridden by {} ({}): {}; the assessment said {}\n", Text(o, "user"),
               Text(o, "role"), Text(o, "reason"),
               Text(o, "risk_channel").empty() ? "nothing" : Text(o, "risk_channel"));
  fmt::print("    revision {}, evidence {} messages\n", Text(p, "revision"),
             Text(p, "evidence_total"));
  for (const Json& d : p.value("documents", Json::array()))
    fmt::print("    document {} {}/{}: {} {}, {} born {}, valid {}\n", Text(d, "document_code"),
               Text(d, "document_number"), Text(d, "issuing_state"),
               Text(d, "primary_identifier"), Text(d, "secondary_identifier"),
               Text(d, "nationality"), Text(d, "birth_date"), Text(d, "valid"));
  for (const Json& k : p.value("containers", Json::array()))
    fmt::print("    container {}: check digit {}\n", Text(k, "code"),
               Text(k, "valid") == "true" ? "valid" : "NOT valid");
  const Json weights = p.value("weights", Json::object());
  if (weights.contains("latest") && weights["latest"].is_object())
    fmt::print("    weight {} kg (scale {})\n", Text(weights["latest"], "kg"),
               Text(weights["latest"], "scale"));
  for (const Json& x : p.value("xray", Json::array()))
    fmt::print("    X-ray scan {}: {}\n", Text(x, "scan_id"), Text(x, "image_path"));
  for (const Json& h : p.value("hits", Json::array()))
    fmt::print("    HIT {}/{} score {}: {}\n", Text(h["entry"], "list"), Text(h["entry"], "id"),
               Text(h, "score"), Text(h, "explanation"));
  for (const Json& e : p.value("screening_errors", Json::array()))
    fmt::print("    NOT SCREENED: {}\n", Text(e, "reason"));
  for (const Json& m : p.value("manifests", Json::array()))
    fmt::print("    manifest {}: {}\n", Text(m, "status"),
               m["manifest"].is_object() ? Text(m["manifest"], "manifest") : "");
  for (const Json& pr : p.value("problems", Json::array()))
    fmt::print("    problem: {} {}: {}\n", Text(pr, "topic"), Text(pr, "id"), Text(pr, "reason"));
  if (p.contains("facts") && p["facts"].is_object())
    for (const auto& [key, f] : p["facts"].items())
      if (f.is_object())
        fmt::print("    fact {} = {} ({})\n", key, f.value("value", Json()).dump(),
                   Text(f, "source"));
  for (const Json& n : p.value("notes", Json::array()))
    fmt::print("    note ({}): {}\n", Text(n, "source"), Text(n, "text"));
  if (p.contains("decision") && p["decision"].is_object())
    fmt::print("    decision: {} by {} — {}\n", Text(p["decision"], "decision"),
               Text(p["decision"], "officer"), Text(p["decision"], "notes"));
}

int Search(int argc, char** argv) {
  po::options_description d("kordon crossings search");
  d.add_options()("help,h", "this help")("db", po::value<std::string>(), "the crossings file")(
      "plate", po::value<std::string>(), "a plate (normalised as cameras' reads are)")(
      "document", po::value<std::string>(), "a document number")(
      "name", po::value<std::string>(), "part of a name, Latin or Cyrillic")(
      "container", po::value<std::string>(), "a container code")(
      "lane", po::value<std::string>(), "a lane")(
      "since", po::value<std::string>(), "opened at or after T")(
      "until", po::value<std::string>(), "opened before T")(
      "state", po::value<std::string>(), "open, held or closed")(
      "limit", po::value<int64_t>()->default_value(50), "at most this many (1-1000)")(
      "json", "one JSON picture per line");
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, {}, kCrossingsUsage, &vm, &rc, "kordon crossings search"))
    return rc;
  if (!vm.count("db")) {
    fmt::print(stderr, "kordon crossings search: --db is required\n{}", kCrossingsUsage);
    return 1;
  }
  Json body = {{"limit", vm["limit"].as<int64_t>()}};
  for (const char* key : {"plate", "document", "name", "container", "lane", "state"})
    if (vm.count(key)) body[key] = vm[key].as<std::string>();
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (const char* key : {"since", "until"}) {
    if (!vm.count(key)) continue;
    auto t = kordon::host::ParseJournalTime(vm[key].as<std::string>(), now);
    if (!t) {
      fmt::print(stderr, "kordon crossings search: --{} '{}' is not RFC 3339 or -N[smhd]\n", key,
                 vm[key].as<std::string>());
      return 1;
    }
    body[std::string(key) + "_us"] = *t;
  }
  std::string error;
  std::optional<cx::SearchQuery> q = cx::ParseSearch(body.dump(), &error);
  if (!q) {
    fmt::print(stderr, "kordon crossings search: {}\n", error);
    return 1;
  }
  auto store = OpenReadOnly(vm["db"].as<std::string>(), "search");
  if (!store) return 3;
  std::vector<Json> found;
  if (auto s = store->Search(*q, &found); !s.ok()) {
    fmt::print(stderr, "kordon crossings search: {}\n", s.message);
    return 3;
  }
  for (const Json& p : found) {
    if (vm.count("json")) fmt::print("{}\n", p.dump());
    else PrintSummary(cx::Summary(p));
  }
  if (found.empty() && !vm.count("json")) fmt::print("no crossing found\n");
  return 0;
}

int Show(int argc, char** argv) {
  po::options_description d("kordon crossings show");
  d.add_options()("help,h", "this help")("db", po::value<std::string>(), "the crossings file")(
      "json", "the picture as JSON")("id", po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kCrossingsUsage, &vm, &rc,
                        "kordon crossings show"))
    return rc;
  if (!vm.count("db") || !vm.count("id")) {
    fmt::print(stderr, "kordon crossings show: --db and ID are required\n{}", kCrossingsUsage);
    return 1;
  }
  auto store = OpenReadOnly(vm["db"].as<std::string>(), "show");
  if (!store) return 3;
  const std::string id = vm["id"].as<std::string>();
  kordon::sqlite::DbStatus s;
  std::optional<cx::Crossing> c = store->Get(id, &s);
  if (!s.ok()) {
    fmt::print(stderr, "kordon crossings show: {}\n", s.message);
    return 3;
  }
  if (!c) {
    fmt::print(stderr, "kordon crossings show: no crossing '{}'\n", id);
    return 2;
  }
  if (vm.count("json")) fmt::print("{}\n", c->ToJson().dump());
  else PrintPicture(c->ToJson());
  return 0;
}

}  // namespace

int CrossingsCommand(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "search") return Search(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "show") return Show(argc - 1, argv + 1);
  fmt::print(stderr, "kordon crossings: unknown subcommand\n{}", kCrossingsUsage);
  return 1;
}
