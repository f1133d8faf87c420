// The pair tracker with an injected clock and an in-memory directory: metadata first, image
// first, slowly-written image, orphan image, missing image, size mismatch, symbolic links,
// oversize metadata, a move cut short (image already processed), release after a failed
// publish.
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "xray_pairing.h"

namespace kordon::xray {
namespace {

using namespace std::chrono_literals;
using Clock = PairTracker::Clock;

// A directory in memory: name -> entry + content.
struct FakeSpool {
  std::map<std::string, FileEntry> files;
  std::map<std::string, std::string> contents;
  std::set<std::string> processed;
  int reads = 0;

  void Put(const std::string& name, const std::string& content,
           FileKind kind = FileKind::kRegular) {
    FileEntry& e = files[name];
    e.name = name;
    e.kind = kind;
    e.size = content.size();
    e.mtime_ns += 1;  // every write changes the mtime
    contents[name] = content;
  }
  void Remove(const std::string& name) {
    files.erase(name);
    contents.erase(name);
  }
  std::vector<FileEntry> List() const {
    std::vector<FileEntry> out;
    for (const auto& [n, e] : files) out.push_back(e);
    return out;
  }
};

std::string Meta(const std::string& id, const std::string& image, uint64_t bytes) {
  nlohmann::json j = {{"format", "kordon-xray/1"},
                      {"scan_id", id},
                      {"scanner_id", "s1"},
                      {"time", "2026-11-28T10:15:03Z"},
                      {"image", {{"file", image},
                                 {"bytes", bytes},
                                 {"media_type", "image/x-portable-graymap"},
                                 {"width", 10},
                                 {"height", 10}}}};
  return j.dump();
}

struct Fixture {
  FakeSpool spool;
  PairOptions options{500ms, 30000ms, 1 << 20};
  PairTracker tracker{options,
                      [this](const std::string& name) {
                        ++spool.reads;
                        MetadataText t;
                        auto it = spool.contents.find(name);
                        if (it == spool.contents.end()) {
                          t.gone = true;
                        } else {
                          t.text = it->second;
                        }
                        return t;
                      },
                      [this](const std::string& image) {
                        return spool.processed.count(image) > 0;
                      }};
  Clock::time_point now{};

  std::vector<PairAction> At(std::chrono::milliseconds t) {
    now = Clock::time_point{} + t;
    return tracker.Update(spool.List(), now);
  }
};

TEST_CASE("metadata after the image: published once both have settled") {
  Fixture f;
  f.spool.Put("A.pgm", std::string(100, 'x'));
  CHECK(f.At(0ms).empty());
  f.spool.Put("A.json", Meta("A", "A.pgm", 100));
  CHECK(f.At(100ms).empty());
  CHECK(f.At(599ms).empty());  // metadata seen at 100 ms, settles at 600 ms
  auto actions = f.At(600ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kPublish);
  CHECK(actions[0].scan_id == "A");
  CHECK(actions[0].image_file == "A.pgm");
  CHECK(actions[0].metadata_file == "A.json");
  // Handed out: nothing more while the files stay, nothing once they are gone.
  CHECK(f.At(700ms).empty());
  f.spool.Remove("A.pgm");
  f.spool.Remove("A.json");
  CHECK(f.At(800ms).empty());
  CHECK_FALSE(f.tracker.HasPending());
}

TEST_CASE("metadata first: waits for the image, which must settle") {
  Fixture f;
  f.spool.Put("B.json", Meta("B", "B.pgm", 100));
  CHECK(f.At(0ms).empty());
  CHECK(f.At(1000ms).empty());
  CHECK(f.spool.reads == 1);  // parsed once, not on every update
  f.spool.Put("B.pgm", std::string(40, 'x'));  // being written
  CHECK(f.At(2000ms).empty());
  f.spool.Put("B.pgm", std::string(100, 'x'));  // complete
  CHECK(f.At(2100ms).empty());
  CHECK(f.At(2599ms).empty());
  auto actions = f.At(2600ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kPublish);
}

TEST_CASE("a slowly-written image of the right size is not taken before it settles") {
  Fixture f;
  f.spool.Put("C.json", Meta("C", "C.pgm", 100));
  f.spool.Put("C.pgm", std::string(100, 'x'));
  CHECK(f.At(0ms).empty());
  // Rewritten in place (same size, new mtime) every 300 ms: never settled.
  for (int t = 300; t <= 3000; t += 300) {
    f.spool.Put("C.pgm", std::string(100, 'y'));
    CHECK(f.At(std::chrono::milliseconds(t)).empty());
  }
  auto actions = f.At(3500ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kPublish);
}

TEST_CASE("metadata whose image never arrives is rejected after the pair timeout") {
  Fixture f;
  f.spool.Put("D.json", Meta("D", "D.pgm", 100));
  CHECK(f.At(0ms).empty());
  CHECK(f.At(29999ms).empty());
  auto actions = f.At(30000ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kReject);
  CHECK(actions[0].scan_id == "D");
  CHECK(actions[0].image_file.empty());
  CHECK(actions[0].reason.find("did not arrive within 30000 ms") != std::string::npos);
}

TEST_CASE("an image without metadata is an orphan after the pair timeout") {
  Fixture f;
  f.spool.Put("E.pgm", "x");
  f.spool.Put("notes.txt", "x");
  CHECK(f.At(0ms).empty());
  CHECK(f.At(29999ms).empty());
  auto actions = f.At(30000ms);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].file == "E.pgm");
  CHECK_FALSE(actions[0].scan_id.has_value());
  CHECK(actions[0].metadata_file.empty());
  CHECK(actions[0].reason.find("orphan") != std::string::npos);
}

