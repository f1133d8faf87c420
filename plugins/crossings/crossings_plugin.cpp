// crossings_plugin.cpp — the crossings plugin: feeds every read, hit, assessment, decision
// and command to the Book (book.h), publishes crossing.opened / crossing.updated (coalesced)
// / crossing.closed, stores every change in the crossings file (crossing_store.h), answers
// crossings.command, crossings.get and crossings.search (see README.md).
//
// A write that fails (a locked file, a full disk) keeps the records in memory, raises
// alert.raised, and is retried with backoff; the bus side goes on meanwhile.
//
// Threading: everything runs on the instance's thread (constructor, Start, Stop, OnMessage,
// the timers); nothing here is shared with another thread.

#include <kordon/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "book.h"
#include "command.h"
#include "crossing.h"
#include "crossing_store.h"
#include "plugin_settings.h"

namespace {

namespace cx = kordon::crossings;
using Json = nlohmann::json;

constexpr char kCommandTopic[] = "crossing.command";
constexpr char kRejectedTopic[] = "crossing.command.rejected";
constexpr char kUnattachedTopic[] = "crossing.unattached";
constexpr size_t kMaxReplyBytes = 900 * 1024;  // below the bus's 1 MiB body limit
constexpr auto kAlertInterval = std::chrono::seconds(10);

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

cx::Meta MetaOf(const kordon::Message& m) {
  cx::Meta meta;
  meta.topic = std::string(m.topic());
  meta.id = std::string(m.id());
  meta.time_us = m.time_us();
  meta.source = std::string(m.source());
  meta.lane = std::string(m.lane());
  meta.crossing_id = std::string(m.crossing_id());
  return meta;
}

class CrossingsPlugin : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit CrossingsPlugin(kordon::Host host) : Plugin(std::move(host)) {
    namespace st = kordon::settings;
    const kordon::Host& h = this->host();
    path_ = h.ConfigOr("path", "");
    if (path_.empty()) throw std::invalid_argument("setting 'path' (the SQLite file) is required");
    std::stringstream lanes(h.ConfigOr("lanes", ""));
    for (std::string lane; std::getline(lanes, lane, ',');) {
      lane.erase(0, lane.find_first_not_of(" \t"));
      lane.erase(lane.find_last_not_of(" \t") + 1);
      if (lane.empty()) continue;
      if (!cx::ValidLane(lane))
        throw std::invalid_argument("setting 'lanes': '" + lane +
                                    "' is not a lane name (A-Z a-z 0-9 _ - . :)");
      options_.lanes.insert(lane);
    }
    options_.idle_timeout_us = st::IntInRange(h, "idle_timeout_s", 300, 1, 86400) * 1'000'000;
    options_.max_open_us = st::IntInRange(h, "max_open_s", 0, 0, 7 * 86400) * 1'000'000;
    options_.reread_window_us = st::IntInRange(h, "reread_s", 10, 0, 600) * 1'000'000;
    options_.limits.list = static_cast<size_t>(st::IntInRange(h, "max_items", 50, 1, 1000));
    options_.limits.evidence =
        static_cast<size_t>(st::IntInRange(h, "max_evidence", 1000, 10, 100000));
    update_ms_ = st::IntInRange(h, "update_ms", 100, 0, 10000);
    tick_ms_ = st::IntInRange(h, "tick_ms", 1000, 50, 60000);
    busy_timeout_ms_ = static_cast<int>(st::IntInRange(h, "busy_timeout_ms", 200, 0, 5000));
    checkpoint_ms_ = st::IntInRange(h, "checkpoint_ms", 1000, 0, 60000);
    if (checkpoint_ms_ != 0 && checkpoint_ms_ < 50)
      throw std::invalid_argument("setting 'checkpoint_ms' must be 0 (the writer checkpoints) "
                                  "or at least 50, got " + std::to_string(checkpoint_ms_));
  }

