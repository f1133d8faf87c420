// The watchlist plugin in a real kordon-host: a database seeded from the demo CSV at start,
// document and plate reads published from outside giving db.watchlist.hit with their lane and
// crossing, the db.watchlist.check service over the bus, bad inputs giving db.watchlist.error
// and error replies, and `kordon watchlist import` while the host runs: a malformed file
// changes nothing, a good one is picked up without a restart.
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

std::string Correlation(const host::BusMessage& m) {
  return host::IsZeroId(m.envelope.correlation_id) ? "" : host::IdToHex(m.envelope.correlation_id);
}

const char kTraveller[] = R"({"format": "TD3", "valid": true, "document_code": "P",
  "issuing_state": "KGZ", "document_number": "AN9876543", "nationality": "KGZ",
  "birth_date": "1981-02-14", "sex": "M", "expiry_date": "2030-01-01",
  "primary_identifier": "TOKTOGULOV", "secondary_identifier": "NURLAN", "checks": [],
  "repairs": [], "problems": [], "mrz": "", "reader": "desk1"})";

const char kCleanTraveller[] = R"({"format": "TD3", "valid": true, "document_code": "P",
  "issuing_state": "KAZ", "document_number": "N99999999", "nationality": "KAZ",
  "birth_date": "1990-01-01", "sex": "F", "expiry_date": "2030-01-01",
  "primary_identifier": "ABENOVA", "secondary_identifier": "DANA", "checks": [],
  "repairs": [], "problems": [], "mrz": "", "reader": "desk1"})";

// Runs `kordon watchlist import DB FILE --list LIST`; returns the exit code (-1: no exit).
int RunImport(const TempDir& dir, const std::string& db, const std::string& file,
              const std::string& list, std::string* err) {
  return RunKordon(dir, {"watchlist", "import", db, file, "--list", list}, nullptr, err);
}

// A db.watchlist.check request; the reply (or nullopt).
std::optional<host::BusMessage> Ask(host::BusClient& client, const std::string& body,
                                    const std::string& reply_to, std::string* id) {
  ClientPublishOptions o;
  o.reply_to = reply_to;
  auto sent = client.Publish("rpc.db.watchlist.check", body, o);
  if (!sent.ok()) return std::nullopt;
  *id = *sent;
  return ReceiveTopic(client, reply_to, 5s);
}

