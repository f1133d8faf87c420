// risk_rules.cpp — the risk-rules plugin: assesses every crossing picture (crossing.opened,
// crossing.updated, crossing.closed) against the live risk profile (and a shadow candidate),
// publishes risk.assessment (risk.assessment.shadow) when the crossing's facts change, folds
// risk.indicator messages from site procedures into the crossing's assessment, and reloads
// the profile files when they change (a broken file is reported and the previous profile
// stays). See README.md.
//
// Threading: everything (constructor, Start, Stop, OnMessage, the reload timer) runs on the
// instance's thread, so nothing here is shared and nothing is locked.

#include <kordon/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "facts.h"
#include "history.h"
#include "plugin_settings.h"
#include "profile.h"
#include "profile_file.h"

namespace {

namespace risk = kordon::risk;
using nlohmann::json;

// plugins/crossings publishes the whole picture on all three; coalesced updates pending when a
// crossing closes go out only as crossing.closed. The facts hash makes the repeats free.
constexpr char kUpdatedTopic[] = "crossing.updated";
constexpr char kOpenedTopic[] = "crossing.opened";
constexpr char kClosedTopic[] = "crossing.closed";
constexpr char kIndicatorTopic[] = "risk.indicator";
constexpr char kReloadTopic[] = "risk.profile.reload";
constexpr char kLoadedTopic[] = "risk.profile.loaded";
constexpr char kAssessmentTopic[] = "risk.assessment";
constexpr char kShadowTopic[] = "risk.assessment.shadow";
constexpr char kErrorTopic[] = "risk.error";
constexpr char kAlertTopic[] = "alert.raised";

// Bodies as text; a stray invalid byte (none should reach here) is replaced, not thrown.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// What is remembered of one crossing, least recently updated dropped first. The picture is
// what costs memory (a crossing's whole picture, often tens of KB): it is held while the
// crossing is open and for the `closed_pictures` most recently closed crossings, so that an
// indicator arriving just after the close is still assessed; then it is let go, and the
// crossing keeps only its facts hash and indicators.
struct CrossingState {
  uint64_t last_hash = 0;
  bool assessed = false;
  std::string picture;  // the last crossing.updated body, to re-assess on an indicator
  std::string lane;
  int64_t time_us = 0;
  std::vector<risk::Indicator> indicators;
  uint64_t closed_seq = 0;         // its place among the closed pictures held; 0: none held
  bool picture_forgotten = false;  // closed, and its picture let go
};

// A picture whose state is closed (crossing.closed, or a late update after the close).
bool IsClosed(const json& picture) {
  auto state = picture.find("state");
  return state != picture.end() && state->is_string() && *state == "closed";
}

class RiskRules : public kordon::Plugin {
 public:
  // Reads and checks every setting and loads the profiles; throws std::invalid_argument
  // naming the bad setting (or FILE:LINE of the bad profile line).
  explicit RiskRules(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    const std::string profile = h.ConfigOr("profile", "");
    if (profile.empty())
      throw std::invalid_argument("setting 'profile' (the risk profile file) is required");
    live_ = std::make_unique<risk::ProfileFile>(profile);
    if (const std::string shadow = h.ConfigOr("shadow_profile", ""); !shadow.empty())
      shadow_ = std::make_unique<risk::ProfileFile>(shadow);
    if (auto seed = h.Config("seed")) {
      if (seed->empty() || seed->size() > 16 ||
          seed->find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        throw std::invalid_argument("setting 'seed' must be 1-16 hex digits, got '" + *seed +
                                    "'");
      seed_ = std::stoull(*seed, nullptr, 16);
    } else {
      std::random_device rd;
      seed_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    }
    reload_ms_ = kordon::settings::IntInRange(h, "reload_ms", 1000, 0, 3600000);
    if (reload_ms_ != 0 && reload_ms_ < 100)
      throw std::invalid_argument("setting 'reload_ms' must be 0 (off) or at least 100, got " +
                                  std::to_string(reload_ms_));
    max_crossings_ =
        static_cast<size_t>(kordon::settings::IntInRange(h, "max_crossings", 10000, 1, 1000000));
    closed_pictures_ =
        static_cast<size_t>(kordon::settings::IntInRange(h, "closed_pictures", 64, 0, 1000000));
    rate_window_ =
        static_cast<size_t>(kordon::settings::IntInRange(h, "rate_window", 200, 0, 100000));
    rates_ = risk::RateMonitor(rate_window_);
    max_indicators_ =
        static_cast<size_t>(kordon::settings::IntInRange(h, "max_indicators", 32, 1, 1000));
    history_path_ = h.ConfigOr("history", "");
    std::string error;
    if (!live_->Load(&error)) throw std::invalid_argument("setting 'profile': " + error);
    if (shadow_ && !shadow_->Load(&error))
      throw std::invalid_argument("setting 'shadow_profile': " + error);
  }

  kordon::Status Start() override {
    if (!history_path_.empty()) {
      std::string error;
      history_ = risk::CarrierHistory::Open(history_path_, &error);
      if (!history_) return kordon::Status::Failed("setting 'history': " + error);
    }
    host().Info("risk profile " + live_->Describe() + "; random seed " + risk::Hex64(seed_) +
                (shadow_ ? "; shadow " + shadow_->Describe() : ""));
    PublishLoaded(*live_, "live", "start");
    if (shadow_) PublishLoaded(*shadow_, "shadow", "start");
    if (reload_ms_ > 0) {
      const std::chrono::milliseconds every(reload_ms_);
      kordon::Status s = host().StartTimer(every, every, [this] { CheckFiles(false); });
      if (!s.ok()) return s;
    }
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    std::string rates;
    for (size_t c = 0; c < risk::kChannelCount; ++c) {
      const auto& expected = live_->profile()->expected[c];
      rates += std::string(c ? ", " : "") + risk::ChannelName(static_cast<risk::Channel>(c)) +
               " " + std::to_string(channel_counts_[c]);
      if (assessed_ > 0)
        rates += " (" + Percent(static_cast<double>(channel_counts_[c]) / assessed_) +
                 (expected ? ", expected " + Percent(*expected) : "") + ")";
    }
    host().Info("assessed " + std::to_string(assessed_) + " (" + rates + "), unchanged " +
                std::to_string(unchanged_) + ", indicators " + std::to_string(indicators_) +
                " (" + std::to_string(late_indicators_) + " after the picture was let go)" +
                ", pictures let go " + std::to_string(pictures_forgotten_) +
                ", bad inputs " + std::to_string(bad_inputs_) + ", history errors " +
                std::to_string(history_errors_) + ", reloads " +
                std::to_string(reloads_) + ", reload failures " +
                std::to_string(reload_failures_) + ", publish failures " +
                std::to_string(publish_failures_));
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == kUpdatedTopic || m.topic() == kOpenedTopic || m.topic() == kClosedTopic) {
      OnUpdated(m);
    } else if (m.topic() == kIndicatorTopic) {
      OnIndicator(m);
    } else if (m.topic() == kReloadTopic) {
      CheckFiles(true);
    }
    return kordon::Status::Ok();
  }