  kordon::Status Start() override {
    std::string error;
    store_ = cx::CrossingStore::Open(path_, false, busy_timeout_ms_, &error);
    if (!store_) return kordon::Status::Failed("cannot open the crossings file: " + error);
    if (checkpoint_ms_ > 0) {
      if (auto s = store_->StartBackgroundCheckpoints(std::chrono::milliseconds(checkpoint_ms_));
          !s.ok())
        return kordon::Status::Failed("cannot start the crossings file's checkpoints: " +
                                      s.message);
    }
    book_ = std::make_unique<cx::Book>(
        options_, [this](const std::string& id) { return store_->Exists(id); },
        [this](const std::string& id) -> std::optional<cx::Crossing> {
          // Not yet written (the file is failing): the newest picture is the pending one.
          if (auto it = pending_.find(id); it != pending_.end()) {
            std::string error;
            return cx::Crossing::FromJson(Json::parse(it->second.picture, nullptr, false),
                                          &error);
          }
          kordon::sqlite::DbStatus s;
          auto c = store_->Get(id, &s);
          if (!s.ok()) host().Warn("crossing " + id + " could not be read back: " + s.message);
          return c;
        });
    coalescer_ = std::make_unique<cx::UpdateCoalescer>(update_ms_ * 1000);
    std::vector<cx::Crossing> unclosed;
    std::vector<std::string> problems;
    if (auto s = store_->LoadUnclosed(&unclosed, &problems); !s.ok())
      return kordon::Status::Failed("cannot reload open crossings: " + s.message);
    for (const std::string& p : problems) host().Error(p);
    for (cx::Crossing& c : unclosed) {
      if (!options_.lanes.empty() && !options_.lanes.count(c.lane)) continue;
      ++reloaded_;
      book_->Restore(std::move(c));
    }
    if (reloaded_ > 0) host().Info("reloaded " + std::to_string(reloaded_) + " open crossings");
    (void)book_->TakeDirty();  // nothing changed yet
    kordon::Status s = host().StartTimer(std::chrono::milliseconds(tick_ms_),
                                         std::chrono::milliseconds(tick_ms_), [this] { Tick(); });
    if (!s.ok()) return s;
    if (update_ms_ > 0) {
      s = host().StartTimer(std::chrono::milliseconds(update_ms_),
                            std::chrono::milliseconds(update_ms_), [this] { PublishDue(); });
      if (!s.ok()) return s;
    }
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    next_retry_ = {};
    Flush();
    const cx::BookStats& b = book_->stats();
    std::string by;
    for (const auto& [reason, n] : b.closed_by)
      by += (by.empty() ? "" : ", ") + reason + " " + std::to_string(n);
    host().Info("messages " + std::to_string(b.messages) + ", attached " +
                std::to_string(b.attached) + ", opened " + std::to_string(b.opened) +
                ", closed " + std::to_string(b.closed) + (by.empty() ? "" : " (" + by + ")") +
                ", late " +
                std::to_string(b.late) + ", unattached " + std::to_string(b.unattached) +
                ", unknown crossing " + std::to_string(b.unknown_crossing) + ", bad inputs " +
                std::to_string(b.bad_inputs) + ", rejected " + std::to_string(b.rejected) +
                ", ignored " + std::to_string(b.ignored) + ", reloaded " +
                std::to_string(reloaded_) + ", writes " + std::to_string(writes_) +
                " (mean " + std::to_string(writes_ ? write_us_ / writes_ : 0) +
                " us), write errors " + std::to_string(write_errors_) + ", publish failures " +
                std::to_string(publish_failures_) + CheckpointSummary());
    if (!pending_.empty())
      return kordon::Status::Failed(std::to_string(pending_.size()) +
                                    " crossings could not be written to " + path_);
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    const std::string_view topic = m.topic();
    const int64_t now = NowUs();
    if (topic == "rpc.crossings.command") {
      if (m.is_request()) Command(m, now);
    } else if (topic == kCommandTopic) {
      Command(m, now);
    } else if (topic == "rpc.crossings.get") {
      if (m.is_request()) Get(m);
    } else if (topic == "rpc.crossings.search") {
      if (m.is_request()) Search(m);
    } else if (topic == "officer.decision" || topic == "officer.override") {
      const bool decision = topic == "officer.decision";
      cx::Outcome out = decision ? book_->OnDecision(MetaOf(m), m.body(), now)
                                 : book_->OnOverride(MetaOf(m), m.body(), now);
      if (!out.error.empty()) Rejected(m, decision ? "decision" : "override", out.error);
      else if (m.is_request()) Reply(m, out.reply);
      if (!out.log.empty()) host().Info(out.log);  // an override after the close
      Handle(out, now);
    } else {
      cx::Outcome out = book_->OnMessage(MetaOf(m), m.body(), now);
      if (!out.error.empty()) Unattached(m, out.error);
      if (!out.problem.empty())
        host().Warn(out.problem + " (" + std::to_string(book_->stats().bad_inputs) +
                    " bad inputs so far)");
      // A truck routinely leaves the weighbridge after the next plate was read: its
      // scale.weight.cleared reaching the closed crossing is normal; other late messages
      // (a hit, an assessment) are worth a warning.
      if (!out.log.empty()) {
        if (topic == "scale.weight.cleared") host().Info(out.log);
        else host().Warn(out.log);
      }
      Handle(out, now);
    }
    return kordon::Status::Ok();
  }

