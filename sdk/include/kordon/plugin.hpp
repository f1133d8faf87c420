// plugin.hpp — header-only C++ wrapper over kordon.h.
//
// A vendor writes one class derived from kordon::Plugin and one macro:
//
//   class PlateCamera : public kordon::Plugin {
//    public:
//     explicit PlateCamera(kordon::Host host) : Plugin(std::move(host)) {}
//     kordon::Status Start() override { ... host().StartTimer(...); return kordon::Status::Ok(); }
//     kordon::Status OnMessage(const kordon::Message& m) override { ... }
//   };
//   KORDON_PLUGIN(PlateCamera, {.name = "plate-camera", .kind = KORDON_KIND_SCANNER, ...});
//
// Everything here is inline; nothing C++ crosses the ABI. The extern "C" shims catch every
// exception and turn it into a status code plus a log line, so no exception ever reaches the
// host. The class is constructed on the instance's thread, and every virtual function runs on
// that thread, one call at a time (see sdk/README.md, "Threading").
#ifndef KORDON_PLUGIN_HPP_
#define KORDON_PLUGIN_HPP_

#include <kordon/kordon.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kordon {

// A status as a value: cheap success, a code and a message for failure.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(kordon_status code, std::string message) {
    return Status(code, std::move(message));
  }
  static Status Failed(std::string message) { return Status(KORDON_E_FAILED, std::move(message)); }
  static Status InvalidArgument(std::string message) {
    return Status(KORDON_E_INVALID_ARGUMENT, std::move(message));
  }

  bool ok() const { return code_ == KORDON_OK; }
  kordon_status code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const {
    if (ok()) return "OK";
    std::string s = kordon_status_name(code_);
    if (!message_.empty()) s += ": " + message_;
    return s;
  }

 private:
  Status(kordon_status code, std::string message) : code_(code), message_(std::move(message)) {}
  kordon_status code_ = KORDON_OK;
  std::string message_;
};

// A non-owning view of a delivered message; valid only inside the callback that received it.
class Message {
 public:
  explicit Message(const kordon_message* m) : m_(m) {}
  std::string_view topic() const { return m_->topic; }
  std::string_view id() const { return m_->id; }
  int64_t time_us() const { return m_->time_us; }
  std::string_view source() const { return m_->source; }
  std::string_view lane() const { return m_->lane; }
  std::string_view crossing_id() const { return m_->crossing_id; }
  std::string_view schema() const { return m_->schema; }
  uint32_t schema_version() const { return m_->schema_version; }
  std::string_view body() const { return std::string_view(m_->body, m_->body_size); }
  bool is_request() const { return m_->reply_to[0] != '\0'; }
  const kordon_message* raw() const { return m_; }

 private:
  const kordon_message* m_;
};

// Optional envelope fields for Host::Publish.
struct PublishOptions {
  const char* lane = nullptr;         // nullptr: the instance's lane
  const char* crossing_id = nullptr;  // nullptr: none
  const char* schema = nullptr;       // nullptr: the topic
  uint32_t schema_version = 1;
};

using TimerId = uint64_t;

// The host's services for one instance. Cheap to copy; every call is thread-safe.
class Host {
 public:
  Host(const kordon_host_api* api, kordon_host_context* context, std::string instance_name,
       std::string lane)
      : api_(api), context_(context), state_(std::make_shared<State>()),
        instance_name_(std::move(instance_name)), lane_(std::move(lane)) {}

  const std::string& instance_name() const { return instance_name_; }
  const std::string& lane() const { return lane_; }

  Status Publish(std::string_view topic, std::string_view json_body,
                 const PublishOptions& options = {}) const {
    std::string topic_z(topic);
    kordon_publish_args args{};
    args.struct_size = sizeof(args);
    args.topic = topic_z.c_str();
    args.body = json_body.data();
    args.body_size = json_body.size();
    args.lane = options.lane;
    args.crossing_id = options.crossing_id;
    args.schema = options.schema;
    args.schema_version = options.schema_version;
    return FromCode(api_->publish(context_, &args), "publish " + topic_z);
  }

