// users_cli.cpp — see users_cli.h.
//
//   kordon user add --db FILE NAME --role officer|supervisor|administrator
//   kordon user passwd --db FILE NAME
//   kordon user list --db FILE [--json]
//   kordon user disable|enable --db FILE NAME
//
// A running console reads the same file (WAL) and sees a change at the next request: a
// disabled user's sessions end at once.
#include "users_cli.h"

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "accounts.h"
#include "cli_options.h"

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;
namespace kc = kordon::console;

namespace {

const char kUsersUsage[] =
    "Usage:\n"
    "  kordon user add --db FILE NAME --role officer|supervisor|administrator\n"
    "  kordon user passwd --db FILE NAME\n"
    "  kordon user list --db FILE [--json]\n"
    "  kordon user disable|enable --db FILE NAME\n"
    "The password is read from standard input (one line; asked twice, without echo, on a\n"
    "terminal). NAME: 1-64 of A-Z a-z 0-9 _ . -\n";

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ReadLine(const char* prompt, bool tty, std::string* out) {
  termios old{};
  if (tty) {
    fmt::print(stderr, "{}", prompt);
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  const bool ok = static_cast<bool>(std::getline(std::cin, *out));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fmt::print(stderr, "\n");
  }
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return ok;
}

bool ReadPassword(std::string* password) {
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (!ReadLine("Password: ", tty, password)) {
    fmt::print(stderr, "kordon user: no password on standard input\n");
    return false;
  }
  if (tty) {
    std::string again;
    if (!ReadLine("Again: ", tty, &again) || again != *password) {
      fmt::print(stderr, "kordon user: the passwords differ\n");
      return false;
    }
  }
  return true;
}

std::string Time(int64_t us) {
  const std::time_t t = static_cast<std::time_t>(us / 1000000);
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int UsersCommand(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "{}", kUsersUsage);
    return 1;
  }
  const std::string action = argv[1];
  if (action == "--help" || action == "-h") {
    fmt::print("{}", kUsersUsage);
    return 0;
  }
  po::options_description d("options");
  d.add_options()("db", po::value<std::string>(), "the users file")(
      "role", po::value<std::string>(), "officer, supervisor or administrator")(
      "json", "list as JSON lines")("name", po::value<std::string>(), "the user");
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc - 1, argv + 1, d, pos, kUsersUsage, &vm, &rc, "kordon user"))
    return rc;
  if (!vm.count("db")) {
    fmt::print(stderr, "kordon user: --db FILE is required\n{}", kUsersUsage);
    return 1;
  }
  const std::string db = vm["db"].as<std::string>();
  const std::string name = vm.count("name") ? vm["name"].as<std::string>() : "";
  const bool needs_name = action != "list";
  if (action != "add" && action != "passwd" && action != "list" && action != "disable" &&
      action != "enable") {
    fmt::print(stderr, "kordon user: unknown action '{}'\n{}", action, kUsersUsage);
    return 1;
  }
  if (needs_name && name.empty()) {
    fmt::print(stderr, "kordon user {}: NAME is required\n{}", action, kUsersUsage);
    return 1;
  }
  std::optional<kc::Role> role;
  if (action == "add") {
    role = kc::ParseRole(vm.count("role") ? vm["role"].as<std::string>() : "");
    if (!role) {
      fmt::print(stderr, "kordon user add: --role officer|supervisor|administrator is required\n");
      return 1;
    }
  }
  std::string error;
  auto store = kc::UserStore::Open(db, action == "list", &error);
  if (!store) {
    fmt::print(stderr, "kordon user: {}\n", error);
    return 3;
  }
  if (action == "list") {
    auto users = store->List(&error);
    if (!users) {
      fmt::print(stderr, "kordon user: {}\n", error);
      return 3;
    }
    for (const kc::User& u : *users) {
      if (vm.count("json")) {
        fmt::print("{}\n", nlohmann::json{{"name", u.name},
                                          {"role", kc::RoleName(u.role)},
                                          {"disabled", u.disabled},
                                          {"created", Time(u.created_us)},
                                          {"changed", Time(u.changed_us)}}
                               .dump());
      } else {
        fmt::print("{:<24} {:<14} {:<9} created {}\n", u.name, kc::RoleName(u.role),
                   u.disabled ? "disabled" : "active", Time(u.created_us));
      }
    }
    return 0;
  }
  bool ok = false;
  if (action == "add" || action == "passwd") {
    std::string password;
    if (!ReadPassword(&password)) return 2;
    ok = action == "add" ? store->Add(name, password, *role, NowUs(), &error)
                         : store->SetPassword(name, password, NowUs(), &error);
  } else {
    ok = store->SetDisabled(name, action == "disable", NowUs(), &error);
  }
  if (!ok) {
    fmt::print(stderr, "kordon user {}: {}\n", action, error);
    return error.find("SQLITE") != std::string::npos || error.find("sqlite") != std::string::npos
               ? 3
               : 2;
  }
  fmt::print("{}: {}\n", name,
             action == "add"      ? std::string("added as ") + kc::RoleName(*role)
             : action == "passwd" ? std::string("password changed")
                                  : action + "d");
  return 0;
}
