// The crossings state machine (plugins/crossings/book.h) with synthetic messages and an
// injected clock: opening, attaching, deduplication, the next vehicle, timeouts, late hits,
// decisions, the procedure commands and their validation, caps, coalescing.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "book.h"
#include "command.h"

namespace kordon::crossings {
namespace {

constexpr int64_t kT0 = 1'795'000'000'000'000;  // 2026-11-18, microseconds
constexpr int64_t kSecond = 1'000'000;

int counter = 0;

Meta M(const std::string& topic, const std::string& lane, const std::string& crossing = "") {
  Meta m;
  m.topic = topic;
  m.id = "msg" + std::to_string(++counter);
  m.time_us = kT0;
  m.source = "test";
  m.lane = lane;
  m.crossing_id = crossing;
  return m;
}

std::string Plate(const std::string& plate, const std::string& direction = "in") {
  return R"({"camera": "cam", "raw": ")" + plate + R"(", "plate": ")" + plate +
         R"(", "country": "KG", "confidence": 0.9, "direction": ")" + direction + R"("})";
}

std::string Document(const std::string& number, const std::string& surname, bool valid = true) {
  return R"({"format": "TD3", "valid": )" + std::string(valid ? "true" : "false") +
         R"(, "document_code": "P", "issuing_state": "KGZ", "document_number": ")" + number +
         R"(", "nationality": "KGZ", "birth_date": "1981-02-14", "sex": "M",
            "expiry_date": "2030-01-01", "primary_identifier": ")" + surname +
         R"(", "secondary_identifier": "NURLAN", "checks": [], "repairs": [],
            "problems": [], "mrz": ""})";
}

std::string Hit(const std::string& source_id) {
  return R"({"subject": {"kind": "person"}, "entry": {"list": "demo", "id": "P-001",
    "kind": "person", "names": ["TOKTOGULOV NURLAN"], "dob": [], "reason": "wanted"},
    "score": 1.0, "matched": "name", "explanation": "surname TOKTOGULOV = TOKTOGULOV",
    "source_id": ")" + source_id + R"(", "source_topic": "scanner.document.read"})";
}

bool Has(const Outcome& o, Event::Kind kind) {
  for (const Event& e : o.events)
    if (e.kind == kind) return true;
  return false;
}

Command Cmd(const std::string& body) {
  std::string error;
  auto c = ParseCommand(body, &error);
  REQUIRE_MESSAGE(c.has_value(), error);
  return *c;
}

TEST_CASE("the first read on a lane opens a crossing; later reads attach; duplicates merge") {
  Book book({});
  Outcome o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG123ABC"), kT0);
  REQUIRE(o.error.empty());
  REQUIRE(o.events.size() == 2);
  CHECK(o.events[0].kind == Event::Kind::kOpened);
  CHECK(o.events[1].kind == Event::Kind::kUpdated);
  const std::string id = o.events[0].crossing_id;
  CHECK(id == "lane-1-20261118T110640-0001");
  CHECK(ValidCrossingId(id));

  const Meta doc = M("scanner.document.read", "lane-1");
  o = book.OnMessage(doc, Document("AN123", "TOKTOGULOV"), kT0 + kSecond);
  CHECK(o.events.size() == 1);
  CHECK(o.events[0].crossing_id == id);
  o = book.OnMessage(M("scanner.document.read", "lane-1"), Document("AN123", "TOKTOGULOV"),
                     kT0 + 2 * kSecond);  // the same document read again
  o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG123ABC"), kT0 + 3 * kSecond);
  o = book.OnMessage(M("scanner.container.read", "lane-1"),
                     R"({"code": "MSCU 441839-2", "valid": true, "check": {}})", kT0);
  const Crossing* c = book.Find(id);
  REQUIRE(c != nullptr);
  CHECK(c->plate == "01KG123ABC");
  CHECK(c->plates.size() == 1);
  CHECK(c->plates[0]["reads"] == 2);
  CHECK(c->documents.size() == 1);
  CHECK(c->documents[0]["reads"] == 2);
  CHECK(c->documents[0]["read_id"] == doc.id);
  CHECK(c->containers[0]["code"] == "MSCU4418392");
  CHECK(c->evidence.size() == 5);
  CHECK(c->revision == 5);
  Json j = c->ToJson();
  CHECK(j["state"] == "open");
  CHECK(j["plate"] == "01KG123ABC");
  std::string error;
  auto back = Crossing::FromJson(j, &error);
  REQUIRE_MESSAGE(back.has_value(), error);
  CHECK(back->ToJson() == j);
}

