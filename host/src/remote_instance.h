// An instance with isolation = process: the plugin runs in a kordon-runner child process and
// this object stands in for it on the host's bus and supervises it (heartbeats, restarts with
// backoff, quarantine). The wire protocol between the two is in host/README.md
// ("Process isolation"); runner_link.h holds its constants.
//
// Thread safety: one supervisor thread owns every socket and the child; the lifecycle calls
// (Launch, Create, Start, Stop, Destroy, SendMarker) come from the host's thread and are
// handed to it through a mailbox. stats() and ExtraStatistics() are safe from any thread.
#ifndef KORDON_HOST_REMOTE_INSTANCE_H_
#define KORDON_HOST_REMOTE_INSTANCE_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bus.h"
#include "config.h"
#include "instance.h"
#include "mailbox.h"
#include "plugin_instance.h"
#include "plugin_library.h"
#include "rate_limited_log.h"
#include "status.h"

namespace kordon::host {

// Figures of the supervision, for the exit statistics and plugin.status.
struct SupervisionStats {
  std::atomic<uint64_t> starts{0};       // runner processes started
  std::atomic<uint64_t> failures{0};     // crashes, missed heartbeats, failed restarts
  std::atomic<uint64_t> restarts{0};     // successful restarts after a failure
  std::atomic<uint64_t> redelivered{0};  // unacknowledged messages sent again after a failure
  std::atomic<uint64_t> dropped_queue_full{0};  // could not wait: the restart queue was full
  std::atomic<uint64_t> dropped_quarantined{
      0};                                     // arrived for (or waited on) a quarantined instance
  std::atomic<uint64_t> forward_rejected{0};  // a runner sent a malformed message (counted)
  std::atomic<uint64_t> heartbeat_kills{0};
};

class RemoteInstance : public HostedInstance {
 public:
  // `runtime_dir`: the private (0700) directory of the runner sockets. `index`: this
  // instance's number there. `announce`: publishes a host event (topic, JSON body).
  RemoteInstance(std::shared_ptr<PluginLibrary> library, InstanceConfig config, Bus& bus,
                 MarkerBoard& markers, const HostConfig& host_config, std::string runtime_dir,
                 int index,
                 std::function<void(const std::string&, const nlohmann::json&)> announce);
  ~RemoteInstance() override;
  RemoteInstance(const RemoteInstance&) = delete;
  RemoteInstance& operator=(const RemoteInstance&) = delete;

  void Launch() override;
  Status Create() override;
  Status Start() override;
  Status Stop() override;
  void Destroy() override;
  Status SendMarker(const std::string& body, std::chrono::milliseconds timeout) override;

  const std::string& name() const override { return config_.name; }
  const InstanceConfig& config() const override { return config_; }
  const PluginLibrary& library() const override { return *library_; }
  const std::vector<std::string>& subscriptions() const override { return subscriptions_; }
  State state() const override { return state_.load(); }
  bool stuck() const override { return false; }  // a stuck runner is killed, never waited on
  void FlushLogs() override;
  const InstanceStats& stats() const override { return stats_; }
  std::string ExtraStatistics() const override;
  const SupervisionStats& supervision() const { return sv_stats_; }

 private:
  using Clock = std::chrono::steady_clock;

  // Where the runner of the current generation is.
  enum class Phase {
    kDown,         // no runner (before Create, after Destroy)
    kBusy,         // a runner is being started or called; the supervisor waits for it
    kCreated,      // created, not started yet
    kRunning,      // started: messages flow and heartbeats are checked
    kStopped,      // stopped by the host
    kBackoff,      // failed: waiting to restart
    kQuarantined,  // too many failures: no more restarts
  };
  struct Item {
    bool control = false;  // a marker token (body) rather than a message
    std::string topic, envelope, body;
  };

  void Run();
  // Runs fn on the supervisor thread; waits for its result at most `limit`.
  Status OnSupervisor(std::function<Status()> fn, std::chrono::milliseconds limit);

