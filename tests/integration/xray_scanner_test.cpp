// The xray-scanner plugin in a real kordon-host on a temporary spool directory: scans dropped
// in every order a scanner may use (metadata first, image first, via rename, an image written
// slowly), a scan present before the start, the rejected cases (invalid JSON, path traversal,
// sha256 and size mismatch, symbolic link, huge metadata, orphan image), device.status offline
// while the spool is missing and idle once it appears, and bad settings.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"
#include "xray_device.h"

namespace kordon::testing {
namespace {

using Json = nlohmann::json;

const std::string kSettings = "settle_ms = 200\npair_timeout_ms = 3000\nrescan_interval_ms = 1000";

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

xray::ScanFiles Scan(const std::string& id, uint64_t seed = 1) {
  xray::ScanSpec spec;
  spec.scan_id = id;
  spec.seed = seed;
  spec.width = 256;
  spec.height = 128;
  spec.plate = "01KG123ABC";
  spec.containers = {xray::ContainerCode("MSC", 123456)};
  spec.operator_id = "op17";
  spec.marks = {{10, 20, 30, 40, "organic", "check", "high"}};
  return xray::MakeScan(spec);
}

// Writes a file under a temporary name and renames it into place.
void Drop(const std::string& dir, const std::string& name, const std::string& data) {
  std::string error;
  REQUIRE_MESSAGE(xray::WriteFileIn(dir, "." + name + ".tmp", data, &error), error);
  REQUIRE(::rename((dir + "/." + name + ".tmp").c_str(), (dir + "/" + name).c_str()) == 0);
}

bool IsScan(const host::BusMessage& m, const std::string& id) {
  const Json j = Json::parse(m.body, nullptr, false);
  return j.is_object() && j.value("scan_id", "") == id;
}

bool IsRejected(const host::BusMessage& m, const std::string& file) {
  const Json j = Json::parse(m.body, nullptr, false);
  return j.is_object() && j.value("file", "") == file;
}

bool IsState(const host::BusMessage& m, const std::string& state) {
  const Json j = Json::parse(m.body, nullptr, false);
  return j.is_object() && j.value("state", "") == state && j.value("device", "") == "xray1";
}

// Checks a published scan against the files written.
void CheckScan(const host::BusMessage& m, const xray::ScanFiles& f, const std::string& spool) {
  const Json j = Json::parse(m.body);
  CAPTURE(m.body);
  CHECK(j["scanner"] == "xray1");
  CHECK(j["scanner_id"] == "xray-sim");
  CHECK(j["image"]["path"] == spool + "/processed/" + f.image_name);
  CHECK(j["image"]["sha256"] == f.sha256);
  CHECK(j["image"]["bytes"] == f.image.size());
  CHECK(j["image"]["media_type"] == "image/x-portable-graymap");
  CHECK(j["image"]["width"] == 256);
  CHECK(j["vehicle"]["plate"] == "01KG123ABC");
  CHECK(j["containers"][0] == xray::ContainerCode("MSC", 123456));
  CHECK(j["operator"]["id"] == "op17");
  CHECK(j["marks"][0]["suspicion"] == "high");
  CHECK(j["mode"] == "dual-energy");
  CHECK(j["energy_kev"] == 6000);
  CHECK(m.envelope.source == "xray1");
  // Moved: the image before the publish, the metadata right after it.
  for (int i = 0; i < 100 && Exists(spool + "/" + f.metadata_name); ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(Exists(spool + "/processed/" + f.image_name));
  CHECK(Exists(spool + "/processed/" + f.metadata_name));
  CHECK_FALSE(Exists(spool + "/" + f.image_name));
  CHECK_FALSE(Exists(spool + "/" + f.metadata_name));
}

TEST_SUITE("xray-scanner") {

TEST_CASE("xray-scanner publishes complete pairs in every order and moves them") {
  TempDir dir;
  const std::string spool = dir.File("spool");
  REQUIRE(::mkdir(spool.c_str(), 0755) == 0);
  // Dropped while the host was down: picked up by the first scan.
  const xray::ScanFiles before = Scan("PRE-1", 1);
  std::string error;
  REQUIRE_MESSAGE(xray::WriteScanFiles(spool, before, &error), error);
  // Stopped after moving the image and before moving the metadata: published (again) at start.
  const xray::ScanFiles cut = Scan("REC-1", 5);
  REQUIRE(::mkdir((spool + "/processed").c_str(), 0755) == 0);
  REQUIRE(xray::WriteFileIn(spool + "/processed", cut.image_name, cut.image, &error));
  REQUIRE(xray::WriteFileIn(spool, cut.metadata_name, cut.metadata, &error));

  HostProcess host(dir, HostSection(dir) +
                            PluginSection("log", SitePlugin("logger"), "subscribe = scanner") +
                            PluginSection("xray1", SitePlugin("xray-scanner"),
                                          "lane = lane-2\nspool = " + spool + "\n" + kSettings));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner.xray", "device.status"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  // The scan found at start went out before this client was live: the logger saw it.
  CHECK_MESSAGE(host.WaitForLog("\"scan_id\":\"PRE-1\"", 10s), host.Log());
  for (int i = 0; i < 100 && Exists(spool + "/PRE-1.json"); ++i) std::this_thread::sleep_for(50ms);
  CHECK(Exists(spool + "/processed/PRE-1.pgm"));
  CHECK(Exists(spool + "/processed/PRE-1.json"));
  CHECK_MESSAGE(host.WaitForLog("\"scan_id\":\"REC-1\"", 10s), host.Log());
  for (int i = 0; i < 100 && Exists(spool + "/REC-1.json"); ++i) std::this_thread::sleep_for(50ms);
  CHECK(Exists(spool + "/processed/REC-1.json"));

  SUBCASE("image first, metadata renamed into place") {
    const xray::ScanFiles f = Scan("ORD-1", 2);
    REQUIRE(xray::WriteScanFiles(spool, f, &error));
    auto m = ReceiveTopic(*client, "scanner.xray.scan", 10s,
                          [](const host::BusMessage& x) { return IsScan(x, "ORD-1"); });
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    CHECK(m->envelope.lane == "lane-2");
    CheckScan(*m, f, spool);
  }
  SUBCASE("metadata first, the image renamed in a second later") {
    const xray::ScanFiles f = Scan("ORD-2", 3);
    Drop(spool, f.metadata_name, f.metadata);
    std::this_thread::sleep_for(1s);
    Drop(spool, f.image_name, f.image);
    auto m = ReceiveTopic(*client, "scanner.xray.scan", 10s,
                          [](const host::BusMessage& x) { return IsScan(x, "ORD-2"); });
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    CheckScan(*m, f, spool);
  }
  SUBCASE("metadata first, the image written slowly in place") {
    const xray::ScanFiles f = Scan("ORD-3", 4);
    Drop(spool, f.metadata_name, f.metadata);
    const int fd = ::open((spool + "/" + f.image_name).c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    // Pauses longer than settle_ms: a partial image must not be taken.
    const size_t piece = f.image.size() / 4 + 1;
    for (size_t off = 0; off < f.image.size(); off += piece) {
      const size_t n = std::min(piece, f.image.size() - off);
      REQUIRE(::write(fd, f.image.data() + off, n) == static_cast<ssize_t>(n));
      std::this_thread::sleep_for(350ms);
    }
    ::close(fd);
    std::vector<host::BusMessage> seen;
    auto m = ReceiveTopic(
        *client, "scanner.xray.scan", 10s,
        [](const host::BusMessage& x) { return IsScan(x, "ORD-3"); }, &seen);
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    CheckScan(*m, f, spool);
    for (const auto& s : seen) CHECK_FALSE(IsRejected(s, f.metadata_name));
  }

  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  // Published exactly once: a scan is never published twice.
  size_t count = 0;
  for (const std::string& line : Lines(host.Log()))
    if (Contains(line, "scanner.xray.scan") && Contains(line, "\"scan_id\":\"PRE-1\"")) ++count;
  CHECK(count == 1);
}

TEST_CASE("xray-scanner publishes what kordon-xray-sim writes") {
  TempDir dir;
  const std::string spool = dir.File("spool");
  REQUIRE(::mkdir(spool.c_str(), 0755) == 0);
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("xray1", SitePlugin("xray-scanner"),
                                          "spool = " + spool + "\n" + kSettings));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner.xray"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  const RunResult sim = RunProgram({std::string(KORDON_BIN_DIR) + "/kordon-xray-sim", "--spool",
                                    spool, "--count", "3", "--interval-ms", "100", "--seed",
                                    "9"},
                                   dir.path());
  REQUIRE_MESSAGE(sim.status.ExitedWith(0), sim.Describe());
  CHECK(Contains(sim.out, "wrote SIM-0009-000002"));
  for (const char* id : {"SIM-0009-000000", "SIM-0009-000001", "SIM-0009-000002"}) {
    CAPTURE(id);
    auto m = ReceiveTopic(*client, "scanner.xray.scan", 10s,
                          [&](const host::BusMessage& x) { return IsScan(x, id); });
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    const Json j = Json::parse(m->body);
    CHECK(j["image"]["width"] == 512);
    CHECK(j["image"]["media_type"] == "image/x-portable-graymap");
    CHECK(Exists(j["image"]["path"].get<std::string>()));
  }
  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
}

TEST_CASE("xray-scanner rejects bad pairs with an event, a counter and a reason file") {
  TempDir dir;
  const std::string spool = dir.File("spool");
  REQUIRE(::mkdir(spool.c_str(), 0755) == 0);
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("xray1", SitePlugin("xray-scanner"),
                                          "spool = " + spool + "\n" + kSettings));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner.xray", "device.status"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  std::string error;

