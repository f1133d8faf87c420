// bridge_engine.cpp — see bridge_engine.h; the protocol is in README.md ("Wire format").
#include "bridge_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace kordon::bridge {
namespace {

constexpr size_t kMaxInboundBatch = 1000;  // messages per transaction on the receiving side
constexpr size_t kMaxReadRows = 128;       // outbox rows per read
constexpr int64_t kPruneIntervalMs = 60000;
constexpr size_t kMaxSessions = 1024;
constexpr char kZapDomain[] = "kordon-bridge";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ZmqError(const std::string& what) {
  return what + ": " + zmq_strerror(zmq_errno());
}

// Receives one multipart message without waiting; false when none is there.
bool RecvFrames(void* socket, Frames* out) {
  out->clear();
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    const int flags = out->empty() ? ZMQ_DONTWAIT : 0;  // the rest of a message is there
    if (zmq_msg_recv(&msg, socket, flags) < 0) {
      zmq_msg_close(&msg);
      return !out->empty();
    }
    out->emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    const bool more = zmq_msg_more(&msg) != 0;
    zmq_msg_close(&msg);
    if (!more) return true;
    if (out->size() > 64) {  // not KBL/1: drain the rest without keeping it
      zmq_msg_t rest;
      zmq_msg_init(&rest);
      while (zmq_msg_recv(&rest, socket, 0) >= 0 && zmq_msg_more(&rest)) {
      }
      zmq_msg_close(&rest);
      return true;
    }
  }
}