TEST_CASE("an image is not an orphan while metadata of the same stem waits") {
  Fixture f;
  f.spool.Put("F.pgm", std::string(10, 'x'));
  CHECK(f.At(0ms).empty());
  f.spool.Put("F.json", Meta("F", "F.pgm", 10));
  // The metadata is rewritten (not atomically, against the contract) until after the
  // orphan deadline; the image must still be paired, not called an orphan.
  for (int t = 29800; t <= 30400; t += 200) {
    f.spool.Put("F.json", Meta("F", "F.pgm", 10));
    CHECK(f.At(std::chrono::milliseconds(t)).empty());
  }
  auto actions = f.At(30900ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kPublish);
}

TEST_CASE("size mismatch: a bigger image is rejected once settled, a smaller one at timeout") {
  Fixture f;
  f.spool.Put("G.json", Meta("G", "G.pgm", 100));
  f.spool.Put("G.pgm", std::string(150, 'x'));
  f.spool.Put("H.json", Meta("H", "H.pgm", 100));
  f.spool.Put("H.pgm", std::string(50, 'x'));
  CHECK(f.At(0ms).empty());
  auto actions = f.At(500ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].scan_id == "G");
  CHECK(actions[0].image_file == "G.pgm");
  CHECK(actions[0].reason.find("has 150 bytes, the metadata says 100") != std::string::npos);
  CHECK(f.At(29000ms).empty());
  actions = f.At(30000ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].scan_id == "H");
  CHECK(actions[0].reason.find("has 50 bytes") != std::string::npos);
}

TEST_CASE("an image still being written at the pair timeout is rejected") {
  Fixture f;
  f.spool.Put("I.json", Meta("I", "I.pgm", 1000));
  for (int t = 0; t < 30000; t += 400) {
    f.spool.Put("I.pgm", std::string(static_cast<size_t>(t / 100), 'x'));
    CHECK(f.At(std::chrono::milliseconds(t)).empty());
  }
  f.spool.Put("I.pgm", std::string(301, 'x'));
  auto actions = f.At(30100ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].reason.find("still being written") != std::string::npos);
}

