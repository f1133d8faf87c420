// The host's configuration: an INI file with one [host] section and one [plugin.NAME]
// section per plugin instance (see host/README.md for every key).
#ifndef KORDON_HOST_CONFIG_H_
#define KORDON_HOST_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/program_options/options_description.hpp>

#include "status.h"

namespace kordon::host {

struct BusConfig {
  std::string ingress = "tcp://127.0.0.1:7400";  // external publishers connect PUSH here
  std::string egress = "tcp://127.0.0.1:7401";   // external subscribers connect SUB here
  int64_t queue_limit = 10000;                   // messages buffered per connection
  int64_t publish_timeout_ms = 2000;             // longest a publish waits under backpressure
  int64_t max_body_bytes = 1 << 20;

  // CURVE on bus.ingress and bus.egress (host/README.md "Secure bus"). With a secret key
  // file both endpoints are CURVE servers and only the allowed client keys get in (deny by
  // default); without one they are plain and must be on loopback (or ipc://).
  std::string secret_key_file;            // the host's key pair (mode 0600); "" = no CURVE
  std::vector<std::string> allowed_keys;  // as configured: Z85 keys or .pub files
  std::string secret_key;                 // Z85, filled by LoadBusKeys
  std::vector<std::string> allowed_z85;   // filled by LoadBusKeys
  bool curve() const { return !secret_key_file.empty(); }
};

struct InstanceConfig {
  std::string name;     // [plugin.NAME]; [a-z0-9_-], 1..64
  int line = 0;         // line of the section header, for messages
  std::string library;  // as written in the file
  std::string lane;
  bool has_subscribe = false;  // `subscribe` given: replaces the descriptor's list
  std::vector<std::string> subscribe;
  bool enabled = true;
  bool isolated = false;       // isolation = process: runs in a supervised kordon-runner
  int64_t publish_limit = 0;   // messages per second this instance may publish; 0: no limit
  int64_t publish_burst = 0;   // how many at once (default: one second's worth)
  int64_t memory_limit_mb = 0;  // isolated only: the runner's address-space limit; 0: none
  std::vector<std::pair<std::string, std::string>> settings;  // the plugin's own keys, in order
};

enum class OnPluginError { kStop, kSkip };

// [host] validate_schemas: what the host does with a body a plugin publishes that breaks its
// schema in sdk/schemas — nothing (off), log and count it (warn), or also refuse the publish
// with KORDON_E_INVALID_ARGUMENT (refuse). An isolated instance's runner checks the same way.
enum class SchemaCheck { kOff, kWarn, kRefuse };
const char* SchemaCheckName(SchemaCheck mode);                    // "off", "warn", "refuse"
std::optional<SchemaCheck> ParseSchemaCheck(std::string_view name);  // nullopt: not one of them

// How the host supervises instances with isolation = process ([host] supervision.*).
struct SupervisionConfig {
  std::string runner;                     // kordon-runner; "" = next to this executable
  std::string runtime_dir;                // parent of the private (0700) socket directory
  int64_t heartbeat_ms = 1000;            // a runner missing 3 in a row is killed
  int64_t missed_heartbeats = 3;
  int64_t backoff_initial_ms = 100;       // first restart delay, doubling...
  int64_t backoff_max_ms = 30000;         // ...up to this, with +-20 % jitter
  int64_t quarantine_failures = 5;        // this many failures within the window: quarantine
  int64_t quarantine_window_ms = 60000;
  int64_t healthy_reset_ms = 600000;      // running this long forgets earlier failures
  int64_t queue_limit = 10000;            // messages held for a restarting instance
  int64_t stop_timeout_ms = 5000;         // destroy, then SIGTERM, then SIGKILL after this
};

struct HostConfig {
  std::string path;       // the file read, "" when parsed from text
  std::string directory;  // its directory: relative paths are resolved against it
  std::string name = "kordon";
  std::string log_level = "info";
  OnPluginError on_plugin_error = OnPluginError::kStop;
  std::vector<std::string> plugin_path;  // directories searched for bare library names
  std::string ready_file;                // written once the host runs (endpoints, pid)
  int64_t plugin_call_timeout_ms = 30000;  // create/start/stop/destroy longer than this: stuck
  SchemaCheck validate_schemas = SchemaCheck::kOff;
  std::string schema_dir;  // "" = the installed SDK's share/kordon/schemas, or the source tree's
  BusConfig bus;
  SupervisionConfig supervision;
  // Signed plugins (plugin_signature.h): with require_signed, every plugin file must carry a
  // FILE.sig by one of vendor_keys (.sign.pub files, relative to the configuration's file).
  bool require_signed = false;
  std::vector<std::string> vendor_keys;
  // BLAKE2b-256 (hex) of the configuration file's bytes as parsed (host.started carries it
  // for the audit log); "" when parsed from text.
  std::string file_hash;
  std::vector<InstanceConfig> instances;  // in file order = start order
};

// The [host] keys, for validation and for `kordon-host --help`.
boost::program_options::options_description HostOptionsDescription();

// Parses configuration text. `origin` names it in messages ("site.ini").
// Every error names the origin and the line: "site.ini:12: ...".
Result<HostConfig> ParseConfig(std::string_view text, const std::string& origin);

// Reads and parses a file.
Result<HostConfig> LoadConfigFile(const std::string& path);

// Reads the bus's CURVE keys (bus.secret_key_file, bus.allowed_keys) into secret_key and
// allowed_z85; relative paths are taken against `directory` ("" = the working directory).
// A secret key file readable by group or others is refused. No-op without CURVE.
Status LoadBusKeys(BusConfig* bus, const std::string& directory);

// The schemas validate_schemas checks against: schema_dir (relative to the configuration),
// else the installed SDK's beside this program, else the source tree this host was built from.
std::string SchemaDirectory(const HostConfig& config);

// Valid instance name: [a-z0-9_-], 1..64 bytes.
bool IsValidInstanceName(std::string_view name);

// Valid log level name: trace, debug, info, warn, error, off.
bool IsValidLogLevel(std::string_view level);

}  // namespace kordon::host

#endif  // KORDON_HOST_CONFIG_H_