  void Log(kordon_log_level level, const std::string& message) const {
    api_->log(context_, level, message.c_str());
  }
  void Info(const std::string& message) const { Log(KORDON_LOG_INFO, message); }
  void Warn(const std::string& message) const { Log(KORDON_LOG_WARN, message); }
  void Error(const std::string& message) const { Log(KORDON_LOG_ERROR, message); }
  void Debug(const std::string& message) const { Log(KORDON_LOG_DEBUG, message); }

  // The configured value for key, or nullopt.
  std::optional<std::string> Config(const std::string& key) const {
    const char* v = api_->config_get(context_, key.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }
  std::string ConfigOr(const std::string& key, std::string fallback) const {
    auto v = Config(key);
    return v ? *v : std::move(fallback);
  }
  // An integer setting; throws std::invalid_argument naming the key when it is not one.
  int64_t ConfigInt(const std::string& key, int64_t fallback) const {
    auto v = Config(key);
    if (!v) return fallback;
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(*v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v->size())
      throw std::invalid_argument("setting '" + key + "' must be an integer, got '" + *v + "'");
    return n;
  }
  std::vector<std::string> ConfigKeys() const {
    std::vector<std::string> keys;
    for (size_t i = 0;; ++i) {
      const char* k = api_->config_key_at(context_, i);
      if (k == nullptr) break;
      keys.emplace_back(k);
    }
    return keys;
  }

  // Runs fn on the instance's thread after delay, then every interval (zero: once).
  // Both this and CancelTimer may be called from any thread.
  Status StartTimer(std::chrono::milliseconds delay, std::chrono::milliseconds interval,
                    std::function<void()> fn, TimerId* out_id = nullptr) const {
    auto holder = std::make_shared<TimerHolder>();
    holder->fn = std::move(fn);
    holder->once = interval.count() == 0;
    uint64_t id = 0;
    // Held across timer_start so that the timer cannot fire before it is registered here.
    std::lock_guard<std::mutex> lock(state_->mutex);
    kordon_status rc = api_->timer_start(context_, static_cast<uint64_t>(delay.count()),
                                         static_cast<uint64_t>(interval.count()), &TimerShim,
                                         state_.get(), &id);
    if (rc != KORDON_OK) return FromCode(rc, "timer_start");
    state_->timers.emplace(id, std::move(holder));
    if (out_id != nullptr) *out_id = id;
    return Status::Ok();
  }

  // After it returns the timer's function is not started again (one already running on the
  // instance's thread finishes).
  Status CancelTimer(TimerId id) const {
    kordon_status rc = api_->timer_cancel(context_, id);
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->timers.erase(id);
    return FromCode(rc, "timer_cancel");
  }

  using ReplyHandler = std::function<void(Status, const Message*)>;

  // Sends a request; handler runs on the instance's thread exactly once.
  Status Request(const std::string& service, std::string_view json_body,
                 std::chrono::milliseconds timeout, ReplyHandler handler) const {
    auto* heap = new (std::nothrow) ReplyHandler(std::move(handler));
    if (heap == nullptr) return Status::Error(KORDON_E_NO_MEMORY, "request");
    kordon_status rc = api_->request(context_, service.c_str(), json_body.data(),
                                     json_body.size(), static_cast<uint32_t>(timeout.count()),
                                     &ReplyShim, heap);
    if (rc != KORDON_OK) {
      delete heap;
      return FromCode(rc, "request " + service);
    }
    return Status::Ok();
  }

  Status Reply(const Message& request, std::string_view json_body) const {
    return FromCode(api_->reply(context_, request.raw(), KORDON_OK, json_body.data(),
                                json_body.size()),
                    "reply");
  }
  Status ReplyError(const Message& request, kordon_status code, std::string_view json_body) const {
    return FromCode(
        api_->reply(context_, request.raw(), code, json_body.data(), json_body.size()),
        "reply");
  }

 private:
  struct TimerHolder {
    std::function<void()> fn;
    bool once = false;
  };
  // Shared by every copy of this Host; lives as long as the plugin object.
  struct State {
    std::mutex mutex;
    std::unordered_map<uint64_t, std::shared_ptr<TimerHolder>> timers;  // GUARDED_BY(mutex)
  };

  static Status FromCode(kordon_status rc, const std::string& what) {
    if (rc == KORDON_OK) return Status::Ok();
    return Status::Error(rc, what + " failed");
  }

  static void TimerShim(void* instance, uint64_t timer_id, void* user_data) noexcept;
  static void ReplyShim(void* instance, kordon_status status, const kordon_message* reply,
                        void* user_data) noexcept;

  const kordon_host_api* api_;
  kordon_host_context* context_;
  std::shared_ptr<State> state_;
  std::string instance_name_;
  std::string lane_;
};

// Base class of a C++ plugin. Derive, give it a constructor taking Host, override what you need.
// A constructor that throws makes create fail; its message is logged.
class Plugin {
 public:
  explicit Plugin(Host host) : host_(std::move(host)) {}
  virtual ~Plugin() = default;
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  virtual Status Start() { return Status::Ok(); }
  virtual Status Stop() { return Status::Ok(); }
  virtual Status OnMessage(const Message& /*message*/) { return Status::Ok(); }