TEST_SUITE("watchlist") {

TEST_CASE("watchlist screens documents and plates, answers checks and survives bad imports") {
  TempDir dir;
  const std::string db = dir.File("watchlist.db");
  HostProcess site(dir, HostSection(dir) +
                            PluginSection("watchlist", SitePlugin("watchlist"),
                                          "path = " + db + "\nimport = " +
                                              SourcePath("config/demo-watchlist.csv") +
                                              "\nimport_list = demo\npoll_ms = 200"));
  std::string why;
  REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
  auto client = ConnectClient(site.ready(), {"db.watchlist", "client.reply"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  // A listed traveller: a hit with the read's lane and crossing.
  ClientPublishOptions options;
  options.lane = "lane-4";
  options.crossing_id = "CR-0001";
  auto doc_id = client->Publish("scanner.document.read", kTraveller, options);
  REQUIRE(doc_id.ok());
  auto hit = ReceiveTopic(*client, "db.watchlist.hit", 5s);
  REQUIRE_MESSAGE(hit.has_value(), site.Log());
  CHECK(hit->envelope.lane == "lane-4");
  CHECK(hit->envelope.crossing_id == "CR-0001");
  json h = Body(*hit);
  CHECK(h["source_id"] == *doc_id);
  CHECK(h["source_topic"] == "scanner.document.read");
  CHECK(h["subject"]["kind"] == "person");
  CHECK(h["subject"]["primary_identifier"] == "TOKTOGULOV");
  CHECK(h["entry"]["list"] == "demo");
  CHECK(h["entry"]["id"] == "P-001");
  CHECK(h["entry"]["dob"] == json::array({"1981-02-14"}));
  CHECK(h["score"].get<double>() == doctest::Approx(1.0));
  CHECK(h["explanation"].get<std::string>().find("surname TOKTOGULOV = TOKTOGULOV") == 0);

  // A listed plate.
  options.lane = "lane-1";
  options.crossing_id = "CR-0002";
  auto plate_id = client->Publish(
      "scanner.plate.read",
      R"({"camera": "cam1", "raw": "01 KG 777 AAA", "plate": "01KG777AAA", "country": "KG"})",
      options);
  REQUIRE(plate_id.ok());
  hit = ReceiveTopic(*client, "db.watchlist.hit", 5s);
  REQUIRE_MESSAGE(hit.has_value(), site.Log());
  CHECK(hit->envelope.lane == "lane-1");
  CHECK(hit->envelope.crossing_id == "CR-0002");
  h = Body(*hit);
  CHECK(h["source_id"] == *plate_id);
  CHECK(h["subject"]["kind"] == "vehicle");
  CHECK(h["entry"]["id"] == "V-001");

  // A clean traveller gives nothing; a malformed read gives db.watchlist.error.
  REQUIRE(client->Publish("scanner.document.read", kCleanTraveller, options).ok());
  auto bad_id = client->Publish("scanner.document.read", R"({"primary_identifier": 7})", options);
  REQUIRE(bad_id.ok());
  std::vector<host::BusMessage> skipped;
  auto error = ReceiveTopic(*client, "db.watchlist.error", 5s, nullptr, &skipped);
  REQUIRE_MESSAGE(error.has_value(), site.Log());
  CHECK(Body(*error)["source_id"] == *bad_id);
  CHECK(Body(*error)["reason"] == "'primary_identifier' must be a string");
  CHECK(skipped.empty());  // no hit for the clean traveller (published before the bad one)

  // The service: a hit for a variant spelling, an error reply for a bad request.
  std::string id;
  auto reply = Ask(*client, R"({"name": "Nurlan Toktogoulov", "birth_date": "1981-02-14"})",
                   "client.reply.w1", &id);
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK(Correlation(*reply) == id);
  CHECK((reply->envelope.flags & host::kFlagErrorReply) == 0);
  json r = Body(*reply);
  REQUIRE(r["hits"].size() == 1);
  CHECK(r["hits"][0]["entry"]["id"] == "P-001");
  reply = Ask(*client, R"({"nmae": "X"})", "client.reply.w2", &id);
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK((reply->envelope.flags & host::kFlagErrorReply) != 0);
  CHECK(Body(*reply)["error"].get<std::string>().find("unknown member 'nmae'") == 0);

  // A malformed import while the host runs: refused, naming the line; nothing changes.
  WriteFile(dir.File("bad.csv"), "id,kind,names,birth_dates\nN1,person,ABENOVA DANA,1990\n"
                                 "N2,person,X Y,1990-02-30\n");
  std::string err;
  CHECK(RunImport(dir, db, dir.File("bad.csv"), "demo", &err) == 2);
  CHECK_MESSAGE(Contains(err, "bad.csv: line 3: birth date '1990-02-30'"), err);
  std::this_thread::sleep_for(500ms);  // more than a poll
  reply = Ask(*client, R"({"name": "TOKTOGULOV NURLAN"})", "client.reply.w3", &id);
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK(Body(*reply)["hits"].size() == 1);
  reply = Ask(*client, R"({"name": "ABENOVA DANA"})", "client.reply.w4", &id);
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK(Body(*reply)["hits"].empty());

  // A good import of another list: the plugin reloads without a restart.
  WriteFile(dir.File("good.csv"), "id,kind,names,birth_dates\nN1,person,ABENOVA DANA,1990\n");
  CHECK(RunImport(dir, db, dir.File("good.csv"), "local", &err) == 0);
  REQUIRE_MESSAGE(site.WaitForLog("watchlist loaded: 25 entries", 5s), site.Log());
  reply = Ask(*client, R"({"name": "Абенова Дана", "birth_date": "1990-01-01"})",
              "client.reply.w5", &id);
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  r = Body(*reply);
  REQUIRE(r["hits"].size() == 1);
  CHECK(r["hits"][0]["entry"]["list"] == "local");
  CHECK(r["hits"][0]["score"].get<double>() == doctest::Approx(0.95));

  client.reset();
  auto exit = site.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), site.Log());
  CHECK(Contains(site.Log(), "checked 3 (documents and plates), hits 2"));
}

TEST_CASE("watchlist refuses to start on a malformed import file, naming the line") {
  TempDir dir;
  WriteFile(dir.File("bad.csv"), "id,kind\nX,ship\n");
  HostProcess site(dir, HostSection(dir) +
                            PluginSection("watchlist", SitePlugin("watchlist"),
                                          "path = " + dir.File("w.db") + "\nimport = " +
                                              dir.File("bad.csv")));
  std::string why;
  CHECK_FALSE(site.WaitReady(10s, &why));
  CHECK_MESSAGE(Contains(site.Log(), "bad.csv: line 2: kind 'ship' is not person"), site.Log());
}

}  // TEST_SUITE
}  // namespace
}  // namespace kordon::testing
