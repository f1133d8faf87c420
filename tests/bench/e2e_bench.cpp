// e2e_bench: end to end through the demo site — a plate camera's bytes on the wire to the
// console's Server-Sent Event that shows the result — and the host's resident memory while it
// runs the demo site (see README.md here).
//
//   this program (the lane-1 plate camera, its JSON-lines feed over TCP)
//     --> plate-reader --> scanner.plate.read --> crossings (crossing.opened) --> risk-rules
//     --> risk.assessment --> console --> SSE at a logged-in page (this program)
//   and, for a plate on the demo watchlist:
//     scanner.plate.read --> watchlist (db.watchlist.hit) --> procedure supervisor-alert.lua
//     --> alert.raised --> console --> SSE
//
// The host runs config/demo.ini as shipped — every plugin, every procedure — rewritten only
// where a run must differ: loopback ports chosen at start, files in a temp directory, absolute
// paths. kordon-site-sim plays every other device, idle (--count 0),
// so the devices are connected as at a site; lane 1's plate camera is this program. Reads are
// paced at --rate (the path, not a queue); every tenth plate is on the demo watchlist. The
// baseline is the same read's scanner.plate.read event at the page: device, plugin, bus and
// console with nothing in between.
//
// Memory: VmRSS and VmHWM of kordon-host from /proc/PID/status, idle after start (every
// plugin loaded, devices connected, a page open) and after the load, with where it goes
// (/proc/PID/smaps: heap, thread stacks, other anonymous memory, mapped files).
//
// Exit status: 0; 1 when the site did not start or a read's result never reached the page;
// 2 on a usage error.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "accounts.h"
#include "bench_row.h"
#include "bench_stats.h"
#include "host_harness.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::bench::NowNs;
using kordon::bench::Percentile;
using namespace std::chrono_literals;
using namespace kordon::testing;

constexpr double kGoalUs = 2000;
constexpr double kGoalMiB = 30;
// Two of the demo watchlist's vehicles registered in KG (the reads say country KG), each with
// its entry's reason (config/demo-watchlist.csv), which supervisor-alert.lua's alert quotes.
struct ListedVehicle {
  const char* plate;
  const char* reason;
};
const ListedVehicle kListed[] = {{"01KG777AAA", "Demo: vehicle linked to smuggling"},
                                 {"01KG555BBB", "Demo: unpaid customs duty"}};

// Wall clock, the clock of the envelopes' time_us.
int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- /proc ------------------------------------------------------------------------------------

// A "Name:   123 kB" field of /proc/PID/status, in KiB (-1 when absent).
int64_t StatusKib(int64_t pid, const std::string& field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atoll(line.c_str() + field.size() + 1);
  return -1;
}

// Resident KiB by kind of mapping, from /proc/PID/smaps. Thread stacks are the anonymous
// mappings just above a one-page guard (what glibc's pthread_create makes); malloc's
// per-thread arenas are anonymous mappings followed by their large PROT_NONE reserve; "other
// anonymous" is the rest (large allocations malloc maps on their own, ZeroMQ, SQLite).
std::map<std::string, int64_t> SmapsBreakdown(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/smaps", pid));
  std::map<std::string, int64_t> kib;
  std::string line, kind;
  bool previous_guard = false;
  int64_t last_kib = 0;
  while (std::getline(in, line)) {
    // A mapping's header: "start-end perms offset dev inode [path]".
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') < 17 && line.find(':') != std::string::npos &&
        line.find(" kB") == std::string::npos) {
      std::istringstream h(line);
      std::string range, perms, offset, dev, inode, path;
      h >> range >> perms >> offset >> dev >> inode;
      std::getline(h, path);
      path.erase(0, path.find_first_not_of(' '));
      const uint64_t from = std::strtoull(range.c_str(), nullptr, 16);
      const uint64_t to = std::strtoull(range.c_str() + range.find('-') + 1, nullptr, 16);
      const bool none = perms.rfind("---p", 0) == 0 && path.empty();
      // An arena's used part comes right before its reserve: reclassify when it shows.
      if (none && to - from > (64 << 10) && kind == "other anonymous (mmap'd blocks, buffers)" &&
          last_kib > 0) {
        kib[kind] -= last_kib;
        kib["malloc arenas of threads"] += last_kib;
      }
      last_kib = 0;
      const bool guard = none && to - from <= (64 << 10);
      if (path == "[heap]") kind = "heap (main arena)";
      else if (path == "[stack]") kind = "main stack";
      else if (none) kind = "reserve";
      else if (path.empty() && previous_guard) kind = "thread stacks";
      else if (path.empty()) kind = "other anonymous (mmap'd blocks, buffers)";
      else if (path.find(".so") != std::string::npos) kind = "shared libraries and plugins";
      else if (path[0] == '[') kind = "kernel ([vdso] ...)";
      else kind = "other files (" + std::filesystem::path(path).filename().string() + ")";
      if (kind.rfind("other files", 0) == 0 && path.find("sqlite") != std::string::npos)
        kind = "SQLite files (shared memory, WAL index)";
      previous_guard = guard;
    } else if (line.rfind("Rss:", 0) == 0) {
      last_kib = std::atoll(line.c_str() + 4);
      kib[kind] += last_kib;
    }
  }
  return kib;
}

