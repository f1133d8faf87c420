// What the host sees of one plugin instance, wherever its code runs: in this process
// (PluginInstance, an actor thread) or in a kordon-runner child (RemoteInstance, a supervised
// process). The host drives both through this interface; the plugin cannot tell them apart.
// Thread safety: the lifecycle calls are made by one thread (the host's); stats() and the
// accessors are safe from any thread.
#ifndef KORDON_HOST_INSTANCE_H_
#define KORDON_HOST_INSTANCE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "plugin_library.h"
#include "status.h"

namespace kordon::host {

struct InstanceStats {
  std::atomic<uint64_t> received{0};              // messages delivered to handle_message
  std::atomic<uint64_t> handler_errors{0};        // handle_message returned an error
  std::atomic<uint64_t> published{0};             // accepted by the bus
  std::atomic<uint64_t> publish_failures{0};      // refused (invalid) or not accepted (busy)
  std::atomic<uint64_t> dropped_after_stop{0};    // arrived after stop; counted and logged
  std::atomic<uint64_t> dropped_before_start{0};  // the pre-start buffer was full
  std::atomic<uint64_t> timers_fired{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> request_timeouts{0};
  std::atomic<uint64_t> late_replies{0};
  std::atomic<uint64_t> throttled{0};  // publishes refused by publish_limit (also failures)
  std::atomic<uint64_t> schema_violations{0};  // bodies that broke their schema (validate_schemas)
};

class HostedInstance {
 public:
  enum class State { kNew, kCreated, kRunning, kStopping, kStopped, kDestroyed };

  virtual ~HostedInstance() = default;

  // Subscribes the instance to its topics. Before Create, the host waits until a control
  // marker reaches it, so that nothing published from then on can miss it.
  virtual void Launch() = 0;
  virtual Status Create() = 0;
  virtual Status Start() = 0;
  virtual Status Stop() = 0;
  virtual void Destroy() = 0;
  // Sends a control marker that arrives after every message this instance published before.
  virtual Status SendMarker(const std::string& body, std::chrono::milliseconds timeout) = 0;

  virtual const std::string& name() const = 0;
  virtual const InstanceConfig& config() const = 0;
  virtual const PluginLibrary& library() const = 0;
  virtual const std::vector<std::string>& subscriptions() const = 0;
  virtual State state() const = 0;
  virtual bool stuck() const = 0;
  // Reports log lines held back by rate limiting. REQUIRES: the instance is destroyed.
  virtual void FlushLogs() = 0;
  virtual const InstanceStats& stats() const = 0;
  // A line of extra figures for the exit statistics ("" when there is nothing to add).
  virtual std::string ExtraStatistics() const { return ""; }
};

}  // namespace kordon::host

#endif  // KORDON_HOST_INSTANCE_H_