TEST_CASE("invalid metadata, path traversal, symlinks, oversize: rejected at once") {
  Fixture f;
  f.spool.Put("J.json", "{not json");
  f.spool.Put("K.json", Meta("K", "../K.pgm", 10));
  f.spool.Put("L.json", Meta("L", "L.pgm", 10), FileKind::kSymlink);
  f.spool.Put("M.json", std::string(kMaxMetadataBytes + 1, ' '));
  f.spool.Put("N.json", Meta("N", "N.pgm", 10));
  f.spool.Put("N.pgm", "0123456789", FileKind::kSymlink);
  f.spool.Put("bad name.json", Meta("x", "x.pgm", 10));
  f.spool.Put("O.json", Meta("O", "O.pgm", 10));
  f.spool.Put("O.pgm", "", FileKind::kOther);  // a FIFO
  const int reads_before = f.spool.reads;
  auto actions = f.At(0ms);
  // Links, oversize and bad names are refused before the settle wait, without reading.
  REQUIRE(actions.size() == 3);
  CHECK(f.spool.reads == reads_before);
  std::map<std::string, PairAction> by_file;
  for (auto& a : f.At(500ms)) by_file[a.file] = a;
  for (auto& a : actions) by_file[a.file] = a;
  REQUIRE(by_file.size() == 7);
  CHECK(by_file["J.json"].reason.find("not valid JSON") != std::string::npos);
  CHECK(by_file["J.json"].scan_id == "J");
  CHECK(by_file["K.json"].reason.find("plain file name") != std::string::npos);
  CHECK(by_file["L.json"].reason.find("symbolic link") != std::string::npos);
  CHECK(by_file["M.json"].reason.find("more than the limit") != std::string::npos);
  CHECK(by_file["N.json"].reason.find("image 'N.pgm' is a symbolic link") != std::string::npos);
  CHECK(by_file["N.json"].image_file == "N.pgm");
  CHECK_FALSE(by_file["bad name.json"].scan_id.has_value());
  CHECK(by_file["O.json"].reason.find("not a regular file") != std::string::npos);
}

TEST_CASE("temporary names and directories are ignored") {
  Fixture f;
  f.spool.Put(".P.json.tmp", "partial");
  f.spool.Put("P.pgm.part", "partial");
  f.spool.Put("processed", "", FileKind::kDirectory);
  CHECK(f.At(0ms).empty());
  CHECK(f.At(60000ms).empty());
  CHECK_FALSE(f.tracker.HasPending());
}

TEST_CASE("an image already in processed/ with its metadata in the spool is recovered") {
  Fixture f;
  f.spool.processed.insert("Q.pgm");
  f.spool.Put("Q.json", Meta("Q", "Q.pgm", 10));
  auto actions = f.At(500ms);
  REQUIRE(actions.empty());
  actions = f.At(1000ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kRecover);
}

TEST_CASE("a new file under the name of one handed out is new, the same file is not") {
  Fixture f;
  f.spool.Put("S.json", Meta("S", "S.pgm", 10));
  f.spool.Put("S.pgm", "0123456789");
  CHECK(f.At(0ms).empty());
  auto actions = f.At(500ms);
  REQUIRE(actions.size() == 1);
  CHECK(f.At(600ms).empty());  // the same files, not moved yet: ignored
  // Moved away and written again before the tracker saw the directory without them.
  f.spool.Put("S.json", Meta("S", "S.pgm", 10));
  f.spool.Put("S.pgm", "abcdefghij");
  CHECK(f.At(700ms).empty());
  actions = f.At(1200ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kPublish);
}

TEST_CASE("released after a failed publish: tried again once settled again") {
  Fixture f;
  f.spool.Put("R.json", Meta("R", "R.pgm", 10));
  f.spool.Put("R.pgm", "0123456789");
  auto actions = f.At(500ms);
  CHECK(actions.empty());
  actions = f.At(1000ms);
  REQUIRE(actions.size() == 1);
  f.tracker.Release(actions[0]);
  CHECK(f.At(1100ms).empty());
  actions = f.At(1600ms);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == PairAction::Kind::kPublish);
}

}  // namespace
}  // namespace kordon::xray
