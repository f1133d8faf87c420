// Tests of the shared device layer (plugins/common/device_link, device_model): the link is run
// against a real TCP server on 127.0.0.1 and a real pseudo-terminal pair.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "device_link.h"
#include "device_model.h"

namespace {

using namespace kordon::device;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- support ------------------------------------------------------------------------------

// A TCP server on 127.0.0.1: port 0 picks an ephemeral port; a given port is re-bound
// (SO_REUSEADDR) so that a test can bring "the device" back on the same port.
class TcpServer {
 public:
  explicit TcpServer(uint16_t port = 0) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    const int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(listener_, 8) == 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~TcpServer() { Close(); }

  uint16_t port() const { return port_; }
  std::string link() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  // Accepts one client within `timeout`; false if none came.
  bool Accept(milliseconds timeout = milliseconds(3000)) {
    pollfd p{listener_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    client_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client_ < 0) return false;
    const int one = 1;
    setsockopt(client_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  void Send(std::string_view bytes) {
    REQUIRE(send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `count` bytes arrived or the timeout passed.
  std::string Receive(size_t count, milliseconds timeout = milliseconds(3000)) {
    std::string got;
    const auto deadline = Clock::now() + timeout;
    while (got.size() < count && Clock::now() < deadline) {
      pollfd p{client_, POLLIN, 0};
      if (poll(&p, 1, 50) != 1) continue;
      char buffer[256];
      const ssize_t n = read(client_, buffer, sizeof buffer);
      if (n <= 0) break;
      got.append(buffer, static_cast<size_t>(n));
    }
    return got;
  }
  void CloseClient() {
    if (client_ >= 0) close(client_);
    client_ = -1;
  }
  void Close() {
    CloseClient();
    if (listener_ >= 0) close(listener_);
    listener_ = -1;
  }

 private:
  int listener_ = -1;
  int client_ = -1;
  uint16_t port_ = 0;
};

// A port on 127.0.0.1 that nobody listens on (bound, then released).
uint16_t ClosedPort() {
  TcpServer server;
  return server.port();
}

// Records what a link reports, from its reader thread.
struct Recorder {
  struct StateEvent {
    LinkState state;
    std::string reason;
    Clock::time_point at;
  };

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> lines;
  std::vector<std::string> errors;
  std::vector<StateEvent> states;

  LinkCallbacks Callbacks() {
    LinkCallbacks c;
    c.on_line = [this](std::string_view line) { Add([&] { lines.emplace_back(line); }); };
    c.on_error = [this](std::string_view error) { Add([&] { errors.emplace_back(error); }); };
    c.on_state = [this](LinkState state, std::string_view reason) {
      Add([&] { states.push_back({state, std::string(reason), Clock::now()}); });
    };
    return c;
  }
  void Add(const std::function<void()>& fn) {
    {
      std::lock_guard lock(mutex);
      fn();
    }
    changed.notify_all();
  }
  // Waits until `done()` (called under the lock) is true; false on timeout.
  bool WaitFor(const std::function<bool()>& done, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, done);
  }
  size_t CountStates(LinkState state) {
    size_t n = 0;
    for (const auto& e : states) n += e.state == state;
    return n;
  }
  bool WaitForState(LinkState state, size_t count = 1, milliseconds timeout = milliseconds(5000)) {
    return WaitFor([&] { return CountStates(state) >= count; }, timeout);
  }
  std::vector<std::string> Lines() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

LinkSpec Spec(const std::string& text) {
  std::string error;
  auto spec = ParseLinkString(text, &error);
  INFO(error);
  REQUIRE(spec.has_value());
  return *spec;
}

LinkOptions FastOptions() {
  LinkOptions options;
  options.initial_backoff = milliseconds(20);
  options.max_backoff = milliseconds(160);
  options.jitter = 0;
  options.connect_timeout = milliseconds(1000);
  return options;
}

template <typename Fn>
milliseconds Timed(Fn fn) {
  const auto start = Clock::now();
  fn();
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

std::string ParseError(const std::string& text) {
  std::string error;
  const auto spec = ParseLinkString(text, &error);
  CHECK_FALSE(spec.has_value());
  return error;
}

}  // namespace

// ---- link strings -------------------------------------------------------------------------

TEST_CASE("link strings: valid forms") {
  const LinkSpec tcp = Spec("tcp://127.0.0.1:9100");
  CHECK(tcp.kind == LinkSpec::Kind::kTcp);
  CHECK(tcp.host == "127.0.0.1");
  CHECK(tcp.port == 9100);
  CHECK(tcp.text == "tcp://127.0.0.1:9100");

  const LinkSpec name = Spec("tcp://scanner-lane1.local:1");
  CHECK(name.host == "scanner-lane1.local");
  CHECK(name.port == 1);

  const LinkSpec v6 = Spec("tcp://[::1]:65535");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 65535);

  const LinkSpec serial = Spec("serial:///dev/ttyUSB0?baud=115200");
  CHECK(serial.kind == LinkSpec::Kind::kSerial);
  CHECK(serial.path == "/dev/ttyUSB0");
  CHECK(serial.baud == 115200);

  CHECK(Spec("serial:///dev/ttyS1").baud == 9600);  // the default
}

TEST_CASE("link strings: invalid forms are refused with a reason") {
  CHECK(ParseError("").find("empty") != std::string::npos);
  CHECK(ParseError("127.0.0.1:9100").find("no scheme") != std::string::npos);
  CHECK(ParseError("udp://127.0.0.1:9100").find("unknown scheme 'udp'") != std::string::npos);
  CHECK(ParseError("tcp://127.0.0.1").find("no port") != std::string::npos);
  CHECK(ParseError("tcp://:9100").find("no host") != std::string::npos);
  CHECK(ParseError("tcp://127.0.0.1:0").find("port '0'") != std::string::npos);
  CHECK(ParseError("tcp://127.0.0.1:65536").find("1 to 65535") != std::string::npos);
  CHECK(ParseError("tcp://127.0.0.1:+80").find("port '+80'") != std::string::npos);
  CHECK(ParseError("tcp://127.0.0.1:9100/x").find("no path") != std::string::npos);
  CHECK(ParseError("tcp://::1:9100").find("[ADDR]:PORT") != std::string::npos);
  CHECK(ParseError("serial://ttyUSB0").find("absolute device path") != std::string::npos);
  CHECK(ParseError("serial:///dev/ttyUSB0?baud=9601").find("9600") != std::string::npos);
  CHECK(ParseError("serial:///dev/ttyUSB0?baud=").find("baud ''") != std::string::npos);
  CHECK(ParseError("serial:///dev/ttyUSB0?parity=even").find("unknown option 'parity'") !=
        std::string::npos);
}

// ---- splitting and backoff ----------------------------------------------------------------

TEST_CASE("line splitter: terminators, empty lines, over-long lines") {
  LineSplitter splitter('\n', 8);
  std::vector<std::string> lines;
  std::vector<size_t> overlong;
  const auto on_line = [&](std::string_view l) { lines.emplace_back(l); };
  const auto on_overlong = [&](size_t n) { overlong.push_back(n); };

  for (const char c : std::string("ab\r\ncd\n\n\r\nefgh")) {
    splitter.Feed(std::string_view(&c, 1), on_line, on_overlong);
  }
  CHECK(lines == std::vector<std::string>{"ab", "cd"});
  splitter.Feed("ijkl\r\n", on_line, on_overlong);  // exactly 8 bytes before "\r\n"
  CHECK(lines == std::vector<std::string>{"ab", "cd", "efghijkl"});

  // Over-long, arriving in pieces: reported once, discarded to the terminator.
  splitter.Feed("0123456", on_line, on_overlong);
  splitter.Feed("789abcdef", on_line, on_overlong);
  CHECK(overlong.size() == 1);
  splitter.Feed("ghijklmnopqrstuvwxyz", on_line, on_overlong);
  CHECK(overlong.size() == 1);
  splitter.Feed("xyz\nok\n", on_line, on_overlong);
  CHECK(lines.back() == "ok");
  CHECK(overlong.size() == 1);

  // Over-long in one piece with its terminator.
  splitter.Feed("123456789\nafter\n", on_line, on_overlong);
  CHECK(overlong.size() == 2);
  CHECK(lines.back() == "after");

  // Another terminator: '\r' is then an ordinary byte.
  LineSplitter etx('\x03', 16);
  std::vector<std::string> frames;
  etx.Feed("A\r\x03" "B", [&](std::string_view l) { frames.emplace_back(l); }, on_overlong);
  etx.Feed("C\x03", [&](std::string_view l) { frames.emplace_back(l); }, on_overlong);
  CHECK(frames == std::vector<std::string>{"A\r", "BC"});
}

TEST_CASE("backoff: doubles to the cap, jitter stays in bounds, reset starts over") {
  Backoff plain(milliseconds(100), milliseconds(1000), 0.0);
  std::vector<long long> got;
  for (int i = 0; i < 6; ++i) got.push_back(plain.Next().count());
  CHECK(got == std::vector<long long>{100, 200, 400, 800, 1000, 1000});
  plain.Reset();
  CHECK(plain.Next().count() == 100);

  Backoff jittered(milliseconds(100), milliseconds(30000), 0.2, 42);
  long long base = 100;
  bool varied = false;
  for (int i = 0; i < 12; ++i) {
    const long long d = jittered.Next().count();
    CHECK(d >= base * 8 / 10);
    CHECK(d <= std::min<long long>(base * 12 / 10, 30000));
    varied = varied || d != base;
    base = std::min<long long>(base * 2, 30000);
  }
  CHECK(varied);
}

// ---- TCP ----------------------------------------------------------------------------------

TEST_CASE("tcp: lines split across segments and \\r\\n arrive whole") {
  TcpServer server;
  Recorder rec;
  DeviceLink link(Spec(server.link()), FastOptions(), rec.Callbacks());
  std::string error;
  REQUIRE(link.Start(&error));
  REQUIRE(server.Accept());
  REQUIRE(rec.WaitForState(LinkState::kConnected));
  CHECK(link.state() == LinkState::kConnected);

  for (const char* piece : {"HEL", "LO\r", "\nWOR", "LD\n", "A\r\nB\r\n", "C"}) {
    server.Send(piece);
    std::this_thread::sleep_for(milliseconds(15));  // separate segments
  }
  server.Send("\r\n");
  REQUIRE(rec.WaitFor([&] { return rec.lines.size() >= 5; }));
  CHECK(rec.Lines() == std::vector<std::string>{"HELLO", "WORLD", "A", "B", "C"});
  CHECK(link.counters().lines_received == 5);
  CHECK(link.counters().bytes_received == 22);
  link.Stop();
  CHECK(link.state() == LinkState::kStopped);
}

TEST_CASE("tcp: raw mode hands over every byte unsplit, CR and NUL included; Write works") {
  TcpServer server;
  Recorder rec;
  std::string raw;  // GUARDED_BY(rec.mutex)
  LinkCallbacks callbacks = rec.Callbacks();
  callbacks.on_bytes = [&](std::string_view bytes) { rec.Add([&] { raw.append(bytes); }); };
  LinkOptions options = FastOptions();
  options.raw = true;
  options.max_line_bytes = 4;  // ignored in raw mode: nothing is over-long
  DeviceLink link(Spec(server.link()), options, callbacks);
  std::string error;
  REQUIRE(link.Start(&error));
  REQUIRE(server.Accept());
  REQUIRE(rec.WaitForState(LinkState::kConnected));
  static constexpr char kBytes[] = "\x02" "405123456000000\r\x55\n\0\x02";
  const std::string frame(kBytes, sizeof kBytes - 1);
  server.Send(frame.substr(0, 7));
  std::this_thread::sleep_for(milliseconds(15));
  server.Send(frame.substr(7));
  REQUIRE(rec.WaitFor([&] { return raw.size() >= frame.size(); }));
  {
    std::lock_guard lock(rec.mutex);
    CHECK(raw == frame);
    CHECK(rec.lines.empty());
    CHECK(rec.errors.empty());
  }
  CHECK(link.counters().bytes_received == frame.size());
  CHECK(link.counters().lines_received == 0);
  REQUIRE(link.Write("Z", &error));
  CHECK(server.Receive(3) == "Z\r\n");
  link.Stop();
}

TEST_CASE("tcp: an over-long line is reported and skipped; the next line arrives") {
  TcpServer server;
  Recorder rec;
  LinkOptions options = FastOptions();
  options.max_line_bytes = 64;
  DeviceLink link(Spec(server.link()), options, rec.Callbacks());
  std::string error;
  REQUIRE(link.Start(&error));
  REQUIRE(server.Accept());
  server.Send("first\n");
  const std::string big(10000, 'x');
  server.Send(big.substr(0, 3000));
  std::this_thread::sleep_for(milliseconds(15));
  server.Send(big.substr(3000));
  server.Send("\r\nsecond\r\n");
  REQUIRE(rec.WaitFor([&] { return rec.lines.size() >= 2; }));
  CHECK(rec.Lines() == std::vector<std::string>{"first", "second"});
  std::lock_guard lock(rec.mutex);
  REQUIRE(rec.errors.size() == 1);
  CHECK(rec.errors[0].find("longer than 64 bytes") != std::string::npos);
  CHECK(link.counters().errors == 1);
  CHECK(link.state() == LinkState::kConnected);  // an over-long line does not drop the link
}

TEST_CASE("tcp: the device goes away, comes back on the same port, and lines flow again") {
  auto server = std::make_unique<TcpServer>();
  const uint16_t port = server->port();
  Recorder rec;
  DeviceLink link(Spec(server->link()), FastOptions(), rec.Callbacks());
  std::string error;
  REQUIRE(link.Start(&error));
  REQUIRE(server->Accept());
  server->Send("before\n");
  REQUIRE(rec.WaitFor([&] { return rec.lines.size() >= 1; }));

  server->Close();  // the device goes away
  REQUIRE(rec.WaitForState(LinkState::kDisconnected));
  CHECK(link.state() != LinkState::kConnected);
  std::string why;
  {
    std::lock_guard lock(rec.mutex);
    why = rec.states.back().reason;
  }
  CHECK(why.find("closed") != std::string::npos);
  std::string write_error;
  CHECK_FALSE(link.Write("while down", &write_error));
  CHECK(write_error.find("not connected") != std::string::npos);

  // While it is away the link retries: several failed attempts, with growing gaps.
  REQUIRE(rec.WaitForState(LinkState::kDisconnected, 4));
  const auto down_since = Clock::now();
  server = std::make_unique<TcpServer>(port);  // back, same port
  REQUIRE(server->Accept(milliseconds(2000)));
  const auto back_after = Clock::now() - down_since;
  CHECK(back_after < milliseconds(160 + 500));  // bounded by the cap (plus slack)
  REQUIRE(rec.WaitForState(LinkState::kConnected, 2));
  server->Send("after\n");
  REQUIRE(rec.WaitFor([&] { return rec.lines.size() >= 2; }));
  CHECK(rec.Lines() == std::vector<std::string>{"before", "after"});
  CHECK(link.counters().reconnects == 1);
  CHECK(link.counters().connects == 2);

  // Gaps between attempts after the drop: 20, 40, 80 ms... (jitter 0 in this test).
  std::vector<Clock::time_point> attempts;
  {
    std::lock_guard lock(rec.mutex);
    for (const auto& e : rec.states) {
      if (e.state == LinkState::kConnecting) attempts.push_back(e.at);
    }
  }
  REQUIRE(attempts.size() >= 5);
  const auto gap = [&](size_t i) {
    return std::chrono::duration_cast<milliseconds>(attempts[i + 1] - attempts[i]).count();
  };
  CHECK(gap(1) >= 20);
  CHECK(gap(2) >= 40);
  CHECK(gap(3) >= 80);
  CHECK(gap(3) > gap(1));
}

TEST_CASE("tcp: a closed port is retried with growing delays up to the cap") {
  Recorder rec;
  const std::string text = "tcp://127.0.0.1:" + std::to_string(ClosedPort());
  DeviceLink link(Spec(text), FastOptions(), rec.Callbacks());
  std::string error;
  REQUIRE(link.Start(&error));
  REQUIRE(rec.WaitForState(LinkState::kDisconnected, 7));
  milliseconds stop_time = Timed([&] { link.Stop(); });
  CHECK(stop_time < milliseconds(1000));

  std::vector<Clock::time_point> attempts;
  std::string reason;
  {
    std::lock_guard lock(rec.mutex);
    for (const auto& e : rec.states) {
      if (e.state == LinkState::kConnecting) attempts.push_back(e.at);
      if (e.state == LinkState::kDisconnected && reason.empty()) reason = e.reason;
    }
  }
  CHECK(reason.find("refused") != std::string::npos);
  REQUIRE(attempts.size() >= 7);
  std::vector<long long> gaps;
  for (size_t i = 0; i + 1 < attempts.size(); ++i) {
    gaps.push_back(
        std::chrono::duration_cast<milliseconds>(attempts[i + 1] - attempts[i]).count());
  }
  INFO("gaps (ms): " << nlohmann::json(gaps).dump());
  // Expected 20, 40, 80, 160, 160, 160: each at least its delay, growing, capped.
  CHECK(gaps[0] >= 20);
  CHECK(gaps[1] >= 40);
  CHECK(gaps[2] >= 80);
  CHECK(gaps[3] >= 160);
  CHECK(gaps[2] > gaps[0]);
  for (size_t i = 4; i < gaps.size(); ++i) {
    CHECK(gaps[i] >= 160);
    CHECK(gaps[i] < 160 + 400);  // capped (generous slack for a loaded machine)
  }
  CHECK(link.counters().connects == 0);
  CHECK(link.counters().errors >= 7);
  CHECK(link.state() == LinkState::kStopped);
}

// A listener whose backlog is full and which never accepts: further SYNs go unanswered, so a
// connect to it stays in progress (Linux drops SYNs when the accept queue is full).
class StalledListener {
 public:
  StalledListener() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(listener_, 0) == 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 4; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(fd);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  ~StalledListener() {
    for (const int fd : fillers_) close(fd);
    close(listener_);
  }
  std::string link() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

TEST_CASE("tcp: Stop returns promptly while connecting, reading or waiting to retry") {
  std::string error;
  SUBCASE("while reading") {
    TcpServer server;
    Recorder rec;
    DeviceLink link(Spec(server.link()), FastOptions(), rec.Callbacks());
    REQUIRE(link.Start(&error));
    REQUIRE(server.Accept());
    REQUIRE(rec.WaitForState(LinkState::kConnected));
    CHECK(Timed([&] { link.Stop(); }) < milliseconds(1000));
    CHECK(rec.states.back().state == LinkState::kStopped);
  }
  SUBCASE("while waiting out a long backoff") {
    Recorder rec;
    LinkOptions options = FastOptions();
    options.initial_backoff = milliseconds(20000);
    options.max_backoff = milliseconds(30000);
    DeviceLink link(Spec("tcp://127.0.0.1:" + std::to_string(ClosedPort())), options,
                    rec.Callbacks());
    REQUIRE(link.Start(&error));
    REQUIRE(rec.WaitForState(LinkState::kDisconnected));
    CHECK(Timed([&] { link.Stop(); }) < milliseconds(1000));
  }
  SUBCASE("while a connect hangs") {
    StalledListener stalled;
    Recorder rec;
    LinkOptions options = FastOptions();
    options.connect_timeout = milliseconds(20000);
    DeviceLink link(Spec(stalled.link()), options, rec.Callbacks());
    REQUIRE(link.Start(&error));
    REQUIRE(rec.WaitForState(LinkState::kConnecting));
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(link.state() == LinkState::kConnecting);  // the connect is still pending
    CHECK(Timed([&] { link.Stop(); }) < milliseconds(1000));
  }
}

TEST_CASE("tcp: a connect that gets no answer times out and is retried") {
  StalledListener stalled;
  Recorder rec;
  LinkOptions options = FastOptions();
  options.connect_timeout = milliseconds(100);
  DeviceLink link(Spec(stalled.link()), options, rec.Callbacks());
  std::string error;
  const auto start = Clock::now();
  REQUIRE(link.Start(&error));
  REQUIRE(rec.WaitForState(LinkState::kDisconnected, 2));
  CHECK(Clock::now() - start >= milliseconds(100 + 20 + 100));
  link.Stop();
  std::lock_guard lock(rec.mutex);
  CHECK(rec.states[1].reason.find("timed out after 100 ms") != std::string::npos);
}

TEST_CASE("tcp: Write sends a line; refuses when not connected or with a terminator inside") {
  TcpServer server;
  Recorder rec;
  DeviceLink link(Spec(server.link()), FastOptions(), rec.Callbacks());
  std::string error;
  CHECK_FALSE(link.Write("early", &error));
  CHECK(error.find("not connected") != std::string::npos);

  REQUIRE(link.Start(&error));
  REQUIRE(server.Accept());
  REQUIRE(rec.WaitForState(LinkState::kConnected));
  CHECK(link.Write("PING", &error));
  CHECK(link.Write("STATUS?", &error));
  CHECK(server.Receive(15) == "PING\r\nSTATUS?\r\n");
  CHECK(link.counters().bytes_sent == 15);

  CHECK_FALSE(link.Write("two\nlines", &error));
  CHECK(error.find("terminator") != std::string::npos);

  // Concurrent writers never interleave inside a line.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&link, t] {
      std::string e;
      for (int i = 0; i < 50; ++i) CHECK(link.Write(std::string(40, char('a' + t)), &e));
    });
  }
  for (auto& w : writers) w.join();
  const std::string all = server.Receive(4 * 50 * 42);
  REQUIRE(all.size() == 4 * 50 * 42);
  for (size_t i = 0; i < all.size(); i += 42) {
    CHECK(all.substr(i, 42) == std::string(40, all[i]) + "\r\n");
  }
}

// ---- serial (pseudo-terminal) -------------------------------------------------------------

TEST_CASE("serial: a pseudo-terminal is opened raw, 8N1, at the given rate") {
  const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(grantpt(master) == 0);
  REQUIRE(unlockpt(master) == 0);
  const std::string slave = ptsname(master);

  Recorder rec;
  DeviceLink link(Spec("serial://" + slave + "?baud=115200"), FastOptions(), rec.Callbacks());
  std::string error;
  REQUIRE(link.Start(&error));
  REQUIRE(rec.WaitForState(LinkState::kConnected));

  // The port's settings as the link left them.
  const int probe = open(slave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(probe >= 0);
  termios tio{};
  REQUIRE(tcgetattr(probe, &tio) == 0);
  close(probe);
  CHECK((tio.c_lflag & (ICANON | ECHO | ISIG)) == 0);
  CHECK((tio.c_cflag & CSIZE) == CS8);
  CHECK((tio.c_cflag & (PARENB | CSTOPB)) == 0);
  CHECK((tio.c_iflag & (ICRNL | IXON)) == 0);
  CHECK((tio.c_oflag & OPOST) == 0);
  CHECK(cfgetispeed(&tio) == B115200);

  // Device to host: a raw port passes "\r\n" through untranslated.
  const std::string in = "P<UTOERIKSSON\r\nSECOND\n";
  REQUIRE(write(master, in.data(), 6) == 6);
  std::this_thread::sleep_for(milliseconds(15));
  REQUIRE(write(master, in.data() + 6, in.size() - 6) == static_cast<ssize_t>(in.size() - 6));
  REQUIRE(rec.WaitFor([&] { return rec.lines.size() >= 2; }));
  CHECK(rec.Lines() == std::vector<std::string>{"P<UTOERIKSSON", "SECOND"});

  // Host to device.
  CHECK(link.Write("READ", &error));
  std::string got;
  const auto deadline = Clock::now() + milliseconds(3000);
  while (got.size() < 6 && Clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 50) != 1) continue;
    char buffer[64];
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n > 0) got.append(buffer, static_cast<size_t>(n));
  }
  CHECK(got == "READ\r\n");

