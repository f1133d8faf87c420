// watchlist_plugin.cpp — the watchlist plugin: screens every scanner.document.read and
// scanner.plate.read against the lists in its SQLite store, publishes db.watchlist.hit, and
// answers the db.watchlist.check service (see README.md).
//
// The match index is an immutable Snapshot; a reload (after `kordon watchlist import`,
// noticed through db.watchlist.updated or PRAGMA data_version polling) builds a new one and
// swaps it in whole, so a check never sees half a list.
//
// Threading: the constructor, Start, Stop, OnMessage and the poll timer run on the instance's
// thread. Reloads after Start run on the plugin's loader thread with its own SQLite connection:
// building the index of a million names takes seconds, and checks must go on meanwhile
// (against the previous lists) instead of queueing behind it. The two threads share only the
// Watchlist (an atomic snapshot pointer), the reload request flags (under mu_) and atomic
// counters; host services are safe from any thread.

#include <kordon/plugin.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "store.h"
#include "watchlist.h"
#include "watchlist_message.h"

namespace {

namespace wl = kordon::watchlist;

constexpr int64_t kDefaultPollMs = 1000;

class WatchlistPlugin : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit WatchlistPlugin(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    path_ = h.ConfigOr("path", "");
    if (path_.empty()) throw std::invalid_argument("setting 'path' (the SQLite file) is required");
    import_ = h.ConfigOr("import", "");
    import_list_ = h.ConfigOr("import_list", "local");
    if (import_list_.empty())
      throw std::invalid_argument("setting 'import_list' must not be empty");
    import_format_ = h.ConfigOr("import_format", "");
    if (!import_format_.empty() && import_format_ != "csv" && import_format_ != "un-xml")
      throw std::invalid_argument("setting 'import_format' must be csv or un-xml, got '" +
                                  import_format_ + "'");
    if (auto text = h.Config("min_score")) {
      size_t used = 0;
      double v = -1;
      try {
        v = std::stod(*text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != text->size() || !(v > 0 && v <= 1))
        throw std::invalid_argument("setting 'min_score' must be a number in (0, 1], got '" +
                                    *text + "'");
      options_.min_score = v;
    }
    const int64_t max_hits = h.ConfigInt("max_hits", 5);
    if (max_hits < 1 || max_hits > 100)
      throw std::invalid_argument("setting 'max_hits' must be between 1 and 100, got " +
                                  std::to_string(max_hits));
    options_.max_hits = static_cast<size_t>(max_hits);
    const int64_t poll = h.ConfigInt("poll_ms", kDefaultPollMs);
    if (poll != 0 && (poll < 100 || poll > 60000))
      throw std::invalid_argument("setting 'poll_ms' must be 0 (off) or between 100 and 60000, "
                                  "got " + std::to_string(poll));
    poll_ = std::chrono::milliseconds(poll);
  }

  kordon::Status Start() override {
    try {
      store_ = std::make_unique<wl::Store>(path_);
    } catch (const std::exception& e) {
      return kordon::Status::Failed(e.what());
    }
    if (!import_.empty()) {
      wl::ImportOutcome r = wl::ImportFile(*store_, import_, import_list_, import_format_);
      if (!r.ok) return kordon::Status::Failed("setting 'import': " + r.error);
      host().Info("imported " + std::to_string(r.entries) + " entries from " + import_ +
                  " into list " + import_list_);
    }
    // The first load is synchronous: the instance is not started until its lists are in force.
    std::string error;
    data_version_ = store_->DataVersion();
    if (!Reload(*store_, &error))
      return kordon::Status::Failed("cannot load " + path_ + ": " + error);
    loader_ = std::thread([this] { LoaderLoop(); });
    if (poll_.count() > 0) {
      kordon::Status s = host().StartTimer(poll_, poll_, [this] { Poll(); });
      if (!s.ok()) return s;
    }
    return kordon::Status::Ok();
  }

  ~WatchlistPlugin() override { StopLoader(); }

  kordon::Status Stop() override {
    StopLoader();
    host().Info("checked " + std::to_string(checked_) + " (documents and plates), hits " +
                std::to_string(hits_) + ", requests " + std::to_string(requests_) +
                ", bad inputs " + std::to_string(bad_inputs_) + ", publish failures " +
                std::to_string(publish_failures_) + ", reloads " + std::to_string(reloads_) +
                ", reload failures " + std::to_string(reload_failures_));
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == std::string("rpc.") + wl::kService) {
      if (m.is_request()) Answer(m);
      return kordon::Status::Ok();
    }
    if (m.topic() == wl::kUpdatedTopic) {
      RequestReload();
      return kordon::Status::Ok();
    }
    const bool document = m.topic() == wl::kDocumentTopic;
    if (!document && m.topic() != wl::kPlateTopic) return kordon::Status::Ok();
    std::string error;
    std::optional<wl::Checked> checked =
        document ? wl::FromDocumentRead(m.body(), &error) : wl::FromPlateRead(m.body(), &error);
    if (!checked) {
      ++bad_inputs_;
      PublishError(m, error);
      return kordon::Status::Ok();
    }
    ++checked_;
    std::shared_ptr<const wl::Snapshot> snapshot = watchlist_.Current();
    const std::vector<wl::Hit> hits = snapshot->Check(checked->query, options_);
    const std::string lane(m.lane());
    const std::string crossing(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing.empty()) options.crossing_id = crossing.c_str();
    for (const wl::Hit& hit : hits) {
      ++hits_;
      kordon::Status s = host().Publish(
          wl::kHitTopic, wl::HitBody(hit, checked->subject, m.id(), m.topic()), options);
      if (!s.ok()) {
        ++publish_failures_;
        host().Error("hit on " + hit.entry->list + "/" + hit.entry->id + " for message " +
                     std::string(m.id()) + " not published: " + s.ToString() + " (" +
                     std::to_string(publish_failures_) + " so far)");
      }
    }
    return kordon::Status::Ok();
  }

