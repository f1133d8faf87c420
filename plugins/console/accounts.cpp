// accounts.cpp — see accounts.h.
#include "accounts.h"

#include <sodium.h>

#include <utility>

#include "sqlite_db.h"

namespace kordon::console {
namespace {

constexpr int64_t kSchemaVersion = 1;

const char kSchema[] =
    "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT NOT NULL,"
    " role TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL,"
    " changed_us INTEGER NOT NULL)";

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kOfficer:
      return "officer";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kAdministrator:
      return "administrator";
  }
  return "officer";
}

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "officer") return Role::kOfficer;
  if (text == "supervisor") return Role::kSupervisor;
  if (text == "administrator") return Role::kAdministrator;
  return std::nullopt;
}

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string PasswordProblem(std::string_view password) {
  if (password.size() < 8) return "a password needs at least 8 characters";
  if (password.size() > 1024) return "a password has at most 1024 bytes";
  return "";
}

bool InitSodium() { return sodium_init() >= 0; }

std::optional<std::string> HashPassword(std::string_view password) {
  if (!InitSodium()) return std::nullopt;
  char out[crypto_pwhash_STRBYTES];
  // INTERACTIVE limits (2 passes, 64 MiB): libsodium's advice for online logins.
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return std::nullopt;
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, std::string_view password) {
  if (!InitSodium() || hash.empty()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

UserStore::UserStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
UserStore::~UserStore() = default;

std::unique_ptr<UserStore> UserStore::Open(const std::string& path, bool read_only,
                                           std::string* error) {
  sqlite::OpenOptions options;
  options.read_only = read_only;
  options.create = !read_only;
  sqlite::DbStatus s;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, options, &s);
  if (!db) {
    *error = s.message;
    return nullptr;
  }
  int64_t version = 0;
  if (s = db->UserVersion(&version); !s.ok()) {
    *error = s.message;
    return nullptr;
  }
  if (version > kSchemaVersion) {
    *error = "'" + path + "' is a users file of a newer version (" + std::to_string(version) +
             "); upgrade kordon";
    return nullptr;
  }
  if (version == 0) {
    if (read_only) {
      *error = "'" + path + "' is not a users file (create it with 'kordon user add')";
      return nullptr;
    }
    if (s = db->Exec(kSchema); !s.ok()) {
      *error = s.message;
      return nullptr;
    }
    if (s = db->SetUserVersion(kSchemaVersion); !s.ok()) {
      *error = s.message;
      return nullptr;
    }
  }
  return std::unique_ptr<UserStore>(new UserStore(std::move(db)));
}

bool UserStore::Exists(const std::string& name, std::string* error) {
  return Lookup(name, error).has_value();
}

bool UserStore::Add(const std::string& name, std::string_view password, Role role, int64_t now_us,
                    std::string* error) {
  if (!ValidUserName(name)) {
    *error = "user name '" + name + "' is not 1-64 of A-Z a-z 0-9 _ . -";
    return false;
  }
  if (std::string p = PasswordProblem(password); !p.empty()) {
    *error = p;
    return false;
  }
  if (Exists(name, error)) {
    *error = "user '" + name + "' already exists (use 'kordon user passwd')";
    return false;
  }
  if (!error->empty()) return false;
  std::optional<std::string> hash = HashPassword(password);
  if (!hash) {
    *error = "the password could not be hashed (out of memory?)";
    return false;
  }
  sqlite::DbStatus s;
  sqlite::Statement st = db_->Prepare(
      "INSERT INTO users (name, hash, role, disabled, created_us, changed_us)"
      " VALUES (?, ?, ?, 0, ?, ?)",
      &s);
  if (!st) {
    *error = s.message;
    return false;
  }
  st.Bind(1, name).Bind(2, *hash).Bind(3, RoleName(role)).Bind(4, now_us).Bind(5, now_us);
  if (s = st.Run(); !s.ok()) {
    *error = s.message;
    return false;
  }
  return true;
}

bool UserStore::SetPassword(const std::string& name, std::string_view password, int64_t now_us,
                            std::string* error) {
  if (std::string p = PasswordProblem(password); !p.empty()) {
    *error = p;
    return false;
  }
  std::optional<std::string> hash = HashPassword(password);
  if (!hash) {
    *error = "the password could not be hashed (out of memory?)";
    return false;
  }
  sqlite::DbStatus s;
  sqlite::Statement st =
      db_->Prepare("UPDATE users SET hash = ?, changed_us = ? WHERE name = ?", &s);
  if (!st) {
    *error = s.message;
    return false;
  }
  st.Bind(1, *hash).Bind(2, now_us).Bind(3, name);
  if (s = st.Run(); !s.ok()) {
    *error = s.message;
    return false;
  }
  if (db_->Changes() == 0) {
    *error = "no user '" + name + "'";
    return false;
  }
  return true;
}

bool UserStore::SetDisabled(const std::string& name, bool disabled, int64_t now_us,
                            std::string* error) {
  sqlite::DbStatus s;
  sqlite::Statement st =
      db_->Prepare("UPDATE users SET disabled = ?, changed_us = ? WHERE name = ?", &s);
  if (!st) {
    *error = s.message;
    return false;
  }
  st.Bind(1, disabled ? 1 : 0).Bind(2, now_us).Bind(3, name);
  if (s = st.Run(); !s.ok()) {
    *error = s.message;
    return false;
  }
  if (db_->Changes() == 0) {
    *error = "no user '" + name + "'";
    return false;
  }
  return true;
}

namespace {

User UserFromRow(const sqlite::Statement& st) {
  User u;
  u.name = st.Text(0);
  // A role this version does not know is read as the weakest one, never as a stronger one.
  u.role = ParseRole(st.Text(1)).value_or(Role::kOfficer);
  u.disabled = st.Int(2) != 0;
  u.created_us = st.Int(3);
  u.changed_us = st.Int(4);
  return u;
}

}  // namespace

std::optional<std::vector<User>> UserStore::List(std::string* error) {
  sqlite::DbStatus s;
  sqlite::Statement st = db_->Prepare(
      "SELECT name, role, disabled, created_us, changed_us FROM users ORDER BY name", &s);
  if (!st) {
    *error = s.message;
    return std::nullopt;
  }
  std::vector<User> users;
  for (;;) {
    sqlite::Statement::Step step = st.Next();
    if (step == sqlite::Statement::Step::kDone) break;
    if (step == sqlite::Statement::Step::kError) {
      *error = st.status().message;
      return std::nullopt;
    }
    users.push_back(UserFromRow(st));
  }
  return users;
}

std::optional<UserStore::Credentials> UserStore::Lookup(const std::string& name,
                                                        std::string* error) {
  error->clear();
  sqlite::DbStatus s;
  sqlite::Statement st = db_->Prepare(
      "SELECT name, role, disabled, created_us, changed_us, hash FROM users WHERE name = ?", &s);
  if (!st) {
    *error = s.message;
    return std::nullopt;
  }
  st.Bind(1, name);
  sqlite::Statement::Step step = st.Next();
  if (step == sqlite::Statement::Step::kError) {
    *error = st.status().message;
    return std::nullopt;
  }
  if (step == sqlite::Statement::Step::kDone) return std::nullopt;
  Credentials c{UserFromRow(st), st.Text(5)};
  return c;
}

}  // namespace kordon::console
