// bridge_plugin.cpp — the bridge plugin: Border Liaison Office links between sites. Forwards
// the topics named by `forward` to every partner site over its own ZeroMQ link (CURVE, an
// SQLite outbox, acknowledgements), and publishes on the local bus what partners send,
// each message once. See README.md.
//
// Threading: the constructor, Start, Stop, OnMessage and the status timer run on the
// instance's thread; Engine callbacks (delivery of received messages, link states) run on
// the engine's link thread. Host::Publish, DeviceModel and Engine::Enqueue are thread-safe.
// The alert bookkeeping is shared by both threads under alert_mutex_.

#include <kordon/plugin.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge_engine.h"
#include "curve.h"
#include "device_model.h"
#include "plugin_settings.h"

namespace {

using kordon::bridge::Engine;
using kordon::bridge::LinkSnapshot;
using kordon::bridge::LinkState;
using kordon::device::DeviceModel;
using kordon::device::DeviceState;

constexpr char kLinkStatusTopic[] = "bridge.link.status";
constexpr char kAlertTopic[] = "alert.raised";
constexpr char kDeviceKind[] = "bridge-link";
constexpr auto kAlertInterval = std::chrono::seconds(30);

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const size_t a = item.find_first_not_of(" \t");
    const size_t b = item.find_last_not_of(" \t");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
    start = end + 1;
  }
  return out;
}

// `forward` entries: "alert." matches every topic that starts with it; "db.watchlist.hit"
// matches that topic and the topics below it (db.watchlist.hit.x), never db.watchlist.hits.
bool Matches(const std::vector<std::string>& prefixes, std::string_view topic) {
  for (const std::string& p : prefixes) {
    if (!topic.starts_with(p)) continue;
    if (p.back() == '.' || topic.size() == p.size() || topic[p.size()] == '.') return true;
  }
  return false;
}

DeviceState ModelState(LinkState s) {
  switch (s) {
    case LinkState::kUp: return DeviceState::kIdle;
    case LinkState::kClosed: return DeviceState::kClosed;
    default: return DeviceState::kOffline;
  }
}

