// plugin_new.cpp — `kordon plugin new NAME --kind KIND [--lang c|cpp] [--dir DIR]`: writes a
// ready-to-build plugin folder for a vendor: CMakeLists.txt (find_package(KordonSDK 1),
// kordon_add_plugin), the source (a plugin that starts, stops, handles a message on
// <name>.in and publishes <name>.out, with its settings checked), and a README saying how to
// build, check and ship it. It builds out of the box and passes `kordon plugin check`.
#include "plugin_new.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <string>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_options.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace kordon::host {
namespace {

const std::map<std::string, std::string>& Kinds() {
  static const std::map<std::string, std::string> kinds = {
      {"scanner", "KORDON_KIND_SCANNER"}, {"scale", "KORDON_KIND_SCALE"},
      {"database", "KORDON_KIND_DATABASE"}, {"risk", "KORDON_KIND_RISK"},
      {"console", "KORDON_KIND_CONSOLE"}, {"bridge", "KORDON_KIND_BRIDGE"},
      {"other", "KORDON_KIND_OTHER"}};
  return kinds;
}

// {{NAME}} (acme-scanner), {{IDENT}} (acme_scanner), {{CLASS}} (AcmeScanner), {{KIND}},
// {{KIND_ENUM}}, {{TOPIC}} (acme.scanner) replaced.
std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string mark = "{{" + key + "}}";
    for (size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at))
      text.replace(at, mark.size(), value), at += value.size();
  }
  return text;
}

constexpr char kCMakeC[] = R"(# {{NAME}}: a Kordon plugin (C99). Build against an installed Kordon SDK:
#   cmake -S . -B build [-DCMAKE_PREFIX_PATH=/where/the/sdk/is] && cmake --build build
#   kordon plugin check build/{{NAME}}.so
#   cmake --install build --prefix /usr      # -> lib/kordon/plugins/{{NAME}}.so
cmake_minimum_required(VERSION 3.25)
project({{IDENT}} VERSION 0.1.0 LANGUAGES C)
find_package(KordonSDK 1 REQUIRED)
kordon_add_plugin({{NAME}} SOURCES {{IDENT}}.c)
set_target_properties({{NAME}} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options({{NAME}} PRIVATE -Wall -Wextra -Wpedantic)
)";

constexpr char kCMakeCpp[] = R"(# {{NAME}}: a Kordon plugin (C++20, kordon/plugin.hpp). Build against an installed
# Kordon SDK:
#   cmake -S . -B build [-DCMAKE_PREFIX_PATH=/where/the/sdk/is] && cmake --build build
#   kordon plugin check build/{{NAME}}.so
#   cmake --install build --prefix /usr      # -> lib/kordon/plugins/{{NAME}}.so
cmake_minimum_required(VERSION 3.25)
project({{IDENT}} VERSION 0.1.0 LANGUAGES CXX)
find_package(KordonSDK 1 REQUIRED)
kordon_add_plugin({{NAME}} SOURCES {{IDENT}}.cpp)
set_target_properties({{NAME}} PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON
                                          CXX_EXTENSIONS OFF)
target_compile_options({{NAME}} PRIVATE -Wall -Wextra -Wpedantic)
)";

constexpr char kSourceC[] = R"(/*
 * {{IDENT}}.c — the {{NAME}} plugin ({{KIND}}).
 *
 * On every {{TOPIC}}.in message it publishes {{TOPIC}}.out {"count": N, "prefix": <setting>}.
 * Replace that with your device's protocol. Settings: prefix (default "{{NAME}}").
 *
 * Rules the host relies on (sdk/README.md): every call for one instance comes on that
 * instance's thread; never block in handle_message; check every input; return an error code
 * instead of crashing; free everything in destroy.
 */
#include <kordon/kordon.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {{IDENT}} {
  const kordon_host_api* host;
  kordon_host_context* context;
  char prefix[65];
  uint64_t count;
} {{IDENT}};

static kordon_status {{IDENT}}_create(const kordon_instance_info* info, void** out) {
  {{IDENT}}* self;
  const char* prefix;
  if (info == NULL || out == NULL) return KORDON_E_INVALID_ARGUMENT;
  prefix = info->host->config_get(info->context, "prefix");
  if (prefix == NULL) prefix = "{{NAME}}";
  if (strlen(prefix) > 64 || strpbrk(prefix, "\"\\") != NULL) {
    info->host->log(info->context, KORDON_LOG_ERROR,
                    "setting 'prefix': at most 64 characters, no quotes or backslashes");
    return KORDON_E_INVALID_ARGUMENT;
  }
  self = ({{IDENT}}*)calloc(1, sizeof *self);
  if (self == NULL) return KORDON_E_NO_MEMORY;
  self->host = info->host;
  self->context = info->context;
  snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
  *out = self;
  return KORDON_OK;
}