  struct Expect {
    std::string file;
    std::string reason;
  };
  std::vector<Expect> expected;
  {  // invalid JSON
    Drop(spool, "BAD-1.json", "{\"format\": ");
    expected.push_back({"BAD-1.json", "not valid JSON"});
  }
  {  // path traversal
    xray::ScanFiles f = Scan("BAD-2");
    Json j = Json::parse(f.metadata);
    j["image"]["file"] = "../../etc/passwd";
    Drop(spool, f.metadata_name, j.dump());
    expected.push_back({f.metadata_name, "plain file name"});
  }
  {  // sha256 mismatch
    xray::ScanFiles f = Scan("BAD-3");
    f.image[f.image.size() - 1] ^= 1;
    REQUIRE(xray::WriteScanFiles(spool, f, &error));
    expected.push_back({f.metadata_name, "SHA-256"});
  }
  {  // bigger than the metadata says
    xray::ScanFiles f = Scan("BAD-4");
    f.image += "extra";
    REQUIRE(xray::WriteScanFiles(spool, f, &error));
    expected.push_back({f.metadata_name, "the metadata says"});
  }
  {  // metadata as a symbolic link
    xray::ScanFiles f = Scan("BAD-5");
    REQUIRE(xray::WriteFileIn(dir.path(), "elsewhere.json", f.metadata, &error));
    REQUIRE(::symlink(dir.File("elsewhere.json").c_str(), (spool + "/BAD-5.json").c_str()) == 0);
    expected.push_back({"BAD-5.json", "symbolic link"});
  }
  {  // huge metadata
    Drop(spool, "BAD-6.json", "{\"pad\": \"" + std::string(2 << 20, 'x') + "\"}");
    expected.push_back({"BAD-6.json", "more than the limit"});
  }
  {  // orphan image
    Drop(spool, "lonely.pgm", "P5\n1 1\n255\n\x01");
    expected.push_back({"lonely.pgm", "orphan"});
  }
  // They arrive in the order the plugin meets them: collect them all first.
  std::map<std::string, host::BusMessage> rejected;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (rejected.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
    auto m = ReceiveTopic(*client, "scanner.xray.rejected", 1s);
    if (m) rejected[Json::parse(m->body).value("file", "")] = *m;
  }
  for (const Expect& e : expected) {
    CAPTURE(e.file);
    const auto m = rejected.find(e.file);
    REQUIRE_MESSAGE(m != rejected.end(), host.Log());
    const Json j = Json::parse(m->second.body);
    CHECK_MESSAGE(Contains(j.value("reason", ""), e.reason), m->second.body);
    CHECK(Exists(spool + "/rejected/" + e.file));
    CHECK_FALSE(Exists(spool + "/" + e.file));
    const std::string id = e.file.ends_with(".json") ? e.file.substr(0, e.file.size() - 5) : "";
    if (!id.empty()) {
      CHECK(j["scan_id"] == id);
      CHECK(Exists(spool + "/rejected/" + id + ".reason.txt"));
    } else {
      CHECK(j["scan_id"].is_null());
      CHECK(Exists(spool + "/rejected/" + e.file + ".reason.txt"));
    }
  }
  // The image of a rejected pair goes with its metadata.
  CHECK(Exists(spool + "/rejected/BAD-3.pgm"));
  CHECK(Exists(spool + "/rejected/BAD-4.pgm"));
  CHECK(Contains(ReadFileOrEmpty(spool + "/rejected/BAD-3.reason.txt"), "SHA-256"));
  {  // The same scan id again: published once, the second pair rejected, nothing replaced.
    const xray::ScanFiles f = Scan("DUP-1", 8);
    REQUIRE(xray::WriteScanFiles(spool, f, &error));
    auto m = ReceiveTopic(*client, "scanner.xray.scan", 10s,
                          [](const host::BusMessage& x) { return IsScan(x, "DUP-1"); });
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    for (int i = 0; i < 100 && Exists(spool + "/DUP-1.json"); ++i)
      std::this_thread::sleep_for(20ms);
    REQUIRE(xray::WriteScanFiles(spool, Scan("DUP-1", 9), &error));
    m = ReceiveTopic(*client, "scanner.xray.rejected", 10s,
                     [](const host::BusMessage& x) { return IsRejected(x, "DUP-1.json"); });
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    CHECK_MESSAGE(Contains(m->body, "already processed"), m->body);
    CHECK(ReadFileOrEmpty(spool + "/processed/DUP-1.pgm") == f.image);
    CHECK(Exists(spool + "/rejected/DUP-1.pgm"));
  }
  {  // A scan id rejected twice keeps both sets of files and both reasons.
    xray::ScanFiles f = Scan("BAD-3", 10);
    f.image[f.image.size() - 1] ^= 1;
    REQUIRE(xray::WriteScanFiles(spool, f, &error));
    auto m = ReceiveTopic(*client, "scanner.xray.rejected", 10s,
                          [](const host::BusMessage& x) { return IsRejected(x, "BAD-3.json"); });
    REQUIRE_MESSAGE(m.has_value(), host.Log());
    CHECK(Exists(spool + "/rejected/BAD-3.json.1"));
    CHECK(Exists(spool + "/rejected/BAD-3.pgm.1"));
    CHECK(Exists(spool + "/rejected/BAD-3.1.reason.txt"));
  }
  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  // Every rejection counted (the summary the plugin logs at stop).
  CHECK_MESSAGE(Contains(host.Log(), "9 errors"), host.Log());
}

TEST_CASE("xray-scanner is offline while the spool is missing, idle once it appears") {
  TempDir dir;
  const std::string spool = dir.File("spool");
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("xray1", SitePlugin("xray-scanner"),
                                          "spool = " + spool + "\n" + kSettings));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  auto client = ConnectClient(host.ready(), {"scanner.xray", "device.status"}, &why);
  REQUIRE_MESSAGE(client != nullptr, why);
  CHECK_MESSAGE(host.WaitForLog("cannot open the spool directory", 5s), host.Log());

