// What the integration tests share: temporary directories, paths to the built programs and
// plugins, a running kordon-host child with its ready file, bus clients connected to it, and
// parsers for the statistics the host logs when it exits.
//
// Every wait here is bounded; a failure says what was awaited and shows the host's log.
#ifndef KORDON_TESTS_INTEGRATION_HOST_HARNESS_H_
#define KORDON_TESTS_INTEGRATION_HOST_HARNESS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus_client.h"
#include "child_process.h"

namespace kordon::testing {

using namespace std::chrono_literals;

// --- Paths of what the build produced ------------------------------------------------------

std::string HostBinary();              // <build>/bin/kordon-host
std::string ToolBinary();              // <build>/bin/kordon
std::string TestPlugin(const std::string& stem);  // <build>/tests/plugins/<stem>.so
std::string SitePlugin(const std::string& stem);  // <build>/plugins/<stem>.so
std::string IntegrationPlugin(const std::string& stem);  // this folder's own test plugins
std::string SourcePath(const std::string& relative);      // <source>/<relative>

// --- Files ---------------------------------------------------------------------------------

// A fresh directory under /tmp (mkdtemp), removed with everything in it on destruction
// (kept when the environment sets KORDON_KEEP_TEST_DIRS=1, for debugging).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text);

// The [host] section every test starts from: '*' ports on 127.0.0.1 and a ready file in dir.
// `extra` lines are appended inside the section.
std::string HostSection(const TempDir& dir, const std::string& extra = "");

// A [plugin.NAME] section: `extra` lines (settings, lane, subscribe) follow `library`.
std::string PluginSection(const std::string& instance, const std::string& library,
                          const std::string& extra = "");

// --- A running kordon-host -------------------------------------------------------------------

struct ReadyInfo {
  int64_t pid = 0;
  std::string ingress;
  std::string egress;
  std::vector<std::string> instances;
};

class HostProcess {
 public:
  // Writes `config_text` to dir/<config_name> and starts kordon-host --config on it; the
  // host's stdout and stderr both go to dir/host.log.
  HostProcess(const TempDir& dir, const std::string& config_text,
              const std::string& config_name = "host.ini");
  // Kills the host if it still runs.
  ~HostProcess() = default;

  // Waits for the ready file. False (with *why saying what happened, the log included) when
  // the host exits first or nothing appears within `timeout`.
  bool WaitReady(std::chrono::milliseconds timeout, std::string* why);
  const ReadyInfo& ready() const { return ready_; }

  // Sends `signal` and waits at most `timeout` for the exit; kills the host after that.
  // nullopt: it did not exit in time (and was killed).
  std::optional<ExitStatus> StopWith(int signal, std::chrono::milliseconds timeout = 10s);

  // Waits at most `timeout` for the host to exit by itself.
  std::optional<ExitStatus> WaitExit(std::chrono::milliseconds timeout) { return child_->WaitFor(timeout); }

  // Waits until the log contains `text`; false after `timeout`.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);

  std::string Log() const { return ReadFileOrEmpty(log_path_); }
  const std::string& config_path() const { return config_path_; }
  ChildProcess& child() { return *child_; }
  bool started() const { return child_ != nullptr; }
  const std::string& spawn_error() const { return spawn_error_; }

