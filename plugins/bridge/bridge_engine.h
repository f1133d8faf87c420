// bridge_engine.h — the bridge's link machinery without the SDK: one thread that owns every
// ZeroMQ socket of a site's bridge — the listening ROUTER (receiving from partners) and one
// DEALER per partner (sending to it) — plus the outbox and the applied-id store. The plugin
// (bridge_plugin.cpp) and the benchmark drive it through Enqueue and callbacks.
//
// Wire format KBL/1: link_protocol.h and README.md.
//
// Thread safety: Start, Stop and the destructor from one owning thread. Enqueue, Snapshot
// and counters from any thread. Callbacks run on the link thread, one at a time; they must
// not call Stop.
#ifndef KORDON_PLUGINS_BRIDGE_BRIDGE_ENGINE_H_
#define KORDON_PLUGINS_BRIDGE_BRIDGE_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge_store.h"
#include "curve.h"
#include "link_protocol.h"

namespace kordon::bridge {

struct PartnerSpec {
  std::string name;        // the partner's site name
  std::string endpoint;    // tcp://HOST:PORT of its listener
  std::string server_key;  // its Z85 public key; "" = plain TCP (loopback only)
};

struct EngineOptions {
  std::string site;                       // this site's name (HELLO, origin of messages)
  std::string listen;                     // "" = receive nothing
  std::string secret_key;                 // Z85; "" = plain TCP (loopback only)
  std::vector<std::string> allowed_keys;  // Z85 client keys the listener accepts
  std::vector<PartnerSpec> partners;
  std::string outbox_path;
  std::string applied_path;
  int64_t outbox_limit = 100000;     // messages per partner
  int64_t window = 512;              // messages in flight per partner
  int64_t ack_timeout_ms = 3000;     // resend from the last ack after this long without one
  int64_t applied_retention_s = 7 * 86400;  // how long applied ids are kept
  int64_t heartbeat_ms = 1000;       // ZMTP heartbeats: a dead link is noticed in 3x this
};

enum class Delivery {
  kPublished,  // on the local bus: record and acknowledge it
  kBusy,       // the bus is busy: not acknowledged, the sender sends it again
  kRefused,    // the bus refused it for good (invalid): counted, logged, acknowledged
};

// A message received from a partner, to publish on the local bus.
struct Inbound {
  std::string from;  // the partner site that sent it over the link
  MessageHeader header;
  std::string body;
};

enum class LinkState { kClosed, kConnecting, kHandshake, kUp };
const char* LinkStateName(LinkState state);

// One outgoing link, as the status events show it.
struct LinkSnapshot {
  std::string partner;
  std::string endpoint;
  bool secure = false;
  LinkState state = LinkState::kClosed;
  std::string reason;
  int64_t backlog = 0;      // messages in the outbox for this partner
  uint64_t sent = 0;        // MSG frames sent (resends included)
  uint64_t acked = 0;       // messages acknowledged (removed from the outbox)
  uint64_t resends = 0;     // times the link went back to the last ack
  uint64_t reconnects = 0;  // handshakes after the first
  uint64_t refused_full = 0;  // messages not queued because the outbox was full
  uint64_t errors = 0;
};

// The receiving side's counters.
struct InboundCounters {
  uint64_t applied = 0;           // published on the local bus
  uint64_t duplicates = 0;        // dropped: already applied (by seq or by id)
  uint64_t loops = 0;             // dropped: originated at this site
  uint64_t out_of_order = 0;      // ignored: a gap before them (the sender resends)
  uint64_t malformed = 0;         // frames that are not KBL/1
  uint64_t publish_busy = 0;      // the bus was busy; not acknowledged, so the sender resends
  uint64_t refused = 0;           // the bus refused them as invalid (acknowledged, logged)
  uint64_t refused_clients = 0;   // handshakes refused (unknown key, no CURVE, bad crypto)
};

struct EngineCallbacks {
  // Publish a received message on the local bus.
  std::function<Delivery(const Inbound&)> deliver;
  // A link changed state (or its reason changed).
  std::function<void(const LinkSnapshot&)> on_link;
  std::function<void(bool warning, const std::string& line)> log;
};

class Engine {
 public:
  Engine(EngineOptions options, EngineCallbacks callbacks);
  ~Engine();  // Stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens the files, starts the ZAP handler, binds, connects and starts the thread.
  bool Start(std::string* error);
  void Stop();

  // Queues one message for every partner except `except` (the site it came from, if any).
  // Returns the partners whose outbox was full (the message was not queued for them), or
  // false and *error when the outbox could not be written at all.
  // A relayed message names the partners it must not go back to in `except` (the partner it
  // came from and its origin site).
  bool Enqueue(const MessageHeader& header, const std::string& body,
               std::vector<std::string>* full_partners, std::string* error,
               const std::vector<std::string>& except = {});

  std::vector<LinkSnapshot> Snapshot() const;
  InboundCounters inbound() const;
  const std::string& epoch() const;
  // The listener's endpoint as bound (the port filled in for tcp://HOST:*); "" without one.
  const std::string& bound_endpoint() const { return bound_endpoint_; }

 private:
  // One outgoing link. Sockets: link thread only; snap: GUARDED_BY(mutex_).
  struct Link {
    PartnerSpec spec;
    void* dealer = nullptr;
    std::unique_ptr<curve::SocketMonitor> monitor;
    LinkState state = LinkState::kConnecting;
    uint64_t acked = 0;       // highest seq the partner acknowledged
    uint64_t next_seq = 1;    // the next seq to send
    int64_t last_progress_ms = 0;
    int64_t hello_sent_ms = 0;
    bool handshaken_before = false;
    uint64_t last_resend_seq = 0;  // RESEND damping
    int64_t last_resend_ms = 0;
    LinkSnapshot snap;
  };
  // What the listener knows of one connected sender (by ROUTER routing id).
  struct Session {
    std::string site;
    std::string epoch;
    uint64_t expected = 1;  // the seq to apply next
  };

  void Run();
  void HandleListenerEvents();
  void HandleInbound();
  void HandleLinkEvents(Link& link);
  void HandleLinkReplies(Link& link, int64_t now_ms);
  void Pump(Link& link, int64_t now_ms);
  void SendHello(Link& link, int64_t now_ms);
  void SetState(Link& link, LinkState state, const std::string& reason);
  void Log(bool warning, const std::string& line) const;
  void Notify();

  const EngineOptions options_;
  const EngineCallbacks callbacks_;
  void* context_ = nullptr;
  int wake_fd_ = -1;
  std::unique_ptr<curve::ZapHandler> zap_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<AppliedStore> applied_;
  void* router_ = nullptr;
  std::unique_ptr<curve::SocketMonitor> router_monitor_;
  std::vector<std::unique_ptr<Link>> links_;
  std::map<std::string, Session> sessions_;  // by routing id; link thread only
  std::string last_accepted_peer_ = "?";     // link thread only
  std::string bound_endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;
  InboundCounters inbound_;  // GUARDED_BY(mutex_)
};

}  // namespace kordon::bridge

#endif  // KORDON_PLUGINS_BRIDGE_BRIDGE_ENGINE_H_
