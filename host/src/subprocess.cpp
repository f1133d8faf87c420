#include "subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace kordon::host {
namespace {

using Clock = std::chrono::steady_clock;

// Spawns with the file actions given; the attributes are the same for every child.
Result<pid_t> SpawnWith(const std::vector<std::string>& argv, posix_spawn_file_actions_t* fa) {
  if (argv.empty()) return Status::InvalidArgument("nothing to start");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::Io(fmt::format("cannot start '{}': {}", argv[0], std::strerror(rc)));
  return pid;
}

}  // namespace

Result<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (options.stdin_null) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!options.output_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, options.output_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  Result<pid_t> pid = SpawnWith(argv, &fa);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  (void)WaitFor(pid, std::chrono::seconds(5));
}

Result<CapturedRun> RunCaptured(const std::vector<std::string>& argv,
                                std::chrono::milliseconds limit, size_t max_output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return Status::Io(fmt::format("cannot make a pipe: {}", std::strerror(errno)));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  Result<pid_t> pid = SpawnWith(argv, &fa);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  CapturedRun run;
  const auto deadline = Clock::now() + limit;
  bool open = true;
  while (open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    char buffer[4096];
    const ssize_t got = read(fds[0], buffer, sizeof(buffer));
    if (got > 0) {
      const size_t keep = std::min(static_cast<size_t>(got), max_output - run.output.size());
      run.output.append(buffer, keep);
    } else if (got == 0 || errno != EINTR) {
      open = false;  // end of output: the child (and whatever inherited the pipe) is done
    }
  }
  close(fds[0]);
  const auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  run.status = WaitFor(pid.value(), std::max(rest, std::chrono::milliseconds(0)));
  if (!run.status) KillAndReap(pid.value());
  return run;
}

}  // namespace kordon::host
