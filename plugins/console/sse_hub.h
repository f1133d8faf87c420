// sse_hub.h — fans Server-Sent Events out to the console's connected pages without ever
// making the publisher wait for a client.
//
// Broadcast() (the plugin's actor thread) appends a frame to each client's own queue and
// returns; each client's HTTP thread takes frames with Next() and writes them to its socket.
// A client whose queue is full (a page that stopped reading, a slow link) is not waited for:
// its queue is replaced by one `event: reload` frame, it is closed once that is written, and
// the overflow is counted — the page reloads and fetches the whole state again, so it never
// shows a picture with a hole in it.
//
// Thread safety: everything is thread-safe. Broadcast holds the hub's mutex and each client's
// mutex only to move strings.
#ifndef KORDON_PLUGINS_CONSOLE_SSE_HUB_H_
#define KORDON_PLUGINS_CONSOLE_SSE_HUB_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kordon::console {

// One SSE frame: "event: NAME\ndata: DATA\n\n" (DATA must not contain a newline; JSON from
// nlohmann::json::dump() never does).
std::string SseFrame(const std::string& event, const std::string& data);

class SseClient {
 public:
  explicit SseClient(size_t queue_limit) : queue_limit_(queue_limit) {}

  enum class Next { kFrame, kIdle, kEnd };
  // Waits at most `wait` for a frame: kFrame (*out set), kIdle (nothing yet), kEnd (closed:
  // the hub stopped or the client overflowed and its reload frame has been taken).
  Next Take(std::string* out, std::chrono::milliseconds wait);

 private:
  friend class SseHub;
  // False when the queue was full: the client is now overflowed.
  bool Push(const std::string& frame);
  void Close();

  const size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // GUARDED_BY(mutex_)
  bool closing_ = false;           // GUARDED_BY(mutex_): end once the queue is empty
};

class SseHub {
 public:
  SseHub(size_t queue_limit, size_t max_clients)
      : queue_limit_(queue_limit), max_clients_(max_clients) {}

  // A new client, or nullptr when max_clients are connected (counted as refused).
  std::shared_ptr<SseClient> Connect();
  void Disconnect(const std::shared_ptr<SseClient>& client);
  void Broadcast(const std::string& frame);
  // Ends every client (at stop).
  void CloseAll();

  struct Stats {
    size_t clients = 0;
    uint64_t connected = 0;
    uint64_t refused = 0;
    uint64_t frames = 0;     // frames queued (one per client)
    uint64_t overflows = 0;  // clients told to reload and disconnected
  };
  Stats stats() const;

 private:
  const size_t queue_limit_;
  const size_t max_clients_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<SseClient>> clients_;  // GUARDED_BY(mutex_)
  Stats stats_;                                      // GUARDED_BY(mutex_)
};

}  // namespace kordon::console

#endif  // KORDON_PLUGINS_CONSOLE_SSE_HUB_H_