  const Host& host() const { return host_; }

 private:
  Host host_;
};

// What KORDON_PLUGIN needs to describe the plugin (static strings only).
struct PluginInfo {
  const char* name = nullptr;
  kordon_plugin_kind kind = KORDON_KIND_UNSPECIFIED;
  const char* vendor = nullptr;
  const char* version = nullptr;
  const char* description = nullptr;
  std::initializer_list<const char*> publishes = {};
  std::initializer_list<const char*> subscribes = {};
  std::initializer_list<const char*> services = {};
};

namespace detail {

inline void LogException(const kordon_host_api* api, kordon_host_context* ctx, const char* where,
                         const char* what) noexcept {
  try {
    std::string line = std::string("exception in ") + where + ": " + what;
    api->log(ctx, KORDON_LOG_ERROR, line.c_str());
  } catch (...) {
    api->log(ctx, KORDON_LOG_ERROR, "exception (and no memory to describe it)");
  }
}

// One live instance: the plugin object plus what the shims need to report errors.
struct Instance {
  const kordon_host_api* api;
  kordon_host_context* context;
  std::unique_ptr<Plugin> plugin;
};

inline kordon_status ReportStatus(Instance* self, const char* where, const Status& s) noexcept {
  if (s.ok()) return KORDON_OK;
  try {
    std::string line = std::string(where) + ": " + s.ToString();
    self->api->log(self->context, KORDON_LOG_ERROR, line.c_str());
  } catch (...) {
  }
  return s.code();
}

template <typename Fn>
kordon_status Guard(Instance* self, const char* where, Fn&& fn) noexcept {
  try {
    return ReportStatus(self, where, fn());
  } catch (const std::bad_alloc&) {
    LogException(self->api, self->context, where, "out of memory");
    return KORDON_E_NO_MEMORY;
  } catch (const std::exception& e) {
    LogException(self->api, self->context, where, e.what());
    return KORDON_E_INTERNAL;
  } catch (...) {
    LogException(self->api, self->context, where, "unknown exception");
    return KORDON_E_INTERNAL;
  }
}

template <typename T>
kordon_status Create(const kordon_instance_info* info, void** out) noexcept {
  if (info == nullptr || out == nullptr ||
      info->struct_size < offsetof(kordon_instance_info, context) + sizeof(info->context))
    return KORDON_E_INVALID_ARGUMENT;
  try {
    auto self = std::make_unique<Instance>();
    self->api = info->host;
    self->context = info->context;
    self->plugin = std::make_unique<T>(
        Host(info->host, info->context, info->instance_name, info->lane));
    *out = self.release();
    return KORDON_OK;
  } catch (const std::bad_alloc&) {
    LogException(info->host, info->context, "create", "out of memory");
    return KORDON_E_NO_MEMORY;
  } catch (const std::invalid_argument& e) {
    LogException(info->host, info->context, "create", e.what());
    return KORDON_E_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    LogException(info->host, info->context, "create", e.what());
    return KORDON_E_FAILED;
  } catch (...) {
    LogException(info->host, info->context, "create", "unknown exception");
    return KORDON_E_INTERNAL;
  }
}

inline kordon_status Start(void* p) noexcept {
  auto* self = static_cast<Instance*>(p);
  return Guard(self, "start", [&] { return self->plugin->Start(); });
}
inline kordon_status Stop(void* p) noexcept {
  auto* self = static_cast<Instance*>(p);
  return Guard(self, "stop", [&] { return self->plugin->Stop(); });
}
inline kordon_status HandleMessage(void* p, const kordon_message* m) noexcept {
  auto* self = static_cast<Instance*>(p);
  return Guard(self, "handle_message", [&] { return self->plugin->OnMessage(Message(m)); });
}
inline void Destroy(void* p) noexcept {
  auto* self = static_cast<Instance*>(p);
  try {
    delete self;
  } catch (...) {
  }
}

// Static storage for the descriptor and its NULL-terminated lists.
struct DescriptorStorage {
  explicit DescriptorStorage(const PluginInfo& info)
      : publishes(Terminated(info.publishes)), subscribes(Terminated(info.subscribes)),
        services(Terminated(info.services)) {}
  static std::vector<const char*> Terminated(std::initializer_list<const char*> list) {
    std::vector<const char*> v(list.begin(), list.end());
    v.push_back(nullptr);
    return v;
  }
  std::vector<const char*> publishes, subscribes, services;
  kordon_plugin_descriptor descriptor{};
};

template <typename T>
kordon_status Entry(const kordon_host_offer* offer, const kordon_plugin_descriptor** out,
                    const PluginInfo& info) noexcept {
  static_assert(std::is_base_of_v<Plugin, T>, "KORDON_PLUGIN needs a class derived from kordon::Plugin");
  static_assert(std::is_constructible_v<T, Host>, "the plugin class needs a constructor taking kordon::Host");
  try {
    static DescriptorStorage storage = [&] {
      DescriptorStorage s(info);
      kordon_plugin_descriptor& d = s.descriptor;
      d.struct_size = sizeof(kordon_plugin_descriptor);
      d.abi_version = KORDON_ABI_VERSION;
      d.name = info.name;
      d.kind = info.kind;
      d.vendor = info.vendor;
      d.version = info.version;
      d.description = info.description;
      d.create = &Create<T>;
      d.start = &Start;
      d.stop = &Stop;
      d.handle_message = &HandleMessage;
      d.destroy = &Destroy;
      // A moved vector keeps its buffer, so these stay valid in the static copy.
      d.publishes = s.publishes.data();
      d.subscribes = s.subscribes.data();
      d.services = s.services.data();
      return s;
    }();
    return kordon_answer_offer(offer, &storage.descriptor, out);
  } catch (...) {
    return KORDON_E_NO_MEMORY;
  }
}

}  // namespace detail

inline void Host::TimerShim(void*, uint64_t timer_id, void* user_data) noexcept {
  auto* state = static_cast<State*>(user_data);
  std::shared_ptr<TimerHolder> holder;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    auto it = state->timers.find(timer_id);
    if (it == state->timers.end()) return;  // cancelled meanwhile
    holder = it->second;
    if (holder->once) state->timers.erase(it);
  }
  try {
    holder->fn();
  } catch (...) {
    // A throwing timer handler is a plugin bug; it must not cross into the host.
  }
}

inline void Host::ReplyShim(void*, kordon_status status, const kordon_message* reply,
                            void* user_data) noexcept {
  std::unique_ptr<ReplyHandler> handler(static_cast<ReplyHandler*>(user_data));
  try {
    std::optional<Message> m;
    if (reply != nullptr) m.emplace(reply);
    Status s = status == KORDON_OK ? Status::Ok()
                                   : Status::Error(status, reply != nullptr ? std::string(Message(reply).body())
                                                                            : std::string());
    (*handler)(s, m ? &*m : nullptr);
  } catch (...) {
  }
}

}  // namespace kordon

// Defines the plugin's entry point for class PluginClass. The second argument is a braced
// kordon::PluginInfo initializer. No global side effects: the descriptor is built on first use.
#define KORDON_PLUGIN(PluginClass, ...)                                                    \
  KORDON_PLUGIN_ENTRY(kordon_offer_, kordon_out_) {                                        \
    static const ::kordon::PluginInfo kordon_info_ = __VA_ARGS__;                          \
    return ::kordon::detail::Entry<PluginClass>(kordon_offer_, kordon_out_, kordon_info_); \
  }

#endif  // KORDON_PLUGIN_HPP_
