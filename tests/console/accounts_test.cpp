// The users file (plugins/console/accounts.h) on real SQLite files: Argon2id hashes, roles,
// disabled users, refusals.
#include "accounts.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace kc = kordon::console;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/kordon-console-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string File(const char* name) const { return (path / name).string(); }
};

TEST_CASE("passwords are stored as Argon2id hashes that verify only the right password") {
  auto hash = kc::HashPassword("correct horse");
  REQUIRE(hash);
  CHECK(hash->rfind("$argon2id$", 0) == 0);
  CHECK(hash->find("correct horse") == std::string::npos);
  CHECK(kc::VerifyPassword(*hash, "correct horse"));
  CHECK_FALSE(kc::VerifyPassword(*hash, "correct hors"));
  CHECK_FALSE(kc::VerifyPassword("", "correct horse"));
  CHECK_FALSE(kc::VerifyPassword("not a hash", "correct horse"));
  // Salted: the same password twice gives two hashes.
  CHECK(*kc::HashPassword("correct horse") != *hash);
}

TEST_CASE("users are added, listed, looked up, re-passworded, disabled; the file reopens") {
  TempDir dir;
  const std::string path = dir.File("users.db");
  std::string error;
  {
    auto store = kc::UserStore::Open(path, false, &error);
    REQUIRE_MESSAGE(store, error);
    CHECK(store->Add("anna", "password-1", kc::Role::kOfficer, 100, &error));
    CHECK(store->Add("boris", "password-2", kc::Role::kSupervisor, 200, &error));
    CHECK_FALSE(store->Add("anna", "password-3", kc::Role::kAdministrator, 300, &error));
    CHECK(error.find("already exists") != std::string::npos);
    auto c = store->Lookup("anna", &error);
    REQUIRE(c);
    CHECK(c->user.role == kc::Role::kOfficer);
    CHECK(kc::VerifyPassword(c->hash, "password-1"));
    CHECK(store->SetPassword("anna", "password-9", 400, &error));
    CHECK(kc::VerifyPassword(store->Lookup("anna", &error)->hash, "password-9"));
    CHECK_FALSE(kc::VerifyPassword(store->Lookup("anna", &error)->hash, "password-1"));
    CHECK(store->SetDisabled("boris", true, 500, &error));
    CHECK_FALSE(store->SetDisabled("nobody", true, 500, &error));
    CHECK(error.find("no user") != std::string::npos);
    CHECK_FALSE(store->Lookup("nobody", &error));
    CHECK(error.empty());
  }
  auto store = kc::UserStore::Open(path, true, &error);
  REQUIRE_MESSAGE(store, error);
  auto users = store->List(&error);
  REQUIRE(users);
  REQUIRE(users->size() == 2);
  CHECK((*users)[0].name == "anna");
  CHECK_FALSE((*users)[0].disabled);
  CHECK((*users)[1].name == "boris");
  CHECK((*users)[1].role == kc::Role::kSupervisor);
  CHECK((*users)[1].disabled);
  CHECK((*users)[1].changed_us == 500);
}

TEST_CASE("bad names, short passwords and foreign files are refused with a reason") {
  TempDir dir;
  std::string error;
  auto store = kc::UserStore::Open(dir.File("users.db"), false, &error);
  REQUIRE(store);
  CHECK_FALSE(store->Add("", "password-1", kc::Role::kOfficer, 1, &error));
  CHECK_FALSE(store->Add("anna smith", "password-1", kc::Role::kOfficer, 1, &error));
  CHECK_FALSE(store->Add("anna\n", "password-1", kc::Role::kOfficer, 1, &error));
  CHECK_FALSE(store->Add(std::string(65, 'a'), "password-1", kc::Role::kOfficer, 1, &error));
  CHECK_FALSE(store->Add("anna", "short", kc::Role::kOfficer, 1, &error));
  CHECK(error.find("8 characters") != std::string::npos);
  CHECK(kc::ParseRole("supervisor") == kc::Role::kSupervisor);
  CHECK_FALSE(kc::ParseRole("root"));

  // Read-only on a missing file, and on a file that is not a users file.
  CHECK_FALSE(kc::UserStore::Open(dir.File("missing.db"), true, &error));
  { std::ofstream(dir.File("text.db")) << "not sqlite at all, just text that is long enough"; }
  CHECK_FALSE(kc::UserStore::Open(dir.File("text.db"), false, &error));
  CHECK_FALSE(error.empty());
}

}  // namespace