 private:
  void Command(const kordon::Message& m, int64_t now) {
    std::string error;
    std::optional<cx::Command> c = cx::ParseCommand(m.body(), &error);
    cx::Outcome out;
    if (c) out = book_->OnCommand(*c, MetaOf(m), now);
    else out.error = error;
    const std::string action = c ? cx::ActionName(c->action) : "command";
    if (!out.error.empty()) {
      if (!c) ++parse_rejected_;
      Rejected(m, action, out.error);
    } else if (m.is_request()) {
      Reply(m, out.reply);
    }
    if (!out.log.empty()) host().Warn(out.log);
    Handle(out, now);
  }

  void Get(const kordon::Message& m) {
    std::string error;
    std::optional<std::string> id = cx::ParseGet(m.body(), &error);
    if (!id) return ReplyError(m, error);
    if (const cx::Crossing* c = book_->Find(*id)) return Reply(m, c->ToJson());
    if (auto it = pending_.find(*id); it != pending_.end())
      return Reply(m, Json::parse(it->second.picture));
    kordon::sqlite::DbStatus s;
    std::optional<cx::Crossing> c = store_->Get(*id, &s);
    if (!s.ok()) return ReplyError(m, "the crossings file cannot be read: " + s.message);
    if (!c) return ReplyError(m, "unknown crossing '" + *id + "'");
    Reply(m, c->ToJson());
  }

  void Search(const kordon::Message& m) {
    std::string error;
    std::optional<cx::SearchQuery> q = cx::ParseSearch(m.body(), &error);
    if (!q) return ReplyError(m, error);
    next_retry_ = {};
    Flush();  // what the book holds is what a search finds
    std::vector<Json> found;
    if (auto s = store_->Search(*q, &found); !s.ok())
      return ReplyError(m, "the crossings file cannot be searched: " + s.message);
    Json list = Json::array();
    size_t bytes = 0;
    bool truncated = false;
    for (const Json& picture : found) {
      Json summary = cx::Summary(picture);
      bytes += summary.dump().size();
      if (bytes > kMaxReplyBytes) {
        truncated = true;
        break;
      }
      list.push_back(std::move(summary));
    }
    Reply(m, Json{{"crossings", list}, {"count", list.size()}, {"truncated", truncated},
                  {"unwritten", pending_.size()}});
  }

  void Reply(const kordon::Message& m, const Json& body) {
    if (!host().Reply(m, body.dump()).ok()) ++publish_failures_;
  }
  void ReplyError(const kordon::Message& m, const std::string& error) {
    ++requests_refused_;
    if (!host().ReplyError(m, KORDON_E_INVALID_ARGUMENT, Json{{"error", error}}.dump()).ok())
      ++publish_failures_;
  }

  // A refused decision or command: an error reply for a request, an event either way (a
  // fire-and-forget sender and the journal see why nothing happened).
  void Rejected(const kordon::Message& m, const std::string& action, const std::string& why) {
    ++rejected_;
    host().Warn(std::string(m.topic()) + " " + std::string(m.id()) + " from " +
                std::string(m.source()) + " rejected: " + why + " (" +
                std::to_string(rejected_) + " so far)");
    if (m.is_request()) ReplyError(m, why);
    Json body = {{"action", action},
                 {"reason", why},
                 {"source_id", std::string(m.id())},
                 {"source_topic", std::string(m.topic())},
                 {"source", std::string(m.source())},
                 {"rejected_total", rejected_}};
    Publish(kRejectedTopic, body.dump(), std::string(m.lane()), std::string(m.crossing_id()));
  }