// Sends frames (after `routing_id` when it is not empty) without waiting; false on EAGAIN
// (the peer's queue is full or no peer is connected) or another error.
bool SendFrames(void* socket, const std::string* routing_id, const Frames& frames) {
  if (routing_id != nullptr &&
      zmq_send(socket, routing_id->data(), routing_id->size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
    return false;
  for (size_t i = 0; i < frames.size(); ++i) {
    const int flags = (i + 1 < frames.size() ? ZMQ_SNDMORE : 0) |
                      (i == 0 && routing_id == nullptr ? ZMQ_DONTWAIT : 0);
    if (zmq_send(socket, frames[i].data(), frames[i].size(), flags) < 0) return false;
  }
  return true;
}

void SetInt(void* socket, int option, int value) {
  zmq_setsockopt(socket, option, &value, sizeof(value));
}

std::string PeerOfFd(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

const char* LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kClosed: return "closed";
    case LinkState::kConnecting: return "connecting";
    case LinkState::kHandshake: return "handshake";
    case LinkState::kUp: return "up";
  }
  return "?";
}

Engine::Engine(EngineOptions options, EngineCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {}

Engine::~Engine() { Stop(); }

void Engine::Log(bool warning, const std::string& line) const {
  if (callbacks_.log) callbacks_.log(warning, line);
}

void Engine::Notify() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

bool Engine::Start(std::string* error) {
  if (thread_.joinable()) return true;
  if (!curve::CurveAvailable() &&
      (!options_.secret_key.empty() || !options_.allowed_keys.empty())) {
    *error = "this libzmq has no CURVE support";
    return false;
  }
  std::vector<std::string> names;
  for (const PartnerSpec& p : options_.partners) names.push_back(p.name);
  outbox_ = Outbox::Open(options_.outbox_path, options_.outbox_limit, names, error);
  if (!outbox_) return false;
  if (!options_.listen.empty()) {
    applied_ = AppliedStore::Open(options_.applied_path, error);
    if (!applied_) return false;
    applied_->Prune(WallUs() - options_.applied_retention_s * 1000000);
  }
  context_ = zmq_ctx_new();
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (context_ == nullptr || wake_fd_ < 0) {
    *error = "cannot create the ZeroMQ context or the wake-up eventfd";
    return false;
  }
  std::string public_key;
  if (!options_.secret_key.empty()) {
    auto pub = curve::PublicKeyOf(options_.secret_key, error);
    if (!pub) return false;
    public_key = *pub;
  }
  if (!options_.listen.empty()) {
    const bool secure = !options_.secret_key.empty();
    if (!secure && !curve::IsLoopbackEndpoint(options_.listen)) {
      *error = "plain TCP is allowed only on loopback; '" + options_.listen + "' needs CURVE";
      return false;
    }
    if (secure) {
      // The handler first: a CURVE server with no ZAP handler in its context lets every
      // client key in.
      zap_ = std::make_unique<curve::ZapHandler>(context_, options_.allowed_keys,
                                                 callbacks_.log);
      if (!zap_->SetAllowed(options_.allowed_keys, error) || !zap_->Start(error)) return false;
    }
    router_ = zmq_socket(context_, ZMQ_ROUTER);
    SetInt(router_, ZMQ_LINGER, 0);
    SetInt(router_, ZMQ_HEARTBEAT_IVL, static_cast<int>(options_.heartbeat_ms));
    SetInt(router_, ZMQ_HEARTBEAT_TIMEOUT, static_cast<int>(options_.heartbeat_ms * 3));
    SetInt(router_, ZMQ_RCVHWM, 100000);
    if (secure) {
      SetInt(router_, ZMQ_CURVE_SERVER, 1);
      zmq_setsockopt(router_, ZMQ_CURVE_SECRETKEY, options_.secret_key.c_str(), 40);
      zmq_setsockopt(router_, ZMQ_ZAP_DOMAIN, kZapDomain, std::strlen(kZapDomain));
    }
    router_monitor_ = std::make_unique<curve::SocketMonitor>(context_, router_, error);
    if (!router_monitor_->ok()) return false;
    if (zmq_bind(router_, options_.listen.c_str()) != 0) {
      *error = ZmqError("cannot listen on '" + options_.listen + "'");
      return false;
    }
    char endpoint[256] = {};
    size_t size = sizeof(endpoint);
    if (zmq_getsockopt(router_, ZMQ_LAST_ENDPOINT, endpoint, &size) == 0)
      bound_endpoint_ = endpoint;
  }
  const int64_t now = NowMs();
  for (const PartnerSpec& p : options_.partners) {
    auto link = std::make_unique<Link>();
    link->spec = p;
    const bool secure = !p.server_key.empty();
    if (!secure && !curve::IsLoopbackEndpoint(p.endpoint)) {
      *error = "partner " + p.name + ": plain TCP is allowed only on loopback; give its key";
      return false;
    }
    if (secure && options_.secret_key.empty()) {
      *error = "partner " + p.name + " uses CURVE: this site needs its own secret key";
      return false;
    }
    link->dealer = zmq_socket(context_, ZMQ_DEALER);
    void* d = link->dealer;
    SetInt(d, ZMQ_LINGER, 0);
    SetInt(d, ZMQ_IMMEDIATE, 1);  // queue nothing for a link that is not up
    SetInt(d, ZMQ_RECONNECT_IVL, 100);
    SetInt(d, ZMQ_RECONNECT_IVL_MAX, 2000);
    SetInt(d, ZMQ_HEARTBEAT_IVL, static_cast<int>(options_.heartbeat_ms));
    SetInt(d, ZMQ_HEARTBEAT_TIMEOUT, static_cast<int>(options_.heartbeat_ms * 3));
    SetInt(d, ZMQ_SNDHWM, static_cast<int>(std::max<int64_t>(1000, options_.window * 2)));
    if (secure) {
      zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, p.server_key.c_str(), 40);
      zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, public_key.c_str(), 40);
      zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, options_.secret_key.c_str(), 40);
    }
    link->monitor = std::make_unique<curve::SocketMonitor>(context_, d, error);
    if (!link->monitor->ok()) return false;
    if (zmq_connect(d, p.endpoint.c_str()) != 0) {
      *error = ZmqError("partner " + p.name + ": cannot connect to '" + p.endpoint + "'");
      return false;
    }
    link->acked = outbox_->Acknowledged(p.name);
    link->next_seq = link->acked + 1;
    link->last_progress_ms = now;
    link->snap.partner = p.name;
    link->snap.endpoint = p.endpoint;
    link->snap.secure = secure;
    link->snap.state = LinkState::kClosed;
    links_.push_back(std::move(link));
  }
  for (auto& link : links_)
    SetState(*link, LinkState::kConnecting, "connecting to " + link->spec.endpoint);
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return true;
}