 private:
  static std::string Percent(double share) {
    return risk::FormatValue(risk::Value(share * 100.0)) + "%";
  }

  // Reloads each profile whose file changed (or all, when forced by risk.profile.reload).
  void CheckFiles(bool force) {
    for (risk::ProfileFile* f : {live_.get(), shadow_.get()}) {
      if (f == nullptr) continue;
      const std::string before = f->profile()->id + " " + f->profile()->version;
      const char* which = f == live_.get() ? "risk profile" : "shadow risk profile";
      std::string error;
      switch (f->Poll(force, &error)) {
        case risk::ProfileFile::Change::kNone:
          break;
        case risk::ProfileFile::Change::kReloaded:
          ++reloads_;
          host().Info(std::string(which) + " reloaded: " + f->Describe() + " (was " + before +
                      ")");
          PublishLoaded(*f, f == live_.get() ? "live" : "shadow", "reload");
          break;
        case risk::ProfileFile::Change::kFailed: {
          ++reload_failures_;
          const std::string what = std::string(which) + " not reloaded, " + f->Describe() +
                                   " stays in force: " + error;
          host().Error(what);
          const json alert = {{"source", host().instance_name()}, {"severity", "warning"},
                              {"reason", what}};
          if (!host().Publish(kAlertTopic, Dump(alert)).ok()) ++publish_failures_;
          break;
        }
      }
    }
  }

