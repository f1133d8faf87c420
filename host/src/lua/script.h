// script.h — one site-procedure script: one sandboxed Lua 5.4 state and its activations.
//
// Every handler, timer callback and load runs as an activation: a coroutine resumed with an
// instruction budget (a count hook that keeps raising once the budget is spent, so pcall
// cannot swallow the kill) inside a state whose allocator enforces a memory cap. A handler
// that calls kordon.wait or kordon.call yields; the engine resumes it when the message, the
// reply or the timeout arrives. Failures are reported through Environment::ReportError with
// the script and line, and the script goes on with its next activation.
//
// Hot reload: Load() builds a complete new Script; it returns one only if the text compiles
// and the top-level chunk runs without error within budget, so the caller keeps the old one
// otherwise. Subscriptions (kordon.on) are made only by the top-level chunk: read Prefixes()
// after Load() to subscribe.
//
// Thread safety: not thread-safe; one thread owns a Script and calls everything on it.
#ifndef KORDON_HOST_LUA_SCRIPT_H_
#define KORDON_HOST_LUA_SCRIPT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <lua.hpp>
#include <nlohmann/json.hpp>

#include "environment.h"

namespace kordon::lua {

struct Limits {
  std::size_t memory_bytes = 32u << 20;           // the state's allocator refuses beyond this
  std::int64_t instructions = 10'000'000;         // per activation (each resume)
  std::int64_t load_instructions = 50'000'000;    // for the top-level chunk
};

// A bus message as a script sees it: {topic=, id=, time_us=, source=, lane=, crossing_id=,
// body=table}.
struct Message {
  std::string topic;
  std::string id;
  std::int64_t time_us = 0;
  std::string source;
  std::string lane;
  std::string crossing_id;
  nlohmann::json body = nlohmann::json::object();
  // When not empty, the body as JSON text, used instead of body: it goes straight into Lua
  // (simdjson) without a nlohmann tree, the fast path for bodies read off the bus.
  std::string_view body_text;
};

class Script {
 public:
  struct Stats {
    std::uint64_t activations = 0;
    std::uint64_t errors = 0;         // every ReportError
    std::uint64_t budget_kills = 0;
    std::uint64_t memory_errors = 0;
  };

  // Builds a state, compiles text (text chunks only) and runs the top-level chunk. On failure
  // returns nullptr and sets *error (with the line); no error is reported to env then.
  // env must outlive the Script.
  static std::unique_ptr<Script> Load(std::string_view text, std::string name,
                                      Environment* env, const Limits& limits,
                                      ScriptError* error);
  ~Script();
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // Topic prefixes the script subscribed to with kordon.on, in order, without duplicates.
  std::vector<std::string> Prefixes() const;
  // True when a kordon.on handler or a waiting kordon.wait takes topic: Dispatch does nothing
  // for any other topic, so callers skip it (and the body's conversion) cheaply.
  bool Wants(std::string_view topic) const;

  // Hands a message to the waits it satisfies and to every matching kordon.on handler.
  void Dispatch(const Message& message);
  // The reply (or error when reply is null) of Environment::Request(request_id, ...).
  void OnReply(std::uint64_t request_id, const nlohmann::json* reply, std::string_view error);
  void OnTimer(std::uint64_t timer_id);

  const std::string& name() const { return name_; }
  const Stats& stats() const { return stats_; }
  std::size_t memory_used() const { return memory_used_; }
  // Activations suspended in kordon.wait or kordon.call.
  std::size_t suspended() const;

 private:
  struct Handler {
    std::string prefix;
    int fn_ref;
  };
  struct Timer {
    enum class Kind { kAfter, kEvery, kWaitTimeout } kind;
    int fn_ref = LUA_NOREF;
    std::int64_t interval_ms = 0;
  };
  struct Suspended {
    lua_State* co = nullptr;
    int co_ref = LUA_NOREF;
  };
  struct Wait {
    std::string prefix;
    int filter_ref = LUA_NOREF;  // a table or a function, or LUA_NOREF
    Suspended activation;
  };

  Script(std::string name, Environment* env, const Limits& limits);

  static void* Alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize);
  static void Hook(lua_State* L, lua_Debug* ar);
  static void Warn(void* ud, const char* msg, int tocont);
  static Script* Self(lua_State* L);
  friend struct Api;

  // Runs fn in a protected call on the main thread; a failure is reported.
  void Protected(const std::function<void()>& fn);
  void RunOrDefer(std::function<void()> fn);
  void DrainDeferred();
  // Starts an activation calling the function at the top of L_ with the nargs values above it.
  void Start(int nargs, const char* what);
  // Resumes co with nargs values on its stack; handles yield, return and failure.
  void Resume(lua_State* co, int co_ref, int nargs);
  void ReportFailure(lua_State* co, int status);
  void Report(ScriptError::Kind kind, std::string message, std::string traceback = {});
  bool Matches(const Wait& wait, int message_idx);
  void PushMessage(const Message& m);
  std::uint64_t NextId();

  std::string name_;
  Environment* env_;
  Limits limits_;
  lua_State* L_ = nullptr;

  std::size_t memory_used_ = 0;
  bool loading_ = false;
  bool running_ = false;     // inside an activation or a protected call
  bool killed_ = false;      // the current activation ran out of budget
  std::int64_t budget_ = 0;  // instructions left in the current activation
  std::string kill_message_;
  lua_State* current_ = nullptr;  // the running activation
  int current_ref_ = LUA_NOREF;
  bool parked_ = false;  // the activation yielded through kordon.wait/call
  ScriptError* load_error_ = nullptr;  // while loading: failures go here

  std::vector<Handler> handlers_;
  std::map<std::uint64_t, Timer> timers_;
  std::map<std::uint64_t, Suspended> requests_;
  std::map<std::uint64_t, Wait> waits_;  // by the id of its timeout timer
  std::vector<Suspended> idle_;          // finished coroutines, reused
  std::deque<std::function<void()>> deferred_;
  Stats stats_;
};

// Whether a kordon.on / kordon.wait prefix takes topic. Whole segments, as the bus routes:
// "crossing" takes "crossing" and "crossing.opened" but not "crossings.get"; a prefix ending
// in "." takes what begins with it; "" takes everything.
bool PrefixMatches(std::string_view prefix, std::string_view topic);

// The static pass of `kordon script check`: compiles text (no bytecode) and runs it once in a
// dry-run sandbox with a tiny budget whose kordon table records every unknown kordon.<name>.
// Returns the problems as "<name>:<line>: <what>", empty when none.
std::vector<std::string> CheckScript(std::string_view text, const std::string& name);

}  // namespace kordon::lua

#endif  // KORDON_HOST_LUA_SCRIPT_H_
