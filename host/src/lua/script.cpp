// script.cpp — one sandboxed Lua state and its activations (see script.h, README.md).
//
// Error handling: the engine links the C++ build of Lua, where lua_error throws a C++
// exception, so C++ objects on the way unwind normally. Every entry point from C++ runs inside
// Protected() (a lua_pcall), so no Lua error, out-of-memory included, ever reaches the panic
// handler. Our own C++ exceptions are caught before they cross a Lua frame (Lua's catch(...)
// would turn them into an error without a message).
#include "script.h"

#include <atomic>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <memory>
#include <utility>

#include "prelude.lua.h"
#include "value.h"

namespace kordon::lua {
namespace {

// The count hook fires every kTick VM instructions; after a kill, on every instruction.
constexpr int kTick = 1000;
constexpr std::size_t kIdleCoroutines = 8;
constexpr lua_Integer kMaxTimeoutMs = 24LL * 3600 * 1000;

std::atomic<std::uint64_t> g_next_id{1};  // request and timer ids, unique in the process

// "<src>:<line>:" of the innermost Lua function on co's stack, or "<src>:" when none has one.
std::string WhereOf(lua_State* co, const std::string& name) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(co, level, &ar); ++level) {
    lua_getinfo(co, "Sl", &ar);
    if (ar.currentline > 0) return std::string(ar.short_src) + ":" +
                                   std::to_string(ar.currentline) + ":";
  }
  return name + ":";
}

int Panic(lua_State* L) {
  // Unreachable by design (every call is protected); abort loudly rather than run on.
  const char* m = lua_tostring(L, -1);
  std::fprintf(stderr, "kordon lua: unprotected error: %s\n", m ? m : "?");
  std::abort();
}

}  // namespace

bool PrefixMatches(std::string_view prefix, std::string_view topic) {
  if (topic.substr(0, prefix.size()) != prefix) return false;
  return prefix.empty() || prefix.back() == '.' || topic.size() == prefix.size() ||
         topic[prefix.size()] == '.';
}

std::string_view KindName(ScriptError::Kind kind) {
  switch (kind) {
    case ScriptError::Kind::kLoad: return "load";
    case ScriptError::Kind::kRuntime: return "runtime";
    case ScriptError::Kind::kBudget: return "budget";
    case ScriptError::Kind::kMemory: return "memory";
    case ScriptError::Kind::kApi: return "api";
  }
  return "?";
}

Script* Script::Self(lua_State* L) { return *static_cast<Script**>(lua_getextraspace(L)); }

void* Script::Alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* s = static_cast<Script*>(ud);
  const std::size_t old = ptr ? osize : 0;  // with ptr null, osize is a type tag
  if (nsize == 0) {
    std::free(ptr);
    s->memory_used_ -= old;
    return nullptr;
  }
  if (nsize > old && s->memory_used_ + (nsize - old) > s->limits_.memory_bytes) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) return nullptr;
  s->memory_used_ = s->memory_used_ - old + nsize;
  return p;
}

void Script::Hook(lua_State* L, lua_Debug*) {
  Script* s = Self(L);
  if (!s->killed_) {
    s->budget_ -= kTick;
    if (s->budget_ > 0) return;
    s->killed_ = true;
    ++s->stats_.budget_kills;
    s->kill_message_ = WhereOf(L, s->name_) + " instruction budget exceeded (" +
                       std::to_string(s->loading_ ? s->limits_.load_instructions
                                                  : s->limits_.instructions) +
                       " instructions in one activation); the activation is stopped";
  }
  // From now on every instruction raises, in this thread and in the activation's: a pcall
  // that catches the error gets one instruction further and the error comes back, so it
  // unwinds frame by frame up to the activation, which is then dropped, never resumed.
  lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
  if (s->current_ != nullptr && s->current_ != L) lua_sethook(s->current_, Hook, LUA_MASKCOUNT, 1);
  lua_pushstring(L, s->kill_message_.c_str());
  lua_error(L);
}

