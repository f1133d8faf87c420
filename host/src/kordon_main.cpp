// kordon: the command-line tool.
//
//   kordon tail [PREFIX...]        print bus messages live
//   kordon pub TOPIC JSON          publish one message
//   kordon devices                 ask every device plugin for its state and print a table
//   kordon plugin info FILE        print a plugin's descriptor without starting it
//   kordon keys generate --out P   write a CURVE key pair (P.key 0600, P.pub)
//   kordon version
//
// Exit codes: 0 success, 1 usage error, 2 refused (bad plugin, rejected message),
// 3 the host could not be reached or did not confirm in time, 4 (devices) a device is not
// healthy or none answered.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bus_client.h"
#include "cli_options.h"
#include "config.h"
#include "audit_cli.h"
#include "crossings_cli.h"
#include "curve.h"
#include "journal_cli.h"
#include "keys_cli.h"
#include "manifest_cli.h"
#include "plugin_library.h"
#include "risk_cli.h"
#include "script_cli.h"
#include "signing_cli.h"
#include "plugin_check.h"
#include "plugin_new.h"
#include "topic.h"
#include "users_cli.h"
#include "watchlist_cli.h"

#include <thread>

namespace po = boost::program_options;
using namespace kordon::host;

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

const char kUsage[] =
    "Usage: kordon <command> [options]\n"
    "\n"
    "Commands:\n"
    "  tail [PREFIX...]     print bus messages live (all when no prefix is given)\n"
    "  pub TOPIC JSON       publish one message and confirm that the host accepted it\n"
    "  devices              ask every device for its state (device.status.request) and list them\n"
    "  plugin info FILE     print a plugin's descriptor without starting it\n"
    "  plugin check FILE    run the conformance checks on a plugin (in child processes)\n"
    "  plugin new NAME --kind KIND [--lang c|cpp]   write a ready-to-build plugin folder\n"
    "  journal query|export|retention|check DB   read and maintain a journal file\n"
    "  watchlist import|check  import a list into a watchlist database, or check against it\n"
    "  manifest import|lookup  import cargo declarations (manifests), or look one up\n"
    "  crossings search|show --db DB  find crossings by plate, document, name, container, lane\n"
    "  risk check|compare   check a risk profile; replay a journal through two profiles\n"
    "  script check|test    check a site procedure; run it against a recording\n"
    "  user add|passwd|list|disable --db DB  manage the console's users\n"
    "  keys generate --out PREFIX  write a CURVE key pair: PREFIX.key (0600), PREFIX.pub\n"
    "  keys generate-signing --out PREFIX  a plugin-signing key: PREFIX.sign.key, .sign.pub\n"
    "  plugin sign|verify FILE --key K  sign a plugin file (FILE.sig) or check its signature\n"
    "  audit verify|show FILE  check the audit log's hash chain; print its records\n"
    "  version              print the tool's version and plugin ABI\n"
    "\n"
    "Run 'kordon <command> --help' for a command's options.\n";

struct Endpoints {
  std::string ingress = BusConfig().ingress;
  std::string egress = BusConfig().egress;
  std::string server_key;  // the host's CURVE public key (file or Z85); "" = plain
  std::string key_file;    // this client's CURVE secret key file
};

void AddEndpointOptions(po::options_description& d) {
  d.add_options()
    ("config,c", po::value<std::string>(), "take the endpoints from this host configuration")
    ("ingress", po::value<std::string>(), "the host's bus.ingress (default tcp://127.0.0.1:7400)")
    ("egress", po::value<std::string>(), "the host's bus.egress (default tcp://127.0.0.1:7401)")
    ("server-key", po::value<std::string>(),
     "a CURVE bus: the host's public key (.pub file or Z85); with --config, derived from "
     "the host's bus.secret_key_file (which this tool must then be able to read)")
    ("key", po::value<std::string>(),
     "a CURVE bus: this client's secret key file (kordon keys generate; its .pub must be in "
     "the host's bus.allowed_keys)");
}

