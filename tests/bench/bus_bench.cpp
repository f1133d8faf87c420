// bus_bench: messages per second and latency through the host bus for 100-byte bodies, beside
// raw libzmq measured in the same run, and the ratio between the two (see README.md here).
//
//   raw libzmq   PUB --> XSUB [zmq::proxy_steerable] XPUB --> SUB       (one process, inproc)
//   kordon bus   source plugin's thread --host->publish--> Host's bus --> sink plugin's actor
//
// Both paths carry the same three frames (topic, a real Kordon envelope, a 100-byte JSON
// body), with the same high-water marks and backpressure instead of dropping, between three
// threads. The two plugins are compiled into this program and registered with
// Host::AddStaticPlugin; everything else is the host as kordon-host runs it.
//
// Throughput: N messages as fast as the path accepts them; the median of --repeat runs.
// Latency: a separate run paced at --paced-rate, so that it measures the path and not a queue;
// each body carries its steady_clock send time, the receiver subtracts it from its own.
//
// Exit status: 0; 1 when a message was lost without being counted (Kordon or the baseline) or
// a run failed; 2 on a usage error; 3 when --min-ratio is given and the ratio is below it.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <future>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <kordon/kordon.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "bench_row.h"
#include "bench_stats.h"
#include "config.h"
#include "envelope.h"
#include "host.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::bench::Median;
using kordon::bench::NowNs;
using kordon::bench::Percentile;

constexpr char kTopic[] = "scanner.plate.read";
constexpr char kProbeTopic[] = "bench.probe";
// Body size and subscriber count of the runs (--sizes, --subscribers: main sets them per case).
size_t g_body_bytes = 100;
int g_subscribers = 1;
constexpr int kQueueLimit = 10000;        // the host's default bus.queue_limit, used by both
constexpr int kSendTimeoutMs = 2000;      // the host's default bus.publish_timeout_ms
constexpr double kGoalRatio = 0.70;
constexpr auto kStallLimit = std::chrono::seconds(10);  // no progress for this long: failed

constexpr char kSourceInstance[] = "source";
constexpr char kSourceLane[] = "lane-1";
constexpr char kSourceLibrary[] = "bench-source";
constexpr char kSinkLibrary[] = "bench-sink";

// CPU time of the whole process (every thread), in nanoseconds: a figure that other programs
// on the machine disturb much less than wall-clock time.
int64_t ProcessCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Options {
  std::vector<size_t> sizes = {100};
  std::vector<size_t> subscribers = {1};
  uint64_t messages = 200000;
  int repeat = 3;
  double paced_seconds = 1.0;
  uint64_t paced_rate = 10000;
  std::optional<double> min_ratio;
  bool json = false;
  bool egress = false;        // also bind the TCP egress (no subscriber), as a site would
  std::string only;           // "", "raw" or "kordon": measure one side (profiling)
  std::string log_level = "error";
};

// ---------------------------------------------------------------------------------------------
// The message body and the two ends every run shares

// Writes exactly g_body_bytes of JSON object carrying the send time: {"t":...,"seq":...,...}.
// `out` holds g_body_bytes + 1 bytes.
void MakeBody(char* out, int64_t t_ns, uint64_t seq) {
  const size_t size = g_body_bytes;
  int head = std::snprintf(out, size + 1, R"({"t":%lld,"seq":%llu,"plate":"KD4711X","pad":")",
                           static_cast<long long>(t_ns), static_cast<unsigned long long>(seq));
  size_t used = static_cast<size_t>(head);
  std::memset(out + used, 'x', size - 2 - used);
  out[size - 2] = '"';
  out[size - 1] = '}';
  out[size] = '\0';
}

// The send time written by MakeBody, or -1.
int64_t BodyTime(const char* body, size_t size) {
  constexpr std::string_view kHead = R"({"t":)";
  if (size < kHead.size() || std::string_view(body, kHead.size()) != kHead) return -1;
  int64_t t = -1;
  std::from_chars(body + kHead.size(), body + size, t);
  return t;
}

// What one run asks the sender to do.
struct Load {
  uint64_t count = 0;
  uint64_t rate = 0;  // messages per second; 0: as fast as the path accepts them
};

struct SendTally {
  uint64_t attempted = 0;
  uint64_t failed = 0;  // the path said no (and counted it, for Kordon)
  int64_t start_ns = 0;
};

// Sends load.count bodies through `send` (returns false on a refusal), paced when asked.
template <typename SendFn>
SendTally Drive(const Load& load, const std::atomic<bool>& stop, SendFn&& send) {
  SendTally tally;
  std::vector<char> buffer(g_body_bytes + 1);
  char* body = buffer.data();
  const auto start = Clock::now();
  tally.start_ns = NowNs();
  const double period_ns = load.rate > 0 ? 1e9 / static_cast<double>(load.rate) : 0;
  for (uint64_t i = 0; i < load.count && !stop.load(std::memory_order_relaxed); ++i) {
    if (load.rate > 0)
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<int64_t>(period_ns * static_cast<double>(i))));
    MakeBody(body, NowNs(), i);
    ++tally.attempted;
    if (!send(std::string_view(body, g_body_bytes))) ++tally.failed;
  }
  return tally;
}