struct Memory {
  double rss_mib = 0, hwm_mib = 0;
  int64_t threads = 0;
  std::map<std::string, int64_t> breakdown;
};

Memory ReadMemory(int64_t pid) {
  Memory m;
  m.rss_mib = static_cast<double>(StatusKib(pid, "VmRSS")) / 1024;
  m.hwm_mib = static_cast<double>(StatusKib(pid, "VmHWM")) / 1024;
  m.threads = StatusKib(pid, "Threads");
  m.breakdown = SmapsBreakdown(pid);
  return m;
}

void PrintMemory(const char* when, const Memory& m) {
  fmt::print("  kordon-host {}: VmRSS {:.1f} MiB, VmHWM {:.1f} MiB, {} threads\n", when,
             m.rss_mib, m.hwm_mib, m.threads);
  std::vector<std::pair<int64_t, std::string>> parts;
  for (const auto& [k, v] : m.breakdown) parts.emplace_back(v, k);
  std::sort(parts.rbegin(), parts.rend());
  for (const auto& [v, k] : parts)
    if (v >= 64) fmt::print("      {:>8.1f} MiB  {}\n", static_cast<double>(v) / 1024, k);
}

// --- The demo site's configuration, rewritten for a run -------------------------------------

// config/demo.ini with: ports chosen at start (the bus, the console), device links mapped to
// `ports` (by the demo's offset from 7410), files in `dir`, paths made absolute, libraries from
// this build, and a ready file.
// `without`: instances left out (diagnosis of where time or memory goes; not the shipped site).
std::string SiteConfig(const TempDir& dir, const std::vector<uint16_t>& ports,
                       const std::string& users, const std::vector<std::string>& without) {
  std::ifstream in(SourcePath("config/demo.ini"));
  std::string line, out, section;
  bool skip = false;
  const std::regex key_value(R"(^\s*([A-Za-z0-9_.]+)\s*=\s*(.*?)\s*$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!line.empty() && line[0] == '[') {
      section = line;
      skip = std::any_of(without.begin(), without.end(),
                         [&](const std::string& w) { return line == "[plugin." + w + "]"; });
      if (skip) continue;
      out += line + "\n";
      if (section == "[host]")
        out += "ready_file = " + dir.File("ready.json") + "\n";
      continue;
    }
    if (skip) continue;
    if (!std::regex_match(line, m, key_value)) {
      out += line + "\n";
      continue;
    }
    const std::string key = m[1], value = m[2];
    std::string v = value;
    for (size_t p; (p = v.find("/tmp/kordon-demo")) != std::string::npos;)
      v.replace(p, 16, dir.path());
    if (key == "bus.ingress" || key == "bus.egress") v = "tcp://127.0.0.1:*";
    else if (key == "listen") v = "127.0.0.1:0";
    else if (key == "users") v = users;
    else if (key == "library") v = SitePlugin(v.substr(0, v.size() - 3));
    else if ((key == "import" || key == "profile" || key == "script") && v[0] != '/')
      v = SourcePath(v);
    else if (key == "link" && v.rfind("tcp://127.0.0.1:", 0) == 0) {
      const int offset = std::atoi(v.c_str() + 16) - 7410;
      if (offset >= 0 && offset < static_cast<int>(ports.size()))
        v = fmt::format("tcp://127.0.0.1:{}", ports[static_cast<size_t>(offset)]);
    }
    out += key + " = " + v + "\n";
  }
  return out;
}