void Script::Warn(void* ud, const char* msg, int tocont) {
  auto* s = static_cast<Script*>(ud);
  static thread_local std::string pending;
  if (pending.empty() && !tocont && msg[0] == '@') return;  // control message
  pending += msg;
  if (tocont) return;
  try {
    s->env_->Log(LogLevel::kWarn, s->name_ + ": Lua warning: " + pending);
  } catch (const std::exception&) {
  }
  pending.clear();
}

Script::Script(std::string name, Environment* env, const Limits& limits)
    : name_(std::move(name)), env_(env), limits_(limits) {}

Script::~Script() {
  for (const auto& [id, timer] : timers_) {
    try {
      env_->CancelTimer(id);
    } catch (const std::exception&) {
    }
  }
  if (L_ != nullptr) {
    // Finalizers run by lua_close get no budget: every instruction raises at once.
    killed_ = true;
    kill_message_ = "the script is closing";
    lua_sethook(L_, Hook, LUA_MASKCOUNT, 1);
    lua_setwarnf(L_, nullptr, nullptr);
    lua_close(L_);
  }
}

std::uint64_t Script::NextId() { return g_next_id.fetch_add(1, std::memory_order_relaxed); }

std::size_t Script::suspended() const { return requests_.size() + waits_.size(); }

std::vector<std::string> Script::Prefixes() const {
  std::vector<std::string> out;
  for (const Handler& h : handlers_) {
    bool seen = false;
    for (const auto& p : out) seen = seen || p == h.prefix;
    if (!seen) out.push_back(h.prefix);
  }
  return out;
}

bool Script::Wants(std::string_view topic) const {
  for (const Handler& h : handlers_)
    if (PrefixMatches(h.prefix, topic)) return true;
  for (const auto& [id, wait] : waits_)
    if (PrefixMatches(wait.prefix, topic)) return true;
  return false;
}

void Script::Report(ScriptError::Kind kind, std::string message, std::string traceback) {
  ++stats_.errors;
  ScriptError e{kind, name_, std::move(message), std::move(traceback)};
  if (load_error_ != nullptr) {
    if (load_error_->message.empty()) *load_error_ = std::move(e);
    return;
  }
  try {
    env_->ReportError(e);
  } catch (const std::exception&) {
  }
}

namespace {
int Trampoline(lua_State* L) {
  const auto* fn = static_cast<const std::function<void()>*>(lua_touserdata(L, 1));
  try {
    (*fn)();
  } catch (const std::exception& e) {  // ours (bad_alloc, json); Lua's own pass through
    return luaL_error(L, "internal error: %s", e.what());
  }
  return 0;
}
}  // namespace

void Script::Protected(const std::function<void()>& fn) {
  const bool was_running = running_;
  running_ = true;
  killed_ = false;
  budget_ = limits_.instructions;
  lua_sethook(L_, Hook, LUA_MASKCOUNT, kTick);
  lua_pushcfunction(L_, Trampoline);
  lua_pushlightuserdata(L_, const_cast<std::function<void()>*>(&fn));
  const int status = lua_pcall(L_, 1, 0, 0);
  if (status != LUA_OK) {
    if (killed_) {
      Report(ScriptError::Kind::kBudget, kill_message_);
    } else if (status == LUA_ERRMEM) {
      ++stats_.memory_errors;
      Report(ScriptError::Kind::kMemory, name_ + ": not enough memory (cap " +
                                             std::to_string(limits_.memory_bytes) + " bytes)");
    } else {
      const char* m = lua_tostring(L_, -1);
      Report(ScriptError::Kind::kRuntime, m ? m : name_ + ": error");
    }
    lua_settop(L_, 0);
    if (status == LUA_ERRMEM) lua_gc(L_, LUA_GCCOLLECT);
  }
  killed_ = false;
  running_ = was_running;
}

void Script::DrainDeferred() {
  while (!running_ && !deferred_.empty()) {
    std::function<void()> f = std::move(deferred_.front());
    deferred_.pop_front();
    f();
  }
}

