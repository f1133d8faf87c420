// crossings_bench — messages per second through the crossings state machine and store
// (plugins/crossings) as the plugin runs them: each message goes through Book::OnMessage,
// every changed crossing is turned into a Record (picture JSON + search keys) and written in
// one transaction (WAL, synchronous NORMAL), as the plugin does after each message. Beside it,
// measured in the same run: the state machine alone (Book::OnMessage and the picture JSON,
// no store). Prints both, the ratio, and the write latency p50/p99; and the same with the WAL
// checkpointed by the writer's own commits (SQLite's automatic checkpoint) instead of from a
// thread of its own as the plugin does: the p99 of the two.
//
//   crossings_bench [--vehicles N] [--repeat N] [--db PATH]
//
// The traffic is the site simulator's (plugins/site-sim/README.md): three lanes, per vehicle
// a plate read, 0-2 container reads, 1-4 document reads, a stable weight, an X-ray scan on
// lane 1, a watchlist hit for one vehicle in 25, the scale cleared; the next vehicle's plate
// closes the crossing. Exit status 1 when the file does not hold every crossing the book
// opened, or a reloaded open crossing differs.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "book.h"
#include "crossing_store.h"
#include "bench_row.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace cx = kordon::crossings;

struct Msg {
  cx::Meta meta;
  std::string body;
};

std::vector<Msg> Traffic(int vehicles) {
  std::vector<Msg> out;
  int id = 0;
  const int64_t t0 = 1'795'000'000'000'000;
  auto add = [&](const char* topic, const std::string& lane, std::string body) {
    Msg m;
    m.meta.topic = topic;
    m.meta.id = "m" + std::to_string(++id);
    m.meta.time_us = t0 + id * 1000;
    m.meta.source = "bench";
    m.meta.lane = lane;
    m.body = std::move(body);
    out.push_back(std::move(m));
    return out.back().meta.id;
  };
  for (int v = 0; v < vehicles; ++v) {
    const std::string lane = "lane-" + std::to_string(v % 3 + 1);
    const std::string n = std::to_string(v);
    const std::string plate = "01KG" + n + "ABC";
    add("scanner.plate.read", lane,
        R"({"camera": "cam", "raw": ")" + plate + R"(", "plate": ")" + plate +
            R"(", "country": "KG", "confidence": 0.93, "direction": "in", "script": "latin"})");
    for (int k = 0; k < v % 3; ++k)
      add("scanner.container.read", lane,
          R"({"code": "MSCU44)" + std::to_string(10000 + v * 3 + k) +
              R"(", "raw": "MSCU 4418392", "valid": true, "check": {"expected": "2",
              "found": "2", "problem": null}, "repair": null, "repaired_valid": false,
              "size_type": "45G1", "confidence": 0.9, "camera": "ccr", "position": "rear"})");
    std::string doc_id;
    for (int d = 0; d < 1 + v % 4; ++d)
      doc_id = add("scanner.document.read", lane,
                   R"({"format": "TD3", "valid": true, "document_code": "P",
                       "issuing_state": "KGZ", "document_number": "AN)" + n + "0" +
                       std::to_string(d) + R"(", "nationality": "KGZ",
                       "birth_date": "1981-02-14", "sex": "M", "expiry_date": "2030-01-01",
                       "primary_identifier": "ТОКТОГУЛОВ", "secondary_identifier": "NURLAN",
                       "checks": [{"field": "document_number", "present": true,
                       "valid": true, "expected": "3", "found": "3", "line": 2, "column": 10}],
                       "repairs": [], "problems": [], "mrz": "P<KGZTOKTOGULOV<<NURLAN"})");
    add("scale.weight.stable", lane,
        R"({"scale": "wb)" + lane + R"(", "kg": 27310, "tare_kg": 0, "net": false,
            "window_ms": 1500, "readings": 8, "min_kg": 27305, "max_kg": 27312,
            "raw": {"value": "27310", "unit": "kg"}, "frame": "S S 27310 kg",
            "vehicle_seq": )" + std::to_string(v + 1) + "}");
    if (lane == "lane-1")
      add("scanner.xray.scan", lane,
          R"({"scan_id": "S)" + n + R"(", "scanner_id": "x", "scanner": "x",
              "time": "2026-11-28T01:30:00Z", "image": {"path": "/x/S.png", "sha256": "00",
              "bytes": 1, "media_type": "image/png", "width": 1, "height": 1},
              "vehicle": null, "containers": [], "container_checks": [], "operator": null,
              "marks": [], "mode": null, "energy_kev": null})");
    if (v % 25 == 0)
      add("db.watchlist.hit", lane,
          R"({"subject": {"kind": "person"}, "entry": {"list": "demo", "id": "P-001",
              "kind": "person", "names": ["TOKTOGULOV NURLAN"], "dob": ["1981-02-14"],
              "reason": "wanted"}, "score": 1.0, "matched": "name",
              "explanation": "surname TOKTOGULOV = TOKTOGULOV", "source_id": ")" +
              doc_id + R"(", "source_topic": "scanner.document.read"})");
    add("scale.weight.cleared", lane,
        R"({"scale": "wb)" + lane + R"(", "vehicle_seq": )" + std::to_string(v + 1) + "}");
  }
  return out;
}

struct Result {
  double seconds = 0;
  double p50_us = 0, p99_us = 0;
  uint64_t opened = 0;
  int64_t stored = 0;
  bool ok = true;
};

