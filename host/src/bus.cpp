#include "bus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "envelope.h"
#include "topic.h"

namespace kordon::host {
namespace {

// Receives the rest of a multipart message and discards it; returns the frames consumed.
size_t DiscardRest(zmq::socket_t& socket) {
  size_t n = 0;
  while (socket.get(zmq::sockopt::rcvmore)) {
    zmq::message_t part;
    if (!socket.recv(part, zmq::recv_flags::none)) break;
    ++n;
  }
  return n;
}

std::string_view View(const zmq::message_t& m) {
  return std::string_view(static_cast<const char*>(m.data()), m.size());
}

// "10.0.0.7:51234" for an accepted socket's fd (a monitor event carries only the fd).
std::string PeerOf(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(a->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    return fmt::format("[{}]:{}", text, ntohs(a->sin6_port));
  }
  return "local";
}

}  // namespace

Bus::Bus(zmq::context_t& context, BusConfig config, std::string host_name)
    : context_(context),
      config_(std::move(config)),
      curve_keys_(config_),
      host_name_(std::move(host_name)) {}

Bus::~Bus() { Stop(); }

Status Bus::Start() {
  const int hwm = static_cast<int>(config_.queue_limit);
  try {
    in_internal_ = zmq::socket_t(context_, zmq::socket_type::pull);
    in_internal_.set(zmq::sockopt::rcvhwm, hwm);
    in_internal_.bind(kInprocIn);

    out_internal_ = zmq::socket_t(context_, zmq::socket_type::xpub);
    out_internal_.set(zmq::sockopt::sndhwm, hwm);
    out_internal_.set(zmq::sockopt::xpub_nodrop, 1);
    out_internal_.bind(kInprocOut);

    control_ = zmq::socket_t(context_, zmq::socket_type::pair);
    control_.bind(kInprocControl);
    control_client_ = zmq::socket_t(context_, zmq::socket_type::pair);
    control_client_.connect(kInprocControl);
  } catch (const zmq::error_t& e) {
    return Status::Internal(fmt::format("cannot set up the in-process bus: {}", e.what()));
  }
  if (config_.curve()) {
    // The keys are normally loaded with the configuration file; a configuration parsed from
    // text (tests) has them read here.
    if (config_.secret_key.empty()) {
      if (Status s = LoadBusKeys(&curve_keys_, ""); !s.ok()) return s;
    }
    // The handler must be in place before the first connection: without one libzmq lets
    // every CURVE client in.
    zap_ = std::make_unique<curve::ZapHandler>(
        context_.handle(), curve_keys_.allowed_z85, [this](bool, const std::string& line) {
          refused_key_log_.Log(spdlog::level::warn, "bus: " + line);
        });
    std::string error;
    if (!zap_->Start(&error))
      return Status::Internal(fmt::format("cannot start the bus's ZAP handler: {}", error));
  }
  auto bind_tcp = [&](zmq::socket_t& s, zmq::socket_type type, const std::string& endpoint,
                      const char* what, std::string* resolved) -> Status {
    if (endpoint.empty()) return Status::Ok();
    try {
      s = zmq::socket_t(context_, type);
      s.set(zmq::sockopt::linger, 0);
      if (config_.curve()) {
        MakeCurveServer(s);
        std::string error;
        auto monitor = std::make_unique<curve::SocketMonitor>(context_.handle(), s.handle(),
                                                              &error);
        if (!monitor->ok())
          return Status::Internal(fmt::format("cannot monitor the bus {} endpoint: {}", what,
                                              error));
        (type == zmq::socket_type::pull ? ingress_monitor_ : egress_monitor_) =
            std::move(monitor);
      }
      if (type == zmq::socket_type::pull) {
        s.set(zmq::sockopt::rcvhwm, hwm);
        // Frames up to this hard limit are read and validated (an oversize body is rejected
        // with an event like any other bad frame). Beyond it ZeroMQ drops the connection
        // before the frame takes memory: a guard against a client that would exhaust it.
        s.set(zmq::sockopt::maxmsgsize, std::max<int64_t>(int64_t{64} << 20, 4 * config_.max_body_bytes));
      } else {
        s.set(zmq::sockopt::sndhwm, hwm);
        s.set(zmq::sockopt::xpub_nodrop, 1);
      }
      s.bind(endpoint);
      *resolved = s.get(zmq::sockopt::last_endpoint);
    } catch (const zmq::error_t& e) {
      return Status::Io(fmt::format("cannot bind the bus {} endpoint '{}': {} (is another "
                                    "kordon-host running on it? change bus.{} in [host])",
                                    what, endpoint, e.what(), what));
    }
    return Status::Ok();
  };
  if (Status s = bind_tcp(in_external_, zmq::socket_type::pull, config_.ingress, "ingress", &ingress_endpoint_); !s.ok())
    return s;
  if (Status s = bind_tcp(out_external_, zmq::socket_type::xpub, config_.egress, "egress", &egress_endpoint_); !s.ok())
    return s;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Bus::CloseIngress() {
  std::lock_guard<std::mutex> lock(control_mutex_);
  if (!running_) return;
  control_client_.send(zmq::str_buffer("close-ingress"), zmq::send_flags::none);
  // The broker answers once the ingress is drained and closed.
  zmq::pollitem_t item{control_client_.handle(), 0, ZMQ_POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto now = std::chrono::steady_clock::now(); now < deadline;
       now = std::chrono::steady_clock::now()) {
    try {
      zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    } catch (const zmq::error_t&) {
      continue;  // EINTR
    }
    zmq::message_t reply;
    if ((item.revents & ZMQ_POLLIN) && control_client_.recv(reply, zmq::recv_flags::dontwait))
      return;
  }
  spdlog::error("bus: the broker did not confirm the ingress closed within 5 s");
}

void Bus::Stop() {
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    if (!running_) return;
    running_ = false;
    control_client_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
  }
  if (thread_.joinable()) thread_.join();
  control_client_.close();
  if (zap_) zap_->Stop();
}

void Bus::MakeCurveServer(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, curve_keys_.secret_key);
  // A domain makes libzmq ask the ZAP handler for every connection (RFC 27).
  socket.set(zmq::sockopt::zap_domain, "kordon.bus");
}

