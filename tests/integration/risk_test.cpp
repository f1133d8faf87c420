// The risk-rules plugin in a real kordon-host with the demo profile: crossing.updated bodies
// published from outside give risk.assessment with the crossing's lane and id; the 15 %
// overweight truck and a watchlist hit go red with their reasons; an identical update gives
// nothing; a risk.indicator is folded in; bad input gives risk.error; a broken profile edit is
// reported (alert naming the line) and the previous profile stays; a fixed edit is picked up;
// the shadow profile runs beside. And `kordon risk check` / `compare` on a recorded journal.
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

using host::ClientPublishOptions;
using nlohmann::json;

json Body(const host::BusMessage& m) { return json::parse(m.body, nullptr, false); }

std::string DemoProfile() { return ReadFileOrEmpty(SourcePath("config/risk-profile.ini")); }

// The demo profile with its version replaced (and `extra` appended).
std::string ProfileVersion(const std::string& version, const std::string& extra = "") {
  std::string p = DemoProfile();
  const std::string key = "version = 2026-11-28.1";
  p.replace(p.find(key), key.size(), "version = " + version);
  return p + extra;
}

// A truck 15 % over its manifest: 38 000 kg on the bridge, 15 000 kg tare (demo profile),
// 20 000 kg declared.
json OverweightTruck() {
  return {{"id", "CR-R1"}, {"lane", "lane-1"}, {"state", "open"}, {"revision", 3},
          {"plates", json::array({{{"raw", "01KG123ABC"}, {"plate", "01KG123ABC"},
                                   {"country", "KG"}}})},
          {"containers", json::array({{{"code", "MSCU1234565"}, {"check_digit_valid", true}}})},
          {"weights", json::array({{{"kg", 38000}, {"net", false}}})},
          {"manifests", json::array({{{"manifest",
                                       {{"carrier", "Silk Road Logistics"},
                                        {"containers", json::array({{{"code", "MSCU1234565"}}})},
                                        {"origin", "CN"}, {"destination", "KG"},
                                        {"goods", json::array({{{"hs_code", "8703"}}})},
                                        {"declared_gross_kg", 20000}}}}})}};
}

json WatchlistCar() {
  return {{"id", "CR-R2"}, {"lane", "lane-3"}, {"state", "open"},
          {"documents", json::array({{{"nationality", "KGZ"}, {"valid", true}}})},
          {"watchlist_hits", json::array({{{"entry", {{"kind", "person"}, {"id", "P-001"}}},
                                           {"score", 1.0}, {"explanation", "surname"}}})}};
}

std::optional<host::BusMessage> Assessment(host::BusClient& client, const std::string& crossing,
                                           const std::string& topic = "risk.assessment") {
  return ReceiveTopic(client, topic, 5s, [&](const host::BusMessage& m) {
    return m.envelope.crossing_id == crossing;
  });
}

bool HasReason(const json& body, const std::string& start) {
  for (const auto& r : body["reasons"])
    if (r.get<std::string>().rfind(start, 0) == 0) return true;
  return false;
}

