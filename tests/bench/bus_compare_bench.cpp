// bus_compare_bench: the host's bus over TCP beside what a site would pick instead, measured in
// the same run with the same clients, message count and body size (see README.md here):
//
//   kordon      PUSH --> kordon-host bus.ingress --> broker --> bus.egress (XPUB) --> SUB x N
//   raw libzmq  PUSH --> PULL [forwarding loop, own context] XPUB --> SUB x N   (no Kordon)
//   mosquitto   libmosquitto publisher --> /usr/sbin/mosquitto (child) --> subscriber x N
//
// For each body size (100 B, 4 KiB) and subscriber count (1, 4): messages per second (the
// time from the first send until every subscriber has every message; --repeat runs of each
// path in turn, the median) and p50/p99/p99.9 latency of a separate run paced at --paced-rate,
// or at a quarter of the slowest path's throughput when that is lower (each body carries its
// steady_clock send time; every process of the machine shares that clock). The kordon-host
// is a child process started from this build with a config written here (loopback ports
// chosen by the host, no plugins); the Mosquitto broker is a child started on a free loopback
// port with a config written here (no persistence, queues far larger than a run, QoS 0 so
// that a drop shows as a message that did not arrive: every subscriber counts what it
// received).
//
// Drops: for Kordon, what did not arrive minus what the host counted as egress overflow (its
// exit log) is the *silent* drop count, which must be 0 (exit 1). The raw proxy blocks instead
// of dropping (XPUB_NODROP), so anything missing there is a silent drop too; Mosquitto's QoS 0
// losses are printed beside it.
//
// Thread safety: single-threaded main; each subscriber runs on its own thread and publishes
// its counts through atomics.
//
// Exit status: 0; 1 when a run failed or Kordon or the raw proxy lost a message silently;
// 2 on a usage error.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bench_row.h"
#include "bench_stats.h"
#include "envelope.h"
#include "host_harness.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::bench::Median;
using kordon::bench::NowNs;
using kordon::bench::Percentile;
using namespace std::chrono_literals;
using namespace kordon::testing;

constexpr char kTopic[] = "bench.tcp";
constexpr char kSyncTopic[] = "client.sync";
constexpr char kMqttTopic[] = "bench/tcp";
constexpr char kMqttSync[] = "bench/sync";
constexpr int kQueueLimit = 10000;  // the host's default bus.queue_limit, used by every path
constexpr auto kStallLimit = 3s;    // no progress for this long: what is missing is lost

struct Options {
  uint64_t messages = 50000;
  int repeat = 2;
  double paced_seconds = 1.0;
  uint64_t paced_rate = 10000;
  std::vector<size_t> sizes = {100, 4096};
  std::vector<int> subscribers = {1, 4};
  std::string mosquitto = "/usr/sbin/mosquitto";
};

// A JSON object of exactly `size` bytes (>= 64) carrying the send time and sequence number.
void MakeBody(std::string* out, size_t size, int64_t t_ns, uint64_t seq) {
  out->resize(size);
  char* p = out->data();
  int head = std::snprintf(p, size, R"({"t":%lld,"seq":%llu,"pad":")",
                           static_cast<long long>(t_ns), static_cast<unsigned long long>(seq));
  std::memset(p + head, 'x', size - 2 - static_cast<size_t>(head));
  p[size - 2] = '"';
  p[size - 1] = '}';
}

int64_t BodyTime(const char* body, size_t size) {
  constexpr std::string_view kHead = R"({"t":)";
  if (size < kHead.size() || std::string_view(body, kHead.size()) != kHead) return -1;
  int64_t t = -1;
  std::from_chars(body + kHead.size(), body + size, t);
  return t;
}