class Bridge : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit Bridge(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    kordon::bridge::EngineOptions o;
    o.site = h.ConfigOr("site", "");
    if (!kordon::bridge::IsValidSiteName(o.site))
      throw std::invalid_argument(
          "setting 'site' must name this site: 1-64 of A-Z a-z 0-9 _ - . (got '" + o.site + "')");
    o.listen = h.ConfigOr("listen", "");
    std::string error;
    if (auto file = h.Config("secret_key_file")) {
      auto key = kordon::curve::ReadKeyFile(*file, /*secret=*/true, &error);
      if (!key) throw std::invalid_argument("setting 'secret_key_file': " + error);
      o.secret_key = *key;
    }
    for (const std::string& k : SplitList(h.ConfigOr("allowed_keys", ""))) {
      auto key = kordon::curve::ResolvePublicKey(k, &error);
      if (!key) throw std::invalid_argument("setting 'allowed_keys': " + error);
      o.allowed_keys.push_back(*key);
    }
    if (!o.listen.empty()) {
      if (!o.listen.starts_with("tcp://"))
        throw std::invalid_argument("setting 'listen' must be tcp://HOST:PORT, got '" +
                                    o.listen + "'");
      if (o.secret_key.empty() && !kordon::curve::IsLoopbackEndpoint(o.listen))
        throw std::invalid_argument("setting 'listen': plain TCP is allowed only on loopback; "
                                    "set secret_key_file and allowed_keys for '" + o.listen + "'");
      if (!o.secret_key.empty() && o.allowed_keys.empty())
        throw std::invalid_argument("setting 'allowed_keys' must list the partners' public keys "
                                    "(files or Z85): a CURVE listener denies every other key");
    }
    for (const std::string& p : SplitList(h.ConfigOr("partners", ""))) {
      const size_t at = p.find('@');
      kordon::bridge::PartnerSpec spec;
      if (at != std::string::npos) {
        spec.name = p.substr(0, at);
        spec.endpoint = p.substr(at + 1);
      }
      if (!kordon::bridge::IsValidSiteName(spec.name) || !spec.endpoint.starts_with("tcp://"))
        throw std::invalid_argument("setting 'partners': '" + p +
                                    "' is not NAME@tcp://HOST:PORT");
      if (spec.name == o.site)
        throw std::invalid_argument("setting 'partners': '" + spec.name + "' is this site");
      if (auto k = h.Config("partner_key." + spec.name)) {
        auto key = kordon::curve::ResolvePublicKey(*k, &error);
        if (!key) throw std::invalid_argument("setting 'partner_key." + spec.name + "': " + error);
        spec.server_key = *key;
        if (o.secret_key.empty())
          throw std::invalid_argument("setting 'secret_key_file' is needed: partner " +
                                      spec.name + " is reached over CURVE");
      } else if (!kordon::curve::IsLoopbackEndpoint(spec.endpoint)) {
        throw std::invalid_argument("setting 'partner_key." + spec.name + "' is needed: plain "
                                    "TCP is allowed only on loopback (" + spec.endpoint + ")");
      }
      for (const auto& other : o.partners)
        if (other.name == spec.name)
          throw std::invalid_argument("setting 'partners' names '" + spec.name + "' twice");
      o.partners.push_back(std::move(spec));
    }
    forward_ = SplitList(h.ConfigOr("forward", ""));
    for (const std::string& f : forward_)
      if (f.empty() || f.find_first_of(" \t") != std::string::npos)
        throw std::invalid_argument("setting 'forward': '" + f + "' is not a topic prefix");
    if (!o.partners.empty() && forward_.empty())
      throw std::invalid_argument("setting 'forward' must list topic prefixes to send to the "
                                  "partners (e.g. alert.,db.watchlist.hit)");
    // A hub relays what one partner sent to the others (a lane's alert to the other lanes).
    relay_ = SplitList(h.ConfigOr("relay", ""));
    for (const std::string& f : relay_)
      if (f.empty() || f.find_first_of(" \t") != std::string::npos)
        throw std::invalid_argument("setting 'relay': '" + f + "' is not a topic prefix");
    if (!relay_.empty() && (o.listen.empty() || o.partners.size() < 2))
      throw std::invalid_argument("setting 'relay' needs 'listen' and at least two 'partners' "
                                  "(it forwards what one partner sent to the others)");
    if (o.partners.empty() && o.listen.empty())
      throw std::invalid_argument("set 'partners' (to send), 'listen' (to receive), or both");
    o.outbox_path = h.ConfigOr("outbox", "");
    if (o.outbox_path.empty())
      throw std::invalid_argument("setting 'outbox' must name the outbox file (SQLite)");
    o.applied_path = h.ConfigOr("applied", "");
    if (!o.listen.empty() && o.applied_path.empty())
      throw std::invalid_argument("setting 'applied' must name the applied-ids file (SQLite)");
    using kordon::settings::IntInRange;
    o.outbox_limit = IntInRange(h, "outbox_limit", 100000, 1, 100000000);
    o.window = IntInRange(h, "window", 512, 1, 100000);
    o.ack_timeout_ms = IntInRange(h, "ack_timeout_ms", 3000, 100, 600000);
    o.applied_retention_s = IntInRange(h, "applied_retention_h", 168, 1, 24 * 3650) * 3600;
    o.heartbeat_ms = IntInRange(h, "heartbeat_ms", 1000, 100, 60000);
    status_interval_ = std::chrono::milliseconds(
        IntInRange(h, "status_interval_ms", 5000, 100, 3600000));
    site_ = o.site;
    outbox_limit_ = o.outbox_limit;

    for (const auto& p : o.partners) {
      auto model = std::make_unique<DeviceModel>(
          h.instance_name() + "/" + p.name, kDeviceKind, p.endpoint,
          [this, name = p.name](std::string_view topic, const std::string& body) {
            PublishStatus(name, topic, body);
          });
      models_.emplace(p.name, std::move(model));
    }
    kordon::bridge::EngineCallbacks cb;
    cb.deliver = [this](const kordon::bridge::Inbound& in) { return Deliver(in); };
    cb.on_link = [this](const LinkSnapshot& s) { OnLink(s); };
    cb.log = [this](bool warning, const std::string& line) {
      if (warning) this->host().Warn(line);
      else this->host().Info(line);
    };
    engine_ = std::make_unique<Engine>(std::move(o), std::move(cb));
  }

  ~Bridge() override {
    if (engine_) engine_->Stop();
  }

  kordon::Status Start() override {
    std::string error;
    if (!engine_->Start(&error)) {
      engine_->Stop();
      return kordon::Status::Failed("bridge " + site_ + ": " + error);
    }
    kordon::TimerId id = 0;
    kordon::Status s = host().StartTimer(status_interval_, status_interval_,
                                         [this] { PeriodicStatus(); }, &id);
    if (!s.ok()) return s;
    timer_ = id;
    host().Info("bridge of site " + site_ + " started (outbox epoch " + engine_->epoch() + ")");
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (timer_) (void)host().CancelTimer(*timer_);
    timer_.reset();
    engine_->Stop();  // no callback runs after this; links report closed
    const auto in = engine_->inbound();
    std::string summary = "bridge of site " + site_ + ": received " + std::to_string(in.applied) +
                          ", duplicates dropped " + std::to_string(in.duplicates) +
                          ", loops dropped " + std::to_string(in.loops) + ", relayed " +
                          std::to_string(relayed_.load()) + ", refused clients " +
                          std::to_string(in.refused_clients) + ", forwarded " +
                          std::to_string(forwarded_.load()) + ", not queued (outbox full) " +
                          std::to_string(refused_full_.load());
    for (const LinkSnapshot& l : engine_->Snapshot())
      summary += "; " + l.partner + ": sent " + std::to_string(l.sent) + ", acked " +
                 std::to_string(l.acked) + ", backlog " + std::to_string(l.backlog);
    host().Info(summary);
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == kordon::device::kStatusRequestTopic) {
      for (auto& [name, model] : models_) model->AnswerStatusRequest(m.body());
      return kordon::Status::Ok();
    }
    // Loop prevention: what this instance published came from a partner (or is its own
    // status); it never goes out again.
    if (m.source() == host().instance_name()) return kordon::Status::Ok();
    if (!Matches(forward_, m.topic())) return kordon::Status::Ok();
    kordon::bridge::MessageHeader header;
    header.origin = site_;
    header.id = std::string(m.id());
    header.topic = std::string(m.topic());
    header.time_us = m.time_us();
    header.source = std::string(m.source());
    header.lane = std::string(m.lane());
    header.crossing_id = std::string(m.crossing_id());
    if (m.schema() != m.topic()) header.schema = std::string(m.schema());
    header.schema_version = m.schema_version();
    std::vector<std::string> full;
    std::string error;
    if (!engine_->Enqueue(header, std::string(m.body()), &full, &error)) {
      Alert("", "cannot queue " + header.topic + " " + header.id + " for the partners: " + error);
      return kordon::Status::Failed("outbox: " + error);
    }
    ++forwarded_;
    for (const std::string& partner : full) {
      const uint64_t n = ++refused_full_;
      host().Error("outbox for " + partner + " is full (" + std::to_string(n) +
                   " messages not queued so far): " + header.topic + " " + header.id +
                   " will not reach " + partner);
      Alert(partner, "the outbox for partner " + partner + " is full (outbox_limit); new "
                     "messages are not queued for it until the link delivers the backlog");
    }
    return kordon::Status::Ok();
  }

 private:
  // Link thread.
  kordon::bridge::Delivery Deliver(const kordon::bridge::Inbound& in) {
    // Relayed before it is published: if the outbox cannot take it the message is not
    // acknowledged and comes again (the partners drop a second copy by its id), whereas a
    // message published here but never relayed would be lost to them.
    if (!relay_.empty() && Matches(relay_, in.header.topic)) {
      std::vector<std::string> full;
      std::string error;
      // Never back to the partner it came from, nor to its origin (loop-safe: the origin
      // is kept, and every site drops what originated at itself).
      if (!engine_->Enqueue(in.header, in.body, &full, &error, {in.from, in.header.origin})) {
        Alert("", "cannot relay " + in.header.topic + " " + in.header.id + " from site " +
                      in.header.origin + ": " + error);
        return kordon::bridge::Delivery::kBusy;
      }
      ++relayed_;
      for (const std::string& partner : full) {
        const uint64_t n = ++refused_full_;
        host().Error("outbox for " + partner + " is full (" + std::to_string(n) +
                     " messages not queued so far): relayed " + in.header.topic + " " +
                     in.header.id + " will not reach " + partner);
        Alert(partner, "the outbox for partner " + partner + " is full (outbox_limit); new "
                       "messages are not queued for it until the link delivers the backlog");
      }
    }
    kordon::PublishOptions options;
    if (!in.header.lane.empty()) options.lane = in.header.lane.c_str();
    if (!in.header.crossing_id.empty()) options.crossing_id = in.header.crossing_id.c_str();
    if (!in.header.schema.empty()) options.schema = in.header.schema.c_str();
    options.schema_version = in.header.schema_version;
    kordon::Status s = host().Publish(in.header.topic, in.body, options);
    if (s.ok()) return kordon::bridge::Delivery::kPublished;
    if (s.code() == KORDON_E_BUSY) return kordon::bridge::Delivery::kBusy;
    host().Error("message " + in.header.id + " (" + in.header.topic + ") from site " +
                 in.header.origin + " refused by the local bus: " + s.ToString());
    return kordon::bridge::Delivery::kRefused;
  }

  // Link thread (and the stopping thread, for kClosed).
  void OnLink(const LinkSnapshot& s) {
    auto it = models_.find(s.partner);
    if (it == models_.end()) return;
    if (s.state == LinkState::kUp && s.reconnects > 0) it->second->CountReconnect();
    if (s.state == LinkState::kConnecting && it->second->state() == DeviceState::kIdle)
      it->second->CountError();
    host().Info("link to " + s.partner + ": " + kordon::bridge::LinkStateName(s.state) + " (" +
                s.reason + "), backlog " + std::to_string(s.backlog));
    it->second->SetState(ModelState(s.state), s.reason);
  }

  // Under the model's lock (any thread): device.status as the model wrote it, and
  // bridge.link.status with the link's figures.
  void PublishStatus(const std::string& partner, std::string_view topic, const std::string& body) {
    (void)host().Publish(topic, body);
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) return;
    PublishLinkStatus(partner, std::move(j));
  }

  void PublishLinkStatus(const std::string& partner, nlohmann::json j) {
    for (const LinkSnapshot& s : engine_->Snapshot()) {
      if (s.partner != partner) continue;
      j["site"] = site_;
      j["partner"] = partner;
      j["secure"] = s.secure;
      j["link_state"] = kordon::bridge::LinkStateName(s.state);
      j["backlog"] = s.backlog;
      j["outbox_limit"] = outbox_limit_;
      j["counters"] = {{"sent", s.sent},         {"acked", s.acked},
                       {"resends", s.resends},   {"reconnects", s.reconnects},
                       {"refused_full", s.refused_full}, {"errors", s.errors}};
      const auto in = engine_->inbound();
      j["inbound"] = {{"applied", in.applied},       {"duplicates", in.duplicates},
                      {"loops", in.loops},           {"out_of_order", in.out_of_order},
                      {"malformed", in.malformed},   {"publish_busy", in.publish_busy},
                      {"refused", in.refused},       {"refused_clients", in.refused_clients}};
      std::lock_guard<std::mutex> lock(alert_mutex_);
      last_published_[partner] = {s.backlog, s.refused_full};
      (void)host().Publish(kLinkStatusTopic,
                           j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }

  // Instance thread: the backlog is not a state, so it goes out on a timer when it (or the
  // count of messages refused by a full outbox) changed.
  void PeriodicStatus() {
    for (const LinkSnapshot& s : engine_->Snapshot()) {
      {
        std::lock_guard<std::mutex> lock(alert_mutex_);
        auto it = last_published_.find(s.partner);
        if (it != last_published_.end() &&
            it->second == std::make_pair(s.backlog, s.refused_full))
          continue;
      }
      auto m = models_.find(s.partner);
      if (m == models_.end()) continue;
      nlohmann::json j = nlohmann::json::parse(
          kordon::device::DeviceStatusBody(m->second->status()), nullptr, false);
      if (j.is_object()) PublishLinkStatus(s.partner, std::move(j));
    }
  }

  // An alert.raised, at most once per kAlertInterval per partner ("" = the outbox itself).
  void Alert(const std::string& partner, const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(alert_mutex_);
      const auto now = std::chrono::steady_clock::now();
      auto it = last_alert_.find(partner);
      if (it != last_alert_.end() && now - it->second < kAlertInterval) return;
      last_alert_[partner] = now;
    }
    nlohmann::json alert = {{"source", host().instance_name()},
                            {"severity", "critical"},
                            {"reason", reason}};
    if (!partner.empty()) alert["partner"] = partner;
    (void)host().Publish(kAlertTopic, alert.dump());
  }

  std::string site_;
  std::vector<std::string> forward_;
  std::vector<std::string> relay_;  // topic prefixes relayed between partners (a hub)
  std::chrono::milliseconds status_interval_{5000};
  int64_t outbox_limit_ = 0;
  std::map<std::string, std::unique_ptr<DeviceModel>> models_;  // fixed after construction
  std::unique_ptr<Engine> engine_;
  std::optional<kordon::TimerId> timer_;
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> relayed_{0};
  std::atomic<uint64_t> refused_full_{0};

  std::mutex alert_mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_alert_;  // GUARDED_BY
  // (backlog, refused_full) last published per partner.
  std::map<std::string, std::pair<int64_t, uint64_t>> last_published_;  // GUARDED_BY
};

}  // namespace

KORDON_PLUGIN(Bridge, {.name = "bridge",
                       .kind = KORDON_KIND_BRIDGE,
                       .vendor = "Kordon",
                       .version = "0.1.0",
                       .description = "Border Liaison Office links: forwards selected topics to "
                                      "partner sites (CURVE, outbox, acks) and publishes theirs "
                                      "once each",
                       .publishes = {"", kLinkStatusTopic, kordon::device::kStatusTopic,
                                     kAlertTopic},
                       .subscribes = {""},
                       .services = {}})
