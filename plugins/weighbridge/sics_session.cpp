// sics_session.cpp — MT-SICS command/reply matching (see sics_session.h).
#include "sics_session.h"

#include <utility>

namespace kordon::weighbridge {

void SicsSession::Sent(Command command, Clock::time_point now) {
  outstanding_ = std::move(command);
  deadline_ = now + timeout_;
}

SicsSession::ReplyOutcome SicsSession::OnReply(const SicsReply& reply, Clock::time_point now) {
  ReplyOutcome out;
  if (!outstanding_) {
    out.kind = now < quiet_until_ ? ReplyOutcome::Kind::kLate : ReplyOutcome::Kind::kUnsolicited;
    return out;
  }
  // MT-SICS answers in order, so a garbled line while a command is outstanding is its
  // (garbled) answer; a well-formed reply for another command is not.
  if (reply.kind != SicsReply::Kind::kInvalid && !SicsReplyAnswers(reply, outstanding_->text))
    return out;  // unsolicited
  out.kind = ReplyOutcome::Kind::kAnswer;
  out.command = std::move(outstanding_);
  outstanding_.reset();
  consecutive_timeouts_ = 0;
  return out;
}

std::optional<SicsSession::Command> SicsSession::Expire(Clock::time_point now) {
  if (!outstanding_ || now < deadline_) return std::nullopt;
  std::optional<Command> expired = std::move(outstanding_);
  outstanding_.reset();
  quiet_until_ = now + timeout_;
  ++consecutive_timeouts_;
  return expired;
}

std::optional<SicsSession::Command> SicsSession::FailOutstanding() {
  std::optional<Command> failed = std::move(outstanding_);
  outstanding_.reset();
  quiet_until_ = {};
  return failed;
}

}  // namespace kordon::weighbridge
