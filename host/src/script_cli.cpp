// script_cli.cpp — see script_cli.h.
//
//   kordon script check FILE... [--setting KEY=VALUE]... [--config INI --procedure NAME]
//   kordon script test FILE --replay RECORDING.jsonl [--expect EXPECTED.jsonl |
//                           --write-expect EXPECTED.jsonl] [--services SERVICES.json]
//                           [--setting KEY=VALUE]... [--config INI --procedure NAME]
//                           [--settle-ms N] [--quiet]
//
// Both run the engine of host/src/lua exactly as the procedures plugin does (same sandbox,
// same limits, same API); `test` replaces the bus and the clock with a recording and a
// simulated clock (replay.h).
#include "script_cli.h"

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_options.h"
#include "config.h"
#include "replay.h"
#include "script.h"

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;
namespace lua = kordon::lua;
using nlohmann::json;

namespace kordon::host {
namespace {

const char kScriptUsage[] =
    "Usage:\n"
    "  kordon script check FILE... [--setting KEY=VALUE]... [--config INI --procedure NAME]\n"
    "  kordon script test FILE --replay RECORDING.jsonl [--expect EXPECTED.jsonl |\n"
    "                     --write-expect EXPECTED.jsonl] [--services SERVICES.json]\n"
    "                     [--setting KEY=VALUE]... [--config INI --procedure NAME]\n"
    "                     [--settle-ms N] [--quiet]\n"
    "Exit codes: 0 ok; 1 usage; 2 the script has problems (check), failed to load, failed\n"
    "while running, or its effects differ from the expectation (test); 3 an input file\n"
    "cannot be read or is malformed.\n";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = std::move(s).str();
  return !in.bad();
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Options shared by check and test: the script's settings, from a host configuration section
// and/or --setting (which wins).
struct Common {
  std::map<std::string, std::string> settings;
  std::string config_script;  // `script` of the [plugin.NAME] section, when given
};

// Fills common from vm; false (with a message printed) on a usage or configuration error;
// *rc says which.
bool ReadCommon(const po::variables_map& vm, const char* who, Common* c, int* rc) {
  if (vm.count("config") != vm.count("procedure")) {
    fmt::print(stderr, "kordon script {}: --config and --procedure go together\n", who);
    *rc = 1;
    return false;
  }
  if (vm.count("config")) {
    Result<HostConfig> config = LoadConfigFile(vm["config"].as<std::string>());
    if (!config.ok()) {
      fmt::print(stderr, "kordon script {}: {}\n", who, config.status().message());
      *rc = 3;
      return false;
    }
    const std::string name = vm["procedure"].as<std::string>();
    const InstanceConfig* found = nullptr;
    for (const InstanceConfig& i : config->instances)
      if (i.name == name) found = &i;
    if (found == nullptr) {
      fmt::print(stderr, "kordon script {}: {} has no [plugin.{}] section\n", who,
                 vm["config"].as<std::string>(), name);
      *rc = 3;
      return false;
    }
    for (const auto& [k, v] : found->settings) {
      if (k == "script") c->config_script = v;
      c->settings[k] = v;
    }
  }
  if (vm.count("setting")) {
    for (const std::string& kv : vm["setting"].as<std::vector<std::string>>()) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        fmt::print(stderr, "kordon script {}: --setting '{}' is not KEY=VALUE\n", who, kv);
        *rc = 1;
        return false;
      }
      c->settings[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return true;
}

bool ParseArgs(int argc, char** argv, po::options_description& d,
               po::positional_options_description& pos, po::variables_map& vm, int* rc) {
  d.add_options()(
      "setting", po::value<std::vector<std::string>>()->composing(),
      "KEY=VALUE: a setting of the script (kordon.setting), repeatable")(
      "config", po::value<std::string>(), "a host configuration file")(
      "procedure", po::value<std::string>(),
      "the [plugin.NAME] section of --config whose settings the script gets");
  return ParseCommandLine(argc, argv, d, pos, kScriptUsage, &vm, rc, "kordon script");
}

void PrintErrors(const std::vector<lua::ScriptError>& errors) {
  for (const lua::ScriptError& e : errors) {
    fmt::print(stderr, "{} error: {}\n", lua::KindName(e.kind), e.message);
    if (!e.traceback.empty()) fmt::print(stderr, "{}\n", e.traceback);
  }
}

int Check(int argc, char** argv) {
  po::options_description d("kordon script check FILE...");
  d.add_options()("file", po::value<std::vector<std::string>>(), "the scripts");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseArgs(argc, argv, d, pos, vm, &rc)) return rc;
  Common common;
  if (!ReadCommon(vm, "check", &common, &rc)) return rc;
  std::vector<std::string> files;
  if (vm.count("file")) files = vm["file"].as<std::vector<std::string>>();
  if (files.empty() && !common.config_script.empty()) files.push_back(common.config_script);
  if (files.empty()) {
    fmt::print(stderr, "kordon script check: FILE is required\n{}", kScriptUsage);
    return 1;
  }
  int result = 0;
  for (const std::string& file : files) {
    std::string text;
    if (!ReadFile(file, &text)) {
      fmt::print(stderr, "{}: cannot be read\n", file);
      result = 3;
      continue;
    }
    const std::string name = BaseName(file);
    std::vector<std::string> problems = lua::CheckScript(text, name);
    if (problems.empty()) {
      // The dry run: the top level runs in the sandbox exactly as at load (kordon.on with a
      // non-function, a setting of the wrong type, a loop at the top level...).
      lua::ReplayOptions options;
      options.settings = common.settings;
      options.settle_ms = 0;
      lua::ReplayResult r = lua::Replay(text, name, {}, options);
      if (!r.loaded) problems.push_back(r.load_error.message);
    }
    for (const std::string& p : problems) fmt::print("{}\n", p);
    if (problems.empty()) fmt::print("{}: ok\n", file);
    else if (result == 0) result = 2;
  }
  return result;
}

// Reads a JSON Lines file of objects; false (printed) on a bad line.
bool ReadJsonLines(const std::string& path, std::vector<json>* out) {
  std::string text;
  if (!ReadFile(path, &text)) {
    fmt::print(stderr, "{}: cannot be read\n", path);
    return false;
  }
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      fmt::print(stderr, "{}:{}: not a JSON object\n", path, n);
      return false;
    }
    out->push_back(std::move(j));
  }
  return true;
}

