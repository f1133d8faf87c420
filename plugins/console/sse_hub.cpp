// sse_hub.cpp — see sse_hub.h.
#include "sse_hub.h"

#include <algorithm>

namespace kordon::console {

std::string SseFrame(const std::string& event, const std::string& data) {
  return "event: " + event + "\ndata: " + data + "\n\n";
}

SseClient::Next SseClient::Take(std::string* out, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, wait, [&] { return !queue_.empty() || closing_; });
  if (!queue_.empty()) {
    *out = std::move(queue_.front());
    queue_.pop_front();
    return Next::kFrame;
  }
  return closing_ ? Next::kEnd : Next::kIdle;
}

bool SseClient::Push(const std::string& frame) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_) return true;  // already ending; nothing more for it
    if (queue_.size() >= queue_limit_) {
      queue_.clear();
      queue_.push_back(SseFrame("reload", R"({"reason":"overflow"})"));
      closing_ = true;
      cv_.notify_all();
      return false;
    }
    queue_.push_back(frame);
  }
  cv_.notify_all();
  return true;
}

void SseClient::Close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<SseClient> SseHub::Connect() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (clients_.size() >= max_clients_) {
    ++stats_.refused;
    return nullptr;
  }
  auto c = std::make_shared<SseClient>(queue_limit_);
  clients_.push_back(c);
  ++stats_.connected;
  return c;
}

void SseHub::Disconnect(const std::shared_ptr<SseClient>& client) {
  client->Close();
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase(clients_, client);
}

void SseHub::Broadcast(const std::string& frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    ++stats_.frames;
    if (!(*it)->Push(frame)) {
      ++stats_.overflows;
      it = clients_.erase(it);  // it ends by itself once its reload frame is written
    } else {
      ++it;
    }
  }
}

void SseHub::CloseAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& c : clients_) c->Close();
  clients_.clear();
}

SseHub::Stats SseHub::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s = stats_;
  s.clients = clients_.size();
  return s;
}

}  // namespace kordon::console
