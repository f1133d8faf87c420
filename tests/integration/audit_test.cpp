// The audit log with the real kordon-host: the audit plugin (itself signed, require_signed =
// true) records officer decisions and overrides, alert acknowledgements, the host's start (with
// its configuration's hash) and a plugin refused for its signature; `kordon audit verify`
// finds the chain intact with signed checkpoints, then names the first broken record after a
// body is edited, a middle record deleted, two records swapped, and records removed from the
// end — each done with sqlite3 on a copy of the file, as an intruder would. And a file another
// writer holds: records wait in memory, in order, and only those past the limit are lost.
#include <signal.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

namespace fs = std::filesystem;

// A copy of the audit log with `sql` applied (the append-only triggers dropped first).
std::string TamperedCopy(const TempDir& dir, const std::string& log, const std::string& name,
                         const std::string& sql) {
  const std::string copy = dir.File(name);
  fs::copy_file(log, copy);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(copy.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const std::string all = "DROP TRIGGER audit_records_append_only_u;"
                          "DROP TRIGGER audit_records_append_only_d;" + sql;
  const int rc = sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err);
  CHECK_MESSAGE(rc == SQLITE_OK, (err != nullptr ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  return copy;
}

}  // namespace

TEST_SUITE("audit") {

TEST_CASE("the audit log chains what officers did; verify names the first broken record") {
  TempDir dir;
  std::string out, err;
  for (const char* key : {"vendor", "auditkey"})
    REQUIRE_MESSAGE(RunKordon(dir, {"keys", "generate-signing", "--out", dir.File(key)}, &out,
                              &err) == 0, err);
  fs::copy_file(SitePlugin("audit"), dir.File("audit.so"));
  fs::copy_file(TestPlugin("test_c_echo"), dir.File("echo.so"));  // left unsigned
  REQUIRE(RunKordon(dir, {"plugin", "sign", dir.File("audit.so"), "--key",
                          dir.File("vendor.sign.key")}, &out, &err) == 0);
  const std::string log = dir.File("audit.sqlite");
  HostProcess host(dir,
                   HostSection(dir, "on_plugin_error = skip\nrequire_signed = true\n"
                                    "vendor_keys = " + dir.File("vendor.sign.pub")) +
                       PluginSection("audit", dir.File("audit.so"),
                                     "path = " + log + "\ncheckpoint_every = 5\n"
                                     "checkpoint_key = " + dir.File("auditkey.sign.key")) +
                       PluginSection("echo", dir.File("echo.so")));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(15s, &why), why);
  CHECK(host.ready().instances == std::vector<std::string>{"audit"});
  auto client = ConnectClient(host.ready(), {"audit"}, &why);
  REQUIRE_MESSAGE(client, why);
  for (int i = 1; i <= 4; ++i) {
    host::ClientPublishOptions o;
    o.lane = "lane-" + std::to_string(i);
    o.crossing_id = "C" + std::to_string(i);
    REQUIRE(client->Publish("officer.decision",
                            R"({"decision":"release","officer":"ana","n":)" + std::to_string(i) +
                                "}", o).ok());
  }
  REQUIRE(client->Publish("officer.override", R"({"officer":"ana","n":5})").ok());
  REQUIRE(client->Publish("officer.override", R"({"officer":"ben","n":6})").ok());
  REQUIRE(client->Publish("alert.acknowledged", R"({"alert_id":"a1","n":7})").ok());
  REQUIRE(client->Publish("test.ignored", R"({"n":8})").ok());
  // plugin.status (audit running, echo refused) + host.started + 7 = 10 records: checkpoints at
  // seq 5 and 10 (the one at stop finds the head checkpointed already).
  auto cp = ReceiveTopic(*client, "audit.checkpoint", 10s, [](const host::BusMessage& m) {
    return nlohmann::json::parse(m.body).value("seq", 0) == 10;
  });
  REQUIRE_MESSAGE(cp.has_value(), host.Log());
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
  INFO(host.Log());
  CHECK(Contains(host.Log(), "audit: 10 records appended (head seq 10), write failures 0"));

  const std::string pub = dir.File("auditkey.sign.pub");
  CHECK(RunKordon(dir, {"audit", "verify", log, "--key", pub}, &out, &err) == 0);
  CHECK_MESSAGE(Contains(out, "10 records, chain intact"), (out + err));
  CHECK(Contains(out, "the last at seq 10"));
  CHECK(Contains(out, "signed by key"));

  REQUIRE(RunKordon(dir, {"audit", "show", log, "--topic", "officer.decision", "--json"}, &out,
                    &err) == 0);
  std::vector<std::string> lines;
  for (const std::string& line : Lines(out))
    if (!line.empty()) lines.push_back(line);
  REQUIRE(lines.size() == 4);
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["lane"] == "lane-1");
  CHECK(first["crossing_id"] == "C1");
  CHECK(first["body"]["n"] == 1);
  REQUIRE(RunKordon(dir, {"audit", "show", log}, &out, &err) == 0);
  CHECK(Contains(out, "plugin.status"));
  CHECK(Contains(out, "\"refused\""));
  CHECK(Contains(out, "host.started"));
  CHECK(Contains(out, "config_blake2b"));
  CHECK_FALSE(Contains(out, "test.ignored"));

  struct Tamper {
    std::string what, sql;
    std::vector<std::string> fragments;
  };
  for (const Tamper& t :
       {Tamper{"a body edited", "UPDATE audit_records SET body='{\"n\":99}' WHERE seq=5",
               {"BROKEN at seq 5", "hash mismatch"}},
        Tamper{"a middle record deleted", "DELETE FROM audit_records WHERE seq=4",
               {"BROKEN at seq 4", "missing seq 4"}},
        Tamper{"two records swapped",
               "CREATE TEMP TABLE t AS SELECT * FROM audit_records WHERE seq IN (6,7);"
               "DELETE FROM audit_records WHERE seq IN (6,7);"
               "INSERT INTO audit_records SELECT 13 - seq, time_us, topic, source, lane, "
               "crossing_id, body, prev_hash, hash FROM t;",
               {"BROKEN at seq 6"}},
        Tamper{"records removed from the end", "DELETE FROM audit_records WHERE seq > 7",
               {"BROKEN at seq 8", "records removed from the end"}}}) {
    CAPTURE(t.what);
    const std::string copy = TamperedCopy(dir, log, "t" + std::to_string(t.sql.size()) +
                                                        ".sqlite", t.sql);
    CHECK(RunKordon(dir, {"audit", "verify", copy, "--key", pub}, &out, &err) == 2);
    for (const std::string& f : t.fragments) CHECK_MESSAGE(Contains(out, f), out);
  }
}

