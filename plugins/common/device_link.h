// device_link.h — a line-oriented link to a device over TCP or a serial port, shared by the
// device plugins (see README.md in this folder for the link string, threading and backoff).
//
// Thread safety: ParseLinkString, LineSplitter and Backoff are plain values (one thread at a
// time). DeviceLink runs its own reader thread; Start, Stop and the destructor must be called
// from one owning thread (the instance thread); Write and the accessors are safe from any
// thread. The callbacks run on the reader thread, one at a time, never concurrently.
#ifndef KORDON_PLUGINS_COMMON_DEVICE_LINK_H_
#define KORDON_PLUGINS_COMMON_DEVICE_LINK_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

namespace kordon::device {

// A parsed link string: "tcp://host:port" or "serial:///dev/path?baud=9600".
struct LinkSpec {
  enum class Kind { kTcp, kSerial };
  Kind kind = Kind::kTcp;
  std::string host;    // kTcp: name or address; an IPv6 address without its brackets
  uint16_t port = 0;   // kTcp: 1..65535
  std::string path;    // kSerial: absolute path of the device node
  int baud = 9600;     // kSerial: one of the standard rates (see kSerialBaudRates)
  std::string text;    // the link string as given (for logs and device.status)
};

inline constexpr int kSerialBaudRates[] = {1200,  2400,  4800,   9600,   19200,
                                           38400, 57600, 115200, 230400};

// Parses and validates a link string. On failure returns nullopt and sets *error to a
// sentence that names the problem and the expected form.
std::optional<LinkSpec> ParseLinkString(std::string_view text, std::string* error);

// Splits a byte stream into lines. A line ends at `terminator`; when the terminator is '\n' a
// '\r' before it is dropped too (so "\r\n" works). Empty lines are skipped. A line longer than
// `max_line_bytes` (without its terminator) is reported once through on_overlong and its bytes
// are discarded up to the next terminator: memory stays bounded by max_line_bytes.
class LineSplitter {
 public:
  using LineFn = std::function<void(std::string_view line)>;
  using OverlongFn = std::function<void(size_t discarded_so_far)>;

  LineSplitter(char terminator, size_t max_line_bytes);

  // Feeds bytes; calls on_line for every complete line, on_overlong when a line passes the
  // limit (once per over-long line, with the bytes seen so far).
  void Feed(std::string_view bytes, const LineFn& on_line, const OverlongFn& on_overlong);
  // Forgets a partial line (after a disconnect).
  void Reset();

 private:
  char terminator_;
  size_t max_line_bytes_;
  std::string pending_;
  bool discarding_ = false;
};

// Exponential backoff: initial, doubling up to max, each delay scaled by a random factor in
// [1 - jitter, 1 + jitter] (jitter in [0, 1]) and then clamped to max.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
          uint64_t seed = std::random_device{}());
  std::chrono::milliseconds Next();
  void Reset();

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  std::chrono::milliseconds base_;
  std::mt19937_64 random_;
};

enum class LinkState {
  kStopped,       // not started, or stopped
  kConnecting,    // an attempt to connect or open is under way
  kConnected,     // lines flow; Write works
  kDisconnected,  // an attempt failed or the link dropped; waiting to retry
};
const char* LinkStateName(LinkState state);

struct LinkOptions {
  // Raw mode: bytes go to LinkCallbacks::on_bytes as they are read, unsplit (for framed
  // protocols whose frames are not lines, e.g. a checksum byte after the CR). `terminator`
  // then only says what Write appends; max_line_bytes is unused.
  bool raw = false;
  char terminator = '\n';
  size_t max_line_bytes = 4096;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{30000};
  double jitter = 0.2;
  std::chrono::milliseconds connect_timeout{3000};  // TCP connect
  std::chrono::milliseconds write_timeout{1000};    // longest Write waits for the device
};

// Called on the reader thread. They must not call Start or Stop of the same link (Stop joins
// the reader thread); Write is allowed.
struct LinkCallbacks {
  std::function<void(std::string_view line)> on_line;
  // Raw mode only: every chunk read, in order (a frame may be split across chunks).
  std::function<void(std::string_view bytes)> on_bytes;
  // Every state change, with a reason ("connected", "connection refused", "closed by peer"...).
  std::function<void(LinkState state, std::string_view reason)> on_state;
  // Non-fatal trouble that does not change the state: an over-long line.
  std::function<void(std::string_view error)> on_error;
};

struct LinkCounters {
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t lines_received = 0;
  uint64_t connects = 0;    // successful connects (the first one included)
  uint64_t reconnects = 0;  // successful connects after a drop
  uint64_t errors = 0;      // failed attempts, drops and over-long lines
};

class DeviceLink {
 public:
  DeviceLink(LinkSpec spec, LinkOptions options, LinkCallbacks callbacks);
  ~DeviceLink();  // Stop()
  DeviceLink(const DeviceLink&) = delete;
  DeviceLink& operator=(const DeviceLink&) = delete;

  // Starts the reader thread, which connects (and reconnects) on its own. Returns false with
  // *error set if the thread or its wake-up descriptor cannot be created. REQUIRES: stopped.
  [[nodiscard]] bool Start(std::string* error);
  // Wakes the reader thread, closes the link and joins the thread: returns promptly (a TCP
  // name lookup is the one wait it cannot interrupt; use a numeric address to avoid it).
  // Idempotent. REQUIRES: not called from a callback.
  void Stop();

  // Sends `line` followed by the terminator ("\r\n" when the terminator is '\n'). Returns
  // false with *error set when not connected, or when the device does not take the bytes
  // within write_timeout. Thread-safe.
  [[nodiscard]] bool Write(std::string_view line, std::string* error);

  LinkState state() const { return state_.load(); }
  LinkCounters counters() const;
  const LinkSpec& spec() const { return spec_; }

 private:
  void Run();
  int Open(std::string* error);  // returns a non-blocking fd, or -1 (stopping or failure)
  int OpenTcp(std::string* error);
  int OpenSerial(std::string* error);
  void ReadUntilDropped(int fd, std::string* reason);
  bool WaitForWake(std::chrono::milliseconds delay);  // true when woken (stopping)
  void SetState(LinkState state, std::string_view reason);
  void CloseConnection();

  const LinkSpec spec_;
  const LinkOptions options_;
  const LinkCallbacks callbacks_;
  int wake_fd_ = -1;  // eventfd: written by Stop
  std::atomic<bool> stopping_{false};
  std::atomic<LinkState> state_{LinkState::kStopped};
  std::thread thread_;

  mutable std::mutex write_mutex_;
  int fd_ = -1;  // GUARDED_BY(write_mutex_): the connected descriptor, -1 when not connected

  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> lines_received_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace kordon::device

#endif  // KORDON_PLUGINS_COMMON_DEVICE_LINK_H_