void Engine::Stop() {
  if (thread_.joinable()) {
    stop_ = true;
    Notify();
    thread_.join();
    for (auto& link : links_) SetState(*link, LinkState::kClosed, "stopped");
  }
  // Monitors before their sockets (they stop the monitoring of a live socket).
  router_monitor_.reset();
  for (auto& link : links_) link->monitor.reset();
  if (router_ != nullptr) zmq_close(router_);
  router_ = nullptr;
  for (auto& link : links_) {
    if (link->dealer != nullptr) zmq_close(link->dealer);
    link->dealer = nullptr;
  }
  if (zap_) zap_->Stop();
  zap_.reset();
  if (context_ != nullptr) zmq_ctx_term(context_);
  context_ = nullptr;
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

bool Engine::Enqueue(const MessageHeader& header, const std::string& body,
                     std::vector<std::string>* full_partners, std::string* error,
                     const std::vector<std::string>& except) {
  std::vector<std::string> names;
  for (const PartnerSpec& p : options_.partners)
    if (std::find(except.begin(), except.end(), p.name) == except.end()) names.push_back(p.name);
  if (names.empty()) return true;
  if (!outbox_) {
    *error = "the bridge is not started";
    return false;
  }
  const std::string header_json = EncodeHeader(header);
  auto result = outbox_->Enqueue(names, header_json, body, error);
  bool ok = true;
  for (const auto& [partner, r] : result) {
    if (r == Outbox::Enqueued::kError) ok = false;
    if (r == Outbox::Enqueued::kFull) {
      full_partners->push_back(partner);
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& link : links_)
        if (link->spec.name == partner) ++link->snap.refused_full;
    }
  }
  Notify();
  return ok;
}

std::vector<LinkSnapshot> Engine::Snapshot() const {
  std::vector<LinkSnapshot> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& link : links_) out.push_back(link->snap);
  }
  for (LinkSnapshot& s : out) s.backlog = outbox_ ? outbox_->Backlog(s.partner) : 0;
  return out;
}

InboundCounters Engine::inbound() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return inbound_;
}

const std::string& Engine::epoch() const {
  static const std::string kNone;
  return outbox_ ? outbox_->epoch() : kNone;
}

void Engine::SetState(Link& link, LinkState state, const std::string& reason) {
  LinkSnapshot copy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    link.snap.reason = reason;
    if (link.snap.state == state) return;
    link.snap.state = state;
    copy = link.snap;
  }
  link.state = state;
  copy.backlog = outbox_ ? outbox_->Backlog(copy.partner) : 0;
  if (callbacks_.on_link) callbacks_.on_link(copy);
}

void Engine::Run() {
  int64_t last_prune = NowMs();
  std::vector<zmq_pollitem_t> items;
  while (!stop_) {
    items.clear();
    items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
    if (router_ != nullptr) {
      items.push_back({router_, 0, ZMQ_POLLIN, 0});
      items.push_back({router_monitor_->socket(), 0, ZMQ_POLLIN, 0});
    }
    for (auto& link : links_) {
      items.push_back({link->dealer, 0, ZMQ_POLLIN, 0});
      items.push_back({link->monitor->socket(), 0, ZMQ_POLLIN, 0});
    }
    // Short enough for the ack timeouts and HELLO retries; the eventfd wakes us for sends.
    if (zmq_poll(items.data(), static_cast<int>(items.size()), 50) < 0 &&
        zmq_errno() == ETERM)
      break;
    if (items[0].revents & ZMQ_POLLIN) {
      uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof(n));
    }
    if (stop_) break;
    const int64_t now = NowMs();
    if (router_ != nullptr) {
      HandleListenerEvents();
      HandleInbound();
    }
    for (auto& link : links_) {
      HandleLinkEvents(*link);
      HandleLinkReplies(*link, now);
      Pump(*link, now);
    }
    if (applied_ && now - last_prune > kPruneIntervalMs) {
      last_prune = now;
      const int64_t n = applied_->Prune(WallUs() - options_.applied_retention_s * 1000000);
      if (n > 0) Log(false, "forgot " + std::to_string(n) + " applied message ids (retention)");
    }
  }
}

