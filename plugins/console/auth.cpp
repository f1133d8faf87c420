// auth.cpp — see auth.h.
#include "auth.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

namespace kordon::console {
namespace {

// Bounds the limiter's memory under a flood of made-up names: past this many keys, those with
// no recent failure and no lock are forgotten.
constexpr size_t kMaxLimiterKeys = 10000;

}  // namespace

std::string RandomHex(size_t bytes) {
  InitSodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  sodium_memzero(raw.data(), raw.size());
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Session SessionTable::Create(const std::string& user, Role role, int64_t now_us) {
  Session s;
  s.id = RandomHex(32);
  s.csrf = RandomHex(32);
  s.user = user;
  s.role = role;
  s.created_us = now_us;
  s.last_us = now_us;
  std::lock_guard<std::mutex> lock(mutex_);
  Expire(now_us);
  while (!sessions_.empty() && sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& x, auto& y) {
      return x.second.last_us < y.second.last_us;
    });
    sessions_.erase(oldest);
  }
  sessions_[s.id] = s;
  return s;
}

std::optional<Session> SessionTable::Find(std::string_view id, int64_t now_us) {
  if (id.size() != 64) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return std::nullopt;
  if (now_us - it->second.last_us > idle_timeout_us_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_us = now_us;
  return it->second;
}

bool SessionTable::Remove(std::string_view id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.erase(std::string(id)) > 0;
}

size_t SessionTable::RemoveUser(const std::string& user) {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::erase_if(sessions_, [&](const auto& kv) { return kv.second.user == user; });
}

size_t SessionTable::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

void SessionTable::Expire(int64_t now_us) {
  std::erase_if(sessions_,
                [&](const auto& kv) { return now_us - kv.second.last_us > idle_timeout_us_; });
}

bool CsrfOk(const Session& session, std::string_view header_token) {
  return !session.csrf.empty() && ConstantTimeEqual(session.csrf, header_token);
}

int64_t LoginLimiter::RetryAfter(const std::string& key, int64_t now_us) {
  auto it = records_.find(key);
  if (it == records_.end()) return 0;
  return std::max<int64_t>(0, it->second.locked_until_us - now_us);
}

bool LoginLimiter::Allowed(const std::string& user, const std::string& address, int64_t now_us,
                           int64_t* retry_after_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t wait =
      std::max(RetryAfter("u:" + user, now_us), RetryAfter("a:" + address, now_us));
  if (retry_after_us != nullptr) *retry_after_us = wait;
  return wait == 0;
}

void LoginLimiter::Fail(const std::string& key, int max_failures, int64_t now_us) {
  Record& r = records_[key];
  r.failures.push_back(now_us);
  while (!r.failures.empty() && now_us - r.failures.front() > window_us_) r.failures.pop_front();
  if (static_cast<int>(r.failures.size()) >= max_failures) {
    r.locked_until_us = now_us + lockout_us_;
    r.failures.clear();
  }
}

void LoginLimiter::Failed(const std::string& user, const std::string& address, int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (records_.size() > kMaxLimiterKeys) {
    std::erase_if(records_, [&](const auto& kv) {
      const Record& r = kv.second;
      return r.locked_until_us <= now_us &&
             (r.failures.empty() || now_us - r.failures.back() > window_us_);
    });
  }
  Fail("u:" + user, max_user_failures_, now_us);
  Fail("a:" + address, max_address_failures_, now_us);
}

void LoginLimiter::Succeeded(const std::string& user) {
  std::lock_guard<std::mutex> lock(mutex_);
  records_.erase("u:" + user);
}

}  // namespace kordon::console