// The receiving end. OnMessage runs on one thread only; the atomics publish to the main thread.
class Receiver {
 public:
  Receiver(uint64_t expected, bool record_latency) : expected_(expected), record_latency_(record_latency) {
    if (record_latency_) latencies_ns_.resize(expected);
  }

  void OnMessage(const char* body, size_t size) {
    int64_t now = NowNs();
    uint64_t n = received_.load(std::memory_order_relaxed);
    if (record_latency_ && n < latencies_ns_.size()) {
      int64_t sent = BodyTime(body, size);
      latencies_ns_[n] = sent >= 0 ? now - sent : -1;
    }
    last_ns_.store(now, std::memory_order_relaxed);
    received_.store(n + 1, std::memory_order_release);
  }

  uint64_t received() const { return received_.load(std::memory_order_acquire); }
  bool done() const { return received() >= expected_; }
  int64_t last_ns() const { return last_ns_.load(std::memory_order_relaxed); }
  // REQUIRES: the receiving thread has finished (or delivers nothing more).
  std::vector<int64_t> Latencies() const {
    std::vector<int64_t> out(latencies_ns_.begin(),
                             latencies_ns_.begin() + static_cast<long>(std::min<uint64_t>(received(), latencies_ns_.size())));
    out.erase(std::remove(out.begin(), out.end(), -1), out.end());
    return out;
  }

 private:
  const uint64_t expected_;
  const bool record_latency_;
  std::vector<int64_t> latencies_ns_;
  std::atomic<uint64_t> received_{0};
  std::atomic<int64_t> last_ns_{0};
};

// One Receiver per subscriber (g_subscribers of them); the sums and extremes over all of them.
class Receivers {
 public:
  Receivers(int n, uint64_t expected, bool record_latency) {
    for (int i = 0; i < n; ++i)
      all_.push_back(std::make_unique<Receiver>(expected, record_latency));
  }
  Receiver& at(size_t i) { return *all_[i]; }
  size_t size() const { return all_.size(); }
  uint64_t received() const {
    uint64_t n = 0;
    for (const auto& r : all_) n += r->received();
    return n;
  }
  int64_t last_ns() const {
    int64_t t = 0;
    for (const auto& r : all_) t = std::max(t, r->last_ns());
    return t;
  }
  std::vector<int64_t> Latencies() const {
    std::vector<int64_t> out;
    for (const auto& r : all_) {
      std::vector<int64_t> one = r->Latencies();
      out.insert(out.end(), one.begin(), one.end());
    }
    return out;
  }

 private:
  std::vector<std::unique_ptr<Receiver>> all_;
};

// Waits until the sender has finished and `rx` has every message it should get:
// `expected()` returns that count once the sender is done, nullopt before. False when nothing
// arrives for kStallLimit (the sender may legitimately block a while under backpressure).
template <typename ExpectedFn>
bool WaitForReceiver(const Receivers& rx, ExpectedFn&& expected) {
  uint64_t last = rx.received();
  auto last_progress = Clock::now();
  for (;;) {
    std::optional<uint64_t> target = expected();
    if (target && rx.received() >= *target) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    uint64_t n = rx.received();
    if (n != last) {
      last = n;
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > kStallLimit) {
      return false;
    }
  }
}

// What one run measured.
struct RunResult {
  bool ok = true;            // the run itself worked (set-up, no stall)
  std::string error;
  uint64_t sent = 0;         // send attempts
  uint64_t received = 0;
  uint64_t counted_failures = 0;  // refusals and drops the path counted and reported
  uint64_t silent_drops = 0;      // sent x subscribers - received - counted_failures
  double seconds = 0;
  double msgs_per_s = 0;
  int64_t cpu_ns = 0;           // process CPU time from the first send to the last receipt
  double cpu_us_per_msg = 0;
  std::vector<int64_t> latencies_ns;
  uint64_t backpressure_waits = 0;  // Kordon only
};

