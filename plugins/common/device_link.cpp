// device_link.cpp — see device_link.h.
#include "device_link.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

namespace kordon::device {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string ErrnoText(int error) { return std::strerror(error); }

// Parses a decimal number in [min, max]; nullopt for anything else (sign, spaces, overflow).
std::optional<long> ParseNumber(std::string_view text, long min, long max) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (text[0] < '0' || text[0] > '9') return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return value;
}

std::optional<LinkSpec> Fail(std::string* error, std::string text) {
  *error = std::move(text);
  return std::nullopt;
}

speed_t BaudConstant(int baud) {
  switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    default: return B0;
  }
}

int RemainingMs(Clock::time_point deadline) {
  // Rounded up: poll must not return before the deadline.
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

}  // namespace

// ---- ParseLinkString ----------------------------------------------------------------------

std::optional<LinkSpec> ParseLinkString(std::string_view text, std::string* error) {
  static constexpr char kForms[] =
      " (expected tcp://HOST:PORT or serial:///dev/NAME?baud=RATE)";
  const size_t sep = text.find("://");
  if (text.empty()) return Fail(error, std::string("link is empty") + kForms);
  if (sep == std::string_view::npos) {
    return Fail(error, "link '" + std::string(text) + "' has no scheme" + kForms);
  }
  const std::string_view scheme = text.substr(0, sep);
  const std::string_view rest = text.substr(sep + 3);
  LinkSpec spec;
  spec.text = std::string(text);

  if (scheme == "tcp") {
    spec.kind = LinkSpec::Kind::kTcp;
    if (rest.find_first_of("/?#") != std::string_view::npos) {
      return Fail(error, "tcp link '" + spec.text + "' takes no path or options" + kForms);
    }
    std::string_view host;
    std::string_view port;
    if (!rest.empty() && rest[0] == '[') {  // [IPv6]:port
      const size_t close = rest.find(']');
      if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
        return Fail(error, "tcp link '" + spec.text + "': an IPv6 address is written [ADDR]:PORT");
      }
      host = rest.substr(1, close - 1);
      port = rest.substr(close + 2);
    } else {
      const size_t colon = rest.rfind(':');
      if (colon == std::string_view::npos) {
        return Fail(error, "tcp link '" + spec.text + "' has no port" + kForms);
      }
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (host.find(':') != std::string_view::npos) {
        return Fail(error, "tcp link '" + spec.text + "': write an IPv6 address as [ADDR]:PORT");
      }
    }
    if (host.empty()) return Fail(error, "tcp link '" + spec.text + "' has no host" + kForms);
    const auto number = ParseNumber(port, 1, 65535);
    if (!number) {
      return Fail(error, "tcp link '" + spec.text + "': port '" + std::string(port) +
                             "' is not a number from 1 to 65535");
    }
    spec.host = std::string(host);
    spec.port = static_cast<uint16_t>(*number);
    return spec;
  }

  if (scheme == "serial") {
    spec.kind = LinkSpec::Kind::kSerial;
    const size_t question = rest.find('?');
    const std::string_view path = rest.substr(0, question);
    if (path.size() < 2 || path[0] != '/') {
      return Fail(error, "serial link '" + spec.text +
                             "' needs an absolute device path, as in serial:///dev/ttyUSB0");
    }
    spec.path = std::string(path);
    if (question != std::string_view::npos) {
      std::string_view query = rest.substr(question + 1);
      while (true) {
        const size_t amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        const size_t eq = item.find('=');
        const std::string_view key = item.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
        if (key != "baud") {
          return Fail(error, "serial link '" + spec.text + "': unknown option '" +
                                 std::string(key) + "' (the only option is baud=RATE)");
        }
        const auto baud = ParseNumber(value, 1, 10'000'000);
        if (!baud || BaudConstant(static_cast<int>(*baud)) == B0) {
          std::string rates;
          for (const int rate : kSerialBaudRates) {
            rates += (rates.empty() ? "" : ", ") + std::to_string(rate);
          }
          return Fail(error, "serial link '" + spec.text + "': baud '" + std::string(value) +
                                 "' is not one of " + rates);
        }
        spec.baud = static_cast<int>(*baud);
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
      }
    }
    return spec;
  }

  return Fail(error, "link '" + spec.text + "' has unknown scheme '" + std::string(scheme) +
                         "'" + kForms);
}

// ---- LineSplitter -------------------------------------------------------------------------

LineSplitter::LineSplitter(char terminator, size_t max_line_bytes)
    : terminator_(terminator), max_line_bytes_(max_line_bytes) {}

