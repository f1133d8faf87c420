// The journal plugin in a real kordon-host: a bus client publishes through ingress, the
// journal commits and acknowledges (journal.committed), and `kordon journal query/export/
// check` read the file — while the host runs and after it stopped. A file locked by another
// process gives alert.raised, and the rows arrive once the lock goes. Suite "journal-kill":
// the host is killed (SIGKILL) mid-stream again and again; every acknowledged message must be
// in the file after a restart.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "envelope.h"
#include "host_harness.h"
#include "journal_store.h"

namespace kordon::testing {
namespace {

std::string JournalConfig(const TempDir& dir, const std::string& db, const std::string& extra) {
  return HostSection(dir) +
         PluginSection("journal", SitePlugin("journal"), "path = " + db + "\n" + extra);
}

// Runs `kordon journal ...` to completion (bounded); returns its exit status, *out its stdout.
ExitStatus RunJournalTool(const TempDir& dir, const std::vector<std::string>& args,
                          std::string* out) {
  std::vector<std::string> argv = {ToolBinary(), "journal"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string why;
  auto child = ChildProcess::Spawn(argv, dir.File("tool.out"), dir.File("tool.err"), &why);
  REQUIRE_MESSAGE(child, why);
  std::optional<ExitStatus> st = child->WaitFor(20s);
  if (!st) st = child->Kill();
  *out = child->ReadStdout();
  INFO("kordon journal stderr: " << child->ReadStderr());
  return *st;
}

// Waits for a journal.committed whose per-source last id for `source` is `id`.
bool WaitAcked(host::BusClient& client, const std::string& source, const std::string& id,
               std::chrono::milliseconds timeout) {
  return ReceiveTopic(client, "journal.committed", timeout, [&](const host::BusMessage& m) {
           nlohmann::json j = nlohmann::json::parse(m.body, nullptr, false);
           return j.is_object() && j.contains("sources") &&
                  j["sources"].value(source, "") == id;
         }).has_value();
}

std::string Body(int n) {
  nlohmann::json j;
  j["n"] = n;
  j["plate"] = "01KG" + std::to_string(100 + n % 800) + "ABC";
  j["confidence"] = 0.97;
  j["camera"] = "lane1-front";
  j["note"] = std::string(180, 'x');
  return j.dump();
}

TEST_SUITE("journal") {

TEST_CASE("journal records what the bus carries; kordon journal query/export/check read it") {
  TempDir dir;
  const std::string db = dir.File("journal.db");
  HostProcess host(dir, JournalConfig(dir, db, "batch_ms = 20\ncache_mib = 3\n"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  CHECK_MESSAGE(Contains(host.Log(), "(synchronous=full, page cache 3 MiB, last seq 0)"),
                host.Log());
  auto client = ConnectClient(host.ready(), {"journal"}, &why, "journal-test");
  REQUIRE_MESSAGE(client, why);

  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    host::ClientPublishOptions o;
    o.lane = i % 2 == 0 ? "lane1" : "lane2";
    o.crossing_id = "c-" + std::to_string(i % 5);
    auto id = client->Publish(i % 3 == 0 ? "officer.decision" : "scanner.plate.read", Body(i), o);
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  INFO("host log:\n" << host.Log());
  REQUIRE(WaitAcked(*client, "journal-test", ids.back(), 10s));

  // While the host runs (and holds the file open for writing): read-only queries work.
  std::string out;
  CHECK(RunJournalTool(dir, {"query", db, "--lane", "lane1", "--json"}, &out).ExitedWith(0));
  std::vector<std::string> lines = Lines(out);
  int lane1 = 0;
  for (const std::string& line : lines) {
    auto m = host::BusMessage::FromJson(nlohmann::json::parse(line, nullptr, false));
    REQUIRE_MESSAGE(m.ok(), line);
    CHECK(m->envelope.lane == "lane1");
    if (m->envelope.source == "journal-test") ++lane1;
  }
  CHECK(lane1 == 30);

  CHECK(RunJournalTool(dir, {"query", db, "--crossing", "c-3", "--topic", "scanner", "--since",
                             "-10m"},
                       &out)
            .ExitedWith(0));
  lines = Lines(out);
  CHECK(lines.size() == 8);  // i % 5 == 3 (12 of them) less those with i % 3 == 0 (4)
  for (const std::string& line : lines) {
    CHECK(Contains(line, " scanner.plate.read lane="));
    CHECK(Contains(line, " crossing=c-3 from=journal-test {"));
  }
  CHECK(RunJournalTool(dir, {"query", db, "--since", "-10m", "--until", "-9m"}, &out)
            .ExitedWith(0));
  CHECK(out.empty());
  CHECK(RunJournalTool(dir, {"query", db, "--since", "yesterday"}, &out).ExitedWith(1));

  // Export round-trips through BusMessage::FromJson, in publication order, bodies intact.
  const std::string exported = dir.File("export.jsonl");
  CHECK(RunJournalTool(dir, {"export", db, "-o", exported}, &out).ExitedWith(0));
  std::vector<std::string> seen;
  for (const std::string& line : Lines(ReadFileOrEmpty(exported))) {
    auto m = host::BusMessage::FromJson(nlohmann::json::parse(line, nullptr, false));
    REQUIRE_MESSAGE(m.ok(), line);
    CHECK(m->topic != "journal.committed");
    if (m->envelope.source != "journal-test" || m->topic == "client.sync") continue;
    const int n = static_cast<int>(seen.size());
    CHECK(nlohmann::json::parse(m->body) == nlohmann::json::parse(Body(n)));
    CHECK(m->envelope.crossing_id == "c-" + std::to_string(n % 5));
    seen.push_back(host::IdToHex(m->envelope.id));
  }
  CHECK(seen == ids);

  CHECK(RunJournalTool(dir, {"check", db}, &out).ExitedWith(0));
  CHECK(Contains(out, "integrity_check: ok"));

  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
  CHECK(Contains(host.Log(), "[journal] journal: received "));
  CHECK(Contains(host.Log(), "commit errors 0"));

  // Retention through the tool: a dry run counts and deletes nothing; then everything older
  // than now goes, and the file is still a sound journal.
  CHECK(RunJournalTool(dir, {"check", db}, &out).ExitedWith(0));
  const size_t at = out.find("rows: ");
  REQUIRE(at != std::string::npos);
  const std::string rows = out.substr(at + 6, out.find('\n', at) - at - 6);
  CHECK(std::stoi(rows) > 60);
  CHECK(RunJournalTool(dir, {"retention", db, "--older-than", "0s", "--dry-run"}, &out)
            .ExitedWith(0));
  CHECK(Contains(out, "would delete " + rows + " row(s)"));
  CHECK(RunJournalTool(dir, {"retention", db, "--older-than", "0s", "--chunk", "7"}, &out)
            .ExitedWith(0));
  CHECK(Contains(out, "deleted " + rows + " row(s) by age"));
  CHECK(RunJournalTool(dir, {"check", db}, &out).ExitedWith(0));
  CHECK(Contains(out, "rows: 0"));
  CHECK(RunJournalTool(dir, {"retention", db}, &out).ExitedWith(1));
}

// A journal of kordon 1.0 (format 1: TEXT ids, no user_version): `kordon journal query`
// refuses it and says how to migrate; the journal plugin started on it migrates it; then the
// old rows read back exactly as before (ids as the same hex), after the new ones' seqs.
TEST_CASE("a format-1 journal is refused read-only and migrated when the journal opens it") {
  TempDir dir;
  const std::string db = dir.File("old.db");
  const std::vector<std::string> old_ids = {"3a01c6f1c9cd86bc0000000000000001",
                                            "3a01c6f1c9cd86bc0000000000000002",
                                            "legacy-text-id"};
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    std::string sql =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, correlation_id TEXT "
        "NOT NULL, time_us INTEGER NOT NULL, recv_us INTEGER NOT NULL, topic TEXT NOT NULL, "
        "source TEXT NOT NULL, lane TEXT NOT NULL, crossing_id TEXT NOT NULL, schema TEXT NOT "
        "NULL, schema_version INTEGER NOT NULL, reply_to TEXT NOT NULL, flags INTEGER NOT NULL, "
        "body TEXT NOT NULL);"
        "CREATE UNIQUE INDEX messages_id ON messages (id);"
        "CREATE INDEX messages_crossing ON messages (crossing_id);"
        "CREATE INDEX messages_lane_time ON messages (lane, time_us);"
        "CREATE INDEX messages_topic_time ON messages (topic, time_us);";
    for (size_t i = 0; i < old_ids.size(); ++i)
      sql += "INSERT INTO messages VALUES (" + std::to_string(i + 1) + ", '" + old_ids[i] +
             "', '', " + std::to_string(1795829400000000LL + static_cast<int64_t>(i)) +
             ", 1795829400000100, 'scanner.plate.read', 'old-site', 'lane1', 'c-old', "
             "'scanner.plate.read', 1, '', 0, '{\"n\":" + std::to_string(i) + "}');";
    char* error = nullptr;
    const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error);
    CHECK_MESSAGE(rc == SQLITE_OK, (error != nullptr ? error : ""));
    sqlite3_free(error);
    sqlite3_close(raw);
  }
  std::string out;
  CHECK(RunJournalTool(dir, {"query", db}, &out).ExitedWith(3));
  CHECK(Contains(ReadFileOrEmpty(dir.File("tool.err")), "format 1"));

  {
    HostProcess host(dir, JournalConfig(dir, db, "batch_ms = 20\n"));
    std::string why;
    REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
    auto client = ConnectClient(host.ready(), {"journal"}, &why, "journal-test");
    REQUIRE_MESSAGE(client, why);
    host::ClientPublishOptions o;
    o.crossing_id = "c-old";
    auto id = client->Publish("scanner.plate.read", Body(7), o);
    REQUIRE(id.ok());
    INFO("host log:\n" << host.Log());
    REQUIRE(WaitAcked(*client, "journal-test", *id, 10s));
    CHECK(Contains(host.Log(), "last seq 3"));
    (void)host.StopWith(SIGTERM);
  }
  CHECK(RunJournalTool(dir, {"query", db, "--crossing", "c-old", "--json"}, &out)
            .ExitedWith(0));
  std::vector<std::string> lines = Lines(out);
  REQUIRE(lines.size() == 4);
  for (size_t i = 0; i < old_ids.size(); ++i) {
    auto m = host::BusMessage::FromJson(nlohmann::json::parse(lines[i], nullptr, false));
    // A text id that is not hex cannot become a bus message id; the hex ones read back as
    // they were written.
    if (old_ids[i].size() == 32) {
      REQUIRE_MESSAGE(m.ok(), lines[i]);
      CHECK(host::IdToHex(m->envelope.id) == old_ids[i]);
      CHECK(m->envelope.source == "old-site");
    }
  }
  CHECK(RunJournalTool(dir, {"check", db}, &out).ExitedWith(0));
  CHECK(Contains(out, "integrity_check: ok"));
}

TEST_CASE("journal refuses a relative path and a bad setting, naming it") {
  TempDir dir;
  HostProcess host(dir, JournalConfig(dir, "relative.db", ""));
  std::string why;
  CHECK_FALSE(host.WaitReady(10s, &why));
  CHECK(Contains(host.Log(), "setting 'path' must be absolute"));
  TempDir dir2;
  HostProcess host2(dir2, JournalConfig(dir2, dir2.File("j.db"), "synchronous = sometimes\n"));
  CHECK_FALSE(host2.WaitReady(10s, &why));
  CHECK(Contains(host2.Log(), "setting 'synchronous' must be full or normal"));
  TempDir dir3;
  HostProcess host3(dir3, JournalConfig(dir3, dir3.File("j.db"), "cache_mib = 0\n"));
  CHECK_FALSE(host3.WaitReady(10s, &why));
  CHECK_MESSAGE(Contains(host3.Log(), "setting 'cache_mib' must be between 1 and 4096, got 0"),
                host3.Log());
}

TEST_CASE("a locked journal file raises a critical alert; the rows arrive after the lock goes") {
  TempDir dir;
  const std::string db = dir.File("journal.db");
  HostProcess host(dir, JournalConfig(dir, db, "batch_ms = 20\nbusy_timeout_ms = 100\n"));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"journal", "alert"}, &why, "lock-test");
  REQUIRE_MESSAGE(client, why);

  // Another process takes the write lock and holds it for 2 s.
  auto locker = LockSqliteFile(dir, db, 2.0, &why);
  REQUIRE_MESSAGE(locker, why);

  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto id = client->Publish("scanner.plate.read", Body(i));
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  INFO("host log:\n" << host.Log());
  auto alert = ReceiveTopic(*client, "alert.raised", 5s, [](const host::BusMessage& m) {
    nlohmann::json j = nlohmann::json::parse(m.body, nullptr, false);
    return j.value("source", "") == "journal" && j.value("severity", "") == "critical";
  });
  REQUIRE(alert.has_value());
  CHECK(Contains(alert->body, "locked"));
  REQUIRE(WaitAcked(*client, "lock-test", ids.back(), 15s));
  CHECK(locker->WaitFor(5s).has_value());

  journal::StoreStatus status;
  auto store = journal::JournalStore::OpenReadOnly(db, &status);
  REQUIRE_MESSAGE(store, status.message);
  for (const std::string& id : ids) {
    bool found = false;
    REQUIRE(store->Contains(id, &found).ok());
    CHECK(found);
  }
  auto exit = host.StopWith(SIGTERM);
  REQUIRE(exit.has_value());
  CHECK(exit->ExitedWith(0));
  CHECK_FALSE(Contains(host.Log(), "commit errors 0"));
}

}  // TEST_SUITE("journal")

TEST_SUITE("journal-kill") {

// Repeats: start the host on the same file, publish a numbered stream as fast as the client
// can, follow the acknowledgements, SIGKILL the host at a random moment; after the restart
// every acknowledged message must be in the file and integrity_check must be ok.
TEST_CASE("every acknowledged message survives kill -9 of the host") {
  constexpr int kRounds = 8;
  TempDir data;
  const std::string db = data.File("journal.db");
  std::mt19937 rng(std::random_device{}());
  uint64_t total_acked = 0, total_published = 0;
  std::vector<std::vector<std::string>> published(kRounds);
  std::vector<size_t> acked(kRounds, 0);

  // Checks round `r`'s acknowledged ids against the file (the host of the next round has
  // opened it for writing, so the WAL has been recovered).
  auto verify = [&](int r) {
    journal::StoreStatus status;
    auto store = journal::JournalStore::OpenReadOnly(db, &status);
    REQUIRE_MESSAGE(store, status.message);
    size_t found = 0;
    for (size_t i = 0; i < acked[r]; ++i) {
      bool present = false;
      REQUIRE(store->Contains(published[r][i], &present).ok());
      found += present ? 1 : 0;
    }
    bool ok = false;
    std::string report;
    REQUIRE(store->IntegrityCheck(&ok, &report).ok());
    MESSAGE("round " << r + 1 << ": published " << published[r].size() << ", acknowledged "
                     << acked[r] << ", present " << found << ", lost " << acked[r] - found
                     << ", integrity " << report);
    CHECK(found == acked[r]);
    CHECK(ok);
  };

  for (int round = 0; round <= kRounds; ++round) {
    TempDir dir;
    HostProcess host(dir, JournalConfig(dir, db, "batch_ms = 10\n"));
    std::string why;
    REQUIRE_MESSAGE(host.WaitReady(15s, &why), why);
    if (round > 0) verify(round - 1);
    if (round == kRounds) break;
    // Another source name than the publisher's: its client.sync probes are journaled too.
    auto client = ConnectClient(host.ready(), {"journal.committed"}, &why, "kill-watch");
    REQUIRE_MESSAGE(client, why);

    std::vector<std::string>& ids = published[round];
    std::mutex mu;  // guards ids
    std::atomic<bool> stop{false};
    // The publisher: its own PUSH socket with linger 0 and a short send timeout, so that the
    // dead host never holds it (BusClient lingers 5 s to deliver, which is right elsewhere).
    std::thread publisher([&] {
      zmq::context_t ctx(1);
      zmq::socket_t push(ctx, zmq::socket_type::push);
      push.set(zmq::sockopt::linger, 0);
      push.set(zmq::sockopt::sndtimeo, 100);
      push.connect(host.ready().ingress);
      host::Envelope e;
      for (int n = 0; !stop;) {
        e = host::NewEnvelope("kill-test");
        e.lane = "lane" + std::to_string(n % 4);
        const std::string topic = "scanner.plate.read";
        const std::string env = host::EncodeEnvelope(e);
        const std::string body = Body(n);
        // The id is listed before it is sent: an acknowledgement can never name an id the
        // test does not know yet. One that was never sent is never acknowledged.
        {
          std::lock_guard<std::mutex> lock(mu);
          ids.push_back(host::IdToHex(e.id));
        }
        if (!push.send(zmq::buffer(topic), zmq::send_flags::sndmore)) {
          std::lock_guard<std::mutex> lock(mu);
          ids.pop_back();
          continue;
        }
        (void)push.send(zmq::buffer(env), zmq::send_flags::sndmore);
        (void)push.send(zmq::buffer(body), zmq::send_flags::none);
        ++n;
      }
    });
    std::unordered_map<std::string, size_t> index;  // id -> position, filled lazily
    size_t indexed = 0;
    size_t acked_through = 0;
    auto take_ack = [&](const host::BusMessage& m) {
      nlohmann::json j = nlohmann::json::parse(m.body, nullptr, false);
      if (!j.is_object() || !j.contains("sources")) return;
      const std::string last = j["sources"].value("kill-test", "");
      if (last.empty()) return;
      std::lock_guard<std::mutex> lock(mu);
      for (; indexed < ids.size(); ++indexed) index.emplace(ids[indexed], indexed);
      auto it = index.find(last);
      // CHECK, not REQUIRE: the publisher thread must be joined before the test case ends.
      CHECK_MESSAGE(it != index.end(), "an acknowledged id that was not published: " << last);
      if (it == index.end()) return;
      acked_through = std::max(acked_through, it->second + 1);
    };
    const auto kill_at = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(std::uniform_int_distribution<>(150, 1200)(rng));
    while (std::chrono::steady_clock::now() < kill_at) {
      if (auto m = client->Receive(20ms); m && m->topic == "journal.committed") take_ack(*m);
    }
    host.child().Kill();
    stop = true;
    publisher.join();
    // Acknowledgements already on their way when the host died still count.
    while (auto m = client->Receive(100ms))
      if (m->topic == "journal.committed") take_ack(*m);
    acked[round] = acked_through;
    total_acked += acked_through;
    total_published += ids.size();
  }
  MESSAGE("journal-kill: " << kRounds << " rounds, published " << total_published
                           << ", acknowledged " << total_acked);
  CHECK(total_acked > 0);
}

}  // TEST_SUITE("journal-kill")

}  // namespace
}  // namespace kordon::testing