void Script::Start(int nargs, const char* /*what*/) {
  lua_State* co;
  int ref;
  if (!idle_.empty()) {
    co = idle_.back().co;
    ref = idle_.back().co_ref;
    idle_.pop_back();
  } else {
    co = lua_newthread(L_);
    ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  }
  lua_xmove(L_, co, nargs + 1);
  Resume(co, ref, nargs);
}

void Script::Resume(lua_State* co, int co_ref, int nargs) {
  lua_State* const outer = current_;
  const int outer_ref = current_ref_;
  killed_ = false;
  budget_ = loading_ ? limits_.load_instructions : limits_.instructions;
  lua_sethook(co, Hook, LUA_MASKCOUNT, kTick);
  current_ = co;
  current_ref_ = co_ref;
  parked_ = false;
  ++stats_.activations;
  int nres = 0;
  const int status = lua_resume(co, L_, nargs, &nres);
  current_ = outer;
  current_ref_ = outer_ref;
  if (status == LUA_YIELD) {
    lua_pop(co, nres);
    if (parked_) return;  // kept by requests_ or waits_ until its reply, message or timeout
    Report(ScriptError::Kind::kApi,
           WhereOf(co, name_) + " coroutine.yield outside a coroutine the script created; "
                                "the activation is dropped (use kordon.wait or kordon.call)");
    luaL_unref(L_, LUA_REGISTRYINDEX, co_ref);
    return;
  }
  if (status == LUA_OK) {
    lua_settop(co, 0);
    if (idle_.size() < kIdleCoroutines && !loading_) {
      idle_.push_back({co, co_ref});
    } else {
      luaL_unref(L_, LUA_REGISTRYINDEX, co_ref);
    }
    return;
  }
  ReportFailure(co, status);
  luaL_unref(L_, LUA_REGISTRYINDEX, co_ref);  // a failed coroutine is never resumed again
  killed_ = false;
  if (status == LUA_ERRMEM) lua_gc(L_, LUA_GCCOLLECT);
}

void Script::ReportFailure(lua_State* co, int status) {
  if (killed_) {
    Report(ScriptError::Kind::kBudget, kill_message_);
    return;
  }
  if (status == LUA_ERRMEM) {
    ++stats_.memory_errors;
    Report(ScriptError::Kind::kMemory,
           WhereOf(co, name_) + " not enough memory (the script's cap is " +
               std::to_string(limits_.memory_bytes) + " bytes)");
    return;
  }
  std::string message;
  if (const char* m = lua_tostring(co, -1)) {
    message = m;
  } else {
    message = std::string("(error object is a ") + luaL_typename(co, -1) + ")";
  }
  const std::string prefix = std::string(name_) + ":";
  if (message.compare(0, prefix.size(), prefix) != 0)
    message = WhereOf(co, name_) + " " + message;
  luaL_traceback(L_, co, nullptr, 0);
  std::string traceback = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "";
  lua_pop(L_, 1);
  Report(ScriptError::Kind::kRuntime, std::move(message), std::move(traceback));
}

void Script::PushMessage(const Message& m) {
  lua_createtable(L_, 0, 7);
  lua_pushlstring(L_, m.topic.data(), m.topic.size());
  lua_setfield(L_, -2, "topic");
  lua_pushlstring(L_, m.id.data(), m.id.size());
  lua_setfield(L_, -2, "id");
  lua_pushinteger(L_, m.time_us);
  lua_setfield(L_, -2, "time_us");
  lua_pushlstring(L_, m.source.data(), m.source.size());
  lua_setfield(L_, -2, "source");
  if (!m.lane.empty()) {
    lua_pushlstring(L_, m.lane.data(), m.lane.size());
    lua_setfield(L_, -2, "lane");
  }
  if (!m.crossing_id.empty()) {
    lua_pushlstring(L_, m.crossing_id.data(), m.crossing_id.size());
    lua_setfield(L_, -2, "crossing_id");
  }
  if (m.body_text.empty()) PushJson(L_, m.body);
  else PushJsonText(L_, m.body_text);
  lua_setfield(L_, -2, "body");
}