  // A message no crossing could take. Benign cases (a scale emptied with no crossing open)
  // are counted and logged at debug level; a hit, an assessment, a read naming an unknown
  // crossing or a read that could not be used also gets crossing.unattached, so that
  // nothing that matters disappears quietly.
  void Unattached(const kordon::Message& m, const std::string& why) {
    const std::string_view t = m.topic();
    const bool benign = t == "scale.weight.cleared" ||
                        (t == "scanner.plate.read" && why.find("outbound") == 0);
    if (benign) {
      host().Debug(why);
      return;
    }
    ++unattached_reported_;
    host().Warn(why + " (" + std::to_string(unattached_reported_) + " so far)");
    Json body = {{"reason", why},
                 {"source_id", std::string(m.id())},
                 {"source_topic", std::string(t)},
                 {"unattached_total", unattached_reported_}};
    Publish(kUnattachedTopic, body.dump(), std::string(m.lane()), std::string(m.crossing_id()));
  }

  // Publishes the outcome's events and stores what changed. Each changed picture is turned
  // into JSON once, for the bus and the file.
  void Handle(const cx::Outcome& out, int64_t now) {
    std::map<std::string, std::string> pictures;
    auto picture = [&](const cx::Crossing& c) -> const std::string& {
      auto [it, added] = pictures.try_emplace(c.id);
      if (added) it->second = c.ToJson().dump();
      return it->second;
    };
    for (const cx::Event& e : out.events) {
      const cx::Crossing* c = book_->Find(e.crossing_id);
      if (c == nullptr) continue;  // cannot happen: the book keeps what changed until TakeDirty
      switch (e.kind) {
        case cx::Event::Kind::kOpened:
          Publish("crossing.opened", picture(*c), c->lane, c->id);
          break;
        case cx::Event::Kind::kUpdated:
          // Late changes to a closed crossing go out at once: they are rare and the
          // officer must see a late hit.
          if (c->state == cx::State::kClosed || update_ms_ == 0 ||
              coalescer_->Changed(c->id, now))
            Publish("crossing.updated", picture(*c), c->lane, c->id);
          break;
        case cx::Event::Kind::kClosed:
          coalescer_->Forget(c->id);
          Publish("crossing.closed", picture(*c), c->lane, c->id);
          host().Info("crossing " + c->id + " closed (" + c->close_reason + ")");
          break;
      }
    }
    for (const std::string& id : book_->TakeDirty())
      if (const cx::Crossing* c = book_->Find(id)) pending_[id] = cx::ToRecord(*c, picture(*c));
    Flush();
  }

  std::string CheckpointSummary() const {
    const auto stats = store_ ? store_->checkpoint_stats() : std::nullopt;
    if (!stats) return "";
    return ", background checkpoints " + std::to_string(stats->runs) + " (failed " +
           std::to_string(stats->failures) + ", WAL " + std::to_string(stats->wal_frames) +
           " pages at the last)";
  }

  void PublishPicture(const char* topic, const cx::Crossing& c) {
    Publish(topic, c.ToJson().dump(), c.lane, c.id);
  }

  void Publish(const char* topic, const std::string& body, const std::string& lane,
               const std::string& crossing) {
    kordon::PublishOptions o;
    if (!lane.empty()) o.lane = lane.c_str();
    if (!crossing.empty()) o.crossing_id = crossing.c_str();
    kordon::Status s = host().Publish(topic, body, o);
    if (!s.ok()) {
      ++publish_failures_;
      host().Error(std::string(topic) + " for " + crossing + " not published: " +
                   s.ToString() + " (" + std::to_string(publish_failures_) + " so far)");
    }
  }

  void PublishDue() {
    for (const std::string& id : coalescer_->Due(NowUs()))
      if (const cx::Crossing* c = book_->Find(id); c && c->state != cx::State::kClosed)
        PublishPicture("crossing.updated", *c);
  }

  void Tick() {
    const int64_t now = NowUs();
    Handle(book_->Tick(now), now);
    ReportCheckpoints();
  }