TEST_CASE("a different plate is the next vehicle; an outbound plate opens nothing") {
  Book book({});
  Outcome o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("OUT1", "out"), kT0);
  CHECK_FALSE(o.error.empty());
  CHECK(o.events.empty());
  o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA111"), kT0);
  const std::string first = o.events[0].crossing_id;
  o = book.OnMessage(M("scanner.plate.read", "lane-2"), Plate("CCC333"), kT0);
  const std::string other_lane = o.events[0].crossing_id;
  o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("BBB222"), kT0 + kSecond);
  REQUIRE(o.events.size() == 3);
  CHECK(o.events[0].kind == Event::Kind::kClosed);
  CHECK(o.events[0].crossing_id == first);
  CHECK(o.events[1].kind == Event::Kind::kOpened);
  CHECK(book.Find(first)->close_reason == "next_vehicle");
  CHECK(book.Find(first)->state == State::kClosed);
  CHECK(book.Current("lane-1")->plate == "BBB222");
  CHECK(book.Find(other_lane)->state == State::kOpen);
  CHECK(book.stats().closed_by.at("next_vehicle") == 1);
}

TEST_CASE("a plate one OCR slip away, read soon after, is the same vehicle read again") {
  Book book({});
  Outcome o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG123ABC"), kT0);
  const std::string first = o.events[0].crossing_id;
  for (const char* slip : {"01KG123A8C", "01KG123ABCC", "01KG13ABC", "01KG123ABC"}) {
    CAPTURE(slip);
    o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate(slip), kT0 + 2 * kSecond);
    for (const Event& e : o.events) CHECK(e.kind != Event::Kind::kClosed);
    CHECK(book.Current("lane-1")->id == first);
  }
  // Two slips away: another vehicle.
  o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG128A8C"), kT0 + 3 * kSecond);
  CHECK(book.Find(first)->close_reason == "next_vehicle");
  // One slip away but long after the opening: the next vehicle too (a fleet's plates).
  const std::string second = book.Current("lane-1")->id;
  o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG128A8D"), kT0 + 60 * kSecond);
  CHECK(book.Find(second)->close_reason == "next_vehicle");
  // Off: every different plate is the next vehicle.
  BookOptions strict;
  strict.reread_window_us = 0;
  Book exact(strict);
  o = exact.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG123ABC"), kT0);
  const std::string id = o.events[0].crossing_id;
  exact.OnMessage(M("scanner.plate.read", "lane-1"), Plate("01KG123A8C"), kT0 + kSecond);
  CHECK(exact.Find(id)->close_reason == "next_vehicle");
}

TEST_CASE("a hit goes to the crossing of the read it names, also after that one closed") {
  Book book({});
  Outcome o = book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA111"), kT0);
  const std::string first = o.events[0].crossing_id;
  const Meta doc = M("scanner.document.read", "lane-1");
  book.OnMessage(doc, Document("AN1", "TOKTOGULOV"), kT0);
  book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("BBB222"), kT0 + kSecond);
  o = book.OnMessage(M("db.watchlist.hit", "lane-1"), Hit(doc.id), kT0 + 2 * kSecond);
  REQUIRE(o.error.empty());
  REQUIRE(o.events.size() == 1);
  CHECK(o.events[0].crossing_id == first);
  CHECK_FALSE(o.log.empty());
  const Crossing* c = book.Find(first);
  CHECK(c->state == State::kClosed);
  CHECK(c->late);
  REQUIRE(c->hits.size() == 1);
  CHECK(c->hits[0]["entry"]["id"] == "P-001");
  CHECK(c->ToJson()["late"] == true);
  CHECK(book.stats().late == 1);
  CHECK(book.Current("lane-1")->hits.empty());
  // The same hit again is not added twice.
  book.OnMessage(M("db.watchlist.hit", "lane-1"), Hit(doc.id), kT0 + 3 * kSecond);
  CHECK(book.Find(first)->hits.size() == 1);
}