void Engine::HandleListenerEvents() {
  while (auto e = router_monitor_->Read()) {
    if (e->event == ZMQ_EVENT_ACCEPTED) {
      last_accepted_peer_ = PeerOfFd(static_cast<int>(e->value));
      continue;
    }
    if (!e->IsHandshakeFailure()) continue;
    uint64_t n;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      n = ++inbound_.refused_clients;
    }
    // A ZAP refusal was logged by the handler, with the peer's address and key.
    if (e->event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
      Log(true, "refused a client (connection from " + last_accepted_peer_ + "): " +
                    e->Describe() + " (" + std::to_string(n) + " refused so far)");
  }
}

void Engine::HandleInbound() {
  struct Touched {
    bool ack = false;
    bool resend = false;
    bool blocked = false;
    bool dirty = false;  // expected moved: store it
  };
  std::map<std::string, Touched> touched;
  bool in_tx = false;
  bool tx_failed = false;
  Frames frames;
  InboundCounters delta;
  auto begin = [&] {
    if (in_tx || tx_failed) return in_tx;
    sqlite::DbStatus s = applied_->Begin();
    if (!s.ok()) {
      tx_failed = true;
      Log(true, "cannot record applied messages: " + s.message);
      return false;
    }
    in_tx = true;
    return true;
  };
  for (size_t i = 0; i < kMaxInboundBatch && RecvFrames(router_, &frames); ++i) {
    if (frames.size() < 2) continue;
    const std::string rid = frames[0];
    frames.erase(frames.begin());
    std::string error;
    std::optional<Command> c = Decode(frames, &error);
    if (!c) {
      ++delta.malformed;
      Log(true, "malformed link message: " + error);
      SendFrames(router_, &rid, Error(error));
      continue;
    }
    if (c->kind == Command::Kind::kHello) {
      Session s{c->site, c->epoch, std::max<uint64_t>(1, c->seq)};
      if (auto last = applied_->LastApplied(c->site, c->epoch)) {
        s.expected = *last + 1;
        if (c->seq > *last + 1) {
          Log(true, "site " + c->site + " no longer holds messages " + std::to_string(*last + 1) +
                        ".." + std::to_string(c->seq - 1) + " (its outbox was reset?); going on "
                        "from " + std::to_string(c->seq));
          s.expected = c->seq;
        }
      }
      // A session per connection; ROUTER gives each reconnect a new routing id, and a closed
      // connection is not reported, so old sessions are forgotten beyond a bound.
      if (sessions_.size() >= kMaxSessions && sessions_.count(rid) == 0)
        sessions_.erase(sessions_.begin());
      sessions_[rid] = s;
      SendFrames(router_, &rid, Welcome(options_.site, s.expected - 1));
      continue;
    }
    if (c->kind != Command::Kind::kMsg) {
      ++delta.malformed;
      SendFrames(router_, &rid, Error("the listener takes HELLO and MSG only"));
      continue;
    }
    auto it = sessions_.find(rid);
    if (it == sessions_.end()) {
      SendFrames(router_, &rid, Error("no session: send HELLO first"));
      continue;
    }
    Session& s = it->second;
    Touched& t = touched[rid];
    if (t.blocked) continue;
    if (c->seq < s.expected) {
      ++delta.duplicates;
      t.ack = true;
      continue;
    }
    if (c->seq > s.expected) {
      ++delta.out_of_order;
      t.resend = true;
      continue;
    }
    std::optional<MessageHeader> header = DecodeHeader(c->header, &error);
    if (!header) {
      // Acknowledged so that one bad message cannot stop the link for ever; counted, logged.
      ++delta.malformed;
      Log(true, "dropped message " + std::to_string(c->seq) + " from site " + s.site +
                    ": " + error);
    } else if (header->origin == options_.site) {
      ++delta.loops;
    } else {
      if (!begin()) {
        t.blocked = true;
        t.resend = true;
        continue;
      }
      if (applied_->WasApplied(header->origin, header->id)) {
        ++delta.duplicates;
      } else {
        Inbound in{s.site, std::move(*header), std::move(c->body)};
        const Delivery d = callbacks_.deliver ? callbacks_.deliver(in) : Delivery::kBusy;
        if (d == Delivery::kBusy) {
          ++delta.publish_busy;
          t.blocked = true;
          t.resend = true;
          continue;
        }
        sqlite::DbStatus st = applied_->Record(in.header.origin, in.header.id, WallUs());
        if (!st.ok()) Log(true, "cannot record message " + in.header.id + ": " + st.message);
        if (d == Delivery::kPublished) ++delta.applied;
        else ++delta.refused;
      }
    }
    ++s.expected;
    t.ack = true;
    t.dirty = true;
  }
  if (touched.empty() && delta.malformed == 0) return;
  for (auto& [rid, t] : touched) {
    if (!t.dirty) continue;
    auto it = sessions_.find(rid);
    if (it == sessions_.end() || !begin()) continue;
    sqlite::DbStatus st =
        applied_->SetLastApplied(it->second.site, it->second.epoch, it->second.expected - 1);
    if (!st.ok()) Log(true, "cannot record the last applied seq: " + st.message);
  }
  bool committed = !in_tx;
  if (in_tx) {
    sqlite::DbStatus st = applied_->Commit();
    committed = st.ok();
    if (!committed) {
      applied_->Rollback();
      Log(true, "cannot commit applied messages (they may arrive again): " + st.message);
    }
  }
  for (auto& [rid, t] : touched) {
    auto it = sessions_.find(rid);
    if (it == sessions_.end()) continue;
    // Acknowledge only what is on disk: an ack lets the sender forget the message.
    if (t.ack && committed) SendFrames(router_, &rid, Ack(it->second.expected - 1));
    if (t.resend) SendFrames(router_, &rid, Resend(it->second.expected));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  inbound_.applied += delta.applied;
  inbound_.duplicates += delta.duplicates;
  inbound_.loops += delta.loops;
  inbound_.out_of_order += delta.out_of_order;
  inbound_.malformed += delta.malformed;
  inbound_.publish_busy += delta.publish_busy;
  inbound_.refused += delta.refused;
}

void Engine::SendHello(Link& link, int64_t now_ms) {
  link.hello_sent_ms = now_ms;
  // The first seq this site still holds for the partner: everything before was acknowledged.
  SendFrames(link.dealer, nullptr, Hello(options_.site, outbox_->epoch(), link.acked + 1));
}

void Engine::HandleLinkEvents(Link& link) {
  while (auto e = link.monitor->Read()) {
    switch (e->event) {
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
        if (link.handshaken_before) {
          std::lock_guard<std::mutex> lock(mutex_);
          ++link.snap.reconnects;
        }
        link.handshaken_before = true;
        SendHello(link, NowMs());
        SetState(link, LinkState::kHandshake, "connected to " + link.spec.endpoint +
                                                  ", waiting for the partner's WELCOME");
        break;
      }
      case ZMQ_EVENT_DISCONNECTED:
        link.next_seq = link.acked + 1;
        SetState(link, LinkState::kConnecting, "disconnected from " + link.spec.endpoint);
        break;
      case ZMQ_EVENT_CONNECT_RETRIED:
        if (link.state == LinkState::kConnecting)
          SetState(link, LinkState::kConnecting, "cannot reach " + link.spec.endpoint +
                                                     " (retrying)");
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: {
        std::string reason = e->Describe();
        if (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
          reason = "partner " + link.spec.name + " refused this site's key (" + reason + ")";
        bool changed;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          ++link.snap.errors;
          changed = link.snap.reason != reason;
        }
        if (changed) Log(true, "link to " + link.spec.name + ": " + reason);
        link.next_seq = link.acked + 1;
        SetState(link, LinkState::kConnecting, reason);
        break;
      }
      default: break;
    }
  }
}

