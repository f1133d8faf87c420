// The host's message bus: one broker thread that takes messages in and fans them out.
//
//   in-process publishers --PUSH--> inproc://kordon.bus.in --+
//   external publishers   --PUSH--> bus.ingress (PULL) ------+--> broker --> inproc://kordon.bus.out (XPUB)
//                                                                       +--> bus.egress (XPUB): external SUBs
//
// No silent loss: the internal XPUB uses ZMQ_XPUB_NODROP, so a slow in-process subscriber
// holds the broker back (backpressure reaches publishers, whose publish then waits up to
// bus.publish_timeout_ms and fails with KORDON_E_BUSY). An external subscriber that cannot
// keep up does not hold the site back: what it cannot take is counted as egress overflow
// and logged. Frames from outside are validated; a bad one is counted, logged, answered with
// a `bus.frame.rejected` event and dropped.
//
// With bus.secret_key_file both TCP endpoints are CURVE servers: a ZAP handler in the host's
// ZeroMQ context admits only bus.allowed_keys, and socket monitors see the clients that never
// reach it (no CURVE, a failed handshake). Every refusal is counted and logged (rate-limited)
// with the peer's address; nothing a refused client sends reaches the bus.
#ifndef KORDON_HOST_BUS_H_
#define KORDON_HOST_BUS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <zmq.hpp>

#include "config.h"
#include "curve.h"
#include "rate_limited_log.h"
#include "status.h"

namespace kordon::host {

inline constexpr char kInprocIn[] = "inproc://kordon.bus.in";
inline constexpr char kInprocOut[] = "inproc://kordon.bus.out";
inline constexpr char kInprocControl[] = "inproc://kordon.bus.control";

struct BusStats {
  std::atomic<uint64_t> forwarded{0};           // messages fanned out
  std::atomic<uint64_t> external_accepted{0};   // valid frames from bus.ingress
  std::atomic<uint64_t> external_rejected{0};   // malformed frames from bus.ingress
  std::atomic<uint64_t> internal_malformed{0};  // should stay 0: a host bug
  std::atomic<uint64_t> egress_overflow{0};     // messages an external subscriber could not take
  std::atomic<uint64_t> backpressure_waits{0};  // times the broker waited for a slow subscriber
  // CURVE refusals on bus.ingress / bus.egress (one per refused connection attempt).
  std::atomic<uint64_t> refused_key{0};        // CURVE with a key not in bus.allowed_keys
  std::atomic<uint64_t> refused_mechanism{0};  // no CURVE (plain ZMTP) on a CURVE endpoint
  std::atomic<uint64_t> refused_handshake{0};  // a failed CURVE handshake: wrong keys, tampered
  uint64_t refused() const {
    return refused_key.load() + refused_mechanism.load() + refused_handshake.load();
  }
};

class Bus {
 public:
  Bus(zmq::context_t& context, BusConfig config, std::string host_name);
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Binds every endpoint and starts the broker thread. A bind failure names the endpoint.
  Status Start();
  // Stops taking frames from outside (the first step of a shutdown). Returns once what external
  // publishers had already handed over is forwarded to the in-process subscribers' queues (the
  // drain ends after 50 ms of quiet, 2 s at most), or after 5 s when the broker does not answer.
  void CloseIngress();
  // Forwards what in-process publishers already sent, then stops the broker thread.
  void Stop();

  // The endpoints actually bound ("tcp://127.0.0.1:*" resolves to a port), "" when disabled.
  const std::string& ingress_endpoint() const { return ingress_endpoint_; }
  const std::string& egress_endpoint() const { return egress_endpoint_; }
  const BusStats& stats() const { return stats_; }
  // Reports log lines held back by rate limiting.
  void FlushLogs();
  const BusConfig& config() const { return config_; }
  zmq::context_t& context() { return context_; }

 private:
  void Run();
  void Forward(zmq::message_t& topic, zmq::message_t& envelope, zmq::message_t& body);
  // Forwards one message from in-process publishers; false when none was waiting.
  bool HandleInternal();
  // Takes one message from bus.ingress, if one is waiting (false when none was): forwards it,
  // or rejects it with a bus.frame.rejected event.
  bool HandleExternal();
  void Reject(const std::string& reason, size_t frames);
  void DrainSubscriptions(zmq::socket_t& xpub, bool external);
  // Sets CURVE server options on a TCP socket before its bind.
  void MakeCurveServer(zmq::socket_t& socket);
  // What HandleMonitor knows about one monitored endpoint's connections.
  struct MonitorState {
    std::map<int, std::string> peers;  // fd -> the peer's address, from accept to disconnect
    // A refusal counted but not logged yet: libzmq names its connection (the fd) only in the
    // ZMQ_EVENT_DISCONNECTED that follows it at once (both come from the engine's error()).
    struct Refusal {
      bool mismatch = false;
      std::string detail;
    };
    std::optional<Refusal> pending;
  };
  // Reads the events of a monitored endpoint: counts and logs refused handshakes, each with its
  // peer's address.
  void HandleMonitor(curve::SocketMonitor& monitor, const char* what, MonitorState* state);
  void LogRefusal(const char* what, const MonitorState::Refusal& refusal, const std::string& peer);

  zmq::context_t& context_;
  const BusConfig config_;
  BusConfig curve_keys_;  // config_ with the CURVE keys loaded (Start)
  const std::string host_name_;
  BusStats stats_;
  RateLimitedLog reject_log_;
  RateLimitedLog overflow_log_;
  RateLimitedLog backpressure_log_;
  // One per kind of refusal, so that a storm of one kind does not hide the others.
  RateLimitedLog refused_key_log_;
  RateLimitedLog refused_mechanism_log_;
  RateLimitedLog refused_handshake_log_;

  std::unique_ptr<curve::ZapHandler> zap_;  // with CURVE; serves context_ for the bus
  std::unique_ptr<curve::SocketMonitor> ingress_monitor_;  // broker thread once started
  std::unique_ptr<curve::SocketMonitor> egress_monitor_;

  // Owned by the broker thread once Start returns.
  zmq::socket_t in_internal_;
  zmq::socket_t in_external_;
  zmq::socket_t out_internal_;
  zmq::socket_t out_external_;
  zmq::socket_t control_;  // broker's end

  std::mutex control_mutex_;
  zmq::socket_t control_client_;  // GUARDED_BY(control_mutex_)
  std::string ingress_endpoint_;
  std::string egress_endpoint_;
  std::thread thread_;
  bool running_ = false;
};

// Sends messages into the bus from any thread: one PUSH socket guarded by a mutex.
class BusPublisher {
 public:
  // REQUIRES: the Bus has started (inproc://kordon.bus.in is bound).
  BusPublisher(zmq::context_t& context, const BusConfig& config);
  // Sends one message (three frames). Waits at most bus.publish_timeout_ms under
  // backpressure, then returns Busy: the message was not accepted.
  Status Send(std::string_view topic, std::string_view envelope, std::string_view body);
  // The same, waiting at most `timeout` instead (the host's own control markers must get
  // through a full queue).
  Status Send(std::string_view topic, std::string_view envelope, std::string_view body,
              std::chrono::milliseconds timeout);
  // After Close, Send returns Stopped.
  void Close();

 private:
  Status SendLocked(std::string_view topic, std::string_view envelope, std::string_view body);

  std::mutex mutex_;
  const int timeout_ms_;
  zmq::socket_t socket_;  // GUARDED_BY(mutex_)
  bool closed_ = false;   // GUARDED_BY(mutex_)
};

}  // namespace kordon::host

#endif  // KORDON_HOST_BUS_H_
