// manifest_plugin.cpp — the manifest plugin: stores cargo declarations in SQLite (imported at
// start, and followed in a JSON Lines file a pre-arrival system appends to), looks up every
// scanner.plate.read and scanner.container.read, publishes db.manifest.match / .unmatched /
// .lodged / .error, and answers the db.manifest.lookup service (see README.md).
//
// A locked or full database never loses a followed line: the parsed manifests wait in memory
// (the file is not read further meanwhile, so memory stays bounded by one poll's lines) and
// are retried on every poll; alert.raised says so, once at the start and every 30 s after.
//
// Threading: everything runs on the instance's thread (constructor, Start, Stop, OnMessage,
// the poll timer); nothing here is shared with another thread.

#include <kordon/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "follow.h"
#include "manifest.h"
#include "manifest_message.h"
#include "manifest_store.h"
#include "plugin_settings.h"

namespace {

namespace mf = kordon::manifest;
using Clock = std::chrono::steady_clock;

constexpr auto kAlertInterval = std::chrono::seconds(30);

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    const size_t a = item.find_first_not_of(" \t");
    const size_t b = item.find_last_not_of(" \t");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
    start = end + 1;
  }
  return out;
}

int64_t NowS() { return static_cast<int64_t>(std::time(nullptr)); }

class ManifestPlugin : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit ManifestPlugin(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    path_ = h.ConfigOr("path", "");
    if (path_.empty()) throw std::invalid_argument("setting 'path' (the SQLite file) is required");
    if (path_[0] != '/')
      throw std::invalid_argument("setting 'path' must be an absolute path, got '" + path_ + "'");
    imports_ = SplitList(h.ConfigOr("import", ""));
    follow_ = h.ConfigOr("follow", "");
    if (!follow_.empty() && follow_[0] != '/')
      throw std::invalid_argument("setting 'follow' must be an absolute path, got '" + follow_ +
                                  "'");
    max_age_s_ = kordon::settings::IntInRange(h, "max_age_h", 72, 1, 24 * 366) * 3600;
    poll_ = std::chrono::milliseconds(kordon::settings::IntInRange(h, "poll_ms", 250, 20, 60000));
    busy_timeout_ms_ =
        static_cast<int>(kordon::settings::IntInRange(h, "busy_timeout_ms", 1000, 0, 60000));
  }

  kordon::Status Start() override {
    kordon::sqlite::DbStatus s;
    store_ = mf::Store::Open(path_, busy_timeout_ms_, &s);
    if (!store_) return kordon::Status::Failed("cannot open manifest database: " + s.message);
    for (const std::string& file : imports_) {
      // A refused file fails the start: the site asked for these manifests to be there.
      mf::ParseResult r = mf::ParseFile(file);
      if (!r.ok())
        return kordon::Status::Failed("setting 'import': " + mf::FormatErrors(file, r) +
                                      "; nothing was imported");
      std::vector<std::string> sources;
      for (size_t line : r.lines) sources.push_back("import:" + file + ":" + std::to_string(line));
      std::vector<mf::PutOutcome> outcomes;
      s = store_->Put(r.manifests, sources, NowS(), &outcomes);
      if (!s.ok())
        return kordon::Status::Failed("setting 'import': cannot store " + file + ": " +
                                      s.message + "; nothing was imported");
      size_t amended = 0;
      for (mf::PutOutcome o : outcomes) amended += o == mf::PutOutcome::kAmended;
      host().Info("imported " + std::to_string(r.manifests.size()) + " manifests from " + file +
                  " (" + std::to_string(amended) + " amended)");
    }
    if (!follow_.empty()) {
      follower_ = std::make_unique<mf::Follower>(follow_, mf::kMaxLineBytes);
      Poll();
      kordon::Status t = host().StartTimer(poll_, poll_, [this] { Poll(); });
      if (!t.ok()) return t;
    }
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    host().Info("looked up " + std::to_string(lookups_) + " (matched " +
                std::to_string(matched_) + ", unmatched " + std::to_string(unmatched_) +
                "), requests " + std::to_string(requests_) + ", lodged " +
                std::to_string(lodged_) + " (amended " + std::to_string(amended_) +
                ", unchanged " + std::to_string(unchanged_) + "), bad lines " +
                std::to_string(bad_lines_) + ", bad inputs " + std::to_string(bad_inputs_) +
                ", database errors " + std::to_string(db_errors_) + ", publish failures " +
                std::to_string(publish_failures_) + ", pending " +
                std::to_string(pending_.size()));
    if (!pending_.empty())
      host().Error(std::to_string(pending_.size()) +
                   " followed manifests were never stored (the database stayed unwritable); "
                   "they are still in " + follow_ + " and are stored at the next start");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == std::string("rpc.") + mf::kService) {
      if (m.is_request()) Answer(m);
      return kordon::Status::Ok();
    }
    const bool plate = m.topic() == mf::kPlateTopic;
    if (!plate && m.topic() != mf::kContainerTopic) return kordon::Status::Ok();
    std::string error;
    std::optional<mf::LookupKey> key =
        plate ? mf::FromPlateRead(m.body(), &error) : mf::FromContainerRead(m.body(), &error);
    if (!key) {
      ++bad_inputs_;
      ReadError(m, error);
      return kordon::Status::Ok();
    }
    ++lookups_;
    std::vector<mf::StoredManifest> found;
    kordon::sqlite::DbStatus s =
        plate ? store_->ByPlate(key->value, NowS() - max_age_s_, &found)
              : store_->ByContainer(key->value, NowS() - max_age_s_, &found);
    if (!s.ok()) {
      DatabaseFailure("cannot look up " + key->matched_by + " " + key->value, s);
      ReadError(m, "the manifest database cannot be read: " + s.message);
      return kordon::Status::Ok();
    }
    if (failing_ && pending_.empty()) {
      failing_ = false;  // the next failure alerts at once again
      host().Info("manifest database readable again");
    }
    std::vector<std::string> others;
    const std::optional<size_t> chosen = mf::Choose(found, *key, m.lane(), &others);
    const std::string lane(m.lane());
    const std::string crossing(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing.empty()) options.crossing_id = crossing.c_str();
    if (chosen) {
      ++matched_;
      Publish(mf::kMatchTopic, mf::MatchBody(found[*chosen], *key, others, m.id(), m.topic()),
              options);
    } else {
      ++unmatched_;
      Publish(mf::kUnmatchedTopic, mf::UnmatchedBody(*key, m.id(), m.topic()), options);
    }
    return kordon::Status::Ok();
  }

 private:
  void Answer(const kordon::Message& m) {
    ++requests_;
    std::string error;
    std::optional<mf::LookupKey> key = mf::FromLookupRequest(m.body(), &error);
    if (!key) {
      ++bad_inputs_;
      host().Warn("bad db.manifest.lookup request " + std::string(m.id()) + ": " + error);
      (void)host().ReplyError(m, KORDON_E_INVALID_ARGUMENT,
                              nlohmann::json({{"error", error}}).dump());
      return;
    }
    std::vector<mf::StoredManifest> found;
    kordon::sqlite::DbStatus s;
    if (key->matched_by == "plate") {
      s = store_->ByPlate(key->value, NowS() - max_age_s_, &found);
    } else if (key->matched_by == "container") {
      s = store_->ByContainer(key->value, NowS() - max_age_s_, &found);
    } else {
      s = store_->ByNumber(key->value, &found);
    }
    if (!s.ok()) {
      DatabaseFailure("cannot answer a lookup", s);
      (void)host().ReplyError(m, KORDON_E_FAILED,
                              nlohmann::json({{"error", "database: " + s.message}}).dump());
      return;
    }
    if (!host().Reply(m, mf::ReplyBody(found)).ok()) ++publish_failures_;
  }

  // Reads new lines of the followed file, unless manifests from earlier lines still wait for
  // the database: those go first, and the file keeps the rest meanwhile.
  void Poll() {
    if (!pending_.empty() && !Flush()) return;
    mf::FollowPoll r = follower_->Poll();
    if (r.appeared) host().Info("following " + follow_);
    if (r.truncated) host().Warn(follow_ + " was truncated: reading it again from the start");
    if (r.replaced) host().Warn(follow_ + " was replaced: reading the new file from the start");
    if (r.vanished) host().Warn(follow_ + " was removed: waiting for it to appear again");
    if (!r.error.empty() && r.error != follow_error_) host().Error(r.error);
    follow_error_ = r.error;
    for (mf::FollowedLine& line : r.lines) {
      if (line.too_long) {
        BadLine(line.line, "the line is longer than " + std::to_string(mf::kMaxLineBytes) +
                               " bytes", {});
        continue;
      }
      if (line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string error;
      std::optional<mf::Manifest> m = mf::ParseJsonLine(line.text, &error);
      if (!m) {
        BadLine(line.line, error, mf::HintsOf(line.text));
        continue;
      }
      pending_.push_back({std::move(*m), line.line});
    }
    if (!pending_.empty()) Flush();
  }

  // Stores the pending manifests in one transaction and publishes db.manifest.lodged for the
  // new and amended ones. False when the database refused (then they stay pending).
  bool Flush() {
    std::vector<mf::Manifest> manifests;
    std::vector<std::string> sources;
    for (const Pending& p : pending_) {
      manifests.push_back(p.manifest);
      sources.push_back("follow:" + follow_ + ":" + std::to_string(p.line));
    }
    std::vector<mf::PutOutcome> outcomes;
    std::vector<int64_t> revisions;
    const int64_t now = NowS();
    kordon::sqlite::DbStatus s = store_->Put(manifests, sources, now, &outcomes, &revisions);
    if (!s.ok()) {
      DatabaseFailure(std::to_string(manifests.size()) +
                          " followed manifests are kept in memory and retried",
                      s);
      return false;
    }
    if (failing_) {
      failing_ = false;
      host().Info("manifest database writable again: stored " + std::to_string(manifests.size()) +
                  " waiting manifests");
    }
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (outcomes[i] == mf::PutOutcome::kUnchanged) {
        ++unchanged_;
        continue;
      }
      const bool amended = outcomes[i] == mf::PutOutcome::kAmended;
      ++lodged_;
      amended_ += amended;
      mf::StoredManifest stored;
      stored.manifest = pending_[i].manifest;
      stored.lodged_at = now;
      stored.source = sources[i];
      stored.revision = revisions[i];
      if (amended) {
        host().Info("manifest " + stored.manifest.number + " amended (revision " +
                    std::to_string(stored.revision) + ", line " +
                    std::to_string(pending_[i].line) + ")");
      }
      kordon::PublishOptions options;
      if (!stored.manifest.lane.empty()) options.lane = stored.manifest.lane.c_str();
      Publish(mf::kLodgedTopic, mf::LodgedBody(stored, amended, follow_, pending_[i].line),
              options);
    }
    pending_.clear();
    return true;
  }

  // A refused line: its error goes to the manifest's lane when the line names one, so that
  // the truck's crossing can show "manifest refused" and why.
  void BadLine(size_t line, const std::string& reason, const mf::LineHints& hints) {
    ++bad_lines_;
    host().Warn(follow_ + ": line " + std::to_string(line) + ": " + reason + " (skipped; " +
                std::to_string(bad_lines_) + " bad lines so far)");
    nlohmann::json body = nlohmann::json::parse(
        mf::ErrorBody(reason, follow_, line, "", "", bad_lines_ + bad_inputs_));
    if (!hints.manifest.empty()) body["manifest"] = hints.manifest;
    kordon::PublishOptions options;
    if (!hints.lane.empty()) options.lane = hints.lane.c_str();
    Publish(mf::kErrorTopic, body.dump(), options);
  }

  // A read that could not be looked up: an error event with its lane and crossing, so that
  // the crossing shows "manifest not checked" rather than "no manifest".
  void ReadError(const kordon::Message& m, const std::string& reason) {
    host().Warn(std::string(m.topic()) + " " + std::string(m.id()) + " not looked up: " +
                reason);
    const std::string lane(m.lane());
    const std::string crossing(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing.empty()) options.crossing_id = crossing.c_str();
    Publish(mf::kErrorTopic,
            mf::ErrorBody(reason, "", 0, m.id(), m.topic(), bad_lines_ + bad_inputs_ + db_errors_),
            options);
  }

  void DatabaseFailure(const std::string& what, const kordon::sqlite::DbStatus& s) {
    ++db_errors_;
    host().Error("manifest database: " + what + ": " + s.message);
    const auto now = Clock::now();
    if (failing_ && now - last_alert_ < kAlertInterval) return;
    failing_ = true;
    last_alert_ = now;
    std::string why = "cannot use the manifest database";
    if (s.full()) why = "the manifest database's disk is full";
    if (s.busy()) why = "the manifest database is locked";
    nlohmann::json alert = {{"source", host().instance_name()},
                            {"severity", "critical"},
                            {"reason", why + "; " + what + ": " + s.message}};
    Publish(mf::kAlertTopic, alert.dump(), {});
  }

  void Publish(const char* topic, const std::string& body, const kordon::PublishOptions& o) {
    kordon::Status s = host().Publish(topic, body, o);
    if (!s.ok()) {
      ++publish_failures_;
      host().Error(std::string(topic) + " not published: " + s.ToString() + " (" +
                   std::to_string(publish_failures_) + " so far)");
    }
  }

  struct Pending {
    mf::Manifest manifest;
    size_t line = 0;
  };

  std::string path_;
  std::vector<std::string> imports_;
  std::string follow_;
  int64_t max_age_s_ = 72 * 3600;
  std::chrono::milliseconds poll_{250};
  int busy_timeout_ms_ = 1000;
  std::unique_ptr<mf::Store> store_;
  std::unique_ptr<mf::Follower> follower_;
  std::vector<Pending> pending_;
  std::string follow_error_;
  bool failing_ = false;
  Clock::time_point last_alert_{};
  uint64_t lookups_ = 0;
  uint64_t matched_ = 0;
  uint64_t unmatched_ = 0;
  uint64_t requests_ = 0;
  uint64_t lodged_ = 0;
  uint64_t amended_ = 0;
  uint64_t unchanged_ = 0;
  uint64_t bad_lines_ = 0;
  uint64_t bad_inputs_ = 0;
  uint64_t db_errors_ = 0;
  uint64_t publish_failures_ = 0;
};

}  // namespace

KORDON_PLUGIN(ManifestPlugin,
              {.name = "manifest",
               .kind = KORDON_KIND_DATABASE,
               .vendor = "Kordon",
               .version = "0.1.0",
               .description = "Cargo declarations (manifests) in SQLite: import, follow, lookup",
               .publishes = {"db.manifest.match", "db.manifest.unmatched", "db.manifest.lodged",
                             "db.manifest.error", "alert.raised"},
               .subscribes = {"scanner.plate.read", "scanner.container.read"},
               .services = {"db.manifest.lookup"}})