static kordon_status {{IDENT}}_start(void* instance) {
  {{IDENT}}* self = ({{IDENT}}*)instance;
  self->host->log(self->context, KORDON_LOG_INFO, "{{NAME}} started");
  return KORDON_OK;
}

static kordon_status {{IDENT}}_stop(void* instance) {
  (void)instance;
  return KORDON_OK;
}

static kordon_status {{IDENT}}_handle_message(void* instance, const kordon_message* m) {
  {{IDENT}}* self = ({{IDENT}}*)instance;
  kordon_publish_args args;
  char body[160];
  int size;
  if (strcmp(m->topic, "{{TOPIC}}.in") != 0) return KORDON_OK;
  ++self->count;
  size = snprintf(body, sizeof body, "{\"count\":%" PRIu64 ",\"prefix\":\"%s\"}", self->count,
                  self->prefix);
  memset(&args, 0, sizeof args);
  args.struct_size = (uint32_t)sizeof args;
  args.topic = "{{TOPIC}}.out";
  args.body = body;
  args.body_size = (size_t)size;
  return self->host->publish(self->context, &args);
}

static void {{IDENT}}_destroy(void* instance) { free(instance); }

static const char* const kPublishes[] = {"{{TOPIC}}.out", NULL};
static const char* const kSubscribes[] = {"{{TOPIC}}.in", NULL};
static const char* const kServices[] = {NULL};

static const kordon_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(kordon_plugin_descriptor),
    .abi_version = KORDON_ABI_VERSION,
    .name = "{{NAME}}",
    .kind = {{KIND_ENUM}},
    .vendor = "Your company",
    .version = "0.1.0",
    .description = "{{NAME}}: describe what it does",
    .publishes = kPublishes,
    .subscribes = kSubscribes,
    .services = kServices,
    .create = {{IDENT}}_create,
    .start = {{IDENT}}_start,
    .stop = {{IDENT}}_stop,
    .handle_message = {{IDENT}}_handle_message,
    .destroy = {{IDENT}}_destroy,
};

KORDON_PLUGIN_ENTRY(offer, out_descriptor) {
  return kordon_answer_offer(offer, &kDescriptor, out_descriptor);
}
)";

constexpr char kSourceCpp[] = R"(// {{IDENT}}.cpp — the {{NAME}} plugin ({{KIND}}), with the SDK's C++ wrapper.
//
// On every {{TOPIC}}.in message it publishes {{TOPIC}}.out {"count": N, "prefix": <setting>}.
// Replace that with your device's protocol. Settings: prefix (default "{{NAME}}").
//
// The wrapper calls the constructor, Start, Stop, OnMessage and timer callbacks on the
// instance's thread; an exception thrown by the constructor fails create with its message;
// exceptions never cross the C ABI.
#include <kordon/plugin.hpp>

#include <stdexcept>
#include <string>

namespace {

class {{CLASS}} : public kordon::Plugin {
 public:
  explicit {{CLASS}}(kordon::Host h) : Plugin(std::move(h)) {
    prefix_ = host().ConfigOr("prefix", "{{NAME}}");
    if (prefix_.size() > 64 || prefix_.find_first_of("\"\\") != std::string::npos)
      throw std::invalid_argument("setting 'prefix': at most 64 characters, no quotes or "
                                  "backslashes");
  }

  kordon::Status Start() override {
    host().Info("{{NAME}} started");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() != "{{TOPIC}}.in") return kordon::Status::Ok();
    ++count_;
    return host().Publish("{{TOPIC}}.out", "{\"count\":" + std::to_string(count_) +
                                               ",\"prefix\":\"" + prefix_ + "\"}");
  }

 private:
  std::string prefix_;
  uint64_t count_ = 0;
};

}  // namespace

KORDON_PLUGIN({{CLASS}}, {.name = "{{NAME}}",
                          .kind = {{KIND_ENUM}},
                          .vendor = "Your company",
                          .version = "0.1.0",
                          .description = "{{NAME}}: describe what it does",
                          .publishes = {"{{TOPIC}}.out"},
                          .subscribes = {"{{TOPIC}}.in"}});
)";

constexpr char kReadme[] = R"(# {{NAME}}

A Kordon plugin ({{KIND}}), generated by `kordon plugin new`. It receives `{{TOPIC}}.in` and
publishes `{{TOPIC}}.out`; replace that with what your device does, and add a JSON Schema for
each topic you publish that has none in the SDK (`share/kordon/schemas`).