TEST_CASE("a late hit for a crossing no longer in memory is loaded from the store") {
  Crossing stored;
  stored.id = "lane-9-old";
  stored.lane = "lane-9";
  stored.state = State::kClosed;
  stored.close_reason = "decision";
  int loads = 0;
  Book book({}, nullptr, [&](const std::string& id) -> std::optional<Crossing> {
    ++loads;
    if (id == stored.id) return stored;
    return std::nullopt;
  });
  Outcome o = book.OnMessage(M("db.watchlist.hit", "lane-9", "lane-9-old"), Hit("x"), kT0);
  CHECK(o.error.empty());
  CHECK(book.Find("lane-9-old")->hits.size() == 1);
  CHECK(book.Find("lane-9-old")->late);
  o = book.OnMessage(M("db.watchlist.hit", "lane-9", "nope"), Hit("x"), kT0);
  CHECK(o.error.find("does not know") != std::string::npos);
  CHECK(book.stats().unknown_crossing == 1);
}

TEST_CASE("idle timeout and max_open close crossings; a held one stays") {
  BookOptions options;
  options.idle_timeout_us = 60 * kSecond;
  options.max_open_us = 600 * kSecond;
  Book book(options);
  const std::string a =
      book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA1"), kT0).events[0].crossing_id;
  const std::string b =
      book.OnMessage(M("scanner.plate.read", "lane-2"), Plate("BBB2"), kT0).events[0].crossing_id;
  CHECK(book.OnCommand(Cmd(R"({"action": "hold", "crossing_id": ")" + b +
                           R"(", "reason": "dog unit"})"),
                       M("crossing.command", ""), kT0)
            .error.empty());
  CHECK(book.Tick(kT0 + 59 * kSecond).events.empty());
  Outcome o = book.Tick(kT0 + 60 * kSecond);
  REQUIRE(o.events.size() == 1);
  CHECK(o.events[0].crossing_id == a);
  CHECK(book.Find(a)->close_reason == "idle_timeout");
  CHECK(book.Find(b)->state == State::kHeld);
  CHECK(book.Tick(kT0 + 3600 * kSecond).events.empty());  // held: no timeout

  // Activity keeps a crossing open until max_open.
  const std::string c = book.OnMessage(M("scanner.plate.read", "lane-3"), Plate("CCC3"), kT0)
                            .events[0].crossing_id;
  for (int t = 50; t < 600; t += 50)
    book.OnMessage(M("scanner.plate.read", "lane-3"), Plate("CCC3"), kT0 + t * kSecond);
  CHECK(book.Find(c)->state == State::kOpen);
  book.Tick(kT0 + 600 * kSecond);
  CHECK(book.Find(c)->close_reason == "max_open");
}

TEST_CASE("a tick that closes more crossings than the closed cache holds loses none of them") {
  BookOptions options;
  options.idle_timeout_us = 60 * kSecond;
  options.closed_cache = 2;
  Book book(options);
  std::vector<std::string> ids;
  for (int lane = 1; lane <= 5; ++lane)
    ids.push_back(book.OnMessage(M("scanner.plate.read", "lane-" + std::to_string(lane)),
                                 Plate("AAA" + std::to_string(lane)), kT0)
                      .events[0]
                      .crossing_id);
  (void)book.TakeDirty();
  const Outcome o = book.Tick(kT0 + 60 * kSecond);
  REQUIRE(o.events.size() == 5);
  // The plugin publishes and stores each from the cache after the outcome: all are there.
  for (const Event& e : o.events) {
    CHECK(e.kind == Event::Kind::kClosed);
    const Crossing* c = book.Find(e.crossing_id);
    REQUIRE_MESSAGE(c != nullptr, e.crossing_id);
    CHECK(c->close_reason == "idle_timeout");
  }
  const std::vector<std::string> dirty = book.TakeDirty();
  CHECK(dirty.size() == 5);
  // Once taken, the cache shrinks back at the next close: the newest stay.
  const std::string next = book.OnMessage(M("scanner.plate.read", "lane-6"), Plate("BBB6"),
                                          kT0 + 61 * kSecond)
                               .events[0]
                               .crossing_id;
  book.Tick(kT0 + 200 * kSecond);
  CHECK(book.Find(next) != nullptr);
  int cached = 0;
  for (const std::string& id : ids) cached += book.Find(id) != nullptr;
  CHECK(cached == 1);  // closed_cache 2: lane 6's and the newest of the five
}

