// fake_environment.h — an Environment for the engine's tests: records what the script
// published, requested and logged, and runs timers on a simulated clock (Advance).
#ifndef KORDON_TESTS_LUA_FAKE_ENVIRONMENT_H_
#define KORDON_TESTS_LUA_FAKE_ENVIRONMENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "environment.h"
#include "script.h"

namespace kordon::lua::testing {

struct Published {
  std::string topic;
  nlohmann::json body;
  std::string lane, crossing_id;
};

struct Sent {
  std::string service;
  nlohmann::json body;
  std::int64_t timeout_ms;
};

class FakeEnvironment : public Environment {
 public:
  void Publish(const std::string& topic, std::string_view body, const std::string& lane,
               const std::string& crossing_id) override {
    published.push_back({topic, nlohmann::json::parse(body), lane, crossing_id});
  }
  void Request(std::uint64_t id, const std::string& service, std::string_view body,
               std::int64_t timeout_ms) override {
    requests[id] = {service, nlohmann::json::parse(body), timeout_ms};
  }
  std::int64_t NowMicros() override { return now_us; }
  void StartTimer(std::uint64_t id, std::int64_t delay_ms) override {
    timers[id] = now_us + delay_ms * 1000;
  }
  void CancelTimer(std::uint64_t id) override { timers.erase(id); }
  void Log(LogLevel level, const std::string& text) override {
    logs.push_back(std::string(level == LogLevel::kInfo   ? "info: "
                               : level == LogLevel::kWarn ? "warn: "
                                                          : "error: ") +
                   text);
  }
  std::optional<std::string> Setting(const std::string& key) override {
    auto it = settings.find(key);
    if (it == settings.end()) return std::nullopt;
    return it->second;
  }
  void ReportError(const ScriptError& e) override { errors.push_back(e); }

  // Moves the clock forward, firing due timers in order of their time.
  void Advance(std::int64_t ms) {
    const std::int64_t until = now_us + ms * 1000;
    for (;;) {
      std::uint64_t next = 0;
      std::int64_t due = until + 1;
      for (const auto& [id, t] : timers)
        if (t < due) due = t, next = id;
      if (next == 0) break;
      timers.erase(next);
      now_us = due;
      script->OnTimer(next);
    }
    now_us = until;
  }

  // Loads text as "test.lua" into script; fails the test (returns false) on a load error.
  bool Load(const std::string& text, Limits limits = {}) {
    ScriptError e;
    script = Script::Load(text, "test.lua", this, limits, &e);
    load_error = e.message;
    return script != nullptr;
  }

  void Send(const std::string& topic, nlohmann::json body, std::string lane = "") {
    Message m;
    m.topic = topic;
    m.id = "m" + std::to_string(++sent_count);
    m.time_us = now_us;
    m.source = "test";
    m.lane = std::move(lane);
    m.body = std::move(body);
    script->Dispatch(m);
  }

  std::int64_t now_us = 1'700'000'000'000'000;
  std::vector<Published> published;
  std::map<std::uint64_t, Sent> requests;
  std::map<std::uint64_t, std::int64_t> timers;  // id -> due, µs
  std::vector<std::string> logs;
  std::vector<ScriptError> errors;
  std::map<std::string, std::string> settings;
  std::unique_ptr<Script> script;
  std::string load_error;
  int sent_count = 0;
};

}  // namespace kordon::lua::testing

#endif  // KORDON_TESTS_LUA_FAKE_ENVIRONMENT_H_