  REQUIRE(::mkdir(spool.c_str(), 0755) == 0);
  auto idle = ReceiveTopic(*client, "device.status", 10s,
                           [](const host::BusMessage& m) { return IsState(m, "idle"); });
  REQUIRE_MESSAGE(idle.has_value(), host.Log());
  Json status = Json::parse(idle->body);
  CHECK(status["previous"] == "offline");
  CHECK(status["kind"] == "xray-scanner");
  CHECK(status["link"] == spool);

  const xray::ScanFiles f = Scan("LATE-1");
  std::string error;
  REQUIRE(xray::WriteScanFiles(spool, f, &error));
  auto m = ReceiveTopic(*client, "scanner.xray.scan", 10s,
                        [](const host::BusMessage& x) { return IsScan(x, "LATE-1"); });
  REQUIRE_MESSAGE(m.has_value(), host.Log());

  // The directory goes away (moved aside): offline again, and back when it returns.
  REQUIRE(::rename(spool.c_str(), dir.File("aside").c_str()) == 0);
  auto offline = ReceiveTopic(*client, "device.status", 10s,
                              [](const host::BusMessage& x) { return IsState(x, "offline"); });
  REQUIRE_MESSAGE(offline.has_value(), host.Log());
  REQUIRE(::rename(dir.File("aside").c_str(), spool.c_str()) == 0);
  idle = ReceiveTopic(*client, "device.status", 10s,
                      [](const host::BusMessage& x) { return IsState(x, "idle"); });
  REQUIRE_MESSAGE(idle.has_value(), host.Log());
  CHECK(Json::parse(idle->body)["stats"]["reconnects"] >= 1);

