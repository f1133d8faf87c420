#include "config.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_options.h"
#include "curve.h"
#include "plugin_signature.h"  // file_hash
#include "topic.h"

namespace po = boost::program_options;

namespace kordon::host {
namespace {

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Returns the byte offset of the first invalid UTF-8 sequence, or npos.
size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    if (n == 2 && c < 0xC2) return i;  // overlong
    i += n;
  }
  return std::string_view::npos;
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    std::string_view item = Trim(s.substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

Result<bool> ParseBool(std::string_view v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return Status::InvalidArgument(fmt::format("'{}' is not a boolean (true/false)", v));
}

struct RawEntry {
  std::string key;
  std::string value;
  int line;
};

struct RawSection {
  std::string name;
  int line;
  std::vector<RawEntry> entries;
};

Status ApplyHostSection(const RawSection& section, const std::string& origin, HostConfig* config) {
  po::options_description desc = HostOptionsDescription();
  po::variables_map vm;
  for (const RawEntry& e : section.entries) {
    try {
      po::parsed_options parsed(&desc);
      parsed.options.emplace_back(e.key, std::vector<std::string>{e.value});
      po::store(parsed, vm);
    } catch (const po::unknown_option&) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: unknown key '{}' in [host] (kordon-host --help lists the keys)", origin, e.line, e.key));
    } catch (const po::error& err) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: [host] {}: {}", origin, e.line, e.key, OptionErrorText(err)));
    }
  }
  try {
    po::store(po::parsed_options(&desc), vm);  // fills in the defaults of keys not given
    po::notify(vm);
  } catch (const po::error& err) {
    return Status::InvalidArgument(fmt::format("{}: [host]: {}", origin, OptionErrorText(err)));
  }
  auto line_of = [&](const std::string& key) {
    for (const RawEntry& e : section.entries)
      if (e.key == key) return e.line;
    return section.line;
  };
  config->name = vm["name"].as<std::string>();
  bool name_ok = !config->name.empty() && config->name.size() <= 64;
  for (char c : config->name)
    name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':');
  if (!name_ok)
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [host] name '{}' must be 1..64 of A-Z a-z 0-9 - _ . : (it is the source of the host's own messages)",
        origin, line_of("name"), config->name));
  config->log_level = vm["log_level"].as<std::string>();
  if (!IsValidLogLevel(config->log_level))
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [host] log_level '{}' is not one of trace, debug, info, warn, error, off", origin,
        line_of("log_level"), config->log_level));
  std::string on_error = vm["on_plugin_error"].as<std::string>();
  if (on_error == "stop") {
    config->on_plugin_error = OnPluginError::kStop;
  } else if (on_error == "skip") {
    config->on_plugin_error = OnPluginError::kSkip;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [host] on_plugin_error '{}' must be 'stop' or 'skip'", origin, line_of("on_plugin_error"), on_error));
  }
  config->plugin_path = SplitList(vm["plugin_path"].as<std::string>());
  config->ready_file = vm["ready_file"].as<std::string>();
  config->plugin_call_timeout_ms = vm["plugin_call_timeout_ms"].as<int64_t>();
  const std::string check = vm["validate_schemas"].as<std::string>();
  if (std::optional<SchemaCheck> mode = ParseSchemaCheck(check)) {
    config->validate_schemas = *mode;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [host] validate_schemas '{}' must be 'off', 'warn' or 'refuse'", origin,
        line_of("validate_schemas"), check));
  }
  config->schema_dir = vm["schema_dir"].as<std::string>();
  config->bus.ingress = vm["bus.ingress"].as<std::string>();
  config->bus.egress = vm["bus.egress"].as<std::string>();
  config->bus.queue_limit = vm["bus.queue_limit"].as<int64_t>();
  config->bus.publish_timeout_ms = vm["bus.publish_timeout_ms"].as<int64_t>();
  config->bus.max_body_bytes = vm["bus.max_body_bytes"].as<int64_t>();
  SupervisionConfig& sv = config->supervision;
  sv.runner = vm["supervision.runner"].as<std::string>();
  sv.runtime_dir = vm["supervision.runtime_dir"].as<std::string>();
  sv.heartbeat_ms = vm["supervision.heartbeat_ms"].as<int64_t>();
  sv.missed_heartbeats = vm["supervision.missed_heartbeats"].as<int64_t>();
  sv.backoff_initial_ms = vm["supervision.backoff_initial_ms"].as<int64_t>();
  sv.backoff_max_ms = vm["supervision.backoff_max_ms"].as<int64_t>();
  sv.quarantine_failures = vm["supervision.quarantine_failures"].as<int64_t>();
  sv.quarantine_window_ms = vm["supervision.quarantine_window_ms"].as<int64_t>();
  sv.healthy_reset_ms = vm["supervision.healthy_reset_ms"].as<int64_t>();
  sv.queue_limit = vm["supervision.queue_limit"].as<int64_t>();
  sv.stop_timeout_ms = vm["supervision.stop_timeout_ms"].as<int64_t>();
  struct Range {
    const char* key;
    int64_t value, min, max;
  };
  for (const Range& r : {Range{"bus.queue_limit", config->bus.queue_limit, 10, 10'000'000},
                         Range{"bus.publish_timeout_ms", config->bus.publish_timeout_ms, 1, 600'000},
                         Range{"bus.max_body_bytes", config->bus.max_body_bytes, 64, 64 << 20},
                         Range{"plugin_call_timeout_ms", config->plugin_call_timeout_ms, 100, 3'600'000},
                         Range{"supervision.heartbeat_ms", sv.heartbeat_ms, 10, 600'000},
                         Range{"supervision.missed_heartbeats", sv.missed_heartbeats, 1, 100},
                         Range{"supervision.backoff_initial_ms", sv.backoff_initial_ms, 1, 3'600'000},
                         Range{"supervision.backoff_max_ms", sv.backoff_max_ms, 1, 3'600'000},
                         Range{"supervision.quarantine_failures", sv.quarantine_failures, 1, 1000},
                         Range{"supervision.quarantine_window_ms", sv.quarantine_window_ms, 1,
                               86'400'000},
                         Range{"supervision.healthy_reset_ms", sv.healthy_reset_ms, 1, 86'400'000},
                         Range{"supervision.queue_limit", sv.queue_limit, 1, 10'000'000},
                         Range{"supervision.stop_timeout_ms", sv.stop_timeout_ms, 10, 600'000}}) {
    if (r.value < r.min || r.value > r.max)
      return Status::InvalidArgument(fmt::format("{}:{}: [host] {} = {} is outside {}..{}", origin,
                                                 line_of(r.key), r.key, r.value, r.min, r.max));
  }
  // Bus CURVE (kept together): bus.secret_key_file and bus.allowed_keys.
  config->bus.secret_key_file = vm["bus.secret_key_file"].as<std::string>();
  config->bus.allowed_keys = SplitList(vm["bus.allowed_keys"].as<std::string>());
  if (config->bus.curve() && config->bus.allowed_keys.empty())
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [host] bus.allowed_keys must list the clients' public keys (.pub files or Z85): "
        "a CURVE bus denies every other key", origin, line_of("bus.secret_key_file")));
  if (!config->bus.curve() && !config->bus.allowed_keys.empty())
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [host] bus.allowed_keys needs bus.secret_key_file (the host's CURVE key pair)",
        origin, line_of("bus.allowed_keys")));
  // Signed plugins.
  {
    Result<bool> required = ParseBool(vm["require_signed"].as<std::string>());
    if (!required.ok())
      return Status::InvalidArgument(fmt::format("{}:{}: [host] require_signed: {}", origin,
                                                 line_of("require_signed"),
                                                 required.status().message()));
    config->require_signed = required.value();
    config->vendor_keys = SplitList(vm["vendor_keys"].as<std::string>());
    if (config->require_signed && config->vendor_keys.empty())
      return Status::InvalidArgument(fmt::format(
          "{}:{}: [host] require_signed = true needs vendor_keys = FILE.sign.pub[, ...] (the "
          "public keys whose signatures are trusted)", origin, line_of("require_signed")));
  }
  for (const char* key : {"bus.ingress", "bus.egress"}) {
    const std::string& ep = vm[key].as<std::string>();
    if (ep.empty()) continue;  // disabled
    if (!ep.starts_with("tcp://") && !ep.starts_with("ipc://"))
      return Status::InvalidArgument(fmt::format(
          "{}:{}: [host] {} = '{}' must be tcp://HOST:PORT or ipc://PATH", origin, line_of(key),
          key, ep));
    // Plain TCP only on loopback: anything else could be read or injected by anyone on the
    // network. ipc:// is local by nature.
    if (!config->bus.curve() && !curve::IsLoopbackEndpoint(ep))
      return Status::InvalidArgument(fmt::format(
          "{}:{}: [host] {} = '{}': plain TCP endpoints must be on loopback (tcp://127.0.0.1:PORT) "
          "or ipc://; set bus.secret_key_file and bus.allowed_keys for CURVE on other addresses, "
          "or use an empty value to disable", origin, line_of(key), key, ep));
  }
  return Status::Ok();
}