// `received` and the drops count deliveries (a message to each of rx.size() subscribers);
// msgs/s and CPU per message count published messages.
void Finish(RunResult& r, const SendTally& tally, const Receivers& rx, bool record_latency) {
  const double fanout = static_cast<double>(rx.size());
  const double published = static_cast<double>(rx.received()) / fanout;
  r.cpu_us_per_msg = published > 0 ? static_cast<double>(r.cpu_ns) / 1e3 / published : 0;
  r.sent = tally.attempted;
  r.received = rx.received();
  const uint64_t deliveries = (tally.attempted - tally.failed) * rx.size() + tally.failed;
  uint64_t accounted = r.received + r.counted_failures;
  r.silent_drops = deliveries > accounted ? deliveries - accounted : 0;
  if (r.received > r.sent * rx.size() && r.ok) {
    r.ok = false;
    r.error = fmt::format("{} messages received for {} sent: duplicates", r.received, r.sent);
  }
  r.seconds = r.received > 0 ? static_cast<double>(rx.last_ns() - tally.start_ns) / 1e9 : 0;
  r.msgs_per_s = r.seconds > 0 ? static_cast<double>(r.received) / fanout / r.seconds : 0;
  if (record_latency) r.latencies_ns = rx.Latencies();
}

// The representative envelope frame: what the host writes for the source instance.
std::string SampleEnvelope() {
  kordon::host::Envelope e;
  e.id = kordon::host::NewMessageId();
  e.time_us = kordon::host::NowMicros();
  e.source = kSourceInstance;
  e.lane = kSourceLane;
  return kordon::host::EncodeEnvelope(e);
}

// ---------------------------------------------------------------------------------------------
// Raw libzmq: PUB -> XSUB/XPUB proxy -> SUB

RunResult RunRaw(const Load& load, bool record_latency) {
  RunResult result;
  zmq::context_t context(1);
  const std::string envelope = SampleEnvelope();

  zmq::socket_t xsub(context, zmq::socket_type::xsub);
  xsub.set(zmq::sockopt::linger, 0);
  xsub.set(zmq::sockopt::rcvhwm, kQueueLimit);
  xsub.bind("inproc://raw.in");
  zmq::socket_t xpub(context, zmq::socket_type::xpub);
  xpub.set(zmq::sockopt::linger, 0);
  xpub.set(zmq::sockopt::sndhwm, kQueueLimit);
  xpub.set(zmq::sockopt::xpub_nodrop, 1);  // backpressure instead of loss, as the host's bus
  xpub.bind("inproc://raw.out");
  zmq::socket_t control(context, zmq::socket_type::pair);
  control.bind("inproc://raw.control");
  zmq::socket_t proxy_control(context, zmq::socket_type::pair);
  proxy_control.connect("inproc://raw.control");
  std::thread proxy([&] {
    try {
      zmq::proxy_steerable(xsub, xpub, zmq::socket_ref(), proxy_control);
    } catch (const zmq::error_t& e) {
      std::fprintf(stderr, "bus_bench: raw proxy failed: %s\n", e.what());
    }
  });

  Receivers rxs(g_subscribers, load.count, record_latency);
  std::atomic<int> probes_seen{0};
  std::atomic<bool> stop{false};
  std::atomic<int> connected{0};
  std::vector<std::thread> subscribers;
  for (size_t s = 0; s < rxs.size(); ++s) subscribers.emplace_back([&, s] {
    Receiver& rx = rxs.at(s);
    bool probe_seen = false;
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::rcvhwm, kQueueLimit);
    sub.set(zmq::sockopt::rcvtimeo, 50);
    sub.set(zmq::sockopt::linger, 0);
    sub.connect("inproc://raw.out");
    sub.set(zmq::sockopt::subscribe, kTopic);
    sub.set(zmq::sockopt::subscribe, kProbeTopic);
    ++connected;
    zmq::message_t topic, env, body;
    while (!stop.load(std::memory_order_relaxed) && !rx.done()) {
      if (!sub.recv(topic)) continue;  // timed out: look at stop again
      (void)sub.recv(env);
      (void)sub.recv(body);
      if (topic.to_string_view() == kProbeTopic) {
        if (!probe_seen) ++probes_seen;
        probe_seen = true;
        continue;
      }
      rx.OnMessage(static_cast<const char*>(body.data()), body.size());
    }
  });
  while (connected.load() < static_cast<int>(rxs.size())) std::this_thread::yield();

  zmq::socket_t pub(context, zmq::socket_type::pub);
  pub.set(zmq::sockopt::sndhwm, kQueueLimit);
  pub.set(zmq::sockopt::xpub_nodrop, 1);
  pub.set(zmq::sockopt::sndtimeo, kSendTimeoutMs);
  pub.set(zmq::sockopt::linger, 0);
  pub.connect("inproc://raw.in");
  auto send = [&](std::string_view topic, std::string_view body) {
    if (!pub.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore)) return false;
    pub.send(zmq::const_buffer(envelope.data(), envelope.size()), zmq::send_flags::sndmore);
    pub.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
    return true;
  };

  // Slow joiner: the subscription travels SUB -> XPUB -> proxy -> XSUB -> PUB; until a probe
  // makes the round trip, PUB would discard what it sends.
  const auto probe_deadline = Clock::now() + std::chrono::seconds(10);
  auto all_probed = [&] { return probes_seen.load() == static_cast<int>(rxs.size()); };
  while (!all_probed() && Clock::now() < probe_deadline) {
    (void)send(kProbeTopic, R"({"probe":true})");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!all_probed()) {
    result.ok = false;
    result.error = "raw: no probe came through the proxy within 10 s";
  }

  SendTally tally;
  if (result.ok) {
    std::atomic<bool> never{false};
    const int64_t cpu_start = ProcessCpuNs();
    tally = Drive(load, never, [&](std::string_view body) { return send(kTopic, body); });
    result.counted_failures = tally.failed;
    const uint64_t expected = (tally.attempted - tally.failed) * rxs.size();
    if (!WaitForReceiver(rxs, [&] { return std::optional<uint64_t>(expected); })) {
      result.ok = false;
      result.error = fmt::format("raw: the subscribers stalled at {} of {} deliveries",
                                 rxs.received(), expected);
    }
    result.cpu_ns = ProcessCpuNs() - cpu_start;
  }
  stop = true;
  for (std::thread& t : subscribers) t.join();
  (void)control.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
  proxy.join();
  Finish(result, tally, rxs, record_latency);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Kordon: two plugins compiled into this program, run by an in-process Host

