// The crossings plugin in a real kordon-host, beside the real watchlist plugin: reads
// published from outside open a crossing and gather the watchlist's hits, an officer's
// decision closes it, a late hit still reaches it, bad decisions and commands are rejected
// with a reason, the crossings.command / crossings.get services over the bus, the idle
// timeout, open crossings surviving a host restart, a locked file (alert, then written), and
// `kordon crossings search|show` finding what the plugin stored.
#include <signal.h>

#include <chrono>
#include <memory>
#include <optional>
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

const char kTraveller[] = R"({"format": "TD3", "valid": true, "document_code": "P",
  "issuing_state": "KGZ", "document_number": "AN9876543", "nationality": "KGZ",
  "birth_date": "1981-02-14", "sex": "M", "expiry_date": "2030-01-01",
  "primary_identifier": "TOKTOGULOV", "secondary_identifier": "NURLAN", "checks": [],
  "repairs": [], "problems": [], "mrz": "", "reader": "desk1"})";

std::string PlateRead(const std::string& raw, const std::string& plate) {
  return R"({"camera": "cam1", "raw": ")" + raw + R"(", "plate": ")" + plate +
         R"(", "country": "KG", "confidence": 0.95, "direction": "in"})";
}

std::string Config(const TempDir& dir, const std::string& db, const std::string& extra = "") {
  return HostSection(dir) +
         PluginSection("watchlist", SitePlugin("watchlist"),
                       "path = " + dir.File("watchlist.db") + "\nimport = " +
                           SourcePath("config/demo-watchlist.csv") + "\nimport_list = demo") +
         PluginSection("crossings", SitePlugin("crossings"),
                       "path = " + db + "\nupdate_ms = 50\ntick_ms = 100\n" + extra);
}

// Runs `kordon crossings ARGS...`; returns stdout and stderr (and the exit code in *code).
std::string RunTool(const TempDir& dir, std::vector<std::string> args, int* code) {
  args.insert(args.begin(), "crossings");
  std::string out, err;
  *code = RunKordon(dir, args, &out, &err);
  return out + err;
}

std::optional<host::BusMessage> Request(host::BusClient& client, const std::string& service,
                                        const std::string& body, const std::string& reply_to) {
  ClientPublishOptions o;
  o.reply_to = reply_to;
  if (!client.Publish("rpc." + service, body, o).ok()) return std::nullopt;
  return ReceiveTopic(client, reply_to, 5s);
}

bool IsError(const host::BusMessage& m) { return (m.envelope.flags & host::kFlagErrorReply) != 0; }

