#include "runner_link.h"

#include <fmt/format.h>

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
                        {"log_level", init.log_level}};
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
                        {"throttled", s.throttled.load()}};
}

}  // namespace kordon::host
