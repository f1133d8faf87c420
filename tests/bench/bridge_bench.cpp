// bridge_bench — messages per second over a bridge link (plugins/bridge: outbox read, KBL/1
// over TCP on loopback, applied-id commit, cumulative acks, outbox delete), with CURVE and
// with plain TCP in the same run, and the ratio; beside the same figures for bare ZeroMQ
// DEALER -> ROUTER (no outbox, no acks), which is what CURVE costs on the wire alone.
//
// The sender's outbox is filled first, with the receiver down; the clock runs from the first
// message received to the last, so the figure is the link draining a backlog (what happens
// after a cut), not the SQLite insert rate of the forwarding side.
//
//   bridge_bench [--messages N] [--body-bytes N] [--dir DIR] [--repeat N]
//
// Exit status 1 when a run does not deliver every message exactly once, in order.

#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge_engine.h"
#include "curve.h"
#include "bench_row.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace kordon::bridge;

struct Options {
  int messages = 50000;
  int body_bytes = 200;
  int repeat = 3;
  std::string dir = fs::exists("/dev/shm") ? "/dev/shm" : "/tmp";
};

struct Result {
  double per_second = 0;
  bool ok = false;
};

std::string Body(int n, int bytes) {
  std::string body = "{\"n\":" + std::to_string(n) + ",\"pad\":\"";
  body.append(static_cast<size_t>(std::max(0, bytes - static_cast<int>(body.size()) - 2)), 'x');
  return body + "\"}";
}