void LineSplitter::Feed(std::string_view bytes, const LineFn& on_line,
                        const OverlongFn& on_overlong) {
  // With '\n' as terminator a line may carry one '\r' more before it is stripped.
  const size_t slack = terminator_ == '\n' ? 1 : 0;
  while (!bytes.empty()) {
    const size_t end = bytes.find(terminator_);
    if (end == std::string_view::npos) {
      if (!discarding_) {
        pending_.append(bytes);
        if (pending_.size() > max_line_bytes_ + slack) {
          on_overlong(pending_.size());
          pending_.clear();
          discarding_ = true;
        }
      }
      return;
    }
    const std::string_view chunk = bytes.substr(0, end);
    bytes.remove_prefix(end + 1);
    if (discarding_) {
      discarding_ = false;
      continue;
    }
    std::string_view line = chunk;
    if (!pending_.empty()) {
      pending_.append(chunk);
      line = pending_;
    }
    if (slack && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line_bytes_) {
      on_overlong(line.size());
    } else if (!line.empty()) {
      on_line(line);
    }
    pending_.clear();
  }
}

void LineSplitter::Reset() {
  pending_.clear();
  discarding_ = false;
}

// ---- Backoff ------------------------------------------------------------------------------

Backoff::Backoff(milliseconds initial, milliseconds max, double jitter, uint64_t seed)
    : initial_(std::max(initial, milliseconds(1))),
      max_(std::max(max, initial_)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      base_(initial_),
      random_(seed) {}

milliseconds Backoff::Next() {
  double factor = 1.0;
  if (jitter_ > 0) factor = std::uniform_real_distribution<double>(1 - jitter_, 1 + jitter_)(random_);
  const auto delay = milliseconds(std::llround(static_cast<double>(base_.count()) * factor));
  base_ = std::min(base_ * 2, max_);
  return std::clamp(delay, milliseconds(0), max_);
}

void Backoff::Reset() { base_ = initial_; }

// ---- DeviceLink ---------------------------------------------------------------------------

const char* LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kStopped: return "stopped";
    case LinkState::kConnecting: return "connecting";
    case LinkState::kConnected: return "connected";
    case LinkState::kDisconnected: return "disconnected";
  }
  return "unknown";
}

DeviceLink::DeviceLink(LinkSpec spec, LinkOptions options, LinkCallbacks callbacks)
    : spec_(std::move(spec)), options_(options), callbacks_(std::move(callbacks)) {}

DeviceLink::~DeviceLink() { Stop(); }

bool DeviceLink::Start(std::string* error) {
  if (thread_.joinable()) {
    *error = "link already started";
    return false;
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    *error = "eventfd: " + ErrnoText(errno);
    return false;
  }
  stopping_ = false;
  try {
    thread_ = std::thread(&DeviceLink::Run, this);
  } catch (const std::system_error& e) {
    close(wake_fd_);
    wake_fd_ = -1;
    *error = std::string("cannot start the link thread: ") + e.what();
    return false;
  }
  return true;
}

void DeviceLink::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(wake_fd_);
  wake_fd_ = -1;
}

LinkCounters DeviceLink::counters() const {
  LinkCounters c;
  c.bytes_received = bytes_received_.load();
  c.bytes_sent = bytes_sent_.load();
  c.lines_received = lines_received_.load();
  c.connects = connects_.load();
  c.reconnects = reconnects_.load();
  c.errors = errors_.load();
  return c;
}

void DeviceLink::SetState(LinkState state, std::string_view reason) {
  state_ = state;
  if (callbacks_.on_state) callbacks_.on_state(state, reason);
}