// What the bench's plugins share with main for one run. Set before Host::Start.
struct KordonRun {
  Load load;
  Receivers* receivers = nullptr;
  std::atomic<bool> go{false};
  std::atomic<bool> source_done{false};
  SendTally tally;  // written by the source thread before source_done
};
KordonRun* g_run = nullptr;

// -- bench-source: publishes the run's load from its own thread, as a device thread would.

struct Source {
  const kordon_host_api* host;
  kordon_host_context* context;
  std::atomic<bool> stop{false};
  std::thread thread;
};

kordon_status SourceCreate(const kordon_instance_info* info, void** out) {
  auto* s = new (std::nothrow) Source{info->host, info->context};
  if (s == nullptr) return KORDON_E_NO_MEMORY;
  *out = s;
  return KORDON_OK;
}

void SourceMain(Source* s) {
  KordonRun& run = *g_run;
  while (!run.go.load(std::memory_order_acquire) && !s->stop.load()) std::this_thread::yield();
  kordon_publish_args args{};
  args.struct_size = sizeof(args);
  args.topic = kTopic;
  run.tally = Drive(run.load, s->stop, [&](std::string_view body) {
    args.body = body.data();
    args.body_size = body.size();
    return s->host->publish(s->context, &args) == KORDON_OK;
  });
  run.source_done.store(true, std::memory_order_release);
}

kordon_status SourceStart(void* instance) {
  auto* s = static_cast<Source*>(instance);
  try {
    s->thread = std::thread(SourceMain, s);
  } catch (const std::exception&) {
    return KORDON_E_INTERNAL;
  }
  return KORDON_OK;
}

kordon_status SourceStop(void* instance) {
  auto* s = static_cast<Source*>(instance);
  s->stop = true;
  if (s->thread.joinable()) s->thread.join();
  return KORDON_OK;
}

kordon_status SourceHandle(void*, const kordon_message*) { return KORDON_OK; }

void SourceDestroy(void* instance) { delete static_cast<Source*>(instance); }

const char* const kSourcePublishes[] = {"scanner.plate", nullptr};
const kordon_plugin_descriptor kSourceDescriptor = {
    sizeof(kordon_plugin_descriptor), KORDON_ABI_VERSION, "bench-source", KORDON_KIND_SCANNER,
    "Kordon", "1.0.0", "bus_bench: publishes 100-byte plate reads from its own thread",
    kSourcePublishes, nullptr, nullptr, SourceCreate, SourceStart, SourceStop, SourceHandle,
    SourceDestroy};

kordon_status SourceEntry(const kordon_host_offer* offer, const kordon_plugin_descriptor** out) {
  return kordon_answer_offer(offer, &kSourceDescriptor, out);
}

// -- bench-sink: counts what it receives and records latency (on its actor thread).

// The instance is the Receiver of sink-<i>.
kordon_status SinkCreate(const kordon_instance_info* info, void** out) {
  const size_t i = std::strtoul(info->instance_name + 5, nullptr, 10);  // "sink-<i>"
  if (g_run == nullptr || i >= g_run->receivers->size()) return KORDON_E_INVALID_ARGUMENT;
  *out = &g_run->receivers->at(i);
  return KORDON_OK;
}
kordon_status SinkStart(void*) { return KORDON_OK; }
kordon_status SinkStop(void*) { return KORDON_OK; }
kordon_status SinkHandle(void* instance, const kordon_message* m) {
  static_cast<Receiver*>(instance)->OnMessage(m->body, m->body_size);
  return KORDON_OK;
}
void SinkDestroy(void*) {}

