// procedures.cpp — the procedures plugin: runs one site procedure (a Lua script, see
// scripts/README.md) inside kordon-host. One instance per script, so each script has its own
// Lua state on its own actor thread; the engine is host/src/lua (kordon_lua), reached through
// the Environment interface implemented here over the SDK's host services: publish, request
// (kordon.call), timers, log, the instance's settings. The script file is polled and reloaded
// when it changes; a version that fails to load or to run its top level is reported
// (procedure.error, alert.raised) and the previous version keeps running. See README.md.
//
// Threading: everything — the constructor, Start, Stop, OnMessage, timer callbacks, replies —
// runs on the instance's actor thread, which owns the Script; nothing is shared or locked.

#include <kordon/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "environment.h"
#include "file_stamp.h"
#include "plugin_settings.h"
#include "script.h"

namespace {

namespace lua = kordon::lua;
using nlohmann::json;

constexpr char kLoadedTopic[] = "procedure.loaded";
constexpr char kErrorTopic[] = "procedure.error";
constexpr char kAlertTopic[] = "alert.raised";

// Settings the plugin reads itself; every other key of the section is the script's own
// (kordon.setting).
const std::set<std::string, std::less<>> kPluginSettings = {
    "script", "reload_ms", "instructions", "load_instructions", "memory_mb",
    "errors_per_second", "see_own"};

// A script file is read whole; procedures are small and a huge file is a mistake.
constexpr std::uintmax_t kMaxScriptBytes = 1u << 20;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The last path component: the chunk name in every error ("truck.lua:12: ...").
std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// FNV-1a of the text: a short version tag in procedure.loaded, to tell reloads apart.
std::string TextTag(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Reads path whole; false with *error when it cannot be read or is too big.
bool ReadScript(const std::string& path, std::string* text, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot be opened";
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    *error = path + ": read failed";
    return false;
  }
  *text = std::move(s).str();
  if (text->size() > kMaxScriptBytes) {
    *error = path + ": larger than 1 MiB; a site procedure is not that big";
    return false;
  }
  return true;
}

class Procedures : public kordon::Plugin, private lua::Environment {
 public:
  // Reads and checks the settings and loads the script (its top level runs in Start, once
  // the bus is live): a broken script fails create with the script's line.
  explicit Procedures(kordon::Host h) : Plugin(std::move(h)) {
    const kordon::Host& host = this->host();
    path_ = host.ConfigOr("script", "");
    if (path_.empty())
      throw std::invalid_argument("setting 'script' (the Lua file of the procedure) is required");
    name_ = BaseName(path_);
    reload_ms_ = kordon::settings::IntInRange(host, "reload_ms", 1000, 0, 3600000);
    if (reload_ms_ != 0 && reload_ms_ < 100)
      throw std::invalid_argument("setting 'reload_ms' must be 0 (off) or at least 100, got " +
                                  std::to_string(reload_ms_));
    limits_.instructions =
        kordon::settings::IntInRange(host, "instructions", 10'000'000, 1000, 2'000'000'000);
    limits_.load_instructions = kordon::settings::IntInRange(host, "load_instructions",
                                                             50'000'000, 1000, 2'000'000'000);
    limits_.memory_bytes =
        static_cast<std::size_t>(kordon::settings::IntInRange(host, "memory_mb", 32, 1, 1024))
        << 20;
    errors_per_second_ = kordon::settings::IntInRange(host, "errors_per_second", 10, 1, 10000);
    const std::string see_own = host.ConfigOr("see_own", "false");
    if (see_own != "true" && see_own != "false")
      throw std::invalid_argument("setting 'see_own' must be true or false, got '" + see_own +
                                  "'");
    see_own_ = see_own == "true";
    for (const std::string& key : host.ConfigKeys())
      if (!kPluginSettings.count(key)) settings_[key] = host.ConfigOr(key, "");
  }

  ~Procedures() override { script_.reset(); }

  kordon::Status Start() override {
    std::string text, error;
    stamp_ = kordon::FileStamp::Of(path_);
    if (!ReadScript(path_, &text, &error)) return kordon::Status::InvalidArgument(error);
    lua::ScriptError failure;
    script_ = lua::Script::Load(text, name_, this, limits_, &failure);
    if (!script_) return kordon::Status::InvalidArgument(Describe(failure));
    Announce(text, /*reloaded=*/false);
    if (reload_ms_ > 0) {
      const std::chrono::milliseconds every(reload_ms_);
      kordon::Status s = host().StartTimer(every, every, [this] { Poll(); }, &poll_timer_);
      if (!s.ok()) return s;
    }
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (poll_timer_ != 0) (void)host().CancelTimer(poll_timer_);
    poll_timer_ = 0;
    if (script_) {
      const lua::Script::Stats& s = script_->stats();
      host().Info(name_ + ": stopping; activations " + std::to_string(s.activations) +
                  ", errors " + std::to_string(s.errors) + ", budget kills " +
                  std::to_string(s.budget_kills) + ", memory errors " +
                  std::to_string(s.memory_errors) + ", waiting " +
                  std::to_string(script_->suspended()) + "; messages " +
                  std::to_string(dispatched_) + " dispatched, " + std::to_string(skipped_) +
                  " not wanted; published " + std::to_string(published_) +
                  ", publish failures " + std::to_string(publish_failures_) + "; reloads " +
                  std::to_string(reloads_) + ", failed reloads " +
                  std::to_string(reload_failures_) + ", error events suppressed " +
                  std::to_string(suppressed_total_));
    }
    script_.reset();  // cancels the script's timers; its waiting activations end here
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (!script_) return kordon::Status::Ok();
    const std::string_view topic = m.topic();
    // Requests for other instances' services are bus plumbing, not events for procedures;
    // the script's own publications would make a handler that publishes on its own prefix
    // loop (see_own = true lets a script see them).
    if (topic.substr(0, 4) == "rpc." || (!see_own_ && m.source() == host().instance_name()) ||
        !script_->Wants(topic)) {
      ++skipped_;
      return kordon::Status::Ok();
    }
    ++dispatched_;
    lua::Message msg;
    msg.topic = std::string(topic);
    msg.id = std::string(m.id());
    msg.time_us = m.time_us();
    msg.source = std::string(m.source());
    msg.lane = std::string(m.lane());
    msg.crossing_id = std::string(m.crossing_id());
    msg.body_text = m.body();  // straight into Lua, no JSON tree in between
    script_->Dispatch(msg);
    return kordon::Status::Ok();
  }

 private:
  // --- lua::Environment ---------------------------------------------------------------------

  void Publish(const std::string& topic, std::string_view body, const std::string& lane,
               const std::string& crossing_id) override {
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing_id.empty()) options.crossing_id = crossing_id.c_str();
    kordon::Status s = host().Publish(topic, body, options);
    if (!s.ok()) {
      ++publish_failures_;
      // Thrown into the script: kordon.publish raises "kordon.publish: ..." at its line.
      throw std::runtime_error(s.code() == KORDON_E_BUSY
                                   ? "the bus is busy (backpressure); the message was not sent"
                                   : "refused by the host: " + s.ToString());
    }
    ++published_;
  }

  void Request(std::uint64_t request_id, const std::string& service, std::string_view body,
               std::int64_t timeout_ms) override {
    kordon::Status s = host().Request(
        service, body, std::chrono::milliseconds(timeout_ms),
        [this, request_id](kordon::Status status, const kordon::Message* reply) {
          if (!script_) return;
          if (!status.ok() || reply == nullptr) {
            std::string why = status.ok() ? "no reply" : status.ToString();
            if (reply != nullptr && !reply->body().empty())
              why += ": " + std::string(reply->body());
            script_->OnReply(request_id, nullptr, why);
            return;
          }
          json parsed = json::parse(reply->body(), nullptr, /*allow_exceptions=*/false);
          if (parsed.is_discarded()) {
            script_->OnReply(request_id, nullptr, "the reply of the service is not JSON");
            return;
          }
          script_->OnReply(request_id, &parsed, {});
        });
    if (!s.ok()) throw std::runtime_error(s.ToString());  // kordon.call returns nil, error
  }

  std::int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void StartTimer(std::uint64_t timer_id, std::int64_t delay_ms) override {
    kordon::TimerId id = 0;
    kordon::Status s = host().StartTimer(
        std::chrono::milliseconds(delay_ms), std::chrono::milliseconds(0),
        [this, timer_id] {
          timers_.erase(timer_id);
          if (script_) script_->OnTimer(timer_id);
        },
        &id);
    if (!s.ok()) throw std::runtime_error("cannot start a timer: " + s.ToString());
    timers_[timer_id] = id;
  }

  void CancelTimer(std::uint64_t timer_id) override {
    auto it = timers_.find(timer_id);
    if (it == timers_.end()) return;
    (void)host().CancelTimer(it->second);
    timers_.erase(it);
  }

  void Log(lua::LogLevel level, const std::string& text) override {
    switch (level) {
      case lua::LogLevel::kInfo: host().Info(text); break;
      case lua::LogLevel::kWarn: host().Warn(text); break;
      case lua::LogLevel::kError: host().Error(text); break;
    }
  }

  std::optional<std::string> Setting(const std::string& key) override {
    auto it = settings_.find(key);
    if (it == settings_.end()) return std::nullopt;
    return it->second;
  }

  void ReportError(const lua::ScriptError& e) override {
    host().Error(Describe(e) + (e.traceback.empty() ? "" : "\n" + e.traceback));
    // A script failing on every message must not flood the bus: at most errors_per_second
    // events, the rest counted and named in the next event.
    const int64_t now_s = NowMicros() / 1'000'000;
    if (now_s != error_second_) {
      error_second_ = now_s;
      errors_this_second_ = 0;
    }
    if (++errors_this_second_ > errors_per_second_) {
      ++suppressed_;
      ++suppressed_total_;
      return;
    }
    json body = {{"procedure", host().instance_name()},
                 {"script", e.script},
                 {"path", path_},
                 {"kind", std::string(lua::KindName(e.kind))},
                 {"message", e.message},
                 {"traceback", e.traceback},
                 {"suppressed", suppressed_}};
    suppressed_ = 0;
    (void)host().Publish(kErrorTopic, Dump(body));
  }

  // --- reload -------------------------------------------------------------------------------

  void Poll() {
    const kordon::FileStamp now = kordon::FileStamp::Of(path_);
    // A missing file is not a change: editors save by writing a new file and renaming it.
    if (!now.exists() || now == stamp_) return;
    stamp_ = now;  // before reading: a write racing the read shows at the next poll
    std::string text, error;
    if (!ReadScript(path_, &text, &error)) {
      ReloadFailed(error, lua::ScriptError::Kind::kLoad);
      return;
    }
    lua::ScriptError failure;
    std::unique_ptr<lua::Script> next = lua::Script::Load(text, name_, this, limits_, &failure);
    if (!next) {
      ReloadFailed(Describe(failure), failure.kind);
      return;
    }
    const size_t dropped = script_ ? script_->suspended() : 0;
    script_ = std::move(next);  // the old version's timers are cancelled by its destructor
    ++reloads_;
    if (dropped > 0)
      host().Warn(name_ + ": reloaded; " + std::to_string(dropped) +
                  " activation(s) of the previous version were waiting and end here");
    Announce(text, /*reloaded=*/true);
  }

  void ReloadFailed(const std::string& why, lua::ScriptError::Kind kind) {
    ++reload_failures_;
    const std::string text = name_ + " was changed but not reloaded, the previous version " +
                             "keeps running: " + why;
    host().Error(text);
    json error = {{"procedure", host().instance_name()}, {"script", name_}, {"path", path_},
                  {"kind", std::string(lua::KindName(kind))}, {"message", why},
                  {"traceback", ""}, {"suppressed", 0}};
    (void)host().Publish(kErrorTopic, Dump(error));
    json alert = {{"source", host().instance_name()}, {"severity", "warning"}, {"reason", text}};
    (void)host().Publish(kAlertTopic, Dump(alert));
  }

  void Announce(std::string_view text, bool reloaded) {
    json prefixes = json::array();
    for (const std::string& p : script_->Prefixes()) prefixes.push_back(p);
    json body = {{"procedure", host().instance_name()}, {"script", name_}, {"path", path_},
                 {"version", TextTag(text)}, {"reloaded", reloaded}, {"reloads", reloads_},
                 {"subscribes", prefixes}};
    host().Info(name_ + (reloaded ? ": reloaded, version " : ": loaded, version ") +
                TextTag(text) + ", handles " + (prefixes.empty() ? "nothing" : prefixes.dump()));
    (void)host().Publish(kLoadedTopic, Dump(body));
  }

  static std::string Describe(const lua::ScriptError& e) {
    return std::string(lua::KindName(e.kind)) + " error: " + e.message;
  }

  std::string path_;
  std::string name_;
  int64_t reload_ms_ = 1000;
  lua::Limits limits_;
  int64_t errors_per_second_ = 10;
  bool see_own_ = false;
  std::unordered_map<std::string, std::string> settings_;

  std::unique_ptr<lua::Script> script_;
  kordon::FileStamp stamp_;
  kordon::TimerId poll_timer_ = 0;
  std::unordered_map<std::uint64_t, kordon::TimerId> timers_;  // script timer id → host's

  int64_t error_second_ = 0;
  int64_t errors_this_second_ = 0;
  uint64_t suppressed_ = 0;  // since the last error event
  uint64_t suppressed_total_ = 0;
  uint64_t dispatched_ = 0;
  uint64_t skipped_ = 0;
  uint64_t published_ = 0;
  uint64_t publish_failures_ = 0;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
};

}  // namespace

// A procedure publishes what its script publishes: any topic (""), besides its own events.
KORDON_PLUGIN(Procedures,
              {.name = "procedures",
               .kind = KORDON_KIND_OTHER,
               .vendor = "Kordon",
               .version = "0.1.0",
               .description = "Runs one site procedure written in Lua (sandboxed, hot reload)",
               .publishes = {"procedure.loaded", "procedure.error", "alert.raised", ""},
               .subscribes = {""}})
