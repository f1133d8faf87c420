// curve.cpp — see curve.h.
#include "curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kordon::curve {
namespace {

std::string ZmqError(const char* what) {
  return std::string(what) + ": " + zmq_strerror(zmq_errno());
}

// Writes `text` to a new file with `mode`; refuses an existing file (O_EXCL), so that a
// key is never overwritten and the secret file is never briefly readable by others.
bool WriteNewFile(const std::string& path, const std::string& text, mode_t mode,
                  std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = "cannot create '" + path + "': " + std::strerror(errno) +
             (errno == EEXIST ? " (keys are never overwritten; remove it first)" : "");
    return false;
  }
  // The umask may have taken bits away but never adds them; fchmod makes the mode exact.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else done += static_cast<size_t>(n);
  }
  if (ok && ::fsync(fd) != 0) ok = false;
  const int saved = errno;
  ::close(fd);
  if (!ok) *error = "cannot write '" + path + "': " + std::strerror(saved);
  return ok;
}

std::string ZapFrame(void* socket, bool* more) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  std::string out;
  if (zmq_msg_recv(&msg, socket, 0) >= 0) {
    out.assign(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    *more = zmq_msg_more(&msg) != 0;
  } else {
    *more = false;
  }
  zmq_msg_close(&msg);
  return out;
}

}  // namespace

bool CurveAvailable() { return zmq_has("curve") != 0; }

std::optional<KeyPair> GenerateKeyPair(std::string* error) {
  char pub[kZ85KeyLength + 1] = {};
  char sec[kZ85KeyLength + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    *error = ZmqError("zmq_curve_keypair") + " (is libzmq built with CURVE?)";
    return std::nullopt;
  }
  return KeyPair{pub, sec};
}

bool IsZ85Key(std::string_view text) {
  if (text.size() != kZ85KeyLength) return false;
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  for (char c : text)
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  uint8_t raw[32];
  const std::string z(text);
  return zmq_z85_decode(raw, z.c_str()) != nullptr;
}

std::optional<std::string> PublicKeyOf(std::string_view secret_z85, std::string* error) {
  if (!IsZ85Key(secret_z85)) {
    *error = "not a Z85 CURVE key (40 characters of the Z85 alphabet expected)";
    return std::nullopt;
  }
  char pub[kZ85KeyLength + 1] = {};
  const std::string sec(secret_z85);
  if (zmq_curve_public(pub, sec.c_str()) != 0) {
    *error = ZmqError("zmq_curve_public");
    return std::nullopt;
  }
  return std::string(pub);
}

std::string Z85Of(std::string_view raw32) {
  if (raw32.size() != 32) return "";
  char out[kZ85KeyLength + 1] = {};
  if (zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(raw32.data()), 32) == nullptr)
    return "";
  return out;
}

bool WriteKeyFiles(const std::string& prefix, const KeyPair& pair, std::string* error) {
  if (!IsZ85Key(pair.public_key) || !IsZ85Key(pair.secret_key)) {
    *error = "not a Z85 key pair";
    return false;
  }
  const std::string secret_path = prefix + ".key";
  const std::string public_path = prefix + ".pub";
  // Both are checked first so that a refusal leaves nothing half-written.
  struct stat st;
  for (const std::string& p : {secret_path, public_path}) {
    if (::stat(p.c_str(), &st) == 0) {
      *error = "'" + p + "' already exists (keys are never overwritten; remove it first)";
      return false;
    }
  }
  if (!WriteNewFile(secret_path,
                    "# Kordon CURVE secret key: keep it on this machine, mode 0600\n" +
                        pair.secret_key + "\n",
                    0600, error))
    return false;
  if (!WriteNewFile(public_path,
                    "# Kordon CURVE public key: give it to the sites that must accept this one\n" +
                        pair.public_key + "\n",
                    0644, error)) {
    ::unlink(secret_path.c_str());
    return false;
  }
  return true;
}

std::optional<std::string> ReadKeyFile(const std::string& path, bool secret, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open key file '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "key file '" + path + "' is not a regular file";
    return std::nullopt;
  }
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *error = "secret key file '" + path + "' is accessible by group or others (mode " + mode +
             "); chmod 600 it";
    return std::nullopt;
  }
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 && text.size() < 4096) text.append(buf, n);
  ::close(fd);
  std::istringstream lines(text);
  std::string line;
  std::optional<std::string> key;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line.erase(0, start);
    if (key || !IsZ85Key(line)) {
      *error = "key file '" + path + "' must hold exactly one Z85 key (40 characters)";
      return std::nullopt;
    }
    key = line;
  }
  if (!key) *error = "key file '" + path + "' holds no key";
  return key;
}