Status ApplyPluginSection(const RawSection& section, const std::string& origin,
                          InstanceConfig* instance) {
  instance->line = section.line;
  bool has_library = false;
  for (const RawEntry& e : section.entries) {
    if (e.key == "library") {
      instance->library = e.value;
      has_library = !e.value.empty();
    } else if (e.key == "lane") {
      if (e.value.size() > 64)
        return Status::InvalidArgument(fmt::format("{}:{}: lane is longer than 64 bytes", origin, e.line));
      for (char c : e.value)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
          return Status::InvalidArgument(fmt::format(
              "{}:{}: lane '{}' may only use letters, digits, '-', '_' and '.'", origin, e.line, e.value));
      instance->lane = e.value;
    } else if (e.key == "subscribe") {
      instance->has_subscribe = true;
      for (const std::string& prefix : SplitList(e.value)) {
        std::string p = prefix == "*" ? std::string() : prefix;
        if (Status s = ValidateTopicPrefix(p); !s.ok())
          return Status::InvalidArgument(
              fmt::format("{}:{}: subscribe: {} (use * for every topic)", origin, e.line, s.message()));
        instance->subscribe.push_back(p);
      }
    } else if (e.key == "isolation") {
      if (e.value != "process" && e.value != "in_process")
        return Status::InvalidArgument(fmt::format(
            "{}:{}: isolation = '{}' must be 'in_process' or 'process'", origin, e.line, e.value));
      instance->isolated = e.value == "process";
    } else if (e.key == "publish_limit" || e.key == "publish_burst" || e.key == "memory_limit_mb") {
      int64_t v = -1;
      try {
        size_t used = 0;
        v = std::stoll(e.value, &used);
        if (used != e.value.size()) v = -1;
      } catch (const std::exception&) {
        v = -1;
      }
      if (v < 0 || v > 10'000'000)
        return Status::InvalidArgument(fmt::format(
            "{}:{}: {} = '{}' must be a whole number 0..10000000 (0: no limit)",
            origin, e.line, e.key, e.value));
      (e.key == "publish_limit"   ? instance->publish_limit
       : e.key == "publish_burst" ? instance->publish_burst
                                  : instance->memory_limit_mb) = v;
    } else if (e.key == "enabled") {
      Result<bool> b = ParseBool(e.value);
      if (!b.ok()) return Status::InvalidArgument(fmt::format("{}:{}: enabled: {}", origin, e.line, b.status().message()));
      instance->enabled = b.value();
    } else {
      instance->settings.emplace_back(e.key, e.value);
    }
  }
  if (instance->publish_limit > 0 && instance->publish_burst == 0)
    instance->publish_burst = instance->publish_limit;
  if (instance->memory_limit_mb > 0 && !instance->isolated)
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [plugin.{}] memory_limit_mb needs isolation = process (a limit applies to a "
        "whole process)", origin, section.line, instance->name));
  if (!has_library)
    return Status::InvalidArgument(fmt::format(
        "{}:{}: [plugin.{}] has no 'library = ...' (the plugin's .so file)", origin, section.line,
        instance->name));
  return Status::Ok();
}

}  // namespace

