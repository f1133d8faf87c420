// The manifest plugin in a real kordon-host: a CSV imported at start, lines appended to the
// followed pre-arrival file (which does not exist when the host starts; a partial line waits
// for its newline; a bad line gives db.manifest.error and is skipped; an amendment says so),
// plate and container reads published from outside giving db.manifest.match / .unmatched
// with their lane and crossing, the db.manifest.lookup service over the bus, a locked
// database giving alert.raised while the followed manifest waits and is stored afterwards,
// and `kordon manifest import` of a bad file exiting non-zero and naming the line.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"
#include "sqlite_db.h"

namespace kordon::testing {
namespace {

using host::ClientPublishOptions;
using nlohmann::json;

json Body(const host::BusMessage& m) { return json::parse(m.body, nullptr, false); }

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text << std::flush;
}

// A pre-arrival line as the site simulator writes it (plugins/site-sim WriteManifest).
std::string Line(const std::string& number, const std::string& plate, double gross,
                 const std::string& container = "CSQU3054383") {
  json containers = json::array();
  if (!container.empty()) containers.push_back({{"code", container}, {"size_type", "45G1"}});
  return json({{"manifest", number}, {"lane", "lane-1"}, {"carrier", "Ак-Жол Транс"},
               {"plates", {plate}}, {"plate_country", "KG"}, {"containers", containers},
               {"consignor", "Ош Жибек"}, {"consignee", "ТОО Сауда"}, {"origin", "CN"},
               {"destination", "KZ"},
               {"goods", {{{"hs_code", "847130"}, {"description", "ноутбуки"}}}},
               {"declared_gross_kg", gross}})
             .dump();
}

std::optional<host::BusMessage> Ask(host::BusClient& client, const std::string& body,
                                    const std::string& reply_to) {
  ClientPublishOptions o;
  o.reply_to = reply_to;
  if (!client.Publish("rpc.db.manifest.lookup", body, o).ok()) return std::nullopt;
  return ReceiveTopic(client, reply_to, 5s);
}

TEST_SUITE("manifest") {

TEST_CASE("manifest follows the pre-arrival file, matches reads, answers lookups") {
  TempDir dir;
  const std::string db = dir.File("manifests.db");
  const std::string follow = dir.File("pre-arrival.jsonl");
  HostProcess site(dir, HostSection(dir) +
                            PluginSection("manifest", SitePlugin("manifest"),
                                          "path = " + db + "\nimport = " +
                                              SourcePath("tests/manifest/fixtures/good.csv") +
                                              "\nfollow = " + follow +
                                              "\npoll_ms = 50\nbusy_timeout_ms = 100"));
  std::string why;
  REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
  CHECK(Contains(site.Log(), "imported 2 manifests from"));
  auto client = ConnectClient(site.ready(), {"db.manifest", "client.reply", "alert"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);

  // The file appears with one line and half of the next.
  Append(follow, Line("KG-2026-000123", "01KG123ABC", 24870) + "\n{\"manifest\": ");
  auto lodged = ReceiveTopic(*client, "db.manifest.lodged", 5s);
  REQUIRE_MESSAGE(lodged.has_value(), site.Log());
  json l = Body(*lodged);
  CHECK(l["manifest"]["manifest"] == "KG-2026-000123");
  CHECK(l["manifest"]["revision"] == 1);
  CHECK(l["amended"] == false);
  CHECK(l["plates"] == json::array({"01KG123ABC"}));
  CHECK(l["containers"] == json::array({"CSQU3054383"}));
  CHECK(l["file"] == follow);
  CHECK(l["line"] == 1);
  CHECK(lodged->envelope.lane == "lane-1");

  // The rest of the bad line: an error naming the line; the next good line is stored.
  Append(follow, "\"KG-X\", \"declared_gross_kg\": 1}\n" +
                     Line("KG-2026-000123", "01KG123ABC", 26000) + "\n");
  std::vector<host::BusMessage> skipped;
  auto error = ReceiveTopic(*client, "db.manifest.error", 5s, nullptr, &skipped);
  REQUIRE_MESSAGE(error.has_value(), site.Log());
  json e = Body(*error);
  CHECK(e["file"] == follow);
  CHECK(e["line"] == 2);
  CHECK(e["reason"] == "goods is required (at least one goods line)");
  CHECK(e["manifest"] == "KG-X");
  lodged = ReceiveTopic(*client, "db.manifest.lodged", 5s);
  REQUIRE_MESSAGE(lodged.has_value(), site.Log());
  l = Body(*lodged);
  CHECK(l["amended"] == true);
  CHECK(l["line"] == 3);
  CHECK(l["manifest"]["revision"] == 2);
  CHECK(l["manifest"]["declared_gross_kg"] == 26000);

  // A plate read: the (amended) manifest, with the read's lane and crossing.
  ClientPublishOptions options;
  options.lane = "lane-1";
  options.crossing_id = "CR-0001";
  auto plate_id = client->Publish(
      "scanner.plate.read",
      R"({"camera": "cam1", "raw": "01 KG 123 ABC", "plate": "01KG123ABC", "country": "KG"})",
      options);
  REQUIRE(plate_id.ok());
  auto match = ReceiveTopic(*client, "db.manifest.match", 5s);
  REQUIRE_MESSAGE(match.has_value(), site.Log());
  CHECK(match->envelope.lane == "lane-1");
  CHECK(match->envelope.crossing_id == "CR-0001");
  json mb = Body(*match);
  CHECK(mb["matched_by"] == "plate");
  CHECK(mb["value"] == "01KG123ABC");
  CHECK(mb["source_id"] == *plate_id);
  CHECK(mb["source_topic"] == "scanner.plate.read");
  CHECK(mb["manifest"]["manifest"] == "KG-2026-000123");
  CHECK(mb["manifest"]["declared_gross_kg"] == 26000);
  CHECK(mb["manifest"]["consignor"] == "Ош Жибек");

  // A container read of the imported CSV's manifest.
  options.lane = "lane-2";
  options.crossing_id = "CR-0002";
  auto container_id = client->Publish(
      "scanner.container.read",
      R"({"code": "TGHU9876542", "raw": "TGHU 987654 2", "valid": true, "repaired_valid": false})",
      options);
  REQUIRE(container_id.ok());
  match = ReceiveTopic(*client, "db.manifest.match", 5s);
  REQUIRE_MESSAGE(match.has_value(), site.Log());
  CHECK(match->envelope.crossing_id == "CR-0002");
  mb = Body(*match);
  CHECK(mb["matched_by"] == "container");
  CHECK(mb["source_id"] == *container_id);
  CHECK(mb["manifest"]["manifest"] == "KG-2026-000200");
  CHECK(mb["manifest"]["goods"].size() == 2);

  // A plate with no manifest; a container code that does not validate.
  auto none_id = client->Publish(
      "scanner.plate.read", R"({"camera": "cam1", "raw": "X", "plate": "01KG999ZZZ"})", options);
  REQUIRE(none_id.ok());
  auto unmatched = ReceiveTopic(*client, "db.manifest.unmatched", 5s);
  REQUIRE_MESSAGE(unmatched.has_value(), site.Log());
  CHECK(unmatched->envelope.crossing_id == "CR-0002");
  CHECK(Body(*unmatched)["value"] == "01KG999ZZZ");
  CHECK(Body(*unmatched)["source_id"] == *none_id);
  auto bad_id = client->Publish("scanner.container.read",
                                R"({"code": "MSCU1234565", "valid": false})", options);
  REQUIRE(bad_id.ok());
  error = ReceiveTopic(*client, "db.manifest.error", 5s);
  REQUIRE_MESSAGE(error.has_value(), site.Log());
  CHECK(Body(*error)["source_id"] == *bad_id);
  CHECK(Body(*error)["file"] == "");
  CHECK(Contains(Body(*error)["reason"].get<std::string>(), "expected 6, found 5"));

  // The service, with any spelling of a plate; a bad request gets an error reply.
  auto reply = Ask(*client, R"({"plate": "01 kg 123-abc"})", "client.reply.m1");
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK((reply->envelope.flags & host::kFlagErrorReply) == 0);
  json r = Body(*reply);
  REQUIRE(r["manifests"].size() == 1);
  CHECK(r["manifests"][0]["manifest"] == "KG-2026-000123");
  CHECK(r["manifests"][0]["revision"] == 2);
  reply = Ask(*client, R"({"manifest": "KZ-2026-000201"})", "client.reply.m2");
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK(Body(*reply)["manifests"][0]["plates"] == json::array({"A123BC", "01KG201BBB"}));
  reply = Ask(*client, R"({"colour": "red"})", "client.reply.m3");
  REQUIRE_MESSAGE(reply.has_value(), site.Log());
  CHECK((reply->envelope.flags & host::kFlagErrorReply) != 0);
  CHECK(Body(*reply)["error"] == "unknown member 'colour' (plate, container or manifest)");

  // A locked database: an alert, the followed manifest waits and is stored once it is free.
  {
    sqlite::DbStatus s;
    auto locker = sqlite::Db::Open(db, {}, &s);
    REQUIRE_MESSAGE(locker != nullptr, s.message);
    REQUIRE(locker->Exec("BEGIN IMMEDIATE").ok());
    Append(follow, Line("KG-2026-000124", "01KG124ABC", 20000, "") + "\n");
    auto alert = ReceiveTopic(*client, "alert.raised", 5s);
    REQUIRE_MESSAGE(alert.has_value(), site.Log());
    CHECK(Body(*alert)["severity"] == "critical");
    CHECK(Contains(Body(*alert)["reason"].get<std::string>(), "the manifest database is locked"));
    REQUIRE(locker->Exec("COMMIT").ok());
  }
  lodged = ReceiveTopic(*client, "db.manifest.lodged", 5s);
  REQUIRE_MESSAGE(lodged.has_value(), site.Log());
  CHECK(Body(*lodged)["manifest"]["manifest"] == "KG-2026-000124");
  CHECK(Body(*lodged)["line"] == 4);

  // `kordon manifest import` of a bad file: exit 2, the line and the reason, nothing stored.
  std::string out, err;
  CHECK(RunKordon(dir, {"manifest", "import", SourcePath("tests/manifest/fixtures/bad.csv"),
                      "--db", db},
                &out, &err) == 2);
  CHECK_MESSAGE(Contains(err, "bad.csv: line 2: manifest KG-1: container 'MSCU1234565': wrong "
                              "check digit 5, expected 6"),
                err);
  CHECK_MESSAGE(Contains(err, "bad.csv: line 6: manifest KG-4: carrier"), err);
  CHECK(RunKordon(dir, {"manifest", "lookup", "--db", db, "--manifest", "KG-4"}, &out, &err) == 4);
  CHECK(RunKordon(dir, {"manifest", "lookup", "--db", db, "--container", "CSQU3054383", "--json"},
                &out, &err) == 0);
  CHECK_MESSAGE(Contains(out, "\"manifest\":\"KG-2026-000123\""), out);

  client.reset();
  auto exit = site.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), site.Log());
  CHECK_MESSAGE(Contains(site.Log(), "looked up 3 (matched 2, unmatched 1), requests 3, lodged 3 "
                                     "(amended 1, unchanged 0), bad lines 1"),
                site.Log());
}

TEST_CASE("manifest refuses to start on a malformed import file, naming the line") {
  TempDir dir;
  HostProcess site(dir, HostSection(dir) +
                            PluginSection("manifest", SitePlugin("manifest"),
                                          "path = " + dir.File("m.db") + "\nimport = " +
                                              SourcePath("tests/manifest/fixtures/bad.jsonl")));
  std::string why;
  CHECK_FALSE(site.WaitReady(10s, &why));
  CHECK_MESSAGE(Contains(site.Log(), "bad.jsonl: line 2: declared_gross_kg 250000 kg is not "
                                     "plausible"),
                site.Log());
}

}  // TEST_SUITE
}  // namespace
}  // namespace kordon::testing