```sh
cmake -S . -B build -DCMAKE_PREFIX_PATH=/where/the/kordon/sdk/is   # not needed for /usr
cmake --build build
kordon plugin check build/{{NAME}}.so          # the conformance checks; add --setting K=V
cmake --install build --prefix /usr            # lib/kordon/plugins/{{NAME}}.so
```

In a site's configuration:

```ini
[plugin.lane1-{{NAME}}]
library = {{NAME}}.so
lane = lane-1
prefix = {{NAME}}
```

The plugin contract — versions, threading, what a plugin must never do — is in the SDK's
README (`sdk/README.md` in the Kordon sources).
)";

}  // namespace

int PluginNewCommand(int argc, char** argv) {
  const char* usage =
      "Usage: kordon plugin new NAME --kind scanner|scale|database|risk|console|bridge|other\n"
      "                         [--lang c|cpp] [--dir DIR]\n"
      "Writes DIR/NAME (default ./NAME): CMakeLists.txt, the source, README.md.";
  po::options_description d("kordon plugin new options");
  d.add_options()("help,h", "this help")("name", po::value<std::string>(), "the plugin's name")(
      "kind", po::value<std::string>(), "its kind")(
      "lang", po::value<std::string>()->default_value("cpp"), "c or cpp")(
      "dir", po::value<std::string>()->default_value("."), "where to create the folder");
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  int rc = 0;
  if (!ParseCommandLine(argc, argv, d, pos, usage, &vm, &rc, "kordon plugin new")) return rc;
  if (!vm.count("name") || !vm.count("kind")) {
    fmt::print(stderr, "kordon plugin new: NAME and --kind are required\n{}\n", usage);
    return 1;
  }
  const std::string name = vm["name"].as<std::string>();
  if (!std::regex_match(name, std::regex("^[a-z][a-z0-9-]{0,47}$"))) {
    fmt::print(stderr, "kordon plugin new: NAME '{}' must be a-z, 0-9 and '-', starting with "
               "a letter, at most 48 characters\n", name);
    return 1;
  }
  const std::string kind = vm["kind"].as<std::string>();
  auto k = Kinds().find(kind);
  if (k == Kinds().end()) {
    fmt::print(stderr, "kordon plugin new: unknown --kind '{}'\n{}\n", kind, usage);
    return 1;
  }
  const std::string lang = vm["lang"].as<std::string>();
  if (lang != "c" && lang != "cpp") {
    fmt::print(stderr, "kordon plugin new: --lang must be c or cpp\n");
    return 1;
  }
  std::string ident = name, cls, topic = name;
  for (char& c : ident) c = c == '-' ? '_' : c;
  for (char& c : topic) c = c == '-' ? '.' : c;
  bool upper = true;
  for (char c : name) {
    if (c == '-') {
      upper = true;
      continue;
    }
    cls += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  const std::map<std::string, std::string> values = {
      {"NAME", name}, {"IDENT", ident}, {"CLASS", cls}, {"KIND", kind},
      {"KIND_ENUM", k->second}, {"TOPIC", topic}};

  const fs::path dir = fs::path(vm["dir"].as<std::string>()) / name;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    fmt::print(stderr, "kordon plugin new: {} exists; not overwriting it\n", dir.string());
    return 1;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    fmt::print(stderr, "kordon plugin new: cannot create {}: {}\n", dir.string(), ec.message());
    return 1;
  }
  const std::map<std::string, std::string> files = {
      {"CMakeLists.txt", Fill(lang == "c" ? kCMakeC : kCMakeCpp, values)},
      {ident + (lang == "c" ? ".c" : ".cpp"), Fill(lang == "c" ? kSourceC : kSourceCpp, values)},
      {"README.md", Fill(kReadme, values)}};
  for (const auto& [file, text] : files) {
    std::ofstream out(dir / file, std::ios::binary);
    out << text;
    if (!out.flush()) {
      fmt::print(stderr, "kordon plugin new: cannot write {}\n", (dir / file).string());
      return 1;
    }
  }
  fmt::print("created {}/ ({} {} plugin): CMakeLists.txt, {}, README.md\n"
             "next: cmake -S {} -B {}/build && cmake --build {}/build && "
             "kordon plugin check {}/build/{}.so\n",
             dir.string(), kind, lang == "c" ? "C" : "C++",
             ident + (lang == "c" ? ".c" : ".cpp"), dir.string(), dir.string(), dir.string(),
             dir.string(), name);
  return 0;
}

}  // namespace kordon::host