bool Script::Matches(const Wait& wait, int message_idx) {
  if (wait.filter_ref == LUA_NOREF) return true;
  const int top = lua_gettop(L_);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, wait.filter_ref);
  if (lua_type(L_, -1) == LUA_TFUNCTION) {
    lua_pushvalue(L_, message_idx);
    killed_ = false;
    budget_ = limits_.instructions;
    lua_sethook(L_, Hook, LUA_MASKCOUNT, kTick);
    const int status = lua_pcall(L_, 1, 1, 0);
    bool match = false;
    if (status == LUA_OK) {
      match = lua_toboolean(L_, -1);
    } else if (killed_) {
      Report(ScriptError::Kind::kBudget, kill_message_);
    } else {
      const char* m = lua_tostring(L_, -1);
      Report(ScriptError::Kind::kRuntime,
             std::string("in a kordon.wait filter: ") + (m ? m : "error"));
    }
    killed_ = false;
    lua_sethook(L_, Hook, LUA_MASKCOUNT, kTick);
    lua_settop(L_, top);
    return match;
  }
  // A table: every field must equal the message's envelope field of that name, or else the
  // body's field of that name.
  const int filter = lua_gettop(L_);
  bool match = true;
  lua_pushnil(L_);
  while (match && lua_next(L_, filter) != 0) {
    if (lua_type(L_, -2) == LUA_TSTRING) {
      const std::string key = lua_tostring(L_, -2);
      const bool envelope = key == "topic" || key == "id" || key == "source" ||
                            key == "lane" || key == "crossing_id" || key == "time_us";
      if (envelope) {
        lua_getfield(L_, message_idx, key.c_str());
      } else {
        lua_getfield(L_, message_idx, "body");
        lua_getfield(L_, -1, key.c_str());
        lua_remove(L_, -2);
      }
      match = lua_rawequal(L_, -1, -2);
      lua_pop(L_, 1);
    }
    lua_pop(L_, 1);
  }
  lua_settop(L_, top);
  return match;
}

void Script::Dispatch(const Message& message) {
  if (running_) {
    // The copy owns the body text: the caller's view may not outlive this call.
    auto copy = std::make_shared<std::pair<Message, std::string>>(message, message.body_text);
    copy->first.body_text = copy->second;
    deferred_.push_back([this, copy] { Dispatch(copy->first); });
    return;
  }
  Protected([&] {
    PushMessage(message);
    const int msg = lua_gettop(L_);
    std::vector<std::uint64_t> matched;
    for (const auto& [id, wait] : waits_) {
      if (PrefixMatches(wait.prefix, message.topic) &&
          Matches(wait, msg))
        matched.push_back(id);
    }
    for (std::uint64_t id : matched) {
      auto it = waits_.find(id);
      if (it == waits_.end()) continue;
      Wait w = std::move(it->second);
      waits_.erase(it);
      timers_.erase(id);
      env_->CancelTimer(id);
      luaL_unref(L_, LUA_REGISTRYINDEX, w.filter_ref);
      lua_pushvalue(L_, msg);
      lua_xmove(L_, w.activation.co, 1);
      Resume(w.activation.co, w.activation.co_ref, 1);
    }
    for (std::size_t i = 0; i < handlers_.size(); ++i) {
      const Handler& h = handlers_[i];
      if (!PrefixMatches(h.prefix, message.topic)) continue;
      lua_rawgeti(L_, LUA_REGISTRYINDEX, h.fn_ref);
      lua_pushvalue(L_, msg);
      Start(1, "handler");
    }
    lua_settop(L_, msg - 1);
  });
  DrainDeferred();
}

namespace {
struct PushArgs {
  const nlohmann::json* value;
};
int PushTrampoline(lua_State* L) {
  const auto* a = static_cast<const PushArgs*>(lua_touserdata(L, 1));
  PushJson(L, *a->value);
  return 1;
}
}  // namespace

