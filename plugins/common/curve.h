// curve.h — ZeroMQ CURVE for Kordon links (library `kordon_curve`): Z85 key pairs, key files,
// a ZAP handler (RFC 27, ZAP/1.0) that denies by default and allows only listed client public
// keys, and a socket monitor that reports handshake failures (a client that does not speak
// CURVE never reaches ZAP, so only the monitor sees it).
//
// Used by plugins/bridge and `kordon keys`; written so that the host bus can reuse it. No SDK
// or host types: logging goes through a callback.
//
// Thread safety: the free functions are thread-safe. ZapHandler runs its own thread; its
// public members may be called from any thread. SocketMonitor is owned by the thread that
// owns the monitored socket (ZeroMQ sockets are not thread-safe).
#ifndef KORDON_PLUGINS_COMMON_CURVE_H_
#define KORDON_PLUGINS_COMMON_CURVE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kordon::curve {

inline constexpr size_t kZ85KeyLength = 40;  // a 32-byte key in Z85
// The endpoint every ZAP handler binds (RFC 27); one handler per ZeroMQ context.
inline constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// Whether libzmq was built with CURVE (libsodium / tweetnacl).
bool CurveAvailable();

// A fresh key pair (zmq_curve_keypair); nullopt and *error when CURVE is unavailable.
std::optional<KeyPair> GenerateKeyPair(std::string* error);

// The public key of a Z85 secret key (zmq_curve_public); nullopt and *error when the text is
// not a Z85 key.
std::optional<std::string> PublicKeyOf(std::string_view secret_z85, std::string* error);

// 40 characters of the Z85 alphabet (what zmq_z85_decode accepts for 32 bytes).
bool IsZ85Key(std::string_view text);

// Writes PREFIX.key (the secret key, created with mode 0600 before anything is written) and
// PREFIX.pub. Refuses to overwrite either file. Each file is a comment line and the Z85 key.
bool WriteKeyFiles(const std::string& prefix, const KeyPair& pair, std::string* error);

// Reads a key file written by WriteKeyFiles (comment lines '#', blank lines ignored; one Z85
// key). With `secret` the file must not be readable by group or others (the way ssh refuses
// an open private key): an exposed secret key is an error, not a warning.
std::optional<std::string> ReadKeyFile(const std::string& path, bool secret, std::string* error);

// A public key given in configuration: a Z85 key itself, or the path of a .pub file.
std::optional<std::string> ResolvePublicKey(const std::string& text, std::string* error);

// The Z85 text of 32 raw key bytes ("" when the size is not 32).
std::string Z85Of(std::string_view raw32);

// Whether an endpoint like tcp://127.0.0.1:7600 / tcp://[::1]:7600 / tcp://localhost:7600 is
// on the loopback interface (where plain TCP is allowed). inproc:// and ipc:// count as local.
bool IsLoopbackEndpoint(std::string_view endpoint);

using LogFn = std::function<void(bool warning, const std::string& line)>;

// The ZAP handler: a REP socket on kZapEndpoint in `zmq_context`, served by its own thread.
// Every request is answered; only CURVE clients whose public key is in the allow-list get
// "200". Anything else — another mechanism, an unknown key, a malformed request — gets
// "400" and is counted and logged with the peer's address. Start it before any CURVE server
// socket of the context accepts a connection: without a handler libzmq lets every key in.
class ZapHandler {
 public:
  struct Counters {
    uint64_t allowed = 0;
    uint64_t refused = 0;
  };

  ZapHandler(void* zmq_context, std::vector<std::string> allowed_z85, LogFn log);
  ~ZapHandler();  // Stop()
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds kZapEndpoint (in the calling thread, so that the handler is in place when Start
  // returns) and starts the thread. False and *error when the bind fails (another handler
  // already serves this context) or a key is not Z85.
  bool Start(std::string* error);
  // Stops and joins the thread (within ~50 ms). Idempotent.
  void Stop();

  // Replaces the allow-list (Z85 keys); new handshakes see it at once.
  bool SetAllowed(const std::vector<std::string>& allowed_z85, std::string* error);
  Counters counters() const { return {allowed_.load(), refused_.load()}; }

 private:
  void Run();

  void* const context_;
  const LogFn log_;
  void* socket_ = nullptr;  // owned by the thread once started
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> allowed_{0};
  std::atomic<uint64_t> refused_{0};
  std::mutex mutex_;
  std::set<std::string> keys_;  // raw 32-byte keys; GUARDED_BY(mutex_)
};

// One event of a monitored socket (zmq_socket_monitor).
struct SocketEvent {
  uint16_t event = 0;    // ZMQ_EVENT_*
  uint32_t value = 0;    // errno, fd or ZMQ_PROTOCOL_ERROR_* depending on the event
  std::string address;   // the endpoint the event concerns
  // "handshake failed: mechanism mismatch (the peer does not speak CURVE)", "connected", …
  std::string Describe() const;
  bool IsHandshakeFailure() const;
};

// Monitors one socket's events over an inproc PAIR. Poll `socket()` for ZMQ_POLLIN, then
// drain with Read().
class SocketMonitor {
 public:
  // Starts monitoring `socket` (all events) on a unique inproc endpoint of `zmq_context`.
  // Check ok(); *error says why not.
  SocketMonitor(void* zmq_context, void* socket, std::string* error);
  ~SocketMonitor();
  SocketMonitor(const SocketMonitor&) = delete;
  SocketMonitor& operator=(const SocketMonitor&) = delete;

  bool ok() const { return pair_ != nullptr; }
  void* socket() const { return pair_; }
  // The next event, or nullopt when none is waiting.
  std::optional<SocketEvent> Read();

 private:
  void* monitored_ = nullptr;
  void* pair_ = nullptr;
};

}  // namespace kordon::curve

#endif  // KORDON_PLUGINS_COMMON_CURVE_H_
