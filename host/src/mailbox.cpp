#include "mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <future>
#include <memory>
#include <system_error>

namespace kordon::host {

Mailbox::Mailbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd for a mailbox");
}

Mailbox::~Mailbox() { close(fd_); }

void Mailbox::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  Wake();
}

std::optional<Status> Mailbox::Call(std::function<Status()> fn, std::chrono::milliseconds limit) {
  // Shared: a task that outlives a caller who gave up must still have somewhere to write.
  auto task = std::make_shared<std::packaged_task<Status()>>(std::move(fn));
  std::future<Status> result = task->get_future();
  Post([task] { (*task)(); });
  if (result.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return result.get();
}

void Mailbox::RunPending() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

void Mailbox::ClearWake() {
  uint64_t count;
  ssize_t n = read(fd_, &count, sizeof(count));
  (void)n;  // EAGAIN: already cleared
}

bool Mailbox::HasPending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !tasks_.empty();
}

void Mailbox::Wake() {
  uint64_t one = 1;
  ssize_t n = write(fd_, &one, sizeof(one));
  (void)n;  // EAGAIN means the counter is already non-zero: the owner wakes anyway
}

}  // namespace kordon::host