void Engine::HandleLinkReplies(Link& link, int64_t now_ms) {
  Frames frames;
  while (RecvFrames(link.dealer, &frames)) {
    std::string error;
    std::optional<Command> c = Decode(frames, &error);
    if (!c) {
      Log(true, "link to " + link.spec.name + ": malformed reply: " + error);
      std::lock_guard<std::mutex> lock(mutex_);
      ++link.snap.errors;
      continue;
    }
    auto acknowledge = [&](uint64_t seq) {
      if (seq <= link.acked) return;
      const int64_t removed = outbox_->Acknowledge(link.spec.name, seq, &error);
      if (removed < 0) {
        Log(true, "link to " + link.spec.name + ": cannot remove acknowledged messages: " +
                      error);
        return;
      }
      link.acked = seq;
      link.last_progress_ms = now_ms;
      if (link.next_seq <= seq) link.next_seq = seq + 1;
      std::lock_guard<std::mutex> lock(mutex_);
      link.snap.acked += static_cast<uint64_t>(removed);
    };
    switch (c->kind) {
      case Command::Kind::kWelcome:
        if (c->site != link.spec.name)
          Log(true, "partner " + link.spec.name + " at " + link.spec.endpoint +
                        " calls itself '" + c->site + "'");
        acknowledge(c->seq);
        link.next_seq = link.acked + 1;
        link.last_progress_ms = now_ms;
        SetState(link, LinkState::kUp, "connected to " + link.spec.endpoint);
        break;
      case Command::Kind::kAck:
        acknowledge(c->seq);
        break;
      case Command::Kind::kResend:
        // Go back N: the partner saw a gap (or could not publish). Only once per ack timeout
        // for the same seq, since every message after a gap asks again.
        if (link.state == LinkState::kUp && c->seq > link.acked && c->seq < link.next_seq &&
            !(c->seq == link.last_resend_seq &&
              now_ms - link.last_resend_ms < std::min<int64_t>(500, options_.ack_timeout_ms))) {
          link.next_seq = c->seq;
          link.last_resend_seq = c->seq;
          link.last_resend_ms = now_ms;
          std::lock_guard<std::mutex> lock(mutex_);
          ++link.snap.resends;
        }
        break;
      case Command::Kind::kError:
        Log(true, "partner " + link.spec.name + " says: " + c->text + "; saying HELLO again");
        link.next_seq = link.acked + 1;
        SendHello(link, now_ms);
        SetState(link, LinkState::kHandshake, "partner error: " + c->text);
        break;
      default:
        Log(true, "link to " + link.spec.name + ": unexpected command from the partner");
        break;
    }
  }
}

