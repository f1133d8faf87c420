// Sessions, CSRF tokens and the login rate limiter (plugins/console/auth.h), with times
// passed in.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "auth.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace kc = kordon::console;

namespace {

constexpr int64_t kSecond = 1000000;

TEST_CASE("session ids and CSRF tokens are 256 random bits, distinct") {
  kc::SessionTable table(60 * kSecond, 100);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    kc::Session s = table.Create("anna", kc::Role::kOfficer, 0);
    CHECK(s.id.size() == 64);
    CHECK(s.csrf.size() == 64);
    CHECK(s.id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(seen.insert(s.id).second);
    CHECK(seen.insert(s.csrf).second);
  }
}

TEST_CASE(
    "a session is found by its id until it is idle too long, logged out or its user is removed") {
  kc::SessionTable table(60 * kSecond, 100);
  kc::Session s = table.Create("anna", kc::Role::kSupervisor, 0);
  auto found = table.Find(s.id, 30 * kSecond);
  REQUIRE(found);
  CHECK(found->user == "anna");
  CHECK(found->role == kc::Role::kSupervisor);
  // Each request restarts the idle time: 30 s + 59 s is still alive.
  CHECK(table.Find(s.id, 89 * kSecond));
  CHECK_FALSE(table.Find(s.id, 150 * kSecond));  // 61 s idle
  CHECK_FALSE(table.Find("", 0));
  CHECK_FALSE(table.Find(std::string(64, 'a'), 0));

  kc::Session t = table.Create("boris", kc::Role::kOfficer, 0);
  CHECK(table.Remove(t.id));
  CHECK_FALSE(table.Find(t.id, 1));
  kc::Session u1 = table.Create("vera", kc::Role::kOfficer, 0);
  kc::Session u2 = table.Create("vera", kc::Role::kOfficer, 0);
  CHECK(table.RemoveUser("vera") == 2);
  CHECK_FALSE(table.Find(u1.id, 1));
  CHECK_FALSE(table.Find(u2.id, 1));
}

TEST_CASE("a full session table forgets the least recently used session") {
  kc::SessionTable table(3600 * kSecond, 2);
  kc::Session a = table.Create("a", kc::Role::kOfficer, 1);
  kc::Session b = table.Create("b", kc::Role::kOfficer, 2);
  CHECK(table.Find(a.id, 3));  // a is now more recent than b
  kc::Session c = table.Create("c", kc::Role::kOfficer, 4);
  CHECK(table.size() == 2);
  CHECK(table.Find(a.id, 5));
  CHECK_FALSE(table.Find(b.id, 5));
  CHECK(table.Find(c.id, 5));
}

TEST_CASE("CSRF: only the session's own token passes") {
  kc::SessionTable table(60 * kSecond, 10);
  kc::Session s = table.Create("anna", kc::Role::kOfficer, 0);
  kc::Session other = table.Create("boris", kc::Role::kOfficer, 0);
  CHECK(kc::CsrfOk(s, s.csrf));
  CHECK_FALSE(kc::CsrfOk(s, ""));
  CHECK_FALSE(kc::CsrfOk(s, other.csrf));
  CHECK_FALSE(kc::CsrfOk(s, s.csrf.substr(0, 63)));
  CHECK_FALSE(kc::CsrfOk(s, s.id));
}

TEST_CASE("failed logins lock the user name and the address for the lockout time") {
  kc::LoginLimiter limiter(3, 3, 60 * kSecond, 300 * kSecond);
  int64_t wait = 0;
  CHECK(limiter.Allowed("anna", "10.0.0.1", 0, &wait));
  limiter.Failed("anna", "10.0.0.1", 1 * kSecond);
  limiter.Failed("anna", "10.0.0.1", 2 * kSecond);
  CHECK(limiter.Allowed("anna", "10.0.0.1", 3 * kSecond, &wait));
  limiter.Failed("anna", "10.0.0.1", 3 * kSecond);
  CHECK_FALSE(limiter.Allowed("anna", "10.0.0.1", 4 * kSecond, &wait));
  CHECK(wait == 299 * kSecond);
  // The user name is locked from another address; the address is locked for another name.
  CHECK_FALSE(limiter.Allowed("anna", "10.0.0.2", 4 * kSecond, &wait));
  CHECK_FALSE(limiter.Allowed("boris", "10.0.0.1", 4 * kSecond, &wait));
  CHECK(limiter.Allowed("boris", "10.0.0.2", 4 * kSecond, &wait));
  // After the lockout both may try again.
  CHECK(limiter.Allowed("anna", "10.0.0.1", 304 * kSecond, &wait));
}

TEST_CASE("failures older than the window do not count; a success clears the user's") {
  kc::LoginLimiter limiter(3, 3, 60 * kSecond, 300 * kSecond);
  limiter.Failed("anna", "a1", 0);
  limiter.Failed("anna", "a2", 10 * kSecond);
  limiter.Failed("anna", "a3", 100 * kSecond);  // the first two are outside the window now
  CHECK(limiter.Allowed("anna", "a4", 101 * kSecond, nullptr));
  limiter.Failed("anna", "a5", 102 * kSecond);
  limiter.Succeeded("anna");
  limiter.Failed("anna", "a6", 103 * kSecond);
  CHECK(limiter.Allowed("anna", "a7", 104 * kSecond, nullptr));
}

TEST_CASE("one address guessing many names is limited although each name failed once") {
  kc::LoginLimiter limiter(3, 4, 60 * kSecond, 300 * kSecond);
  limiter.Failed("a", "10.0.0.9", 1);
  limiter.Failed("b", "10.0.0.9", 2);
  limiter.Failed("c", "10.0.0.9", 3);
  CHECK(limiter.Allowed("d", "10.0.0.9", 4, nullptr));  // below the address's limit of 4
  limiter.Failed("d", "10.0.0.9", 4);
  CHECK_FALSE(limiter.Allowed("e", "10.0.0.9", 5, nullptr));
  CHECK(limiter.Allowed("e", "10.0.0.10", 5, nullptr));
}

}  // namespace