  // risk.profile.loaded: which profile is in force, for the audit log.
  void PublishLoaded(const risk::ProfileFile& f, const char* role, const char* reason) {
    const json body = {{"path", f.path()},       {"id", f.profile()->id},
                       {"version", f.profile()->version}, {"blake2b", f.content_hash()},
                       {"criteria", f.profile()->criteria.size()}, {"role", role},
                       {"reason", reason}};
    if (!host().Publish(kLoadedTopic, Dump(body)).ok()) ++publish_failures_;
  }

  // Bad input: a warning and risk.error, counted.
  void PublishError(const kordon::Message& m, const std::string& reason) {
    ++bad_inputs_;
    host().Warn(std::string(m.topic()) + " " + std::string(m.id()) + " not assessed: " + reason +
                " (" + std::to_string(bad_inputs_) + " bad inputs so far)");
    PublishProblem(m, reason, json::object());
  }

  // risk.error about message m (sdk/schemas/risk.error.v1.json), with `extra` members.
  void PublishProblem(const kordon::Message& m, const std::string& reason, const json& extra) {
    const std::string lane(m.lane());
    const std::string crossing(m.crossing_id());
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    if (!crossing.empty()) options.crossing_id = crossing.c_str();
    json body = {{"reason", reason}, {"source_id", std::string(m.id())},
                 {"source_topic", std::string(m.topic())}, {"bad_inputs", bad_inputs_}};
    body.update(extra);
    if (!host().Publish(kErrorTopic, Dump(body), options).ok()) ++publish_failures_;
  }

  // The crossing's remembered state, created (and the least recently used dropped) as needed.
  CrossingState& State(const std::string& crossing) {
    auto it = index_.find(crossing);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    if (index_.size() >= max_crossings_) {
      index_.erase(order_.back().first);
      order_.pop_back();  // a closed_ entry naming it is skipped when its turn comes
    }
    order_.emplace_front(crossing, CrossingState());
    index_[crossing] = order_.begin();
    return order_.front().second;
  }

  void OnUpdated(const kordon::Message& m) {
    json picture = json::parse(m.body(), nullptr, false);
    if (!picture.is_object()) return PublishError(m, "the body is not a JSON object");
    std::string crossing(m.crossing_id());
    if (crossing.empty()) {
      auto id = picture.find("id");
      if (id != picture.end() && id->is_string()) crossing = id->get<std::string>();
    }
    if (crossing.empty())
      return PublishError(m, "no crossing id (neither in the envelope nor as 'id')");
    if (crossing.size() > 128) return PublishError(m, "crossing id longer than 128 bytes");
    CrossingState& s = State(crossing);
    s.picture = std::string(m.body());
    s.picture_forgotten = false;
    s.lane = std::string(m.lane());
    s.time_us = m.time_us();
    Assess(crossing, s, picture);
    if (m.topic() == kClosedTopic || IsClosed(picture)) HoldClosed(crossing, s);
  }

  // A closed crossing's picture joins the closed pictures held; the oldest beyond
  // `closed_pictures` is let go (its facts hash and indicators stay).
  void HoldClosed(const std::string& crossing, CrossingState& s) {
    if (s.closed_seq != 0) return;  // already held (a late update after the close)
    s.closed_seq = ++closed_seq_;
    closed_.emplace_back(crossing, s.closed_seq);
    while (closed_.size() > closed_pictures_) {
      const auto [id, seq] = closed_.front();
      closed_.pop_front();
      auto it = index_.find(id);
      // Gone from index_ (least recently used), or held again since under a newer place.
      if (it == index_.end() || it->second->second.closed_seq != seq) continue;
      CrossingState& old = it->second->second;
      std::string().swap(old.picture);  // give the memory back, not only the size
      old.picture_forgotten = true;
      old.closed_seq = 0;
      ++pictures_forgotten_;
    }
  }

