// The time and duration arguments of `kordon journal` (host/src/journal_cli.cpp).
#include <doctest/doctest.h>

#include "journal_cli.h"

namespace kordon::host {
namespace {

constexpr int64_t kS = 1000000;

TEST_CASE("RFC 3339 times with Z, offsets and fractions") {
  // 2026-11-28T01:30:00Z = 1795829400 s since the epoch.
  CHECK(ParseJournalTime("2026-11-28T01:30:00Z", 0) == 1795829400 * kS);
  CHECK(ParseJournalTime("2026-11-28T04:30:00+03:00", 0) == 1795829400 * kS);
  CHECK(ParseJournalTime("2026-11-27T23:30:00-02:00", 0) == 1795829400 * kS);
  CHECK(ParseJournalTime("2026-11-28T01:30:00.25Z", 0) == 1795829400 * kS + 250000);
  CHECK(ParseJournalTime("2026-11-28 01:30:00Z", 0) == 1795829400 * kS);
}

TEST_CASE("relative times count back from now") {
  const int64_t now = 1795829400 * kS;
  CHECK(ParseJournalTime("-15m", now) == now - 15 * 60 * kS);
  CHECK(ParseJournalTime("-2h", now) == now - 2 * 3600 * kS);
  CHECK(ParseJournalTime("-1d", now) == now - 86400 * kS);
  CHECK(ParseJournalTime("-30s", now) == now - 30 * kS);
}

TEST_CASE("malformed times and durations are refused") {
  for (const char* bad : {"", "-", "-15", "-15x", "15m", "2026-11-28", "2026-11-28T01:30:00",
                          "2026-11-28T01:30:00+3", "2026-13-28T01:30:00Z",
                          "2026-11-28T01:30:00Zjunk", "2026-11-28T01:30:00.Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseJournalTime(bad, 0).has_value());
  }
  CHECK(ParseJournalDuration("30d") == 30 * 86400 * kS);
  CHECK_FALSE(ParseJournalDuration("d").has_value());
  CHECK_FALSE(ParseJournalDuration("3.5d").has_value());
  CHECK_FALSE(ParseJournalDuration("-3d").has_value());
}

}  // namespace
}  // namespace kordon::host
