// environment.h — the one interface through which a site-procedure script reaches the world.
//
// The procedures plugin (bus, real clock, host timers) and `kordon script test` (a recorded
// stream, a simulated clock) each implement it; the engine knows nothing else. Results come
// back by id: the implementation later calls Script::OnReply(request_id, ...) and
// Script::OnTimer(timer_id) on the script's own thread. It may do so from inside a call the
// script made (the engine queues such re-entrant deliveries until the activation ends).
//
// Thread safety: called only from the thread that owns the Script.
#ifndef KORDON_HOST_LUA_ENVIRONMENT_H_
#define KORDON_HOST_LUA_ENVIRONMENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kordon::lua {

enum class LogLevel { kInfo, kWarn, kError };

// A script failure, reported once; the script goes on with its next activation.
struct ScriptError {
  enum class Kind {
    kLoad,     // syntax error or the top-level chunk failed: the script is not started
    kRuntime,  // a Lua error in a handler, timer or filter
    kBudget,   // the instruction budget of one activation ran out: the activation is killed
    kMemory,   // the state's memory cap was hit
    kApi,      // a kordon.* call was refused (bad arguments, body not JSON, ...)
  };
  Kind kind = Kind::kRuntime;
  std::string script;     // the chunk name
  std::string message;    // "<script>:<line>: <what>" when the line is known
  std::string traceback;  // Lua stack traceback, may be empty
};

std::string_view KindName(ScriptError::Kind kind);  // "load", "runtime", "budget", ...

class Environment {
 public:
  virtual ~Environment() = default;

  // Publishes body on topic. body is the text of a JSON object, compact, valid UTF-8 (the
  // engine writes it straight from the Lua table: no tree in between). lane and crossing_id
  // may be empty. May throw std::exception: the script gets a Lua error at its call.
  virtual void Publish(const std::string& topic, std::string_view body,
                       const std::string& lane, const std::string& crossing_id) = 0;
  // Sends a request (body as for Publish); later calls Script::OnReply(request_id, ...)
  // exactly once, with the reply or an error (timeout included).
  virtual void Request(std::uint64_t request_id, const std::string& service,
                       std::string_view body, std::int64_t timeout_ms) = 0;
  // Microseconds since the Unix epoch (simulated in `kordon script test`).
  virtual std::int64_t NowMicros() = 0;
  // Calls Script::OnTimer(timer_id) once, delay_ms from now; CancelTimer stops that.
  virtual void StartTimer(std::uint64_t timer_id, std::int64_t delay_ms) = 0;
  virtual void CancelTimer(std::uint64_t timer_id) = 0;
  virtual void Log(LogLevel level, const std::string& text) = 0;
  // The script's own settings (the procedures plugin: its section's keys other than the
  // plugin's own), by key.
  virtual std::optional<std::string> Setting(const std::string& key) = 0;
  // A failure of the script: the implementation counts it and publishes an error event.
  virtual void ReportError(const ScriptError& error) = 0;
};

}  // namespace kordon::lua

#endif  // KORDON_HOST_LUA_ENVIRONMENT_H_
