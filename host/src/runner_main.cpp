// kordon-runner: runs one plugin instance in its own process for kordon-host (isolation =
// process). It loads the library with the host's own PluginLibrary and runs it in a
// PluginInstance, exactly as the host does in process; a small in-process bus (the same
// inproc endpoints the instance expects) is bridged to the host over one ZeroMQ PAIR socket
// on ipc://. The protocol is in host/README.md ("Process isolation").
//
// Threads: the main thread owns every socket of the bridge; the instance has its actor
// thread; a worker thread makes the lifecycle calls (which wait for the actor) so that the
// bridge keeps moving messages meanwhile.
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "bus.h"
#include "envelope.h"
#include "logging.h"
#include "plugin_instance.h"
#include "plugin_library.h"
#include "runner_link.h"
#include "schema.h"

using namespace kordon::host;

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kCallMarker[] = "$call:";  // a lifecycle answer riding the instance's publisher
constexpr char kSyncToken[] = "$runner-sync";

std::string_view View(const zmq::message_t& m) {
  return std::string_view(static_cast<const char*>(m.data()), m.size());
}

// Sends a multipart message to the host; false when the host took nothing within the link's
// send timeout (it is gone or stuck: the runner exits).
bool Send(zmq::socket_t& link, std::initializer_list<std::string_view> frames) {
  size_t i = 0;
  try {
    for (std::string_view f : frames) {
      auto flags = ++i == frames.size() ? zmq::send_flags::none : zmq::send_flags::sndmore;
      if (!link.send(zmq::const_buffer(f.data(), f.size()), flags)) return false;
    }
  } catch (const zmq::error_t&) {
    return false;
  }
  return true;
}

[[noreturn]] void Leave(int code, const std::string& why) {
  spdlog::error("kordon-runner: {}", why);
  // Plugin code may still run on other threads, and log: nothing is unloaded or destroyed under
  // it, not even the loggers (spdlog::shutdown would free them under a logging thread).
  spdlog::default_logger_raw()->flush();
  std::_Exit(code);
}

// This process's resident size (0 when /proc cannot be read).
uint64_t ResidentBytes() {
  unsigned long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  const int n = std::fscanf(f, "%lu %lu", &pages, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE))
                : 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Events the other threads hand to the main thread.
class Outbox {
 public:
  Outbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  int fd() const { return fd_; }
  void Push(std::string verb, std::string a, std::string b = "") {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.push_back({std::move(verb), std::move(a), std::move(b)});
    }
    uint64_t one = 1;
    ssize_t n = write(fd_, &one, sizeof(one));
    (void)n;
  }
  std::deque<std::array<std::string, 3>> Take() {
    uint64_t count;
    ssize_t n = read(fd_, &count, sizeof(count));
    (void)n;
    std::lock_guard<std::mutex> lock(mutex_);
    std::deque<std::array<std::string, 3>> out;
    out.swap(items_);
    return out;
  }

 private:
  int fd_;
  std::mutex mutex_;
  std::deque<std::array<std::string, 3>> items_;
};

}  // namespace

// Loads the plugin; with `signed_hash` (require_signed: the host verified the signature) only
// while the file is still those very bytes — in this process and at each restart.
Result<std::shared_ptr<PluginLibrary>> OpenLibrary(const std::string& path,
                                                   const std::string& signed_hash) {
  if (signed_hash.empty()) return PluginLibrary::Open(path);
  std::string error;
  std::optional<kordon::signing::Digest> digest = kordon::signing::HashFile(path, &error);
  if (!digest) return Status::InvalidArgument("signature check: " + error);
  if (kordon::signing::Hex(digest->hash.data(), digest->hash.size()) != signed_hash)
    return Status::InvalidArgument(fmt::format(
        "signature check: '{}' changed since the host verified its signature (hash "
        "mismatch); it was not loaded", path));
  return PluginLibrary::OpenVerified(path, digest->identity, signed_hash);
}