TEST_SUITE("crossings") {

TEST_CASE("crossings open on reads, gather hits, close on a decision, and can be searched") {
  TempDir dir;
  const std::string db = dir.File("crossings.db");
  HostProcess site(dir, Config(dir, db, "idle_timeout_s = 4"));
  std::string why;
  REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
  auto client = ConnectClient(site.ready(), {"crossing", "client.reply", "alert"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  INFO("host log:\n" << site.Log());

  // A listed plate, then a listed traveller on lane-1: one crossing with both hits.
  ClientPublishOptions lane1;
  lane1.lane = "lane-1";
  auto plate_id = client->Publish("scanner.plate.read", PlateRead("01 KG 777 AAA", "01KG777AAA"),
                                  lane1);
  REQUIRE(plate_id.ok());
  auto opened = ReceiveTopic(*client, "crossing.opened", 5s);
  REQUIRE(opened.has_value());
  const std::string id = opened->envelope.crossing_id;
  CHECK(opened->envelope.lane == "lane-1");
  CHECK(id.rfind("lane-1-", 0) == 0);
  json o = Body(*opened);
  CHECK(o["id"] == id);
  CHECK(o["state"] == "open");
  CHECK(o["plates"][0]["plate"] == "01KG777AAA");
  CHECK(o["plates"][0]["read_id"] == *plate_id);
  REQUIRE(client->Publish("scanner.document.read", kTraveller, lane1).ok());
  auto updated = ReceiveTopic(*client, "crossing.updated", 5s, [&](const host::BusMessage& m) {
    json b = Body(m);
    return m.envelope.crossing_id == id && b["hits"].size() == 2 && b["documents"].size() == 1;
  });
  REQUIRE(updated.has_value());
  json u = Body(*updated);
  CHECK(u["documents"][0]["primary_identifier"] == "TOKTOGULOV");
  CHECK(u["revision"].get<int>() >= 4);

  // A bad decision is rejected, naming why; nothing closes.
  ClientPublishOptions on_crossing = lane1;
  on_crossing.crossing_id = id;
  REQUIRE(client->Publish("officer.decision", R"({"decision": "waved_through"})", on_crossing)
              .ok());
  auto rejected = ReceiveTopic(*client, "crossing.command.rejected", 5s);
  REQUIRE(rejected.has_value());
  CHECK(Contains(Body(*rejected)["reason"].get<std::string>(), "unknown decision 'waved_through'"));

  // The officer's decision closes it.
  REQUIRE(client->Publish("officer.decision",
                          R"({"decision": "secondary_inspection", "officer": "o.petrova",
                              "notes": "watchlist hit"})",
                          on_crossing)
              .ok());
  auto closed = ReceiveTopic(*client, "crossing.closed", 5s);
  REQUIRE(closed.has_value());
  CHECK(closed->envelope.crossing_id == id);
  json c = Body(*closed);
  CHECK(c["state"] == "closed");
  CHECK(c["close_reason"] == "decision");
  CHECK(c["decision"]["decision"] == "secondary_inspection");
  CHECK(c["hits"].size() == 2);

  // A hit that arrives after the close still reaches the crossing, marked late.
  REQUIRE(client->Publish("db.watchlist.hit",
                          R"({"subject": {"kind": "vehicle"}, "entry": {"list": "x", "id": "LATE",
                              "kind": "vehicle", "names": [], "dob": [], "reason": "r"},
                              "score": 1, "matched": "plate", "explanation": "e",
                              "source_id": ")" + *plate_id + R"(",
                              "source_topic": "scanner.plate.read"})",
                          lane1)
              .ok());
  auto late = ReceiveTopic(*client, "crossing.updated", 5s, [&](const host::BusMessage& m) {
    return m.envelope.crossing_id == id;
  });
  REQUIRE(late.has_value());
  CHECK(Body(*late)["state"] == "closed");
  CHECK(Body(*late)["late"] == true);
  CHECK(Body(*late)["hits"].size() == 3);

  // A decision sent as a request gets an error reply when the crossing is already closed.
  {
    ClientPublishOptions request = on_crossing;
    request.reply_to = "client.reply.d1";
    REQUIRE(client->Publish("officer.decision", R"({"decision": "cleared"})", request).ok());
    auto answer = ReceiveTopic(*client, "client.reply.d1", 5s);
    REQUIRE(answer.has_value());
    CHECK(IsError(*answer));
    CHECK(Contains(Body(*answer)["error"].get<std::string>(), "is already closed (decision)"));
  }

  // Procedures steer through crossings.command: open a crossing on lane-2, add a fact.
  auto reply = Request(*client, "crossings.command", R"({"action": "open", "lane": "lane-2"})",
                       "client.reply.c1");
  REQUIRE(reply.has_value());
  CHECK_FALSE(IsError(*reply));
  const std::string id2 = Body(*reply)["crossing_id"];
  CHECK(Body(*reply)["changed"] == "opened on lane-2");
  reply = Request(*client, "crossings.command",
                  R"({"action": "fact", "lane": "lane-2", "key": "lane.assigned",
                      "value": 3, "source": "truck.lua"})",
                  "client.reply.c2");
  REQUIRE(reply.has_value());
  CHECK(Body(*reply)["changed"] == "fact lane.assigned added");
  reply = Request(*client, "crossings.command", R"({"action": "hold", "lane": "lane-2"})",
                  "client.reply.c3");
  REQUIRE(reply.has_value());
  CHECK(IsError(*reply));
  CHECK(Body(*reply)["error"] == "'lane' is not used by hold");
  reply = Request(*client, "crossings.get", R"({"crossing_id": ")" + id2 + R"("})",
                  "client.reply.c4");
  REQUIRE(reply.has_value());
  CHECK(Body(*reply)["facts"]["lane.assigned"]["value"] == 3);
  reply = Request(*client, "crossings.search", R"({"name": "Токтогулов"})", "client.reply.c5");
  REQUIRE(reply.has_value());
  REQUIRE(Body(*reply)["count"] == 1);
  CHECK(Body(*reply)["crossings"][0]["id"] == id);

  // Fire-and-forget on the topic: a bad command gives crossing.command.rejected.
  REQUIRE(client->Publish("crossing.command", R"({"action": "explode"})").ok());
  rejected = ReceiveTopic(*client, "crossing.command.rejected", 5s,
                          [](const host::BusMessage& m) { return Body(m)["action"] == "command"; });
  REQUIRE(rejected.has_value());
  CHECK(Contains(Body(*rejected)["reason"].get<std::string>(), "unknown action 'explode'"));

  // Nothing more happens on lane-2: the idle timeout (4 s) closes it.
  auto idle = ReceiveTopic(*client, "crossing.closed", 10s, [&](const host::BusMessage& m) {
    return m.envelope.crossing_id == id2;
  });
  REQUIRE(idle.has_value());
  CHECK(Body(*idle)["close_reason"] == "idle_timeout");

  client.reset();
  auto exit = site.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), site.Log());
  CHECK(Contains(site.Log(), "opened 2, closed 2 (decision 1, idle_timeout 1), late 1"));
  // The WAL was checkpointed from the store's own thread (setting checkpoint_ms, 1 s).
  CHECK_MESSAGE(Contains(site.Log(), ", background checkpoints "), site.Log());
  CHECK_MESSAGE(Contains(site.Log(), " (failed 0, WAL "), site.Log());

  int code = -1;
  std::string out = RunTool(dir, {"search", "--db", db, "--plate", "01 kg 777 aaa"}, &code);
  CHECK(code == 0);
  CHECK_MESSAGE(Contains(out, id + "  lane-1  closed (decision: secondary_inspection)"), out);
  CHECK(Contains(out, "people: TOKTOGULOV NURLAN"));
  out = RunTool(dir, {"search", "--db", db, "--name", "нурлан", "--json"}, &code);
  CHECK(code == 0);
  CHECK(json::parse(out, nullptr, false)["id"] == id);
  out = RunTool(dir, {"search", "--db", db, "--state", "open"}, &code);
  CHECK(Contains(out, "no crossing found"));
  out = RunTool(dir, {"show", "--db", db, id}, &code);
  CHECK(code == 0);
  CHECK_MESSAGE(Contains(out, "HIT demo/P-001"), out);
  CHECK(Contains(out, "decision: secondary_inspection by o.petrova"));
  out = RunTool(dir, {"show", "--db", db, "nope"}, &code);
  CHECK(code == 2);
  out = RunTool(dir, {"search", "--db", db, "--since", "yesterday"}, &code);
  CHECK(code == 1);
}