 private:
  std::string config_path_;
  std::string ready_path_;
  std::string log_path_;
  std::string spawn_error_;
  std::unique_ptr<ChildProcess> child_;
  ReadyInfo ready_;
};

// Reads and parses a ready file; nullopt when absent or not the expected JSON.
std::optional<ReadyInfo> ReadReadyFile(const std::string& path);

// --- Device simulators -----------------------------------------------------------------------

// Starts a simulator (argv[0] a path) that prints "listening HOST:PORT" as its first line of
// stdout (kordon-mrz-sim, kordon-weighbridge-sim) and waits up to 5 s for that line. Returns
// the port, or 0 with *why (the simulator's stderr included). Output goes to dir/sim.out and
// dir/sim.err.
uint16_t StartListeningSimulator(const std::vector<std::string>& argv, const TempDir& dir,
                                 std::unique_ptr<ChildProcess>* sim, std::string* why);

// --- Bus clients -----------------------------------------------------------------------------

// A client connected to both endpoints, subscribed to `prefixes` and to client.sync, whose
// subscriptions are live (WaitUntilLive succeeded). nullptr and *why on failure.
std::unique_ptr<host::BusClient> ConnectClient(const ReadyInfo& ready,
                                               const std::vector<std::string>& prefixes,
                                               std::string* why,
                                               const std::string& source = "integration-test");

// Receives until a message on `topic` (exactly) for which `accept` is true arrives, or
// `timeout` passes. Other messages are appended to *skipped when it is not null.
std::optional<host::BusMessage> ReceiveTopic(
    host::BusClient& client, const std::string& topic, std::chrono::milliseconds timeout,
    const std::function<bool(const host::BusMessage&)>& accept = nullptr,
    std::vector<host::BusMessage>* skipped = nullptr);

// Everything that arrives during `duration` (client.sync probes left out).
std::vector<host::BusMessage> ReceiveFor(host::BusClient& client, std::chrono::milliseconds duration);

// --- The host's exit log ---------------------------------------------------------------------

// "<instance>: received N, published M, handler errors E, publish failures F, not delivered
// after stop S, dropped before start D, timers T, requests R (timed out X)"
struct InstanceStatsLine {
  std::string instance;
  uint64_t received = 0;
  uint64_t published = 0;
  uint64_t handler_errors = 0;
  uint64_t publish_failures = 0;
  uint64_t not_delivered_after_stop = 0;
  uint64_t dropped_before_start = 0;
  uint64_t timers = 0;
  uint64_t requests = 0;
  uint64_t timed_out = 0;
  size_t line_index = 0;  // position among the log's lines
};

// "bus: forwarded N, external accepted A, external rejected R, egress overflow O,
// backpressure waits W"
struct BusStatsLine {
  uint64_t forwarded = 0;
  uint64_t external_accepted = 0;
  uint64_t external_rejected = 0;
  uint64_t egress_overflow = 0;
  uint64_t backpressure_waits = 0;
};

std::map<std::string, InstanceStatsLine> ParseInstanceStats(const std::string& log);
std::optional<BusStatsLine> ParseBusStats(const std::string& log);

// The log's lines.
std::vector<std::string> Lines(const std::string& text);

bool Contains(const std::string& haystack, const std::string& needle);

// Runs `kordon ARGS...` to completion (20 s at most): its exit code, -1 when it did not exit
// by itself; its stdout and stderr when asked for.
int RunKordon(const TempDir& dir, const std::vector<std::string>& args, std::string* out = nullptr,
              std::string* err = nullptr);

// Another process (python3's sqlite3) that takes the write lock of the SQLite file `db`
// (BEGIN EXCLUSIVE), holds it for `seconds`, then commits and exits. Returns once the lock is
// held; nullptr and *why when it could not be taken within 5 s.
std::unique_ptr<ChildProcess> LockSqliteFile(const TempDir& dir, const std::string& db,
                                             double seconds, std::string* why);

// The 1-based number of the first line of `text` that contains `needle`, or 0.
int LineOf(const std::string& text, const std::string& needle);

// Message streams numbered 0, 1, 2, ... (the bridge and site tests): the `n` of every `topic`
// message in the journal file `journal` that instance `source` published and whose body says
// `"from": from`, in journal order. Empty when the journal cannot be read yet.
std::vector<int> JournalNumbers(const std::string& journal, const std::string& topic,
                                const std::string& source, const std::string& from);

// "" when `got` is exactly 0..count-1 in order; otherwise how many are missing, doubled, out of
// order and outside 0..count-1.
std::string CheckOnceInOrder(const std::vector<int>& got, int count);

}  // namespace kordon::testing

#endif  // KORDON_TESTS_INTEGRATION_HOST_HARNESS_H_
