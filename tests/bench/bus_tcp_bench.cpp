// bus_tcp_bench: the host bus over TCP with and without CURVE, in the same run, and the ratio.
//
//   external PUSH --tcp--> bus.ingress (PULL) --> broker --> bus.egress (XPUB) --tcp--> SUB
//
// The host's real Bus (host/src/bus.*) on 127.0.0.1: once with plain TCP, once with CURVE
// (bus.secret_key_file / bus.allowed_keys: a ZAP handler admits the client's key). The client
// sends three frames (topic, a real Kordon envelope, a --body-bytes JSON body), as a tool or a
// lane's external device would.
//
// Throughput: --messages messages with at most --window in flight (sent, not yet received:
// below bus.queue_limit, so that the egress never overflows and nothing is dropped); the
// median of --repeat runs. Latency: one message at a time, --samples times: p50 and p99 of the
// time from send to receive (one process, one clock).
//
// Exit status: 0; 1 when a message was lost or a run failed; 2 on a usage error.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "bus.h"
#include "config.h"
#include "curve.h"
#include "envelope.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::host::Bus;
using kordon::host::BusConfig;

constexpr char kTopic[] = "scanner.plate.read";

struct Options {
  int64_t messages = 200000;
  int64_t window = 5000;
  int64_t samples = 2000;
  int64_t repeat = 3;
  int64_t body_bytes = 100;
};

struct Keys {
  kordon::curve::KeyPair server, client;
};

struct Result {
  bool ok = false;
  double msgs_per_s = 0;
  double p50_us = 0, p99_us = 0;
  uint64_t overflow = 0;
  std::string error;
};