  // A failed background checkpoint is logged, the first at once and then at most every
  // kAlertInterval while they go on (the writer falls back to checkpointing itself once the
  // WAL passes CrossingStore::kFallbackCheckpointPages pages).
  void ReportCheckpoints() {
    const auto stats = store_->checkpoint_stats();
    if (!stats || stats->failures == checkpoint_failures_reported_) return;
    const auto now = std::chrono::steady_clock::now();
    if (checkpoint_failures_reported_ > 0 && now - last_checkpoint_log_ < kAlertInterval) return;
    checkpoint_failures_reported_ = stats->failures;
    last_checkpoint_log_ = now;
    host().Error("background checkpoint of " + path_ + " failed (" +
                 std::to_string(stats->failures) + " of " + std::to_string(stats->runs) +
                 " so far): " + stats->last_error + "; the writer checkpoints itself past " +
                 std::to_string(cx::CrossingStore::kFallbackCheckpointPages) + " WAL pages");
  }

  // Writes the pending records in one transaction; on failure keeps them, alerts, and
  // retries with backoff (100 ms doubling to 5 s) from the next message or tick.
  void Flush() {
    if (pending_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_retry_) return;
    std::vector<cx::Record> records;
    records.reserve(pending_.size());
    for (const auto& [id, r] : pending_) records.push_back(r);
    const auto started = std::chrono::steady_clock::now();
    const kordon::sqlite::DbStatus s = store_->Write(records);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    if (s.ok()) {
      ++writes_;
      write_us_ += static_cast<uint64_t>(us);
      pending_.clear();
      if (failing_) {
        host().Info("the crossings file is writable again; " + std::to_string(records.size()) +
                    " crossings written");
        failing_ = false;
        backoff_ = std::chrono::milliseconds(100);
      }
      return;
    }
    ++write_errors_;
    failing_ = true;
    next_retry_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(5000));
    const std::string what = s.busy()   ? "the crossings file is locked"
                             : s.full() ? "the crossings file (or its disk) is full"
                                        : "the crossings file cannot be written";
    host().Error(what + ": " + s.message + "; " + std::to_string(pending_.size()) +
                 " crossings kept in memory and retried (" + std::to_string(write_errors_) +
                 " write errors so far)");
    if (write_errors_ > 1 && now - last_alert_ < kAlertInterval) return;
    last_alert_ = now;
    Json alert = {{"source", host().instance_name()},
                  {"severity", "critical"},
                  {"reason", what + "; crossings are kept in memory and retried: " + s.message}};
    if (!host().Publish("alert.raised", alert.dump()).ok()) ++publish_failures_;
  }

  std::string path_;
  cx::BookOptions options_;
  int64_t update_ms_ = 100;
  int64_t tick_ms_ = 1000;
  int busy_timeout_ms_ = 200;
  int64_t checkpoint_ms_ = 1000;
  uint64_t checkpoint_failures_reported_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_log_{};
  std::unique_ptr<cx::CrossingStore> store_;
  std::unique_ptr<cx::Book> book_;
  std::unique_ptr<cx::UpdateCoalescer> coalescer_;
  std::map<std::string, cx::Record> pending_;  // written in id order (no lock-order games)
  bool failing_ = false;
  std::chrono::steady_clock::time_point next_retry_{};
  std::chrono::milliseconds backoff_{100};
  std::chrono::steady_clock::time_point last_alert_{};
  uint64_t reloaded_ = 0;
  uint64_t writes_ = 0;
  uint64_t write_us_ = 0;
  uint64_t write_errors_ = 0;
  uint64_t publish_failures_ = 0;
  uint64_t rejected_ = 0;
  uint64_t parse_rejected_ = 0;
  uint64_t requests_refused_ = 0;
  uint64_t unattached_reported_ = 0;
};

}  // namespace

KORDON_PLUGIN(CrossingsPlugin,
              {.name = "crossings",
               .kind = KORDON_KIND_DATABASE,
               .vendor = "Kordon",
               .version = "0.1.0",
               .description = "One crossing per vehicle or traveller and lane: opened, "
                              "updated, closed and stored (SQLite)",
               .publishes = {"crossing.opened", "crossing.updated", "crossing.closed",
                             "crossing.command.rejected", "crossing.unattached",
                             "alert.raised"},
               .subscribes = {"scanner.plate.read", "scanner.document.read",
                              "scanner.container.read", "scanner.xray.scan", "scale.weight.stable",
                              "scale.weight.cleared", "db.watchlist.hit", "db.watchlist.error",
                              "db.manifest.match", "db.manifest.unmatched", "db.manifest.error",
                              "risk.assessment",
                              "officer.decision", "officer.override", "crossing.command"},
               .services = {"crossings.command", "crossings.get", "crossings.search"}})
