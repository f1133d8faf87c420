// A child process for the integration tests: the real kordon-host and kordon binaries run as
// children, exactly as an operator would start them.
//
// The child runs argv as given (no shell, no PATH search), with stdin from /dev/null and
// stdout / stderr each written to a file. It is killed with SIGKILL when the test process dies
// (PR_SET_PDEATHSIG) and when its ChildProcess is destroyed while it still runs, so that no
// test leaves a process behind, whatever assertion fails first.
//
// Thread safety: none; one thread owns a ChildProcess.
#ifndef KORDON_TESTS_INTEGRATION_CHILD_PROCESS_H_
#define KORDON_TESTS_INTEGRATION_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kordon::testing {

// How a child ended.
struct ExitStatus {
  bool exited = false;  // true: it called exit; false: a signal ended it
  int code = -1;        // exit code when exited
  int signal = 0;       // the signal that ended it otherwise

  bool ExitedWith(int expected) const { return exited && code == expected; }
  // "exit 2" or "signal 9 (Killed)".
  std::string ToString() const;
};

class ChildProcess {
 public:
  // Starts argv[0] (a path) with arguments argv. stdout goes to stdout_path and stderr to
  // stderr_path (both truncated; the same path for both interleaves them). Returns nullptr
  // and sets *error when the program cannot be started (fork failed, file not executable).
  static std::unique_ptr<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                             const std::string& stdout_path,
                                             const std::string& stderr_path, std::string* error);

  // Kills (SIGKILL) and reaps the child if it still runs. Never throws.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Sends a signal; false when the child has already been reaped or kill(2) failed.
  bool Signal(int signal);

  // The exit status if the child has ended (reaping it), without waiting.
  std::optional<ExitStatus> Poll();

  // Waits at most `timeout` for the child to end. nullopt: it still runs.
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout);

  // SIGKILL, then waits for it (bounded by the kernel: SIGKILL cannot be caught).
  ExitStatus Kill();

  bool running() { return !Poll().has_value(); }

  // The files' current contents ("" when unreadable).
  std::string ReadStdout() const;
  std::string ReadStderr() const;

 private:
  ChildProcess(pid_t pid, std::string stdout_path, std::string stderr_path)
      : pid_(pid), stdout_path_(std::move(stdout_path)), stderr_path_(std::move(stderr_path)) {}

  pid_t pid_;
  std::optional<ExitStatus> status_;  // set once reaped
  std::string stdout_path_;
  std::string stderr_path_;
};

// The outcome of a program run to completion with RunProgram.
struct RunResult {
  ExitStatus status;
  bool timed_out = false;  // it did not end in time and was killed
  std::string out;         // everything it wrote to stdout
  std::string err;         // everything it wrote to stderr
  // For failure messages: status, and both outputs.
  std::string Describe() const;
};

// Runs argv to completion, killing it after `timeout`. The outputs go through files in
// `scratch_dir` (which must exist). A program that cannot be started gives exit code 127 and
// the reason in err.
RunResult RunProgram(const std::vector<std::string>& argv, const std::string& scratch_dir,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The whole file, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace kordon::testing

#endif  // KORDON_TESTS_INTEGRATION_CHILD_PROCESS_H_
