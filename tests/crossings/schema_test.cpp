// The bodies the crossings plugin publishes and accepts conform to their schemas in
// sdk/schemas: pictures of open, held, closed and late crossings (with every list filled)
// against crossing.updated / opened / closed v1; accepted commands and decisions against
// crossing.command v1 and officer.decision v1, and bodies those schemas refuse are refused by
// the parsers too (tests/support/schema_check.h).
#include <string>

#include <doctest/doctest.h>

#include "book.h"
#include "command.h"
#include "schema_check.h"

namespace kordon::crossings {
namespace {

using kordon::testing::LoadSchema;

std::string Problems(const Json& v, const Json& schema) {
  return kordon::testing::SchemaProblems(v, schema);
}

int n = 0;
Meta M(const std::string& topic, const std::string& lane, const std::string& crossing = "") {
  Meta m;
  m.topic = topic;
  m.id = "id" + std::to_string(++n);
  m.time_us = 1'795'000'000'000'000;
  m.source = "test";
  m.lane = lane;
  m.crossing_id = crossing;
  return m;
}

Command Cmd(const std::string& body) {
  std::string e;
  auto c = ParseCommand(body, &e);
  REQUIRE_MESSAGE(c, e);
  return *c;
}

TEST_CASE("pictures of open, held, closed and late crossings conform to crossing.updated v1") {
  const Json updated = LoadSchema("crossing.updated.v1.json");
  const Json opened = LoadSchema("crossing.opened.v1.json");
  const Json closed_schema = LoadSchema("crossing.closed.v1.json");
  BookOptions options;
  options.limits.list = 2;
  Book book(options);
  const int64_t t = 1'795'000'000'000'000;
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "lane-1"),
                     R"({"camera": "c", "raw": "01 KG 777 AAA", "plate": "01KG777AAA",
                         "confidence": null, "country": null, "direction": "in"})",
                     t)
          .events[0].crossing_id;
  CHECK(Problems(book.Find(id)->ToJson(), opened).empty());
  const Meta doc = M("scanner.document.read", "lane-1");
  book.OnMessage(doc, R"({"format": "TD1", "valid": false, "document_code": "I",
                          "issuing_state": "KAZ", "document_number": "N1", "nationality": "KAZ",
                          "birth_date": null, "sex": "F", "expiry_date": "2030-01-01",
                          "primary_identifier": "СУЛЕЙМЕНОВА", "secondary_identifier": "ЖАНАР",
                          "checks": [], "repairs": [{"field": "birth_date", "line": 2,
                          "column": 1, "from": "O", "to": "0"}], "problems": ["p"], "mrz": ""})",
                 t);
  for (const char* code : {"MSCU4418392", "TGHU1234560", "ABCU0000001"})
    book.OnMessage(M("scanner.container.read", "lane-1"),
                   std::string(R"({"code": ")") + code + R"(", "valid": false,
                     "check": {"expected": "1", "found": "2", "problem": "mismatch"},
                     "repair": null, "repaired_valid": false, "size_type": null})",
                   t);
  book.OnMessage(M("scale.weight.stable", "lane-1"),
                 R"({"scale": "wb1", "kg": 27310.5, "tare_kg": 0, "net": false,
                     "vehicle_seq": 4})",
                 t);
  book.OnMessage(M("scanner.xray.scan", "lane-1"),
                 R"({"scan_id": "S1", "scanner": "x", "time": "t", "image": {"path": "/p",
                     "sha256": "ab"}, "containers": ["MSCU4418392"], "container_checks": [],
                     "operator": {"id": "op"}, "marks": [{"x": 1, "y": 1, "width": 1,
                     "height": 1, "label": "l"}]})",
                 t);
  book.OnMessage(M("db.watchlist.hit", "lane-1"),
                 R"({"subject": {"kind": "person"}, "entry": {"list": "demo", "id": "P-2",
                     "kind": "person", "names": [], "dob": [], "reason": "r"}, "score": 0.93,
                     "matched": "name", "explanation": "e", "source_id": ")" + doc.id +
                     R"(", "source_topic": "scanner.document.read"})",
                 t);
  book.OnMessage(M("db.watchlist.error", "lane-1"),
                 R"({"reason": "r", "source_id": "x", "source_topic": "scanner.plate.read",
                     "bad_inputs": 1})",
                 t);
  book.OnMessage(M("db.manifest.match", "lane-1"),
                 R"({"source_id": "x", "manifest": {"manifest": "M-1"}, "plate": "01KG777AAA"})",
                 t);
  book.OnMessage(M("db.manifest.unmatched", "lane-1"), R"({"source_id": "y"})", t);
  book.OnMessage(M("risk.assessment", "lane-1", id), R"({"channel": "red", "score": 80})", t);
  book.OnMessage(M("scanner.document.read", "lane-1"), R"({"valid": true})", t);  // a problem
  book.OnCommand(Cmd(R"({"action": "fact", "lane": "lane-1", "key": "k", "value": [1]})"),
                 M("crossing.command", ""), t);
  book.OnCommand(Cmd(R"({"action": "note", "crossing_id": ")" + id + R"(", "text": "n"})"),
                 M("crossing.command", ""), t);
  book.OnCommand(Cmd(R"({"action": "hold", "crossing_id": ")" + id + R"(", "reason": "r"})"),
                 M("crossing.command", ""), t);
  const Json held = book.Find(id)->ToJson();
  CHECK(held["state"] == "held");
  CHECK(held["dropped"]["containers"] == 1);
  CHECK_MESSAGE(Problems(held, updated).empty(), Problems(held, updated));

  book.OnMessage(M("scale.weight.cleared", "lane-1"), R"({"scale": "wb1", "vehicle_seq": 4})",
                 t);
  REQUIRE(book.OnDecision(M("officer.decision", "lane-1", id),
                          R"({"decision": "refused_entry", "officer": "o"})", t)
              .error.empty());
  const Json closed = book.Find(id)->ToJson();
  CHECK_MESSAGE(Problems(closed, closed_schema).empty(), Problems(closed, closed_schema));
  book.OnMessage(M("db.watchlist.hit", "lane-1", id),
                 R"({"entry": {"list": "l", "id": "i"}, "source_id": "z"})", t);
  const Json late = book.Find(id)->ToJson();
  CHECK(late["late"] == true);
  CHECK_MESSAGE(Problems(late, updated).empty(), Problems(late, updated));
}