// A plate unlike the previous vehicles' (the crossings plugin takes a plate one OCR error away
// from the lane's current one for the same vehicle): 8 characters drawn from i.
std::string VehiclePlate(int i) {
  static const char kChars[] = "ABCEHKMPTX0123456789";
  uint64_t x = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  std::string plate;
  for (int k = 0; k < 8; ++k) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 32;
    plate += kChars[x % 20];
  }
  return plate;
}

// --- The run ----------------------------------------------------------------------------------

struct Options {
  int crossings = 500;
  int rate = 50;  // reads per second
  int listed_every = 10;
  std::vector<std::string> without;  // --without INSTANCE (diagnosis only)
};

// What the page saw, by plate (a plate's latest read).
struct Seen {
  std::mutex mutex;
  std::map<std::string, int64_t> sent_ns;       // plate -> its latest read's send time
  std::map<std::string, int64_t> read_ns;       // scanner.plate.read at the page
  std::map<std::string, int64_t> assessed_ns;   // first risk.assessment of its crossing
  std::map<std::string, int64_t> alert_ns;      // alert.raised by supervisor-alert
  std::map<std::string, std::string> plate_of;  // crossing id -> plate
  // Where the time goes, from the envelopes' publish times (wall clock, µs): per plate, the
  // send, the read's publish, the crossing's opening, the assessment's publish.
  std::map<std::string, int64_t> sent_wall, read_pub, opened_pub;
  std::vector<double> hop_reader, hop_crossings, hop_risk, hop_console;
  std::vector<double> read_us, assessed_us, alert_us;
  uint64_t events = 0;
};

void OnEvent(Seen& s, const nlohmann::json& e, int64_t now) {
  const std::string topic = e.value("topic", "");
  const nlohmann::json& body = e.contains("body") ? e["body"] : nlohmann::json::object();
  std::lock_guard<std::mutex> lock(s.mutex);
  ++s.events;
  auto record = [&](const std::string& plate, std::map<std::string, int64_t>& at,
                    std::vector<double>& out) {
    auto sent = s.sent_ns.find(plate);
    if (sent == s.sent_ns.end() || at.count(plate)) return;
    at[plate] = now;
    out.push_back(static_cast<double>(now - sent->second) / 1000.0);
  };
  const int64_t published = e.value("time_us", int64_t{0});
  if (topic == "scanner.plate.read" && body.is_object()) {
    const std::string plate = body.value("plate", "");
    if (s.sent_wall.count(plate) && !s.read_ns.count(plate)) {
      s.read_pub[plate] = published;
      s.hop_reader.push_back(static_cast<double>(published - s.sent_wall[plate]));
    }
    record(plate, s.read_ns, s.read_us);
  } else if (topic == "crossing.opened" && body.is_object() && body["plate"].is_string()) {
    const std::string plate = body["plate"].get<std::string>();
    s.plate_of[body.value("id", "")] = plate;
    if (s.read_pub.count(plate)) {
      s.opened_pub[plate] = published;
      s.hop_crossings.push_back(static_cast<double>(published - s.read_pub[plate]));
    }
  } else if (topic == "risk.assessment" && body.is_object()) {
    auto p = s.plate_of.find(body.value("crossing_id", ""));
    if (p != s.plate_of.end() && !s.assessed_ns.count(p->second) &&
        s.opened_pub.count(p->second) && s.sent_ns.count(p->second)) {
      s.hop_risk.push_back(static_cast<double>(published - s.opened_pub[p->second]));
      s.hop_console.push_back(static_cast<double>(WallUs() - published));
    }
    if (p != s.plate_of.end()) record(p->second, s.assessed_ns, s.assessed_us);
  } else if (topic == "alert.raised" && body.is_object() &&
             body.value("source", "") == "procedure:supervisor-alert") {
    // The alert names the entry, not the read: it belongs to the latest read of the vehicle
    // whose entry's reason it quotes. (Not simply the latest listed read: on a loaded machine
    // the alert for one listed read can come after the next listed read was sent.)
    const std::string reason = body.value("reason", "");
    for (const ListedVehicle& v : kListed)
      if (reason.find(v.reason) != std::string::npos) record(v.plate, s.alert_ns, s.alert_us);
  }
}

