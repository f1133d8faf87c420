// kordon-host's core: loads the configured plugins, runs the bus, starts and stops the
// instances in order. Used by kordon-host's main, by the tests and by the benchmarks.
#ifndef KORDON_HOST_HOST_H_
#define KORDON_HOST_HOST_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bus.h"
#include "config.h"
#include "instance.h"
#include "plugin_instance.h"
#include "plugin_library.h"
#include "status.h"

namespace kordon::schema {
class SchemaSet;
}

namespace kordon::host {

// What --check and the load step found for one configured instance.
struct LoadReport {
  std::string instance;
  std::string path;    // resolved library path
  bool loaded = false;
  bool skipped = false;  // refused but on_plugin_error = skip, or enabled = false
  bool unsigned_refused = false;  // require_signed: the signature check refused the file
  std::string error;     // why it was refused
  std::shared_ptr<PluginLibrary> library;
};

class Host {
 public:
  explicit Host(HostConfig config);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Loads and negotiates every enabled instance's library (no instance is created).
  // Fails on the first refusal when on_plugin_error = stop; with skip, refused instances are
  // reported and left out. reports() tells what happened to each.
  Status Load();

  // Registers a plugin compiled into this program under `library` (tests, benchmarks): an
  // instance whose `library =` equals that name uses it instead of a file.
  void AddStaticPlugin(const std::string& library, kordon_plugin_entry_fn entry);

  // Starts the bus, creates every loaded instance, waits until each one's subscriptions are
  // live, then starts them in configuration order and writes the ready file.
  Status Start();

  // Stops the instances in reverse order of start; before each next one stops, everything
  // the stopped one published has been delivered. Then destroys them and stops the bus.
  // Safe to call more than once.
  Status Shutdown();

  const std::vector<LoadReport>& reports() const { return reports_; }
  const std::vector<std::unique_ptr<HostedInstance>>& instances() const { return instances_; }
  Bus* bus() { return bus_.get(); }
  const HostConfig& config() const { return config_; }
  // True when a call into a plugin never returned: the process must exit without unloading
  // anything (kordon-host exits 3).
  bool stuck() const { return stuck_; }

  // Publishes a host event (topic, JSON object body) from the host itself.
  Status PublishEvent(const std::string& topic, const std::string& body);

 private:
  // Publishes a host event; a failure is logged (the event is informational).
  void Announce(const std::string& topic, const nlohmann::json& body);
  Status SyncSubscriptions(const std::vector<HostedInstance*>& instances);
  // Sends a marker through the bus and waits (10 s at most) until every running instance has
  // handled it, and so everything queued for it before; `what` names the flush in the log.
  void FlushToInstances(const char* what);
  // The first `count` instances a shutdown flush waits for: not stuck, not given up on.
  std::vector<std::string> InstancesToWaitFor(size_t count) const;
  // After a shutdown flush timed out: the instances that had not handled it are not waited
  // for again (one sick plugin costs a shutdown 10 s, not 10 s for every instance stopped
  // before it). What they never handle is counted when they stop.
  void GiveUpWaitingFor(const std::vector<std::string>& missing, const std::string& what);
  // The private directory (mode 0700) of the runner sockets, made on first use.
  Result<std::string> RuntimeDir();
  Status WriteReadyFile();
  void LogStatistics();

  HostConfig config_;
  zmq::context_t context_;
  std::vector<std::pair<std::string, kordon_plugin_entry_fn>> static_plugins_;
  std::vector<LoadReport> reports_;
  std::unique_ptr<Bus> bus_;
  MarkerBoard markers_;
  std::unique_ptr<BusPublisher> host_publisher_;
  std::vector<std::unique_ptr<HostedInstance>> instances_;  // in start order
  std::shared_ptr<const schema::SchemaSet> schemas_;  // validate_schemas != off
  // require_signed: the trusted vendor keys, and how many files were verified and refused.
  std::vector<signing::PublicKey> vendor_keys_;
  uint64_t signatures_verified_ = 0;
  uint64_t signatures_refused_ = 0;
  std::string runtime_dir_;  // "" until an isolated instance needs it; removed at shutdown
  size_t started_ = 0;
  bool shut_down_ = false;
  bool stuck_ = false;
  uint64_t marker_seq_ = 0;
  std::set<std::string> not_waited_for_;  // GiveUpWaitingFor (shutdown)
};

}  // namespace kordon::host

#endif  // KORDON_HOST_HOST_H_