void Script::OnReply(std::uint64_t request_id, const nlohmann::json* reply,
                     std::string_view error) {
  if (running_) {
    std::optional<nlohmann::json> copy;
    if (reply) copy = *reply;
    deferred_.push_back([this, request_id, copy = std::move(copy), e = std::string(error)] {
      OnReply(request_id, copy ? &*copy : nullptr, e);
    });
    return;
  }
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;  // a late reply of a dropped activation
  const Suspended s = it->second;
  requests_.erase(it);
  Protected([&] {
    int nargs = 1;
    if (reply != nullptr) {
      // A separate protected push: a reply Lua cannot hold resumes the caller with nil, err.
      PushArgs args{reply};
      lua_pushcfunction(L_, PushTrampoline);
      lua_pushlightuserdata(L_, &args);
      if (lua_pcall(L_, 1, 1, 0) != LUA_OK) {
        const std::string why = std::string("the reply cannot be read: ") +
                                (lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "?");
        lua_pop(L_, 1);
        lua_pushnil(L_);
        lua_pushlstring(L_, why.data(), why.size());
        nargs = 2;
      }
    } else {
      lua_pushnil(L_);
      lua_pushlstring(L_, error.data(), error.size());
      nargs = 2;
    }
    lua_xmove(L_, s.co, nargs);
    Resume(s.co, s.co_ref, nargs);
  });
  DrainDeferred();
}

void Script::OnTimer(std::uint64_t timer_id) {
  if (running_) {
    deferred_.push_back([this, timer_id] { OnTimer(timer_id); });
    return;
  }
  auto it = timers_.find(timer_id);
  if (it == timers_.end()) return;  // cancelled
  const Timer timer = it->second;
  Protected([&] {
    switch (timer.kind) {
      case Timer::Kind::kAfter:
        timers_.erase(timer_id);
        lua_rawgeti(L_, LUA_REGISTRYINDEX, timer.fn_ref);
        luaL_unref(L_, LUA_REGISTRYINDEX, timer.fn_ref);
        Start(0, "after");
        break;
      case Timer::Kind::kEvery:
        env_->StartTimer(timer_id, timer.interval_ms);
        lua_rawgeti(L_, LUA_REGISTRYINDEX, timer.fn_ref);
        Start(0, "every");
        break;
      case Timer::Kind::kWaitTimeout: {
        timers_.erase(timer_id);
        auto w = waits_.find(timer_id);
        if (w == waits_.end()) break;
        const Wait wait = std::move(w->second);
        waits_.erase(w);
        luaL_unref(L_, LUA_REGISTRYINDEX, wait.filter_ref);
        lua_pushnil(wait.activation.co);
        Resume(wait.activation.co, wait.activation.co_ref, 1);
        break;
      }
    }
  });
  DrainDeferred();
}

// ---- the kordon table ------------------------------------------------------------------

struct Api {
  static Script* Running(lua_State* L) { return Script::Self(L); }

  static void NotWhileLoading(lua_State* L, Script* s, const char* fn) {
    if (s->loading_)
      luaL_error(L, "%s is not available while the script loads (use it in a handler or a "
                    "timer)", fn);
  }

  // REQUIRES the running activation itself (not a coroutine the script created), so that
  // the yield comes back to the engine.
  static void MustBeActivation(lua_State* L, Script* s, const char* fn) {
    NotWhileLoading(L, s, fn);
    if (L != s->current_ || !lua_isyieldable(L))
      luaL_error(L, "%s waits, so it can only be called directly in a handler or timer "
                    "function, not in a coroutine the script created or a wait filter", fn);
  }

  static lua_Integer Timeout(lua_State* L, int arg) {
    const lua_Integer ms = luaL_checkinteger(L, arg);
    luaL_argcheck(L, ms > 0 && ms <= kMaxTimeoutMs, arg, "timeout must be 1..86400000 ms");
    return ms;
  }

