// crossings_command_fuzz.cpp — fuzz target for what the crossings plugin reads from outside
// (plugins/crossings): every body on every topic it takes, officer.decision, officer.override,
// crossing.command, crossings.search and crossings.get, through the state machine.
//
// An input is a script of up to 16 lines. A line's first byte says what the rest of it is;
// its low four bits pick the kind:
//   0-9  a message on kTopics[n]; bit 4 (0x10) clear: on lane l1 without a crossing id
//        (the lane's current crossing takes it), set: on lane l2 naming the first crossing
//   10   crossing.command    11  officer.decision (naming the first crossing)
//   12   officer.override    13  crossings.search   14  crossings.get
//   15   time passes (ten minutes: idle crossings close)
// so in a corpus file '@' and 'A'-'I' are messages on l1, 'P'-'Y' the same on l2, and 'J' a
// command, 'K' a decision, 'L' an override, 'M' a search, 'N' a get, 'O' a tick. One body per
// line (JSON may be split over lines anywhere but inside a string, so any body fits on one).
// Before the script runs, a plate read on l1 opens the first crossing.
//
// Invariants: nothing throws; every body read by every parser is either parsed or refused with
// a reason; a refused decision or override changes nothing, and a refused command (by crossing
// or by lane) changes no open crossing and not the one it names; a taken override sets the
// channel; every picture survives ToJson -> FromJson unchanged.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "book.h"
#include "command.h"
#include "fuzz_check.h"

namespace cx = kordon::crossings;

namespace {

constexpr const char* kTopics[] = {
    "scanner.plate.read", "scanner.document.read", "scanner.container.read",
    "scale.weight.stable", "scale.weight.cleared", "scanner.xray.scan", "db.watchlist.hit",
    "db.watchlist.error", "db.manifest.match", "risk.assessment"};
constexpr size_t kMaxLines = 16;

// Message ids count from 1 in every input, so a saved input replays exactly as it ran.
int message_count = 0;

cx::Meta M(const char* topic, const char* lane, std::string crossing = "") {
  cx::Meta m;
  m.topic = topic;
  m.id = "fuzz" + std::to_string(++message_count);
  m.time_us = 1'795'000'000'000'000;
  m.source = "fuzz";
  m.lane = lane;
  m.crossing_id = std::move(crossing);
  return m;
}

void CheckRoundTrip(const cx::Crossing& c) {
  const cx::Json j = c.ToJson();
  std::string error;
  auto back = cx::Crossing::FromJson(j, &error);
  FUZZ_CHECK(back.has_value(), "a picture reads back");
  FUZZ_CHECK(back->ToJson() == j, "a picture reads back unchanged");
}

// The crossing's picture, or null once the book has forgotten it.
cx::Json PictureOf(const cx::Book& book, const std::string& id) {
  const cx::Crossing* c = book.Find(id);
  return c == nullptr ? cx::Json() : c->ToJson();
}

// What a refused step must leave alone: every open crossing's picture, by id, and those of the
// crossings it names (which may be closed).
cx::Json Snapshot(const cx::Book& book, std::initializer_list<std::string> named) {
  cx::Json s = cx::Json::object();
  for (const cx::Crossing* c : book.OpenCrossings()) s[c->id] = c->ToJson();
  for (const std::string& id : named)
    if (!id.empty()) s["named " + id] = PictureOf(book, id);
  return s;
}

void RunLine(cx::Book& book, const std::string& first, uint8_t what, std::string_view body,
             int64_t* now_us) {
  *now_us += 1'000'000;
  const unsigned kind = what & 0x0f;
  std::string error;
  if (kind < 10) {
    if (what & 0x10)
      book.OnMessage(M(kTopics[kind], "l2", first), body, *now_us);
    else
      book.OnMessage(M(kTopics[kind], "l1"), body, *now_us);
    return;
  }
  switch (kind) {
    case 10: {
      auto c = cx::ParseCommand(body, &error);
      FUZZ_CHECK(c.has_value() == error.empty(), "a command or a reason");
      if (!c) return;
      cx::Command command = *c;
      if (command.crossing_id.empty() && command.lane.empty()) command.lane = "l1";
      const cx::Json before = Snapshot(book, {first, command.crossing_id});
      cx::Outcome o = book.OnCommand(command, M("crossing.command", "l1"), *now_us);
      FUZZ_CHECK(o.error.empty() == !o.reply.is_null(), "a reply or a reason");
      if (!o.error.empty())
        FUZZ_CHECK(Snapshot(book, {first, command.crossing_id}) == before,
                   "a refused command changes nothing");
      return;
    }
    case 11: {
      auto d = cx::ParseDecision(body, &error);
      FUZZ_CHECK(d.has_value() == error.empty(), "a decision or a reason");
      const cx::Json before = PictureOf(book, first);
      cx::Outcome o = book.OnDecision(M("officer.decision", "l1", first), body, *now_us);
      if (!d) FUZZ_CHECK(!o.error.empty(), "what the parser refuses the book refuses");
      if (!o.error.empty())
        FUZZ_CHECK(PictureOf(book, first) == before, "a refused decision changes nothing");
      return;
    }
    case 12: {
      std::optional<cx::Override> ov = cx::ParseOverride(body, &error);
      FUZZ_CHECK(ov.has_value() == error.empty(), "an override or a reason");
      // The envelope names the crossing the body names (the console sends both).
      const std::string target = ov ? ov->crossing_id : first;
      const cx::Json before = PictureOf(book, target);
      cx::Outcome o = book.OnOverride(M("officer.override", "l1", target), body, *now_us);
      if (!ov) FUZZ_CHECK(!o.error.empty(), "what the parser refuses the book refuses");
      if (!o.error.empty()) {
        FUZZ_CHECK(PictureOf(book, target) == before, "a refused override changes nothing");
      } else {
        FUZZ_CHECK(book.Find(target) != nullptr, "an override names a known crossing");
        FUZZ_CHECK(book.Find(target)->Channel() == ov->channel, "the override's channel");
      }
      return;
    }
    case 13: {
      auto q = cx::ParseSearch(body, &error);
      FUZZ_CHECK(q.has_value() == error.empty(), "a search or a reason");
      if (q) FUZZ_CHECK(q->limit >= 1 && q->limit <= 1000, "a bounded search");
      return;
    }
    case 14: {
      auto g = cx::ParseGet(body, &error);
      FUZZ_CHECK(g.has_value() == error.empty(), "a get or a reason");
      if (g) FUZZ_CHECK(cx::ValidCrossingId(*g), "a valid id");
      return;
    }
    default:
      *now_us += 600'000'000;
      book.Tick(*now_us);
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view script(reinterpret_cast<const char*>(data), size);
  message_count = 0;
  cx::BookOptions options;
  options.limits.list = 4;
  cx::Book book(options);
  int64_t now_us = 0;
  const std::string first =
      book.OnMessage(M("scanner.plate.read", "l1"), R"({"raw": "A1", "plate": "A1"})", now_us)
          .events.at(0).crossing_id;
  for (size_t lines = 0; !script.empty() && lines < kMaxLines; ++lines) {
    const size_t end = script.find('\n');
    const std::string_view line = script.substr(0, end);
    script = end == std::string_view::npos ? std::string_view() : script.substr(end + 1);
    if (line.empty()) continue;
    RunLine(book, first, static_cast<uint8_t>(line[0]), line.substr(1), &now_us);
  }
  for (const cx::Crossing* open : book.OpenCrossings()) CheckRoundTrip(*open);
  if (const cx::Crossing* c = book.Find(first)) CheckRoundTrip(*c);
  return 0;
}
