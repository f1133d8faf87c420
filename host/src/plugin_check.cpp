// plugin_check.cpp — see plugin_check.h.
//
//   kordon plugin check FILE [--setting KEY=VALUE]... [--lane L] [--messages N]
//                            [--valgrind | --no-valgrind] [--schemas DIR] [--json] [--keep]
//
// The checks, in order (a check that cannot run because an earlier one failed is skipped):
//   descriptor  `kordon plugin info FILE --json` in a child: negotiation and descriptor
//   lifecycle   three kordon-host runs with two instances: create, start, stop, destroy;
//               each must be ready and stop cleanly within the time limits
//   traffic     one run: N messages on each subscribed topic — bodies built from the topic's
//               schema, and malformed ones (empty, wrong types, nulls, 60 KB strings, deep
//               nesting, Cyrillic, extreme numbers) — plus messages on topics it did not ask
//               for and requests to its services; the host must survive, the plugin must
//               receive every message (the host's statistics) and stop cleanly
//   requests    every request to a service the plugin provides gets a reply
//   topics      it published only under the prefixes its descriptor declares
//   schemas     what it published conforms to the schemas in sdk/schemas
//   leaks       under valgrind (when present): no memory definitely lost, no invalid access
#include "plugin_check.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <set>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bus_client.h"
#include "cli_options.h"
#include "envelope.h"
#include "schema.h"
#include "subprocess.h"
#include "topic.h"

extern char** environ;

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace kordon::host {
namespace {

constexpr char kInstance[] = "check";
constexpr char kSource[] = "plugin-check";

struct Check {
  std::string name;
  std::string result;  // pass, fail, skip, warn
  std::string detail;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- children ---------------------------------------------------------------------------------

// Starts argv with stdin from /dev/null and stdout+stderr into log_path; -1 on failure.
pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path) {
  Result<pid_t> pid = Spawn(argv, {.output_path = log_path});
  return pid.ok() ? pid.value() : -1;
}

// The last lines of a log, for a report.
std::string Tail(const std::string& text, int lines = 8) {
  size_t pos = text.size();
  for (int i = 0; i < lines && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  std::string t = text.substr(pos);
  while (!t.empty() && (t.front() == '\n')) t.erase(t.begin());
  while (!t.empty() && (t.back() == '\n')) t.pop_back();
  return t;
}

// --- one host run -----------------------------------------------------------------------------

struct Options {
  std::string file;
  std::vector<std::pair<std::string, std::string>> settings;
  std::string lane = "lane-1";
  int messages = 20;
  std::string host_binary;  // kordon-host beside this kordon
  std::string tool_binary;  // this kordon (for `kordon plugin info`)
  std::string valgrind;     // empty: no leak check
};

// A setting's value with {instance} (the instance's name) and {dir} (the check's working
// directory, removed afterwards) replaced: per-instance database files and the like.
std::string Expand(std::string value, const std::string& instance, const std::string& dir) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"{instance}", instance},
                                 std::pair<std::string, std::string>{"{dir}", dir}})
    for (size_t at = value.find(from); at != std::string::npos; at = value.find(from, at))
      value.replace(at, from.size(), to), at += to.size();
  return value;
}