TEST_CASE("open crossings survive a host restart; a locked file raises an alert, then is written") {
  TempDir dir;
  const std::string db = dir.File("crossings.db");
  std::string why;
  std::string id;
  ClientPublishOptions lane3;
  lane3.lane = "lane-3";
  {
    HostProcess site(dir, Config(dir, db));
    REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
    auto client = ConnectClient(site.ready(), {"crossing"}, &why);
    REQUIRE_MESSAGE(client != nullptr, why);
    REQUIRE(client->Publish("scanner.plate.read", PlateRead("AB 123", "AB123"), lane3).ok());
    auto opened = ReceiveTopic(*client, "crossing.opened", 5s);
    REQUIRE_MESSAGE(opened.has_value(), site.Log());
    id = opened->envelope.crossing_id;
    client.reset();
    auto exit = site.StopWith(SIGTERM, 10s);
    REQUIRE_MESSAGE((exit && exit->ExitedWith(0)), site.Log());
  }
  TempDir dir2;  // a fresh ready file for the second host
  HostProcess site(dir2, Config(dir2, db));
  REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
  INFO("host log:\n" << site.Log());
  CHECK(Contains(site.Log(), "reloaded 1 open crossings"));
  auto client = ConnectClient(site.ready(), {"crossing", "alert"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  // The same plate attaches to the reloaded crossing.
  REQUIRE(client->Publish("scanner.plate.read", PlateRead("AB-123", "AB123"), lane3).ok());
  auto updated = ReceiveTopic(*client, "crossing.updated", 5s);
  REQUIRE(updated.has_value());
  CHECK(updated->envelope.crossing_id == id);
  CHECK(Body(*updated)["plates"][0]["reads"] == 2);

  // Another process holds the write lock for 2 s.
  auto locker = LockSqliteFile(dir, db, 2.0, &why);
  REQUIRE_MESSAGE(locker, why);

  // The next vehicle: the reloaded crossing closes, a new one opens; the bus goes on.
  REQUIRE(client->Publish("scanner.plate.read", PlateRead("CD 456", "CD456"), lane3).ok());
  auto closed = ReceiveTopic(*client, "crossing.closed", 5s);
  REQUIRE(closed.has_value());
  CHECK(closed->envelope.crossing_id == id);
  CHECK(Body(*closed)["close_reason"] == "next_vehicle");
  auto opened = ReceiveTopic(*client, "crossing.opened", 5s);
  REQUIRE(opened.has_value());
  const std::string id2 = opened->envelope.crossing_id;
  auto alert = ReceiveTopic(*client, "alert.raised", 5s);
  REQUIRE(alert.has_value());
  CHECK(Body(*alert)["source"] == "crossings");
  CHECK(Contains(Body(*alert)["reason"].get<std::string>(), "locked"));
  REQUIRE(locker->WaitFor(10s).has_value());

  // Once the lock is gone the retry writes both crossings.
  REQUIRE_MESSAGE(site.WaitForLog("writable again", 10s), site.Log());
  int code = -1;
  std::string out = RunTool(dir, {"search", "--db", db, "--lane", "lane-3"}, &code);
  CHECK(code == 0);
  CHECK_MESSAGE(Contains(out, id + "  lane-3  closed (next_vehicle)"), out);
  CHECK(Contains(out, id2 + "  lane-3  open"));
  client.reset();
  auto exit = site.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), site.Log());
}

TEST_CASE("crossings refuses bad settings, naming the setting") {
  TempDir dir;
  HostProcess site(dir, HostSection(dir) +
                            PluginSection("crossings", SitePlugin("crossings"),
                                          "path = " + dir.File("c.db") + "\nidle_timeout_s = 0"));
  std::string why;
  CHECK_FALSE(site.WaitReady(10s, &why));
  CHECK_MESSAGE(Contains(site.Log(), "setting 'idle_timeout_s' must be between 1 and 86400"),
                site.Log());
  TempDir dir2;
  HostProcess site2(dir2, HostSection(dir2) +
                              PluginSection("crossings", SitePlugin("crossings"),
                                            "path = " + dir2.File("c.db") + "\ncheckpoint_ms = 10"));
  CHECK_FALSE(site2.WaitReady(10s, &why));
  CHECK_MESSAGE(Contains(site2.Log(), "setting 'checkpoint_ms' must be 0 (the writer "
                                      "checkpoints) or at least 50, got 10"),
                site2.Log());
}

}  // TEST_SUITE
}  // namespace
}  // namespace kordon::testing