const char* const kSinkSubscribes[] = {"scanner.plate", nullptr};
const kordon_plugin_descriptor kSinkDescriptor = {
    sizeof(kordon_plugin_descriptor), KORDON_ABI_VERSION, "bench-sink", KORDON_KIND_OTHER,
    "Kordon", "1.0.0", "bus_bench: counts plate reads and their latency", nullptr,
    kSinkSubscribes, nullptr, SinkCreate, SinkStart, SinkStop, SinkHandle, SinkDestroy};

kordon_status SinkEntry(const kordon_host_offer* offer, const kordon_plugin_descriptor** out) {
  return kordon_answer_offer(offer, &kSinkDescriptor, out);
}

kordon::host::HostConfig BenchHostConfig(bool egress) {
  kordon::host::HostConfig config;
  config.name = "bus-bench";
  config.bus.ingress = "";
  config.bus.egress = egress ? "tcp://127.0.0.1:*" : "";
  config.bus.queue_limit = kQueueLimit;
  config.bus.publish_timeout_ms = kSendTimeoutMs;
  // Start order: the sinks are running before the source.
  for (int i = 0; i < g_subscribers; ++i) {
    kordon::host::InstanceConfig sink;
    sink.name = fmt::format("sink-{}", i);
    sink.library = kSinkLibrary;
    config.instances.push_back(sink);
  }
  kordon::host::InstanceConfig source;
  source.name = kSourceInstance;
  source.library = kSourceLibrary;
  source.lane = kSourceLane;
  config.instances.push_back(source);
  return config;
}