 private:
  void Answer(const kordon::Message& m) {
    ++requests_;
    std::string error;
    std::optional<wl::Checked> checked = wl::FromCheckRequest(m.body(), &error);
    if (!checked) {
      ++bad_inputs_;
      host().Warn("bad db.watchlist.check request " + std::string(m.id()) + ": " + error);
      (void)host().ReplyError(m, KORDON_E_INVALID_ARGUMENT,
                              nlohmann::json({{"error", error}}).dump());
      return;
    }
    std::shared_ptr<const wl::Snapshot> snapshot = watchlist_.Current();
    const std::vector<wl::Hit> hits = snapshot->Check(checked->query, options_);
    kordon::Status s = host().Reply(m, wl::ReplyBody(hits, checked->subject));
    if (!s.ok()) {
      ++publish_failures_;
      host().Error("reply to " + std::string(m.id()) + " failed: " + s.ToString());
    }
  }

  // The checked message could not be read: an error event, so that the crossing shows the
  // traveller or vehicle as not screened rather than as clean.
  void PublishError(const kordon::Message& m, const std::string& reason) {
    host().Warn(std::string(m.topic()) + " " + std::string(m.id()) + " not screened: " + reason +
                " (" + std::to_string(bad_inputs_) + " bad inputs so far)");
    const std::string lane(m.lane());
    const std::string crossing(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing.empty()) options.crossing_id = crossing.c_str();
    const std::string body = nlohmann::json({{"reason", reason},
                                             {"source_id", std::string(m.id())},
                                             {"source_topic", std::string(m.topic())},
                                             {"bad_inputs", bad_inputs_.load()}})
                                 .dump();
    if (!host().Publish(wl::kErrorTopic, body, options).ok()) ++publish_failures_;
  }

  // A reload in progress finishes first (seconds at a million names; well inside the host's
  // call timeout): SQLite and the index builder have no cancellation point worth the risk.
  void StopLoader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (loader_.joinable()) loader_.join();
  }

  // Instance thread: a cheap PRAGMA data_version on the instance's connection says whether
  // another connection (`kordon watchlist import`) committed since the last look.
  void Poll() {
    const int64_t version = store_->DataVersion();
    if (version == data_version_) return;
    data_version_ = version;
    RequestReload();
  }

  // Any thread: asks the loader for a reload. Requests made while one runs fold into one more.
  void RequestReload() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reload_wanted_ = true;
    }
    cv_.notify_all();
  }

  void LoaderLoop() {
    std::unique_ptr<wl::Store> store;  // the loader's own connection, opened on first use
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || reload_wanted_; });
      if (stopping_) return;
      reload_wanted_ = false;
      lock.unlock();
      std::string error;
      try {
        if (!store) store = std::make_unique<wl::Store>(path_);
        if (!Reload(*store, &error)) ReportReloadFailure(error);
      } catch (const std::exception& e) {
        store.reset();  // reopen next time
        ReportReloadFailure(e.what());
      }
      lock.lock();
    }
  }

  // Loads every list through `store` and swaps the snapshot; on failure the old one stays.
  bool Reload(wl::Store& store, std::string* error) {
    std::vector<wl::Entry> entries;
    const auto started = std::chrono::steady_clock::now();
    if (!store.LoadAll(&entries, error)) return false;
    std::shared_ptr<const wl::Snapshot> next = wl::Snapshot::Build(std::move(entries));
    const size_t count = next->size();
    const size_t names = next->name_count();
    watchlist_.Replace(std::move(next));
    ++reloads_;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    host().Info("watchlist loaded: " + std::to_string(count) + " entries, " +
                std::to_string(names) + " names, read and indexed in " +
                std::to_string(ms.count()) + " ms");
    return true;
  }

  void ReportReloadFailure(const std::string& error) {
    ++reload_failures_;
    host().Error("watchlist reload failed, the previous lists stay in force: " + error);
    const std::string body =
        nlohmann::json({{"reason", "reload failed: " + error}, {"source_id", ""},
                        {"source_topic", ""}, {"bad_inputs", bad_inputs_.load()}})
            .dump();
    if (!host().Publish(wl::kErrorTopic, body).ok()) ++publish_failures_;
  }

  std::string path_;
  std::string import_;
  std::string import_list_;
  std::string import_format_;
  wl::MatchOptions options_;
  std::chrono::milliseconds poll_{kDefaultPollMs};
  std::unique_ptr<wl::Store> store_;
  wl::Watchlist watchlist_;
  int64_t data_version_ = -1;  // instance thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool reload_wanted_ = false;  // under mu_
  bool stopping_ = false;       // under mu_
  std::thread loader_;
  uint64_t checked_ = 0;
  uint64_t hits_ = 0;
  uint64_t requests_ = 0;
  std::atomic<uint64_t> bad_inputs_{0};
  std::atomic<uint64_t> publish_failures_{0};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
};

}  // namespace

KORDON_PLUGIN(WatchlistPlugin,
              {.name = "watchlist",
               .kind = KORDON_KIND_DATABASE,
               .vendor = "Kordon",
               .version = "0.1.0",
               .description = "Screens documents and plates against watchlists (SQLite)",
               .publishes = {"db.watchlist.hit", "db.watchlist.error"},
               .subscribes = {"scanner.document.read", "scanner.plate.read",
                              "db.watchlist.updated"},
               .services = {"db.watchlist.check"}})