// `kordon-runner --describe FILE [--blake2b HEX]`: loads FILE here, in a process of its own,
// and prints its description (runner_link.h), so that the host never maps an isolated
// plugin's code.
int Describe(const std::string& path, const std::string& signed_hash) {
  SetUpLogging("warn");
  Result<std::shared_ptr<PluginLibrary>> library = OpenLibrary(path, signed_hash);
  if (!library.ok()) {
    std::fprintf(stderr, "%s\n", library.status().message().c_str());
    std::fflush(stderr);
    std::_Exit(library.status().code() == Status::Code::kVersion ? 3 : 2);
  }
  const std::string line =
      kDescriptionLine + DescriptionToJson(library.value()->description()).dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
  // No unloading, no destructors: the plugin's own static destructors are not ours to run.
  std::_Exit(0);
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--describe") return Describe(argv[2], "");
  if (argc == 5 && std::string_view(argv[1]) == "--describe" &&
      std::string_view(argv[3]) == "--blake2b")
    return Describe(argv[2], argv[4]);
  std::string endpoint, instance_name;
  long host_pid = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--connect")
      endpoint = argv[i + 1];
    else if (key == "--host-pid")
      host_pid = std::atol(argv[i + 1]);
    else if (key == "--instance")
      instance_name = argv[i + 1];
  }
  if (endpoint.empty() || host_pid <= 0) {
    std::fprintf(stderr,
                 "usage: kordon-runner --connect ipc://PATH --host-pid PID [--instance NAME]\n"
                 "       kordon-runner --describe PLUGIN.so [--blake2b HEX]\n"
                 "(started by kordon-host for instances with isolation = process)\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  SetUpLogging("info");

  zmq::context_t context(1);
  zmq::socket_t link(context, zmq::socket_type::pair);
  link.set(zmq::sockopt::linger, 0);
  link.set(zmq::sockopt::sndhwm, 100000);
  link.set(zmq::sockopt::rcvhwm, 100000);
  link.connect(endpoint);
  if (!Send(link, {kVerbHello, nlohmann::json{{"pid", static_cast<int64_t>(getpid())}}.dump()}))
    Leave(4, "cannot greet the host at " + endpoint);

  // The init document.
  RunnerInit init;
  {
    zmq::pollitem_t item{link.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::seconds(10));
    std::vector<zmq::message_t> frames;
    if (!(item.revents & ZMQ_POLLIN) ||
        !zmq::recv_multipart(link, std::back_inserter(frames), zmq::recv_flags::dontwait) ||
        frames.size() != 2 || View(frames[0]) != kVerbInit)
      Leave(4, "no init document from the host within 10 s");
    auto j = nlohmann::json::parse(View(frames[1]), nullptr, false);
    Status s =
        j.is_object() ? DecodeRunnerInit(j, &init) : Status::InvalidArgument("init is not JSON");
    if (!s.ok()) Leave(4, s.message());
  }
  spdlog::set_level(spdlog::level::from_str(init.log_level));
  const auto host_silence =
      std::chrono::milliseconds(init.heartbeat_ms * (init.missed_heartbeats + 1) + 1000);
  link.set(zmq::sockopt::sndtimeo, static_cast<int>(host_silence.count()));

  if (init.instance.memory_limit_mb > 0 && kSanitized) {
    // ASan and TSan reserve terabytes of address space up front: RLIMIT_AS would stop the
    // runner itself, not the plugin.
    spdlog::warn("kordon-runner: memory_limit_mb is not applied in a sanitizer build");
  } else if (init.instance.memory_limit_mb > 0) {
    // A leaking plugin then fails its allocations (and usually dies) in its own process.
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(init.instance.memory_limit_mb) << 20;
    if (setrlimit(RLIMIT_AS, &limit) != 0)
      spdlog::warn("kordon-runner: cannot set memory_limit_mb = {}", init.instance.memory_limit_mb);
  }
  Result<std::shared_ptr<PluginLibrary>> library = OpenLibrary(init.library, init.library_blake2b);
  if (!library.ok()) {
    (void)Send(link, {kVerbFail, library.status().message()});
    Leave(2, library.status().message());
  }

  // The instance's side of the bus, in this process: it publishes into kInprocIn and
  // subscribes to kInprocOut, as in the host.
  zmq::socket_t in(context, zmq::socket_type::pull);
  in.set(zmq::sockopt::rcvhwm, static_cast<int>(init.bus.queue_limit));
  in.bind(kInprocIn);
  zmq::socket_t out(context, zmq::socket_type::xpub);
  out.set(zmq::sockopt::sndhwm, static_cast<int>(init.bus.queue_limit));
  out.set(zmq::sockopt::xpub_nodrop, 1);
  out.bind(kInprocOut);

  // PluginInstance takes its context and limits from a Bus; this one is never started (the
  // bridge below stands in for its broker).
  Bus bus(context, init.bus, init.instance.name);
  MarkerBoard markers;
  Outbox outbox;
  std::atomic<uint64_t> dispatched{0};
  markers.on_seen = [&](const std::string&, const std::string& token) {
    outbox.Push(kVerbSeen, token);
  };
  kordon::schema::SchemaSet schemas;  // outlives the instance, which holds a pointer to it
  auto instance = std::make_unique<PluginInstance>(library.value(), init.instance, bus, markers,
                                                   std::chrono::milliseconds(init.call_timeout_ms));
  // validate_schemas: the runner checks what the plugin publishes as the host does in process,
  // so that a refused body fails the plugin's own publish call here too.
  if (init.validate_schemas != SchemaCheck::kOff) {
    std::string error;
    if (!schemas.Load(init.schema_dir, &error)) {
      const std::string why = "validate_schemas: the schemas cannot be read: " + error;
      (void)Send(link, {kVerbFail, why});
      Leave(4, why);
    }
    instance->SetSchemaCheck(&schemas, init.validate_schemas);
  }
  instance->SetDispatchHook([&] { dispatched.fetch_add(1, std::memory_order_relaxed); });
  instance->Launch();

  // Until the actor's subscriptions are live, nothing from the host may go to it.
  {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    bool synced = false;
    while (!synced && Clock::now() < deadline) {
      Envelope e = NewEnvelope(init.instance.name);
      out.send(zmq::str_buffer("$ctl.marker"), zmq::send_flags::sndmore);
      out.send(zmq::buffer(EncodeEnvelope(e)), zmq::send_flags::sndmore);
      out.send(zmq::buffer(std::string(kSyncToken)), zmq::send_flags::none);
      zmq::pollitem_t item{nullptr, outbox.fd(), ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      for (auto& ev : outbox.Take()) synced = synced || ev[1] == kSyncToken;
      zmq::message_t sub;
      while (out.recv(sub, zmq::recv_flags::dontwait)) {
      }
    }
    if (!synced) Leave(4, "the instance did not subscribe within 10 s");
  }

  std::thread worker;
  std::atomic<bool> destroyed{false};
  std::atomic<bool> in_call{false};  // the host sends nothing while it waits for a call
  auto run_call = [&](std::string call) {
    Status s;
    if (call == "create")
      s = instance->Create();
    else if (call == "start")
      s = instance->Start();
    else if (call == "stop")
      s = instance->Stop();
    else if (call == "destroy")
      instance->Destroy();
    else
      s = Status::InvalidArgument("unknown call '" + call + "'");
    nlohmann::json result = {
        {"ok", s.ok()}, {"message", s.message()}, {"stats", StatsToJson(instance->stats())}};
    if (call == "destroy") {
      instance->FlushLogs();
      result["stats"] = StatsToJson(instance->stats());
      destroyed = true;
      in_call = false;
      outbox.Push(kVerbDone, call, result.dump());
      return;
    }
    // Through the instance's own publisher: the answer reaches the host after everything the
    // plugin published during the call.
    std::string body = std::string(kCallMarker) + call + ":" + result.dump();
    if (!instance->SendMarker(body, std::chrono::milliseconds(init.bus.publish_timeout_ms)).ok())
      outbox.Push(kVerbDone, call, result.dump());
    in_call = false;
  };

  // memory_limit_mb is also watched as resident size: in a sanitizer build it is the only
  // limit (see above), and RLIMIT_AS alone misses a plugin that leaks slowly into pages it
  // reserved up front.
  const uint64_t memory_limit_bytes = static_cast<uint64_t>(init.instance.memory_limit_mb) << 20;
  auto next_memory_check = Clock::now();
  uint64_t acked = 0;
  auto last_from_host = Clock::now();
  bool done = false;
  while (!done) {
    zmq::pollitem_t items[] = {{link.handle(), 0, ZMQ_POLLIN, 0},
                               {in.handle(), 0, ZMQ_POLLIN, 0},
                               {out.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, outbox.fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 4, std::chrono::milliseconds(5));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      Leave(3, fmt::format("poll failed: {}", e.what()));
    }
    const auto now = Clock::now();
    if (in_call) last_from_host = now;
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 256; ++i) {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(link, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
        last_from_host = now;
        std::string_view verb = frames.empty() ? std::string_view() : View(frames[0]);
        if (verb == kVerbMsg && frames.size() == 4) {
          out.send(frames[1], zmq::send_flags::sndmore);
          out.send(frames[2], zmq::send_flags::sndmore);
          out.send(frames[3], zmq::send_flags::none);
        } else if (verb == kVerbCtl && frames.size() == 2) {
          Envelope e = NewEnvelope(init.instance.name);
          out.send(zmq::str_buffer("$ctl.marker"), zmq::send_flags::sndmore);
          out.send(zmq::buffer(EncodeEnvelope(e)), zmq::send_flags::sndmore);
          out.send(frames[1], zmq::send_flags::none);
        } else if (verb == kVerbCall && frames.size() == 2) {
          if (worker.joinable()) worker.join();  // one call at a time; the host waits for each
          in_call = true;
          worker = std::thread(run_call, frames[1].to_string());
        } else {
          spdlog::error("kordon-runner: unexpected message from the host ('{}', {} frames)", verb,
                        frames.size());
        }
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 256; ++i) {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(in, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
        if (frames.size() != 3) continue;  // cannot happen: BusPublisher sends three frames
        std::string_view topic = View(frames[0]), body = View(frames[2]);
        if (topic == "$ctl.marker" && body.substr(0, sizeof(kCallMarker) - 1) == kCallMarker) {
          body.remove_prefix(sizeof(kCallMarker) - 1);
          size_t colon = body.find(':');
          if (!Send(link, {kVerbDone, body.substr(0, colon), body.substr(colon + 1)}))
            Leave(5, "the host does not take messages any more");
          continue;
        }
        if (!Send(link, {kVerbPub, topic, View(frames[1]), body}))
          Leave(5, "the host does not take messages any more");
      }
    }
    if (items[2].revents & ZMQ_POLLIN) {
      zmq::message_t sub;
      while (out.recv(sub, zmq::recv_flags::dontwait)) {
      }
    }
    if (items[3].revents & ZMQ_POLLIN) {
      for (auto& ev : outbox.Take()) {
        if (ev[0] == kVerbSeen) {
          if (ev[1] == kSyncToken) continue;
          (void)Send(link, {kVerbSeen, ev[1]});
          if (ev[1].rfind(kHeartbeatPrefix, 0) == 0)
            (void)Send(link, {kVerbStats, StatsToJson(instance->stats()).dump()});
        } else {
          (void)Send(link, {ev[0], ev[1], ev[2]});
          if (ev[0] == kVerbDone && destroyed) done = true;
        }
      }
    }
    uint64_t n = dispatched.load(std::memory_order_relaxed);
    if (n != acked && Send(link, {kVerbAck, std::to_string(n)})) acked = n;
    if (memory_limit_bytes > 0 && now >= next_memory_check) {
      next_memory_check = now + std::chrono::milliseconds(100);
      const uint64_t resident = ResidentBytes();
      if (resident > memory_limit_bytes) {
        const std::string why =
            fmt::format("memory_limit_mb = {} exceeded: {} MB resident",
                        init.instance.memory_limit_mb, resident >> 20);
        (void)Send(link, {kVerbFail, why});
        Leave(6, why);
      }
    }
    if (!done && now - last_from_host > host_silence)
      Leave(
          5,
          fmt::format(
              "no word from the host for {} ms: it is gone; exiting",
              std::chrono::duration_cast<std::chrono::milliseconds>(now - last_from_host).count()));
    if (!done && getppid() != static_cast<pid_t>(host_pid))
      Leave(5, "the host process is gone; exiting");
  }
  if (worker.joinable()) worker.join();
  instance.reset();
  in.close();
  out.close();
  link.close();
  return 0;
}
