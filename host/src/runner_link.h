// The link between kordon-host and a kordon-runner child (isolation = process): verbs,
// the init document and the statistics document. Both sides use these; the protocol is
// described in host/README.md ("Process isolation"). Pure functions: thread-safe.
#ifndef KORDON_HOST_RUNNER_LINK_H_
#define KORDON_HOST_RUNNER_LINK_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "config.h"
#include "instance.h"
#include "plugin_library.h"
#include "status.h"

namespace kordon::host {

// Host -> runner (first frame of each multipart message on the PAIR link).
inline constexpr char kVerbInit[] = "init";  // + JSON RunnerInit
inline constexpr char kVerbCall[] = "call";  // + "create" | "start" | "stop" | "destroy"
inline constexpr char kVerbMsg[] = "msg";    // + topic + envelope + body: deliver
inline constexpr char kVerbCtl[] = "ctl";    // + token: a marker through the actor
// Runner -> host.
inline constexpr char kVerbHello[] = "hello";  // + JSON {"pid": N}
inline constexpr char kVerbFail[] = "fail";    // + text: the runner cannot go on (then exits)
inline constexpr char kVerbDone[] = "done";    // + call + JSON {"ok", "message", "stats"}
inline constexpr char kVerbPub[] = "pub";      // + topic + envelope + body: publish
inline constexpr char kVerbSeen[] = "seen";    // + token: the actor reached the marker
inline constexpr char kVerbAck[] = "ack";      // + decimal count of messages dispatched
inline constexpr char kVerbStats[] = "stats";  // + JSON statistics (after each heartbeat)

// Heartbeat tokens are "hb:<n>"; they travel as ctl markers, so an answer proves that the
// plugin's actor thread is not stuck.
inline constexpr char kHeartbeatPrefix[] = "hb:";

struct RunnerInit {
  std::string library;  // resolved path of the .so
  // require_signed: BLAKE2b-512 (hex) of the file the host verified; the runner loads the
  // file only while it still hashes to this. "" when signatures are not required.
  std::string library_blake2b;
  InstanceConfig instance;
  BusConfig bus;
  int64_t call_timeout_ms = 30000;
  int64_t heartbeat_ms = 1000;
  int64_t missed_heartbeats = 3;
  std::string log_level = "info";
  // [host] validate_schemas, applied by the runner to what the plugin publishes (as the host
  // does in process), with the schemas of this directory.
  SchemaCheck validate_schemas = SchemaCheck::kOff;
  std::string schema_dir;
};

nlohmann::json EncodeRunnerInit(const RunnerInit& init);
Status DecodeRunnerInit(const nlohmann::json& j, RunnerInit* out);

// The counters of InstanceStats as a JSON object (names as in the struct).
nlohmann::json StatsToJson(const InstanceStats& stats);

// The kordon-runner program: supervision.runner, else the one next to this executable.
std::string RunnerPath(const SupervisionConfig& supervision);

// `kordon-runner --describe FILE [--blake2b HEX]` loads FILE in its own process and prints one line: this
// prefix, then the description as JSON. Exit 2 when the library is refused, 3 for its ABI
// version (the reason on stderr).
inline constexpr char kDescriptionLine[] = "KORDON-DESCRIPTION ";
nlohmann::json DescriptionToJson(const PluginDescription& d);
Status DescriptionFromJson(const nlohmann::json& j, PluginDescription* out);

// What the library at `path` is, learnt by `runner --describe` in a child process, so that
// a library whose code crashes or hangs when it loads takes down only that child: the host
// never maps the code of an isolated plugin. The result has no code (loaded() is false).
// `signed_hash` (require_signed): the child loads the file only while it has that BLAKE2b-512
// (hex), and the result carries it for every runner.
Result<std::shared_ptr<PluginLibrary>> DescribeInChild(const std::string& path,
                                                       const std::string& runner,
                                                       std::chrono::milliseconds limit,
                                                       const std::string& signed_hash = "");

}  // namespace kordon::host

#endif  // KORDON_HOST_RUNNER_LINK_H_
