// One plugin instance: an actor with its own thread, its own bus subscription and its own
// publisher. Every call into the plugin's code for this instance happens on that thread.
#ifndef KORDON_HOST_PLUGIN_INSTANCE_H_
#define KORDON_HOST_PLUGIN_INSTANCE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <kordon/kordon.h>
#include <zmq.hpp>

#include "bus.h"
#include "config.h"
#include "envelope.h"
#include "instance.h"
#include "mailbox.h"
#include "plugin_library.h"
#include "rate_limited_log.h"
#include "status.h"

namespace kordon::schema {
class SchemaSet;
}
namespace kordon::host {
class PluginInstance;
}

// The opaque handle of kordon.h: which instance a host-service call is for.
struct kordon_host_context {
  kordon::host::PluginInstance* instance;
};

namespace kordon::host {

// Records which control markers each instance has seen; the host waits on it.
class MarkerBoard {
 public:
  void Seen(const std::string& instance, const std::string& token);
  // When set, Seen only calls it (on the thread that calls Seen) and records nothing:
  // kordon-runner reports markers to its host. Set before any instance runs.
  std::function<void(const std::string& instance, const std::string& token)> on_seen;
  // True when every instance in `instances` has seen `token` before the deadline. When not,
  // and `missing` is given, it receives those that had not.
  bool WaitAll(const std::string& token, const std::vector<std::string>& instances,
               std::chrono::steady_clock::time_point deadline,
               std::vector<std::string>* missing = nullptr);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::pair<std::string, std::string>> seen_;  // GUARDED_BY(mutex_): (token, instance)
};

class PluginInstance : public HostedInstance {
 public:
  // Checks every body this instance publishes against `schemas` (owned by the caller, alive
  // as long as this instance); off by default. REQUIRES: before Launch.
  void SetSchemaCheck(const schema::SchemaSet* schemas, SchemaCheck mode) {
    schemas_ = schemas;
    schema_check_ = mode;
  }

  // REQUIRES: the bus has started.
  // `call_limit`: how long a lifecycle call (create, start, stop, destroy) may take before
  // the instance is declared stuck.
  PluginInstance(std::shared_ptr<PluginLibrary> library, InstanceConfig config, Bus& bus,
                 MarkerBoard& markers, std::chrono::milliseconds call_limit);
  // Ends the actor thread (destroying the plugin instance first if that has not happened).
  ~PluginInstance() override;
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // Starts the actor thread and subscribes it to its topics. Before Create, the host waits
  // until a control marker reaches the instance, so that nothing published from then on can
  // miss it.
  void Launch() override;
  // Calls the plugin's create on the actor thread. REQUIRES: Launch.
  Status Create() override;
  // Calls start on the actor thread; messages that arrived since Create are delivered next.
  Status Start() override;
  // Calls stop on the actor thread; then pending requests fail with KORDON_E_STOPPED, timers
  // are cancelled, and publish refuses with KORDON_E_STOPPED.
  Status Stop() override;
  // Calls destroy on the actor thread and ends the thread.
  void Destroy() override;

  // Sends a control marker through this instance's own publisher, so that it arrives after
  // every message this instance published before.
  // Waits up to `timeout` under backpressure.
  Status SendMarker(const std::string& body, std::chrono::milliseconds timeout) override;

  const std::string& name() const override { return config_.name; }
  const InstanceConfig& config() const override { return config_; }
  const PluginLibrary& library() const override { return *library_; }
  const std::vector<std::string>& subscriptions() const override { return subscriptions_; }
  State state() const override { return state_.load(); }
  bool stuck() const override { return stuck_.load(); }
  // Reports log lines held back by rate limiting. REQUIRES: the instance is destroyed.
  void FlushLogs() override;
  const InstanceStats& stats() const override { return stats_; }

  // Called on the actor thread after each message other than a control marker has been
  // dispatched (delivered, or dropped and counted): kordon-runner acknowledges with it.
  // REQUIRES: set before Launch.
  void SetDispatchHook(std::function<void()> hook) { dispatch_hook_ = std::move(hook); }

  // The host services of kordon.h, for this instance. Thread-safe.
  kordon_status Publish(const kordon_publish_args* args);
  void Log(kordon_log_level level, const char* message);
  const char* ConfigGet(const char* key) const;
  const char* ConfigKeyAt(size_t index) const;
  kordon_status TimerStart(uint64_t delay_ms, uint64_t interval_ms, kordon_timer_fn fn,
                           void* user_data, uint64_t* out_id);
  kordon_status TimerCancel(uint64_t id);
  kordon_status Request(const char* service, const char* body, size_t body_size,
                        uint32_t timeout_ms, kordon_reply_fn fn, void* user_data);
  kordon_status Reply(const kordon_message* request, kordon_status status, const char* body,
                      size_t body_size);

