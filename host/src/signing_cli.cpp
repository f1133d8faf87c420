// signing_cli.cpp — see signing_cli.h.
#include "signing_cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_options.h"
#include "plugin_signature.h"

namespace po = boost::program_options;

namespace kordon::host {
namespace {

// Parses options and positionals; nullopt after printing usage (exit code in *rc).

}  // namespace

int GenerateSigningKeyCommand(int argc, char** argv) {
  const char kUsage[] =
      "Usage: kordon keys generate-signing --out PREFIX\n"
      "  writes PREFIX.sign.key (the Ed25519 secret key that signs plugins, mode 0600; keep it\n"
      "  off the hosts) and PREFIX.sign.pub (for [host] vendor_keys); never overwrites.\n";
  po::options_description d("options");
  d.add_options()("out,o", po::value<std::string>(), "path prefix of the two files")(
      "help,h", "show this help");
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, {}, kUsage, &vm, &rc, "kordon keys generate-signing"))
    return rc;
  if (!vm.count("out") || vm["out"].as<std::string>().empty()) {
    fmt::print(stderr, "kordon keys generate-signing: --out PREFIX is required\n{}", kUsage);
    return 1;
  }
  const std::string prefix = vm["out"].as<std::string>();
  std::string key_id, error;
  if (!signing::GenerateSigningKeyFiles(prefix, &key_id, &error)) {
    fmt::print(stderr, "kordon keys generate-signing: {}\n", error);
    return 2;
  }
  fmt::print("wrote {}.sign.key (secret, mode 0600) and {}.sign.pub\nkey id {}\n", prefix,
             prefix, key_id);
  return 0;
}

int PluginSignCommand(int argc, char** argv) {
  const char kUsage[] =
      "Usage: kordon plugin sign FILE --key PREFIX.sign.key [--force]\n"
      "  writes FILE.sig: Ed25519 over BLAKE2b-512 of FILE, bound to FILE's name and size.\n";
  po::options_description d("options");
  d.add_options()("file", po::value<std::string>(), "the plugin file")(
      "key,k", po::value<std::string>(), "the signing key (.sign.key)")(
      "force", "replace an existing FILE.sig")("help,h", "show this help");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kUsage, &vm, &rc, "kordon plugin sign")) return rc;
  if (!vm.count("file") || !vm.count("key")) {
    fmt::print(stderr, "kordon plugin sign: FILE and --key are required\n{}", kUsage);
    return 1;
  }
  const std::string file = vm["file"].as<std::string>();
  std::string error;
  std::optional<signing::SigningKey> key =
      signing::ReadSigningKeyFile(vm["key"].as<std::string>(), &error);
  std::optional<std::string> sig;
  if (key) sig = signing::SignFile(file, *key, &error);
  if (!sig) {
    fmt::print(stderr, "kordon plugin sign: {}\n", error);
    return 2;
  }
  const std::string out = file + ".sig";
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (vm.count("force") ? O_TRUNC : O_EXCL);
  int fd = ::open(out.c_str(), flags, 0644);
  if (fd < 0) {
    fmt::print(stderr, "kordon plugin sign: cannot create '{}': {}{}\n", out,
               std::strerror(errno), errno == EEXIST ? " (use --force to replace it)" : "");
    return 2;
  }
  bool ok = ::write(fd, sig->data(), sig->size()) == static_cast<ssize_t>(sig->size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    fmt::print(stderr, "kordon plugin sign: cannot write '{}'\n", out);
    return 2;
  }
  fmt::print("signed {} with key {}: wrote {}\n", file, key->key_id, out);
  return 0;
}

int PluginVerifyCommand(int argc, char** argv) {
  const char kUsage[] =
      "Usage: kordon plugin verify FILE --key PUB [--key PUB ...]\n"
      "  checks FILE.sig against the public keys (.sign.pub). Exit 0 verified, 2 refused.\n";
  po::options_description d("options");
  d.add_options()("file", po::value<std::string>(), "the plugin file")(
      "key,k", po::value<std::vector<std::string>>(), "a trusted public key file (.sign.pub)")(
      "help,h", "show this help");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, kUsage, &vm, &rc, "kordon plugin verify")) return rc;
  if (!vm.count("file") || !vm.count("key")) {
    fmt::print(stderr, "kordon plugin verify: FILE and --key are required\n{}", kUsage);
    return 1;
  }
  std::string error;
  auto keys = signing::ReadPublicKeyFiles(vm["key"].as<std::vector<std::string>>(), &error);
  if (!keys) {
    fmt::print(stderr, "kordon plugin verify: {}\n", error);
    return 1;
  }
  signing::Verification v = signing::VerifyFile(vm["file"].as<std::string>(), *keys);
  fmt::print("{}: {}\n", v.ok() ? "VERIFIED" : "REFUSED", v.reason);
  if (!v.ok()) fmt::print("reason: {}\n", signing::VerdictName(v.verdict));
  return v.ok() ? 0 : 2;
}

}  // namespace kordon::host
