// crossings_command_fuzz.cpp — fuzz target for what the crossings plugin reads from outside
// (plugins/crossings): officer.decision, crossings.command, crossings.search and
// crossings.get and officer.override bodies, and any body on any topic it takes, through the
// state machine.
// Invariants: nothing throws; a body is either parsed or refused with a reason; a refused
// command or decision changes nothing; every picture survives ToJson -> FromJson unchanged.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "book.h"
#include "command.h"
#include "fuzz_check.h"

namespace cx = kordon::crossings;

namespace {

cx::Meta M(const char* topic, const char* lane, std::string crossing = "") {
  static int n = 0;
  cx::Meta m;
  m.topic = topic;
  m.id = "fuzz" + std::to_string(++n);
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto d = cx::ParseDecision(text, &error);
  FUZZ_CHECK(d.has_value() == error.empty(), "a decision or a reason");
  error.clear();
  auto c = cx::ParseCommand(text, &error);
  FUZZ_CHECK(c.has_value() == error.empty(), "a command or a reason");
  error.clear();
  auto q = cx::ParseSearch(text, &error);
  FUZZ_CHECK(q.has_value() == error.empty(), "a search or a reason");
  if (q) FUZZ_CHECK(q->limit >= 1 && q->limit <= 1000, "a bounded search");
  error.clear();
  auto g = cx::ParseGet(text, &error);
  FUZZ_CHECK(g.has_value() == error.empty(), "a get or a reason");
  if (g) FUZZ_CHECK(cx::ValidCrossingId(*g), "a valid id");

  cx::BookOptions options;
  options.limits.list = 4;
  cx::Book book(options);
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "l1"), R"({"raw": "A1", "plate": "A1"})", 0)
          .events.at(0).crossing_id;
  for (const char* topic :
       {"scanner.plate.read", "scanner.document.read", "scanner.container.read",
        "scale.weight.stable", "scale.weight.cleared", "scanner.xray.scan", "db.watchlist.hit",
        "db.watchlist.error", "db.manifest.match", "risk.assessment"}) {
    book.OnMessage(M(topic, "l1"), text, 1);
    book.OnMessage(M(topic, "l2", id), text, 1);
  }
  const cx::Json before = book.Find(id)->ToJson();
  if (c) {
    cx::Command command = *c;
    if (command.crossing_id.empty() && command.lane.empty()) command.lane = "l1";
    cx::Outcome o = book.OnCommand(command, M("crossing.command", "l1"), 2);
    FUZZ_CHECK(o.error.empty() == !o.reply.is_null(), "a reply or a reason");
  }
  error.clear();
  std::optional<cx::Override> ov = cx::ParseOverride(text, &error);
  FUZZ_CHECK(ov.has_value() == error.empty(), "an override or a reason");
  error.clear();
  if (ov) {
    // The envelope names the crossing the body names: taken, the channel is the override's.
    cx::Outcome taken = book.OnOverride(M("officer.override", "l1", ov->crossing_id), text, 2);
    if (taken.error.empty()) {
      FUZZ_CHECK(book.Find(ov->crossing_id) != nullptr, "an override names a known crossing");
      FUZZ_CHECK(book.Find(ov->crossing_id)->Channel() == ov->channel, "the override's channel");
    }
  } else {
    FUZZ_CHECK(!book.OnOverride(M("officer.override", "l1", id), text, 2).error.empty(),
               "what the parser refuses the book refuses");
  }
  const cx::Json after_override = book.Find(id)->ToJson();
  cx::Outcome o = book.OnDecision(M("officer.decision", "l1", id), text, 3);
  if (!o.error.empty() && !c && !ov) FUZZ_CHECK(book.Find(id)->ToJson() == before, "no change");
  if (!o.error.empty()) FUZZ_CHECK(book.Find(id)->ToJson() == after_override, "no change");
  for (const cx::Crossing* open : book.OpenCrossings()) CheckRoundTrip(*open);
  CheckRoundTrip(*book.Find(id));
  return 0;
}
