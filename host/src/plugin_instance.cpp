#include "plugin_instance.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstddef>
#include <future>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "schema.h"
#include "topic.h"

namespace kordon::host {
namespace {

constexpr char kControlPrefix[] = "$ctl.";
constexpr int kBatch = 64;

// Plugin log lines go to a line-oriented log: control characters are escaped so that a line
// cannot forge another.
std::string Sanitize(const char* text) {
  std::string out;
  if (text == nullptr) return "(null)";
  for (const char* p = text; *p != '\0' && out.size() < 8192; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

spdlog::level::level_enum ToSpdlog(kordon_log_level level) {
  switch (level) {
    case KORDON_LOG_TRACE: return spdlog::level::trace;
    case KORDON_LOG_DEBUG: return spdlog::level::debug;
    case KORDON_LOG_INFO: return spdlog::level::info;
    case KORDON_LOG_WARN: return spdlog::level::warn;
    default: return spdlog::level::err;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MarkerBoard

void MarkerBoard::Seen(const std::string& instance, const std::string& token) {
  if (on_seen) {
    // kordon-runner: the host keeps the record; kept here it would grow with every heartbeat.
    on_seen(instance, token);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.emplace(token, instance);
  }
  cv_.notify_all();
}

bool MarkerBoard::WaitAll(const std::string& token, const std::vector<std::string>& instances,
                          std::chrono::steady_clock::time_point deadline,
                          std::vector<std::string>* missing) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool all = cv_.wait_until(lock, deadline, [&] {
    for (const std::string& i : instances)
      if (seen_.count({token, i}) == 0) return false;
    return true;
  });
  if (!all && missing != nullptr)
    for (const std::string& i : instances)
      if (seen_.count({token, i}) == 0) missing->push_back(i);
  return all;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

PluginInstance::PluginInstance(std::shared_ptr<PluginLibrary> library, InstanceConfig config,
                               Bus& bus, MarkerBoard& markers,
                               std::chrono::milliseconds call_limit)
    : library_(std::move(library)), config_(std::move(config)), bus_(bus), markers_(markers),
      call_limit_(call_limit),
      publisher_(bus.context(), bus.config()) {
  const PluginDescription& d = library_->description();
  subscriptions_ = config_.has_subscribe ? config_.subscribe : d.subscribes;
  for (const std::string& s : d.services) service_topics_.push_back("rpc." + s);
  reply_topic_ = "rpc.reply." + config_.name;
  info_.struct_size = sizeof(info_);
  info_.instance_name = config_.name.c_str();
  info_.lane = config_.lane.c_str();
  info_.host = &HostApi();
  info_.context = &context_;
}

PluginInstance::~PluginInstance() { Destroy(); }

void PluginInstance::Launch() {
  std::promise<void> subscribed;
  std::future<void> ready = subscribed.get_future();
  thread_ = std::thread([this, p = std::move(subscribed)]() mutable { ActorMain(&p); });
  ready.wait();
}

Status PluginInstance::Create() {
  return RunOnActor([this]() -> Status {
    void* created = nullptr;
    kordon_status rc = library_->descriptor().create(&info_, &created);
    if (rc != KORDON_OK)
      return Status::InvalidArgument(fmt::format(
          "plugin instance '{}' ({}) failed to create: {} (its log lines above say why)",
          config_.name, library_->path(), kordon_status_name(rc)));
    plugin_instance_ = created;
    state_ = State::kCreated;
    return Status::Ok();
  });
}

Status PluginInstance::Start() {
  return RunOnActor([this]() -> Status {
    if (state_ != State::kCreated) return Status::Internal("start called in the wrong state");
    kordon_status rc = library_->descriptor().start(plugin_instance_);
    if (rc != KORDON_OK)
      return Status::Internal(fmt::format("plugin instance '{}' failed to start: {}",
                                          config_.name, kordon_status_name(rc)));
    state_ = State::kRunning;
    // Deliver what arrived between create and start, in order.
    while (!pre_start_.empty()) {
      Frames f = std::move(pre_start_.front());
      pre_start_.pop_front();
      Dispatch(f.topic, f.envelope, f.body);
    }
    return Status::Ok();
  });
}

Status PluginInstance::Stop() {
  return RunOnActor([this]() -> Status {
    if (state_ != State::kRunning) return Status::Ok();
    state_ = State::kStopping;
    kordon_status rc = library_->descriptor().stop(plugin_instance_);
    state_ = State::kStopped;
    {
      std::lock_guard<std::mutex> lock(timer_mutex_);
      timers_.clear();
      timer_queue_ = {};
    }
    ExpireRequests(true, KORDON_E_STOPPED);
    if (rc != KORDON_OK)
      return Status::Internal(fmt::format("plugin instance '{}' reported {} from stop",
                                          config_.name, kordon_status_name(rc)));
    return Status::Ok();
  });
}

void PluginInstance::Destroy() {
  if (!thread_.joinable()) return;
  if (stuck_) {
    // Its thread is inside plugin code that never returned: it cannot be joined, and its
    // library must never be unloaded. The host exits without destroying this object.
    new std::shared_ptr<PluginLibrary>(library_);  // deliberately leaked
    thread_.detach();
    return;
  }
  Status destroyed = RunOnActor([this]() -> Status {
    if (state_ == State::kRunning) {
      state_ = State::kStopping;
      library_->descriptor().stop(plugin_instance_);
      state_ = State::kStopped;
    }
    ExpireRequests(true, KORDON_E_STOPPED);
    if (plugin_instance_ != nullptr || state_ != State::kNew) {
      library_->descriptor().destroy(plugin_instance_);
      plugin_instance_ = nullptr;
    }
    state_ = State::kDestroyed;
    exit_requested_ = true;
    return Status::Ok();
  });
  if (!destroyed.ok()) {
    spdlog::critical("{}", destroyed.message());
    new std::shared_ptr<PluginLibrary>(library_);  // deliberately leaked, see above
    thread_.detach();
    return;
  }
  thread_.join();
  publisher_.Close();
}

void PluginInstance::FlushLogs() {
  throttle_log_.Flush(spdlog::level::warn, fmt::format("[{}] throttled publishes", config_.name));
  publish_fail_log_.Flush(spdlog::level::warn, fmt::format("[{}] publish failures", config_.name));
  handler_fail_log_.Flush(spdlog::level::warn, fmt::format("[{}] handler errors", config_.name));
  drop_log_.Flush(spdlog::level::warn, fmt::format("[{}] undelivered messages", config_.name));
}

Status PluginInstance::RunOnActor(std::function<Status()> fn) {
  std::optional<Status> result = mailbox_.Call(std::move(fn), call_limit_);
  if (!result) {
    stuck_ = true;
    return Status::Timeout(fmt::format(
        "plugin instance '{}' has not returned from a call for {} ms: it is stuck in its own code",
        config_.name, call_limit_.count()));
  }
  return *result;
}

Status PluginInstance::SendMarker(const std::string& body, std::chrono::milliseconds timeout) {
  Envelope e = NewEnvelope(config_.name);
  return publisher_.Send(std::string(kControlPrefix) + "marker", EncodeEnvelope(e), body, timeout);
}

// ---------------------------------------------------------------------------------------------
// The actor thread

void PluginInstance::ActorMain(std::promise<void>* subscribed) {
  zmq::socket_t sub(bus_.context(), zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, static_cast<int>(bus_.config().queue_limit));
  sub.set(zmq::sockopt::linger, 0);
  sub.connect(kInprocOut);
  for (const std::string& s : subscriptions_) sub.set(zmq::sockopt::subscribe, s);
  for (const std::string& s : service_topics_) sub.set(zmq::sockopt::subscribe, s);
  sub.set(zmq::sockopt::subscribe, reply_topic_);
  // Last, so that seeing a control marker proves every subscription above is in place.
  sub.set(zmq::sockopt::subscribe, kControlPrefix);
  subscribed->set_value();

  while (!exit_requested_) {
    mailbox_.RunPending();
    if (exit_requested_) break;
    FireTimers();
    ExpireRequests(false, KORDON_E_TIMEOUT);

    auto deadline = NextDeadline();
    long timeout_ms = -1;
    if (deadline != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      timeout_ms = left < 0 ? 0 : left + 1;
    }
    zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, mailbox_.fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(timeout_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::critical("[{}] actor poll failed: {}", config_.name, e.what());
      break;
    }
    if (items[1].revents & ZMQ_POLLIN) mailbox_.ClearWake();
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < kBatch; ++i) {
        zmq::message_t topic, envelope, body;
        if (!sub.recv(topic, zmq::recv_flags::dontwait)) break;
        if (!topic.more() || !sub.recv(envelope) || !envelope.more() || !sub.recv(body) || body.more()) {
          while (sub.get(zmq::sockopt::rcvmore)) {
            zmq::message_t rest;
            (void)sub.recv(rest);
          }
          spdlog::error("[{}] received a message that is not three frames; dropped (a host bug)", config_.name);
          continue;
        }
        Dispatch(topic.to_string_view(), envelope.to_string_view(), body.to_string_view());
        const bool control =
            topic.to_string_view().substr(0, sizeof(kControlPrefix) - 1) == kControlPrefix;
        if (dispatch_hook_ && !control) dispatch_hook_();
        if (mailbox_.HasPending()) break;  // lifecycle commands must not wait behind a burst
      }
    }
  }
  sub.close();
}

bool PluginInstance::Wants(std::string_view topic) const {
  for (const std::string& p : subscriptions_)
    if (TopicMatches(p, topic)) return true;
  for (const std::string& s : service_topics_)
    if (topic == s) return true;
  return false;
}

void PluginInstance::Dispatch(std::string_view topic, std::string_view envelope_bytes,
                              std::string_view body) {
  if (topic.substr(0, sizeof(kControlPrefix) - 1) == kControlPrefix) {
    markers_.Seen(config_.name, std::string(body));
    return;
  }
  const bool is_reply = topic == reply_topic_;
  // ZeroMQ matches raw prefixes; the bus matches whole segments ("scanner" is not "scanners").
  if (!is_reply && !Wants(topic)) return;
  State state = state_.load();
  if (state == State::kNew || state == State::kCreated) {
    if (pre_start_.size() >= static_cast<size_t>(bus_.config().queue_limit)) {
      stats_.dropped_before_start.fetch_add(1, std::memory_order_relaxed);
      drop_log_.Log(spdlog::level::err, fmt::format(
          "[{}] dropped a message on '{}': more than bus.queue_limit arrived before start", config_.name, topic));
      return;
    }
    pre_start_.push_back(Frames{std::string(topic), std::string(envelope_bytes), std::string(body)});
    return;
  }
  // Everything on the internal bus was validated on its way in (publish, or bus.ingress).
  if (Status s = DecodeEnvelopeInto(envelope_bytes, &decoded_, /*check_fields=*/false); !s.ok()) {
    spdlog::error("[{}] undecodable envelope on '{}': {} (a host bug); dropped", config_.name, topic,
                  s.message());
    return;
  }
  if (is_reply) {
    HandleReply(decoded_, topic, body);
    return;
  }
  if (state != State::kRunning) {
    uint64_t n = stats_.dropped_after_stop.fetch_add(1, std::memory_order_relaxed) + 1;
    drop_log_.Log(spdlog::level::warn, fmt::format(
        "[{}] a message on '{}' arrived after the instance stopped; not delivered ({} so far)",
        config_.name, topic, n));
    return;
  }
  Deliver(topic, decoded_, body);
}

const kordon_message* PluginInstance::MessageView::Fill(std::string_view topic, const Envelope& e,
                                                        std::string_view body) {
  topic_.assign(topic);
  body_.assign(body);
  IdToHex(e.id, id_);
  if (IsZeroId(e.correlation_id))
    correlation_[0] = '\0';
  else
    IdToHex(e.correlation_id, correlation_);
  m_ = kordon_message{};
  m_.struct_size = sizeof(m_);
  m_.topic = topic_.c_str();
  m_.id = id_;
  m_.time_us = e.time_us;
  m_.source = e.source.c_str();
  m_.lane = e.lane.c_str();
  m_.crossing_id = e.crossing_id.c_str();
  m_.schema = e.schema.empty() ? m_.topic : e.schema.c_str();
  m_.schema_version = e.schema_version;
  m_.body = body_.c_str();
  m_.body_size = body_.size();
  m_.reply_to = e.reply_to.c_str();
  m_.correlation_id = correlation_;
  m_.flags = e.flags;
  return &m_;
}

void PluginInstance::Deliver(std::string_view topic, const Envelope& e, std::string_view body) {
  const kordon_message* m = view_.Fill(topic, e, body);
  stats_.received.fetch_add(1, std::memory_order_relaxed);
  kordon_status rc = library_->descriptor().handle_message(plugin_instance_, m);
  if (rc != KORDON_OK) {
    uint64_t n = stats_.handler_errors.fetch_add(1, std::memory_order_relaxed) + 1;
    handler_fail_log_.Log(spdlog::level::warn, fmt::format(
        "[{}] handle_message for '{}' (id {}) returned {} ({} so far)", config_.name, topic, m->id,
        kordon_status_name(rc), n));
  }
}

void PluginInstance::HandleReply(const Envelope& e, std::string_view topic, std::string_view body) {
  std::string key = IdToHex(e.correlation_id);
  PendingRequest pending;
  {
    std::lock_guard<std::mutex> lock(request_mutex_);
    auto it = pending_.find(key);
    if (it == pending_.end()) {
      stats_.late_replies.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("[{}] reply to {} arrived after its request timed out or was answered; ignored",
                    config_.name, key);
      return;
    }
    pending = std::move(it->second);
    pending_.erase(it);
  }
  const kordon_message* m = view_.Fill(topic, e, body);
  kordon_status status = (e.flags & kFlagErrorReply) ? KORDON_E_FAILED : KORDON_OK;
  pending.fn(plugin_instance_, status, m, pending.user_data);
}

void PluginInstance::FireTimers() {
  for (;;) {
    uint64_t id = 0;
    Timer timer{};
    {
      std::lock_guard<std::mutex> lock(timer_mutex_);
      if (timer_queue_.empty()) return;
      auto [due, top_id] = timer_queue_.top();
      auto now = Clock::now();
      if (due > now) return;
      timer_queue_.pop();
      auto it = timers_.find(top_id);
      if (it == timers_.end()) continue;  // cancelled
      id = top_id;
      timer = it->second;
      if (timer.interval_ms > 0) {
        auto next = due + std::chrono::milliseconds(timer.interval_ms);
        if (next <= now) next = now + std::chrono::milliseconds(timer.interval_ms);  // skip missed ticks
        timer_queue_.emplace(next, id);
      } else {
        timers_.erase(it);
      }
    }
    stats_.timers_fired.fetch_add(1, std::memory_order_relaxed);
    timer.fn(plugin_instance_, id, timer.user_data);
  }
}

void PluginInstance::ExpireRequests(bool all, kordon_status status) {
  std::vector<std::pair<std::string, PendingRequest>> expired;
  {
    std::lock_guard<std::mutex> lock(request_mutex_);
    if (pending_.empty()) return;
    auto now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || it->second.deadline <= now) {
        expired.emplace_back(it->first, std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [id, p] : expired) {
    if (status == KORDON_E_TIMEOUT) {
      stats_.request_timeouts.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("[{}] request {} to service '{}' got no reply in time (is a provider of '{}' running?)",
                   config_.name, id, p.service, p.service);
    }
    p.fn(plugin_instance_, status, nullptr, p.user_data);
  }
}

PluginInstance::Clock::time_point PluginInstance::NextDeadline() {
  Clock::time_point next = Clock::time_point::max();
  {
    std::lock_guard<std::mutex> lock(timer_mutex_);
    if (!timer_queue_.empty()) next = timer_queue_.top().first;
  }
  std::lock_guard<std::mutex> lock(request_mutex_);
  for (const auto& [id, p] : pending_) next = std::min(next, p.deadline);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Host services

kordon_status PluginInstance::Fail(kordon_status code, const std::string& what) {
  uint64_t n = stats_.publish_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  publish_fail_log_.Log(spdlog::level::warn,
                        fmt::format("[{}] {} ({}; {} failures so far)", config_.name, what,
                                    kordon_status_name(code), n));
  return code;
}

kordon_status PluginInstance::PublishEnvelope(std::string_view topic, Envelope& e,
                                              std::string_view body) {
  if (Status s = ValidateEnvelope(e); !s.ok())
    return Fail(KORDON_E_INVALID_ARGUMENT, fmt::format("publish to '{}' refused: {}", topic, s.message()));
  thread_local std::string encoded;  // publish may be called from any thread
  EncodeEnvelopeTo(e, &encoded);
  Status s = publisher_.Send(topic, encoded, body);
  if (!s.ok()) {
    kordon_status code = s.code() == Status::Code::kBusy      ? KORDON_E_BUSY
                         : s.code() == Status::Code::kStopped ? KORDON_E_STOPPED
                                                              : KORDON_E_INTERNAL;
    return Fail(code, fmt::format("publish to '{}' not accepted: {}", topic, s.message()));
  }
  stats_.published.fetch_add(1, std::memory_order_relaxed);
  return KORDON_OK;
}

kordon_status PluginInstance::Publish(const kordon_publish_args* args) {
  if (args == nullptr || args->struct_size < offsetof(kordon_publish_args, schema_version) + sizeof(uint32_t))
    return Fail(KORDON_E_INVALID_ARGUMENT, "publish refused: args is null or smaller than kordon_publish_args 1.0");
  State state = state_.load();
  if (state == State::kStopped || state == State::kDestroyed)
    return Fail(KORDON_E_STOPPED, "publish refused: the instance has stopped");
  if (args->topic == nullptr) return Fail(KORDON_E_INVALID_ARGUMENT, "publish refused: topic is null");
  if (config_.publish_limit > 0) {
    // A token bucket: publish_limit per second, publish_burst at once. A flooding plugin is
    // refused at once (KORDON_E_BUSY, counted) instead of filling the bus that the other
    // instances share.
    std::lock_guard<std::mutex> lock(bucket_mutex_);
    const auto now = Clock::now();
    const double burst = static_cast<double>(config_.publish_burst);
    if (refilled_ == Clock::time_point{}) {
      tokens_ = burst;
    } else {
      double seconds = std::chrono::duration<double>(now - refilled_).count();
      tokens_ = std::min(burst, tokens_ + seconds * static_cast<double>(config_.publish_limit));
    }
    refilled_ = now;
    if (tokens_ < 1.0) {
      uint64_t n = stats_.throttled.fetch_add(1, std::memory_order_relaxed) + 1;
      stats_.publish_failures.fetch_add(1, std::memory_order_relaxed);
      throttle_log_.Log(spdlog::level::warn, fmt::format(
          "[{}] publish to '{}' refused: over publish_limit = {}/s (burst {}); {} throttled so far",
          config_.name, args->topic, config_.publish_limit, config_.publish_burst, n));
      return KORDON_E_BUSY;
    }
    tokens_ -= 1.0;
  }
  std::string_view topic(args->topic);
  if (Status s = ValidateTopic(topic); !s.ok())
    return Fail(KORDON_E_INVALID_ARGUMENT, "publish refused: " + s.message());
  if (args->body == nullptr) return Fail(KORDON_E_INVALID_ARGUMENT, fmt::format("publish to '{}' refused: body is null", topic));
  std::string_view body(args->body, args->body_size);
  if (Status s = ValidateBody(body, static_cast<size_t>(bus_.config().max_body_bytes)); !s.ok())
    return Fail(KORDON_E_INVALID_ARGUMENT, fmt::format("publish to '{}' refused: {}", topic, s.message()));
  Envelope e = NewEnvelope(config_.name);
  e.lane = args->lane != nullptr ? args->lane : config_.lane;
  e.crossing_id = args->crossing_id != nullptr ? args->crossing_id : "";
  e.schema = args->schema != nullptr ? args->schema : "";
  e.schema_version = args->schema_version == 0 ? 1 : args->schema_version;
  if (schema_check_ != SchemaCheck::kOff && schemas_ != nullptr) {
    const std::string name = e.schema.empty() ? std::string(topic) : e.schema;
    if (const nlohmann::json* sch = schemas_->Find(name, e.schema_version)) {
      const std::vector<std::string> problems =
          schema::Problems(nlohmann::json::parse(body, nullptr, false), *sch);
      if (!problems.empty()) {
        const uint64_t n = stats_.schema_violations.fetch_add(1, std::memory_order_relaxed) + 1;
        const bool refuse = schema_check_ == SchemaCheck::kRefuse;
        schema_log_.Log(refuse ? spdlog::level::err : spdlog::level::warn, fmt::format(
            "[{}] publish to '{}' {}: the body breaks {} v{} ({}{}); {} so far", config_.name,
            topic, refuse ? "refused" : "let through (validate_schemas = warn)", name,
            e.schema_version, problems.front(),
            problems.size() > 1 ? fmt::format(" and {} more", problems.size() - 1) : "", n));
        if (refuse) {
          stats_.publish_failures.fetch_add(1, std::memory_order_relaxed);
          return KORDON_E_INVALID_ARGUMENT;
        }
      }
    }
  }
  return PublishEnvelope(topic, e, body);
}

void PluginInstance::Log(kordon_log_level level, const char* message) {
  spdlog::log(ToSpdlog(level), "[{}] {}", config_.name, Sanitize(message));
}

const char* PluginInstance::ConfigGet(const char* key) const {
  if (key == nullptr) return nullptr;
  for (const auto& [k, v] : config_.settings)
    if (k == key) return v.c_str();
  return nullptr;
}

const char* PluginInstance::ConfigKeyAt(size_t index) const {
  if (index >= config_.settings.size()) return nullptr;
  return config_.settings[index].first.c_str();
}

kordon_status PluginInstance::TimerStart(uint64_t delay_ms, uint64_t interval_ms,
                                         kordon_timer_fn fn, void* user_data, uint64_t* out_id) {
  if (fn == nullptr) return KORDON_E_INVALID_ARGUMENT;
  State state = state_.load();
  if (state == State::kStopped || state == State::kDestroyed) return KORDON_E_STOPPED;
  constexpr uint64_t kMaxMs = 10ull * 365 * 24 * 3600 * 1000;  // ten years
  if (delay_ms > kMaxMs || interval_ms > kMaxMs) return KORDON_E_INVALID_ARGUMENT;
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(timer_mutex_);
    id = next_timer_id_++;
    timers_.emplace(id, Timer{fn, user_data, interval_ms});
    timer_queue_.emplace(Clock::now() + std::chrono::milliseconds(delay_ms), id);
  }
  if (out_id != nullptr) *out_id = id;
  mailbox_.Wake();
  return KORDON_OK;
}

kordon_status PluginInstance::TimerCancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(timer_mutex_);
  return timers_.erase(id) > 0 ? KORDON_OK : KORDON_E_NOT_FOUND;
}

kordon_status PluginInstance::Request(const char* service, const char* body, size_t body_size,
                                      uint32_t timeout_ms, kordon_reply_fn fn, void* user_data) {
  if (service == nullptr || fn == nullptr || body == nullptr)
    return Fail(KORDON_E_INVALID_ARGUMENT, "request refused: service, body and callback are required");
  State state = state_.load();
  if (state == State::kStopped || state == State::kDestroyed) return KORDON_E_STOPPED;
  std::string name(service);
  if (Status s = ValidateTopic(name); !s.ok() || name == "reply")
    return Fail(KORDON_E_INVALID_ARGUMENT, fmt::format("request refused: '{}' is not a valid service name", name));
  std::string_view b(body, body_size);
  if (Status s = ValidateBody(b, static_cast<size_t>(bus_.config().max_body_bytes)); !s.ok())
    return Fail(KORDON_E_INVALID_ARGUMENT, fmt::format("request to '{}' refused: {}", name, s.message()));
  if (timeout_ms == 0) timeout_ms = 1;
  Envelope e = NewEnvelope(config_.name);
  e.lane = config_.lane;
  e.schema = "rpc." + name;
  e.reply_to = reply_topic_;
  std::string key = IdToHex(e.id);
  {
    std::lock_guard<std::mutex> lock(request_mutex_);
    pending_.emplace(key, PendingRequest{fn, user_data, Clock::now() + std::chrono::milliseconds(timeout_ms), name});
  }
  mailbox_.Wake();
  kordon_status rc = PublishEnvelope("rpc." + name, e, b);
  if (rc != KORDON_OK) {
    std::lock_guard<std::mutex> lock(request_mutex_);
    pending_.erase(key);  // the callback will not run: the caller sees the error instead
    return rc;
  }
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  return KORDON_OK;
}

kordon_status PluginInstance::Reply(const kordon_message* request, kordon_status status,
                                    const char* body, size_t body_size) {
  if (request == nullptr || request->reply_to == nullptr || request->reply_to[0] == '\0')
    return Fail(KORDON_E_INVALID_ARGUMENT, "reply refused: the message is not a request (no reply_to)");
  Envelope e = NewEnvelope(config_.name);
  if (request->id == nullptr || !IdFromHex(request->id, &e.correlation_id))
    return Fail(KORDON_E_INVALID_ARGUMENT, "reply refused: the request has no valid id");
  std::string error_body;
  std::string_view b = body != nullptr ? std::string_view(body, body_size) : std::string_view();
  if (status != KORDON_OK) {
    e.flags = kFlagErrorReply;
    if (!ValidateBody(b, static_cast<size_t>(bus_.config().max_body_bytes)).ok()) {
      error_body = nlohmann::json{{"error", kordon_status_name(status)}}.dump();
      b = error_body;
    }
  } else if (Status s = ValidateBody(b, static_cast<size_t>(bus_.config().max_body_bytes)); !s.ok()) {
    return Fail(KORDON_E_INVALID_ARGUMENT, "reply refused: " + s.message());
  }
  e.lane = request->lane != nullptr ? request->lane : "";
  e.crossing_id = request->crossing_id != nullptr ? request->crossing_id : "";
  return PublishEnvelope(request->reply_to, e, b);
}

// ---------------------------------------------------------------------------------------------
// The C table. No exception may cross back into plugin code.

namespace {

PluginInstance* Self(kordon_host_context* c) { return c != nullptr ? c->instance : nullptr; }

kordon_status ApiPublish(kordon_host_context* c, const kordon_publish_args* args) {
  if (Self(c) == nullptr) return KORDON_E_INVALID_ARGUMENT;
  try { return Self(c)->Publish(args); } catch (const std::bad_alloc&) { return KORDON_E_NO_MEMORY; } catch (...) { return KORDON_E_INTERNAL; }
}
void ApiLog(kordon_host_context* c, kordon_log_level level, const char* message) {
  if (Self(c) == nullptr) return;
  try { Self(c)->Log(level, message); } catch (...) {}
}
const char* ApiConfigGet(kordon_host_context* c, const char* key) {
  return Self(c) != nullptr ? Self(c)->ConfigGet(key) : nullptr;
}
const char* ApiConfigKeyAt(kordon_host_context* c, size_t index) {
  return Self(c) != nullptr ? Self(c)->ConfigKeyAt(index) : nullptr;
}
kordon_status ApiTimerStart(kordon_host_context* c, uint64_t delay_ms, uint64_t interval_ms,
                            kordon_timer_fn fn, void* user_data, uint64_t* out_id) {
  if (Self(c) == nullptr) return KORDON_E_INVALID_ARGUMENT;
  try { return Self(c)->TimerStart(delay_ms, interval_ms, fn, user_data, out_id); } catch (...) { return KORDON_E_INTERNAL; }
}
kordon_status ApiTimerCancel(kordon_host_context* c, uint64_t id) {
  if (Self(c) == nullptr) return KORDON_E_INVALID_ARGUMENT;
  try { return Self(c)->TimerCancel(id); } catch (...) { return KORDON_E_INTERNAL; }
}
kordon_status ApiRequest(kordon_host_context* c, const char* service, const char* body,
                         size_t body_size, uint32_t timeout_ms, kordon_reply_fn fn, void* user_data) {
  if (Self(c) == nullptr) return KORDON_E_INVALID_ARGUMENT;
  try { return Self(c)->Request(service, body, body_size, timeout_ms, fn, user_data); } catch (...) { return KORDON_E_INTERNAL; }
}
kordon_status ApiReply(kordon_host_context* c, const kordon_message* request, kordon_status status,
                       const char* body, size_t body_size) {
  if (Self(c) == nullptr) return KORDON_E_INVALID_ARGUMENT;
  try { return Self(c)->Reply(request, status, body, body_size); } catch (...) { return KORDON_E_INTERNAL; }
}

}  // namespace

const kordon_host_api& HostApi() {
  static const kordon_host_api api = [] {
    kordon_host_api a{};
    a.struct_size = sizeof(a);
    a.abi_version = KORDON_ABI_VERSION;
    a.publish = &ApiPublish;
    a.log = &ApiLog;
    a.config_get = &ApiConfigGet;
    a.config_key_at = &ApiConfigKeyAt;
    a.timer_start = &ApiTimerStart;
    a.timer_cancel = &ApiTimerCancel;
    a.request = &ApiRequest;
    a.reply = &ApiReply;
    return a;
  }();
  return api;
}

}  // namespace kordon::host
