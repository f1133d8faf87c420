// Tests of MT-SICS command matching (plugins/weighbridge/sics_session.h): one command at a time,
// deadlines, late and unsolicited replies discarded, consecutive timeouts, link drops.
#include <doctest/doctest.h>

#include <chrono>

#include "sics_session.h"
#include "weighbridge.h"

namespace {

using namespace kordon::weighbridge;
using std::chrono::milliseconds;
using Outcome = SicsSession::ReplyOutcome;
const SicsSession::Clock::time_point t0{};

}  // namespace

TEST_SUITE("weighbridge") {

TEST_CASE("session: a reply answers the outstanding command; one at a time") {
  SicsSession s(milliseconds(1000));
  CHECK(s.CanSend(t0));
  s.Sent({"SI", ""}, t0);
  CHECK_FALSE(s.CanSend(t0 + milliseconds(10)));
  const Outcome o = s.OnReply(ParseSicsReply("S S 100 kg"), t0 + milliseconds(50));
  CHECK(o.kind == Outcome::Kind::kAnswer);
  REQUIRE(o.command.has_value());
  CHECK(o.command->text == "SI");
  CHECK(s.CanSend(t0 + milliseconds(50)));
  // Nothing outstanding: a reply is unsolicited, and is not kept for the next command.
  CHECK(s.OnReply(ParseSicsReply("S S 100 kg"), t0 + milliseconds(60)).kind ==
        Outcome::Kind::kUnsolicited);
}

TEST_CASE("session: a reply for another command does not answer; a garbled one does") {
  SicsSession s(milliseconds(1000));
  s.Sent({"Z", "req-1"}, t0);
  CHECK(s.OnReply(ParseSicsReply("S S 100 kg"), t0).kind == Outcome::Kind::kUnsolicited);
  CHECK(s.outstanding().has_value());
  const Outcome o = s.OnReply(ParseSicsReply("Z A"), t0);
  REQUIRE(o.kind == Outcome::Kind::kAnswer);
  CHECK(o.command->tag == "req-1");

  s.Sent({"SI", ""}, t0);
  CHECK(s.OnReply(ParseSicsReply("S S 100 oz"), t0).kind == Outcome::Kind::kAnswer);
  s.Sent({"SI", ""}, t0);
  CHECK(s.OnReply(ParseSicsReply("ES"), t0).kind == Outcome::Kind::kAnswer);
}

TEST_CASE("session: a late reply is not taken as the answer to the next command") {
  SicsSession s(milliseconds(1000));
  s.Sent({"SI", ""}, t0);
  CHECK_FALSE(s.Expire(t0 + milliseconds(999)).has_value());
  const auto expired = s.Expire(t0 + milliseconds(1000));
  REQUIRE(expired.has_value());
  CHECK(expired->text == "SI");
  CHECK(s.consecutive_timeouts() == 1);
  // Quiet period: nothing may be sent for one more timeout; a reply now is late.
  CHECK_FALSE(s.CanSend(t0 + milliseconds(1500)));
  CHECK(s.OnReply(ParseSicsReply("S S 100 kg"), t0 + milliseconds(1500)).kind ==
        Outcome::Kind::kLate);
  CHECK(s.CanSend(t0 + milliseconds(2000)));
  s.Sent({"SI", ""}, t0 + milliseconds(2000));
  const Outcome o = s.OnReply(ParseSicsReply("S S 200 kg"), t0 + milliseconds(2100));
  CHECK(o.kind == Outcome::Kind::kAnswer);
  CHECK(s.consecutive_timeouts() == 0);  // an answer ends the streak
}

TEST_CASE("session: timeouts in a row are counted") {
  SicsSession s(milliseconds(100));
  auto now = t0;
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(s.CanSend(now));
    s.Sent({"SI", ""}, now);
    now += milliseconds(100);
    REQUIRE(s.Expire(now).has_value());
    CHECK(s.consecutive_timeouts() == i);
    now += milliseconds(100);  // the quiet period
  }
}

TEST_CASE("session: when the link drops the outstanding command fails") {
  SicsSession s(milliseconds(1000));
  s.Sent({"T", "req-9"}, t0);
  const auto failed = s.FailOutstanding();
  REQUIRE(failed.has_value());
  CHECK(failed->tag == "req-9");
  CHECK(s.CanSend(t0));
  CHECK_FALSE(s.Expire(t0 + milliseconds(5000)).has_value());
  CHECK_FALSE(s.FailOutstanding().has_value());
}

}  // TEST_SUITE