class HostRun {
 public:
  HostRun(const Options& o, const std::string& dir, const std::string& tag,
          const std::vector<std::string>& instances, bool under_valgrind = false)
      : dir_(dir), tag_(tag) {
    config_ = dir + "/" + tag + ".ini";
    ready_ = dir + "/" + tag + ".ready.json";
    log_ = dir + "/" + tag + ".log";
    std::string text = fmt::format(
        "[host]\nname = {}\nbus.ingress = tcp://127.0.0.1:*\nbus.egress = tcp://127.0.0.1:*\n"
        "ready_file = {}\nplugin_call_timeout_ms = {}\n\n",
        kSource, ready_, under_valgrind ? 60000 : 3000);
    for (const std::string& name : instances) {
      text += fmt::format("[plugin.{}]\nlibrary = {}\nlane = {}\n", name, o.file, o.lane);
      for (const auto& [k, v] : o.settings) text += k + " = " + Expand(v, name, dir) + "\n";
      text += "\n";
    }
    std::ofstream(config_) << text;
    std::vector<std::string> argv;
    if (under_valgrind) {
      valgrind_log_ = dir + "/" + tag + ".valgrind";
      argv = {o.valgrind, "--leak-check=full", "--show-leak-kinds=definite",
              "--errors-for-leak-kinds=definite", "--num-callers=20", "--keep-debuginfo=yes",
              "--log-file=" + valgrind_log_};
    }
    argv.insert(argv.end(), {o.host_binary, "--config", config_});
    pid_ = SpawnLogged(argv, log_);
  }
  ~HostRun() {
    if (pid_ > 0 && !exited_) KillAndReap(pid_);
  }