po::options_description HostOptionsDescription() {
  po::options_description d("[host] section of the configuration file");
  BusConfig bus;
  SupervisionConfig sv;
  // clang-format off
  d.add_options()
    ("name", po::value<std::string>()->default_value("kordon"), "this host's name, shown in logs and status")
    ("log_level", po::value<std::string>()->default_value("info"), "trace, debug, info, warn, error or off")
    ("on_plugin_error", po::value<std::string>()->default_value("stop"),
     "when a plugin cannot be loaded or created: 'stop' the host, or 'skip' it and go on")
    ("plugin_path", po::value<std::string>()->default_value(""),
     "comma-separated directories searched for bare library names (relative to the file); "
     "the directory ../plugins next to the executable is searched last")
    ("plugin_call_timeout_ms", po::value<int64_t>()->default_value(30000),
     "a plugin's create, start, stop or destroy that takes longer is reported stuck")
    ("validate_schemas", po::value<std::string>()->default_value("off"),
     "check what in-process plugins publish against sdk/schemas: off, warn (log and count) or "
     "refuse (also refuse the publish)")
    ("schema_dir", po::value<std::string>()->default_value(""),
     "the schemas for validate_schemas (relative to the file); default: the installed SDK's")
    ("require_signed", po::value<std::string>()->default_value("false"),
     "load only plugin files whose FILE.sig verifies against vendor_keys (kordon plugin sign)")
    ("vendor_keys", po::value<std::string>()->default_value(""),
     "comma-separated .sign.pub files (relative to the file) trusted to sign plugins")
    ("ready_file", po::value<std::string>()->default_value(""),
     "a file written (JSON: pid, endpoints) once every plugin has started")
    ("bus.ingress", po::value<std::string>()->default_value(bus.ingress),
     "where external clients publish (ZeroMQ PUSH -> this PULL); empty disables")
    ("bus.egress", po::value<std::string>()->default_value(bus.egress),
     "where external clients subscribe (ZeroMQ SUB -> this XPUB); empty disables")
    ("bus.queue_limit", po::value<int64_t>()->default_value(bus.queue_limit),
     "messages buffered per connection before backpressure")
    ("bus.publish_timeout_ms", po::value<int64_t>()->default_value(bus.publish_timeout_ms),
     "how long a publish may wait under backpressure before it fails with KORDON_E_BUSY")
    ("bus.max_body_bytes", po::value<int64_t>()->default_value(bus.max_body_bytes),
     "largest accepted message body")
    ("bus.secret_key_file", po::value<std::string>()->default_value(""),
     "the host's CURVE key pair (kordon keys generate; mode 0600): bus.ingress and bus.egress "
     "become CURVE servers (relative to the file)")
    ("bus.allowed_keys", po::value<std::string>()->default_value(""),
     "comma-separated client public keys (.pub files relative to the file, or Z85) allowed on "
     "a CURVE bus; every other client is refused")
    ("supervision.runner", po::value<std::string>()->default_value(""),
     "the kordon-runner program for isolation = process (default: next to kordon-host)")
    ("supervision.runtime_dir", po::value<std::string>()->default_value(""),
     "where the private socket directory is made (default: $XDG_RUNTIME_DIR or /tmp)")
    ("supervision.heartbeat_ms", po::value<int64_t>()->default_value(sv.heartbeat_ms),
     "how often an isolated instance must answer a heartbeat")
    ("supervision.missed_heartbeats", po::value<int64_t>()->default_value(sv.missed_heartbeats),
     "heartbeats missed in a row before the runner is killed")
    ("supervision.backoff_initial_ms", po::value<int64_t>()->default_value(sv.backoff_initial_ms),
     "first restart delay after a failure; doubles with each failure")
    ("supervision.backoff_max_ms", po::value<int64_t>()->default_value(sv.backoff_max_ms),
     "longest restart delay")
    ("supervision.quarantine_failures", po::value<int64_t>()->default_value(sv.quarantine_failures),
     "failures within supervision.quarantine_window_ms that quarantine an instance")
    ("supervision.quarantine_window_ms",
     po::value<int64_t>()->default_value(sv.quarantine_window_ms),
     "the window in which failures are counted")
    ("supervision.healthy_reset_ms", po::value<int64_t>()->default_value(sv.healthy_reset_ms),
     "running this long without failure resets the backoff and the failure count")
    ("supervision.queue_limit", po::value<int64_t>()->default_value(sv.queue_limit),
     "messages held for an isolated instance while it restarts; more are counted and alerted")
    ("supervision.stop_timeout_ms", po::value<int64_t>()->default_value(sv.stop_timeout_ms),
     "at shutdown, how long a runner gets to exit before SIGTERM, then SIGKILL");
  // clang-format on
  return d;
}