// One subscriber's tally. OnMessage runs on the subscriber's thread only.
class Collector {
 public:
  Collector(uint64_t expected, bool record) : record_(record) {
    if (record_) latencies_.resize(expected, -1);
  }
  void OnMessage(const char* body, size_t size) {
    const int64_t now = NowNs();
    const uint64_t n = received_.load(std::memory_order_relaxed);
    if (record_ && n < latencies_.size()) {
      const int64_t sent = BodyTime(body, size);
      latencies_[n] = sent >= 0 ? now - sent : -1;
    }
    last_ns_.store(now, std::memory_order_relaxed);
    received_.store(n + 1, std::memory_order_release);
  }
  void OnSync() { synced_.store(true, std::memory_order_release); }
  bool synced() const { return synced_.load(std::memory_order_acquire); }
  uint64_t received() const { return received_.load(std::memory_order_acquire); }
  int64_t last_ns() const { return last_ns_.load(std::memory_order_relaxed); }
  // REQUIRES: the subscriber's thread has stopped.
  void AppendLatencies(std::vector<int64_t>* out) const {
    const uint64_t n = std::min<uint64_t>(received(), latencies_.size());
    for (uint64_t i = 0; i < n; ++i)
      if (latencies_[i] >= 0) out->push_back(latencies_[i]);
  }

 private:
  const bool record_;
  std::vector<int64_t> latencies_;
  std::atomic<uint64_t> received_{0};
  std::atomic<int64_t> last_ns_{0};
  std::atomic<bool> synced_{false};
};

struct Load {
  uint64_t count = 0;
  uint64_t rate = 0;  // 0: as fast as the path takes them
  size_t body_bytes = 100;
  int subscribers = 1;
};

// What one run measured.
struct Run {
  bool ok = true;
  std::string error;
  uint64_t sent = 0;
  uint64_t expected = 0;  // sent x subscribers
  uint64_t received = 0;  // over every subscriber
  double seconds = 0;
  double msgs_per_s = 0;  // messages published and delivered to every subscriber, per second
  std::vector<int64_t> latencies_ns;
};

// Sends load.count bodies through `send`, paced when asked; returns the first send's time.
template <typename SendFn>
int64_t Drive(const Load& load, uint64_t* sent, SendFn&& send) {
  std::string body;
  const auto start = Clock::now();
  const int64_t start_ns = NowNs();
  const double period_ns = load.rate > 0 ? 1e9 / static_cast<double>(load.rate) : 0;
  for (uint64_t i = 0; i < load.count; ++i) {
    if (load.rate > 0)
      std::this_thread::sleep_until(
          start + std::chrono::nanoseconds(
                      static_cast<int64_t>(period_ns * static_cast<double>(i))));
    MakeBody(&body, load.body_bytes, NowNs(), i);
    if (!send(i, body)) break;
    ++*sent;
  }
  return start_ns;
}

// Waits until every collector has `target` messages or nothing arrived for kStallLimit.
void WaitFor(const std::vector<std::unique_ptr<Collector>>& cs, uint64_t target) {
  uint64_t last = 0;
  auto last_progress = Clock::now();
  for (;;) {
    uint64_t total = 0;
    bool all = true;
    for (const auto& c : cs) {
      total += c->received();
      all = all && c->received() >= target;
    }
    if (all) return;
    if (total != last) {
      last = total;
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > kStallLimit) {
      return;
    }
    std::this_thread::sleep_for(1ms);
  }
}

void Finish(Run& r, const std::vector<std::unique_ptr<Collector>>& cs, int64_t start_ns,
            bool record) {
  int64_t last = start_ns;
  r.expected = r.sent * cs.size();
  for (const auto& c : cs) {
    r.received += c->received();
    last = std::max(last, c->last_ns());
    if (record) c->AppendLatencies(&r.latencies_ns);
  }
  r.seconds = static_cast<double>(last - start_ns) / 1e9;
  r.msgs_per_s = r.seconds > 0 && r.received == r.expected
                     ? static_cast<double>(r.sent) / r.seconds
                     : (r.seconds > 0 ? static_cast<double>(r.received) /
                                            static_cast<double>(cs.size()) / r.seconds
                                      : 0);
}

// ---------------------------------------------------------------------------------------------
// ZeroMQ clients, the same for Kordon and the raw proxy: PUSH into `ingress`, SUB x N on
// `egress`, three frames per message (topic, a Kordon envelope, the body).

