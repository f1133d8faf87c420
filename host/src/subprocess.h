// Starting, waiting for and describing child processes: kordon-runner (isolation = process),
// the plugin describer, and the children of `kordon plugin check`.
// Thread safety: free functions, safe from any thread (each child is waited for by one).
#ifndef KORDON_HOST_SUBPROCESS_H_
#define KORDON_HOST_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "status.h"

namespace kordon::host {

struct SpawnOptions {
  // stdout and stderr go to this file (created or truncated); "" keeps the parent's.
  std::string output_path;
  // stdin from /dev/null (a child never reads the terminal of a service).
  bool stdin_null = true;
};

// Starts argv[0] (a path) with argv. The child starts with no signal blocked and SIGTERM,
// SIGINT and SIGPIPE at their defaults: kordon-host blocks SIGTERM/SIGINT in every thread
// (it takes them with sigwait) and ignores SIGPIPE, and a child must not inherit that, or
// SIGTERM would not stop it.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// The wait status of pid once it exits, or std::nullopt after `limit` (it is then still
// running) or when it cannot be waited for.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds limit);

// "exit 3", "killed by signal 11 (Segmentation fault)".
std::string DescribeExit(int wait_status);

// SIGKILL and reap (at most 5 s).
void KillAndReap(pid_t pid);

// Runs argv to its end, at most `limit` (then kills it), with stdout and stderr captured
// together (at most `max_output` bytes are kept, the rest is drained).
struct CapturedRun {
  std::optional<int> status;  // nullopt: it did not end in time and was killed
  std::string output;
};
Result<CapturedRun> RunCaptured(const std::vector<std::string>& argv,
                                std::chrono::milliseconds limit, size_t max_output = 1 << 20);

}  // namespace kordon::host

#endif  // KORDON_HOST_SUBPROCESS_H_