TEST_CASE("officer decisions close by envelope or body crossing id; bad ones change nothing") {
  Book book({});
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA1"), kT0).events[0].crossing_id;
  Outcome o = book.OnDecision(M("officer.decision", "lane-1", id),
                              R"({"decision": "waved_through"})", kT0);
  CHECK(o.error.find("unknown decision 'waved_through'") != std::string::npos);
  o = book.OnDecision(M("officer.decision", "lane-1"), R"({"decision": "cleared"})", kT0);
  CHECK(o.error.find("names no crossing") != std::string::npos);
  o = book.OnDecision(M("officer.decision", "lane-1"),
                      R"({"decision": "cleared", "crossing_id": "nope"})", kT0);
  CHECK(o.error.find("unknown crossing 'nope'") != std::string::npos);
  o = book.OnDecision(M("officer.decision", "lane-1"), R"({"decision": "cleared", "x": 1})", kT0);
  CHECK(o.error.find("unknown member 'x'") != std::string::npos);
  CHECK(book.Find(id)->state == State::kOpen);
  CHECK(book.Find(id)->revision == 1);
  CHECK(book.stats().rejected == 4);

  o = book.OnDecision(M("officer.decision", "lane-1", id),
                      R"({"decision": "secondary_inspection", "notes": "seal broken",
                          "officer": "o.petrova"})",
                      kT0 + kSecond);
  REQUIRE(o.error.empty());
  CHECK(Has(o, Event::Kind::kClosed));
  const Crossing* c = book.Find(id);
  CHECK(c->close_reason == "decision");
  CHECK(c->decision["decision"] == "secondary_inspection");
  CHECK(c->decision["officer"] == "o.petrova");
  CHECK(o.reply["changed"] == "closed by decision secondary_inspection");
  CHECK(book.Current("lane-1") == nullptr);
  o = book.OnDecision(M("officer.decision", "lane-1"),
                      R"({"decision": "cleared", "crossing_id": ")" + id + R"("})", kT0);
  CHECK(o.error.find("already closed (decision)") != std::string::npos);
}

std::string OverrideBody(const std::string& crossing, const std::string& channel,
                         const std::string& extra = "") {
  return R"({"crossing_id": ")" + crossing + R"(", "lane": "lane-1", "channel": ")" + channel +
         R"(", "previous_channel": null, "reason": "driver known to the unit", "user": "anna",
           "role": "supervisor")" + extra + "}";
}

