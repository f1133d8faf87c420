// replay.cpp — see replay.h.
#include "replay.h"

#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

namespace kordon::lua {

namespace {

using nlohmann::json;

std::string Where(const std::string& name, int line) {
  return name + ":" + std::to_string(line) + ": ";
}

// An optional string member of a recorded line; false (with *error) when it is not a string.
bool OptionalString(const json& line, const char* key, std::string* out, std::string* error) {
  auto it = line.find(key);
  if (it == line.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string("'") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

// The environment of a replay: effects recorded, a simulated clock, an event queue.
class ReplayEnvironment : public Environment {
 public:
  ReplayEnvironment(const ReplayOptions& options, ReplayResult* result)
      : options_(options), result_(result) {}

  void set_script(Script* s) { script_ = s; }
  std::int64_t now() const { return now_us_; }
  void Begin(std::int64_t us) { now_us_ = start_us_ = us; }

  // Fires, in order, every queued event due at or before until_us (each at its due time).
  // Returns false when the runaway limit stopped it.
  bool RunUntil(std::int64_t until_us) {
    while (!queue_.empty()) {
      auto it = queue_.begin();
      if (std::get<0>(it->first) > until_us) break;
      const std::int64_t due = std::get<0>(it->first);
      Event event = std::move(it->second);
      queue_.erase(it);
      if (due > now_us_) now_us_ = due;
      if (event.kind == Event::kTimer) {
        timer_keys_.erase(event.id);
        if (++result_->timer_fires > options_.max_timer_fires) {
          result_->runaway = true;
          return false;
        }
        if (script_) script_->OnTimer(event.id);
      } else if (script_) {
        if (event.error.empty()) script_->OnReply(event.id, &event.reply, {});
        else script_->OnReply(event.id, nullptr, event.error);
      }
    }
    if (until_us > now_us_) now_us_ = until_us;
    return true;
  }

  void Publish(const std::string& topic, std::string_view body, const std::string& lane,
               const std::string& crossing_id) override {
    json e = {{"time_us", now_us_}, {"topic", topic}};
    if (!lane.empty()) e["lane"] = lane;
    if (!crossing_id.empty()) e["crossing_id"] = crossing_id;
    e["body"] = json::parse(body);  // written by the engine: valid
    result_->effects.push_back(std::move(e));
  }

  void Request(std::uint64_t request_id, const std::string& service, std::string_view body,
               std::int64_t timeout_ms) override {
    result_->effects.push_back(
        {{"time_us", now_us_}, {"call", service}, {"body", json::parse(body)}});
    Event event{Event::kReply, request_id, json(), {}};
    std::int64_t due = now_us_;
    auto it = options_.services.find(service);
    if (it == options_.services.end()) {
      due = now_us_ + timeout_ms * 1000;
      event.error = "timeout: service '" + service + "' has no reply in this test (--services)";
    } else {
      const json* reply = &*it;
      if (it->is_array()) {
        if (it->empty()) {
          due = now_us_ + timeout_ms * 1000;
          event.error = "timeout: service '" + service + "' has no reply in this test";
        } else {
          std::size_t& n = calls_[service];
          reply = &(*it)[std::min(n, it->size() - 1)];
          ++n;
        }
      }
      if (event.error.empty()) {
        if (reply->is_object() && reply->contains("$error"))
          event.error = (*reply)["$error"].is_string() ? (*reply)["$error"].get<std::string>()
                                                       : (*reply)["$error"].dump();
        else
          event.reply = *reply;
      }
    }
    Enqueue(due, std::move(event));
  }

  std::int64_t NowMicros() override { return now_us_; }

  void StartTimer(std::uint64_t timer_id, std::int64_t delay_ms) override {
    timer_keys_[timer_id] = Enqueue(now_us_ + delay_ms * 1000, Event{Event::kTimer, timer_id});
  }

  void CancelTimer(std::uint64_t timer_id) override {
    auto it = timer_keys_.find(timer_id);
    if (it == timer_keys_.end()) return;
    queue_.erase(it->second);
    timer_keys_.erase(it);
  }

  void Log(LogLevel level, const std::string& text) override {
    const char* l = level == LogLevel::kInfo ? "info" : level == LogLevel::kWarn ? "warn" : "error";
    result_->log.push_back(Stamp() + " " + l + " " + text);
  }

  std::optional<std::string> Setting(const std::string& key) override {
    auto it = options_.settings.find(key);
    if (it == options_.settings.end()) return std::nullopt;
    return it->second;
  }

  void ReportError(const ScriptError& error) override {
    result_->errors.push_back(error);
    result_->log.push_back(Stamp() + " error " + std::string(KindName(error.kind)) + ": " +
                           error.message);
  }

 private:
  struct Event {
    enum Kind { kTimer, kReply } kind;
    std::uint64_t id = 0;
    json reply;
    std::string error;
  };
  using Key = std::tuple<std::int64_t, std::uint64_t>;  // due, sequence: FIFO among equals

  Key Enqueue(std::int64_t due, Event event) {
    Key key{due, seq_++};
    queue_.emplace(key, std::move(event));
    return key;
  }

  // "+12.345" seconds since the start of the replay.
  std::string Stamp() const {
    char buf[32];
    const std::int64_t ms = (now_us_ - start_us_) / 1000;
    std::snprintf(buf, sizeof buf, "+%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
    return buf;
  }

  const ReplayOptions& options_;
  ReplayResult* result_;
  Script* script_ = nullptr;
  std::int64_t now_us_ = 0;
  std::int64_t start_us_ = 0;
  std::uint64_t seq_ = 0;
  std::map<Key, Event> queue_;
  std::map<std::uint64_t, Key> timer_keys_;
  std::map<std::string, std::size_t> calls_;
};

bool Matches(const json& expected, const json& actual, const std::string& path,
             std::vector<std::string>* out) {
  if (expected.is_object()) {
    if (!actual.is_object()) {
      out->push_back(path + ": expected an object, got " + actual.dump());
      return false;
    }
    bool ok = true;
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      auto a = actual.find(it.key());
      if (a == actual.end()) {
        out->push_back(path + "." + it.key() + ": missing (expected " + it.value().dump() + ")");
        ok = false;
      } else {
        ok = Matches(it.value(), *a, path + "." + it.key(), out) && ok;
      }
    }
    return ok;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      out->push_back(path + ": expected " + expected.dump() + ", got " + actual.dump());
      return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < expected.size(); ++i)
      ok = Matches(expected[i], actual[i], path + "[" + std::to_string(i + 1) + "]", out) && ok;
    return ok;
  }
  const bool equal = (expected.is_number() && actual.is_number())
                         ? expected.get<double>() == actual.get<double>()
                         : expected == actual;
  if (!equal) out->push_back(path + ": expected " + expected.dump() + ", got " + actual.dump());
  return equal;
}

}  // namespace

bool ParseRecording(std::string_view text, const std::string& name,
                    std::vector<RecordedMessage>* out, std::string* error) {
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      *error = Where(name, line_no) + "not a JSON object";
      return false;
    }
    RecordedMessage r;
    r.line = line_no;
    auto topic = j.find("topic");
    if (topic == j.end() || !topic->is_string() || topic->get<std::string>().empty()) {
      *error = Where(name, line_no) + "'topic' (a non-empty string) is required";
      return false;
    }
    r.message.topic = topic->get<std::string>();
    auto body = j.find("body");
    if (body == j.end() || !body->is_object()) {
      *error = Where(name, line_no) + "'body' (a JSON object) is required";
      return false;
    }
    r.message.body = std::move(*body);
    auto time = j.find("time_us");
    if (time == j.end() || !time->is_number_integer() || time->get<std::int64_t>() < 0) {
      *error = Where(name, line_no) + "'time_us' (microseconds since the epoch) is required";
      return false;
    }
    r.message.time_us = time->get<std::int64_t>();
    std::string why;
    if (!OptionalString(j, "id", &r.message.id, &why) ||
        !OptionalString(j, "source", &r.message.source, &why) ||
        !OptionalString(j, "lane", &r.message.lane, &why) ||
        !OptionalString(j, "crossing_id", &r.message.crossing_id, &why)) {
      *error = Where(name, line_no) + why;
      return false;
    }
    if (r.message.id.empty()) r.message.id = "replay-" + std::to_string(line_no);
    out->push_back(std::move(r));
  }
  return true;
}

