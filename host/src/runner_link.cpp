#include "runner_link.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <filesystem>
#include <optional>

#include "subprocess.h"

namespace kordon::host {

nlohmann::json EncodeRunnerInit(const RunnerInit& init) {
  const InstanceConfig& ic = init.instance;
  nlohmann::json settings = nlohmann::json::array();
  for (const auto& [k, v] : ic.settings) settings.push_back({k, v});
  return nlohmann::json{{"library", init.library},
                        {"library_blake2b", init.library_blake2b},
                        {"instance",
                         {{"name", ic.name},
                          {"lane", ic.lane},
                          {"has_subscribe", ic.has_subscribe},
                          {"subscribe", ic.subscribe},
                          {"settings", settings},
                          {"publish_limit", ic.publish_limit},
                          {"publish_burst", ic.publish_burst},
                          {"memory_limit_mb", ic.memory_limit_mb}}},
                        {"bus",
                         {{"queue_limit", init.bus.queue_limit},
                          {"publish_timeout_ms", init.bus.publish_timeout_ms},
                          {"max_body_bytes", init.bus.max_body_bytes}}},
                        {"call_timeout_ms", init.call_timeout_ms},
                        {"heartbeat_ms", init.heartbeat_ms},
                        {"missed_heartbeats", init.missed_heartbeats},
                        {"log_level", init.log_level},
                        {"validate_schemas", SchemaCheckName(init.validate_schemas)},
                        {"schema_dir", init.schema_dir}};
}

Status DecodeRunnerInit(const nlohmann::json& j, RunnerInit* out) {
  try {
    out->library = j.at("library").get<std::string>();
    out->library_blake2b = j.value("library_blake2b", std::string());
    const nlohmann::json& i = j.at("instance");
    out->instance.name = i.at("name").get<std::string>();
    out->instance.lane = i.at("lane").get<std::string>();
    out->instance.has_subscribe = i.at("has_subscribe").get<bool>();
    out->instance.subscribe = i.at("subscribe").get<std::vector<std::string>>();
    for (const auto& kv : i.at("settings"))
      out->instance.settings.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
    out->instance.publish_limit = i.at("publish_limit").get<int64_t>();
    out->instance.publish_burst = i.at("publish_burst").get<int64_t>();
    out->instance.memory_limit_mb = i.at("memory_limit_mb").get<int64_t>();
    out->instance.isolated = true;
    out->instance.library = out->library;
    const nlohmann::json& b = j.at("bus");
    out->bus.ingress.clear();
    out->bus.egress.clear();
    out->bus.queue_limit = b.at("queue_limit").get<int64_t>();
    out->bus.publish_timeout_ms = b.at("publish_timeout_ms").get<int64_t>();
    out->bus.max_body_bytes = b.at("max_body_bytes").get<int64_t>();
    out->call_timeout_ms = j.at("call_timeout_ms").get<int64_t>();
    out->heartbeat_ms = j.at("heartbeat_ms").get<int64_t>();
    out->missed_heartbeats = j.at("missed_heartbeats").get<int64_t>();
    out->log_level = j.at("log_level").get<std::string>();
    const std::string check = j.at("validate_schemas").get<std::string>();
    std::optional<SchemaCheck> mode = ParseSchemaCheck(check);
    if (!mode)
      return Status::InvalidArgument("bad init document from the host: validate_schemas '" +
                                     check + "'");
    out->validate_schemas = *mode;
    out->schema_dir = j.at("schema_dir").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("bad init document from the host: {}", e.what()));
  }
  return Status::Ok();
}

