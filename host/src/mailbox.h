// The mailbox of a thread that polls ZeroMQ sockets: other threads hand it tasks and wake it
// through an eventfd, which the thread polls beside its sockets (zmq::poll accepts plain file
// descriptors). Used by the actor thread of an in-process plugin instance and by the
// supervisor thread of an isolated one.
// Thread safety: Post, Call, Wake and HasPending from any thread; RunPending and ClearWake on the
// owning thread only.
#ifndef KORDON_HOST_MAILBOX_H_
#define KORDON_HOST_MAILBOX_H_

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "status.h"

namespace kordon::host {

class Mailbox {
 public:
  // Throws std::system_error when the eventfd cannot be created: without it a posted task
  // would wait for the next message instead of running at once.
  Mailbox();
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Readable while tasks wait; poll it beside the sockets.
  int fd() const { return fd_; }

  void Post(std::function<void()> task);
  // Posts `fn` and waits at most `limit` for what it returns; std::nullopt when it did not
  // finish in time (it still runs later, if the owner ever gets to it).
  std::optional<Status> Call(std::function<Status()> fn, std::chrono::milliseconds limit);

  // Runs, in order, the tasks posted until now.
  void RunPending();
  // Resets the eventfd after poll saw it readable (RunPending runs what it announced).
  void ClearWake();
  // True when a task waits: a long batch of messages stops early for it.
  bool HasPending() const;
  // Wakes the owner without a task, e.g. to look at a deadline that moved. Any thread.
  void Wake();

 private:

  int fd_ = -1;
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
};

}  // namespace kordon::host

#endif  // KORDON_HOST_MAILBOX_H_