bool IsValidInstanceName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool IsValidLogLevel(std::string_view level) {
  for (const char* l : {"trace", "debug", "info", "warn", "error", "off"})
    if (level == l) return true;
  return false;
}

const char* SchemaCheckName(SchemaCheck mode) {
  switch (mode) {
    case SchemaCheck::kOff: return "off";
    case SchemaCheck::kWarn: return "warn";
    case SchemaCheck::kRefuse: return "refuse";
  }
  return "off";
}

std::optional<SchemaCheck> ParseSchemaCheck(std::string_view name) {
  for (SchemaCheck mode : {SchemaCheck::kOff, SchemaCheck::kWarn, SchemaCheck::kRefuse})
    if (name == SchemaCheckName(mode)) return mode;
  return std::nullopt;
}

Result<HostConfig> ParseConfig(std::string_view text, const std::string& origin) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<RawSection> sections;
  std::map<std::string, int> section_lines;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view raw = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (size_t bad = FindInvalidUtf8(raw); bad != std::string_view::npos)
      return Status::InvalidArgument(
          fmt::format("{}:{}: invalid UTF-8 at column {}", origin, line_no, bad + 1));
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']')
        return Status::InvalidArgument(fmt::format("{}:{}: section header must end with ']'", origin, line_no));
      std::string name(Trim(line.substr(1, line.size() - 2)));
      if (name != "host") {
        if (name.rfind("plugin.", 0) != 0)
          return Status::InvalidArgument(fmt::format(
              "{}:{}: unknown section [{}]; sections are [host] and [plugin.NAME]", origin, line_no, name));
        std::string instance = name.substr(7);
        if (!IsValidInstanceName(instance))
          return Status::InvalidArgument(fmt::format(
              "{}:{}: instance name '{}' must be 1..64 of a-z 0-9 _ -", origin, line_no, instance));
      }
      if (auto it = section_lines.find(name); it != section_lines.end()) {
        if (name == "host")
          return Status::InvalidArgument(fmt::format(
              "{}:{}: [host] appears twice (first at line {})", origin, line_no, it->second));
        return Status::InvalidArgument(fmt::format(
            "{}:{}: duplicate instance name '{}': [{}] is already defined at line {}; give each "
            "instance its own name", origin, line_no, name.substr(7), name, it->second));
      }
      section_lines.emplace(name, line_no);
      sections.push_back(RawSection{name, line_no, {}});
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Status::InvalidArgument(fmt::format("{}:{}: expected 'key = value' or '[section]'", origin, line_no));
    if (sections.empty())
      return Status::InvalidArgument(fmt::format("{}:{}: key outside any section", origin, line_no));
    std::string key(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (key.empty())
      return Status::InvalidArgument(fmt::format("{}:{}: empty key before '='", origin, line_no));
    for (char c : key)
      if (!IsKeyChar(c))
        return Status::InvalidArgument(fmt::format(
            "{}:{}: key '{}' may only use a-z 0-9 _ - .", origin, line_no, key));
    RawSection& section = sections.back();
    for (const RawEntry& e : section.entries)
      if (e.key == key)
        return Status::InvalidArgument(fmt::format(
            "{}:{}: key '{}' repeats in [{}] (first at line {})", origin, line_no, key, section.name, e.line));
    section.entries.push_back(RawEntry{key, value, line_no});
  }

  HostConfig config;
  config.path = origin;
  bool have_host = false;
  for (const RawSection& s : sections) {
    if (s.name == "host") {
      if (Status st = ApplyHostSection(s, origin, &config); !st.ok()) return st;
      have_host = true;
      continue;
    }
    InstanceConfig instance;
    instance.name = s.name.substr(7);
    if (Status st = ApplyPluginSection(s, origin, &instance); !st.ok()) return st;
    config.instances.push_back(std::move(instance));
  }
  if (!have_host) {
    RawSection empty{"host", 0, {}};
    if (Status st = ApplyHostSection(empty, origin, &config); !st.ok()) return st;
  }
  return config;
}

