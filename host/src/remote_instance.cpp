#include "remote_instance.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <zmq_addon.hpp>

#include "envelope.h"
#include "runner_link.h"
#include "subprocess.h"
#include "topic.h"

extern char** environ;

namespace kordon::host {
namespace {

constexpr char kControlPrefix[] = "$ctl.";
// Messages sent to a runner and not yet acknowledged. Small enough that a heartbeat never
// waits long behind data; large enough that acknowledgements (every few ms) do not limit
// throughput.
constexpr size_t kWindow = 1000;
constexpr int kBatch = 256;
constexpr auto kTick = std::chrono::milliseconds(5);

std::string_view View(const zmq::message_t& m) {
  return std::string_view(static_cast<const char*>(m.data()), m.size());
}


}  // namespace

RemoteInstance::RemoteInstance(
    std::shared_ptr<PluginLibrary> library, InstanceConfig config, Bus& bus, MarkerBoard& markers,
    const HostConfig& host_config, std::string runtime_dir, int index,
    std::function<void(const std::string&, const nlohmann::json&)> announce)
    : library_(std::move(library)),
      config_(std::move(config)),
      bus_(bus),
      markers_(markers),
      host_config_(host_config),
      sv_(host_config.supervision),
      runtime_dir_(std::move(runtime_dir)),
      index_(index),
      announce_(std::move(announce)) {
  const PluginDescription& d = library_->description();
  subscriptions_ = config_.has_subscribe ? config_.subscribe : d.subscribes;
  for (const std::string& s : d.services) service_topics_.push_back("rpc." + s);
  reply_topic_ = "rpc.reply." + config_.name;
  publisher_ = std::make_unique<BusPublisher>(bus_.context(), bus_.config());
}

RemoteInstance::~RemoteInstance() { Destroy(); }

// ---------------------------------------------------------------------------------------------
// Lifecycle (host thread)

Status RemoteInstance::OnSupervisor(std::function<Status()> fn, std::chrono::milliseconds limit) {
  std::optional<Status> result = mailbox_.Call(std::move(fn), limit);
  if (!result)
    return Status::Timeout(fmt::format("the supervisor of '{}' did not answer within {} ms",
                                       config_.name, limit.count()));
  return *result;
}

void RemoteInstance::Launch() {
  std::promise<void> subscribed;
  std::future<void> ready = subscribed.get_future();
  thread_ = std::thread([this, &subscribed] {
    sub_ = std::make_unique<zmq::socket_t>(bus_.context(), zmq::socket_type::sub);
    sub_->set(zmq::sockopt::rcvhwm, static_cast<int>(bus_.config().queue_limit));
    sub_->set(zmq::sockopt::linger, 0);
    sub_->connect(kInprocOut);
    for (const std::string& s : subscriptions_) sub_->set(zmq::sockopt::subscribe, s);
    for (const std::string& s : service_topics_) sub_->set(zmq::sockopt::subscribe, s);
    sub_->set(zmq::sockopt::subscribe, reply_topic_);
    sub_->set(zmq::sockopt::subscribe, kControlPrefix);
    subscribed.set_value();
    Run();
  });
  ready.wait();
}

Status RemoteInstance::Create() {
  auto limit = std::chrono::milliseconds(host_config_.plugin_call_timeout_ms * 2 + 10000);
  return OnSupervisor(
      [this] {
        Status s = StartRunner(false);
        if (s.ok()) {
          phase_ = Phase::kCreated;
          state_ = State::kCreated;
        }
        return s;
      },
      limit);
}

Status RemoteInstance::Start() {
  auto limit = std::chrono::milliseconds(host_config_.plugin_call_timeout_ms + 10000);
  return OnSupervisor(
      [this] {
        // A runner that failed after create is already being restarted (to running).
        if (phase_ == Phase::kRunning || phase_ == Phase::kBackoff) {
          state_ = State::kRunning;
          return Status::Ok();
        }
        if (phase_ != Phase::kCreated) return Status::Internal("start called in the wrong state");
        Status s =
            CallAndWait("start", std::chrono::milliseconds(host_config_.plugin_call_timeout_ms));
        if (!s.ok()) {
          EndChild(false);
          phase_ = Phase::kDown;
          return s;
        }
        phase_ = Phase::kRunning;
        state_ = State::kRunning;
        running_since_ = last_sign_of_life_ = next_heartbeat_ = Clock::now();
        return Status::Ok();
      },
      limit);
}

Status RemoteInstance::Stop() {
  auto limit = std::chrono::milliseconds(host_config_.plugin_call_timeout_ms + 10000);
  return OnSupervisor(
      [this] {
        stopping_ = true;
        Status s;
        if (phase_ == Phase::kRunning) {
          s = CallAndWait("stop", std::chrono::milliseconds(host_config_.plugin_call_timeout_ms));
          if (!s.ok() && pid_ > 0 && s.code() == Status::Code::kTimeout) EndChild(false);
        }
        if (phase_ != Phase::kQuarantined) phase_ = Phase::kStopped;
        state_ = State::kStopped;
        DropQueued("the instance stopped");
        return s;
      },
      limit);
}

void RemoteInstance::Destroy() {
  if (!thread_.joinable()) return;
  auto limit = std::chrono::milliseconds(sv_.stop_timeout_ms * 3 + 10000);
  Status s = OnSupervisor(
      [this] {
        stopping_ = true;
        if (pid_ > 0) {
          Status d = CallAndWait("destroy", std::chrono::milliseconds(sv_.stop_timeout_ms));
          if (!d.ok()) spdlog::warn("[{}] runner: {}", config_.name, d.message());
          EndChild(d.ok());
        }
        DropQueued("the instance was destroyed");
        state_ = State::kDestroyed;
        phase_ = Phase::kDown;
        exit_requested_ = true;
        return Status::Ok();
      },
      limit);
  if (!s.ok()) spdlog::critical("{}", s.message());
  thread_.join();
  publisher_->Close();
}

Status RemoteInstance::SendMarker(const std::string& body, std::chrono::milliseconds timeout) {
  return OnSupervisor(
      [this, body, timeout] {
        // After everything forwarded from the runner so far.
        auto deadline = Clock::now() + timeout;
        while (!ForwardPending()) {
          if (Clock::now() >= deadline)
            return Status::Busy("the bus did not take the runner's messages");
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        Envelope e = NewEnvelope(config_.name);
        return publisher_->Send(std::string(kControlPrefix) + "marker", EncodeEnvelope(e), body,
                                timeout);
      },
      timeout + std::chrono::seconds(5));
}

void RemoteInstance::FlushLogs() {
  drop_log_.Flush(spdlog::level::warn, fmt::format("[{}] messages not delivered", config_.name));
  reject_log_.Flush(spdlog::level::warn,
                    fmt::format("[{}] malformed runner messages", config_.name));
}

std::string RemoteInstance::ExtraStatistics() const {
  const SupervisionStats& v = sv_stats_;
  return fmt::format(
      "runner starts {}, failures {}, restarts {}, heartbeat kills {}, redelivered {}, "
      "not delivered (queue full) {}, not delivered (quarantined) {}, malformed from runner {}, "
      "throttled {}",
      v.starts.load(), v.failures.load(), v.restarts.load(), v.heartbeat_kills.load(),
      v.redelivered.load(), v.dropped_queue_full.load(), v.dropped_quarantined.load(),
      v.forward_rejected.load(), stats_.throttled.load());
}

// ---------------------------------------------------------------------------------------------
// The supervisor thread

void RemoteInstance::Run() {
  while (!exit_requested_) {
    mailbox_.RunPending();
    if (exit_requested_) break;

    const auto now = Clock::now();
    if (phase_ == Phase::kRunning || phase_ == Phase::kCreated) {
      std::string why;
      if (now >= next_heartbeat_) {
        // Sent while created too: a runner that hears nothing from its host exits.
        next_heartbeat_ = now + std::chrono::milliseconds(sv_.heartbeat_ms);
        (void)SendLink({kVerbCtl, fmt::format("{}{}", kHeartbeatPrefix, ++heartbeat_seq_)});
      }
      if (ReapChild(&why)) {
        Fail(why);
      } else if (phase_ == Phase::kRunning) {
        const auto hb = std::chrono::milliseconds(sv_.heartbeat_ms);
        // A heartbeat waits behind the messages in flight on the plugin's actor, so a plugin
        // that is only slow answers late; the messages it finishes meanwhile (acknowledged)
        // prove it is not stuck as well as an answer does.
        if (now - last_sign_of_life_ > hb * sv_.missed_heartbeats) {
          sv_stats_.heartbeat_kills.fetch_add(1, std::memory_order_relaxed);
          EndChild(false);
          Fail(fmt::format("missed {} heartbeats ({} ms each) and finished no message meanwhile: "
                           "the plugin is stuck",
                           sv_.missed_heartbeats, sv_.heartbeat_ms));
        }
        if (consecutive_failures_ > 0 &&
            now - running_since_ >= std::chrono::milliseconds(sv_.healthy_reset_ms)) {
          spdlog::info("[{}] healthy for {} ms: failure count and backoff reset", config_.name,
                       sv_.healthy_reset_ms);
          consecutive_failures_ = 0;
          failure_times_.clear();
        }
      }
    }
    if (phase_ == Phase::kBackoff && now >= restart_at_ && !stopping_) {
      Status s = StartRunner(true);
      if (s.ok()) {
        phase_ = Phase::kRunning;
        running_since_ = last_sign_of_life_ = next_heartbeat_ = Clock::now();
        sv_stats_.restarts.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("[{}] restarted (runner pid {}) after: {}", config_.name, pid_, last_failure_);
        AnnounceStatus("running", "restarted after: " + last_failure_);
      } else {
        Fail("restart failed: " + s.message());
      }
    }

    bool blocked_up = !ForwardPending();
    Pump();

    std::vector<zmq::pollitem_t> items = {{nullptr, mailbox_.fd(), ZMQ_POLLIN, 0},
                                          {sub_->handle(), 0, ZMQ_POLLIN, 0}};
    const bool link_readable = link_ && !blocked_up;
    if (link_readable) items.push_back({link_->handle(), 0, ZMQ_POLLIN, 0});
    auto timeout = (blocked_up || phase_ == Phase::kBackoff) ? std::chrono::milliseconds(1) : kTick;
    if (phase_ == Phase::kRunning && queue_.size() >= static_cast<size_t>(sv_.queue_limit))
      items[1].events = 0;  // lossless backpressure, as for a slow in-process instance
    try {
      zmq::poll(items, timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::critical("[{}] supervisor poll failed: {}", config_.name, e.what());
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) mailbox_.ClearWake();
    if (link_readable && (items[2].revents & ZMQ_POLLIN)) {
      for (int i = 0; i < kBatch && link_ && pending_up_.empty(); ++i) {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(*link_, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
        std::string call, fail;
        nlohmann::json result;
        OnRunnerMessage(frames, &call, &result, &fail);
        if (!call.empty())
          spdlog::warn("[{}] runner answered '{}' that nobody asked for", config_.name, call);
      }
    }
    if (items[1].revents & ZMQ_POLLIN) ReadBus();
  }
  sub_->close();
  CloseLink();
}

bool RemoteInstance::ReadBus() {
  bool any = false;
  for (int i = 0; i < kBatch; ++i) {
    if (phase_ == Phase::kRunning && queue_.size() >= static_cast<size_t>(sv_.queue_limit)) break;
    zmq::message_t topic, envelope, body;
    if (!sub_->recv(topic, zmq::recv_flags::dontwait)) break;
    if (!topic.more() || !sub_->recv(envelope) || !envelope.more() || !sub_->recv(body) ||
        body.more()) {
      while (sub_->get(zmq::sockopt::rcvmore)) {
        zmq::message_t rest;
        (void)sub_->recv(rest);
      }
      spdlog::error("[{}] received a message that is not three frames; dropped (a host bug)",
                    config_.name);
      continue;
    }
    any = true;
    OnBusMessage(Item{false, topic.to_string(), envelope.to_string(), body.to_string()});
  }
  return any;
}

void RemoteInstance::OnBusMessage(Item item) {
  if (std::string_view(item.topic).substr(0, sizeof(kControlPrefix) - 1) == kControlPrefix) {
    // A marker goes through the runner's actor when one runs; otherwise there is nothing it
    // could wait for, and the subscription (ours) is live: it is seen here.
    if (phase_ == Phase::kRunning || phase_ == Phase::kBusy || phase_ == Phase::kCreated) {
      item.control = true;
      queue_.push_back(std::move(item));
    } else {
      markers_.Seen(config_.name, item.body);
    }
    return;
  }
  // ZeroMQ matches raw prefixes; the bus matches whole segments, as PluginInstance::Wants.
  bool wanted = item.topic == reply_topic_;
  for (const std::string& p : subscriptions_) wanted = wanted || TopicMatches(p, item.topic);
  for (const std::string& s : service_topics_) wanted = wanted || item.topic == s;
  if (!wanted) return;
  if (phase_ == Phase::kQuarantined) {
    uint64_t n = sv_stats_.dropped_quarantined.fetch_add(1, std::memory_order_relaxed) + 1;
    drop_log_.Log(spdlog::level::err,
                  fmt::format("[{}] quarantined: a message on '{}' is not delivered ({} so far)",
                              config_.name, item.topic, n));
    return;
  }
  if (phase_ == Phase::kStopped || stopping_) {
    uint64_t n = ++own_dropped_after_stop_;
    stats_.dropped_after_stop.fetch_add(1, std::memory_order_relaxed);
    drop_log_.Log(
        spdlog::level::warn,
        fmt::format(
            "[{}] a message on '{}' arrived after the instance stopped; not delivered ({} so far)",
            config_.name, item.topic, n));
    return;
  }
  if (queue_.size() >= static_cast<size_t>(sv_.queue_limit)) {
    uint64_t n = sv_stats_.dropped_queue_full.fetch_add(1, std::memory_order_relaxed) + 1;
    drop_log_.Log(spdlog::level::err,
                  fmt::format("[{}] restarting and its queue is full (supervision.queue_limit = "
                              "{}): a message on '{}' "
                              "is not delivered ({} so far)",
                              config_.name, sv_.queue_limit, item.topic, n));
    if (Clock::now() - last_drop_alert_ > std::chrono::seconds(5) || n == 1) {
      last_drop_alert_ = Clock::now();
      Alert("critical", fmt::format("plugin instance '{}' is restarting and cannot take more "
                                    "messages: {} not delivered so far",
                                    config_.name, n));
    }
    return;
  }
  queue_.push_back(std::move(item));
}

void RemoteInstance::Pump() {
  if (!link_ || phase_ != Phase::kRunning) return;
  while (!queue_.empty()) {
    Item& item = queue_.front();
    if (item.control) {
      if (!SendLink({kVerbCtl, item.body})) return;
      markers_sent_.insert(item.body);
    } else {
      if (inflight_.size() >= kWindow) return;
      if (!SendLink({kVerbMsg, item.topic, item.envelope, item.body})) return;
      inflight_.push_back(std::move(item));
    }
    queue_.pop_front();
  }
}

bool RemoteInstance::SendLink(std::initializer_list<std::string_view> frames) {
  if (!link_) return false;
  size_t i = 0;
  try {
    for (std::string_view f : frames) {
      const bool last = ++i == frames.size();
      auto flags = (last ? zmq::send_flags::none : zmq::send_flags::sndmore);
      // The first frame decides (a full pipe refuses it); the rest of a message always follows.
      if (i == 1) flags = flags | zmq::send_flags::dontwait;
      if (!link_->send(zmq::const_buffer(f.data(), f.size()), flags)) return false;
    }
  } catch (const zmq::error_t& e) {
    spdlog::error("[{}] cannot send to the runner: {}", config_.name, e.what());
    return false;
  }
  return true;
}

bool RemoteInstance::ForwardPending() {
  while (!pending_up_.empty()) {
    Item& item = pending_up_.front();
    Status s = publisher_->Send(item.topic, item.envelope, item.body, std::chrono::milliseconds(0));
    if (s.code() == Status::Code::kBusy) return false;  // backpressure: the runner waits
    if (s.ok()) {
      stats_.published.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++own_publish_failures_;
      stats_.publish_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("[{}] a message from the runner on '{}' was not forwarded: {}", config_.name,
                    item.topic, s.message());
    }
    pending_up_.pop_front();
  }
  return true;
}

void RemoteInstance::OnRunnerMessage(std::vector<zmq::message_t>& frames, std::string* done_call,
                                     nlohmann::json* done_result, std::string* fail) {
  auto reject = [&](const std::string& why) {
    uint64_t n = sv_stats_.forward_rejected.fetch_add(1, std::memory_order_relaxed) + 1;
    reject_log_.Log(
        spdlog::level::err,
        fmt::format("[{}] runner sent a malformed message ({} so far): {}", config_.name, n, why));
  };
  if (frames.empty()) return reject("empty");
  std::string_view verb = View(frames[0]);
  if (verb == kVerbPub) {
    if (frames.size() != 4) return reject("pub without topic, envelope and body");
    // The runner is our code, but it shares its process with the plugin: what it sends is
    // validated like anything from outside before it enters the internal bus.
    Envelope decoded;
    Status s = ValidateFrames(View(frames[1]), View(frames[2]), View(frames[3]),
                              static_cast<size_t>(bus_.config().max_body_bytes), &decoded);
    if (!s.ok()) return reject(s.message());
    if (decoded.source != config_.name)
      return reject("source '" + decoded.source + "' is not the instance");
    pending_up_.push_back(
        Item{false, frames[1].to_string(), frames[2].to_string(), frames[3].to_string()});
    ForwardPending();
  } else if (verb == kVerbAck) {
    if (frames.size() != 2) return reject("ack without a count");
    uint64_t n = 0;
    try {
      n = std::stoull(frames[1].to_string());
    } catch (const std::exception&) {
      return reject("ack count is not a number");
    }
    if (acked_ < n && !inflight_.empty()) last_sign_of_life_ = Clock::now();
    while (acked_ < n && !inflight_.empty()) {
      inflight_.pop_front();
      ++acked_;
    }
  } else if (verb == kVerbSeen) {
    if (frames.size() != 2) return reject("seen without a token");
    std::string token = frames[1].to_string();
    if (token.rfind(kHeartbeatPrefix, 0) == 0) {
      last_sign_of_life_ = Clock::now();
    } else if (markers_sent_.erase(token) > 0) {
      markers_.Seen(config_.name, token);
    }
  } else if (verb == kVerbStats) {
    if (frames.size() != 2) return reject("stats without a document");
    auto j = nlohmann::json::parse(View(frames[1]), nullptr, false);
    if (!j.is_object()) return reject("stats is not a JSON object");
    MergeRunnerStats(j);
  } else if (verb == kVerbDone) {
    if (frames.size() != 3) return reject("done without call and result");
    auto j = nlohmann::json::parse(View(frames[2]), nullptr, false);
    if (!j.is_object()) return reject("done result is not a JSON object");
    if (j.contains("stats") && j["stats"].is_object()) MergeRunnerStats(j["stats"]);
    *done_call = frames[1].to_string();
    *done_result = std::move(j);
  } else if (verb == kVerbHello) {
    *done_call = "hello";
  } else if (verb == kVerbFail) {
    *fail = frames.size() >= 2 ? frames[1].to_string() : "the runner failed";
  } else {
    reject(fmt::format("unknown verb '{}'", verb));
  }
}

void RemoteInstance::MergeRunnerStats(const nlohmann::json& j) {
  stats_current_ = j;
  auto field = [&](const char* key) -> uint64_t {
    uint64_t v = 0;
    for (const nlohmann::json* part : {&stats_done_, &stats_current_}) {
      auto it = part->find(key);
      if (it != part->end() && it->is_number_unsigned()) v += it->get<uint64_t>();
    }
    return v;
  };
  stats_.received = field("received");
  stats_.handler_errors = field("handler_errors");
  stats_.dropped_before_start = field("dropped_before_start");
  stats_.timers_fired = field("timers_fired");
  stats_.requests = field("requests");
  stats_.request_timeouts = field("request_timeouts");
  stats_.late_replies = field("late_replies");
  stats_.throttled = field("throttled");
  stats_.schema_violations = field("schema_violations");
  // published and publish_failures are counted here, where the bus takes the messages; the
  // runner's own refusals (invalid, throttled, busy) are added.
  runner_publish_failures_ = field("publish_failures");
  runner_dropped_after_stop_ = field("dropped_after_stop");
  stats_.publish_failures = runner_publish_failures_ + own_publish_failures_;
  stats_.dropped_after_stop = runner_dropped_after_stop_ + own_dropped_after_stop_;
}

void RemoteInstance::EndGenerationStats() {
  for (auto& [k, v] : stats_current_.items()) {
    if (!v.is_number_unsigned()) continue;
    uint64_t before = stats_done_.contains(k) && stats_done_[k].is_number_unsigned()
                          ? stats_done_[k].get<uint64_t>()
                          : 0;
    stats_done_[k] = before + v.get<uint64_t>();
  }
  stats_current_ = nlohmann::json::object();
}

// ---------------------------------------------------------------------------------------------
// Starting, calling and ending runners (supervisor thread)

Status RemoteInstance::StartRunner(bool to_running) {
  Phase before = phase_;
  phase_ = Phase::kBusy;
  ++generation_;
  endpoint_ = fmt::format("ipc://{}/{}.{}", runtime_dir_, index_, generation_);
  auto fail = [&](Status s) {
    EndChild(false);
    phase_ = before;
    return s;
  };
  try {
    link_ = std::make_unique<zmq::socket_t>(bus_.context(), zmq::socket_type::pair);
    link_->set(zmq::sockopt::linger, 0);
    link_->set(zmq::sockopt::sndhwm, static_cast<int>(kWindow * 4));
    link_->set(zmq::sockopt::rcvhwm, static_cast<int>(bus_.config().queue_limit));
    link_->bind(endpoint_);
  } catch (const zmq::error_t& e) {
    link_.reset();
    phase_ = before;
    return Status::Io(fmt::format("cannot bind the runner link '{}': {}", endpoint_, e.what()));
  }
  acked_ = 0;
  const std::string runner = RunnerPath(sv_);
  std::string pid_text = std::to_string(getpid());
  std::vector<std::string> args = {runner,   "--connect",  endpoint_,   "--host-pid",
                                   pid_text, "--instance", config_.name};
  Result<pid_t> pid = Spawn(args);
  if (!pid.ok()) {
    CloseLink();
    phase_ = before;
    return Status::Io(fmt::format("instance '{}': {} (set supervision.runner in [host])",
                                  config_.name, pid.status().message()));
  }
  pid_ = pid.value();
  sv_stats_.starts.fetch_add(1, std::memory_order_relaxed);
  const auto call_limit = std::chrono::milliseconds(host_config_.plugin_call_timeout_ms);
  if (Status s = AwaitRunner("", Clock::now() + std::chrono::seconds(10)); !s.ok()) return fail(s);
  RunnerInit init;
  init.library = library_->path();
  init.library_blake2b = library_->signed_hash();
  init.instance = config_;
  init.bus = bus_.config();
  init.call_timeout_ms = host_config_.plugin_call_timeout_ms;
  init.heartbeat_ms = sv_.heartbeat_ms;
  init.missed_heartbeats = sv_.missed_heartbeats;
  init.log_level = spdlog::level::to_string_view(spdlog::get_level()).data();
  init.validate_schemas = host_config_.validate_schemas;
  if (init.validate_schemas != SchemaCheck::kOff) init.schema_dir = SchemaDirectory(host_config_);
  (void)SendLink({kVerbInit, EncodeRunnerInit(init).dump()});
  if (Status s = CallAndWait("create", call_limit); !s.ok()) return fail(s);
  phase_ = Phase::kCreated;
  if (to_running) {
    phase_ = Phase::kBusy;
    if (Status s = CallAndWait("start", call_limit); !s.ok()) return fail(s);
  }
  spdlog::info("[{}] runner pid {} ({}) {}", config_.name, pid_, endpoint_,
               to_running ? "running" : "created");
  return Status::Ok();
}

Status RemoteInstance::CallAndWait(const std::string& call, std::chrono::milliseconds limit) {
  if (!SendLink({kVerbCall, call}))
    return Status::Internal(
        fmt::format("cannot send '{}' to the runner of '{}'", call, config_.name));
  return AwaitRunner(call, Clock::now() + limit);
}

Status RemoteInstance::AwaitRunner(const std::string& call, Clock::time_point deadline) {
  const std::string expected = call.empty() ? "hello" : call;
  for (;;) {
    std::string why;
    if (ReapChild(&why))
      return Status::Internal(fmt::format("the runner of '{}' {} while waiting for its '{}'",
                                          config_.name, why, expected));
    if (Clock::now() >= deadline)
      return Status::Timeout(
          fmt::format("the runner of '{}' did not answer '{}' in time: it is "
                      "stuck",
                      config_.name, expected));
    const bool blocked_up = !ForwardPending();
    zmq::pollitem_t items[] = {{sub_->handle(), 0, ZMQ_POLLIN, 0},
                               {link_->handle(), 0, blocked_up ? short{0} : short{ZMQ_POLLIN}, 0}};
    zmq::poll(items, 2, blocked_up ? std::chrono::milliseconds(1) : kTick);
    if (items[0].revents & ZMQ_POLLIN) ReadBus();
    if (!(items[1].revents & ZMQ_POLLIN)) continue;
    for (int i = 0; i < kBatch && pending_up_.empty(); ++i) {
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(*link_, std::back_inserter(frames), zmq::recv_flags::dontwait))
        break;
      std::string done, fail;
      nlohmann::json result;
      OnRunnerMessage(frames, &done, &result, &fail);
      if (!fail.empty())
        return Status::InvalidArgument(
            fmt::format("plugin instance '{}' (isolated): {}", config_.name, fail));
      if (done.empty()) continue;
      if (done != expected) {
        spdlog::warn("[{}] runner answered '{}' while '{}' was awaited", config_.name, done,
                     expected);
        continue;
      }
      if (call.empty() || result.value("ok", false)) return Status::Ok();
      return Status::InvalidArgument(result.value("message", call + " failed"));
    }
  }
}

bool RemoteInstance::ReapChild(std::string* why) {
  if (pid_ <= 0) {
    *why = "is not running";
    return true;
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  if (r < 0) {
    *why = fmt::format("could not be waited for ({})", std::strerror(errno));
  } else if (WIFSIGNALED(status)) {
    *why =
        fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else {
    *why = fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  pid_ = -1;
  return true;
}

void RemoteInstance::EndChild(bool gently) {
  if (pid_ > 0) {
    std::string why;
    const auto step = std::chrono::milliseconds(sv_.stop_timeout_ms);
    auto wait_exit = [&](std::chrono::milliseconds limit) {
      auto deadline = Clock::now() + limit;
      while (Clock::now() < deadline) {
        if (ReapChild(&why)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return ReapChild(&why);
    };
    bool gone = gently && wait_exit(step);
    if (!gone && gently) {
      spdlog::warn("[{}] runner pid {} did not exit within {} ms: SIGTERM", config_.name, pid_,
                   step.count());
      kill(pid_, SIGTERM);
      gone = wait_exit(step);
    }
    if (!gone) {
      if (gently) spdlog::warn("[{}] runner pid {} ignored SIGTERM: SIGKILL", config_.name, pid_);
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  CloseLink();
}

void RemoteInstance::CloseLink() {
  if (!link_) return;
  link_->close();
  link_.reset();
  std::error_code ec;
  std::filesystem::remove(endpoint_.substr(6), ec);  // "ipc://"
}

void RemoteInstance::Fail(const std::string& why) {
  EndChild(false);
  last_failure_ = why;
  EndGenerationStats();
  // What it had not acknowledged goes first next time. The message it was handling may be
  // delivered twice (at least once); a message that kills it every time ends in quarantine.
  if (!inflight_.empty()) {
    sv_stats_.redelivered.fetch_add(inflight_.size(), std::memory_order_relaxed);
    queue_.insert(queue_.begin(), std::make_move_iterator(inflight_.begin()),
                  std::make_move_iterator(inflight_.end()));
    inflight_.clear();
  }
  // Markers it will never answer: nothing more of it can be waited for.
  for (const std::string& token : markers_sent_) markers_.Seen(config_.name, token);
  markers_sent_.clear();
  sv_stats_.failures.fetch_add(1, std::memory_order_relaxed);
  const auto now = Clock::now();
  failure_times_.push_back(now);
  while (!failure_times_.empty() &&
         now - failure_times_.front() > std::chrono::milliseconds(sv_.quarantine_window_ms))
    failure_times_.pop_front();
  ++consecutive_failures_;
  if (stopping_) {
    phase_ = Phase::kStopped;
    spdlog::error("[{}] runner failed while stopping: {}", config_.name, why);
    return;
  }
  if (static_cast<int64_t>(failure_times_.size()) >= sv_.quarantine_failures) {
    Quarantine(fmt::format("{} failures within {} ms; last: {}", failure_times_.size(),
                           sv_.quarantine_window_ms, why));
    return;
  }
  // 100 ms doubling to the cap, +-20 % jitter so that instances failing together (a shared
  // device, a shared library) do not restart in lockstep.
  double delay = static_cast<double>(sv_.backoff_initial_ms);
  for (int i = 1; i < consecutive_failures_ && delay < static_cast<double>(sv_.backoff_max_ms); ++i)
    delay *= 2;
  delay = std::min(delay, static_cast<double>(sv_.backoff_max_ms));
  delay *= std::uniform_real_distribution<double>(0.8, 1.2)(rng_);
  restart_at_ = now + std::chrono::milliseconds(static_cast<int64_t>(delay));
  phase_ = Phase::kBackoff;
  spdlog::error(
      "[{}] isolated instance failed ({}); restart in {} ms (failure {} of {} allowed "
      "within {} ms); {} message(s) wait",
      config_.name, why, static_cast<int64_t>(delay), failure_times_.size(),
      sv_.quarantine_failures - 1, sv_.quarantine_window_ms, queue_.size());
  AnnounceStatus("restarting", why);
}

void RemoteInstance::Quarantine(const std::string& why) {
  phase_ = Phase::kQuarantined;
  spdlog::critical("[{}] quarantined: {}; it is not restarted until the host restarts",
                   config_.name, why);
  DropQueued("the instance is quarantined");
  Alert("critical", fmt::format("plugin instance '{}' is quarantined: {}", config_.name, why));
  AnnounceStatus("quarantined", why);
}

void RemoteInstance::DropQueued(const char* why) {
  size_t n = 0;
  for (Item& item : queue_) {
    if (item.control) {
      markers_.Seen(config_.name, item.body);
      continue;
    }
    ++n;
  }
  queue_.clear();
  n += inflight_.size();
  inflight_.clear();
  for (const std::string& token : markers_sent_) markers_.Seen(config_.name, token);
  markers_sent_.clear();
  if (n == 0) return;
  if (phase_ == Phase::kQuarantined)
    sv_stats_.dropped_quarantined.fetch_add(n, std::memory_order_relaxed);
  else {
    own_dropped_after_stop_ += n;
    stats_.dropped_after_stop.fetch_add(n, std::memory_order_relaxed);
  }
  spdlog::warn("[{}] {}: {} waiting message(s) not delivered", config_.name, why, n);
}

void RemoteInstance::Alert(const std::string& severity, const std::string& reason) {
  announce_("alert.raised",
            nlohmann::json{{"source", config_.name}, {"severity", severity}, {"reason", reason}});
}

void RemoteInstance::AnnounceStatus(const std::string& state, const std::string& reason) {
  announce_("plugin.status",
            nlohmann::json{{"instance", config_.name},
                           {"state", state},
                           {"reason", reason},
                           {"isolation", "process"},
                           {"failures", sv_stats_.failures.load()},
                           {"restarts", sv_stats_.restarts.load()},
                           {"queued", queue_.size() + inflight_.size()},
                           {"not_delivered", sv_stats_.dropped_queue_full.load() +
                                                 sv_stats_.dropped_quarantined.load()},
                           {"throttled", stats_.throttled.load()}});
}

}  // namespace kordon::host
