// auth.h — the console's sessions, CSRF tokens and login rate limits. No HTTP here: the
// plugin's handlers use these with the request's cookie, header and address.
//
//  - A session id is 256 random bits (libsodium randombytes), sent as an HttpOnly,
//    SameSite=Strict cookie; each session has its own CSRF token (another 256 bits) that the
//    page sends back in the X-CSRF-Token header on every POST. Sessions end after
//    `idle_timeout_us` without a request, on logout, or when the table is full (the least
//    recently used goes first).
//  - LoginLimiter counts failed logins per user name and per client address: `max_user_failures`
//    for one name (or `max_address_failures` from one address, higher: an address may be a
//    shared workstation) within `window_us` lock that key for `lockout_us`. Either key locked
//    refuses the login before the password is checked, so a locked account costs no Argon2
//    time.
//
// Times are passed in (µs), so tests need no clock. Thread safety: both classes are
// thread-safe (one mutex each); the HTTP threads share them.
#ifndef KORDON_PLUGINS_CONSOLE_AUTH_H_
#define KORDON_PLUGINS_CONSOLE_AUTH_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "accounts.h"

namespace kordon::console {

// `bytes` random bytes as lower-case hex (libsodium's CSPRNG).
std::string RandomHex(size_t bytes);
// Compares in time independent of where they differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

struct Session {
  std::string id;    // 64 hex digits
  std::string csrf;  // 64 hex digits
  std::string user;
  Role role = Role::kOfficer;
  int64_t created_us = 0;
  int64_t last_us = 0;
};

class SessionTable {
 public:
  SessionTable(int64_t idle_timeout_us, size_t max_sessions)
      : idle_timeout_us_(idle_timeout_us), max_sessions_(max_sessions) {}

  Session Create(const std::string& user, Role role, int64_t now_us);
  // The live session with this id (its idle time restarts), or nullopt.
  std::optional<Session> Find(std::string_view id, int64_t now_us);
  bool Remove(std::string_view id);
  // Ends every session of `user` (disabled, password changed). Returns how many.
  size_t RemoveUser(const std::string& user);
  size_t size() const;

 private:
  void Expire(int64_t now_us);  // REQUIRES: mutex_ held

  const int64_t idle_timeout_us_;
  const size_t max_sessions_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Session> sessions_;  // GUARDED_BY(mutex_)
};

// CSRF: the header's token must equal the session's.
bool CsrfOk(const Session& session, std::string_view header_token);

class LoginLimiter {
 public:
  LoginLimiter(int max_user_failures, int max_address_failures, int64_t window_us,
               int64_t lockout_us)
      : max_user_failures_(max_user_failures),
        max_address_failures_(max_address_failures),
        window_us_(window_us),
        lockout_us_(lockout_us) {}

  // Whether a login for `user` from `address` may be tried now; when not, *retry_after_us
  // says how long until it may.
  bool Allowed(const std::string& user, const std::string& address, int64_t now_us,
               int64_t* retry_after_us);
  void Failed(const std::string& user, const std::string& address, int64_t now_us);
  // A good password clears the user's failures (not the address's: one address guessing
  // many accounts stays limited).
  void Succeeded(const std::string& user);

 private:
  struct Record {
    std::deque<int64_t> failures;  // times within the window
    int64_t locked_until_us = 0;
  };
  int64_t RetryAfter(const std::string& key, int64_t now_us);  // REQUIRES: mutex_ held
  // REQUIRES: mutex_ held
  void Fail(const std::string& key, int max_failures, int64_t now_us);

  const int max_user_failures_;
  const int max_address_failures_;
  const int64_t window_us_;
  const int64_t lockout_us_;
  std::mutex mutex_;
  std::map<std::string, Record> records_;  // GUARDED_BY(mutex_); "u:<user>", "a:<address>"
};

}  // namespace kordon::console

#endif  // KORDON_PLUGINS_CONSOLE_AUTH_H_