Result<HostConfig> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return Status::NotFound(fmt::format("configuration file '{}' does not exist or is not a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(fmt::format("cannot open configuration file '{}'", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (buffer.str().size() > (4 << 20))
    return Status::InvalidArgument(fmt::format("configuration file '{}' is larger than 4 MiB", path));
  Result<HostConfig> config = ParseConfig(buffer.str(), path);
  if (!config.ok()) return config;
  config->file_hash = signing::Blake2b256Hex(buffer.str());
  config->directory = std::filesystem::absolute(path, ec).parent_path().string();
  if (Status s = LoadBusKeys(&config->bus, config->directory); !s.ok())
    return Status::InvalidArgument(fmt::format("{}: {}", path, s.message()));
  return config;
}

Status LoadBusKeys(BusConfig* bus, const std::string& directory) {
  if (!bus->curve()) return Status::Ok();
  auto resolve = [&](const std::string& p) {
    std::filesystem::path f(p);
    if (f.is_relative() && !directory.empty()) f = std::filesystem::path(directory) / f;
    return f.string();
  };
  std::string error;
  auto secret = curve::ReadKeyFile(resolve(bus->secret_key_file), /*secret=*/true, &error);
  if (!secret) return Status::InvalidArgument(fmt::format("[host] bus.secret_key_file: {}", error));
  std::vector<std::string> allowed;
  for (const std::string& k : bus->allowed_keys) {
    auto key = curve::IsZ85Key(k) ? std::optional<std::string>(k)
                                  : curve::ReadKeyFile(resolve(k), /*secret=*/false, &error);
    if (!key)
      return Status::InvalidArgument(fmt::format("[host] bus.allowed_keys: {}", error));
    allowed.push_back(*key);
  }
  bus->secret_key = *secret;
  bus->allowed_z85 = std::move(allowed);
  return Status::Ok();
}

}  // namespace kordon::host