TEST_CASE("a locked audit log keeps records in memory, in order, and loses only past the limit") {
  // A second writer holds the file (as a backup tool or a full disk would stop the writes):
  // records wait in memory and are retried; past pending_limit a new record is lost, said on
  // the bus; once the file can be written again the waiting ones land in order, chained.
  TempDir dir;
  const std::string log = dir.File("audit.sqlite");
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("audit", SitePlugin("audit"),
                                          "path = " + log + "\npending_limit = 4\n"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(15s, &why), why);
  auto client = ConnectClient(host.ready(), {"audit"}, &why);
  REQUIRE_MESSAGE(client, why);
  auto decide = [&](int n) {
    REQUIRE(client->Publish("officer.decision",
                            R"({"decision":"cleared","officer":"ana","n":)" + std::to_string(n) +
                                "}").ok());
  };
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(log.c_str(), &db) == SQLITE_OK);
  auto decisions = [&] {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM audit_records WHERE topic = "
                                   "'officer.decision'", -1, &st, nullptr) == SQLITE_OK);
    const int count = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return count;
  };
  auto wait_for_decisions = [&](int count) {
    for (int i = 0; i < 200 && decisions() != count; ++i) std::this_thread::sleep_for(50ms);
    return decisions() == count;
  };
  decide(1);
  REQUIRE_MESSAGE(wait_for_decisions(1), host.Log());

  REQUIRE(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  for (int n = 2; n <= 7; ++n) decide(n);  // 2..5 wait, 6 and 7 are past the limit
  std::vector<host::BusMessage> errors;
  int lost = 0;
  auto last_lost = ReceiveTopic(*client, "audit.error", 40s, [&](const host::BusMessage& m) {
    errors.push_back(m);
    lost += nlohmann::json::parse(m.body).value("lost", false) ? 1 : 0;
    return lost == 2;
  });
  REQUIRE_MESSAGE(last_lost.has_value(), host.Log());
  const auto first = nlohmann::json::parse(errors.front().body);
  CHECK(first["lost"] == false);
  CHECK(Contains(first.value("error", ""), "retried every second"));
  const auto last = nlohmann::json::parse(last_lost->body);
  CHECK(last["pending"] == 4);
  CHECK(last["lost_total"] == 2);
  CHECK(Contains(last.value("error", ""), "record was lost"));
  CHECK(decisions() == 1);

  REQUIRE(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK_MESSAGE(wait_for_decisions(5), host.Log());  // the retry timer drains them
  sqlite3_close(db);
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
  INFO(host.Log());
  CHECK(Contains(host.Log(), "pending 0, lost 2"));
  CHECK_FALSE(Contains(host.Log(), "write failures 0"));

  std::string out, err;
  CHECK(RunKordon(dir, {"audit", "verify", log}, &out, &err) == 0);
  CHECK_MESSAGE(Contains(out, "chain intact"), (out + err));
  REQUIRE(RunKordon(dir, {"audit", "show", log, "--topic", "officer.decision", "--json"}, &out,
                    &err) == 0);
  std::vector<int> order;
  for (const std::string& line : Lines(out))
    if (!line.empty()) order.push_back(nlohmann::json::parse(line)["body"].value("n", 0));
  CHECK(order == std::vector<int>{1, 2, 3, 4, 5});
}

}  // TEST_SUITE("audit")

}  // namespace kordon::testing
