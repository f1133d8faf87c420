// sics_session.h — MT-SICS command/reply matching: one command outstanding at a time, a
// deadline per command, late and unsolicited replies discarded, consecutive timeouts counted.
// Pure and clock-injected (times are given), so it is unit-tested without sockets.
//
// Why a quiet period after a timeout: MT-SICS replies carry no sequence number, and the reply
// to SI and to a later SI look alike. A reply that comes after its command timed out must not
// be taken as the answer to the next one, so after a timeout nothing is sent for one more
// reply timeout; whatever arrives then is discarded as late. (A reply later than that which
// matches the next command is indistinguishable from its answer: the protocol has no ids.)
//
// Thread safety: a plain value; one thread at a time (the plugin guards it with its mutex).
#ifndef KORDON_PLUGINS_WEIGHBRIDGE_SICS_SESSION_H_
#define KORDON_PLUGINS_WEIGHBRIDGE_SICS_SESSION_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weighbridge.h"

namespace kordon::weighbridge {

class SicsSession {
 public:
  using Clock = std::chrono::steady_clock;

  // A command on the wire; `tag` is the caller's (e.g. the id of a scale.command message).
  struct Command {
    std::string text;  // "SI", "Z", "T"
    std::string tag;
  };

  struct ReplyOutcome {
    enum class Kind {
      kAnswer,        // the answer to `command`
      kLate,          // arrived during the quiet period after a timeout: discarded
      kUnsolicited,   // nothing outstanding, or it does not answer what is: discarded
    };
    Kind kind = Kind::kUnsolicited;
    std::optional<Command> command;  // kAnswer
  };

  explicit SicsSession(std::chrono::milliseconds reply_timeout) : timeout_(reply_timeout) {}

  // True when a command may be sent now: none outstanding, not in a quiet period.
  bool CanSend(Clock::time_point now) const { return !outstanding_ && now >= quiet_until_; }
  // Records a command just written. REQUIRES: CanSend(now).
  void Sent(Command command, Clock::time_point now);
  // Matches a parsed reply. An invalid (garbled) reply answers the outstanding command.
  ReplyOutcome OnReply(const SicsReply& reply, Clock::time_point now);
  // The outstanding command if its deadline has passed (it is then forgotten, and a quiet
  // period starts); nullopt otherwise.
  std::optional<Command> Expire(Clock::time_point now);
  // The link dropped (or a write failed): the outstanding command fails, returned here.
  std::optional<Command> FailOutstanding();

  const std::optional<Command>& outstanding() const { return outstanding_; }
  int consecutive_timeouts() const { return consecutive_timeouts_; }

 private:
  const std::chrono::milliseconds timeout_;
  std::optional<Command> outstanding_;
  Clock::time_point deadline_{};
  Clock::time_point quiet_until_{};
  int consecutive_timeouts_ = 0;
};

}  // namespace kordon::weighbridge

#endif  // KORDON_PLUGINS_WEIGHBRIDGE_SICS_SESSION_H_