RunResult RunKordon(const Load& load, bool record_latency, bool egress) {
  RunResult result;
  Receivers rx(g_subscribers, load.count, record_latency);
  KordonRun run;
  run.load = load;
  run.receivers = &rx;
  g_run = &run;

  kordon::host::Host host(BenchHostConfig(egress));
  host.AddStaticPlugin(kSourceLibrary, &SourceEntry);
  host.AddStaticPlugin(kSinkLibrary, &SinkEntry);
  kordon::host::Status s = host.Load();
  if (s.ok()) s = host.Start();
  if (!s.ok()) {
    result.ok = false;
    result.error = "kordon: the host did not start: " + s.ToString();
    (void)host.Shutdown();
    g_run = nullptr;
    return result;
  }

  const int64_t cpu_start = ProcessCpuNs();
  run.go.store(true, std::memory_order_release);
  uint64_t expected = load.count;
  bool finished = WaitForReceiver(rx, [&]() -> std::optional<uint64_t> {
    if (!run.source_done.load(std::memory_order_acquire)) return std::nullopt;
    expected = (run.tally.attempted - run.tally.failed) * rx.size();
    return expected;
  });
  result.cpu_ns = ProcessCpuNs() - cpu_start;
  if (!finished) {
    result.ok = false;
    result.error = fmt::format("kordon: the sink stalled at {} of {} messages", rx.received(), expected);
  }

  // Every way the host may refuse or lose a message and say so.
  const kordon::host::InstanceStats* source_stats = nullptr;
  std::vector<const kordon::host::InstanceStats*> sinks;
  for (const auto& i : host.instances()) {
    if (i->name() == kSourceInstance) source_stats = &i->stats();
    if (i->name().rfind("sink-", 0) == 0) sinks.push_back(&i->stats());
  }
  uint64_t sinks_received = 0, sinks_dropped = 0;
  for (const kordon::host::InstanceStats* s : sinks) {
    sinks_received += s->received.load();
    sinks_dropped += s->dropped_before_start.load() + s->dropped_after_stop.load();
  }
  if (source_stats == nullptr || sinks.size() != rx.size()) {
    result.ok = false;
    result.error = "kordon: an instance is missing after start";
  } else {
    uint64_t refused = source_stats->publish_failures.load();
    result.counted_failures = refused + sinks_dropped +
                              host.bus()->stats().internal_malformed.load();
    if (refused != run.tally.failed) {
      result.ok = false;
      result.error = fmt::format("kordon: the source saw {} refusals but the host counted {}",
                                 run.tally.failed, refused);
    }
    if (sinks_received != rx.received()) {
      result.ok = false;
      result.error = fmt::format("kordon: the host delivered {} but the sinks counted {}",
                                 sinks_received, rx.received());
    }
  }
  result.backpressure_waits = host.bus()->stats().backpressure_waits.load();
  if (kordon::host::Status st = host.Shutdown(); !st.ok() && result.ok) {
    result.ok = false;
    result.error = "kordon: shutdown failed: " + st.ToString();
  }
  Finish(result, run.tally, rx, record_latency);
  g_run = nullptr;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Figures

struct Side {
  std::string name;
  std::vector<RunResult> throughput;
  RunResult paced;
  double median_msgs_per_s = 0;
  double median_cpu_us_per_msg = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  uint64_t sent = 0, received = 0, counted_failures = 0, silent_drops = 0, backpressure_waits = 0;
  std::vector<std::string> errors;
};

void Summarize(Side& side) {
  std::vector<double> rates;
  std::vector<const RunResult*> all;
  for (const RunResult& r : side.throughput) all.push_back(&r);
  all.push_back(&side.paced);
  for (const RunResult* r : all) {
    side.sent += r->sent;
    side.received += r->received;
    side.counted_failures += r->counted_failures;
    side.silent_drops += r->silent_drops;
    side.backpressure_waits += r->backpressure_waits;
    if (!r->ok) side.errors.push_back(r->error);
  }
  std::vector<double> cpu;
  for (const RunResult& r : side.throughput) {
    rates.push_back(r.msgs_per_s);
    cpu.push_back(r.cpu_us_per_msg);
  }
  side.median_msgs_per_s = Median(rates);
  side.median_cpu_us_per_msg = Median(cpu);
  const std::vector<int64_t>& lat = side.paced.latencies_ns;
  side.p50_us = Percentile(lat, 0.50) / 1e3;
  side.p99_us = Percentile(lat, 0.99) / 1e3;
  side.p999_us = Percentile(lat, 0.999) / 1e3;
  side.max_us = lat.empty() ? 0 : static_cast<double>(lat.back()) / 1e3;
}

nlohmann::json SideJson(const Side& side) {
  nlohmann::json runs = nlohmann::json::array();
  nlohmann::json cpu = nlohmann::json::array();
  for (const RunResult& r : side.throughput) {
    runs.push_back(std::round(r.msgs_per_s));
    cpu.push_back(std::round(r.cpu_us_per_msg * 1000) / 1000);
  }
  nlohmann::json j = {{"msgs_per_s", std::round(side.median_msgs_per_s)},
                      {"runs_msgs_per_s", runs},
                      {"cpu_us_per_msg", std::round(side.median_cpu_us_per_msg * 1000) / 1000},
                      {"runs_cpu_us_per_msg", cpu},
                      {"p50_us", side.p50_us},
                      {"p99_us", side.p99_us},
                      {"max_us", side.max_us},
                      {"latency_samples", side.paced.latencies_ns.size()},
                      {"sent", side.sent},
                      {"received", side.received},
                      {"counted_failures", side.counted_failures},
                      {"silent_drops", side.silent_drops},
                      {"errors", side.errors}};
  if (side.name == "kordon") j["backpressure_waits"] = side.backpressure_waits;
  return j;
}

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
      "usage: bus_bench [options]\n"
      "  Messages per second and p50/p99 latency through the Kordon host bus for 100-byte\n"
      "  bodies, beside raw libzmq (PUB -> XSUB/XPUB proxy -> SUB) measured in the same run.\n"
      "options:\n"
      "  --messages N        messages per throughput run (default 200000)\n"
      "  --repeat N          throughput runs per side; the median is reported (default 3)\n"
      "  --paced-rate N      messages per second of the latency run (default 10000)\n"
      "  --paced-seconds S   length of the latency run (default 1.0)\n"
      "  --sizes A,B         body sizes in bytes, one case each (default 100)\n"
      "  --subscribers A,B   subscribers (sink plugins / SUB sockets), one case each (default 1)\n"
      "  --min-ratio X       also exit 3 when kordon/raw is below X (default: not checked)\n"
      "  --egress            bind the host's TCP egress too (no subscriber on it)\n"
      "  --only raw|kordon   measure one side only (for profiling)\n"
      "  --log-level LEVEL   the host's log level on stderr (default error)\n"
      "  --json              print the figures as one JSON object\n"
      "exit status: 0; 1 a message was lost silently or a run failed; 2 usage; 3 below --min-ratio\n");
}