  // Waits for the ready file; false (with *why) when the host exits or times out first.
  bool WaitReady(std::chrono::milliseconds limit, std::string* why) {
    if (pid_ <= 0) {
      *why = "cannot start " + config_;
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(ready_)) {
        json r = json::parse(ReadFile(ready_), nullptr, false);
        if (r.is_object() && r.contains("ingress") && r.contains("egress")) {
          ingress_ = r["ingress"].get<std::string>();
          egress_ = r["egress"].get<std::string>();
          return true;
        }
      }
      if (std::optional<int> s = WaitFor(pid_, 0ms)) {
        exited_ = true;
        *why = "the host did not start: " + DescribeExit(*s) + "\n" + Tail(Log());
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
    *why = fmt::format("the host was not ready within {} ms\n{}", limit.count(), Tail(Log()));
    return false;
  }

  // Whether the host is still running.
  bool Alive() {
    if (exited_) return false;
    if (std::optional<int> s = WaitFor(pid_, 0ms)) {
      exited_ = true;
      status_ = *s;
      return false;
    }
    return true;
  }

  // SIGTERM and the exit status; nullopt when it did not exit within limit (then killed).
  std::optional<int> Stop(std::chrono::milliseconds limit) {
    if (exited_) return status_;
    kill(pid_, SIGTERM);
    std::optional<int> s = WaitFor(pid_, limit);
    if (!s) {
      KillAndReap(pid_);
      exited_ = true;
      return std::nullopt;
    }
    exited_ = true;
    status_ = *s;
    return s;
  }

  std::string Log() const { return ReadFile(log_); }
  std::string ValgrindLog() const { return ReadFile(valgrind_log_); }
  const std::string& ingress() const { return ingress_; }
  const std::string& egress() const { return egress_; }

 private:
  std::string dir_, tag_, config_, ready_, log_, valgrind_log_;
  std::string ingress_, egress_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::optional<int> status_;
};

// "check: received 200, published 3, handler errors 150, ..." from the host's exit log.
struct Stats {
  long long received = -1, published = -1, handler_errors = -1;
};
Stats ParseStats(const std::string& log, const std::string& instance) {
  Stats s;
  const std::regex line(instance + R"(: received (\d+), published (\d+), handler errors (\d+))");
  std::smatch m;
  if (std::regex_search(log, m, line)) {
    s.received = std::stoll(m[1]);
    s.published = std::stoll(m[2]);
    s.handler_errors = std::stoll(m[3]);
  }
  return s;
}

// --- bodies -----------------------------------------------------------------------------------

// A body built from a schema's required members (the first enum value, 1, "X", ...).
json Generate(const json& schema, const json& root, int depth = 0) {
  if (depth > 8 || !schema.is_object()) return json::object();
  if (auto r = schema.find("$ref"); r != schema.end() && r->is_string()) {
    const std::string ref = r->get<std::string>();
    if (ref.rfind("#/$defs/", 0) == 0 && root.contains("$defs") &&
        root["$defs"].contains(ref.substr(8)))
      return Generate(root["$defs"][ref.substr(8)], root, depth + 1);
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty())
    return (*e)[0];
  if (auto one = schema.find("oneOf"); one != schema.end() && one->is_array() && !one->empty())
    return Generate((*one)[0], root, depth + 1);
  std::string type = "object";
  if (auto t = schema.find("type"); t != schema.end())
    type = t->is_array() ? (*t)[0].get<std::string>() : t->get<std::string>();
  if (type == "string") return "X";
  if (type == "integer" || type == "number") {
    if (auto m = schema.find("minimum"); m != schema.end()) return *m;
    return 1;
  }
  if (type == "boolean") return false;
  if (type == "null") return nullptr;
  if (type == "array") {
    json a = json::array();
    if (schema.value("minItems", 0) > 0 && schema.contains("items"))
      a.push_back(Generate(schema["items"], root, depth + 1));
    return a;
  }
  json o = json::object();
  const json props = schema.value("properties", json::object());
  for (const json& name : schema.value("required", json::array()))
    if (name.is_string())
      o[name.get<std::string>()] =
          props.contains(name.get<std::string>()) ? Generate(props[name.get<std::string>()], root,
                                                             depth + 1)
                                                  : json("X");
  return o;
}

// Bodies for one topic: valid-looking ones and every kind of wrong one a device or a
// misbehaving peer might send.
std::vector<json> Bodies(const json* schema) {
  std::vector<json> out;
  const json valid = schema ? Generate(*schema, *schema) : json{{"probe", true}};
  out.push_back(valid);
  out.push_back(json::object());
  out.push_back({{"unexpected", true}, {"x", {1, 2, 3}}});
  json wrong = valid, nulls = valid, big = valid, cyrillic = valid;
  for (auto& [key, value] : wrong.items()) {
    if (value.is_string()) value = 12345;
    else if (value.is_number()) value = "not a number";
    else if (value.is_object()) value = json::array({1});
    else if (value.is_array()) value = json{{"not", "an array"}};
    else value = "yes";
  }
  out.push_back(wrong);
  for (auto& [key, value] : nulls.items()) value = nullptr;
  out.push_back(nulls);
  const std::string huge(60000, 'W');
  bool any = false;
  for (auto& [key, value] : big.items())
    if (value.is_string()) value = huge, any = true;
  if (!any) big["huge"] = huge;
  out.push_back(big);
  json deep = json::object();
  for (int i = 0; i < 50; ++i) deep = json{{"nested", deep}};
  out.push_back(deep);
  for (auto& [key, value] : cyrillic.items())
    if (value.is_string()) value = "Тоқтогулов Нурлан ✓ 𝒜";
  out.push_back(cyrillic);
  out.push_back({{"kg", 1e308}, {"n", -1}, {"big", 9007199254740993ULL}, {"zero", 0}});
  return out;
}

// The topic to send for a subscribed prefix.
std::string TopicFor(const std::string& prefix) {
  if (prefix.empty()) return "check.probe";
  if (prefix.back() == '.') return prefix + "probe";
  return prefix;
}

// --- the checks -------------------------------------------------------------------------------

struct Descriptor {
  json j;
  std::vector<std::string> publishes, subscribes, services;
};

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  for (const json& v : j.value(key, json::array()))
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

class Checker {
 public:
  Checker(Options o, std::string dir, const schema::SchemaSet& schemas)
      : o_(std::move(o)), dir_(std::move(dir)), schemas_(schemas) {}

  std::vector<Check> Run() {
    if (!DescriptorCheck()) return checks_;
    if (!Lifecycle()) {
      Skip("traffic", "the lifecycle failed");
      Skip("topics", "the lifecycle failed");
      Skip("schemas", "the lifecycle failed");
    } else {
      Traffic();
    }
    Leaks();
    return checks_;
  }

 private:
  void Add(std::string name, std::string result, std::string detail) {
    checks_.push_back({std::move(name), std::move(result), std::move(detail)});
  }
  void Skip(const std::string& name, const std::string& why) { Add(name, "skip", why); }