TEST_CASE("a supervisor's override sets the channel over every assessment, after the close too") {
  Book book({});
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA1"), kT0).events[0].crossing_id;
  book.OnMessage(M("risk.assessment", "lane-1", id), R"({"channel": "yellow"})", kT0);
  const Crossing* c = book.Find(id);
  CHECK(c->Channel() == "yellow");
  const int64_t inputs = c->inputs_revision;
  const int64_t revision = c->revision;

  const Meta by_anna = M("officer.override", "lane-1", id);
  Outcome o = book.OnOverride(by_anna, OverrideBody(id, "red"), kT0 + kSecond);
  REQUIRE(o.error.empty());
  CHECK(Has(o, Event::Kind::kUpdated));
  CHECK(o.reply["action"] == "override");
  CHECK(o.reply["changed"] == "channel yellow -> red by anna");
  CHECK(c->Channel() == "red");
  CHECK(c->RiskChannel() == "yellow");
  CHECK(c->channel_override["risk_channel"] == "yellow");
  CHECK(c->channel_override["previous_channel"].is_null());
  CHECK(c->channel_override["user"] == "anna");
  CHECK(c->channel_override["reason"] == "driver known to the unit");
  CHECK(c->overrides == 1);
  CHECK(c->revision == revision + 1);
  // Not an input of the assessment: a risk module must not re-assess because of it.
  CHECK(c->inputs_revision == inputs);
  CHECK(c->evidence.back() == by_anna.id);  // the journal has the message itself
  CHECK(c->channel_override["id"] == by_anna.id);

  // A later assessment is recorded, the supervisor's channel stands.
  book.OnMessage(M("risk.assessment", "lane-1", id), R"({"channel": "green"})", kT0);
  CHECK(c->RiskChannel() == "green");
  CHECK(c->Channel() == "red");
  const Json summary = Summary(c->ToJson());
  CHECK(summary["channel"] == "red");
  CHECK(summary["overridden"] == true);

  // The picture keeps it through the store.
  std::string error;
  auto back = Crossing::FromJson(c->ToJson(), &error);
  REQUIRE(back.has_value());
  CHECK(back->channel_override == c->channel_override);
  CHECK(back->overrides == 1);
  CHECK(back->ToJson() == c->ToJson());

  // Refused, nothing changes: envelope and body disagree, unknown crossing, bad bodies.
  const int64_t before = c->revision;
  CHECK(book.OnOverride(M("officer.override", "lane-1", "other"), OverrideBody(id, "blue"), kT0)
            .error.find("its body names crossing") != std::string::npos);
  CHECK(book.OnOverride(M("officer.override", "lane-1"), OverrideBody("nope", "blue"), kT0)
            .error.find("unknown crossing 'nope'") != std::string::npos);
  CHECK(book.OnOverride(M("officer.override", "lane-1", id), OverrideBody(id, "purple"), kT0)
            .error.find("unknown channel 'purple'") != std::string::npos);
  CHECK(book.OnOverride(M("officer.override", "lane-1", id),
                        OverrideBody(id, "blue", R"(, "extra": 1)"), kT0)
            .error.find("unknown member 'extra'") != std::string::npos);
  CHECK(c->revision == before);
  CHECK(c->Channel() == "red");

  // After the decision it still counts, late (the record of the lane is corrected).
  book.OnDecision(M("officer.decision", "lane-1", id), R"({"decision": "cleared"})", kT0);
  CHECK_FALSE(book.Find(id)->late);
  o = book.OnOverride(M("officer.override", "lane-1", id), OverrideBody(id, "blue"), kT0);
  REQUIRE(o.error.empty());
  CHECK(o.log.find("after it closed") != std::string::npos);
  CHECK(o.reply["changed"] == "channel red -> blue by anna");
  CHECK(book.Find(id)->Channel() == "blue");
  CHECK(book.Find(id)->late);
  CHECK(book.Find(id)->overrides == 2);
  CHECK(book.Find(id)->state == State::kClosed);
}

TEST_CASE("override bodies are validated with a reason") {
  std::string e;
  const std::string ok = R"({"crossing_id": "c1", "lane": "", "channel": "red",
    "previous_channel": "green", "reason": "seen it before", "user": "anna", "role": "supervisor"})";
  auto o = ParseOverride(ok, &e);
  REQUIRE_MESSAGE(o.has_value(), e);
  CHECK(o->previous_channel == "green");
  CHECK(o->lane.empty());
  auto with = [&](const std::string& member, const std::string& value) {
    Json j = Json::parse(ok);
    j[member] = Json::parse(value);
    e.clear();
    CHECK_FALSE(ParseOverride(j.dump(), &e).has_value());
    return e;
  };
  CHECK(with("role", R"("officer")").find("'role' must be supervisor or administrator") !=
        std::string::npos);
  CHECK(with("reason", R"("ok")").find("a written 'reason'") != std::string::npos);
  CHECK(with("reason", "17") == "'reason' must be a string");
  CHECK(with("channel", R"("")") == "an override needs 'channel'");
  CHECK(with("previous_channel", R"("black")").find("unknown previous_channel") == 0);
  CHECK(with("crossing_id", R"("a b")").find("an override needs 'crossing_id'") == 0);
  CHECK(with("lane", R"("lane 1")").find("'lane' must be") == 0);
  CHECK(with("user", R"("")") == "an override needs 'user'");
  CHECK_FALSE(ParseOverride("[]", &e));
  CHECK(e == "the body is not a JSON object");
}