// Parses argv; nullopt (after a message) on a usage error.
std::optional<Options> ParseOptions(int argc, char** argv, bool* help) {
  Options o;
  auto number = [](const char* text, double* out) {
    char* end = nullptr;
    *out = std::strtod(text, &end);
    return end != text && *end == '\0' && std::isfinite(*out);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* option = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    double v = 0;
    if (a == "--help" || a == "-h") {
      *help = true;
      return o;
    } else if (a == "--sizes" || a == "--subscribers") {
      const char* t = value();
      std::vector<size_t> list;
      for (std::string_view rest = t == nullptr ? "" : t; !rest.empty();) {
        const std::string_view item = rest.substr(0, rest.find(','));
        size_t n = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (ec != std::errc() || end != item.data() + item.size()) break;
        list.push_back(n);
        rest.remove_prefix(std::min(rest.size(), item.size() + 1));
      }
      const size_t least = a == "--sizes" ? 80 : 1;
      if (list.empty() || *std::min_element(list.begin(), list.end()) < least ||
          (a == "--subscribers" && *std::max_element(list.begin(), list.end()) > 64)) {
        std::fprintf(stderr, "bus_bench: %s takes a comma-separated list (sizes >= 80 bytes, "
                     "1..64 subscribers)\n", option);
        return std::nullopt;
      }
      (a == "--sizes" ? o.sizes : o.subscribers) = list;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--egress") {
      o.egress = true;
    } else if (a == "--messages" || a == "--repeat" || a == "--paced-rate") {
      const char* t = value();
      if (t == nullptr || !number(t, &v) || v < 1 || v != std::floor(v)) {
        std::fprintf(stderr, "bus_bench: %s needs a whole number >= 1\n", option);
        return std::nullopt;
      }
      if (a == "--messages") o.messages = static_cast<uint64_t>(v);
      else if (a == "--repeat") o.repeat = static_cast<int>(std::min(v, 100.0));
      else o.paced_rate = static_cast<uint64_t>(v);
    } else if (a == "--paced-seconds" || a == "--min-ratio") {
      const char* t = value();
      if (t == nullptr || !number(t, &v) || v < 0) {
        std::fprintf(stderr, "bus_bench: %s needs a number >= 0\n", option);
        return std::nullopt;
      }
      if (a == "--paced-seconds") o.paced_seconds = v;
      else o.min_ratio = v;
    } else if (a == "--only") {
      const char* t = value();
      if (t == nullptr || (std::string_view(t) != "raw" && std::string_view(t) != "kordon")) {
        std::fprintf(stderr, "bus_bench: --only takes raw or kordon\n");
        return std::nullopt;
      }
      o.only = t;
    } else if (a == "--log-level") {
      const char* t = value();
      if (t == nullptr || !kordon::host::IsValidLogLevel(t)) {
        std::fprintf(stderr, "bus_bench: --log-level takes trace, debug, info, warn, error or off\n");
        return std::nullopt;
      }
      o.log_level = t;
    } else {
      std::fprintf(stderr, "bus_bench: unknown option '%s'\n", argv[i]);
      PrintUsage(stderr);
      return std::nullopt;
    }
  }
  return o;
}

}  // namespace