TEST_CASE("crossing.opened and crossing.closed v1 are crossing.updated v1 under another name") {
  // One picture, three topics: the copies must not drift apart.
  Json updated = LoadSchema("crossing.updated.v1.json");
  for (const char* name : {"crossing.opened.v1.json", "crossing.closed.v1.json"}) {
    Json copy = LoadSchema(name);
    for (const char* key : {"$id", "title", "description"}) {
      copy.erase(key);
      updated.erase(key);
    }
    CHECK_MESSAGE(copy == updated, name);
  }
}

TEST_CASE("pictures with a supervisor's override conform, and so do the overrides accepted") {
  const Json updated = LoadSchema("crossing.updated.v1.json");
  const Json override_schema = LoadSchema("officer.override.v1.json");
  Book book({});
  const int64_t t = 1'795'000'000'000'000;
  const std::string id =
      book.OnMessage(M("scanner.plate.read", "lane-1"), R"({"raw": "A1", "plate": "A1"})", t)
          .events[0].crossing_id;
  const std::string body = R"({"crossing_id": ")" + id + R"(", "lane": "lane-1",
      "channel": "red", "previous_channel": null, "reason": "known smuggling route",
      "user": "anna", "role": "supervisor"})";
  CHECK(Problems(Json::parse(body), override_schema).empty());
  REQUIRE(book.OnOverride(M("officer.override", "lane-1", id), body, t).error.empty());
  const Json picture = book.Find(id)->ToJson();
  CHECK(picture["override"]["channel"] == "red");
  CHECK_MESSAGE(Problems(picture, updated).empty(), Problems(picture, updated));
  for (const char* refused :
       {R"({"crossing_id": "c", "lane": "", "channel": "red", "previous_channel": null,
            "reason": "r", "user": "u", "role": "supervisor"})",
        R"({"crossing_id": "c", "lane": "", "channel": "red", "previous_channel": null,
            "reason": "reason", "user": "u", "role": "officer"})"}) {
    std::string e;
    CHECK_FALSE(ParseOverride(refused, &e).has_value());
    CHECK_FALSE(Problems(Json::parse(refused), override_schema).empty());
  }
}

TEST_CASE("commands and decisions the parsers accept conform to their schemas, and back") {
  const Json command = LoadSchema("crossing.command.v1.json");
  const Json decision = LoadSchema("officer.decision.v1.json");
  std::string e;
  for (const char* body :
       {R"({"action": "open", "lane": "lane-1"})",
        R"({"action": "close", "lane": "lane-1", "reason": "r", "source": "p.lua"})",
        R"({"action": "fact", "crossing_id": "c-1", "key": "a.b_c-1", "value": {"x": [1]}})",
        R"({"action": "hold", "crossing_id": "c-1", "reason": "r"})",
        R"({"action": "release", "crossing_id": "c-1", "reason": "r"})",
        R"({"action": "note", "crossing_id": "c-1", "text": "t"})"}) {
    CHECK_MESSAGE(ParseCommand(body, &e).has_value(), e);
    CHECK_MESSAGE(Problems(Json::parse(body), command).empty(), body);
  }
  for (const char* body : {R"({"action": "fact", "lane": "l", "key": "Bad Key", "value": 1})",
                           R"({"action": "wipe"})", R"({"action": "open", "lane": "l", "x": 1})"}) {
    CHECK_FALSE(ParseCommand(body, &e).has_value());
    CHECK_FALSE(Problems(Json::parse(body), command).empty());
  }
  CHECK(ParseDecision(R"({"decision": "cleared", "notes": "", "officer": "o",
                          "crossing_id": "c"})", &e));
  CHECK(Problems(Json::parse(R"({"decision": "cleared", "crossing_id": "c"})"), decision).empty());
  CHECK_FALSE(Problems(Json::parse(R"({"decision": "maybe"})"), decision).empty());
  CHECK_FALSE(ParseDecision(R"({"decision": "maybe"})", &e));
}

}  // namespace
}  // namespace kordon::crossings