TEST_SUITE("risk") {

TEST_CASE("risk-rules assesses crossings, explains red, reloads its profile safely") {
  TempDir dir;
  const std::string profile = dir.File("risk-profile.ini");
  WriteFile(profile, DemoProfile());
  WriteFile(dir.File("shadow.ini"),
            ProfileVersion("shadow-1", "\n[criterion any-cn]\nwhen = origin == \"CN\"\n"
                                       "channel = yellow\ntext = From China\n"));
  HostProcess site(dir, HostSection(dir) +
                            PluginSection("risk", SitePlugin("risk-rules"),
                                          "profile = " + profile + "\nshadow_profile = " +
                                              dir.File("shadow.ini") +
                                              "\nseed = 2026\nreload_ms = 100\nhistory = " +
                                              dir.File("history.db") +
                                              "\nclosed_pictures = 1"));
  std::string why;
  REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
  auto client = ConnectClient(site.ready(), {"risk", "alert"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  // The 15 % overweight truck: red, with that reason first.
  ClientPublishOptions o;
  o.lane = "lane-1";
  o.crossing_id = "CR-R1";
  REQUIRE(client->Publish("crossing.updated", OverweightTruck().dump(), o).ok());
  auto a = Assessment(*client, "CR-R1");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  CHECK(a->envelope.lane == "lane-1");
  json b = Body(*a);
  CHECK(b["channel"] == "red");
  CHECK(b["fired"][0]["id"] == "weight-over-manifest");
  CHECK(b["reasons"][0] ==
        "Declared weight exceeded by 15% (23000 kg net against 20000 kg declared)");
  CHECK(b["profile"]["id"] == "demo-site");
  CHECK(b["profile"]["version"] == "2026-11-28.1");
  CHECK(b["random"]["seed"] == "0000000000002026");
  CHECK(b["facts"]["weight_discrepancy_pct"] == 15);
  CHECK(b["facts"]["lane_kind"] == "cargo");
  CHECK(b["facts"]["carrier_red_history"] == 0);
  // The shadow candidate, beside it.
  auto s = Assessment(*client, "CR-R1", "risk.assessment.shadow");
  REQUIRE_MESSAGE(s.has_value(), site.Log());
  CHECK(Body(*s)["profile"]["version"] == "shadow-1");
  CHECK(Body(*s)["live_channel"] == "red");
  CHECK(HasReason(Body(*s), "From China"));

  // A watchlist hit: red.
  o.lane = "lane-3";
  o.crossing_id = "CR-R2";
  REQUIRE(client->Publish("crossing.updated", WatchlistCar().dump(), o).ok());
  a = Assessment(*client, "CR-R2");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  b = Body(*a);
  CHECK(b["channel"] == "red");
  CHECK(HasReason(b, "Watchlist hit (best score 1, person)"));

  // The same facts again (a new revision, our own assessment echoed into the picture):
  // nothing. An indicator from a procedure is folded in at once.
  json again = WatchlistCar();
  again["revision"] = 9;
  again["risk"] = b;
  REQUIRE(client->Publish("crossing.updated", again.dump(), o).ok());
  REQUIRE(client->Publish("risk.indicator",
                          R"({"crossing_id": "CR-R2", "name": "supervisor", "weight": 5,
                              "text": "Supervisor asked for a look", "source": "alert.lua"})",
                          o)
              .ok());
  std::vector<host::BusMessage> skipped;
  a = Assessment(*client, "CR-R2");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  b = Body(*a);
  CHECK(b["indicators"][0]["name"] == "supervisor");
  CHECK(b["indicators"][0]["source"] == "alert.lua");
  CHECK(HasReason(b, "Supervisor asked for a look"));
  CHECK(b["facts"]["indicator.supervisor"] == true);

  // Bad input: an error event naming the reason, the plugin goes on.
  REQUIRE(client->Publish("crossing.updated", R"({"lane": "lane-1"})", ClientPublishOptions())
              .ok());
  auto err = ReceiveTopic(*client, "risk.error", 5s);
  REQUIRE_MESSAGE(err.has_value(), site.Log());
  CHECK(Body(*err)["reason"] == "no crossing id (neither in the envelope nor as 'id')");
  REQUIRE(client->Publish("risk.indicator", R"({"crossing_id": "CR-R2", "name": "x"})", o).ok());
  err = ReceiveTopic(*client, "risk.error", 5s);
  REQUIRE_MESSAGE(err.has_value(), site.Log());
  CHECK(Body(*err)["reason"] == "'text' must be a non-empty string");

  // A broken edit: an alert naming FILE:LINE, and the previous profile stays in force.
  std::string broken = ProfileVersion("2026-11-28.2");
  broken.replace(broken.find("when = watchlist_hits > 0"), 25, "when = watchlist_hits >> 0");
  WriteFile(profile, broken);
  auto alert = ReceiveTopic(*client, "alert.raised", 5s);
  REQUIRE_MESSAGE(alert.has_value(), site.Log());
  const std::string reason = Body(*alert)["reason"].get<std::string>();
  CHECK_MESSAGE(Contains(reason, "risk-profile.ini:52: criterion 'watchlist-hit': when, "
                                 "column 24: expected a value, found '>'"), reason);
  CHECK_MESSAGE(Contains(reason, "version 2026-11-28.1"), reason);  // what stays in force
  o.lane = "lane-1";
  o.crossing_id = "CR-R3";
  json truck = OverweightTruck();
  truck["id"] = "CR-R3";
  REQUIRE(client->Publish("crossing.updated", truck.dump(), o).ok());
  a = Assessment(*client, "CR-R3");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  CHECK(Body(*a)["profile"]["version"] == "2026-11-28.1");
  CHECK(Body(*a)["channel"] == "red");
  // The same carrier's CR-R1 went red before: the plugin's own history counts it.
  CHECK(Body(*a)["facts"]["carrier_red_history"] == 1);

  // A good edit is picked up; the next update of an already assessed crossing is assessed
  // again under the new version even though its facts did not change.
  WriteFile(profile, ProfileVersion("2026-11-28.3"));
  REQUIRE_MESSAGE(site.WaitForLog("risk profile reloaded", 5s), site.Log());
  REQUIRE(client->Publish("crossing.updated", truck.dump(), o).ok());
  a = Assessment(*client, "CR-R3");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  CHECK(Body(*a)["profile"]["version"] == "2026-11-28.3");

  // A crossing whose last change comes only with crossing.closed (plugins/crossings sends a
  // pending coalesced update that way) is assessed too.
  o.lane = "lane-4";
  o.crossing_id = "CR-R4";
  json closed = WatchlistCar();
  closed["id"] = "CR-R4";
  closed["state"] = "closed";
  REQUIRE(client->Publish("crossing.closed", closed.dump(), o).ok());
  a = Assessment(*client, "CR-R4");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  CHECK(Body(*a)["channel"] == "red");
  CHECK(Body(*a)["facts"]["crossing_state"] == "closed");

  // Closed pictures are let go beyond `closed_pictures` (1 here). CR-R4's is still held: an
  // indicator just after the close is assessed at once.
  REQUIRE(client->Publish("risk.indicator",
                          R"({"crossing_id": "CR-R4", "name": "late", "weight": 5,
                              "text": "Procedure on the close", "source": "close.lua"})",
                          o)
              .ok());
  a = Assessment(*client, "CR-R4");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  CHECK(Body(*a)["facts"]["indicator.late"] == true);
  // CR-R5 closes: CR-R4's picture is let go. An indicator for CR-R4 now is kept, and said to
  // be unassessed (risk.error, not a bad input), not silently dropped.
  o.crossing_id = "CR-R5";
  json closed5 = WatchlistCar();
  closed5["id"] = "CR-R5";
  closed5["state"] = "closed";
  REQUIRE(client->Publish("crossing.closed", closed5.dump(), o).ok());
  REQUIRE_MESSAGE(Assessment(*client, "CR-R5").has_value(), site.Log());
  o.crossing_id = "CR-R4";
  REQUIRE(client->Publish("risk.indicator",
                          R"({"crossing_id": "CR-R4", "name": "later", "channel": "yellow",
                              "text": "Procedure an hour on", "source": "audit.lua"})",
                          o)
              .ok());
  err = ReceiveTopic(*client, "risk.error", 5s);
  REQUIRE_MESSAGE(err.has_value(), site.Log());
  const json late = Body(*err);
  CHECK(late["late_indicators"] == 1);
  CHECK(late["bad_inputs"] == 2);
  CHECK(late["source_topic"] == "risk.indicator");
  CHECK(err->envelope.crossing_id == "CR-R4");
  CHECK_MESSAGE(Contains(late["reason"].get<std::string>(),
                         "indicator 'later' for crossing CR-R4 kept but not assessed: the "
                         "crossing closed and its picture was let go"),
                late.dump());
  // A late decision republishes CR-R4's picture: both indicators count.
  json decided = closed;
  decided["decision"] = {{"decision", "released"}};
  REQUIRE(client->Publish("crossing.updated", decided.dump(), o).ok());
  a = Assessment(*client, "CR-R4");
  REQUIRE_MESSAGE(a.has_value(), site.Log());
  CHECK(Body(*a)["facts"]["indicator.late"] == true);
  CHECK(Body(*a)["facts"]["indicator.later"] == true);

  client.reset();
  auto exit = site.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), site.Log());
  // CR-R1, CR-R2 (twice: the indicator), CR-R3 twice, CR-R4 three times (closed, its
  // indicator, the late decision), CR-R5; the identical update unchanged. Pictures let go:
  // CR-R4's when CR-R5 closed, then CR-R5's when CR-R4's came back with the late decision.
  CHECK_MESSAGE(Contains(site.Log(), "assessed 9 ("), site.Log());
  CHECK_MESSAGE(Contains(site.Log(), "unchanged 1, indicators 3 (1 after the picture was let go), "
                                     "pictures let go 2, bad inputs 2, history errors 0, "
                                     "reloads 1, reload failures 1"),
                site.Log());
}