TEST_CASE("procedure commands: open, fact, note, hold, release, close, with validation") {
  Book book({});
  const Meta m = M("crossing.command", "");
  Outcome o = book.OnCommand(Cmd(R"({"action": "open", "lane": "lane-7"})"), m, kT0);
  REQUIRE(o.error.empty());
  const std::string id = o.reply["crossing_id"];
  CHECK(o.reply["changed"] == "opened on lane-7");
  CHECK(book.OnCommand(Cmd(R"({"action": "open", "lane": "lane-7"})"), m, kT0)
            .error.find("already has crossing") != std::string::npos);

  o = book.OnCommand(Cmd(R"({"action": "fact", "lane": "lane-7", "key": "lane.assigned",
                            "value": {"lane": 3}, "source": "truck.lua"})"),
                     m, kT0);
  REQUIRE(o.error.empty());
  CHECK(o.reply["changed"] == "fact lane.assigned added");
  CHECK(book.Find(id)->facts["lane.assigned"]["value"]["lane"] == 3);
  CHECK(book.Find(id)->facts["lane.assigned"]["source"] == "truck.lua");
  o = book.OnCommand(Cmd(R"({"action": "fact", "crossing_id": ")" + id +
                         R"(", "key": "lane.assigned", "value": null})"),
                     m, kT0);
  CHECK(o.reply["changed"] == "fact lane.assigned removed");
  CHECK(book.OnCommand(Cmd(R"({"action": "note", "crossing_id": ")" + id +
                           R"(", "text": "driver asked for water"})"),
                       m, kT0)
            .error.empty());
  CHECK(book.Find(id)->notes.size() == 1);

  CHECK(book.OnCommand(Cmd(R"({"action": "release", "crossing_id": ")" + id +
                           R"(", "reason": "x"})"),
                       m, kT0)
            .error.find("not held") != std::string::npos);
  CHECK(book.OnCommand(Cmd(R"({"action": "hold", "crossing_id": ")" + id +
                           R"(", "reason": "waiting for the dog unit"})"),
                       m, kT0)
            .error.empty());
  // The next vehicle parks the held crossing and gets its own.
  book.OnMessage(M("scanner.plate.read", "lane-7"), Plate("ZZZ9"), kT0);
  const Crossing* held = book.Find(id);
  CHECK(held->state == State::kHeld);  // no plate: the read attached to the held one
  book.OnMessage(M("scanner.plate.read", "lane-7"), Plate("YYY8"), kT0);
  CHECK(held->state == State::kHeld);
  CHECK_FALSE(held->current);
  CHECK(book.Current("lane-7")->plate == "YYY8");
  o = book.OnCommand(Cmd(R"({"action": "release", "crossing_id": ")" + id +
                         R"(", "reason": "dog unit done"})"),
                     m, kT0);
  REQUIRE(o.error.empty());
  CHECK(book.Find(id)->state == State::kOpen);
  CHECK_FALSE(book.Find(id)->current);  // the lane has its next vehicle
  o = book.OnCommand(Cmd(R"({"action": "close", "crossing_id": ")" + id +
                         R"(", "reason": "handled off-lane"})"),
                     m, kT0);
  REQUIRE(o.error.empty());
  CHECK(book.Find(id)->close_reason == "command");
  CHECK(book.Find(id)->close_detail == "handled off-lane");
  CHECK(book.OnCommand(Cmd(R"({"action": "close", "crossing_id": ")" + id +
                           R"(", "reason": "again"})"),
                       m, kT0)
            .error.find("already closed") != std::string::npos);
  CHECK(book.OnCommand(Cmd(R"({"action": "close", "lane": "lane-8", "reason": "x"})"), m, kT0)
            .error == "close: no open crossing on lane-8");
}

