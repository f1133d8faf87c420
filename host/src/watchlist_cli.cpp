// watchlist_cli.cpp — see watchlist_cli.h.
//
//   kordon watchlist import DB FILE --list NAME [--format csv|un-xml]
//   kordon watchlist check DB [--name N] [--birth-date D] [--nationality C]
//                             [--document NUMBER] [--plate P] [--vin V] [--min-score S]
//
// An import replaces the list NAME in one transaction; a running watchlist plugin notices
// the commit (PRAGMA data_version) and swaps its index.
#include "watchlist_cli.h"

#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_options.h"
#include "store.h"
#include "watchlist.h"

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;
namespace wl = kordon::watchlist;

namespace {

const char kWatchlistUsage[] =
    "Usage:\n"
    "  kordon watchlist import DB FILE --list NAME [--format csv|un-xml]\n"
    "  kordon watchlist check DB [--name N] [--birth-date YYYY-MM-DD] [--nationality KGZ]\n"
    "                            [--document NUMBER] [--plate PLATE] [--vin VIN]\n";

int Import(int argc, char** argv) {
  po::options_description d("kordon watchlist import DB FILE");
  d.add_options()("help,h", "this help")(
      "list", po::value<std::string>(), "the list to replace (required)")(
      "format", po::value<std::string>()->default_value(""),
      "csv or un-xml (default: by the extension, .xml is un-xml)")(
      "db", po::value<std::string>(), "")("file", po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add("db", 1).add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kWatchlistUsage, &vm, &rc,
                        "kordon watchlist import"))
    return rc;
  if (!vm.count("db") || !vm.count("file") || !vm.count("list")) {
    fmt::print(stderr, "kordon watchlist import: DB, FILE and --list are required\n{}",
               kWatchlistUsage);
    return 1;
  }
  std::unique_ptr<wl::Store> store;
  try {
    store = std::make_unique<wl::Store>(vm["db"].as<std::string>());
  } catch (const std::exception& e) {
    fmt::print(stderr, "kordon watchlist import: {}\n", e.what());
    return 3;
  }
  const wl::ImportOutcome r = wl::ImportFile(*store, vm["file"].as<std::string>(),
                                             vm["list"].as<std::string>(),
                                             vm["format"].as<std::string>());
  if (!r.ok) {
    fmt::print(stderr, "kordon watchlist import: {}\n", r.error);
    return r.error.find("cannot store") == 0 ? 3 : 2;
  }
  fmt::print("imported {} entries into list '{}' of {}{}\n", r.entries,
             vm["list"].as<std::string>(), vm["db"].as<std::string>(),
             r.skipped ? fmt::format(" ({} ENTITY records skipped)", r.skipped) : "");
  return 0;
}

int Check(int argc, char** argv) {
  po::options_description d("kordon watchlist check DB");
  d.add_options()("help,h", "this help")("name", po::value<std::string>(), "a name")(
      "birth-date", po::value<std::string>(), "YYYY-MM-DD or YYYY")(
      "nationality", po::value<std::string>(), "ISO 3166 alpha-3")(
      "document", po::value<std::string>(), "a document number")(
      "plate", po::value<std::string>(), "a normalised plate")(
      "vin", po::value<std::string>(), "a VIN")(
      "min-score", po::value<double>()->default_value(0.85), "threshold")(
      "db", po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kWatchlistUsage, &vm, &rc,
                        "kordon watchlist check"))
    return rc;
  if (!vm.count("db")) {
    fmt::print(stderr, "kordon watchlist check: DB is required\n{}", kWatchlistUsage);
    return 1;
  }
  auto get = [&](const char* k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  wl::Query q;
  q.name = get("name");
  q.birth_date = get("birth-date");
  q.nationality = get("nationality");
  q.document_number = get("document");
  q.plate = get("plate");
  q.vin = get("vin");
  wl::MatchOptions options;
  options.min_score = vm["min-score"].as<double>();
  options.max_hits = 20;
  std::vector<wl::Entry> entries;
  std::string error;
  try {
    wl::Store store(vm["db"].as<std::string>());
    if (!store.LoadAll(&entries, &error)) {
      fmt::print(stderr, "kordon watchlist check: {}\n", error);
      return 3;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "kordon watchlist check: {}\n", e.what());
    return 3;
  }
  auto snapshot = wl::Snapshot::Build(std::move(entries));
  const std::vector<wl::Hit> hits = snapshot->Check(q, options);
  for (const wl::Hit& h : hits)
    fmt::print("{:.3f}  {}/{}  {}  {}\n", h.score, h.entry->list, h.entry->id, h.entry->reason,
               h.explanation);
  if (hits.empty()) fmt::print("no hit\n");
  return 0;
}

}  // namespace

int WatchlistCommand(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "import") return Import(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "check") return Check(argc - 1, argv + 1);
  fmt::print(stderr, "kordon watchlist: unknown subcommand\n{}", kWatchlistUsage);
  return 1;
}
