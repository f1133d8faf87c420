// kordon-host: loads the configured plugins, runs the bus, stops cleanly on SIGINT/SIGTERM.
//
// Exit codes: 0 clean stop (or --check found no problem), 1 usage or configuration error,
// 2 a plugin was refused or failed to start, 3 a plugin got stuck during shutdown.
#include <malloc.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli_options.h"
#include "config.h"
#include "host.h"
#include "logging.h"
#include "plugin_library.h"

namespace po = boost::program_options;
using namespace kordon::host;

namespace {

void PrintCheck(const Host& host) {
  for (const LoadReport& r : host.reports()) {
    if (r.loaded) {
      const PluginDescription& d = r.library->description();
      fmt::print("ok      {:<20} {} {} by {} ({}, ABI {})\n        file: {}\n", r.instance, d.name,
                 d.version, d.vendor, KindName(d.kind), AbiVersionString(d.abi_version), r.path);
      fmt::print("        publishes: {}\n        subscribes: {}\n        services: {}\n",
                 PrefixList(d.publishes), PrefixList(d.subscribes), PrefixList(d.services));
    } else if (r.skipped && r.error == "enabled = false") {
      fmt::print("off     {:<20} (enabled = false)\n", r.instance);
    } else {
      fmt::print("REFUSED {:<20} {}\n", r.instance, r.error);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description cli("kordon-host options");
  // clang-format off
  cli.add_options()
    ("help,h", "show this help and the [host] configuration keys")
    ("version", "print the host version and the plugin ABI it speaks")
    ("config,c", po::value<std::string>(), "the site configuration file (INI)")
    ("check", "load and validate the configuration and every plugin, print what was found, exit")
    ("log-level", po::value<std::string>(), "trace, debug, info, warn, error or off (overrides [host] log_level)")
    ("ready-file", po::value<std::string>(), "write this JSON file (pid, endpoints) once running (overrides [host] ready_file)");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(cli).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "kordon-host: {}\n(see kordon-host --help)\n", OptionErrorText(e));
    return 1;
  }
  if (vm.count("help")) {
    std::cout << "Usage: kordon-host --config FILE [--check] [--log-level LEVEL] [--ready-file FILE]\n\n"
              << cli << "\nKeys of the [host] section of the configuration file:\n";
    const po::options_description host_keys = HostOptionsDescription();
    for (const auto& option : host_keys.options()) {
      std::string parameter = option->format_parameter();  // "arg (=default)"
      std::string fallback = parameter.find("(=") != std::string::npos
                                 ? parameter.substr(parameter.find("(=") + 2, parameter.size() - parameter.find("(=") - 3)
                                 : "";
      fmt::print("  {:<24} {}{}\n", option->long_name(), option->description(),
                 fallback.empty() ? "" : fmt::format(" (default: {})", fallback));
    }
    std::cout << "\nEach [plugin.NAME] section takes: library, lane, subscribe, enabled, and the "
                 "plugin's own settings (host/README.md).\n";
    return 0;
  }
  if (vm.count("version")) {
    fmt::print("kordon-host {}\nplugin ABI {} (loads plugins of ABI {} to {})\n", KORDON_HOST_VERSION,
               AbiVersionString(KORDON_ABI_VERSION), AbiVersionString(KORDON_ABI_MIN_SUPPORTED_VERSION),
               AbiVersionString(KORDON_ABI_VERSION));
    return 0;
  }
  if (!vm.count("config")) {
    fmt::print(stderr, "kordon-host: --config FILE is required (see kordon-host --help)\n");
    return 1;
  }
  std::string level = vm.count("log-level") ? vm["log-level"].as<std::string>() : "";
  if (!level.empty() && !IsValidLogLevel(level)) {
    fmt::print(stderr, "kordon-host: --log-level '{}' is not one of trace, debug, info, warn, error, off\n", level);
    return 1;
  }

  Result<HostConfig> config = LoadConfigFile(vm["config"].as<std::string>());
  if (!config.ok()) {
    fmt::print(stderr, "kordon-host: {}\n", config.status().message());
    return 1;
  }
  SetUpLogging(level.empty() ? config->log_level : level);
  if (vm.count("ready-file")) {
    // Relative to the working directory, like any command-line path.
    config->ready_file = std::filesystem::absolute(vm["ready-file"].as<std::string>()).string();
  }

  // Signals are taken synchronously by the main thread; every thread started later inherits
  // the mask, so none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Host host(std::move(config).value());
  Status loaded = host.Load();
  if (vm.count("check")) {
    PrintCheck(host);
    size_t refused = 0;
    for (const LoadReport& r : host.reports())
      if (!r.loaded && r.error != "enabled = false") ++refused;
    fmt::print("{}: {} instance(s), {} refused\n", host.config().path, host.reports().size(), refused);
    return refused == 0 ? 0 : 2;
  }
  if (!loaded.ok()) {
    spdlog::critical("{}", loaded.message());
    spdlog::critical("not starting (on_plugin_error = stop); fix the plugin or set on_plugin_error = skip");
    return 2;
  }
  if (Status s = host.Start(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return 2;
  }
  // Waiting for SIGINT/SIGTERM, the main thread gives the allocator's free pages back every
  // 10 s: glibc keeps memory that plugin threads freed in their own arenas (a crossing
  // picture parsed and dropped per message), which resident size would otherwise count.
  int received = 0;
  for (;;) {
    const timespec ten_seconds{10, 0};
    received = sigtimedwait(&signals, nullptr, &ten_seconds);
    if (received == SIGINT || received == SIGTERM) break;
    if (received < 0 && errno == EAGAIN) malloc_trim(0);
  }
  spdlog::info("{} received: stopping plugins in reverse order of start", received == SIGINT ? "SIGINT" : "SIGTERM");
  Status stopped = host.Shutdown();
  if (host.stuck()) {
    spdlog::critical("exiting with a plugin stuck in its own code: {}", stopped.message());
    // Nothing may be unloaded or destroyed under the stuck thread, nor under the bus thread
    // left running for it: not even the loggers they use (spdlog::shutdown would free them).
    spdlog::default_logger_raw()->flush();
    std::_Exit(3);
  }
  if (stopped.ok())
    spdlog::info("stopped cleanly");
  else
    spdlog::warn("stopped; a plugin reported an error while stopping: {}", stopped.message());
  return 0;
}