// checkpoint_ms > 0: the WAL is checkpointed from a thread of its own, as the plugin does
// (setting checkpoint_ms); 0: by the writer's commits (SQLite's automatic checkpoint).
Result Run(const std::vector<Msg>& traffic, const std::string& db, int checkpoint_ms) {
  Result r;
  cx::Book book({});
  std::unique_ptr<cx::CrossingStore> store;
  if (!db.empty()) {
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
    std::string error;
    store = cx::CrossingStore::Open(db, false, 1000, &error);
    if (!store) {
      std::fprintf(stderr, "crossings_bench: %s\n", error.c_str());
      r.ok = false;
      return r;
    }
    if (checkpoint_ms > 0) {
      if (auto s = store->StartBackgroundCheckpoints(std::chrono::milliseconds(checkpoint_ms));
          !s.ok()) {
        std::fprintf(stderr, "crossings_bench: %s\n", s.message.c_str());
        r.ok = false;
        return r;
      }
    }
  }
  std::vector<double> write_us;
  size_t json_bytes = 0;
  const auto start = Clock::now();
  int64_t now = traffic.front().meta.time_us;
  for (const Msg& m : traffic) {
    now = m.meta.time_us;
    (void)book.OnMessage(m.meta, m.body, now);
    std::vector<cx::Record> records;
    for (const std::string& id : book.TakeDirty()) records.push_back(cx::ToRecord(*book.Find(id)));
    if (!store) {
      for (const cx::Record& rec : records) json_bytes += rec.picture.size();
      continue;
    }
    const auto w0 = Clock::now();
    auto s = store->Write(records);
    write_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - w0).count());
    if (!s.ok()) {
      std::fprintf(stderr, "crossings_bench: write failed: %s\n", s.message.c_str());
      r.ok = false;
      return r;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.opened = book.stats().opened;
  if (json_bytes == 1) std::printf("\n");  // keeps the baseline's work observable
  if (!store) return r;
  std::sort(write_us.begin(), write_us.end());
  r.p50_us = write_us[write_us.size() / 2];
  r.p99_us = write_us[write_us.size() * 99 / 100];
  kordon::sqlite::DbStatus s;
  auto q = store->db().Prepare("SELECT count(*) FROM crossings", &s);
  if (q.Next() == kordon::sqlite::Statement::Step::kRow) r.stored = q.Int(0);
  if (static_cast<uint64_t>(r.stored) != r.opened) {
    std::fprintf(stderr, "crossings_bench: the book opened %llu crossings, the file has %lld\n",
                 static_cast<unsigned long long>(r.opened), static_cast<long long>(r.stored));
    r.ok = false;
  }
  std::vector<cx::Crossing> open;
  std::vector<std::string> problems;
  if (!store->LoadUnclosed(&open, &problems).ok() || open.size() != 3) {
    std::fprintf(stderr, "crossings_bench: %zu open crossings reloaded, expected 3\n",
                 open.size());
    r.ok = false;
  }
  for (const cx::Crossing& c : open)
    if (c.ToJson() != book.Find(c.id)->ToJson()) {
      std::fprintf(stderr, "crossings_bench: crossing %s reloads differently\n", c.id.c_str());
      r.ok = false;
    }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int vehicles = 3000;
  int repeat = 3;
  std::string db;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--vehicles" && i + 1 < argc) vehicles = std::atoi(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else if (a == "--db" && i + 1 < argc) db = argv[++i];
    else {
      std::fprintf(stderr, "usage: crossings_bench [--vehicles N] [--repeat N] [--db PATH]\n");
      return 2;
    }
  }
  if (vehicles < 10 || repeat < 1) return 2;
  std::string dir;
  if (db.empty()) {
    char tmpl[] = "/tmp/kordon-crossings-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    db = dir + "/crossings.db";
  }
  const std::vector<Msg> traffic = Traffic(vehicles);
  std::printf("crossings_bench: %d vehicles, %zu messages, 3 lanes, %d runs (median)\n",
              vehicles, traffic.size(), repeat);
  std::vector<double> base, stored, p50, p99, inline_stored, inline_p50, inline_p99;
  bool ok = true;
  for (int i = 0; i < repeat; ++i) {
    Result b = Run(traffic, "", 0);
    Result s = Run(traffic, db, 1000);
    Result w = Run(traffic, db, 0);
    ok = ok && b.ok && s.ok && w.ok;
    base.push_back(traffic.size() / b.seconds);
    stored.push_back(traffic.size() / s.seconds);
    p50.push_back(s.p50_us);
    p99.push_back(s.p99_us);
    inline_stored.push_back(traffic.size() / w.seconds);
    inline_p50.push_back(w.p50_us);
    inline_p99.push_back(w.p99_us);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("  %-44s %10.0f msg/s\n", "baseline: state machine + picture JSON", median(base));
  std::printf("  %-44s %10.0f msg/s  (write p50 %.0f us, p99 %.0f us)\n",
              "state machine + store (one commit per msg)", median(stored), median(p50),
              median(p99));
  std::printf("  %-44s %10.0f msg/s  (write p50 %.0f us, p99 %.0f us)\n",
              "the same, checkpoints in the commits", median(inline_stored), median(inline_p50),
              median(inline_p99));
  std::printf("  ratio store / baseline: %.2f\n", median(stored) / median(base));
  kordon::bench::PrintRow({"crossings", "state machine + store (one commit per message)",
                           median(stored), "msg/s", "state machine + picture JSON, no store",
                           median(base), median(stored) / median(base), "", std::nullopt});
  kordon::bench::PrintRow({"crossings", "store write p99 (WAL checkpoints on their own thread)",
                           median(p99), "us", "checkpoints in the writer's commits (SQLite's own)",
                           median(inline_p99), median(p99) / median(inline_p99), "",
                           std::nullopt});
  if (!dir.empty()) std::filesystem::remove_all(dir);
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