ReplayResult Replay(std::string_view script_text, const std::string& script_name,
                    const std::vector<RecordedMessage>& recording, const ReplayOptions& options) {
  ReplayResult result;
  ReplayEnvironment env(options, &result);
  std::int64_t start = options.start_us;
  if (start == 0 && !recording.empty()) start = recording.front().message.time_us;
  env.Begin(start);

  ScriptError failure;
  std::unique_ptr<Script> script =
      Script::Load(script_text, script_name, &env, options.limits, &failure);
  if (!script) {
    result.load_error = failure;
    return result;
  }
  result.loaded = true;
  env.set_script(script.get());

  bool running = true;
  for (const RecordedMessage& r : recording) {
    const std::int64_t at = std::max(env.now(), r.message.time_us);
    if (!(running = env.RunUntil(at))) break;
    if (!script->Wants(r.message.topic)) continue;
    ++result.messages;
    script->Dispatch(r.message);
  }
  if (running) env.RunUntil(env.now() + options.settle_ms * 1000);
  result.end_us = env.now();
  env.set_script(nullptr);
  script.reset();  // cancels its timers in env (still alive)
  return result;
}

std::vector<std::string> CompareEffects(const std::vector<json>& expected,
                                        const std::vector<json>& actual) {
  std::vector<std::string> out;
  const std::size_t n = std::min(expected.size(), actual.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::string> diffs;
    if (!Matches(expected[i], actual[i], "", &diffs)) {
      // Paths start with "." ("effect 3: body.kg: expected 41000, got 39000").
      for (const std::string& d : diffs)
        out.push_back("effect " + std::to_string(i + 1) +
                      (d[0] == '.' ? ": " + d.substr(1) : d));
    }
  }
  for (std::size_t i = n; i < expected.size(); ++i)
    out.push_back("effect " + std::to_string(i + 1) + ": expected " + expected[i].dump() +
                  ", but the script did nothing more");
  for (std::size_t i = n; i < actual.size(); ++i)
    out.push_back("effect " + std::to_string(i + 1) + ": not expected: " + actual[i].dump());
  return out;
}

}  // namespace kordon::lua