TEST_CASE("command and decision bodies are validated with a reason") {
  std::string e;
  CHECK_FALSE(ParseCommand(R"({"action": "launch"})", &e));
  CHECK(e.find("unknown action 'launch'") == 0);
  CHECK_FALSE(ParseCommand(R"([1])", &e));
  CHECK(e == "the body is not a JSON object");
  CHECK_FALSE(ParseCommand(R"({"action": "fact", "lane": "l", "key": "K!", "value": 1})", &e));
  CHECK(e.find("fact needs 'key'") == 0);
  CHECK_FALSE(ParseCommand(R"({"action": "fact", "lane": "l", "key": "k"})", &e));
  CHECK(e.find("fact needs 'value'") == 0);
  CHECK_FALSE(ParseCommand(R"({"action": "fact", "lane": "l", "crossing_id": "c", "key": "k",
                               "value": 1})", &e));
  CHECK(e.find("one of them") != std::string::npos);
  CHECK_FALSE(ParseCommand(R"({"action": "hold", "lane": "l", "reason": "r"})", &e));
  CHECK(e == "'lane' is not used by hold");
  CHECK_FALSE(ParseCommand(R"({"action": "close", "crossing_id": "c"})", &e));
  CHECK(e == "close needs 'reason'");
  CHECK_FALSE(ParseCommand(R"({"action": "note", "crossing_id": "c", "text": "t", "key": "k"})",
                           &e));
  CHECK(e == "'key' is not used by note");
  CHECK_FALSE(ParseCommand(R"({"action": "open", "lane": "lane 1"})", &e));
  CHECK_FALSE(ParseCommand(R"({"action": "close", "crossing_id": "a b", "reason": "r"})", &e));
  CHECK_FALSE(ParseDecision(R"({"decision": 1})", &e));
  CHECK(e == "'decision' must be a string");
  CHECK(ParseDecision(R"({"decision": "goods_detained", "notes": "n"})", &e));
  CHECK_FALSE(ParseSearch(R"({"limit": 0})", &e));
  CHECK_FALSE(ParseSearch(R"({"state": "gone"})", &e));
  auto q = ParseSearch(R"({"plate": "01 kg 777-aaa", "name": "Токтогулов", "limit": 5})", &e);
  REQUIRE(q);
  CHECK(q->plate == "01KG777AAA");
  CHECK(q->name == "TOKTOGULOV");
}

TEST_CASE("lists are capped and what does not fit is counted; bad reads are problems") {
  BookOptions options;
  options.limits.list = 3;
  options.limits.evidence = 5;
  Book book(options);
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA1"), kT0).events[0].crossing_id;
  for (int i = 0; i < 6; ++i)
    book.OnMessage(M("scanner.container.read", "lane-1"),
                   R"({"code": "ABCU00000)" + std::to_string(i) + R"("})", kT0);
  const Crossing* c = book.Find(id);
  CHECK(c->containers.size() == 3);
  CHECK(c->dropped.at("containers") == 3);
  CHECK(c->evidence.size() == 5);
  CHECK(c->evidence_total == 7);
  CHECK(c->ToJson()["dropped"]["evidence"] == 2);

  Outcome o = book.OnMessage(M("scanner.document.read", "lane-1"), R"({"document_number": 5})",
                             kT0);
  CHECK(o.error.empty());
  CHECK(o.problem.find("without a 'document_number'") != std::string::npos);
  CHECK(c->problems.size() == 1);
  CHECK(book.stats().bad_inputs == 1);
  // A bad read on an empty lane opens nothing.
  o = book.OnMessage(M("scale.weight.stable", "lane-2"), R"({"kg": "heavy"})", kT0);
  CHECK(o.events.empty());
  CHECK(o.error.find("opens no crossing") != std::string::npos);
  CHECK(book.Current("lane-2") == nullptr);
}