nlohmann::json StatsToJson(const InstanceStats& s) {
  return nlohmann::json{{"received", s.received.load()},
                        {"handler_errors", s.handler_errors.load()},
                        {"published", s.published.load()},
                        {"publish_failures", s.publish_failures.load()},
                        {"dropped_after_stop", s.dropped_after_stop.load()},
                        {"dropped_before_start", s.dropped_before_start.load()},
                        {"timers_fired", s.timers_fired.load()},
                        {"requests", s.requests.load()},
                        {"request_timeouts", s.request_timeouts.load()},
                        {"late_replies", s.late_replies.load()},
                        {"throttled", s.throttled.load()},
                        {"schema_violations", s.schema_violations.load()}};
}

std::string RunnerPath(const SupervisionConfig& supervision) {
  if (!supervision.runner.empty()) return supervision.runner;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "kordon-runner";
  return (self.parent_path() / "kordon-runner").string();
}

nlohmann::json DescriptionToJson(const PluginDescription& d) {
  return nlohmann::json{{"name", d.name},
                        {"kind", d.kind},
                        {"vendor", d.vendor},
                        {"version", d.version},
                        {"description", d.description},
                        {"abi_version", d.abi_version},
                        {"publishes", d.publishes},
                        {"subscribes", d.subscribes},
                        {"services", d.services}};
}

Status DescriptionFromJson(const nlohmann::json& j, PluginDescription* out) {
  try {
    PluginDescription d;
    d.name = j.at("name").get<std::string>();
    d.kind = j.at("kind").get<kordon_plugin_kind>();
    d.vendor = j.at("vendor").get<std::string>();
    d.version = j.at("version").get<std::string>();
    d.description = j.at("description").get<std::string>();
    d.abi_version = j.at("abi_version").get<uint32_t>();
    d.publishes = j.at("publishes").get<std::vector<std::string>>();
    d.subscribes = j.at("subscribes").get<std::vector<std::string>>();
    d.services = j.at("services").get<std::vector<std::string>>();
    *out = std::move(d);
    return Status::Ok();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("a malformed plugin description: ") + e.what());
  }
}

Result<std::shared_ptr<PluginLibrary>> DescribeInChild(const std::string& path,
                                                       const std::string& runner,
                                                       std::chrono::milliseconds limit,
                                                       const std::string& signed_hash) {
  std::vector<std::string> argv = {runner, "--describe", path};
  if (!signed_hash.empty()) argv.insert(argv.end(), {"--blake2b", signed_hash});
  Result<CapturedRun> run = RunCaptured(argv, limit);
  if (!run.ok()) return run.status();
  const std::string& out = run.value().output;
  // The last lines the child wrote, for the reason of a failure.
  std::string tail = out.size() > 2000 ? out.substr(out.size() - 2000) : out;
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  if (!run.value().status)
    return Status::Timeout(fmt::format(
        "loading '{}' did not finish within {} ms (in a child process: the host is unharmed)",
        path, limit.count()));
  const int status = *run.value().status;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The runner's own refusal (exit 2; 3 for an ABI version) is one line saying why;
    // anything else is the library's doing.
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) return Status::InvalidArgument(tail);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return Status::Version(tail);
    return Status::InvalidArgument(fmt::format(
        "loading '{}' in a child process ended with {} (the host is unharmed){}{}", path,
        DescribeExit(status), tail.empty() ? "" : ": ", tail));
  }
  const size_t at = out.rfind(kDescriptionLine);
  if (at == std::string::npos || (at > 0 && out[at - 1] != '\n'))
    return Status::InvalidArgument(
        fmt::format("loading '{}' in a child process gave no description: {}", path, tail));
  const size_t end = out.find('\n', at);
  const size_t from = at + sizeof(kDescriptionLine) - 1;
  auto j = nlohmann::json::parse(
      out.substr(from, end == std::string::npos ? std::string::npos : end - from), nullptr,
      false);
  PluginDescription d;
  if (Status s = DescriptionFromJson(j, &d); !s.ok())
    return Status::InvalidArgument(fmt::format("'{}': {}", path, s.message()));
  return PluginLibrary::FromDescription(path, std::move(d), signed_hash);
}

}  // namespace kordon::host
