// keys_cli.cpp — see keys_cli.h.
#include "keys_cli.h"

#include <cstdio>
#include <iostream>
#include <string>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_options.h"
#include "curve.h"

namespace po = boost::program_options;

namespace kordon::host {
namespace {

const char kUsage[] =
    "Usage: kordon keys generate --out PREFIX\n"
    "  writes PREFIX.key (CURVE secret key, mode 0600) and PREFIX.pub (public key);\n"
    "  existing files are never overwritten.\n"
    "       kordon keys public --secret FILE\n"
    "  prints the public key of a secret key file.\n";

int Generate(int argc, char** argv) {
  po::options_description d("kordon keys generate options");
  d.add_options()("out,o", po::value<std::string>(), "path prefix of the two files")(
      "help,h", "show this help");
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, {}, kUsage, &vm, &rc, "kordon keys generate"))
    return rc;
  if (!vm.count("out") || vm["out"].as<std::string>().empty()) {
    fmt::print(stderr, "kordon keys generate: --out PREFIX is required\n{}", kUsage);
    return 1;
  }
  const std::string prefix = vm["out"].as<std::string>();
  std::string error;
  std::optional<curve::KeyPair> pair = curve::GenerateKeyPair(&error);
  if (!pair || !curve::WriteKeyFiles(prefix, *pair, &error)) {
    fmt::print(stderr, "kordon keys generate: {}\n", error);
    return 2;
  }
  fmt::print("wrote {}.key (secret, mode 0600) and {}.pub\npublic key {}\n", prefix, prefix,
             pair->public_key);
  return 0;
}

int Public(int argc, char** argv) {
  po::options_description d("kordon keys public options");
  d.add_options()("secret,s", po::value<std::string>(), "a secret key file")(
      "help,h", "show this help");
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, {}, kUsage, &vm, &rc, "kordon keys public"))
    return rc;
  if (!vm.count("secret")) {
    fmt::print(stderr, "kordon keys public: --secret FILE is required\n{}", kUsage);
    return 1;
  }
  std::string error;
  auto secret = curve::ReadKeyFile(vm["secret"].as<std::string>(), /*secret=*/true, &error);
  std::optional<std::string> pub;
  if (secret) pub = curve::PublicKeyOf(*secret, &error);
  if (!pub) {
    fmt::print(stderr, "kordon keys public: {}\n", error);
    return 2;
  }
  fmt::print("{}\n", *pub);
  return 0;
}

}  // namespace

int KeysCommand(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "generate") return Generate(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "public") return Public(argc - 1, argv + 1);
  fmt::print(stderr, "{}", kUsage);
  return 1;
}

}  // namespace kordon::host