TEST_CASE("lanes setting; unattached messages; weights follow the scale's vehicle") {
  BookOptions options;
  options.lanes = {"lane-1"};
  Book book(options);
  Outcome o = book.OnMessage(M("scanner.plate.read", "lane-2"), Plate("AAA1"), kT0);
  CHECK(o.events.empty());
  CHECK(o.error.empty());
  CHECK(book.stats().ignored == 1);
  o = book.OnMessage(M("scale.weight.cleared", "lane-1"), R"({"scale": "s", "vehicle_seq": 1})",
                     kT0);
  CHECK(book.stats().unattached == 1);
  o = book.OnMessage(M("risk.assessment", "lane-1"), R"({"channel": "red"})", kT0);
  CHECK(o.error.find("names no crossing") != std::string::npos);

  const std::string first =
      book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("AAA1"), kT0).events[0].crossing_id;
  book.OnMessage(M("scale.weight.stable", "lane-1"),
                 R"({"scale": "wb1", "kg": 27310, "vehicle_seq": 4})", kT0);
  book.OnMessage(M("scanner.plate.read", "lane-1"), Plate("BBB2"), kT0);
  // The truck drives off the bridge after the next plate was read: still the first crossing.
  o = book.OnMessage(M("scale.weight.cleared", "lane-1"),
                     R"({"scale": "wb1", "vehicle_seq": 4})", kT0);
  REQUIRE(o.events.size() == 1);
  CHECK(o.events[0].crossing_id == first);
  CHECK(book.Find(first)->weight_cleared["vehicle_seq"] == 4);
  CHECK(book.Find(first)->ToJson()["weights"]["latest"]["kg"] == 27310);

  const int64_t inputs = book.Find(first)->inputs_revision;
  const int64_t revision = book.Find(first)->revision;
  o = book.OnMessage(M("risk.assessment", "lane-1", first), R"({"channel": "red"})", kT0);
  CHECK(book.Find(first)->risk["channel"] == "red");
  CHECK(book.Find(first)->revision == revision + 1);
  CHECK(book.Find(first)->inputs_revision == inputs);  // an assessment is not an input
}

TEST_CASE("restored crossings take their lanes back and their reads still route hits") {
  Crossing a;
  a.id = "lane-1-a";
  a.lane = "lane-1";
  a.plate = "AAA1";
  a.evidence = Json::array({"read-1"});
  a.opened_us = kT0;
  Crossing b = a;
  b.id = "lane-1-b";
  b.evidence = Json::array();
  b.opened_us = kT0 + kSecond;
  Book book({});
  book.Restore(a);
  book.Restore(b);
  CHECK(book.Current("lane-1")->id == "lane-1-b");
  CHECK_FALSE(book.Find("lane-1-a")->current);
  Outcome o = book.OnMessage(M("db.watchlist.hit", "lane-1"), Hit("read-1"), kT0);
  REQUIRE(o.events.size() == 1);
  CHECK(o.events[0].crossing_id == "lane-1-a");
}

TEST_CASE("crossing ids skip ids the store already has") {
  Book book({}, [](const std::string& id) { return id.size() > 4 && id.ends_with("-0001"); });
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "l1"), Plate("AAA1"), kT0).events[0].crossing_id;
  CHECK(id == "l1-20261118T110640-0002");
}

TEST_CASE("coalescing: at most one update per interval per crossing, the latest after it") {
  UpdateCoalescer c(100'000);
  CHECK(c.Changed("a", 0));
  CHECK_FALSE(c.Changed("a", 10'000));
  CHECK_FALSE(c.Changed("a", 20'000));
  CHECK(c.Changed("b", 20'000));
  CHECK(c.Due(50'000).empty());
  CHECK(c.pending() == 1);
  auto due = c.Due(100'000);
  REQUIRE(due.size() == 1);
  CHECK(due[0] == "a");
  CHECK(c.Due(300'000).empty());
  CHECK(c.Changed("a", 300'000));
  CHECK_FALSE(c.Changed("a", 300'001));
  c.Forget("a");
  CHECK(c.pending() == 0);
}

}  // namespace
}  // namespace kordon::crossings