  void OnIndicator(const kordon::Message& m) {
    json body = json::parse(m.body(), nullptr, false);
    std::string crossing, error;
    std::optional<risk::Indicator> indicator = risk::IndicatorFromJson(body, &crossing, &error);
    if (!indicator) return PublishError(m, error);
    if (crossing.empty()) crossing = std::string(m.crossing_id());
    if (crossing.empty() || crossing.size() > 128)
      return PublishError(m, "no crossing id (neither 'crossing_id' nor in the envelope)");
    if (indicator->source.empty()) indicator->source = std::string(m.source());
    const std::string name = indicator->name;
    ++indicators_;
    CrossingState& s = State(crossing);
    // The same indicator (name and source) again replaces the previous one: a procedure that
    // re-runs does not add its weight twice.
    bool replaced = false;
    for (risk::Indicator& i : s.indicators)
      if (i.name == indicator->name && i.source == indicator->source) {
        i = *indicator;
        replaced = true;
      }
    if (!replaced) {
      if (s.indicators.size() >= max_indicators_)
        return PublishError(m, "more than " + std::to_string(max_indicators_) +
                                   " indicators for crossing " + crossing);
      s.indicators.push_back(std::move(*indicator));
    }
    if (s.picture_forgotten) {
      // Not silent: the indicator is kept and counts when the crossing is next updated (a
      // late decision or override republishes its picture), but it changes nothing now.
      ++late_indicators_;
      const std::string reason =
          "indicator '" + name + "' for crossing " + crossing +
          " kept but not assessed: the crossing closed and its picture was let go (only the " +
          std::to_string(closed_pictures_) +
          " most recently closed are held, setting 'closed_pictures'); it counts when the "
          "crossing is next updated";
      host().Warn(reason);
      return PublishProblem(m, reason, json{{"late_indicators", late_indicators_}});
    }
    if (s.picture.empty()) return;  // folded into the crossing's first assessment
    json picture = json::parse(s.picture, nullptr, false);
    Assess(crossing, s, picture);
  }

  risk::Facts FactsFor(const risk::ProfileFile& f, const CrossingState& s,
                       const std::string& crossing, const json& picture) {
    risk::Facts facts =
        risk::FactsFromCrossing(picture, s.lane, crossing, s.time_us, f.options());
    for (const risk::Indicator& i : s.indicators) facts["indicator." + i.name] = true;
    if (history_) {
      const risk::Value& carrier = facts["carrier"];
      if (carrier.index() == 3) {
        std::string error;
        std::optional<int64_t> n =
            history_->RedCount(std::get<std::string>(carrier), crossing, &error);
        if (n) facts["carrier_red_history"] = static_cast<double>(*n);
        else HistoryError("read", error);  // the fact stays unknown, never a guess of 0
      }
    }
    return facts;
  }

  void HistoryError(const char* what, const std::string& error) {
    ++history_errors_;
    host().Error(std::string("carrier history ") + what + " failed (" +
                 std::to_string(history_errors_) + " so far): " + error);
  }