Result<Endpoints> ResolveEndpoints(const po::variables_map& vm) {
  Endpoints e;
  if (vm.count("config")) {
    Result<HostConfig> c = LoadConfigFile(vm["config"].as<std::string>());
    if (!c.ok()) return c.status();
    e.ingress = c->bus.ingress;
    e.egress = c->bus.egress;
    if (c->bus.curve()) {
      std::string error;
      auto pub = kordon::curve::PublicKeyOf(c->bus.secret_key, &error);
      if (pub) e.server_key = *pub;
    }
  }
  if (vm.count("ingress")) e.ingress = vm["ingress"].as<std::string>();
  if (vm.count("egress")) e.egress = vm["egress"].as<std::string>();
  if (vm.count("server-key")) e.server_key = vm["server-key"].as<std::string>();
  if (vm.count("key")) e.key_file = vm["key"].as<std::string>();
  if (!e.key_file.empty() && e.server_key.empty())
    return Status::InvalidArgument("--key needs --server-key (the host's public key)");
  return e;
}

// CURVE for a client of a host with bus.secret_key_file (--server-key, --key).
Status SecureClient(BusClient& client, const Endpoints& e) {
  if (e.server_key.empty()) return Status::Ok();
  return client.UseCurve(e.server_key, e.key_file);
}