Run RunZmq(const std::string& ingress, const std::string& egress, const Load& load, bool record) {
  Run r;
  zmq::context_t context(1);
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::atomic<int> connected{0};
  for (int i = 0; i < load.subscribers; ++i) {
    collectors.push_back(std::make_unique<Collector>(load.count, record));
    Collector* c = collectors.back().get();
    threads.emplace_back([&, c] {
      zmq::socket_t sub(context, zmq::socket_type::sub);
      sub.set(zmq::sockopt::rcvhwm, kQueueLimit);
      sub.set(zmq::sockopt::rcvtimeo, 50);
      sub.set(zmq::sockopt::linger, 0);
      sub.connect(egress);
      sub.set(zmq::sockopt::subscribe, kTopic);
      sub.set(zmq::sockopt::subscribe, kSyncTopic);
      ++connected;
      zmq::message_t topic, env, body;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!sub.recv(topic)) continue;
        (void)sub.recv(env);
        (void)sub.recv(body);
        if (topic.to_string_view() == kSyncTopic) {
          c->OnSync();
          continue;
        }
        c->OnMessage(static_cast<const char*>(body.data()), body.size());
      }
    });
  }
  while (connected.load() < load.subscribers) std::this_thread::sleep_for(1ms);

  kordon::host::Envelope e;
  e.id = kordon::host::NewMessageId();
  e.time_us = kordon::host::NowMicros();
  e.source = "bench-pub";
  std::string envelope = kordon::host::EncodeEnvelope(e);
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::sndhwm, kQueueLimit);
  push.set(zmq::sockopt::sndtimeo, 2000);
  push.set(zmq::sockopt::linger, 0);
  push.connect(ingress);
  // Each message gets its own id (bytes 16..23 of the envelope: the sequence, never all zero).
  auto send = [&](std::string_view topic, uint64_t seq, std::string_view body) {
    const uint64_t id = seq + 1;
    std::memcpy(envelope.data() + 16, &id, sizeof id);
    if (!push.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore))
      return false;
    push.send(zmq::const_buffer(envelope.data(), envelope.size()), zmq::send_flags::sndmore);
    push.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
    return true;
  };
  // Slow joiner: probe until every subscriber has seen one.
  const auto deadline = Clock::now() + 10s;
  for (uint64_t probe = 1u << 30;; ++probe) {
    bool all = std::all_of(collectors.begin(), collectors.end(),
                           [](const auto& c) { return c->synced(); });
    if (all) break;
    if (Clock::now() > deadline) {
      r.ok = false;
      r.error = "no probe came through within 10 s";
      break;
    }
    (void)send(kSyncTopic, probe, R"({"probe":true})");
    std::this_thread::sleep_for(2ms);
  }
  int64_t start_ns = NowNs();
  if (r.ok) {
    start_ns = Drive(load, &r.sent, [&](uint64_t seq, const std::string& body) {
      return send(kTopic, seq, body);
    });
    if (r.sent < load.count) {
      r.ok = false;
      r.error = fmt::format("the PUSH socket refused message {} for 2 s", r.sent);
    }
    WaitFor(collectors, r.sent);
  }
  stop = true;
  for (auto& t : threads) t.join();
  Finish(r, collectors, start_ns, record);
  return r;
}