int Test(int argc, char** argv) {
  po::options_description d("kordon script test FILE --replay RECORDING.jsonl");
  d.add_options()("file", po::value<std::string>(), "the script")(
      "replay", po::value<std::string>(),
      "the recorded stream: JSON Lines as `kordon tail --json` and journal exports write")(
      "expect", po::value<std::string>(),
      "the expected effects (JSON Lines); exit 2 when they differ")(
      "write-expect", po::value<std::string>(),
      "write the effects of this run as the expectation")(
      "services", po::value<std::string>(),
      "canned replies of services: {\"crossings.command\": {...} | [{...}, ...]}")(
      "settle-ms", po::value<long long>()->default_value(300000),
      "simulated time run after the last message (waits time out, timers fire)")(
      "quiet,q", "do not print the script's log");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseArgs(argc, argv, d, pos, vm, &rc)) return rc;
  Common common;
  if (!ReadCommon(vm, "test", &common, &rc)) return rc;
  std::string file = vm.count("file") ? vm["file"].as<std::string>() : common.config_script;
  if (file.empty() || !vm.count("replay")) {
    fmt::print(stderr, "kordon script test: FILE and --replay are required\n{}", kScriptUsage);
    return 1;
  }
  if (vm.count("expect") && vm.count("write-expect")) {
    fmt::print(stderr, "kordon script test: --expect and --write-expect exclude each other\n");
    return 1;
  }
  const long long settle = vm["settle-ms"].as<long long>();
  if (settle < 0 || settle > 7LL * 24 * 3600 * 1000) {
    fmt::print(stderr, "kordon script test: --settle-ms must be 0..604800000\n");
    return 1;
  }

  std::string text, recording_text;
  if (!ReadFile(file, &text)) {
    fmt::print(stderr, "{}: cannot be read\n", file);
    return 3;
  }
  const std::string replay_path = vm["replay"].as<std::string>();
  if (!ReadFile(replay_path, &recording_text)) {
    fmt::print(stderr, "{}: cannot be read\n", replay_path);
    return 3;
  }
  std::vector<lua::RecordedMessage> recording;
  std::string error;
  if (!lua::ParseRecording(recording_text, replay_path, &recording, &error)) {
    fmt::print(stderr, "{}\n", error);
    return 3;
  }
  lua::ReplayOptions options;
  options.settings = common.settings;
  options.settle_ms = settle;
  if (vm.count("services")) {
    const std::string path = vm["services"].as<std::string>();
    std::string s;
    if (!ReadFile(path, &s)) {
      fmt::print(stderr, "{}: cannot be read\n", path);
      return 3;
    }
    options.services = json::parse(s, nullptr, false);
    if (options.services.is_discarded() || !options.services.is_object()) {
      fmt::print(stderr, "{}: not a JSON object of service name → reply\n", path);
      return 3;
    }
  }
  std::vector<json> expected;
  if (vm.count("expect") && !ReadJsonLines(vm["expect"].as<std::string>(), &expected)) return 3;

  const lua::ReplayResult r = lua::Replay(text, BaseName(file), recording, options);
  if (!r.loaded) {
    fmt::print(stderr, "{}: does not load: {}\n", file, r.load_error.message);
    return 2;
  }
  for (const json& e : r.effects) fmt::print("{}\n", Dump(e));
  if (!vm.count("quiet"))
    for (const std::string& line : r.log) fmt::print(stderr, "{}\n", line);
  PrintErrors(r.errors);
  fmt::print(stderr, "{}: {} messages replayed ({} handled), {} effects, {} errors, {:.3f} s "
             "simulated\n", BaseName(file), recording.size(), r.messages, r.effects.size(),
             r.errors.size(),
             recording.empty() ? 0.0 : (r.end_us - recording.front().message.time_us) / 1e6);
  int result = r.errors.empty() ? 0 : 2;
  if (r.runaway) {
    fmt::print(stderr, "stopped: more than {} timer callbacks (a kordon.every too fast for "
               "--settle-ms?)\n", options.max_timer_fires);
    result = 2;
  }
  if (vm.count("write-expect")) {
    const std::string path = vm["write-expect"].as<std::string>();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const json& e : r.effects) out << Dump(e) << "\n";
    if (!out.flush()) {
      fmt::print(stderr, "{}: cannot be written\n", path);
      return 3;
    }
    fmt::print(stderr, "expectation written to {}\n", path);
  }
  if (vm.count("expect")) {
    const std::vector<std::string> diffs = lua::CompareEffects(expected, r.effects);
    for (const std::string& d : diffs) fmt::print(stderr, "{}\n", d);
    fmt::print(stderr, "expectation {}: {}\n", vm["expect"].as<std::string>(),
               diffs.empty() ? "met" : fmt::format("NOT met ({} differences)", diffs.size()));
    if (!diffs.empty()) result = 2;
  }
  return result;
}

}  // namespace

int ScriptCommand(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "{}", kScriptUsage);
    return 1;
  }
  const std::string sub = argv[1];
  if (sub == "check") return Check(argc - 1, argv + 1);
  if (sub == "test") return Test(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << kScriptUsage;
    return 0;
  }
  fmt::print(stderr, "kordon script: unknown command '{}'\n{}", sub, kScriptUsage);
  return 1;
}

}  // namespace kordon::host