  // The body argument as JSON object text ("{}" when absent).
  static std::string Body(lua_State* L, int arg, const char* fn) {
    if (lua_isnoneornil(L, arg)) return "{}";
    luaL_checktype(L, arg, LUA_TTABLE);
    std::string text, error;
    text.reserve(128);
    if (!ToJsonText(L, arg, "body", &text, &error)) luaL_error(L, "%s: %s", fn, error.c_str());
    if (text.front() != '{')
      luaL_error(L, "%s: body must be an object (a table with string keys), not an array", fn);
    return text;
  }

  static int On(lua_State* L) {
    Script* s = Running(L);
    const char* prefix = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!s->loading_)
      return luaL_error(L, "kordon.on: subscribe at the top level of the script only");
    lua_pushvalue(L, 2);
    s->handlers_.push_back({prefix, luaL_ref(L, LUA_REGISTRYINDEX)});
    return 0;
  }

  static int Publish(lua_State* L) {
    Script* s = Running(L);
    NotWhileLoading(L, s, "kordon.publish");
    size_t n = 0;
    const char* topic = luaL_checklstring(L, 1, &n);
    luaL_argcheck(L, n > 0 && n <= 255, 1, "a topic of 1..255 characters expected");
    const std::string body = Body(L, 2, "kordon.publish");
    std::string lane, crossing;
    if (!lua_isnoneornil(L, 3)) {
      luaL_checktype(L, 3, LUA_TTABLE);
      if (lua_getfield(L, 3, "lane") == LUA_TSTRING) lane = lua_tostring(L, -1);
      if (lua_getfield(L, 3, "crossing_id") == LUA_TSTRING) crossing = lua_tostring(L, -1);
      lua_pop(L, 2);
    }
    bool ok = true;
    std::string error;
    try {
      s->env_->Publish(std::string(topic, n), body, lane, crossing);
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
    if (!ok) return luaL_error(L, "kordon.publish: %s", error.c_str());
    return 0;
  }

  static int Call(lua_State* L) {
    Script* s = Running(L);
    MustBeActivation(L, s, "kordon.call");
    const std::string service = luaL_checkstring(L, 1);
    const std::string body = Body(L, 2, "kordon.call");
    const lua_Integer timeout = lua_isnoneornil(L, 3) ? 5000 : Timeout(L, 3);
    const std::uint64_t id = s->NextId();
    s->requests_[id] = {L, s->current_ref_};
    bool ok = true;
    std::string error;
    try {
      s->env_->Request(id, service, body, timeout);
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
    if (!ok) {
      s->requests_.erase(id);
      lua_pushnil(L);
      lua_pushstring(L, error.c_str());
      return 2;
    }
    s->parked_ = true;
    return lua_yield(L, 0);
  }

  static int WaitFor(lua_State* L) {
    Script* s = Running(L);
    MustBeActivation(L, s, "kordon.wait");
    const std::string prefix = luaL_checkstring(L, 1);
    const int ft = lua_type(L, 2);
    luaL_argcheck(L, ft == LUA_TNIL || ft == LUA_TTABLE || ft == LUA_TFUNCTION, 2,
                  "a filter table, a function or nil expected");
    const lua_Integer timeout = Timeout(L, 3);
    int filter = LUA_NOREF;
    if (ft != LUA_TNIL) {
      lua_pushvalue(L, 2);
      filter = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    const std::uint64_t id = s->NextId();
    s->timers_[id] = {Script::Timer::Kind::kWaitTimeout};
    s->waits_[id] = {prefix, filter, {L, s->current_ref_}};
    s->env_->StartTimer(id, timeout);
    s->parked_ = true;
    return lua_yield(L, 0);
  }

  static int StartTimer(lua_State* L, Script::Timer::Kind kind) {
    Script* s = Running(L);
    const lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ms >= (kind == Script::Timer::Kind::kEvery ? 1 : 0) && ms <= kMaxTimeoutMs,
                  1, "a delay of 0..86400000 ms expected (every: at least 1)");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    const int fn = luaL_ref(L, LUA_REGISTRYINDEX);
    const std::uint64_t id = s->NextId();
    s->timers_[id] = {kind, fn, ms};
    s->env_->StartTimer(id, ms);
    lua_pushinteger(L, static_cast<lua_Integer>(id));
    return 1;
  }
  static int After(lua_State* L) { return StartTimer(L, Script::Timer::Kind::kAfter); }
  static int Every(lua_State* L) { return StartTimer(L, Script::Timer::Kind::kEvery); }

  static int Cancel(lua_State* L) {
    Script* s = Running(L);
    const auto id = static_cast<std::uint64_t>(luaL_checkinteger(L, 1));
    auto it = s->timers_.find(id);
    if (it == s->timers_.end() || it->second.kind == Script::Timer::Kind::kWaitTimeout) {
      lua_pushboolean(L, false);
      return 1;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, it->second.fn_ref);
    s->timers_.erase(it);
    s->env_->CancelTimer(id);
    lua_pushboolean(L, true);
    return 1;
  }

  static int Log(lua_State* L, LogLevel level) {
    Script* s = Running(L);
    luaL_where(L, 1);
    std::string text = lua_tostring(L, -1);
    lua_pop(L, 1);
    const int n = lua_gettop(L);
    for (int i = 1; i <= n; ++i) {
      if (i > 1) text += ' ';
      text += luaL_tolstring(L, i, nullptr);
      lua_pop(L, 1);
    }
    s->env_->Log(level, text);
    return 0;
  }
  static int Info(lua_State* L) { return Log(L, LogLevel::kInfo); }
  static int Warn(lua_State* L) { return Log(L, LogLevel::kWarn); }
  static int Error(lua_State* L) { return Log(L, LogLevel::kError); }

  static int Setting(lua_State* L) {
    Script* s = Running(L);
    const std::string key = luaL_checkstring(L, 1);
    const std::optional<std::string> v = s->env_->Setting(key);
    if (!v) {
      lua_settop(L, 2);
      return 1;  // the default, or nil
    }
    switch (lua_type(L, 2)) {
      case LUA_TNUMBER:
        if (lua_stringtonumber(L, v->c_str()) == 0)
          return luaL_error(L, "setting '%s' = '%s' is not a number", key.c_str(), v->c_str());
        return 1;
      case LUA_TBOOLEAN:
        if (*v == "true" || *v == "yes" || *v == "on" || *v == "1") lua_pushboolean(L, 1);
        else if (*v == "false" || *v == "no" || *v == "off" || *v == "0") lua_pushboolean(L, 0);
        else return luaL_error(L, "setting '%s' = '%s' is not a boolean", key.c_str(), v->c_str());
        return 1;
      default: lua_pushlstring(L, v->data(), v->size()); return 1;
    }
  }

  static int Now(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(Running(L)->env_->NowMicros()) / 1e6);
    return 1;
  }

  static int Array(lua_State* L) {
    if (lua_isnoneornil(L, 1)) lua_newtable(L);
    else luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    PushArrayMeta(L);
    lua_setmetatable(L, 1);
    return 1;
  }

  // load() of text chunks only: bytecode could break the VM's invariants.
  static int SafeLoad(lua_State* L) {
    size_t n = 0;
    const char* text = luaL_checklstring(L, 1, &n);
    const char* chunk = luaL_optstring(L, 2, "=(load)");
    const char* mode = luaL_optstring(L, 3, "t");
    if (std::string_view(mode).find('t') == std::string_view::npos) {
      luaL_pushfail(L);
      lua_pushliteral(L, "load: binary chunks are not allowed in a site procedure");
      return 2;
    }
    if (luaL_loadbufferx(L, text, n, chunk, "t") != LUA_OK) {
      luaL_pushfail(L);
      lua_insert(L, -2);
      return 2;
    }
    if (!lua_isnone(L, 4)) {
      lua_pushvalue(L, 4);
      lua_setupvalue(L, -2, 1);  // _ENV
    }
    return 1;
  }

  static int SafeCollect(lua_State* L) {
    const std::string_view opt = luaL_optstring(L, 1, "collect");
    if (opt != "collect" && opt != "count" && opt != "step" && opt != "isrunning")
      return luaL_error(L, "collectgarbage('%s') is not allowed in a site procedure",
                        std::string(opt).c_str());
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
  }

  static void Open(lua_State* L) {
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_COLIBNAME, luaopen_coroutine},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8},
                                    {LUA_OSLIBNAME, luaopen_os}};
    for (const luaL_Reg& lib : libs) {
      luaL_requiref(L, lib.name, lib.func, 1);
      lua_pop(L, 1);
    }
    // Nothing that reaches files, other code or the VM's internals.
    for (const char* name : {"dofile", "loadfile", "require", "package", "debug", "io"}) {
      lua_pushnil(L);
      lua_setglobal(L, name);
    }
    lua_pushcfunction(L, SafeLoad);
    lua_setglobal(L, "load");
    lua_getglobal(L, "collectgarbage");
    lua_pushcclosure(L, SafeCollect, 1);
    lua_setglobal(L, "collectgarbage");
    lua_pushcfunction(L, Info);
    lua_setglobal(L, "print");
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    // The loaded-modules table would still hand out the removed libraries.
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);

    OpenValueSupport(L);
    static const luaL_Reg api[] = {{"on", On},         {"publish", Publish}, {"call", Call},
                                   {"wait", WaitFor},  {"after", After},     {"every", Every},
                                   {"cancel", Cancel}, {"setting", Setting}, {"now", Now},
                                   {"array", Array},   {nullptr, nullptr}};
    luaL_newlib(L, api);
    PushNull(L);
    lua_setfield(L, -2, "null");
    static const luaL_Reg log[] = {{"info", Info}, {"warn", Warn}, {"error", Error},
                                   {nullptr, nullptr}};
    luaL_newlib(L, log);
    lua_setfield(L, -2, "log");
    lua_pushvalue(L, -1);
    lua_setglobal(L, "kordon");
    if (luaL_loadbufferx(L, kPrelude, sizeof(kPrelude) - 1, "=kordon", "t") != LUA_OK)
      lua_error(L);
    lua_insert(L, -2);
    lua_call(L, 1, 0);
  }
};