  // Spawns a runner, hands it the init document and calls create (and start when
  // `to_running`). On failure the runner is killed and reaped; nothing else changes.
  Status StartRunner(bool to_running);
  // Sends a lifecycle call and waits for its answer, serving the bus and the link meanwhile.
  Status CallAndWait(const std::string& call, std::chrono::milliseconds limit);
  // Serves the link and the bus until the runner says hello (call empty) or answers `call`.
  Status AwaitRunner(const std::string& call, Clock::time_point deadline);
  // Waits for the child to exit: SIGTERM, then SIGKILL, each after stop_timeout_ms.
  void EndChild(bool gently);
  bool ReapChild(std::string* why);  // true when the child has exited (why says how)
  void CloseLink();
  // A running runner failed: count it, requeue what it had not acknowledged, and restart it
  // after the backoff, or quarantine it.
  void Fail(const std::string& why);
  void Quarantine(const std::string& why);
  // Handles one message from the runner; `answer` receives the call a "done" names.
  void OnRunnerMessage(std::vector<zmq::message_t>& frames, std::string* done_call,
                       nlohmann::json* done_result, std::string* fail);
  void OnBusMessage(Item item);
  bool ReadBus();         // takes a batch from the SUB socket when it may; false when nothing came
  void Pump();            // sends what the window allows down to the runner
  bool ForwardPending();  // forwards publishes the bus did not take yet; false while blocked
  void DropQueued(const char* why);
  void Alert(const std::string& severity, const std::string& reason);
  void AnnounceStatus(const std::string& state, const std::string& reason);
  void MergeRunnerStats(const nlohmann::json& stats);
  void EndGenerationStats();
  bool SendLink(std::initializer_list<std::string_view> frames);

  const std::shared_ptr<PluginLibrary> library_;
  const InstanceConfig config_;
  Bus& bus_;
  MarkerBoard& markers_;
  const HostConfig& host_config_;
  const SupervisionConfig sv_;
  const std::string runtime_dir_;
  const int index_;
  const std::function<void(const std::string&, const nlohmann::json&)> announce_;
  std::vector<std::string> subscriptions_;
  std::vector<std::string> service_topics_;
  std::string reply_topic_;
  std::unique_ptr<BusPublisher> publisher_;
  InstanceStats stats_;
  SupervisionStats sv_stats_;
  std::atomic<State> state_{State::kNew};

  std::thread thread_;
  Mailbox mailbox_;
  bool exit_requested_ = false;

  // Supervisor thread only from here on.
  std::unique_ptr<zmq::socket_t> sub_;
  std::unique_ptr<zmq::socket_t> link_;  // PAIR to the current runner
  std::string endpoint_;
  pid_t pid_ = -1;
  uint64_t generation_ = 0;
  Phase phase_ = Phase::kDown;
  bool stopping_ = false;  // the host stopped or destroys the instance: no more restarts
  Clock::time_point restart_at_{};
  Clock::time_point running_since_{};
  Clock::time_point last_sign_of_life_{};  // a heartbeat answered or a message acknowledged
  Clock::time_point next_heartbeat_{};
  uint64_t heartbeat_seq_ = 0;
  int consecutive_failures_ = 0;
  std::deque<Clock::time_point> failure_times_;
  std::deque<Item> queue_;     // waiting to go down
  std::deque<Item> inflight_;  // sent, not acknowledged (messages only)
  uint64_t acked_ = 0;         // acknowledged by this generation
  std::set<std::string> markers_sent_;
  std::deque<Item> pending_up_;  // publishes from the runner the bus has not taken yet
  // The runner's own counters: the sum of finished generations, and the current one.
  nlohmann::json stats_done_ = nlohmann::json::object();
  nlohmann::json stats_current_ = nlohmann::json::object();
  std::string last_failure_;
  std::mt19937 rng_{std::random_device{}()};
  RateLimitedLog drop_log_;
  RateLimitedLog reject_log_;
  Clock::time_point last_drop_alert_{};
  // Counted here, added to the runner's own figures in stats_.
  uint64_t own_publish_failures_ = 0;
  uint64_t own_dropped_after_stop_ = 0;
  uint64_t runner_publish_failures_ = 0;
  uint64_t runner_dropped_after_stop_ = 0;
};

}  // namespace kordon::host

#endif  // KORDON_HOST_REMOTE_INSTANCE_H_