// One run over a fresh Bus: plain when `keys` is null.
Result Run(const Options& o, const Keys* keys) {
  Result r;
  zmq::context_t context(1);
  BusConfig config;
  config.ingress = "tcp://127.0.0.1:*";
  config.egress = "tcp://127.0.0.1:*";
  config.queue_limit = std::max<int64_t>(10000, 2 * o.window);
  if (keys != nullptr) {
    config.secret_key_file = "(in memory)";  // the keys are given; nothing is read
    config.secret_key = keys->server.secret_key;
    config.allowed_keys = {keys->client.public_key};
    config.allowed_z85 = {keys->client.public_key};
  }
  Bus bus(context, config, "bench");
  if (kordon::host::Status s = bus.Start(); !s.ok()) {
    r.error = s.message();
    return r;
  }
  zmq::context_t client_context(1);
  zmq::socket_t push(client_context, zmq::socket_type::push);
  zmq::socket_t sub(client_context, zmq::socket_type::sub);
  for (zmq::socket_t* s : {&push, &sub}) {
    s->set(zmq::sockopt::linger, 0);
    if (keys != nullptr) {
      s->set(zmq::sockopt::curve_serverkey, keys->server.public_key);
      s->set(zmq::sockopt::curve_publickey, keys->client.public_key);
      s->set(zmq::sockopt::curve_secretkey, keys->client.secret_key);
    }
  }
  sub.set(zmq::sockopt::rcvhwm, 0);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(bus.egress_endpoint());
  push.connect(bus.ingress_endpoint());

  const std::string envelope =
      kordon::host::EncodeEnvelope(kordon::host::NewEnvelope("bench-client"));
  std::string body = "{\"p\":\"";
  body += std::string(static_cast<size_t>(std::max<int64_t>(0, o.body_bytes - 8)), 'x');
  body += "\"}";
  auto send = [&] {
    push.send(zmq::buffer(std::string_view(kTopic)), zmq::send_flags::sndmore);
    push.send(zmq::buffer(envelope), zmq::send_flags::sndmore);
    push.send(zmq::buffer(body), zmq::send_flags::none);
  };
  // Reads one whole message; false after `timeout`.
  auto receive = [&](std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return false;
    zmq::message_t m;
    do {
      if (!sub.recv(m)) return false;
    } while (m.more());
    return true;
  };
  // The slow joiner: probes until one comes back (the subscription has reached the bus).
  bool live = false;
  for (int i = 0; i < 100 && !live; ++i) {
    send();
    live = receive(std::chrono::milliseconds(50));
  }
  if (!live) {
    r.error = "no message came back through the bus within 5 s";
    return r;
  }
  while (receive(std::chrono::milliseconds(100))) {
  }

  // Throughput, windowed.
  std::vector<double> rates;
  for (int64_t rep = 0; rep < o.repeat; ++rep) {
    std::atomic<int64_t> received{0};
    std::atomic<bool> failed{false};
    std::thread reader([&] {
      while (received.load() < o.messages) {
        if (!receive(std::chrono::milliseconds(5000))) {
          failed = true;
          return;
        }
        received.fetch_add(1, std::memory_order_release);
      }
    });
    const auto start = Clock::now();
    for (int64_t sent = 0; sent < o.messages && !failed; ++sent) {
      while (sent - received.load(std::memory_order_acquire) >= o.window && !failed)
        std::this_thread::yield();
      send();
    }
    reader.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed) {
      r.error = fmt::format("received {} of {} messages (egress overflow {})", received.load(),
                            o.messages, bus.stats().egress_overflow.load());
      return r;
    }
    rates.push_back(static_cast<double>(o.messages) / seconds);
  }
  std::sort(rates.begin(), rates.end());
  r.msgs_per_s = rates[rates.size() / 2];

  // Latency, one at a time.
  std::vector<double> us;
  us.reserve(static_cast<size_t>(o.samples));
  for (int64_t i = 0; i < o.samples; ++i) {
    const auto t0 = Clock::now();
    send();
    if (!receive(std::chrono::milliseconds(5000))) {
      r.error = "a latency probe did not come back within 5 s";
      return r;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  r.p50_us = us[us.size() / 2];
  r.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  r.overflow = bus.stats().egress_overflow.load();
  push.close();
  sub.close();
  bus.Stop();
  r.ok = r.overflow == 0;
  if (!r.ok) r.error = fmt::format("egress overflow {}", r.overflow);
  return r;
}

// One line of the shared benchmark table (tests/bench/README.md): `@row {json}`, keys in the
// agreed order. Whole numbers print without a fraction.
void Row(const std::string& figure, double value, const std::string& unit, double baseline) {
  auto number = [](double v) {
    return v == std::floor(v) ? nlohmann::ordered_json(static_cast<int64_t>(v))
                              : nlohmann::ordered_json(v);
  };
  nlohmann::ordered_json j;
  j["group"] = "bus-tcp";
  j["figure"] = figure;
  j["value"] = number(value);
  j["unit"] = unit;
  j["baseline"] = "plain TCP";
  j["baseline_value"] = number(baseline);
  j["ratio"] = baseline > 0 ? std::round(value / baseline * 100) / 100 : 0;
  fmt::print("@row {}\n", j.dump());
}

bool ParseInt(const char* text, int64_t min, int64_t* out) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < min) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    int64_t* target = a == "--messages"     ? &o.messages
                      : a == "--window"     ? &o.window
                      : a == "--samples"    ? &o.samples
                      : a == "--repeat"     ? &o.repeat
                      : a == "--body-bytes" ? &o.body_bytes
                                            : nullptr;
    if (target == nullptr || i + 1 >= argc || !ParseInt(argv[++i], 1, target)) {
      fmt::print(stderr,
                 "usage: bus_tcp_bench [--messages N] [--window N] [--samples N] [--repeat N] "
                 "[--body-bytes N]\n");
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  std::string error;
  if (!kordon::curve::CurveAvailable()) {
    fmt::print(stderr, "bus_tcp_bench: libzmq has no CURVE\n");
    return 1;
  }
  auto server = kordon::curve::GenerateKeyPair(&error);
  auto client = kordon::curve::GenerateKeyPair(&error);
  if (!server || !client) {
    fmt::print(stderr, "bus_tcp_bench: {}\n", error);
    return 1;
  }
  const Keys keys{*server, *client};
  fmt::print("bus over TCP (127.0.0.1): {} B bodies, {} messages x {} (median), window {}, "
             "{} latency samples\n",
             o.body_bytes, o.messages, o.repeat, o.window, o.samples);
  const Result plain = Run(o, nullptr);
  const Result secure = Run(o, &keys);
  for (const auto& [name, r] : {std::pair{"plain TCP", &plain}, std::pair{"CURVE", &secure}}) {
    if (!r->ok) {
      fmt::print(stderr, "bus_tcp_bench: {} run failed: {}\n", name, r->error);
      return 1;
    }
    fmt::print("  {:<10} {:>10.0f} msg/s   latency p50 {:>7.1f} us   p99 {:>7.1f} us\n", name,
               r->msgs_per_s, r->p50_us, r->p99_us);
  }
  fmt::print("  CURVE / plain: throughput {:.2f}, p50 latency {:.2f}\n",
             secure.msgs_per_s / plain.msgs_per_s, secure.p50_us / plain.p50_us);
  const std::string size = fmt::format("{} B", o.body_bytes);
  Row("TCP " + size + " CURVE: msg/s", std::round(secure.msgs_per_s), "msg/s",
      std::round(plain.msgs_per_s));
  Row("TCP " + size + " CURVE: latency p50", std::round(secure.p50_us * 10) / 10, "us",
      std::round(plain.p50_us * 10) / 10);
  Row("TCP " + size + " CURVE: latency p99", std::round(secure.p99_us * 10) / 10, "us",
      std::round(plain.p99_us * 10) / 10);
  return 0;
}
