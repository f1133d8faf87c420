// A log line that repeats at most once per interval, with a count of what it held back.
#ifndef KORDON_HOST_RATE_LIMITED_LOG_H_
#define KORDON_HOST_RATE_LIMITED_LOG_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include <spdlog/spdlog.h>

namespace kordon::host {

// Thread-safe.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::milliseconds interval = std::chrono::seconds(5))
      : interval_(interval) {}

  void Log(spdlog::level::level_enum level, const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (logged_once_ && now - last_ < interval_) {
      ++suppressed_;
      return;
    }
    if (suppressed_ > 0)
      spdlog::log(level, "{} ({} similar lines held back)", line, suppressed_);
    else
      spdlog::log(level, "{}", line);
    suppressed_ = 0;
    last_ = now;
    logged_once_ = true;
  }

  // Reports the lines still held back, if any (at shutdown, so that no count goes unsaid).
  void Flush(spdlog::level::level_enum level, const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (suppressed_ > 0) spdlog::log(level, "{}: {} similar lines were held back", what, suppressed_);
    suppressed_ = 0;
  }

 private:
  std::mutex mutex_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_;  // GUARDED_BY(mutex_)
  bool logged_once_ = false;                    // GUARDED_BY(mutex_)
  uint64_t suppressed_ = 0;                     // GUARDED_BY(mutex_)
};

}  // namespace kordon::host

#endif  // KORDON_HOST_RATE_LIMITED_LOG_H_