  // The device goes away: the link notices and keeps retrying.
  close(master);
  REQUIRE(rec.WaitForState(LinkState::kDisconnected));
  CHECK(Timed([&] { link.Stop(); }) < milliseconds(1000));
}

TEST_CASE("serial: a missing device or a file that is not a tty is reported, and retried") {
  for (const std::string path : {"/dev/kordon-no-such-port", "/dev/null"}) {
    Recorder rec;
    DeviceLink link(Spec("serial://" + path), FastOptions(), rec.Callbacks());
    std::string error;
    REQUIRE(link.Start(&error));
    REQUIRE(rec.WaitForState(LinkState::kDisconnected, 2));
    link.Stop();
    std::lock_guard lock(rec.mutex);
    const std::string& reason = rec.states[1].reason;
    INFO(reason);
    CHECK(reason.find(path) != std::string::npos);
    CHECK((reason.find("cannot open") != std::string::npos ||
           reason.find("not a serial port") != std::string::npos));
  }
}

// ---- device model -------------------------------------------------------------------------

TEST_CASE("device model: state changes publish device.status bodies") {
  std::vector<std::pair<std::string, nlohmann::json>> published;
  DeviceModel model("plate-cam-1", "plate-camera", "tcp://10.0.0.5:9100",
                    [&](std::string_view topic, const std::string& body) {
                      published.emplace_back(std::string(topic), nlohmann::json::parse(body));
                    });
  CHECK(model.state() == DeviceState::kClosed);
  CHECK(published.empty());
  CHECK_FALSE(model.Health().healthy);

  CHECK(model.SetState(DeviceState::kOffline, "connection refused"));
  REQUIRE(published.size() == 1);
  CHECK(published[0].first == "device.status");
  // "since" is the wall clock: checked for its form, then compared without it.
  nlohmann::json first = published[0].second;
  REQUIRE(first["since"].is_string());
  CHECK(std::regex_match(first["since"].get<std::string>(),
                         std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)")));
  first.erase("since");
  CHECK(first == nlohmann::json::parse(R"({
    "device": "plate-cam-1", "kind": "plate-camera", "state": "offline", "previous": "closed",
    "reason": "connection refused", "link": "tcp://10.0.0.5:9100", "healthy": false,
    "requested": false,
    "stats": {"lines_received": 0, "reads_published": 0, "errors": 0, "reconnects": 0,
              "bytes_received": 0}})"));

  CHECK_FALSE(model.SetState(DeviceState::kOffline, "still refused"));  // no change, no body
  CHECK(published.size() == 1);

  model.CountReconnect();
  model.CountLine(10);
  model.CountLine(5);
  model.CountBytes(2);
  model.CountRead();
  model.CountError();
  CHECK(model.SetState(DeviceState::kIdle, "connected"));
  CHECK(model.SetState(DeviceState::kBusy, "reading"));
  CHECK(model.SetState(DeviceState::kError, "device fault E42"));
  CHECK(model.SetState(DeviceState::kClosed, "stopped"));
  REQUIRE(published.size() == 5);

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"offline", "closed"}, {"idle", "offline"}, {"busy", "idle"},
      {"error", "busy"},     {"closed", "error"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(published[i].second["state"] == expected[i].first);
    CHECK(published[i].second["previous"] == expected[i].second);
  }
  CHECK(published[1].second["reason"] == "connected");
  CHECK(published[1].second["stats"] == nlohmann::json::parse(
      R"({"lines_received": 2, "reads_published": 1, "errors": 1, "reconnects": 1,
          "bytes_received": 17})"));

  const DeviceStats stats = model.stats();
  CHECK(stats.lines_received == 2);
  CHECK(stats.bytes_received == 17);
  CHECK(stats.reads_published == 1);
  CHECK(stats.errors == 1);
  CHECK(stats.reconnects == 1);
}