Result BridgeRun(const Options& o, bool secure) {
  char tmpl[4096];
  std::snprintf(tmpl, sizeof(tmpl), "%s/kordon-bridge-bench-XXXXXX", o.dir.c_str());
  const std::string dir = ::mkdtemp(tmpl);
  std::string error;
  auto ka = kordon::curve::GenerateKeyPair(&error);
  auto kb = kordon::curve::GenerateKeyPair(&error);
  Result r;
  {
    // The receiver's port first (bound, then stopped), so that the sender can queue for it.
    EngineOptions b;
    b.site = "site-b";
    b.listen = "tcp://127.0.0.1:*";
    b.outbox_path = dir + "/b-out.db";
    b.applied_path = dir + "/b-applied.db";
    if (secure) {
      b.secret_key = kb->secret_key;
      b.allowed_keys = {ka->public_key};
    }
    std::string endpoint;
    {
      Engine probe(b, {});
      if (!probe.Start(&error)) {
        std::fprintf(stderr, "bridge_bench: %s\n", error.c_str());
        return r;
      }
      endpoint = probe.bound_endpoint();
    }
    b.listen = endpoint;

    EngineOptions a;
    a.site = "site-a";
    a.partners = {{"site-b", endpoint, secure ? kb->public_key : ""}};
    a.outbox_path = dir + "/a-out.db";
    a.outbox_limit = o.messages + 1;
    a.window = 2048;
    if (secure) a.secret_key = ka->secret_key;
    Engine sender(a, {});
    if (!sender.Start(&error)) {
      std::fprintf(stderr, "bridge_bench: %s\n", error.c_str());
      return r;
    }
    for (int i = 0; i < o.messages; ++i) {
      MessageHeader h;
      h.origin = "site-a";
      char id[33];
      std::snprintf(id, sizeof(id), "%032x", i + 1);
      h.id = id;
      h.topic = "alert.raised";
      std::vector<std::string> full;
      if (!sender.Enqueue(h, Body(i, o.body_bytes), &full, &error) || !full.empty()) {
        std::fprintf(stderr, "bridge_bench: enqueue: %s\n", error.c_str());
        return r;
      }
    }

    std::atomic<int> received{0};
    std::atomic<bool> in_order{true};
    Clock::time_point first, last;
    EngineCallbacks cb;
    cb.deliver = [&](const Inbound& in) {
      const int n = received.load();
      if (n == 0) first = Clock::now();
      char id[33];
      std::snprintf(id, sizeof(id), "%032x", n + 1);
      if (in.header.id != id) in_order = false;
      received = n + 1;
      last = Clock::now();
      return Delivery::kPublished;
    };
    Engine receiver(b, cb);
    if (!receiver.Start(&error)) {
      std::fprintf(stderr, "bridge_bench: %s\n", error.c_str());
      return r;
    }
    const auto deadline = Clock::now() + 120s;
    while (Clock::now() < deadline &&
           (received.load() < o.messages || sender.Snapshot()[0].backlog > 0))
      std::this_thread::sleep_for(2ms);
    const double s = std::chrono::duration<double>(last - first).count();
    r.per_second = s > 0 ? (received.load() - 1) / s : 0;
    r.ok = received.load() == o.messages && in_order && sender.Snapshot()[0].backlog == 0 &&
           receiver.inbound().duplicates == 0;
    receiver.Stop();
    sender.Stop();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

// Bare ZeroMQ: the same bodies DEALER -> ROUTER, then one reply when all are in.
Result ZmqRun(const Options& o, bool secure) {
  std::string error;
  auto ka = kordon::curve::GenerateKeyPair(&error);
  auto kb = kordon::curve::GenerateKeyPair(&error);
  void* ctx = zmq_ctx_new();
  void* router = zmq_socket(ctx, ZMQ_ROUTER);
  void* dealer = zmq_socket(ctx, ZMQ_DEALER);
  int one = 1, zero = 0, hwm = 0;
  for (void* s : {router, dealer}) {
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  }
  if (secure) {
    zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof(one));
    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, kb->secret_key.c_str(), 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, kb->public_key.c_str(), 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, ka->public_key.c_str(), 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, ka->secret_key.c_str(), 40);
  }
  zmq_bind(router, "tcp://127.0.0.1:*");
  char endpoint[128];
  size_t size = sizeof(endpoint);
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size);
  zmq_connect(dealer, endpoint);
  // Connected (and handshaken) before the clock starts.
  zmq_send(dealer, "x", 1, 0);
  char buf[4096];
  zmq_recv(router, buf, sizeof(buf), 0);
  zmq_recv(router, buf, sizeof(buf), 0);
  const std::string body = Body(0, o.body_bytes);
  const std::string header(160, 'h');  // about the size of a KBL/1 header
  const auto start = Clock::now();
  std::thread producer([&] {
    for (int i = 0; i < o.messages; ++i) {
      zmq_send(dealer, header.data(), header.size(), ZMQ_SNDMORE);
      zmq_send(dealer, body.data(), body.size(), 0);
    }
  });
  int got = 0;
  for (; got < o.messages; ++got) {
    zmq_recv(router, buf, sizeof(buf), 0);  // routing id
    zmq_recv(router, buf, sizeof(buf), 0);  // header
    zmq_recv(router, buf, sizeof(buf), 0);  // body
  }
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  producer.join();
  zmq_close(router);
  zmq_close(dealer);
  zmq_ctx_term(ctx);
  return {o.messages / s, got == o.messages};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--messages") o.messages = std::max(10, std::atoi(next()));
    else if (a == "--body-bytes") o.body_bytes = std::max(16, std::atoi(next()));
    else if (a == "--repeat") o.repeat = std::max(1, std::atoi(next()));
    else if (a == "--dir") o.dir = next();
    else {
      std::fprintf(stderr, "usage: bridge_bench [--messages N] [--body-bytes N] [--repeat N] "
                           "[--dir DIR]\n");
      return 2;
    }
  }
  if (!kordon::curve::CurveAvailable()) {
    std::fprintf(stderr, "bridge_bench: libzmq has no CURVE\n");
    return 1;
  }
  std::printf("bridge_bench: %d messages of %d-byte bodies, files in %s, best of %d\n",
              o.messages, o.body_bytes, o.dir.c_str(), o.repeat);
  Result best[4];
  bool ok = true;
  for (int r = 0; r < o.repeat; ++r) {
    const Result runs[4] = {BridgeRun(o, false), BridgeRun(o, true), ZmqRun(o, false),
                            ZmqRun(o, true)};
    for (int k = 0; k < 4; ++k) {
      ok = ok && runs[k].ok;
      best[k].per_second = std::max(best[k].per_second, runs[k].per_second);
    }
  }
  std::printf("  bridge link, plain TCP : %10.0f msg/s\n", best[0].per_second);
  std::printf("  bridge link, CURVE     : %10.0f msg/s   CURVE/plain %.2f\n", best[1].per_second,
              best[0].per_second > 0 ? best[1].per_second / best[0].per_second : 0);
  std::printf("  bare ZeroMQ, plain TCP : %10.0f msg/s\n", best[2].per_second);
  std::printf("  bare ZeroMQ, CURVE     : %10.0f msg/s   CURVE/plain %.2f\n", best[3].per_second,
              best[2].per_second > 0 ? best[3].per_second / best[2].per_second : 0);
  std::printf("  bridge / bare ZeroMQ   : plain %.2f, CURVE %.2f\n",
              best[2].per_second > 0 ? best[0].per_second / best[2].per_second : 0,
              best[3].per_second > 0 ? best[1].per_second / best[3].per_second : 0);
  kordon::bench::PrintRow({"bridge", "bridge link, plain TCP", best[0].per_second, "msg/s",
                           "bare ZeroMQ DEALER -> ROUTER, plain", best[2].per_second,
                           best[2].per_second > 0 ? best[0].per_second / best[2].per_second : 0,
                           "", std::nullopt});
  kordon::bench::PrintRow({"bridge", "bridge link, CURVE", best[1].per_second, "msg/s",
                           "bare ZeroMQ DEALER -> ROUTER, CURVE", best[3].per_second,
                           best[3].per_second > 0 ? best[1].per_second / best[3].per_second : 0,
                           "", std::nullopt});
  if (!ok) {
    std::fprintf(stderr, "bridge_bench: a run lost, doubled or reordered messages\n");
    return 1;
  }
  return 0;
}