// The raw baseline's proxy: PULL in, XPUB out (nodrop, blocking: backpressure, like the host's
// in-process bus), on its own thread and its own context, as the host's broker has its own
// process. Subscription messages arriving on the XPUB are read and discarded.
class RawProxy {
 public:
  RawProxy() : context_(1), pull_(context_, zmq::socket_type::pull),
               xpub_(context_, zmq::socket_type::xpub) {
    pull_.set(zmq::sockopt::rcvhwm, kQueueLimit);
    pull_.set(zmq::sockopt::linger, 0);
    pull_.bind("tcp://127.0.0.1:*");
    xpub_.set(zmq::sockopt::sndhwm, kQueueLimit);
    xpub_.set(zmq::sockopt::xpub_nodrop, 1);
    xpub_.set(zmq::sockopt::sndtimeo, 2000);
    xpub_.set(zmq::sockopt::linger, 0);
    xpub_.bind("tcp://127.0.0.1:*");
    ingress_ = pull_.get(zmq::sockopt::last_endpoint);
    egress_ = xpub_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~RawProxy() {
    stop_ = true;
    thread_.join();
  }
  const std::string& ingress() const { return ingress_; }
  const std::string& egress() const { return egress_; }
  uint64_t send_failures() const { return send_failures_.load(); }

 private:
  void Loop() {
    zmq::pollitem_t items[] = {{pull_.handle(), 0, ZMQ_POLLIN, 0},
                               {xpub_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::message_t frame;
    while (!stop_.load(std::memory_order_relaxed)) {
      zmq::poll(items, 2, 50ms);
      if (items[1].revents & ZMQ_POLLIN)
        while (xpub_.recv(frame, zmq::recv_flags::dontwait)) {
        }
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      // Forward whatever is queued, a whole message at a time, without polling between.
      while (pull_.recv(frame, zmq::recv_flags::dontwait)) {
        for (;;) {
          const bool more = frame.more();
          if (!xpub_.send(frame, more ? zmq::send_flags::sndmore : zmq::send_flags::none))
            ++send_failures_;
          if (!more) break;
          (void)pull_.recv(frame);
        }
      }
    }
  }

  zmq::context_t context_;
  zmq::socket_t pull_, xpub_;
  std::string ingress_, egress_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> send_failures_{0};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Mosquitto: the Debian broker as a child process on a free loopback port; libmosquitto
// clients with their own network threads (mosquitto_loop_start).

uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

class Broker {
 public:
  Broker(const TempDir& dir, const std::string& program, std::string* why) {
    port_ = FreeLoopbackPort();
    const std::string conf = dir.File("mosquitto.conf");
    // No persistence; queues far beyond a run so that the broker's limits are not the figure;
    // QoS 0 messages are queued for connected subscribers too, up to the same limits.
    WriteFile(conf, fmt::format("listener {} 127.0.0.1\nallow_anonymous true\n"
                                "persistence false\nmax_queued_messages 10000000\n"
                                "max_queued_bytes 0\nmax_inflight_messages 0\n"
                                "set_tcp_nodelay true\nlog_dest stderr\nlog_type error\n"
                                "log_type warning\n",
                                port_));
    std::string error;
    child_ = ChildProcess::Spawn({program, "-c", conf}, dir.File("mosquitto.out"),
                                 dir.File("mosquitto.err"), &error);
    if (!child_) {
      *why = "cannot start " + program + ": " + error;
      return;
    }
    // Ready once it accepts a connection.
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline && child_->running()) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port_);
      const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (up) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
    *why = "mosquitto did not listen on port " + std::to_string(port_) + ": " +
           child_->ReadStderr();
  }
  ~Broker() {
    if (child_) {
      child_->Signal(SIGTERM);
      if (!child_->WaitFor(3s)) child_->Kill();
    }
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  bool ready_ = false;
  std::unique_ptr<ChildProcess> child_;
};

void OnMqttMessage(mosquitto*, void* obj, const mosquitto_message* m) {
  auto* c = static_cast<Collector*>(obj);
  if (std::strcmp(m->topic, kMqttSync) == 0)
    c->OnSync();
  else
    c->OnMessage(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
}

struct MqttClient {
  mosquitto* m = nullptr;
  ~MqttClient() {
    if (m != nullptr) {
      mosquitto_disconnect(m);
      mosquitto_loop_stop(m, false);
      mosquitto_destroy(m);
    }
  }
};

bool ConnectMqtt(MqttClient* c, const std::string& id, void* obj, uint16_t port,
                 std::string* why) {
  c->m = mosquitto_new(id.c_str(), true, obj);
  if (c->m == nullptr) {
    *why = "mosquitto_new failed";
    return false;
  }
  mosquitto_int_option(c->m, MOSQ_OPT_TCP_NODELAY, 1);
  int rc = mosquitto_connect(c->m, "127.0.0.1", port, 60);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(c->m);
  if (rc != MOSQ_ERR_SUCCESS) {
    *why = std::string("mosquitto client: ") + mosquitto_strerror(rc);
    return false;
  }
  return true;
}

Run RunMqtt(uint16_t port, const Load& load, bool record) {
  Run r;
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<std::unique_ptr<MqttClient>> subs;
  std::string why;
  for (int i = 0; i < load.subscribers && r.ok; ++i) {
    collectors.push_back(std::make_unique<Collector>(load.count, record));
    subs.push_back(std::make_unique<MqttClient>());
    if (!ConnectMqtt(subs.back().get(), fmt::format("bench-sub-{}", i), collectors.back().get(),
                     port, &why)) {
      r.ok = false;
      r.error = why;
      break;
    }
    mosquitto_message_callback_set(subs.back()->m, OnMqttMessage);
    if (mosquitto_subscribe(subs.back()->m, nullptr, kMqttTopic, 0) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(subs.back()->m, nullptr, kMqttSync, 0) != MOSQ_ERR_SUCCESS) {
      r.ok = false;
      r.error = "mosquitto_subscribe failed";
    }
  }
  MqttClient pub;
  if (r.ok && !ConnectMqtt(&pub, "bench-pub", nullptr, port, &why)) {
    r.ok = false;
    r.error = why;
  }
  const auto deadline = Clock::now() + 10s;
  while (r.ok && !std::all_of(collectors.begin(), collectors.end(),
                              [](const auto& c) { return c->synced(); })) {
    if (Clock::now() > deadline) {
      r.ok = false;
      r.error = "no probe came through mosquitto within 10 s";
      break;
    }
    (void)mosquitto_publish(pub.m, nullptr, kMqttSync, 2, "{}", 0, false);
    std::this_thread::sleep_for(2ms);
  }
  int64_t start_ns = NowNs();
  if (r.ok) {
    start_ns = Drive(load, &r.sent, [&](uint64_t, const std::string& body) {
      return mosquitto_publish(pub.m, nullptr, kMqttTopic, static_cast<int>(body.size()),
                               body.data(), 0, false) == MOSQ_ERR_SUCCESS;
    });
    if (r.sent < load.count) {
      r.ok = false;
      r.error = fmt::format("mosquitto_publish refused message {}", r.sent);
    }
    WaitFor(collectors, r.sent);
  }
  subs.clear();  // stops their threads before the collectors are read
  Finish(r, collectors, start_ns, record);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Figures

struct Side {
  std::vector<Run> throughput;
  Run paced;
  double msgs_per_s = 0, p50 = 0, p99 = 0, p999 = 0;
  uint64_t expected = 0, received = 0, counted = 0;
  uint64_t missing() const { return expected > received ? expected - received : 0; }
  uint64_t silent() const { return missing() > counted ? missing() - counted : 0; }
  std::vector<std::string> errors;

  void Summarize() {
    std::vector<double> rates;
    for (const Run& r : throughput) rates.push_back(r.msgs_per_s);
    msgs_per_s = Median(rates);
    p50 = Percentile(paced.latencies_ns, 0.50) / 1e3;
    p99 = Percentile(paced.latencies_ns, 0.99) / 1e3;
    p999 = Percentile(paced.latencies_ns, 0.999) / 1e3;
    std::vector<const Run*> all{&paced};
    for (const Run& r : throughput) all.push_back(&r);
    for (const Run* r : all) {
      expected += r->expected;
      received += r->received;
      if (!r->ok) errors.push_back(r->error);
    }
  }
};

bool ParseList(const char* text, std::vector<size_t>* out) {
  out->clear();
  std::string_view s = text;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    size_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || p != item.data() + item.size() || v == 0) return false;
    out->push_back(v);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return !out->empty();
}

constexpr char kUsage[] =
    "usage: bus_compare_bench [--messages N] [--repeat N] [--paced-rate N] [--paced-seconds S]\n"
    "                         [--sizes 100,4096] [--subscribers 1,4] [--mosquitto PATH]\n";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    std::vector<size_t> list;
    if (v == nullptr) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    ++i;
    if (a == "--messages") {
      o.messages = std::strtoull(v, nullptr, 10);
    } else if (a == "--repeat") {
      o.repeat = std::atoi(v);
    } else if (a == "--paced-rate") {
      o.paced_rate = std::strtoull(v, nullptr, 10);
    } else if (a == "--paced-seconds") {
      o.paced_seconds = std::atof(v);
    } else if (a == "--sizes" && ParseList(v, &list)) {
      o.sizes = list;
    } else if (a == "--subscribers" && ParseList(v, &list)) {
      o.subscribers.assign(list.begin(), list.end());
    } else if (a == "--mosquitto") {
      o.mosquitto = v;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (o.messages < 1 || o.repeat < 1 || o.paced_rate < 1 || o.paced_seconds < 0 ||
      std::any_of(o.sizes.begin(), o.sizes.end(), [](size_t s) { return s < 64; })) {
    std::fprintf(stderr, "bus_compare_bench: --messages, --repeat, --paced-rate >= 1; "
                         "--sizes >= 64\n%s", kUsage);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  mosquitto_lib_init();
  TempDir dir;
  std::string why;
  Broker broker(dir, o.mosquitto, &why);
  if (!broker.ready()) {
    std::fprintf(stderr, "bus_compare_bench: %s\n", why.c_str());
    return 1;
  }
  std::printf("bus_compare_bench: over TCP loopback, %llu messages per run, median of %d; "
              "latency at up to %llu msg/s for %.1f s; msg/s = messages delivered to every "
              "subscriber per second\n",
              static_cast<unsigned long long>(o.messages), o.repeat,
              static_cast<unsigned long long>(o.paced_rate), o.paced_seconds);
  std::printf("%-28s %10s %9s %9s %9s %10s %8s\n", "", "msg/s", "p50 us", "p99 us", "p99.9 us",
              "not recvd", "silent");
  bool failed = false;
  for (size_t size : o.sizes) {
    for (int subs : o.subscribers) {
      const Load load{o.messages, 0, size, subs};
      Side kordon, raw, mqtt;
      // A fresh host for each case: its exit log counts what egress could not deliver.
      TempDir host_dir;
      auto host = std::make_unique<HostProcess>(host_dir, HostSection(host_dir));
      if (!host->WaitReady(15s, &why)) {
        std::fprintf(stderr, "bus_compare_bench: kordon-host did not start: %s\n", why.c_str());
        return 1;
      }
      const ReadyInfo ready = host->ready();
      auto proxy = std::make_unique<RawProxy>();
      auto run_kordon = [&](const Load& l, bool rec) {
        return RunZmq(ready.ingress, ready.egress, l, rec);
      };
      auto run_raw = [&](const Load& l, bool rec) {
        return RunZmq(proxy->ingress(), proxy->egress(), l, rec);
      };
      auto run_mqtt = [&](const Load& l, bool rec) { return RunMqtt(broker.port(), l, rec); };
      // Throughput, the three paths in turn so that a busy spell of the machine is shared.
      for (int i = 0; i < o.repeat; ++i) {
        kordon.throughput.push_back(run_kordon(load, false));
        raw.throughput.push_back(run_raw(load, false));
        mqtt.throughput.push_back(run_mqtt(load, false));
      }
      // Latency at a pace every path sustains (a quarter of the slowest path's throughput at
      // most), so that it measures the path and not a queue.
      double slowest = 1e12;
      for (const Side* side : {&kordon, &raw, &mqtt}) {
        std::vector<double> rates;
        for (const Run& r : side->throughput) rates.push_back(r.msgs_per_s);
        slowest = std::min(slowest, Median(rates));
      }
      const uint64_t rate = std::clamp<uint64_t>(static_cast<uint64_t>(slowest / 4), 100,
                                                 o.paced_rate);
      if (o.paced_seconds > 0) {
        Load paced = load;
        paced.rate = rate;
        paced.count = std::max<uint64_t>(
            1, static_cast<uint64_t>(o.paced_seconds * static_cast<double>(rate)));
        kordon.paced = run_kordon(paced, true);
        raw.paced = run_raw(paced, true);
        mqtt.paced = run_mqtt(paced, true);
      }
      if (proxy->send_failures() > 0)
        raw.errors.push_back(fmt::format("the proxy failed {} sends", proxy->send_failures()));
      proxy.reset();
      host->StopWith(SIGTERM, 15s);
      const std::optional<BusStatsLine> stats = ParseBusStats(host->Log());
      if (!stats) {
        kordon.errors.push_back("no bus statistics in the host's exit log");
      } else {
        kordon.counted = stats->egress_overflow * static_cast<uint64_t>(subs);
        if (stats->external_rejected > 0)
          kordon.errors.push_back(fmt::format("the host rejected {} frames",
                                              stats->external_rejected));
      }
      kordon.Summarize();
      raw.Summarize();
      mqtt.Summarize();
      // Mosquitto's QoS 0 losses are its own behaviour: printed, not a failure here.
      failed = failed || !kordon.errors.empty() || !raw.errors.empty() || kordon.silent() > 0 ||
               raw.silent() > 0;
      const std::string what = fmt::format("{} B, {} sub{}", size, subs, subs > 1 ? "s" : "");
      auto line = [&](const char* name, const Side& s) {
        std::printf("%-28s %10.0f %9.1f %9.1f %9.1f %10llu %8llu\n",
                    fmt::format("{} {}", name, what).c_str(), s.msgs_per_s, s.p50, s.p99,
                    s.p999, static_cast<unsigned long long>(s.missing()),
                    static_cast<unsigned long long>(s.silent()));
        for (const std::string& e : s.errors)
          std::fprintf(stderr, "bus_compare_bench: %s %s: %s\n", name, what.c_str(), e.c_str());
      };
      line("kordon", kordon);
      line("raw libzmq", raw);
      line("mosquitto", mqtt);
      const double vs_raw = raw.msgs_per_s > 0 ? kordon.msgs_per_s / raw.msgs_per_s : 0;
      const double vs_mqtt = mqtt.msgs_per_s > 0 ? kordon.msgs_per_s / mqtt.msgs_per_s : 0;
      std::printf("%-28s kordon/raw %.2f (goal >= 0.7), kordon/mosquitto %.2f (goal >= 4); "
                  "kordon counted egress overflow %llu; latency paced at %llu msg/s\n",
                  "", vs_raw, vs_mqtt, static_cast<unsigned long long>(kordon.counted),
                  static_cast<unsigned long long>(rate));
      const std::string drops = fmt::format("; silent drops kordon {}, raw {}, mosquitto lost {}",
                                            kordon.silent(), raw.silent(), mqtt.missing());
      const bool clean = kordon.silent() == 0;
      kordon::bench::PrintRow({"bus-tcp", "TCP " + what + ": msg/s" + drops, kordon.msgs_per_s,
                               "msg/s", "raw libzmq proxy", raw.msgs_per_s, vs_raw, ">= 0.7",
                               clean && vs_raw >= 0.7});
      kordon::bench::PrintRow({"bus-tcp", "TCP " + what + ": msg/s vs Mosquitto (QoS 0)",
                               kordon.msgs_per_s, "msg/s", "mosquitto 2.0 broker",
                               mqtt.msgs_per_s, vs_mqtt, ">= 4", clean && vs_mqtt >= 4});
      if (o.paced_seconds > 0) {
        const std::string pace = fmt::format(" at {} msg/s", rate);
        auto lat = [&](const char* name, const Side& s) {
          return fmt::format("{} p50 {:.0f} / p99.9 {:.0f} us", name, s.p50, s.p999);
        };
        kordon::bench::PrintRow(
            {"bus-tcp", "TCP " + what + ": p99 latency" + pace + " (" + lat("kordon", kordon) +
                            "; " + lat("raw", raw) + ")",
             kordon.p99, "us", "raw libzmq proxy", raw.p99,
             raw.p99 > 0 ? kordon.p99 / raw.p99 : 0.0, "", std::nullopt});
        kordon::bench::PrintRow(
            {"bus-tcp", "TCP " + what + ": p99 latency vs Mosquitto" + pace + " (" +
                            lat("mosquitto", mqtt) + ")",
             kordon.p99, "us", "mosquitto 2.0 broker", mqtt.p99,
             mqtt.p99 > 0 ? kordon.p99 / mqtt.p99 : 0.0, "", std::nullopt});
      }
    }
  }
  mosquitto_lib_cleanup();
  return failed ? 1 : 0;
}