  bool DescriptorCheck() {
    const std::string log = dir_ + "/info.log";
    pid_t pid = SpawnLogged({o_.tool_binary, "plugin", "info", o_.file, "--json"}, log);
    std::string failure;
    if (pid <= 0) {
      failure = "cannot run " + o_.tool_binary;
    } else if (std::optional<int> s = WaitFor(pid, 10s); !s) {
      KillAndReap(pid);
      failure = "loading the plugin hung for 10 s";
    } else if (!WIFEXITED(*s) || WEXITSTATUS(*s) != 0) {
      failure = "loading the plugin: " + DescribeExit(*s);
    }
    const std::string out = ReadFile(log);
    if (!failure.empty()) {
      Add("descriptor", "fail", failure + "\n" + Tail(out));
      return false;
    }
    const size_t brace = out.find('{');
    json j = brace == std::string::npos ? json() : json::parse(out.substr(brace), nullptr, false);
    if (!j.is_object()) {
      Add("descriptor", "fail", "kordon plugin info gave no descriptor:\n" + Tail(out));
      return false;
    }
    d_.j = j;
    d_.publishes = Strings(j, "publishes");
    d_.subscribes = Strings(j, "subscribes");
    d_.services = Strings(j, "services");
    std::vector<std::string> notes;
    if (j.value("version", "").empty()) notes.push_back("no version");
    if (j.value("vendor", "").empty()) notes.push_back("no vendor");
    if (j.value("description", "").empty()) notes.push_back("no description");
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const std::string& x : v) s += (s.empty() ? "" : ", ") + (x.empty() ? "*" : x);
      return s.empty() ? std::string("-") : s;
    };
    Add("descriptor", notes.empty() ? "pass" : "warn",
        fmt::format("{} {} ({}) by {}, ABI {}; publishes {}; subscribes {}; services {}{}",
                    j.value("name", "?"), j.value("version", "?"), j.value("kind", "?"),
                    j.value("vendor", "?"), j.value("abi", "?"), list(d_.publishes),
                    list(d_.subscribes), list(d_.services),
                    notes.empty() ? "" : "; " + fmt::format("{}", fmt::join(notes, ", "))));
    return true;
  }

  bool Lifecycle() {
    double worst_ms = 0;
    for (int round = 1; round <= 3; ++round) {
      const auto t0 = std::chrono::steady_clock::now();
      HostRun run(o_, dir_, fmt::format("lifecycle-{}", round), {"check-a", "check-b"});
      std::string why;
      if (!run.WaitReady(15s, &why)) {
        Add("lifecycle", "fail", fmt::format("round {}: {}", round, why));
        return false;
      }
      std::optional<int> s = run.Stop(15s);
      if (!s) {
        Add("lifecycle", "fail", fmt::format("round {}: the host did not stop within 15 s "
                                             "(the plugin hangs in stop or destroy)\n{}",
                                             round, Tail(run.Log())));
        return false;
      }
      if (!WIFEXITED(*s) || WEXITSTATUS(*s) != 0) {
        Add("lifecycle", "fail",
            fmt::format("round {}: the host ended with {}{}\n{}", round, DescribeExit(*s),
                        WIFEXITED(*s) && WEXITSTATUS(*s) == 3
                            ? " (the plugin was stuck in its own code during shutdown)"
                            : "",
                        Tail(run.Log())));
        return false;
      }
      worst_ms = std::max(
          worst_ms,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
              .count());
    }
    Add("lifecycle", "pass",
        fmt::format("3 runs of create, start, stop, destroy with 2 instances; slowest {:.0f} ms",
                    worst_ms));
    return true;
  }

  const json* SchemaOf(const std::string& topic, unsigned version = 1) const {
    return schemas_.Find(topic, version);
  }

  void Traffic() {
    HostRun run(o_, dir_, "traffic", {kInstance});
    std::string why;
    if (!run.WaitReady(15s, &why)) {
      Add("traffic", "fail", why);
      Skip("topics", "the host did not start");
      Skip("schemas", "the host did not start");
      return;
    }
    BusClient client(kSource);
    client.Subscribe("");
    if (!client.ConnectIngress(run.ingress()).ok() || !client.ConnectEgress(run.egress()).ok() ||
        !client.WaitUntilLive(5s).ok()) {
      Add("traffic", "fail", "cannot connect to the host's bus");
      return;
    }
    std::vector<BusMessage> seen;
    auto drain = [&](std::chrono::milliseconds for_at_least) {
      const auto until = std::chrono::steady_clock::now() + for_at_least;
      while (std::chrono::steady_clock::now() < until)
        if (auto m = client.Receive(20ms)) seen.push_back(std::move(*m));
    };

    // Messages on what it subscribes to; the host counts what it delivered.
    long long sent = 0, malformed = 0;
    std::vector<std::string> topics;
    for (const std::string& p : d_.subscribes) topics.push_back(TopicFor(p));
    ClientPublishOptions po;
    po.lane = o_.lane;
    for (const std::string& topic : topics) {
      const std::vector<json> bodies = Bodies(SchemaOf(topic));
      for (int i = 0; i < o_.messages; ++i) {
        const json& b = bodies[static_cast<size_t>(i) % bodies.size()];
        if (client.Publish(topic, b.dump(), po).ok()) {
          ++sent;
          malformed += (i % bodies.size()) != 0;
        }
        if (i % 20 == 19) drain(1ms);
      }
    }
    // Topics it did not ask for must not reach it.
    for (int i = 0; i < 10; ++i) (void)client.Publish("check.unsubscribed", "{\"n\":1}", po);

    // Requests to its services: each must be answered.
    int requests = 0, answered = 0;
    std::vector<std::string> unanswered;
    for (const std::string& service : d_.services) {
      for (const json& b : {json::object(), json{{"unexpected", true}},
                            SchemaOf("rpc." + service) ? Generate(*SchemaOf("rpc." + service),
                                                                  *SchemaOf("rpc." + service))
                                                       : json{{"probe", true}}}) {
        ClientPublishOptions ro = po;
        ro.reply_to = std::string("rpc.reply.") + kSource;
        Result<std::string> id = client.Publish("rpc." + service, b.dump(), ro);
        if (!id.ok()) continue;
        ++requests;
        const auto until = std::chrono::steady_clock::now() + 5s;
        bool got = false;
        while (!got && std::chrono::steady_clock::now() < until) {
          std::optional<BusMessage> m = client.Receive(20ms);
          if (!m) continue;
          got = m->topic == ro.reply_to && IdToHex(m->envelope.correlation_id) == id.value();
          seen.push_back(std::move(*m));
        }
        if (got) ++answered;
        else unanswered.push_back(service + " " + b.dump());
      }
    }
    drain(1500ms);  // what its timers publish meanwhile
    const bool alive = run.Alive();
    std::optional<int> s = run.Stop(15s);
    const std::string log = run.Log();
    const Stats stats = ParseStats(log, kInstance);

    if (!alive || !s || !WIFEXITED(*s) || WEXITSTATUS(*s) != 0) {
      Add("traffic", "fail",
          fmt::format("after {} messages ({} malformed): the host {}\n{}", sent, malformed,
                      !alive ? "died (" + (s ? DescribeExit(*s) : std::string("?")) + ")"
                             : s ? "ended with " + DescribeExit(*s) : "did not stop in 15 s",
                      Tail(log)));
    } else if (stats.received < sent) {
      Add("traffic", "fail",
          fmt::format("{} messages sent on {} topic(s), but the plugin received only {}", sent,
                      topics.size(), stats.received));
    } else {
      // A plugin subscribed to everything also gets the checker's probes and the host's own
      // events: at least what was sent, then.
      Add("traffic", "pass",
          fmt::format("{} messages on {} topic(s) ({} malformed) delivered ({} received in "
                      "all), survived; {} refused by its handler",
                      sent, topics.size(), malformed, stats.received, stats.handler_errors));
    }
    if (requests > 0) {
      Add("requests", unanswered.empty() ? "pass" : "fail",
          unanswered.empty()
              ? fmt::format("{} requests to {} service(s), every one answered", requests,
                            d_.services.size())
              : fmt::format("{} of {} requests unanswered within 5 s, e.g. {}",
                            unanswered.size(), requests, unanswered.front()));
    }

    // What it published: declared topics, valid bodies.
    std::map<std::string, int> counts;
    std::vector<std::string> undeclared, invalid;
    std::set<std::string> missing_schema;
    int validated = 0, invalid_count = 0;
    for (const BusMessage& m : seen) {
      if (m.envelope.source != kInstance) continue;
      if (m.topic.rfind("rpc.reply.", 0) == 0) continue;  // its replies
      ++counts[m.topic];
      bool declared = false;
      for (const std::string& p : d_.publishes) declared = declared || TopicMatches(p, m.topic);
      if (!declared) undeclared.push_back(m.topic);
      const std::string name = m.envelope.schema.empty() ? m.topic : m.envelope.schema;
      const json* sch = schemas_.Find(name, m.envelope.schema_version);
      if (sch == nullptr) {
        missing_schema.insert(fmt::format("{} v{}", name, m.envelope.schema_version));
        continue;
      }
      ++validated;
      const std::vector<std::string> problems =
          schema::Problems(json::parse(m.body, nullptr, false), *sch);
      if (problems.empty()) continue;
      if (invalid.empty()) {  // the first invalid body in full, with all its problems
        invalid.push_back(fmt::format("{} v{}: {}", name, m.envelope.schema_version,
                                      m.body.substr(0, 300)));
        for (size_t i = 0; i < problems.size() && i < 8; ++i) invalid.push_back(problems[i]);
      }
      ++invalid_count;
    }
    std::string published;
    for (const auto& [t, n] : counts)
      published += fmt::format("{}{} ×{}", published.empty() ? "" : ", ", t, n);
    if (published.empty()) published = "nothing";
    if (undeclared.empty())
      Add("topics", "pass", "published " + published + " — all declared");
    else
      Add("topics", "fail", fmt::format("published {} not declared in its descriptor "
                                        "(publishes: {})", undeclared.front(),
                                        fmt::join(d_.publishes, ", ")));
    if (!invalid.empty()) {
      Add("schemas", "fail", fmt::format("{} of {} bodies break their schema; the first:\n{}",
                                         invalid_count, validated, fmt::join(invalid, "\n")));
    } else if (validated == 0 && missing_schema.empty()) {
      Add("schemas", "skip", "it published nothing to check");
    } else {
      Add("schemas", missing_schema.empty() ? "pass" : "warn",
          fmt::format("{} bodies valid{}", validated,
                      missing_schema.empty()
                          ? ""
                          : fmt::format("; no schema in sdk/schemas for {}",
                                        fmt::join(missing_schema, ", "))));
    }
  }

  void Leaks() {
    if (o_.valgrind.empty()) {
      Skip("leaks", "valgrind not used (not found, or --no-valgrind)");
      return;
    }
    // The plugin stays mapped until exit, so that valgrind can name its functions.
    setenv("KORDON_KEEP_PLUGINS_LOADED", "1", 1);
    HostRun run(o_, dir_, "valgrind", {kInstance}, /*under_valgrind=*/true);
    std::string why;
    if (!run.WaitReady(90s, &why)) {
      Add("leaks", "fail", "under valgrind: " + why);
      return;
    }
    {
      BusClient client(kSource);
      client.Subscribe("client.sync");
      if (client.ConnectIngress(run.ingress()).ok() && client.ConnectEgress(run.egress()).ok() &&
          client.WaitUntilLive(20s).ok()) {
        ClientPublishOptions po;
        po.lane = o_.lane;
        for (const std::string& p : d_.subscribes) {
          const std::vector<json> bodies = Bodies(SchemaOf(TopicFor(p)));
          for (size_t i = 0; i < bodies.size() * 2; ++i)
            (void)client.Publish(TopicFor(p), bodies[i % bodies.size()].dump(), po);
        }
        std::this_thread::sleep_for(1500ms);
      }
    }
    std::optional<int> s = run.Stop(90s);
    const std::string vg = run.ValgrindLog();
    if (!s) {
      Add("leaks", "fail", "under valgrind the host did not stop within 90 s");
      return;
    }
    std::smatch m;
    long long lost = 0;
    if (std::regex_search(vg, m, std::regex(R"(definitely lost: ([0-9,]+) bytes)"))) {
      std::string n = m[1];
      n.erase(std::remove(n.begin(), n.end(), ','), n.end());
      lost = std::stoll(n);
    }
    long long errors = 0;
    if (std::regex_search(vg, m, std::regex(R"(ERROR SUMMARY: ([0-9,]+) errors)"))) {
      std::string n = m[1];
      n.erase(std::remove(n.begin(), n.end(), ','), n.end());
      errors = std::stoll(n);
    }
    if (lost == 0 && errors == 0) {
      Add("leaks", "pass", "valgrind: no memory definitely lost, no invalid access (" +
                               DescribeExit(*s) + ")");
      return;
    }
    // The first error or loss record, for the vendor.
    std::string first;
    std::istringstream in(vg);
    std::string line;
    bool in_record = false;
    int lines = 0;
    while (std::getline(in, line) && lines < 14) {
      const size_t bar = line.find("== ");
      const std::string text = bar == std::string::npos ? line : line.substr(bar + 3);
      if (!in_record && (text.find("definitely lost in loss record") != std::string::npos ||
                         text.rfind("Invalid ", 0) == 0 ||
                         text.rfind("Conditional jump", 0) == 0)) in_record = true;
      if (in_record) {
        if (text.empty()) break;
        first += text + "\n";
        ++lines;
      }
    }
    Add("leaks", "fail",
        fmt::format("valgrind: {} bytes definitely lost, {} errors\n{}", lost, errors, first));
  }

  Options o_;
  std::string dir_;
  const schema::SchemaSet& schemas_;
  Descriptor d_;
  std::vector<Check> checks_;
};

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':'))
    if (!d.empty() && access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  return "";
}