  void Assess(const std::string& crossing, CrossingState& s, const json& picture) {
    const risk::Profile& live = *live_->profile();
    const risk::Facts facts = FactsFor(*live_, s, crossing, picture);
    // The hash covers the facts, the indicators and the profiles in force: an update that
    // changes nothing the profile can see (our own assessment echoed back into the picture,
    // a new revision with the same reads) publishes nothing.
    uint64_t hash = risk::FactsHash(facts, s.indicators);
    hash = risk::Fnv1a64(live.digest, hash);
    if (shadow_) hash = risk::Fnv1a64(shadow_->profile()->digest, hash);
    if (s.assessed && hash == s.last_hash) {
      ++unchanged_;
      return;
    }
    s.assessed = true;
    s.last_hash = hash;
    // The envelope's lane, else the picture's (both are in the lane fact), else the instance's.
    const risk::Value& lane_fact = facts.at("lane");
    const std::string lane =
        lane_fact.index() == 3 ? std::get<std::string>(lane_fact) : host().lane();
    kordon::PublishOptions options;
    if (!lane.empty()) options.lane = lane.c_str();
    options.crossing_id = crossing.c_str();

    const risk::Assessment a = risk::Assess(live, facts, s.indicators, crossing, seed_);
    ++assessed_;
    ++channel_counts_[static_cast<size_t>(a.channel)];
    if (std::optional<std::string> drift = rates_.Add(a.channel, live))
      host().Warn("channel rates off the profile's expectation: " + *drift);
    const json body = risk::AssessmentBody(a, live, facts, crossing, lane);
    if (history_ && facts.at("carrier").index() == 3) {
      kordon::sqlite::DbStatus st =
          history_->Record(crossing, std::get<std::string>(facts.at("carrier")),
                           risk::ChannelName(a.channel), risk::DecisionRefused(picture), s.time_us);
      if (!st.ok()) HistoryError("write", st.message);
    }
    if (kordon::Status st = host().Publish(kAssessmentTopic, Dump(body), options); !st.ok()) {
      ++publish_failures_;
      host().Error("risk.assessment for " + crossing + " not published: " + st.ToString() +
                   " (" + std::to_string(publish_failures_) + " so far)");
    }
    if (!shadow_) return;
    const risk::Profile& candidate = *shadow_->profile();
    const risk::Facts shadow_facts = FactsFor(*shadow_, s, crossing, picture);
    const risk::Assessment sa =
        risk::Assess(candidate, shadow_facts, s.indicators, crossing, seed_);
    json shadow_body = risk::AssessmentBody(sa, candidate, shadow_facts, crossing, lane);
    shadow_body["live_channel"] = risk::ChannelName(a.channel);
    options.schema = kAssessmentTopic;  // same body schema (sdk/schemas/risk.assessment.v1)
    if (!host().Publish(kShadowTopic, Dump(shadow_body), options).ok()) ++publish_failures_;
  }

  std::unique_ptr<risk::ProfileFile> live_;
  std::unique_ptr<risk::ProfileFile> shadow_;  // null without shadow_profile
  std::string history_path_;
  std::unique_ptr<risk::CarrierHistory> history_;
  uint64_t seed_ = 0;
  int64_t reload_ms_ = 1000;
  size_t max_crossings_ = 10000;
  size_t closed_pictures_ = 64;
  size_t max_indicators_ = 32;
  size_t rate_window_ = 200;
  risk::RateMonitor rates_{200};
  std::list<std::pair<std::string, CrossingState>> order_;  // most recently updated first
  std::unordered_map<std::string, std::list<std::pair<std::string, CrossingState>>::iterator>
      index_;
  std::deque<std::pair<std::string, uint64_t>> closed_;  // closed pictures held, oldest first
  uint64_t closed_seq_ = 0;
  uint64_t pictures_forgotten_ = 0;
  uint64_t late_indicators_ = 0;
  uint64_t assessed_ = 0;
  uint64_t unchanged_ = 0;
  uint64_t indicators_ = 0;
  uint64_t bad_inputs_ = 0;
  uint64_t history_errors_ = 0;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  uint64_t publish_failures_ = 0;
  uint64_t channel_counts_[risk::kChannelCount] = {};
};

}  // namespace

KORDON_PLUGIN(RiskRules,
              {.name = "risk-rules",
               .kind = KORDON_KIND_RISK,
               .vendor = "Kordon",
               .version = "0.1.0",
               .description = "Rule-based risk profiling of crossings (green/blue/yellow/red)",
               .publishes = {"risk.assessment", "risk.assessment.shadow", "risk.error",
                             "alert.raised", "risk.profile.loaded"},
               .subscribes = {"crossing.opened", "crossing.updated", "crossing.closed",
                              "risk.indicator", "risk.profile.reload"}})
