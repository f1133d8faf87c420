// Tests of the line grouper (plugins/mrz-reader/mrz_grouper.h): lines and a clock in,
// documents and incomplete groups out; no sockets, no sleeps.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mrz_grouper.h"
#include "specimens.h"

namespace {

using kordon::mrz::LineGroup;
using kordon::mrz::LineGrouper;
using namespace std::chrono_literals;


const LineGrouper::Clock::time_point kT0{};

TEST_CASE("grouper: two lines of 44 make one TD3 document") {
  LineGrouper g(500ms);
  CHECK(g.Feed(kTd3Line1, kT0).empty());
  CHECK(g.pending());
  CHECK(g.deadline() == kT0 + 500ms);
  std::vector<LineGroup> out = g.Feed(kTd3Line2, kT0 + 20ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == LineGroup::Kind::kDocument);
  CHECK(out[0].lines == std::vector<std::string>{kTd3Line1, kTd3Line2});
  CHECK(out[0].Text() == kTd3Line1 + "\n" + kTd3Line2);
  CHECK_FALSE(g.pending());
  CHECK_FALSE(g.deadline().has_value());
}

TEST_CASE("grouper: TD1 needs three lines of 30, TD2 two of 36") {
  LineGrouper g(500ms);
  CHECK(g.Feed(kTd1Line1, kT0).empty());
  CHECK(g.Feed(kTd1Line2, kT0 + 10ms).empty());
  std::vector<LineGroup> td1 = g.Feed(kTd1Line3, kT0 + 20ms);
  REQUIRE(td1.size() == 1);
  CHECK(td1[0].kind == LineGroup::Kind::kDocument);
  CHECK(td1[0].lines.size() == 3);

  CHECK(g.Feed(kTd2Line1, kT0 + 30ms).empty());
  std::vector<LineGroup> td2 = g.Feed(kTd2Line2, kT0 + 40ms);
  REQUIRE(td2.size() == 1);
  CHECK(td2[0].lines == std::vector<std::string>{kTd2Line1, kTd2Line2});
}

TEST_CASE("grouper: CR, LF and trailing spaces are stripped; empty lines ignored") {
  LineGrouper g(500ms);
  CHECK(g.Feed("\r\n", kT0).empty());
  CHECK(g.Feed("", kT0).empty());
  CHECK_FALSE(g.pending());
  CHECK(g.Feed(kTd3Line1 + "\r", kT0).empty());
  std::vector<LineGroup> out = g.Feed("\n" + kTd3Line2 + "  ", kT0 + 1ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].lines == std::vector<std::string>{kTd3Line1, kTd3Line2});
}

TEST_CASE("grouper: a line of another length discards the pending group as incomplete") {
  LineGrouper g(500ms);
  CHECK(g.Feed(kTd3Line1, kT0).empty());
  CHECK(g.Feed(kTd1Line1, kT0 + 10ms).size() == 1);  // the TD3 half is given up
  // ...and the TD1 line starts a group of its own.
  CHECK(g.pending());
  CHECK(g.Feed(kTd1Line2, kT0 + 20ms).empty());
  std::vector<LineGroup> td1 = g.Feed(kTd1Line3, kT0 + 30ms);
  REQUIRE(td1.size() == 1);
  CHECK(td1[0].kind == LineGroup::Kind::kDocument);

  LineGrouper h(500ms);
  CHECK(h.Feed(kTd3Line1, kT0).empty());
  std::vector<LineGroup> out = h.Feed(kTd2Line1, kT0 + 10ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == LineGroup::Kind::kIncomplete);
  CHECK(out[0].lines == std::vector<std::string>{kTd3Line1});
  CHECK(out[0].detail == "1 of 2 lines of 44 characters, then a line of 36 characters");
}

TEST_CASE("grouper: a line of a length no format has comes out alone, after the pending group") {
  LineGrouper g(500ms);
  CHECK(g.Feed(kTd3Line1, kT0).empty());
  const std::string odd = kTd3Line2.substr(0, 43);
  std::vector<LineGroup> out = g.Feed(odd, kT0 + 10ms);
  REQUIRE(out.size() == 2);
  CHECK(out[0].kind == LineGroup::Kind::kIncomplete);
  CHECK(out[0].lines == std::vector<std::string>{kTd3Line1});
  CHECK(out[1].kind == LineGroup::Kind::kDocument);
  CHECK(out[1].lines == std::vector<std::string>{odd});
  CHECK_FALSE(g.pending());
}

TEST_CASE("grouper: no further line within the timeout expires the group") {
  LineGrouper g(500ms);
  CHECK(g.Feed(kTd1Line1, kT0).empty());
  CHECK(g.Feed(kTd1Line2, kT0 + 400ms).empty());
  CHECK_FALSE(g.Expire(kT0 + 899ms).has_value());  // measured from the last line
  std::optional<LineGroup> expired = g.Expire(kT0 + 900ms);
  REQUIRE(expired.has_value());
  CHECK(expired->kind == LineGroup::Kind::kIncomplete);
  CHECK(expired->lines == std::vector<std::string>{kTd1Line1, kTd1Line2});
  CHECK(expired->detail == "2 of 3 lines of 30 characters, then no further line within 500 ms");
  CHECK_FALSE(g.pending());
  CHECK_FALSE(g.Expire(kT0 + 10s).has_value());
}

TEST_CASE("grouper: a late line expires the old group first, even without Expire calls") {
  LineGrouper g(500ms);
  CHECK(g.Feed(kTd3Line1, kT0).empty());
  std::vector<LineGroup> out = g.Feed(kTd3Line2, kT0 + 501ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == LineGroup::Kind::kIncomplete);
  CHECK(out[0].lines == std::vector<std::string>{kTd3Line1});
  // The late line begins a new group; any next line of 44 completes it (the parser, not the
  // grouper, judges the content).
  CHECK(g.pending());
  std::vector<LineGroup> next = g.Feed(kTd3Line1, kT0 + 600ms);
  REQUIRE(next.size() == 1);
  CHECK(next[0].lines == std::vector<std::string>{kTd3Line2, kTd3Line1});
}

TEST_CASE("grouper: Flush gives up the pending group with the reason given") {
  LineGrouper g(500ms);
  CHECK_FALSE(g.Flush("the link dropped").has_value());
  CHECK(g.Feed(kTd2Line1, kT0).empty());
  std::optional<LineGroup> flushed = g.Flush("the link dropped");
  REQUIRE(flushed.has_value());
  CHECK(flushed->kind == LineGroup::Kind::kIncomplete);
  CHECK(flushed->detail == "1 of 2 lines of 36 characters, then the link dropped");
  CHECK_FALSE(g.pending());
}

TEST_CASE("grouper: widths") {
  CHECK(LineGrouper::LinesForWidth(30) == 3);
  CHECK(LineGrouper::LinesForWidth(36) == 2);
  CHECK(LineGrouper::LinesForWidth(44) == 2);
  CHECK(LineGrouper::LinesForWidth(0) == 0);
  CHECK(LineGrouper::LinesForWidth(43) == 0);
}

}  // namespace