TEST_CASE("device model: a status request gets the current state, once per asking device") {
  std::vector<nlohmann::json> published;
  DeviceModel model("lane1-scale", "weighbridge", "tcp://127.0.0.1:7413",
                    [&](std::string_view, const std::string& body) {
                      published.push_back(nlohmann::json::parse(body));
                    });
  CHECK(model.AnswerStatusRequest("{}"));  // before any change: closed, since unknown
  REQUIRE(published.size() == 1);
  CHECK(published[0]["state"] == "closed");
  CHECK(published[0]["requested"] == true);
  CHECK(published[0]["since"].is_null());
  CHECK(published[0]["healthy"] == false);

  CHECK(model.SetState(DeviceState::kIdle, "connected"));
  CHECK(model.AnswerStatusRequest(R"({"device": "lane1-scale"})"));
  CHECK_FALSE(model.AnswerStatusRequest(R"({"device": "lane3-scale"})"));  // another device
  CHECK_FALSE(model.AnswerStatusRequest(R"({"device": 7})"));  // a name must be a string
  CHECK(model.AnswerStatusRequest("not json: answered as a request for all"));
  REQUIRE(published.size() == 4);
  CHECK(published[2]["state"] == "idle");
  CHECK(published[2]["requested"] == true);
  CHECK(published[2]["healthy"] == true);
  CHECK(published[2]["since"] == published[1]["since"]);  // the change's time, not the request's
  CHECK(published[1]["requested"] == false);
}