void Engine::Pump(Link& link, int64_t now_ms) {
  if (link.state == LinkState::kHandshake) {
    if (now_ms - link.hello_sent_ms > options_.ack_timeout_ms) SendHello(link, now_ms);
    return;
  }
  if (link.state != LinkState::kUp) return;
  if (link.next_seq > link.acked + 1 && now_ms - link.last_progress_ms > options_.ack_timeout_ms) {
    // No acknowledgement for a while: go back to the oldest unacknowledged message.
    link.next_seq = link.acked + 1;
    link.last_progress_ms = now_ms;
    std::lock_guard<std::mutex> lock(mutex_);
    ++link.snap.resends;
  }
  for (;;) {
    const int64_t in_flight = static_cast<int64_t>(link.next_seq - 1 - link.acked);
    if (in_flight >= options_.window) return;
    std::string error;
    const size_t want = static_cast<size_t>(
        std::min<int64_t>(kMaxReadRows, options_.window - in_flight));
    std::vector<OutboxRow> rows = outbox_->Read(link.spec.name, link.next_seq, want, &error);
    if (!error.empty()) {
      Log(true, "link to " + link.spec.name + ": cannot read the outbox: " + error);
      return;
    }
    if (rows.empty()) return;
    uint64_t sent = 0;
    for (const OutboxRow& row : rows) {
      if (!SendFrames(link.dealer, nullptr, Msg(row.seq, row.header, row.body))) break;
      if (link.next_seq == link.acked + 1) link.last_progress_ms = now_ms;
      link.next_seq = row.seq + 1;
      ++sent;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      link.snap.sent += sent;
    }
    if (sent < rows.size()) return;  // the socket is full; poll again
  }
}

}  // namespace kordon::bridge