int Run(const Options& o) {
  const auto t_begin = Clock::now();
  auto since = [&t_begin] { return std::chrono::duration<double>(Clock::now() - t_begin).count(); };
  TempDir dir;
  std::string why;
  // The idle devices of the other lanes.
  const std::string sim_bin =
      (std::filesystem::path(HostBinary()).parent_path() / "kordon-site-sim").string();
  auto sim = ChildProcess::Spawn({sim_bin, "--base-port", "0", "--count", "0", "--quiet",
                                  "--xray-dir", dir.File("xray-spool"), "--manifests",
                                  dir.File("manifests.jsonl")},
                                 dir.File("sim.out"), dir.File("sim.err"), &why);
  std::vector<uint16_t> ports;
  for (auto deadline = Clock::now() + 5s; sim && Clock::now() < deadline;) {
    const std::string text = sim->ReadStdout();
    if (text.find("\nready") != std::string::npos) {
      std::regex port_re(R"(listening \S+ \S+ [0-9.]+:(\d+))");
      for (std::sregex_iterator i(text.begin(), text.end(), port_re), end; i != end; ++i)
        ports.push_back(static_cast<uint16_t>(std::stoi((*i)[1].str())));
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (ports.size() != 9) {
    fmt::print(stderr, "e2e_bench: kordon-site-sim did not start: {} {}\n", why,
               sim ? sim->ReadStderr() : "");
    return 1;
  }
  // Lane 1's plate camera (the demo's offset 1) is this program: a TCP server the plugin
  // connects to, pushing JSON lines.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener, 4) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::perror("e2e_bench: camera socket");
    return 1;
  }
  ports[1] = ntohs(a.sin_port);

  const std::string users = dir.File("users.sqlite");
  {
    auto store = kordon::console::UserStore::Open(users, false, &why);
    if (!store ||
        !store->Add("bench", "bench-password", kordon::console::Role::kSupervisor, 1, &why)) {
      fmt::print(stderr, "e2e_bench: users file: {}\n", why);
      return 1;
    }
  }
  HostProcess host(dir, SiteConfig(dir, ports, users, o.without));
  if (!host.WaitReady(30s, &why) || !host.WaitForLog("console listening on", 10s)) {
    fmt::print(stderr, "e2e_bench: the demo site did not start: {}\n{}\n", why, host.Log());
    return 1;
  }
  const int64_t pid = host.ready().pid;
  const double t_ready = since();
  std::smatch m;
  const std::string log = host.Log();
  if (!std::regex_search(log, m, std::regex("listening on http://127\\.0\\.0\\.1:(\\d+)/"))) {
    fmt::print(stderr, "e2e_bench: no console port in the log\n{}\n", log);
    return 1;
  }
  const int port = std::stoi(m[1].str());
  // The plugin connects to its camera (with backoff, so wait a while).
  timeval tv{10, 0};
  ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const int camera = ::accept(listener, nullptr, nullptr);
  if (camera < 0) {
    fmt::print(stderr, "e2e_bench: plate-reader did not connect to the camera\n");
    return 1;
  }
  const int one = 1;
  ::setsockopt(camera, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  httplib::Client http("127.0.0.1", port);
  auto login = http.Post("/api/login", R"({"user":"bench","password":"bench-password"})",
                         "application/json");
  if (!login || login->status != 200) {
    fmt::print(stderr, "e2e_bench: console login failed\n");
    return 1;
  }
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  Seen seen;
  std::atomic<bool> stop{false}, open{false};
  std::thread sse([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    std::string buffer;
    // Open once the console has answered with its headers (events may not come for a while).
    auto headers = [&](const httplib::Response& r) {
      open = r.status == 200;
      return r.status == 200;
    };
    c.Get("/events", {{"Cookie", cookie}}, headers, [&](const char* data, size_t n) {
      const int64_t now = NowNs();
      buffer.append(data, n);
      for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
        const std::string frame = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        const size_t d = frame.find("data: ");
        if (d == std::string::npos) continue;
        auto j = nlohmann::json::parse(frame.substr(d + 6), nullptr, false);
        if (j.is_object()) OnEvent(seen, j, now);
        if (std::getenv("E2E_BENCH_DUMP") != nullptr)  // debugging: every event on stderr
          fmt::print(stderr, "{}\n", frame.substr(0, 300));
      }
      return !stop.load();
    });
  });
  for (auto deadline = Clock::now() + 10s; !open && Clock::now() < deadline;)
    std::this_thread::sleep_for(10ms);
  // Let start-up settle (device states, procedures loaded), then the idle figure.
  std::this_thread::sleep_for(1500ms);
  const Memory idle = ReadMemory(pid);
  const double t_idle = since();

  const auto start = Clock::now();
  const auto period = std::chrono::nanoseconds(1000000000LL / std::max(1, o.rate));
  int listed = 0;
  for (int i = 0; i < o.crossings; ++i) {
    std::this_thread::sleep_until(start + period * i);
    const bool on_list = o.listed_every > 0 && i % o.listed_every == o.listed_every - 1;
    const std::string plate = on_list ? kListed[listed++ % 2].plate : VehiclePlate(i);
    const std::string line = fmt::format(
        R"({{"plate":"{}","confidence":0.95,"country":"KG","camera":"lane1-anpr","id":"{}"}})"
        "\n",
        plate, i);
    {
      std::lock_guard<std::mutex> lock(seen.mutex);
      seen.sent_wall[plate] = WallUs();
      seen.read_pub.erase(plate);
      seen.opened_pub.erase(plate);
      seen.sent_ns[plate] = NowNs();
      seen.read_ns.erase(plate);
      seen.assessed_ns.erase(plate);
      seen.alert_ns.erase(plate);
    }
    const ssize_t written = ::send(camera, line.data(), line.size(), MSG_NOSIGNAL);
    if (written != static_cast<ssize_t>(line.size())) {
      fmt::print(stderr, "e2e_bench: the camera connection broke\n");
      break;
    }
  }
  const size_t expect_alerts = static_cast<size_t>(listed);
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    {
      std::lock_guard<std::mutex> lock(seen.mutex);
      if (seen.assessed_us.size() >= static_cast<size_t>(o.crossings) &&
          seen.alert_us.size() >= expect_alerts)
        break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(200ms);
  const Memory loaded = ReadMemory(pid);
  const double t_loaded = since();
  stop = true;
  ::close(camera);
  ::close(listener);
  host.StopWith(SIGTERM, 20s);
  sse.join();
  fmt::print("  phases (s from the start): host ready {:.1f}, idle figure {:.1f}, "
             "load done {:.1f}, host stopped {:.1f}\n", t_ready, t_idle, t_loaded, since());

  std::lock_guard<std::mutex> lock(seen.mutex);
  const double r50 = Percentile(seen.read_us, 0.5), r99 = Percentile(seen.read_us, 0.99);
  const double a50 = Percentile(seen.assessed_us, 0.5), a99 = Percentile(seen.assessed_us, 0.99);
  const double l50 = Percentile(seen.alert_us, 0.5), l99 = Percentile(seen.alert_us, 0.99);
  std::string left_out;
  for (const std::string& w : o.without) left_out += " " + w;
  fmt::print("e2e_bench: demo site (config/demo.ini{}), {} plate reads at {}/s on lane 1, one in "
             "{} on the watchlist; {} events at the page\n",
             left_out.empty() ? "" : ", without" + left_out, o.crossings, o.rate, o.listed_every,
             seen.events);
  fmt::print("  bytes on the wire -> at the console (SSE)           seen   p50 us   p99 us\n");
  fmt::print("  scanner.plate.read (baseline: no crossing, risk)  {:>6} {:>8.0f} {:>8.0f}\n",
             seen.read_us.size(), r50, r99);
  fmt::print("  risk.assessment of the crossing                   {:>6} {:>8.0f} {:>8.0f}\n",
             seen.assessed_us.size(), a50, a99);
  fmt::print("  alert.raised by supervisor-alert.lua (watchlist)  {:>6} {:>8.0f} {:>8.0f}\n",
             seen.alert_us.size(), l50, l99);
  fmt::print("  goal: p99 <= {:.0f} us\n", kGoalUs);
  fmt::print("  where the time goes (envelope publish times, wall clock)  p50 us   p99 us\n");
  auto hop = [](const char* what, const std::vector<double>& v) {
    fmt::print("    {:<54} {:>7.0f} {:>8.0f}\n", what, Percentile(v, 0.5), Percentile(v, 0.99));
  };
  hop("wire -> scanner.plate.read published (plate-reader)", seen.hop_reader);
  hop("-> crossing.opened published (bus, crossings + SQLite)", seen.hop_crossings);
  hop("-> risk.assessment published (bus, risk-rules)", seen.hop_risk);
  hop("-> SSE event parsed at the page (bus, console, HTTP)", seen.hop_console);
  PrintMemory("idle after start", idle);
  PrintMemory(fmt::format("after {} reads", o.crossings).c_str(), loaded);

  const std::string load = fmt::format(" ({} reads at {}/s)", o.crossings, o.rate);
  kordon::bench::PrintRow({"end-to-end",
                           "plate bytes -> risk.assessment at the console, p99" + load, a99,
                           "us", "the same read's scanner.plate.read at the console, p99", r99,
                           r99 > 0 ? a99 / r99 : 0.0, "<= 2000 us", a99 <= kGoalUs});
  kordon::bench::PrintRow({"end-to-end", "plate bytes -> risk.assessment at the console, p50",
                           a50, "us", "scanner.plate.read at the console, p50", r50,
                           r50 > 0 ? a50 / r50 : 0.0, "", std::nullopt});
  kordon::bench::PrintRow({"end-to-end",
                           "watchlisted plate bytes -> Lua procedure's alert.raised at the "
                           "console, p99",
                           l99, "us", "scanner.plate.read at the console, p99", r99,
                           r99 > 0 ? l99 / r99 : 0.0, "<= 2000 us", l99 <= kGoalUs});
  kordon::bench::PrintRow({"memory", "kordon-host VmRSS, demo site idle after start", idle.rss_mib,
                           "MiB", "", std::nullopt, std::nullopt, "<= 30 MB",
                           idle.rss_mib <= kGoalMiB});
  kordon::bench::PrintRow({"memory", "kordon-host VmRSS after the end-to-end load",
                           loaded.rss_mib, "MiB", "", std::nullopt, std::nullopt, "<= 30 MB",
                           loaded.rss_mib <= kGoalMiB});
  kordon::bench::PrintRow({"memory", "kordon-host VmHWM (peak) after the end-to-end load",
                           loaded.hwm_mib, "MiB", "", std::nullopt, std::nullopt, "",
                           std::nullopt});
  const bool complete = seen.read_us.size() == static_cast<size_t>(o.crossings) &&
                        seen.assessed_us.size() == static_cast<size_t>(o.crossings) &&
                        seen.alert_us.size() == expect_alerts;
  if (!complete)
    fmt::print(stderr, "e2e_bench: results missing at the page (reads {}, assessments {}, "
                       "alerts {} of {}, {} expected)\n",
               seen.read_us.size(), seen.assessed_us.size(), seen.alert_us.size(),
               expect_alerts, o.crossings);
  return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--crossings" && i + 1 < argc) o.crossings = std::atoi(argv[++i]);
    else if (a == "--rate" && i + 1 < argc) o.rate = std::atoi(argv[++i]);
    else if (a == "--listed-every" && i + 1 < argc) o.listed_every = std::atoi(argv[++i]);
    else if (a == "--without" && i + 1 < argc) o.without.push_back(argv[++i]);
    else {
      fmt::print(stderr, "usage: e2e_bench [--crossings N] [--rate PER_S] [--listed-every N] "
                         "[--without INSTANCE]...\n");
      return 2;
    }
  }
  if (o.crossings < 1 || o.rate < 1 || o.rate > 1000 || o.listed_every < 0) {
    fmt::print(stderr, "e2e_bench: --crossings >= 1, --rate 1..1000, --listed-every >= 0\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return Run(o);
}