std::unique_ptr<Script> Script::Load(std::string_view text, std::string name, Environment* env,
                                     const Limits& limits, ScriptError* error) {
  std::unique_ptr<Script> s(new Script(std::move(name), env, limits));
  ScriptError failure;
  s->load_error_ = &failure;
  auto fail = [&](std::string message) {
    if (failure.message.empty()) failure.message = std::move(message);
    failure.kind = ScriptError::Kind::kLoad;
    failure.script = s->name_;
    if (error) *error = failure;
    return nullptr;
  };
  s->L_ = lua_newstate(&Script::Alloc, s.get());
  if (s->L_ == nullptr) return fail(s->name_ + ": not enough memory for a Lua state");
  lua_atpanic(s->L_, Panic);
  *static_cast<Script**>(lua_getextraspace(s->L_)) = s.get();
  lua_setwarnf(s->L_, &Script::Warn, s.get());
  // Messages make short-lived tables: the generational collector frees them cheaply.
  lua_gc(s->L_, LUA_GCGEN, 0, 0);
  s->Protected([&] { Api::Open(s->L_); });
  if (!failure.message.empty()) return fail("");

  const std::string chunk = "@" + s->name_;
  s->loading_ = true;
  s->Protected([&] {
    if (luaL_loadbufferx(s->L_, text.data(), text.size(), chunk.c_str(), "t") != LUA_OK) {
      // A syntax error carries its line; report it as the load failure.
      s->Report(ScriptError::Kind::kLoad,
                lua_tostring(s->L_, -1) ? lua_tostring(s->L_, -1) : "cannot load");
      lua_pop(s->L_, 1);
      return;
    }
    s->Start(0, "load");
  });
  s->loading_ = false;
  lua_settop(s->L_, 0);
  if (!failure.message.empty()) return fail("");
  if (!s->waits_.empty() || !s->requests_.empty())
    return fail(s->name_ + ": the top level of a script cannot wait");
  s->load_error_ = nullptr;
  return s;
}

}  // namespace kordon::lua