TEST_CASE("risk-rules refuses to start on a broken profile, naming the line") {
  TempDir dir;
  WriteFile(dir.File("p.ini"), "[profile]\nid = x\nversion = 1\n[criterion c]\nwhen = true\n");
  HostProcess site(dir, HostSection(dir) + PluginSection("risk", SitePlugin("risk-rules"),
                                                         "profile = " + dir.File("p.ini")));
  std::string why;
  CHECK_FALSE(site.WaitReady(10s, &why));
  CHECK_MESSAGE(Contains(site.Log(), "p.ini:4: criterion 'c': 'text' (what the officer reads) "
                                     "is missing"),
                site.Log());
}

}  // TEST_SUITE


TEST_SUITE("risk-cli") {

TEST_CASE("kordon risk check validates a profile and lists its criteria") {
  TempDir dir;
  std::string out, err;
  CHECK(RunKordon(dir, {"risk", "check", SourcePath("config/risk-profile.ini")}, &out, &err) == 0);
  CHECK_MESSAGE(Contains(out, "profile demo-site version 2026-11-28.1"), out);
  CHECK_MESSAGE(Contains(out, "weight-over-manifest (line 39): weight 40, channel red"), out);
  WriteFile(dir.File("bad.ini"), "[profile]\nid = x\nversion = 1\n[channels]\nred = 10\n"
                                 "yellow = 20\n");
  CHECK(RunKordon(dir, {"risk", "check", dir.File("bad.ini")}, &out, &err) == 2);
  CHECK_MESSAGE(Contains(err, "bad.ini:5: the 'red' threshold must be above the 'yellow' "
                              "threshold"), err);
}

// tests/risk/fixtures/journal-export.jsonl was recorded from a real host (journal +
// risk-rules with the demo profile, seed 2026; see tests/risk/fixtures/README.md).
TEST_CASE("kordon risk compare replays a recorded journal through two profiles") {
  TempDir dir;
  // The candidate: stricter on weight (5 % goes red) and no random selection.
  std::string candidate = DemoProfile();
  const std::string weight = "when = weight_discrepancy_pct >= 10";
  candidate.replace(candidate.find(weight), weight.size(), "when = weight_discrepancy_pct >= 5");
  const std::string version = "version = 2026-11-28.1";
  candidate.replace(candidate.find(version), version.size(), "version = candidate-1");
  WriteFile(dir.File("candidate.ini"), candidate);
  const std::string journal = SourcePath("tests/risk/fixtures/journal-export.jsonl");
  std::string out, err;
  REQUIRE(RunKordon(dir, {"risk", "compare", "--live", SourcePath("config/risk-profile.ini"),
                        "--candidate", dir.File("candidate.ini"), "--replay", journal, "--json"},
                  &out, &err) == 0);
  json r = json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(r.is_object(), std::string(out + err));
  CHECK(r["seed"] == "0000000000002026");  // taken from the recorded risk.assessment
  CHECK(r["crossings"] == 6);
  CHECK(r["updates"] == 7);
  CHECK(r["indicators"] == 1);
  CHECK(r["live"]["version"] == "2026-11-28.1");
  CHECK(r["candidate"]["version"] == "candidate-1");
  // Replaying the live profile gives back exactly the channels the site published.
  std::map<std::string, std::string> published;
  std::istringstream lines(ReadFileOrEmpty(journal));
  for (std::string line; std::getline(lines, line);) {
    json m = json::parse(line, nullptr, false);
    if (m.is_object() && m["topic"] == "risk.assessment")
      published[m["crossing_id"].get<std::string>()] = m["body"]["channel"].get<std::string>();
  }
  REQUIRE(published.size() == 6);
  for (const auto& [crossing, channel] : published) {
    CAPTURE(crossing);
    CHECK(r["channels"][crossing]["live"] == channel);
  }
  CHECK(r["live"]["counts"] == json({{"green", 1}, {"blue", 1}, {"yellow", 2}, {"red", 2}}));
  CHECK(r["candidate"]["counts"] ==
        json({{"green", 1}, {"blue", 0}, {"yellow", 2}, {"red", 3}}));
  REQUIRE(r["changed"].size() == 1);
  CHECK(r["changed"][0]["crossing_id"] == "CR-F4");
  CHECK(r["changed"][0]["lane"] == "lane-2");
  CHECK(r["changed"][0]["live"] == "blue");
  CHECK(r["changed"][0]["candidate"] == "red");
  CHECK(r["changed"][0]["added"] == json::array({"weight-over-manifest"}));
  CHECK(r["changed"][0]["removed"] == json::array());

  // The text report says the same.
  REQUIRE(RunKordon(dir, {"risk", "compare", "--live", SourcePath("config/risk-profile.ini"),
                        "--candidate", dir.File("candidate.ini"), "--replay", journal},
                  &out, &err) == 0);
  CHECK_MESSAGE(Contains(out, "1 crossing(s) would change channel:"), out);
  CHECK_MESSAGE(Contains(out, "CR-F4"), out);
  CHECK_MESSAGE(Contains(out, "blue -> red +weight-over-manifest"), out);

  // A malformed line names its line; a broken candidate names its line.
  WriteFile(dir.File("bad.jsonl"), ReadFileOrEmpty(journal) + "{not json\n");
  CHECK(RunKordon(dir, {"risk", "compare", "--live", SourcePath("config/risk-profile.ini"),
                      "--candidate", dir.File("candidate.ini"), "--replay", dir.File("bad.jsonl")},
                &out, &err) == 3);
  CHECK_MESSAGE(Contains(err, "bad.jsonl:"), err);
  WriteFile(dir.File("broken.ini"), "[profile]\nid = x\n");
  CHECK(RunKordon(dir, {"risk", "compare", "--live", SourcePath("config/risk-profile.ini"),
                      "--candidate", dir.File("broken.ini"), "--replay", journal},
                &out, &err) == 2);
  CHECK_MESSAGE(Contains(err, "broken.ini:1: [profile] needs 'version'"), err);
}

}  // TEST_SUITE
}  // namespace
}  // namespace kordon::testing