void Bus::HandleMonitor(curve::SocketMonitor& monitor, const char* what, MonitorState* state) {
  while (std::optional<curve::SocketEvent> e = monitor.Read()) {
    const int fd = static_cast<int>(e->value);
    if (e->event == ZMQ_EVENT_ACCEPTED) {
      state->peers[fd] = PeerOf(fd);
      continue;
    }
    if (e->event == ZMQ_EVENT_DISCONNECTED) {
      auto peer = state->peers.find(fd);
      if (state->pending) {
        LogRefusal(what, *state->pending, peer != state->peers.end() ? peer->second : "?");
        state->pending.reset();
      }
      if (peer != state->peers.end()) state->peers.erase(peer);
      continue;
    }
    if (!e->IsHandshakeFailure()) continue;
    if (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      // The ZAP handler has logged it with the peer's address and key.
      stats_.refused_key.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // A client without CURVE sees the mismatch first and hangs up: the server then sees a
    // handshake cut short (no detail, EPIPE / ECONNRESET), or the mismatch itself.
    const bool mismatch = e->event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
                          (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
                           e->value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    std::atomic<uint64_t>& counter = mismatch ? stats_.refused_mechanism : stats_.refused_handshake;
    counter.fetch_add(1, std::memory_order_relaxed);
    // Never expected (a failure is followed by its disconnect); log the earlier one unnamed.
    if (state->pending) LogRefusal(what, *state->pending, "?");
    state->pending = MonitorState::Refusal{mismatch, e->Describe()};
  }
}

void Bus::LogRefusal(const char* what, const MonitorState::Refusal& refusal,
                     const std::string& peer) {
  (refusal.mismatch ? refused_mechanism_log_ : refused_handshake_log_)
      .Log(spdlog::level::warn,
           fmt::format("bus {}: refused a client from {} ({}): {} ({} refused so far)", what, peer,
                       refusal.mismatch ? "no CURVE" : "failed CURVE handshake", refusal.detail,
                       stats_.refused()));
}

void Bus::FlushLogs() {
  reject_log_.Flush(spdlog::level::warn, "bus ingress rejections");
  refused_key_log_.Flush(spdlog::level::warn, "bus CURVE refusals (unknown key)");
  refused_mechanism_log_.Flush(spdlog::level::warn, "bus CURVE refusals (no CURVE)");
  refused_handshake_log_.Flush(spdlog::level::warn, "bus CURVE refusals (failed handshake)");
  overflow_log_.Flush(spdlog::level::warn, "bus egress overflow");
  backpressure_log_.Flush(spdlog::level::warn, "bus backpressure");
}

void Bus::Run() {
  bool ingress_open = in_external_.handle() != nullptr;
  MonitorState ingress_state, egress_state;
  for (;;) {
    std::vector<zmq::pollitem_t> items = {
        {control_.handle(), 0, ZMQ_POLLIN, 0},
        {in_internal_.handle(), 0, ZMQ_POLLIN, 0},
        {out_internal_.handle(), 0, ZMQ_POLLIN, 0},
    };
    size_t external_in = 0, external_out = 0;
    if (ingress_open) {
      external_in = items.size();
      items.push_back({in_external_.handle(), 0, ZMQ_POLLIN, 0});
    }
    if (out_external_.handle() != nullptr) {
      external_out = items.size();
      items.push_back({out_external_.handle(), 0, ZMQ_POLLIN, 0});
    }
    size_t ingress_events = 0, egress_events = 0;
    if (ingress_monitor_) {
      ingress_events = items.size();
      items.push_back({ingress_monitor_->socket(), 0, ZMQ_POLLIN, 0});
    }
    if (egress_monitor_) {
      egress_events = items.size();
      items.push_back({egress_monitor_->socket(), 0, ZMQ_POLLIN, 0});
    }
    try {
      zmq::poll(items, std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::critical("bus broker: poll failed: {}", e.what());
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      zmq::message_t command;
      (void)control_.recv(command, zmq::recv_flags::none);
      if (View(command) == "close-ingress") {
        if (ingress_open) {
          // What external publishers already handed over is forwarded first: a message in
          // the PULL socket's queue has been sent, as far as its publisher can tell, and the
          // instances are all still running. Until the ingress is quiet for 50 ms (2 s at
          // most: a publisher that never stops does not hold the shutdown).
          const auto drain_end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
          auto last = std::chrono::steady_clock::now();
          uint64_t drained = 0;
          for (auto now = last; now < drain_end && now - last < std::chrono::milliseconds(50);
               now = std::chrono::steady_clock::now()) {
            if (HandleExternal()) {
              ++drained;
              last = now;
              continue;
            }
            zmq::pollitem_t item{in_external_.handle(), 0, ZMQ_POLLIN, 0};
            try {
              zmq::poll(&item, 1, std::chrono::milliseconds(10));
            } catch (const zmq::error_t&) {
              // EINTR: look again
            }
          }
          if (drained > 0)
            spdlog::info("bus: ingress closing: forwarded the {} message(s) still queued", drained);
          ingress_monitor_.reset();  // before its socket goes
          in_external_.close();
          ingress_open = false;
          spdlog::debug("bus: ingress closed");
        }
        control_.send(zmq::str_buffer("ingress-closed"), zmq::send_flags::dontwait);
        continue;
      }
      // stop: forward what in-process publishers already handed over, then leave.
      while (HandleInternal()) {
      }
      break;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      // Bounded batches keep external traffic from being starved and vice versa.
      // A non-blocking receive ends the batch when nothing more is queued (no poll per message).
      for (int i = 0; i < 256; ++i)
        if (!HandleInternal()) break;
    }
    if (items[2].revents & ZMQ_POLLIN) DrainSubscriptions(out_internal_, false);
    if (external_in != 0 && (items[external_in].revents & ZMQ_POLLIN)) {
      for (int i = 0; i < 256; ++i)
        if (!HandleExternal()) break;
    }
    if (external_out != 0 && (items[external_out].revents & ZMQ_POLLIN))
      DrainSubscriptions(out_external_, true);
    if (ingress_events != 0 && (items[ingress_events].revents & ZMQ_POLLIN))
      HandleMonitor(*ingress_monitor_, "ingress", &ingress_state);
    if (egress_events != 0 && (items[egress_events].revents & ZMQ_POLLIN))
      HandleMonitor(*egress_monitor_, "egress", &egress_state);
  }
  ingress_monitor_.reset();  // before the sockets they watch
  egress_monitor_.reset();
  in_internal_.close();
  out_internal_.close();
  if (ingress_open) in_external_.close();
  if (out_external_.handle() != nullptr) out_external_.close();
  control_.close();
}

void Bus::DrainSubscriptions(zmq::socket_t& xpub, bool external) {
  for (;;) {
    zmq::message_t m;
    if (!xpub.recv(m, zmq::recv_flags::dontwait)) return;
    if (external && m.size() >= 1) {
      std::string_view v = View(m);
      spdlog::debug("bus egress: {} '{}'", v[0] == 1 ? "subscribe" : "unsubscribe", v.substr(1));
    }
  }
}

bool Bus::HandleInternal() {
  zmq::message_t topic, envelope, body;
  if (!in_internal_.recv(topic, zmq::recv_flags::dontwait)) return false;
  bool ok = topic.more() && in_internal_.recv(envelope) && envelope.more() && in_internal_.recv(body) && !body.more();
  if (!ok) {
    DiscardRest(in_internal_);
    stats_.internal_malformed.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("bus: an in-process publisher sent a message that is not three frames (a host bug); dropped and counted");
    return true;
  }
  Forward(topic, envelope, body);
  return true;
}

bool Bus::HandleExternal() {
  zmq::message_t frames[3];
  size_t count = 0;
  if (!in_external_.recv(frames[0], zmq::recv_flags::dontwait)) return false;
  count = 1;
  bool more = frames[0].more();
  while (more && count < 3) {
    if (!in_external_.recv(frames[count])) break;
    more = frames[count].more();
    ++count;
  }
  if (more) count += DiscardRest(in_external_);
  if (count != 3) {
    Reject(fmt::format("a message has {} frame{}; the bus takes exactly 3 (topic, envelope, body)",
                       count, count == 1 ? "" : "s"), count);
    return true;
  }
  Status s = ValidateFrames(View(frames[0]), View(frames[1]), View(frames[2]),
                            static_cast<size_t>(config_.max_body_bytes), nullptr);
  if (!s.ok()) {
    Reject(s.message(), count);
    return true;
  }
  stats_.external_accepted.fetch_add(1, std::memory_order_relaxed);
  Forward(frames[0], frames[1], frames[2]);
  return true;
}

void Bus::Reject(const std::string& reason, size_t frames) {
  uint64_t n = stats_.external_rejected.fetch_add(1, std::memory_order_relaxed) + 1;
  reject_log_.Log(spdlog::level::warn,
                  fmt::format("bus ingress: rejected a malformed message ({} so far): {}", n, reason));
  Envelope e = NewEnvelope(host_name_);
  e.schema = "bus.frame.rejected";
  nlohmann::json body = {{"reason", reason}, {"frames", frames}, {"endpoint", ingress_endpoint_},
                         {"rejected_total", n}};
  std::string topic = "bus.frame.rejected";
  std::string env = EncodeEnvelope(e);
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  zmq::message_t t(topic.data(), topic.size()), en(env.data(), env.size()), b(text.data(), text.size());
  Forward(t, en, b);
}

void Bus::Forward(zmq::message_t& topic, zmq::message_t& envelope, zmq::message_t& body) {
  const bool reserved = IsReservedTopic(View(topic));
  // External subscribers first, without waiting: copies, since the internal send moves.
  if (!reserved && out_external_.handle() != nullptr) {
    zmq::message_t t, e, b;
    t.copy(topic);
    e.copy(envelope);
    b.copy(body);
    if (out_external_.send(t, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      out_external_.send(e, zmq::send_flags::sndmore);
      out_external_.send(b, zmq::send_flags::none);
    } else {
      uint64_t n = stats_.egress_overflow.fetch_add(1, std::memory_order_relaxed) + 1;
      overflow_log_.Log(spdlog::level::warn, fmt::format(
          "bus egress: an external subscriber is not keeping up; message on '{}' not delivered "
          "to external subscribers ({} so far)", View(topic), n));
    }
  }
  if (!out_internal_.send(topic, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
    stats_.backpressure_waits.fetch_add(1, std::memory_order_relaxed);
    backpressure_log_.Log(spdlog::level::warn,
                          "bus: an in-process subscriber is slow; the bus waits for it (backpressure)");
    (void)out_internal_.send(topic, zmq::send_flags::sndmore);
  }
  out_internal_.send(envelope, zmq::send_flags::sndmore);
  out_internal_.send(body, zmq::send_flags::none);
  stats_.forwarded.fetch_add(1, std::memory_order_relaxed);
}

BusPublisher::BusPublisher(zmq::context_t& context, const BusConfig& config)
    : timeout_ms_(static_cast<int>(config.publish_timeout_ms)), socket_(context, zmq::socket_type::push) {
  socket_.set(zmq::sockopt::sndhwm, static_cast<int>(config.queue_limit));
  socket_.set(zmq::sockopt::sndtimeo, timeout_ms_);
  socket_.set(zmq::sockopt::linger, -1);
  socket_.connect(kInprocIn);
}

Status BusPublisher::Send(std::string_view topic, std::string_view envelope, std::string_view body) {
  std::lock_guard<std::mutex> lock(mutex_);
  return SendLocked(topic, envelope, body);
}

Status BusPublisher::Send(std::string_view topic, std::string_view envelope, std::string_view body,
                          std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return Status::Stopped("the publisher is closed");
  socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(timeout.count()));
  Status s = SendLocked(topic, envelope, body);
  socket_.set(zmq::sockopt::sndtimeo, timeout_ms_);
  return s;
}

Status BusPublisher::SendLocked(std::string_view topic, std::string_view envelope, std::string_view body) {
  if (closed_) return Status::Stopped("the publisher is closed");
  try {
    if (!socket_.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore))
      return Status::Busy("the bus did not accept the message within bus.publish_timeout_ms");
    // Once the first frame is queued the rest of the message always follows.
    socket_.send(zmq::const_buffer(envelope.data(), envelope.size()), zmq::send_flags::sndmore);
    socket_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM) return Status::Stopped("the bus is shutting down");
    return Status::Internal(fmt::format("bus send failed: {}", e.what()));
  }
  return Status::Ok();
}

void BusPublisher::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  closed_ = true;
  socket_.close();
}

}  // namespace kordon::host