std::string HumanLine(const BusMessage& m) {
  std::time_t secs = static_cast<std::time_t>(m.envelope.time_us / 1000000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return fmt::format("{}.{:03d} {} lane={} crossing={} from={} {}", buf,
                     static_cast<int>((m.envelope.time_us / 1000) % 1000), m.topic,
                     m.envelope.lane.empty() ? "-" : m.envelope.lane,
                     m.envelope.crossing_id.empty() ? "-" : m.envelope.crossing_id,
                     m.envelope.source, m.body);
}

int Tail(int argc, char** argv) {
  po::options_description d("kordon tail options");
  AddEndpointOptions(d);
  d.add_options()
    ("prefix", po::value<std::vector<std::string>>(), "topic prefixes (whole segments)")
    ("json", "one JSON object per line (the journal export format) instead of text")
    ("count,n", po::value<uint64_t>(), "exit after this many messages")
    ("timeout-ms", po::value<int64_t>(), "exit (status 3) when nothing arrives for this long");
  po::positional_options_description pos;
  pos.add("prefix", -1);
  po::variables_map vm;
  int rc = 0;
  const char* usage = "Usage: kordon tail [PREFIX...] [--json] [--count N]";
  if (!ParseCommandLine(argc, argv, d, pos, usage, &vm, &rc, "kordon tail")) return rc;
  Result<Endpoints> ep = ResolveEndpoints(vm);
  if (!ep.ok()) {
    fmt::print(stderr, "kordon tail: {}\n", ep.status().message());
    return 1;
  }
  std::vector<std::string> prefixes;
  if (vm.count("prefix")) prefixes = vm["prefix"].as<std::vector<std::string>>();
  if (prefixes.empty()) prefixes.push_back("");
  BusClient client("kordon-tail");
  if (Status s = SecureClient(client, *ep); !s.ok()) {
    fmt::print(stderr, "kordon tail: {}\n", s.message());
    return 1;
  }
  for (const std::string& p : prefixes) {
    if (Status s = ValidateTopicPrefix(p == "*" ? "" : p); !s.ok()) {
      fmt::print(stderr, "kordon tail: prefix '{}': {}\n", p, s.message());
      return 1;
    }
    client.Subscribe(p == "*" ? "" : p);
  }
  if (Status s = client.ConnectEgress(ep->egress); !s.ok()) {
    fmt::print(stderr, "kordon tail: {}\n", s.message());
    return 3;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  const bool json = vm.count("json") > 0;
  const uint64_t limit = vm.count("count") ? vm["count"].as<uint64_t>() : 0;
  const int64_t idle_ms = vm.count("timeout-ms") ? vm["timeout-ms"].as<int64_t>() : -1;
  if (!json) fmt::print(stderr, "kordon tail: listening on {} for [{}]\n", ep->egress, fmt::join(prefixes, ", "));
  uint64_t seen = 0;
  auto last = std::chrono::steady_clock::now();
  while (!g_stop) {
    auto m = client.Receive(std::chrono::milliseconds(200));
    if (!m) {
      if (idle_ms >= 0 && std::chrono::steady_clock::now() - last > std::chrono::milliseconds(idle_ms)) {
        fmt::print(stderr, "kordon tail: nothing for {} ms; {} message(s) seen\n", idle_ms, seen);
        return 3;
      }
      continue;
    }
    last = std::chrono::steady_clock::now();
    if (m->topic == "client.sync") continue;
    if (json)
      fmt::print("{}\n", m->ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    else
      fmt::print("{}\n", HumanLine(*m));
    std::fflush(stdout);
    if (limit != 0 && ++seen >= limit) return 0;
  }
  if (client.malformed() > 0)
    fmt::print(stderr, "kordon tail: {} undecodable message(s) skipped\n", client.malformed());
  return 0;
}

int Pub(int argc, char** argv) {
  po::options_description d("kordon pub options");
  AddEndpointOptions(d);
  d.add_options()
    ("topic", po::value<std::string>(), "the topic")
    ("body", po::value<std::string>(), "the body: a JSON object")
    ("lane", po::value<std::string>()->default_value(""), "envelope lane")
    ("crossing", po::value<std::string>()->default_value(""), "envelope crossing id")
    ("schema", po::value<std::string>()->default_value(""), "body schema (default: the topic)")
    ("schema-version", po::value<uint32_t>()->default_value(1), "body schema version")
    ("source", po::value<std::string>()->default_value("kordon-cli"), "envelope source")
    ("no-confirm", "do not wait to see the message come back on egress")
    ("timeout-ms", po::value<int64_t>()->default_value(5000), "how long to wait for the confirmation");
  po::positional_options_description pos;
  pos.add("topic", 1).add("body", 1);
  po::variables_map vm;
  int rc = 0;
  const char* usage = "Usage: kordon pub TOPIC JSON [--lane L] [--crossing ID]";
  if (!ParseCommandLine(argc, argv, d, pos, usage, &vm, &rc, "kordon pub")) return rc;
  if (!vm.count("topic") || !vm.count("body")) {
    fmt::print(stderr, "kordon pub: TOPIC and JSON are required\n{}\n", usage);
    return 1;
  }
  Result<Endpoints> ep = ResolveEndpoints(vm);
  if (!ep.ok()) {
    fmt::print(stderr, "kordon pub: {}\n", ep.status().message());
    return 1;
  }
  std::string topic = vm["topic"].as<std::string>();
  std::string body = vm["body"].as<std::string>();
  ClientPublishOptions options;
  options.lane = vm["lane"].as<std::string>();
  options.crossing_id = vm["crossing"].as<std::string>();
  options.schema = vm["schema"].as<std::string>();
  options.schema_version = vm["schema-version"].as<uint32_t>();
  BusClient client(vm["source"].as<std::string>());
  if (Status s = SecureClient(client, *ep); !s.ok()) {
    fmt::print(stderr, "kordon pub: {}\n", s.message());
    return 1;
  }
  const bool confirm = vm.count("no-confirm") == 0;
  if (confirm) {
    client.Subscribe(topic);
    client.Subscribe("bus.frame.rejected");
    if (Status s = client.ConnectEgress(ep->egress); !s.ok()) {
      fmt::print(stderr, "kordon pub: {}\n", s.message());
      return 3;
    }
    // Give the subscription time to reach the host before publishing (ZeroMQ's slow joiner).
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (Status s = client.ConnectIngress(ep->ingress); !s.ok()) {
    fmt::print(stderr, "kordon pub: {}\n", s.message());
    return 3;
  }
  Result<std::string> id = client.Publish(topic, body, options);
  if (!id.ok()) {
    fmt::print(stderr, "kordon pub: not sent: {}\n", id.status().message());
    return id.status().code() == Status::Code::kBusy ? 3 : 2;
  }
  if (!confirm) {
    fmt::print("{}\n", *id);
    return 0;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(vm["timeout-ms"].as<int64_t>());
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = client.Receive(std::chrono::milliseconds(50));
    if (!m) continue;
    if (m->topic == topic && IdToHex(m->envelope.id) == *id) {
      fmt::print("{}\n", *id);
      return 0;
    }
  }
  fmt::print(stderr, "kordon pub: sent {} but did not see it on {} in time (is kordon-host running?)\n", *id, ep->egress);
  return 3;
}

// True when j[key] is the JSON value true (false for absent keys and other types).
bool IsTrue(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// A roll call of the devices: publishes device.status.request and gathers the device.status
// answers (requested: true) that come back within --wait-ms.
int Devices(int argc, char** argv) {
  po::options_description d("kordon devices options");
  AddEndpointOptions(d);
  d.add_options()
    ("device", po::value<std::string>(), "ask only this instance")
    ("wait-ms", po::value<int64_t>()->default_value(1500), "how long to gather answers")
    ("json", "one device.status body per line instead of a table");
  po::positional_options_description pos;
  po::variables_map vm;
  int rc = 0;
  const char* usage = "Usage: kordon devices [--device NAME] [--wait-ms N] [--json]";
  if (!ParseCommandLine(argc, argv, d, pos, usage, &vm, &rc, "kordon devices")) return rc;
  const int64_t wait_ms = vm["wait-ms"].as<int64_t>();
  if (wait_ms < 1 || wait_ms > 600000) {
    fmt::print(stderr, "kordon devices: --wait-ms must be 1..600000\n");
    return 1;
  }
  Result<Endpoints> ep = ResolveEndpoints(vm);
  if (!ep.ok()) {
    fmt::print(stderr, "kordon devices: {}\n", ep.status().message());
    return 1;
  }
  BusClient client("kordon-devices");
  if (Status s = SecureClient(client, *ep); !s.ok()) {
    fmt::print(stderr, "kordon devices: {}\n", s.message());
    return 1;
  }
  client.Subscribe("device.status");
  client.Subscribe("client.sync");  // WaitUntilLive's probes
  if (Status s = client.ConnectEgress(ep->egress); !s.ok()) {
    fmt::print(stderr, "kordon devices: {}\n", s.message());
    return 3;
  }
  if (Status s = client.ConnectIngress(ep->ingress); !s.ok()) {
    fmt::print(stderr, "kordon devices: {}\n", s.message());
    return 3;
  }
  // The answers must not go by before our subscription reaches the host.
  if (Status s = client.WaitUntilLive(std::chrono::seconds(5)); !s.ok()) {
    fmt::print(stderr, "kordon devices: {} ({})\n", s.message(), ep->egress);
    return 3;
  }
  nlohmann::json request = nlohmann::json::object();
  if (vm.count("device")) request["device"] = vm["device"].as<std::string>();
  Result<std::string> id = client.Publish("device.status.request", request.dump(), {});
  if (!id.ok()) {
    fmt::print(stderr, "kordon devices: request not sent: {}\n", id.status().message());
    return 3;
  }
  std::map<std::string, nlohmann::json> answers;  // by device, sorted
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (!g_stop && std::chrono::steady_clock::now() < deadline) {
    auto m = client.Receive(std::chrono::milliseconds(50));
    if (!m || m->topic != "device.status") continue;
    // Anyone may publish device.status: read it defensively (no value() on a wrong type).
    nlohmann::json body = nlohmann::json::parse(m->body, nullptr, false);
    if (!body.is_object() || !IsTrue(body, "requested")) continue;
    auto device = body.find("device");
    if (device == body.end() || !device->is_string()) continue;
    std::string name = device->get<std::string>();
    answers[std::move(name)] = std::move(body);
  }
  bool all_healthy = !answers.empty();
  for (const auto& [name, body] : answers) all_healthy = all_healthy && IsTrue(body, "healthy");
  if (vm.count("json")) {
    for (const auto& [name, body] : answers) fmt::print("{}\n", body.dump());
  } else if (answers.empty()) {
    fmt::print(stderr, "kordon devices: no device answered within {} ms\n", wait_ms);
  } else {
    auto text = [](const nlohmann::json& j, const char* key) {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string("-");
    };
    auto count = [](const nlohmann::json& j, const char* key) -> uint64_t {
      auto stats = j.find("stats");
      if (stats == j.end() || !stats->is_object()) return 0;
      auto it = stats->find(key);
      return it != stats->end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
    };
    fmt::print("{:<20} {:<17} {:<8} {:>7} {:>7} {:>10}  {:<24} {}\n", "DEVICE", "KIND", "STATE",
               "READS", "ERRORS", "RECONNECTS", "SINCE", "REASON");
    for (const auto& [name, body] : answers)
      fmt::print("{:<20} {:<17} {:<8} {:>7} {:>7} {:>10}  {:<24} {}\n", name, text(body, "kind"),
                 text(body, "state"), count(body, "reads_published"), count(body, "errors"),
                 count(body, "reconnects"), text(body, "since"), text(body, "reason"));
  }
  return all_healthy ? 0 : 4;
}

int PluginInfo(int argc, char** argv) {
  po::options_description d("kordon plugin info options");
  d.add_options()
    ("file", po::value<std::string>(), "the plugin's .so file")
    ("json", "print the descriptor as JSON");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  const char* usage = "Usage: kordon plugin info FILE [--json]";
  if (!ParseCommandLine(argc, argv, d, pos, usage, &vm, &rc, "kordon plugin info")) return rc;
  if (!vm.count("file")) {
    fmt::print(stderr, "kordon plugin info: FILE is required\n{}\n", usage);
    return 1;
  }
  Result<std::shared_ptr<PluginLibrary>> lib = PluginLibrary::Open(vm["file"].as<std::string>());
  if (!lib.ok()) {
    fmt::print(stderr, "kordon plugin info: refused: {}\n", lib.status().message());
    return 2;
  }
  const PluginDescription& p = lib.value()->description();
  if (vm.count("json")) {
    nlohmann::json j = {{"file", lib.value()->path()}, {"name", p.name}, {"kind", KindName(p.kind)},
                        {"vendor", p.vendor}, {"version", p.version}, {"description", p.description},
                        {"abi", AbiVersionString(p.abi_version)}, {"publishes", p.publishes},
                        {"subscribes", p.subscribes}, {"services", p.services}};
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("file:        {}\nname:        {}\nkind:        {}\nvendor:      {}\nversion:     {}\n"
             "description: {}\nABI:         {} (this tool speaks {})\npublishes:   {}\nsubscribes:  {}\nservices:    {}\n",
             lib.value()->path(), p.name, KindName(p.kind), p.vendor, p.version, p.description,
             AbiVersionString(p.abi_version), AbiVersionString(KORDON_ABI_VERSION),
             PrefixList(p.publishes), PrefixList(p.subscribes), PrefixList(p.services));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 1 : 0;
  }
  std::string command = argv[1];
  if (command == "version" || command == "--version") {
    fmt::print("kordon {}\nplugin ABI {}\n", KORDON_HOST_VERSION, AbiVersionString(KORDON_ABI_VERSION));
    return 0;
  }
  if (command == "tail") return Tail(argc - 1, argv + 1);
  if (command == "pub") return Pub(argc - 1, argv + 1);
  if (command == "devices") return Devices(argc - 1, argv + 1);
  if (command == "journal") return JournalCommand(argc - 1, argv + 1);
  if (command == "watchlist") return WatchlistCommand(argc - 1, argv + 1);
  if (command == "manifest") return ManifestCommand(argc - 1, argv + 1);
  if (command == "crossings") return CrossingsCommand(argc - 1, argv + 1);
  if (command == "risk") return RiskCommand(argc - 1, argv + 1);
  if (command == "script") return ScriptCommand(argc - 1, argv + 1);
  if (command == "user") return UsersCommand(argc - 1, argv + 1);
  if (command == "audit") return AuditCommand(argc - 1, argv + 1);
  if (command == "keys" && argc >= 3 && std::string(argv[2]) == "generate-signing")
    return GenerateSigningKeyCommand(argc - 2, argv + 2);
  if (command == "keys") return KeysCommand(argc - 1, argv + 1);
  if (command == "plugin") {
    if (argc >= 3 && std::string(argv[2]) == "info") return PluginInfo(argc - 2, argv + 2);
    if (argc >= 3 && std::string(argv[2]) == "check")
      return PluginCheckCommand(argc - 2, argv + 2);
    if (argc >= 3 && std::string(argv[2]) == "new") return PluginNewCommand(argc - 2, argv + 2);
    if (argc >= 3 && std::string(argv[2]) == "sign") return PluginSignCommand(argc - 2, argv + 2);
    if (argc >= 3 && std::string(argv[2]) == "verify")
      return PluginVerifyCommand(argc - 2, argv + 2);
    fmt::print(stderr, "kordon plugin: unknown subcommand; try 'kordon plugin info|check|new'\n");
    return 1;
  }
  fmt::print(stderr, "kordon: unknown command '{}'\n\n{}", command, kUsage);
  return 1;
}