std::optional<std::string> ResolvePublicKey(const std::string& text, std::string* error) {
  if (IsZ85Key(text)) return text;
  return ReadKeyFile(text, /*secret=*/false, error);
}

bool IsLoopbackEndpoint(std::string_view endpoint) {
  if (endpoint.starts_with("inproc://") || endpoint.starts_with("ipc://")) return true;
  if (!endpoint.starts_with("tcp://")) return false;
  std::string_view host = endpoint.substr(6);
  // A connect may name a source address first: tcp://SRC;HOST:PORT. Judge the destination.
  if (const size_t semi = host.find(';'); semi != std::string_view::npos)
    host = host.substr(semi + 1);
  if (host.starts_with("[")) {
    const size_t close = host.find(']');
    return close != std::string_view::npos && host.substr(1, close - 1) == "::1";
  }
  host = host.substr(0, host.rfind(':'));
  return host == "localhost" || host == "lo" || host.starts_with("127.");
}

// --- ZapHandler --------------------------------------------------------------------------

ZapHandler::ZapHandler(void* zmq_context, std::vector<std::string> allowed_z85, LogFn log)
    : context_(zmq_context), log_(std::move(log)) {
  std::string ignored;
  (void)SetAllowed(allowed_z85, &ignored);  // checked again (and reported) by Start
}

ZapHandler::~ZapHandler() { Stop(); }

bool ZapHandler::SetAllowed(const std::vector<std::string>& allowed_z85, std::string* error) {
  std::set<std::string> raw_keys;
  for (const std::string& k : allowed_z85) {
    uint8_t raw[32];
    if (!IsZ85Key(k) || zmq_z85_decode(raw, k.c_str()) == nullptr) {
      *error = "allowed key '" + k + "' is not a Z85 CURVE public key";
      return false;
    }
    raw_keys.emplace(reinterpret_cast<const char*>(raw), 32);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  keys_ = std::move(raw_keys);
  return true;
}

bool ZapHandler::Start(std::string* error) {
  if (thread_.joinable()) return true;
  socket_ = zmq_socket(context_, ZMQ_REP);
  if (socket_ == nullptr) {
    *error = ZmqError("ZAP handler socket");
    return false;
  }
  const int linger = 0;
  zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof(linger));
  if (zmq_bind(socket_, kZapEndpoint) != 0) {
    *error = ZmqError("cannot bind the ZAP handler on inproc://zeromq.zap.01") +
             " (one ZAP handler per ZeroMQ context)";
    zmq_close(socket_);
    socket_ = nullptr;
    return false;
  }
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return true;
}

void ZapHandler::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
}

void ZapHandler::Run() {
  // The socket moved to this thread with Start; the memory barrier of std::thread's start
  // makes that safe.
  while (!stop_) {
    zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
    const int rc = zmq_poll(&item, 1, 50);
    if (rc < 0) {
      if (zmq_errno() == ETERM) break;
      continue;
    }
    if (rc == 0) continue;
    // RFC 27: version, request id, domain, address, identity, mechanism, credentials….
    std::vector<std::string> frames;
    bool more = true;
    while (more && frames.size() < 16) frames.push_back(ZapFrame(socket_, &more));
    while (more) ZapFrame(socket_, &more);  // a malformed, over-long request: drain it

    const std::string version = frames.size() > 0 ? frames[0] : "";
    const std::string request_id = frames.size() > 1 ? frames[1] : "";
    const std::string address = frames.size() > 3 ? frames[3] : "?";
    const std::string mechanism = frames.size() > 5 ? frames[5] : "";
    std::string status = "400";
    std::string text;
    std::string user_id;
    if (version != "1.0" || frames.size() < 6) {
      status = version != "1.0" ? "500" : "400";
      text = "malformed ZAP request";
    } else if (mechanism != "CURVE") {
      text = "mechanism " + mechanism + " is not allowed (CURVE required)";
    } else if (frames.size() != 7 || frames[6].size() != 32) {
      text = "malformed CURVE credentials";
    } else {
      bool known = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        known = keys_.count(frames[6]) != 0;
      }
      user_id = Z85Of(frames[6]);
      if (known) {
        status = "200";
        text = "OK";
      } else {
        text = "client key " + user_id + " is not allowed";
      }
    }
    if (status == "200") {
      ++allowed_;
    } else {
      const uint64_t n = ++refused_;
      if (log_)
        log_(true, "refused a client from " + address + ": " + text + " (" + std::to_string(n) +
                       " refused so far)");
    }
    // RFC 27 reply: version, request id, status code, status text, user id, metadata.
    const std::string reply[] = {"1.0", request_id, status, text, status == "200" ? user_id : "",
                                 ""};
    for (size_t i = 0; i < 6; ++i)
      zmq_send(socket_, reply[i].data(), reply[i].size(), i + 1 < 6 ? ZMQ_SNDMORE : 0);
  }
  zmq_close(socket_);
  socket_ = nullptr;
}

