#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace kordon::testing {
namespace {

ExitStatus FromWaitStatus(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

// Everything the child does between fork and exec must be async-signal-safe (the test
// process has other threads: ZeroMQ's I/O threads at least), so it is prepared here.
struct PreparedExec {
  std::vector<std::string> storage;
  std::vector<char*> argv;
};

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return "exit " + std::to_string(code);
  return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

std::unique_ptr<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                  const std::string& stdout_path,
                                                  const std::string& stderr_path,
                                                  std::string* error) {
  if (argv.empty()) {
    *error = "empty argv";
    return nullptr;
  }
  PreparedExec exec;
  exec.storage = argv;
  for (std::string& a : exec.storage) exec.argv.push_back(a.data());
  exec.argv.push_back(nullptr);
  const char* out_path = stdout_path.c_str();
  const char* err_path = stderr_path.c_str();
  const bool same_file = stdout_path == stderr_path;

  // The child reports a failed exec through this pipe (closed on a successful exec).
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    return nullptr;
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(report[0]);
    close(report[1]);
    return nullptr;
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    close(report[0]);
    int step_errno = 0;
    do {
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        step_errno = errno != 0 ? errno : ESRCH;
        break;
      }
      // The parent may block signals (kordon-host does, for sigwait); start unblocked.
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      int in = open("/dev/null", O_RDONLY);
      int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = same_file ? out : open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
        step_errno = errno;
        break;
      }
      execv(exec.argv[0], exec.argv.data());
      step_errno = errno;
    } while (false);
    ssize_t ignored = write(report[1], &step_errno, sizeof(step_errno));
    (void)ignored;
    _exit(127);
  }
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    *error = "cannot start '" + argv[0] + "': " + std::strerror(child_errno);
    return nullptr;
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, stdout_path, stderr_path));
}

ChildProcess::~ChildProcess() {
  if (!status_) (void)Kill();
}

bool ChildProcess::Signal(int signal) {
  if (status_) return false;
  return kill(pid_, signal) == 0;
}

std::optional<ExitStatus> ChildProcess::Poll() {
  if (status_) return status_;
  int wstatus = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &wstatus, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) status_ = FromWaitStatus(wstatus);
  return status_;
}

std::optional<ExitStatus> ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto s = Poll()) return s;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ExitStatus ChildProcess::Kill() {
  if (status_) return *status_;
  kill(pid_, SIGKILL);
  int wstatus = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &wstatus, 0);
  } while (r < 0 && errno == EINTR);
  status_ = r == pid_ ? FromWaitStatus(wstatus) : ExitStatus{};
  return *status_;
}

std::string ChildProcess::ReadStdout() const { return ReadFileOrEmpty(stdout_path_); }
std::string ChildProcess::ReadStderr() const { return ReadFileOrEmpty(stderr_path_); }

std::string RunResult::Describe() const {
  std::ostringstream s;
  s << (timed_out ? "timed out and killed" : status.ToString()) << "\n--- stdout ---\n"
    << out << "--- stderr ---\n" << err << "--------------";
  return s.str();
}

RunResult RunProgram(const std::vector<std::string>& argv, const std::string& scratch_dir,
                     std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const std::string stem = scratch_dir + "/run-" + std::to_string(++counter);
  RunResult result;
  std::string error;
  auto child = ChildProcess::Spawn(argv, stem + ".out", stem + ".err", &error);
  if (!child) {
    result.status.exited = true;
    result.status.code = 127;
    result.err = error;
    return result;
  }
  if (auto s = child->WaitFor(timeout)) {
    result.status = *s;
  } else {
    result.timed_out = true;
    result.status = child->Kill();
  }
  result.out = child->ReadStdout();
  result.err = child->ReadStderr();
  return result;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace kordon::testing
