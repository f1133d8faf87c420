#include "host_harness.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "sqlite_db.h"

namespace kordon::testing {

std::string HostBinary() { return std::string(KORDON_BIN_DIR) + "/kordon-host"; }
std::string ToolBinary() { return std::string(KORDON_BIN_DIR) + "/kordon"; }
std::string TestPlugin(const std::string& stem) { return std::string(KORDON_TEST_PLUGIN_DIR) + "/" + stem + ".so"; }
std::string SitePlugin(const std::string& stem) { return std::string(KORDON_PLUGIN_DIR) + "/" + stem + ".so"; }
std::string IntegrationPlugin(const std::string& stem) {
  return std::string(KORDON_INTEGRATION_PLUGIN_DIR) + "/" + stem + ".so";
}
std::string SourcePath(const std::string& relative) { return std::string(KORDON_SOURCE_DIR) + "/" + relative; }

// ---------------------------------------------------------------------------------------------

TempDir::TempDir() {
  char pattern[] = "/tmp/kordon-integ-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  const char* keep = getenv("KORDON_KEEP_TEST_DIRS");
  if (keep != nullptr && std::string(keep) == "1") return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string HostSection(const TempDir& dir, const std::string& extra) {
  return "[host]\n"
         "name = integ\n"
         "bus.ingress = tcp://127.0.0.1:*\n"
         "bus.egress = tcp://127.0.0.1:*\n"
         "ready_file = " + dir.File("ready.json") + "\n" + extra + "\n";
}

std::string PluginSection(const std::string& instance, const std::string& library,
                          const std::string& extra) {
  return "[plugin." + instance + "]\nlibrary = " + library + "\n" + extra + "\n";
}

// ---------------------------------------------------------------------------------------------

std::optional<ReadyInfo> ReadReadyFile(const std::string& path) {
  std::string text = ReadFileOrEmpty(path);
  if (text.empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    ReadyInfo r;
    r.pid = j.at("pid").get<int64_t>();
    r.ingress = j.at("ingress").get<std::string>();
    r.egress = j.at("egress").get<std::string>();
    r.instances = j.at("instances").get<std::vector<std::string>>();
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

HostProcess::HostProcess(const TempDir& dir, const std::string& config_text,
                         const std::string& config_name)
    : config_path_(dir.File(config_name)), ready_path_(dir.File("ready.json")),
      log_path_(dir.File("host.log")) {
  WriteFile(config_path_, config_text);
  child_ = ChildProcess::Spawn({HostBinary(), "--config", config_path_}, log_path_, log_path_,
                               &spawn_error_);
}

bool HostProcess::WaitReady(std::chrono::milliseconds timeout, std::string* why) {
  if (!child_) {
    *why = "kordon-host did not start: " + spawn_error_;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto r = ReadReadyFile(ready_path_)) {
      ready_ = *r;
      return true;
    }
    if (auto s = child_->Poll()) {
      *why = "kordon-host ended (" + s->ToString() + ") before writing its ready file; log:\n" + Log();
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      *why = "no ready file after " + std::to_string(timeout.count()) + " ms; log:\n" + Log();
      child_->Kill();
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::optional<ExitStatus> HostProcess::StopWith(int signal, std::chrono::milliseconds timeout) {
  if (!child_) return std::nullopt;
  if (auto s = child_->Poll()) return s;  // already gone: let the caller see how
  child_->Signal(signal);
  if (auto s = child_->WaitFor(timeout)) return s;
  child_->Kill();
  return std::nullopt;
}

bool HostProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Contains(Log(), text)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<host::BusClient> ConnectClient(const ReadyInfo& ready,
                                               const std::vector<std::string>& prefixes,
                                               std::string* why, const std::string& source) {
  auto client = std::make_unique<host::BusClient>(source);
  client->Subscribe("client.sync");
  for (const std::string& p : prefixes) client->Subscribe(p);
  if (host::Status s = client->ConnectEgress(ready.egress); !s.ok()) {
    *why = s.ToString();
    return nullptr;
  }
  if (host::Status s = client->ConnectIngress(ready.ingress); !s.ok()) {
    *why = s.ToString();
    return nullptr;
  }
  if (host::Status s = client->WaitUntilLive(5s); !s.ok()) {
    *why = s.ToString();
    return nullptr;
  }
  return client;
}

std::optional<host::BusMessage> ReceiveTopic(
    host::BusClient& client, const std::string& topic, std::chrono::milliseconds timeout,
    const std::function<bool(const host::BusMessage&)>& accept,
    std::vector<host::BusMessage>* skipped) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = client.Receive(left);
    if (!m) return std::nullopt;
    if (m->topic == topic && (!accept || accept(*m))) return m;
    if (skipped != nullptr && m->topic != "client.sync") skipped->push_back(std::move(*m));
  }
}

std::vector<host::BusMessage> ReceiveFor(host::BusClient& client, std::chrono::milliseconds duration) {
  std::vector<host::BusMessage> out;
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    auto m = client.Receive(left);
    if (!m) return out;
    if (m->topic != "client.sync") out.push_back(std::move(*m));
  }
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int LineOf(const std::string& text, const std::string& needle) {
  std::vector<std::string> lines = Lines(text);
  for (size_t i = 0; i < lines.size(); ++i)
    if (Contains(lines[i], needle)) return static_cast<int>(i + 1);
  return 0;
}

std::map<std::string, InstanceStatsLine> ParseInstanceStats(const std::string& log) {
  static const std::regex kLine(
      R"(([a-z0-9_-]+): received (\d+), published (\d+), handler errors (\d+), publish failures (\d+), )"
      R"(not delivered after stop (\d+), dropped before start (\d+), timers (\d+), requests (\d+) \(timed out (\d+)\))");
  std::map<std::string, InstanceStatsLine> out;
  std::vector<std::string> lines = Lines(log);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_search(lines[i], m, kLine)) continue;
    InstanceStatsLine s;
    s.instance = m[1];
    s.received = std::stoull(m[2]);
    s.published = std::stoull(m[3]);
    s.handler_errors = std::stoull(m[4]);
    s.publish_failures = std::stoull(m[5]);
    s.not_delivered_after_stop = std::stoull(m[6]);
    s.dropped_before_start = std::stoull(m[7]);
    s.timers = std::stoull(m[8]);
    s.requests = std::stoull(m[9]);
    s.timed_out = std::stoull(m[10]);
    s.line_index = i;
    out[s.instance] = s;
  }
  return out;
}

std::optional<BusStatsLine> ParseBusStats(const std::string& log) {
  static const std::regex kLine(
      R"(bus: forwarded (\d+), external accepted (\d+), external rejected (\d+), egress overflow (\d+), )"
      R"(backpressure waits (\d+))");
  std::optional<BusStatsLine> out;
  for (const std::string& line : Lines(log)) {
    std::smatch m;
    if (!std::regex_search(line, m, kLine)) continue;
    BusStatsLine b;
    b.forwarded = std::stoull(m[1]);
    b.external_accepted = std::stoull(m[2]);
    b.external_rejected = std::stoull(m[3]);
    b.egress_overflow = std::stoull(m[4]);
    b.backpressure_waits = std::stoull(m[5]);
    out = b;
  }
  return out;
}

uint16_t StartListeningSimulator(const std::vector<std::string>& argv, const TempDir& dir,
                                 std::unique_ptr<ChildProcess>* sim, std::string* why) {
  *sim = ChildProcess::Spawn(argv, dir.File("sim.out"), dir.File("sim.err"), why);
  if (!*sim) return 0;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = (*sim)->ReadStdout();
    const std::string prefix = "listening ";
    const size_t end = text.find('\n');
    if (text.rfind(prefix, 0) == 0 && end != std::string::npos) {
      const size_t colon = text.rfind(':', end);
      if (colon != std::string::npos && colon > prefix.size())
        return static_cast<uint16_t>(std::stoi(text.substr(colon + 1, end - colon - 1)));
    }
    if (!(*sim)->running()) break;
    std::this_thread::sleep_for(10ms);
  }
  *why = "the simulator did not report its port; stderr:\n" + (*sim)->ReadStderr();
  return 0;
}


int RunKordon(const TempDir& dir, const std::vector<std::string>& args, std::string* out,
              std::string* err) {
  std::vector<std::string> argv = {ToolBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = RunProgram(argv, dir.path(), std::chrono::seconds(20));
  if (out != nullptr) *out = r.out;
  if (err != nullptr) *err = r.err;
  return r.status.exited && !r.timed_out ? r.status.code : -1;
}

std::unique_ptr<ChildProcess> LockSqliteFile(const TempDir& dir, const std::string& db,
                                             double seconds, std::string* why) {
  const std::string script =
      "import sqlite3, sys, time\n"
      "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
      "c.execute('BEGIN EXCLUSIVE')\n"
      "print('locked', flush=True)\n"
      "time.sleep(float(sys.argv[2]))\n"
      "c.execute('COMMIT')\n";
  auto locker = ChildProcess::Spawn({"/usr/bin/python3", "-c", script, db, std::to_string(seconds)},
                                    dir.File("lock.out"), dir.File("lock.err"), why);
  if (!locker) return nullptr;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!Contains(locker->ReadStdout(), "locked") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!Contains(locker->ReadStdout(), "locked")) {
    *why = "the lock of " + db + " was not taken: " + locker->ReadStderr();
    return nullptr;
  }
  return locker;
}

std::vector<int> JournalNumbers(const std::string& journal, const std::string& topic,
                                const std::string& source, const std::string& from) {
  std::vector<int> out;
  sqlite::DbStatus s;
  sqlite::OpenOptions o;
  o.read_only = true;
  auto db = sqlite::Db::Open(journal, o, &s);
  if (!db) return out;
  auto q = db->Prepare("SELECT body FROM messages WHERE topic = ?1 AND source = ?2 ORDER BY seq",
                       &s);
  if (!q) return out;
  q.Bind(1, topic);
  q.Bind(2, source);
  while (q.Next() == sqlite::Statement::Step::kRow) {
    nlohmann::json j = nlohmann::json::parse(q.Text(0), nullptr, false);
    if (j.is_object() && j.value("from", "") == from) out.push_back(j.value("n", -1));
  }
  return out;
}

std::string CheckOnceInOrder(const std::vector<int>& got, int count) {
  std::vector<int> seen(static_cast<size_t>(std::max(count, 0)), 0);
  int foreign = 0;
  for (int n : got) {
    if (n >= 0 && n < count) ++seen[static_cast<size_t>(n)];
    else ++foreign;
  }
  int missing = 0, doubled = 0;
  std::string which;  // the first missing numbers, to see where they went
  for (size_t n = 0; n < seen.size(); ++n) {
    if (seen[n] == 0 && ++missing <= 12) which += (which.empty() ? "" : " ") + std::to_string(n);
    if (seen[n] > 1) ++doubled;
  }
  int disorder = 0;
  for (size_t i = 1; i < got.size(); ++i)
    if (got[i] <= got[i - 1]) ++disorder;
  if (missing == 0 && doubled == 0 && disorder == 0 && foreign == 0) return "";
  return "got " + std::to_string(got.size()) + " of " + std::to_string(count) + ": missing " +
         std::to_string(missing) + (missing > 0 ? " (" + which + (missing > 12 ? " ...)" : ")") : "") +
         ", doubled " + std::to_string(doubled) + ", out of order " + std::to_string(disorder) +
         ", unexpected " + std::to_string(foreign);
}

}  // namespace kordon::testing