  client.reset();
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
}

TEST_CASE("xray-scanner stays offline while processed_dir is on another file system") {
  TempDir dir;
  struct stat tmp {}, shm {};
  if (::stat(dir.path().c_str(), &tmp) != 0 || ::stat("/dev/shm", &shm) != 0 ||
      tmp.st_dev == shm.st_dev) {
    MESSAGE("no second file system at /dev/shm; nothing to check");
    return;
  }
  const std::string spool = dir.File("spool");
  REQUIRE(::mkdir(spool.c_str(), 0755) == 0);
  std::string other = "/dev/shm/kordon-xray-XXXXXX";
  REQUIRE(::mkdtemp(other.data()) != nullptr);
  HostProcess host(dir, HostSection(dir) +
                            PluginSection("xray1", SitePlugin("xray-scanner"),
                                          "spool = " + spool + "\nprocessed_dir = " + other +
                                              "\n" + kSettings));
  std::string why;
  REQUIRE_MESSAGE(host.WaitReady(10s, &why), why);
  CHECK_MESSAGE(host.WaitForLog("is not on the file system of the spool", 5s), host.Log());
  auto exit = host.StopWith(SIGTERM, 10s);
  CHECK_MESSAGE((exit && exit->ExitedWith(0)), host.Log());
  ::rmdir(other.c_str());
}

TEST_CASE("xray-scanner refuses bad settings at create, naming the setting") {
  const std::pair<std::string, std::string> cases[] = {
      {"settle_ms = 200", "spool"},  // no spool at all
      {"spool = relative/dir", "spool"},
      {"spool = /tmp/x\nsettle_ms = -1", "settle_ms"},
      {"spool = /tmp/x\npair_timeout_ms = soon", "pair_timeout_ms"},
      {"spool = /tmp/x\nrescan_interval_ms = 1", "rescan_interval_ms"},
      {"spool = /tmp/x\nmax_image_bytes = 0", "max_image_bytes"},
      {"spool = /tmp/x\nprocessed_dir = x", "processed_dir"},
  };
  for (const auto& [setting, named] : cases) {
    CAPTURE(setting);
    TempDir dir;
    HostProcess bad(dir, HostSection(dir) +
                             PluginSection("xray1", SitePlugin("xray-scanner"), setting));
    auto exit = bad.WaitExit(10s);
    REQUIRE_MESSAGE(exit.has_value(), bad.Log());
    CHECK_FALSE(exit->ExitedWith(0));
    CHECK_MESSAGE(Contains(bad.Log(), "setting '" + named + "'"), bad.Log());
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