// sdk/schemas: --schemas, else installed beside the tool (<prefix>/share/kordon/schemas),
// else the source tree this tool was built from.
std::string DefaultSchemaDir(const fs::path& exe_dir) {
  const fs::path installed = exe_dir / ".." / "share" / "kordon" / "schemas";
  if (fs::is_directory(installed)) return installed.lexically_normal().string();
#ifdef KORDON_SOURCE_SCHEMA_DIR
  if (fs::is_directory(KORDON_SOURCE_SCHEMA_DIR)) return KORDON_SOURCE_SCHEMA_DIR;
#endif
  return "";
}

}  // namespace

int PluginCheckCommand(int argc, char** argv) {
  const char* usage =
      "Usage: kordon plugin check FILE [--setting KEY=VALUE]... [--lane L] [--messages N]\n"
      "                           [--valgrind | --no-valgrind] [--schemas DIR] [--json] [--keep]\n"
      "Exit codes: 0 every check passed (or warned), 1 usage, 2 a check failed.";
  po::options_description d("kordon plugin check options");
  d.add_options()("help,h", "this help")("file", po::value<std::string>(), "the plugin's .so")(
      "setting", po::value<std::vector<std::string>>()->composing(),
      "KEY=VALUE: a setting the plugin needs to start (repeatable); {instance} and {dir} in "
      "VALUE become the instance's name and the check's scratch directory")(
      "lane", po::value<std::string>()->default_value("lane-1"), "the instances' lane")(
      "messages", po::value<int>()->default_value(20),
      "messages sent on each subscribed topic (1..10000)")(
      "valgrind", "run the leak check (fails when valgrind is missing)")(
      "no-valgrind", "skip the leak check")(
      "schemas", po::value<std::string>(), "the message schemas (default: the SDK's)")(
      "json", "print the report as JSON")("keep", "keep the working directory (its logs)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, usage, &vm, &rc, "kordon plugin check")) return rc;
  if (!vm.count("file")) {
    fmt::print(stderr, "kordon plugin check: FILE is required\n{}\n", usage);
    return 1;
  }
  Options o;
  std::error_code ec;
  o.file = fs::absolute(vm["file"].as<std::string>(), ec).lexically_normal().string();
  if (!fs::is_regular_file(o.file)) {
    fmt::print(stderr, "kordon plugin check: {} is not a file\n", o.file);
    return 1;
  }
  o.lane = vm["lane"].as<std::string>();
  o.messages = vm["messages"].as<int>();
  if (o.messages < 1 || o.messages > 10000) {
    fmt::print(stderr, "kordon plugin check: --messages must be 1..10000\n");
    return 1;
  }
  if (vm.count("setting")) {
    for (const std::string& kv : vm["setting"].as<std::vector<std::string>>()) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0 || kv.find('\n') != std::string::npos) {
        fmt::print(stderr, "kordon plugin check: --setting '{}' is not KEY=VALUE\n", kv);
        return 1;
      }
      o.settings.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  o.tool_binary = exe.string();
  o.host_binary = (exe.parent_path() / "kordon-host").string();
  if (access(o.host_binary.c_str(), X_OK) != 0) {
    fmt::print(stderr, "kordon plugin check: {} is missing\n", o.host_binary);
    return 1;
  }
  const std::string valgrind = FindOnPath("valgrind");
  if (vm.count("valgrind") && valgrind.empty()) {
    fmt::print(stderr, "kordon plugin check: --valgrind: valgrind is not installed\n");
    return 1;
  }
  if (!vm.count("no-valgrind")) o.valgrind = valgrind;

  const std::string schema_dir =
      vm.count("schemas") ? vm["schemas"].as<std::string>() : DefaultSchemaDir(exe.parent_path());
  schema::SchemaSet schemas;
  std::string error;
  if (!schema_dir.empty() && !schemas.Load(schema_dir, &error)) {
    fmt::print(stderr, "kordon plugin check: {}\n", error);
    return 1;
  }

  char tmpl[] = "/tmp/kordon-check-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    fmt::print(stderr, "kordon plugin check: cannot make a working directory in /tmp\n");
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  Checker checker(o, dir, schemas);
  const std::vector<Check> checks = checker.Run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bool failed = false;
  for (const Check& c : checks) failed = failed || c.result == "fail";
  if (!vm.count("keep")) fs::remove_all(dir, ec);

  if (vm.count("json")) {
    json report = {{"plugin", o.file}, {"result", failed ? "fail" : "pass"},
                   {"seconds", seconds}, {"checks", json::array()}};
    for (const Check& c : checks)
      report["checks"].push_back({{"name", c.name}, {"result", c.result}, {"detail", c.detail}});
    if (vm.count("keep")) report["directory"] = dir;
    fmt::print("{}\n", report.dump(2, ' ', false, json::error_handler_t::replace));
  } else {
    fmt::print("kordon plugin check {}\n", o.file);
    for (const Check& c : checks) {
      std::string label = c.result;
      for (char& ch : label) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      std::string detail = c.detail;
      for (size_t at = detail.find('\n'); at != std::string::npos; at = detail.find('\n', at + 1))
        detail.insert(at + 1, std::string(18, ' '));
      fmt::print("  {:<4} {:<11} {}\n", label, c.name, detail);
    }
    fmt::print("result: {} ({:.1f} s){}\n", failed ? "FAIL" : "PASS", seconds,
               vm.count("keep") ? std::string(", logs in ") + dir : "");
  }
  return failed ? 2 : 0;
}

}  // namespace kordon::host
