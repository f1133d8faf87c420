// accounts.h — the console's local users: a SQLite file (common/sqlite_db.h) of names, roles
// and Argon2id password hashes (libsodium crypto_pwhash_str). Used by the console plugin (to
// log users in) and by `kordon user` (host/src/users_cli.cpp, to manage them).
//
// Hashing and verifying take ~0.1 s and 64 MiB each on purpose: callers run them off the
// plugin's actor thread (the console does it on its HTTP threads) and never while holding a
// lock others wait for — hence HashPassword/VerifyPassword are free functions, apart from the
// store.
//
// Thread safety: a UserStore is one SQLite connection; use it from one thread at a time (the
// console guards it with a mutex). The free functions are thread-safe.
#ifndef KORDON_PLUGINS_CONSOLE_ACCOUNTS_H_
#define KORDON_PLUGINS_CONSOLE_ACCOUNTS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::sqlite {
class Db;
}

namespace kordon::console {

// Weakest first: each role may do everything the ones before it may.
enum class Role { kOfficer = 0, kSupervisor = 1, kAdministrator = 2 };

const char* RoleName(Role role);
std::optional<Role> ParseRole(std::string_view text);

struct User {
  std::string name;
  Role role = Role::kOfficer;
  bool disabled = false;
  int64_t created_us = 0;
  int64_t changed_us = 0;
};

// A user name: 1–64 of A-Z a-z 0-9 _ . - (it goes into logs, the journal and envelopes).
bool ValidUserName(std::string_view name);
// At least 8 bytes, at most 1024; "" when acceptable, else why not.
std::string PasswordProblem(std::string_view password);

// libsodium must be initialised once per process before hashing; safe to call many times.
bool InitSodium();
// An Argon2id hash string ($argon2id$v=19$m=...), or nullopt when out of memory.
std::optional<std::string> HashPassword(std::string_view password);
bool VerifyPassword(const std::string& hash, std::string_view password);

class UserStore {
 public:
  ~UserStore();
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;

  // Opens (read_only: an existing file only; otherwise creating it and its table). nullptr
  // and *error naming the file when it cannot be opened or is not a users file.
  static std::unique_ptr<UserStore> Open(const std::string& path, bool read_only,
                                         std::string* error);

  // Each returns false with *error (a sentence for the operator) when nothing changed.
  bool Add(const std::string& name, std::string_view password, Role role, int64_t now_us,
           std::string* error);
  bool SetPassword(const std::string& name, std::string_view password, int64_t now_us,
                   std::string* error);
  bool SetDisabled(const std::string& name, bool disabled, int64_t now_us, std::string* error);
  std::optional<std::vector<User>> List(std::string* error);

  // The user and the stored hash, for a login: nullopt when there is no such user (or the
  // file cannot be read: *error then is not empty).
  struct Credentials {
    User user;
    std::string hash;
  };
  std::optional<Credentials> Lookup(const std::string& name, std::string* error);

 private:
  explicit UserStore(std::unique_ptr<sqlite::Db> db);
  bool Exists(const std::string& name, std::string* error);
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace kordon::console

#endif  // KORDON_PLUGINS_CONSOLE_ACCOUNTS_H_