// --- SocketMonitor ------------------------------------------------------------------------

std::string SocketEvent::Describe() const {
  switch (event) {
    case ZMQ_EVENT_CONNECTED: return "connected to " + address;
    case ZMQ_EVENT_CONNECT_DELAYED: return "connecting to " + address;
    case ZMQ_EVENT_CONNECT_RETRIED: return "retrying " + address;
    case ZMQ_EVENT_LISTENING: return "listening on " + address;
    case ZMQ_EVENT_BIND_FAILED: return "cannot bind " + address + ": " + zmq_strerror(value);
    case ZMQ_EVENT_ACCEPTED: return "accepted a connection on " + address;
    case ZMQ_EVENT_ACCEPT_FAILED: return "accept failed on " + address;
    case ZMQ_EVENT_CLOSED: return "closed " + address;
    case ZMQ_EVENT_DISCONNECTED: return "disconnected from " + address;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return "handshake succeeded with " + address;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      return "handshake failed on " + address + ": " + zmq_strerror(value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return "handshake failed on " + address +
               ": security mechanism mismatch (the peer does not speak CURVE, or speaks it "
               "where plain TCP is expected)";
      if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return "handshake failed on " + address + ": cryptographic error (wrong server key?)";
      return "handshake failed on " + address + ": protocol error " + std::to_string(value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return "handshake failed on " + address + ": refused by the ZAP handler (status " +
             std::to_string(value) + ")";
    default: return "event " + std::to_string(event) + " on " + address;
  }
}

bool SocketEvent::IsHandshakeFailure() const {
  return event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
         event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}

SocketMonitor::SocketMonitor(void* zmq_context, void* socket, std::string* error) {
  static std::atomic<uint64_t> counter{0};
  const std::string endpoint = "inproc://kordon-monitor-" + std::to_string(::getpid()) + "-" +
                               std::to_string(++counter);
  if (zmq_socket_monitor(socket, endpoint.c_str(), ZMQ_EVENT_ALL) != 0) {
    *error = ZmqError("zmq_socket_monitor");
    return;
  }
  monitored_ = socket;
  void* pair = zmq_socket(zmq_context, ZMQ_PAIR);
  if (pair == nullptr || zmq_connect(pair, endpoint.c_str()) != 0) {
    *error = ZmqError("monitor socket");
    if (pair != nullptr) zmq_close(pair);
    zmq_socket_monitor(socket, nullptr, 0);
    monitored_ = nullptr;
    return;
  }
  const int linger = 0;
  zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof(linger));
  pair_ = pair;
}

SocketMonitor::~SocketMonitor() {
  if (monitored_ != nullptr) zmq_socket_monitor(monitored_, nullptr, 0);
  if (pair_ != nullptr) zmq_close(pair_);
}

std::optional<SocketEvent> SocketMonitor::Read() {
  if (pair_ == nullptr) return std::nullopt;
  zmq_msg_t head;
  zmq_msg_init(&head);
  if (zmq_msg_recv(&head, pair_, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&head);
    return std::nullopt;
  }
  SocketEvent e;
  // Version 1 events: frame 1 = uint16 event + uint32 value (native order), frame 2 = address.
  if (zmq_msg_size(&head) >= 6) {
    const auto* p = static_cast<const uint8_t*>(zmq_msg_data(&head));
    std::memcpy(&e.event, p, 2);
    std::memcpy(&e.value, p + 2, 4);
  }
  const bool more = zmq_msg_more(&head) != 0;
  zmq_msg_close(&head);
  if (more) {
    bool more_frames = true;
    e.address = ZapFrame(pair_, &more_frames);
    while (more_frames) ZapFrame(pair_, &more_frames);
  }
  return e;
}

}  // namespace kordon::curve
