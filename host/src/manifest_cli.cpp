// manifest_cli.cpp — see manifest_cli.h.
//
//   kordon manifest import FILE... --db PATH [--dry-run]
//   kordon manifest lookup --db PATH (--plate P | --container C | --manifest N) [--json]
//
// An import parses every file first and stores them all in one transaction: one bad line in
// any file imports nothing. A manifest number already in the database is replaced (amended).
#include "manifest_cli.h"

#include <ctime>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_options.h"
#include "manifest.h"
#include "manifest_message.h"
#include "manifest_store.h"

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;
namespace mf = kordon::manifest;

namespace {

const char kManifestUsage[] =
    "Usage:\n"
    "  kordon manifest import FILE... --db PATH [--dry-run]   (.csv is CSV, else JSON Lines)\n"
    "  kordon manifest lookup --db PATH (--plate P | --container C | --manifest N) [--json]\n";

int Import(int argc, char** argv) {
  po::options_description d("kordon manifest import FILE... --db PATH");
  d.add_options()("help,h", "this help")("db", po::value<std::string>(), "the SQLite file")(
      "dry-run", "check the files only; the database is not opened")(
      "file", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kManifestUsage, &vm, &rc, "kordon manifest import"))
    return rc;
  const bool dry_run = vm.count("dry-run") > 0;
  if (!vm.count("file") || (!dry_run && !vm.count("db"))) {
    fmt::print(stderr, "kordon manifest import: FILE and --db are required\n{}", kManifestUsage);
    return 1;
  }
  std::vector<mf::Manifest> manifests;
  std::vector<std::string> sources;
  bool refused = false;
  for (const std::string& file : vm["file"].as<std::vector<std::string>>()) {
    mf::ParseResult r = mf::ParseFile(file);
    if (!r.ok()) {
      fmt::print(stderr, "{}\n", mf::FormatErrors(file, r));
      refused = true;
      continue;
    }
    for (size_t i = 0; i < r.manifests.size(); ++i) {
      manifests.push_back(std::move(r.manifests[i]));
      sources.push_back("import:" + file + ":" + std::to_string(r.lines[i]));
    }
  }
  if (refused) {
    fmt::print(stderr, "kordon manifest import: nothing was imported\n");
    return 2;
  }
  if (dry_run) {
    fmt::print("{} manifests are valid (dry run: nothing was imported)\n", manifests.size());
    return 0;
  }
  kordon::sqlite::DbStatus s;
  auto store = mf::Store::Open(vm["db"].as<std::string>(), 5000, &s);
  if (!store) {
    fmt::print(stderr, "kordon manifest import: {}\n", s.message);
    return 3;
  }
  std::vector<mf::PutOutcome> outcomes;
  s = store->Put(manifests, sources, static_cast<int64_t>(std::time(nullptr)), &outcomes);
  if (!s.ok()) {
    fmt::print(stderr, "kordon manifest import: {}; nothing was imported\n", s.message);
    return 3;
  }
  size_t added = 0, amended = 0, unchanged = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i] == mf::PutOutcome::kNew) ++added;
    if (outcomes[i] == mf::PutOutcome::kUnchanged) ++unchanged;
    if (outcomes[i] == mf::PutOutcome::kAmended) {
      ++amended;
      fmt::print("manifest {} amended (replaced)\n", manifests[i].number);
    }
  }
  fmt::print("imported {} manifests into {}: {} new, {} amended, {} unchanged\n",
             manifests.size(), vm["db"].as<std::string>(), added, amended, unchanged);
  return 0;
}

int Lookup(int argc, char** argv) {
  po::options_description d("kordon manifest lookup --db PATH");
  d.add_options()("help,h", "this help")("db", po::value<std::string>(), "the SQLite file")(
      "plate", po::value<std::string>(), "a plate (normalised as plate-reader does)")(
      "container", po::value<std::string>(), "an ISO 6346 container code")(
      "manifest", po::value<std::string>(), "a manifest number")(
      "json", "one JSON object per manifest and line");
  po::positional_options_description pos;
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kManifestUsage, &vm, &rc, "kordon manifest lookup"))
    return rc;
  const int given = static_cast<int>(vm.count("plate") + vm.count("container") +
                                     vm.count("manifest"));
  if (!vm.count("db") || given != 1) {
    fmt::print(stderr,
               "kordon manifest lookup: --db and exactly one of --plate, --container, "
               "--manifest are required\n{}",
               kManifestUsage);
    return 1;
  }
  // The same parsing and normalisation as the db.manifest.lookup service.
  const std::string which =
      vm.count("plate") ? "plate" : vm.count("container") ? "container" : "manifest";
  std::string error;
  const std::optional<mf::LookupKey> key = mf::FromLookupRequest(
      nlohmann::json({{which, vm[which].as<std::string>()}}).dump(), &error);
  if (!key) {
    fmt::print(stderr, "kordon manifest lookup: {}\n", error);
    return 1;
  }
  kordon::sqlite::DbStatus s;
  auto store = mf::Store::Open(vm["db"].as<std::string>(), 5000, &s);
  if (!store) {
    fmt::print(stderr, "kordon manifest lookup: {}\n", s.message);
    return 3;
  }
  std::vector<mf::StoredManifest> found;
  if (which == "plate") {
    s = store->ByPlate(key->value, 0, &found);
  } else if (which == "container") {
    s = store->ByContainer(key->value, 0, &found);
  } else {
    s = store->ByNumber(key->value, &found);
  }
  if (!s.ok()) {
    fmt::print(stderr, "kordon manifest lookup: {}\n", s.message);
    return 3;
  }
  for (const mf::StoredManifest& m : found) {
    if (vm.count("json")) {
      fmt::print("{}\n", mf::StoredJson(m));
      continue;
    }
    std::string plates, containers;
    for (const std::string& p : m.manifest.plates) plates += (plates.empty() ? "" : ",") + p;
    for (const mf::Container& c : m.manifest.containers)
      containers += (containers.empty() ? "" : ",") + c.code;
    fmt::print("{}  rev {}  plates {}  containers {}  {} -> {}  {} kg  carrier {}  ({})\n",
               m.manifest.number, m.revision, plates.empty() ? "-" : plates,
               containers.empty() ? "-" : containers, m.manifest.origin,
               m.manifest.destination, m.manifest.declared_gross_kg, m.manifest.carrier,
               m.source);
  }
  if (found.empty()) {
    if (!vm.count("json")) fmt::print("no manifest for {} {}\n", which, key->value);
    return 4;
  }
  return 0;
}

}  // namespace

int ManifestCommand(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "import") return Import(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "lookup") return Lookup(argc - 1, argv + 1);
  fmt::print(stderr, "kordon manifest: unknown subcommand\n{}", kManifestUsage);
  return 1;
}