TEST_CASE("device model: health check and bodies that survive bad bytes") {
  DeviceModel model("scale-1", "scale", "serial:///dev/ttyUSB0", nullptr);  // no publisher
  CHECK(model.SetState(DeviceState::kIdle, "connected"));
  model.CountRead();
  const DeviceHealth health = model.Health();
  CHECK(health.healthy);
  CHECK(health.summary == "idle (connected); 0 lines, 1 reads, 0 errors, 0 reconnects, 0 bytes");
  CHECK(model.SetState(DeviceState::kError, "fault"));
  CHECK_FALSE(model.Health().healthy);

  // A reason quoting device bytes that are not UTF-8 still gives a valid JSON body.
  DeviceStatus status;
  status.device = "x";
  status.reason = std::string("bad \xff byte");
  const auto body = nlohmann::json::parse(DeviceStatusBody(status));
  CHECK(body["reason"] == "bad \xEF\xBF\xBD byte");
  CHECK(body["state"] == "closed");
}

TEST_CASE("device model: counters are safe from several threads") {
  DeviceModel model("d", "k", "l", nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        model.CountLine(3);
        model.SetState(i % 2 ? DeviceState::kBusy : DeviceState::kIdle, "tick");
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(model.stats().lines_received == 4000);
  CHECK(model.stats().bytes_received == 12000);
}