namespace {

// Measures one case (g_body_bytes, g_subscribers) and prints it; the exit status.
int RunCase(const Options& o) {
  const bool do_raw = o.only != "kordon";
  const bool do_kordon = o.only != "raw";
  const Load paced{std::max<uint64_t>(1, static_cast<uint64_t>(o.paced_seconds * static_cast<double>(o.paced_rate))),
                   o.paced_rate};
  const Load flat{o.messages, 0};

  Side raw{"raw"}, kordon{"kordon"};
  // Latency first, at a pace both paths sustain; then throughput, alternating the sides so
  // that a slow spell of the machine does not fall on one side only.
  if (o.paced_seconds > 0) {
    if (do_raw) raw.paced = RunRaw(paced, true);
    if (do_kordon) kordon.paced = RunKordon(paced, true, o.egress);
  }
  for (int i = 0; i < o.repeat; ++i) {
    if (do_raw) raw.throughput.push_back(RunRaw(flat, false));
    if (do_kordon) kordon.throughput.push_back(RunKordon(flat, false, o.egress));
  }
  Summarize(raw);
  Summarize(kordon);

  const bool have_ratio = do_raw && do_kordon && raw.median_msgs_per_s > 0;
  const double ratio = have_ratio ? kordon.median_msgs_per_s / raw.median_msgs_per_s : 0;
  const double cpu_factor = have_ratio && raw.median_cpu_us_per_msg > 0
                                ? kordon.median_cpu_us_per_msg / raw.median_cpu_us_per_msg : 0;
  const bool failed = !raw.errors.empty() || !kordon.errors.empty() || raw.silent_drops > 0 ||
                      kordon.silent_drops > 0;

  if (o.json) {
    nlohmann::json j = {{"benchmark", "bus_bench"},
                        {"body_bytes", g_body_bytes},
                        {"subscribers", g_subscribers},
                        {"messages", o.messages},
                        {"repeat", o.repeat},
                        {"paced_rate", o.paced_rate},
                        {"paced_seconds", o.paced_seconds},
                        {"egress", o.egress},
                        {"goal_ratio", kGoalRatio},
                        {"silent_drops", kordon.silent_drops}};
    if (do_raw) j["raw"] = SideJson(raw);
    if (do_kordon) j["kordon"] = SideJson(kordon);
    j["ratio"] = have_ratio ? nlohmann::json(std::round(ratio * 1000) / 1000) : nlohmann::json(nullptr);
    j["cpu_factor"] = have_ratio ? nlohmann::json(std::round(cpu_factor * 1000) / 1000) : nlohmann::json(nullptr);
    if (o.min_ratio) j["min_ratio"] = *o.min_ratio;
    j["ok"] = !failed;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::string latency = o.paced_seconds > 0
                              ? fmt::format("latency at {} msg/s for {:.1f} s", o.paced_rate, o.paced_seconds)
                              : std::string("no latency run");
    std::printf("bus_bench: %zu-byte bodies, %d subscriber(s), %llu messages, median of %d; %s%s\n",
                g_body_bytes, g_subscribers,
                static_cast<unsigned long long>(o.messages), o.repeat, latency.c_str(),
                o.egress ? "; TCP egress bound" : "");
    std::printf("%-20s %10s %11s %9s %9s %9s %7s\n", "", "msgs/s", "cpu us/msg", "p50 us", "p99 us",
                "max us", "drops");
    auto row = [](const char* label, const Side& s) {
      std::printf("%-20s %10.0f %11.2f %9.1f %9.1f %9.1f %7llu\n", label, s.median_msgs_per_s,
                  s.median_cpu_us_per_msg, s.p50_us, s.p99_us, s.max_us,
                  static_cast<unsigned long long>(s.silent_drops));
    };
    if (do_raw) row("raw libzmq proxy", raw);
    if (do_kordon) row("kordon bus", kordon);
    auto runs = [](const Side& s) {
      std::string out;
      for (const RunResult& r : s.throughput) out += fmt::format(" {:.0f}", r.msgs_per_s);
      return out;
    };
    if (do_raw) std::printf("raw runs (msgs/s):%s\n", runs(raw).c_str());
    if (do_kordon) {
      std::printf("kordon runs (msgs/s):%s\n", runs(kordon).c_str());
      std::printf("kordon counted: %llu publish refusals/drops reported by the host, %llu backpressure waits\n",
                  static_cast<unsigned long long>(kordon.counted_failures),
                  static_cast<unsigned long long>(kordon.backpressure_waits));
    }
    if (have_ratio)
      std::printf("ratio kordon/raw: %.2f (goal >= %.2f); CPU per message: %.2fx raw\n", ratio,
                  kGoalRatio, cpu_factor);
    if (do_kordon) std::printf("silent drops: %llu\n", static_cast<unsigned long long>(kordon.silent_drops));
    if (do_raw && raw.silent_drops > 0)
      std::printf("baseline lost %llu messages silently: its figure is not comparable\n",
                  static_cast<unsigned long long>(raw.silent_drops));
    if (have_ratio) {
      const std::string drops = fmt::format(", silent drops {}+{}", kordon.silent_drops,
                                            raw.silent_drops);
      const std::string what = fmt::format("in-process {} B, {} sub{}", g_body_bytes,
                                           g_subscribers, g_subscribers > 1 ? "s" : "");
      kordon::bench::PrintRow({"bus", what + ": msg/s" + drops,
                               kordon.median_msgs_per_s, "msg/s", "raw libzmq proxy",
                               raw.median_msgs_per_s, ratio, ">= 0.7",
                               ratio >= kGoalRatio && kordon.silent_drops == 0});
      if (o.paced_seconds > 0) {
        const std::string pace = fmt::format(" at {} msg/s", o.paced_rate);
        kordon::bench::PrintRow({"bus", what + ": p99 latency" + pace +
                                     fmt::format(" (kordon p50 {:.0f} / p99.9 {:.0f} us; raw "
                                                 "p50 {:.0f} / p99.9 {:.0f} us)",
                                                 kordon.p50_us, kordon.p999_us, raw.p50_us,
                                                 raw.p999_us),
                                 kordon.p99_us, "us", "raw libzmq proxy", raw.p99_us,
                                 raw.p99_us > 0 ? kordon.p99_us / raw.p99_us : 0.0, "",
                                 std::nullopt});
      }
    }
  }
  for (const std::string& e : raw.errors) std::fprintf(stderr, "bus_bench: %s\n", e.c_str());
  for (const std::string& e : kordon.errors) std::fprintf(stderr, "bus_bench: %s\n", e.c_str());
  if (failed) return 1;
  if (o.min_ratio && have_ratio && ratio < *o.min_ratio) {
    std::fprintf(stderr, "bus_bench: ratio %.2f is below --min-ratio %.2f\n", ratio, *o.min_ratio);
    return 3;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool help = false;
  std::optional<Options> parsed = ParseOptions(argc, argv, &help);
  if (!parsed) return 2;
  if (help) {
    PrintUsage(stdout);
    return 0;
  }
  const Options& o = *parsed;
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  int status = 0;
  for (size_t size : o.sizes) {
    for (size_t subscribers : o.subscribers) {
      g_body_bytes = size;
      g_subscribers = static_cast<int>(subscribers);
      const int s = RunCase(o);
      if (s != 0 && (status == 0 || s == 1)) status = s;
    }
  }
  return status;
}