 private:
  using Clock = std::chrono::steady_clock;

  struct Timer {
    kordon_timer_fn fn;
    void* user_data;
    uint64_t interval_ms;
  };
  struct PendingRequest {
    kordon_reply_fn fn;
    void* user_data;
    Clock::time_point deadline;
    std::string service;
  };
  struct Frames {
    std::string topic, envelope, body;
  };

  // Runs fn on the actor thread and waits for it, at most `limit` (then Timeout: the plugin
  // is stuck inside one of its functions).
  Status RunOnActor(std::function<Status()> fn);
  void ActorMain(std::promise<void>* subscribed);
  void Dispatch(std::string_view topic, std::string_view envelope, std::string_view body);
  void Deliver(std::string_view topic, const Envelope& envelope, std::string_view body);
  void HandleReply(const Envelope& envelope, std::string_view topic, std::string_view body);
  void FireTimers();
  void ExpireRequests(bool all, kordon_status status);
  Clock::time_point NextDeadline();
  bool Wants(std::string_view topic) const;
  kordon_status PublishEnvelope(std::string_view topic, Envelope& envelope,
                                std::string_view body);
  kordon_status Fail(kordon_status code, const std::string& what);

  const std::shared_ptr<PluginLibrary> library_;
  const InstanceConfig config_;
  Bus& bus_;
  MarkerBoard& markers_;
  const std::chrono::milliseconds call_limit_;
  kordon_host_context context_{this};
  kordon_instance_info info_{};
  std::vector<std::string> subscriptions_;  // topic prefixes
  std::vector<std::string> service_topics_;  // "rpc.<service>"
  std::string reply_topic_;                  // "rpc.reply.<instance>"
  BusPublisher publisher_;
  InstanceStats stats_;
  std::atomic<State> state_{State::kNew};
  void* plugin_instance_ = nullptr;  // owned by the plugin; touched only on the actor thread

  std::thread thread_;
  Mailbox mailbox_;
  bool exit_requested_ = false;                // actor thread only
  std::atomic<bool> stuck_{false};             // a call into the plugin never returned

  std::mutex timer_mutex_;
  uint64_t next_timer_id_ = 1;                                 // GUARDED_BY(timer_mutex_)
  std::map<uint64_t, Timer> timers_;                           // GUARDED_BY(timer_mutex_)
  std::priority_queue<std::pair<Clock::time_point, uint64_t>,
                      std::vector<std::pair<Clock::time_point, uint64_t>>,
                      std::greater<>> timer_queue_;             // GUARDED_BY(timer_mutex_)

  std::mutex request_mutex_;
  std::unordered_map<std::string, PendingRequest> pending_;  // GUARDED_BY(request_mutex_), by id hex

  std::deque<Frames> pre_start_;  // actor thread only: messages that arrived before start
  // The C view of a delivered message, over buffers reused from one message to the next.
  class MessageView {
   public:
    // Valid until the next Fill.
    const kordon_message* Fill(std::string_view topic, const Envelope& e, std::string_view body);

   private:
    std::string topic_, body_;
    char id_[33] = {};
    char correlation_[33] = {};
    kordon_message m_{};
  };
  MessageView view_;  // actor thread only
  Envelope decoded_;  // actor thread only
  RateLimitedLog publish_fail_log_;
  RateLimitedLog handler_fail_log_;
  RateLimitedLog drop_log_;
  RateLimitedLog throttle_log_;
  RateLimitedLog schema_log_;
  const schema::SchemaSet* schemas_ = nullptr;
  SchemaCheck schema_check_ = SchemaCheck::kOff;
  std::function<void()> dispatch_hook_;

  // Flood control (publish_limit / publish_burst): a token bucket.
  std::mutex bucket_mutex_;
  double tokens_ = 0;                 // GUARDED_BY(bucket_mutex_)
  Clock::time_point refilled_{};      // GUARDED_BY(bucket_mutex_)
};

// The kordon_host_api table handed to every instance.
const kordon_host_api& HostApi();

}  // namespace kordon::host

#endif  // KORDON_HOST_PLUGIN_INSTANCE_H_