bool DeviceLink::WaitForWake(milliseconds delay) {
  const auto deadline = Clock::now() + delay;
  while (!stopping_) {
    pollfd p{wake_fd_, POLLIN, 0};
    const int n = poll(&p, 1, RemainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return stopping_;
    if (errno != EINTR) return stopping_;
  }
  return true;
}

void DeviceLink::Run() {
  Backoff backoff(options_.initial_backoff, options_.max_backoff, options_.jitter);
  bool was_connected = false;
  while (!stopping_) {
    SetState(LinkState::kConnecting, "connecting to " + spec_.text);
    std::string error;
    const int fd = Open(&error);
    if (fd < 0) {
      if (stopping_) break;
      ++errors_;
      SetState(LinkState::kDisconnected, error);
      if (WaitForWake(backoff.Next())) break;
      continue;
    }
    backoff.Reset();
    ++connects_;
    if (was_connected) ++reconnects_;
    was_connected = true;
    {
      std::lock_guard lock(write_mutex_);
      fd_ = fd;
    }
    SetState(LinkState::kConnected, "connected to " + spec_.text);
    std::string reason;
    ReadUntilDropped(fd, &reason);
    CloseConnection();
    if (stopping_) break;
    ++errors_;
    SetState(LinkState::kDisconnected, reason);
    if (WaitForWake(backoff.Next())) break;
  }
  CloseConnection();
  SetState(LinkState::kStopped, "stopped");
}

void DeviceLink::CloseConnection() {
  std::lock_guard lock(write_mutex_);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int DeviceLink::Open(std::string* error) {
  return spec_.kind == LinkSpec::Kind::kTcp ? OpenTcp(error) : OpenSerial(error);
}

int DeviceLink::OpenTcp(std::string* error) {
  const std::string where = spec_.host + ":" + std::to_string(spec_.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(spec_.host.c_str(), std::to_string(spec_.port).c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + where + ": " + gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  *error = "cannot connect to " + where;
  for (const addrinfo* a = found; a != nullptr && !stopping_; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          a->ai_protocol);
    if (fd < 0) {
      *error = "socket: " + ErrnoText(errno);
      continue;
    }
    int result = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (result == EINPROGRESS) {
      const auto deadline = Clock::now() + options_.connect_timeout;
      result = ETIMEDOUT;
      while (!stopping_) {
        pollfd p[2] = {{fd, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
        const int n = poll(p, 2, RemainingMs(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || p[1].revents) break;  // timeout, poll failure, or Stop
        socklen_t len = sizeof result;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &len) != 0) result = errno;
        break;
      }
    }
    if (result == 0 && !stopping_) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    close(fd);
    *error = "cannot connect to " + where + ": " +
             (result == ETIMEDOUT ? "timed out after " +
                                        std::to_string(options_.connect_timeout.count()) + " ms"
                                  : ErrnoText(result));
  }
  return -1;
}

int DeviceLink::OpenSerial(std::string* error) {
  const int fd = open(spec_.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + spec_.path + ": " + ErrnoText(errno);
    return -1;
  }
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) {
    *error = spec_.path + " is not a serial port: " + ErrnoText(errno);
    close(fd);
    return -1;
  }
  cfmakeraw(&tio);                             // no echo, no line editing, no translation, 8 bits
  tio.c_cflag &= ~(PARENB | CSTOPB | CSIZE);   // 8N1
  tio.c_cflag |= CS8 | CLOCAL | CREAD;
  tio.c_cflag &= ~CRTSCTS;                     // no flow control
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  const speed_t speed = BaudConstant(spec_.baud);
  if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0 ||
      tcsetattr(fd, TCSANOW, &tio) != 0) {
    *error = "cannot configure " + spec_.path + ": " + ErrnoText(errno);
    close(fd);
    return -1;
  }
  tcflush(fd, TCIFLUSH);  // stale bytes from before we opened the port
  return fd;
}

void DeviceLink::ReadUntilDropped(int fd, std::string* reason) {
  LineSplitter splitter(options_.terminator, options_.max_line_bytes);
  const auto on_line = [&](std::string_view line) {
    ++lines_received_;
    if (callbacks_.on_line) callbacks_.on_line(line);
  };
  const auto on_overlong = [&](size_t size) {
    ++errors_;
    if (callbacks_.on_error) {
      callbacks_.on_error("line longer than " + std::to_string(options_.max_line_bytes) +
                          " bytes (" + std::to_string(size) +
                          " so far) discarded up to the next terminator");
    }
  };
  char buffer[4096];
  while (!stopping_) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(p, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      *reason = "poll: " + ErrnoText(errno);
      return;
    }
    if (p[1].revents) return;  // Stop
    if (p[0].revents == 0) continue;
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got > 0) {
      bytes_received_ += static_cast<uint64_t>(got);
      const std::string_view chunk(buffer, static_cast<size_t>(got));
      if (options_.raw) {
        if (callbacks_.on_bytes) callbacks_.on_bytes(chunk);
      } else {
        splitter.Feed(chunk, on_line, on_overlong);
      }
    } else if (got == 0) {
      *reason = spec_.kind == LinkSpec::Kind::kTcp ? "connection closed by the device"
                                                   : "device closed";
      return;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      *reason = "read from " + spec_.text + ": " + ErrnoText(errno);
      return;
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      *reason = "device hung up";
      return;
    }
  }
}

bool DeviceLink::Write(std::string_view line, std::string* error) {
  if (line.find(options_.terminator) != std::string_view::npos ||
      (options_.terminator == '\n' && line.find('\r') != std::string_view::npos)) {
    *error = "line contains the terminator";
    return false;
  }
  std::string data(line);
  if (options_.terminator == '\n') data += '\r';
  data += options_.terminator;

  std::lock_guard lock(write_mutex_);
  if (fd_ < 0) {
    *error = std::string("not connected (link ") + LinkStateName(state_.load()) + ")";
    return false;
  }
  const auto deadline = Clock::now() + options_.write_timeout;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = spec_.kind == LinkSpec::Kind::kTcp
                          ? send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL)
                          : write(fd_, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      bytes_sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      const int ready = poll(&p, 1, RemainingMs(deadline));
      if (ready > 0 || (ready < 0 && errno == EINTR)) continue;
      *error = "device did not take the line within " +
               std::to_string(options_.write_timeout.count()) + " ms (" +
               std::to_string(done) + " of " + std::to_string(data.size()) + " bytes sent)";
      return false;
    }
    *error = "write to " + spec_.text + ": " + ErrnoText(n < 0 ? errno : EIO);
    return false;
  }
  return true;
}

}  // namespace kordon::device
