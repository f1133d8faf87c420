// console_model.cpp — see console_model.h.
#include "console_model.h"

#include <algorithm>
#include <utility>

namespace kordon::console {
namespace {

using Json = nlohmann::json;

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool HasPrefix(std::string_view topic, std::string_view prefix) {
  return topic == prefix ||
         (topic.size() > prefix.size() && topic.substr(0, prefix.size()) == prefix &&
          topic[prefix.size()] == '.');
}

constexpr std::string_view kForwarded[] = {
    "crossing", "risk.assessment",  "alert",   "device.status",       "plugin.status", "console",
    "officer",  "db.watchlist.hit", "scanner", "scale.weight.stable", "bench"};

}  // namespace

bool ConsoleModel::Forwarded(std::string_view topic) {
  if (topic == "device.status.request") return false;
  return std::any_of(std::begin(kForwarded), std::end(kForwarded),
                     [&](std::string_view p) { return HasPrefix(topic, p); });
}

bool ConsoleModel::OnMessage(const BusEvent& m, std::optional<std::string>* event) {
  event->reset();
  ++topic_counts_[m.topic];
  if (!Forwarded(m.topic)) return true;
  Json body = Json::parse(m.body, nullptr, false);
  if (!body.is_object()) {
    ++bad_messages_;
    return false;
  }
  const std::string& t = m.topic;
  if (t == "crossing.opened" || t == "crossing.updated" || t == "crossing.closed") {
    const std::string id = Str(body, "id").empty() ? m.crossing_id : Str(body, "id");
    const std::string lane = Str(body, "lane").empty() ? m.lane : Str(body, "lane");
    auto known = crossings_.find(id);
    // Consumers keep the highest revision (plugins/crossings/README.md).
    const bool stale =
        known != crossings_.end() && body.value("revision", 0) < known->second.value("revision", 0);
    if (!stale && !id.empty()) {
      const bool current = body.value("current", false) && Str(body, "state") != "closed";
      if (current)
        lane_current_[lane] = id;
      else if (lane_current_[lane] == id)
        lane_current_[lane] = "";
      KeepCrossing(id, lane, body);
    }
  } else if (t == "risk.assessment") {
    const std::string id =
        Str(body, "crossing_id").empty() ? m.crossing_id : Str(body, "crossing_id");
    if (!id.empty()) {
      risk_[id] = body;
      if (Str(body, "channel") == "red" && red_alerted_.insert(id).second)
        Raise(m, "red_channel", body);
    }
  } else if (t == "device.status") {
    const std::string device = Str(body, "device").empty() ? m.source : Str(body, "device");
    const std::string state = Str(body, "state");
    const std::string before = devices_.count(device) ? Str(devices_[device], "state") : "";
    const std::string previous = Str(body, "previous");
    body["lane"] = m.lane;
    devices_[device] = body;
    // A device that worked and stopped is an alert; one still connecting after the host
    // started (closed -> offline) is shown by its light only.
    const bool lost = state == "offline" && (previous == "idle" || previous == "busy");
    if ((lost || state == "error") && state != before) Raise(m, "device_offline", body);
  } else if (t == "plugin.status") {
    const std::string instance = Str(body, "instance");
    plugin_states_[instance] = Str(body, "state");
    plugins_[instance] = body;
  } else if (t == "alert.raised") {
    Raise(m, "alert", body);
  } else if (t == "db.watchlist.hit") {
    Raise(m, "watchlist_hit", body);
  } else if (t == "console.prompt") {
    Raise(m, "prompt", body);
  } else if (t == "alert.acknowledged") {
    for (Alert& a : alerts_) {
      if (a.id == Str(body, "alert_id") && a.acknowledged_by.empty()) {
        a.acknowledged_by = Str(body, "user");
        a.acknowledged_us = m.time_us;
      }
    }
  } else if (t == "console.answer") {
    for (Alert& a : alerts_) {
      if (a.kind == "prompt" && Str(a.body, "prompt_id") == Str(body, "prompt_id") &&
          a.acknowledged_by.empty()) {
        a.acknowledged_by = Str(body, "user");
        a.acknowledged_us = m.time_us;
        a.answer = Str(body, "answer");
      }
    }
  }
  Json out = {{"topic", m.topic},       {"id", m.id},     {"time_us", m.time_us},
              {"source", m.source},     {"lane", m.lane}, {"crossing_id", m.crossing_id},
              {"body", std::move(body)}};
  *event = out.dump();
  return true;
}

void ConsoleModel::Raise(const BusEvent& m, const std::string& kind, Json body) {
  Alert a;
  a.id = m.id;
  a.kind = kind;
  a.topic = m.topic;
  a.lane = m.lane;
  a.crossing_id = m.crossing_id;
  a.time_us = m.time_us;
  a.body = std::move(body);
  ++alerts_raised_;
  alerts_.push_back(std::move(a));
  // Drop acknowledged alerts first; an open one goes only when everything kept is open.
  while (alerts_.size() > max_alerts_) {
    auto done = std::find_if(alerts_.begin(), alerts_.end(),
                             [](const Alert& x) { return !x.acknowledged_by.empty(); });
    alerts_.erase(done != alerts_.end() ? done : alerts_.begin());
  }
}

void ConsoleModel::KeepCrossing(const std::string& id, const std::string& lane, Json picture) {
  if (!crossings_.count(id)) crossing_order_.push_back(id);
  picture["lane"] = lane;
  crossings_[id] = std::move(picture);
  while (crossing_order_.size() > max_crossings_) {
    const std::string old = crossing_order_.front();
    crossing_order_.pop_front();
    bool is_current = false;
    for (const auto& [l, c] : lane_current_) is_current = is_current || c == old;
    if (is_current) {  // never forget what a lane shows now
      crossing_order_.push_back(old);
      if (crossing_order_.size() <= max_crossings_) break;
      continue;
    }
    crossings_.erase(old);
    risk_.erase(old);
  }
}

const Alert* ConsoleModel::FindAlert(const std::string& id) const {
  for (const Alert& a : alerts_)
    if (a.id == id) return &a;
  return nullptr;
}

const Alert* ConsoleModel::FindPrompt(const std::string& prompt_id) const {
  for (auto it = alerts_.rbegin(); it != alerts_.rend(); ++it)
    if (it->kind == "prompt" && Str(it->body, "prompt_id") == prompt_id) return &*it;
  return nullptr;
}

std::string ConsoleModel::LaneOf(const std::string& crossing_id) const {
  auto it = crossings_.find(crossing_id);
  return it == crossings_.end() ? "" : Str(it->second, "lane");
}

std::string ConsoleModel::ChannelOf(const std::string& crossing_id) const {
  // A supervisor's override (in the crossings plugin's picture) stands over any assessment
  // (the rule of plugins/crossings' ChooseChannel); else the latest assessment on the bus,
  // which may be newer than the picture the console holds.
  if (auto c = crossings_.find(crossing_id); c != crossings_.end()) {
    auto o = c->second.find("override");
    if (o != c->second.end() && o->is_object())
      if (std::string channel = Str(*o, "channel"); !channel.empty()) return channel;
  }
  auto it = risk_.find(crossing_id);
  return it == risk_.end() ? "" : Str(it->second, "channel");
}

std::map<std::string, std::string> ConsoleModel::device_states() const {
  std::map<std::string, std::string> out;
  for (const auto& [d, body] : devices_) out[d] = Str(body, "state");
  return out;
}

size_t ConsoleModel::open_alerts() const {
  return std::count_if(alerts_.begin(), alerts_.end(),
                       [](const Alert& a) { return a.acknowledged_by.empty(); });
}

Json ConsoleModel::Snapshot() const {
  Json lanes = Json::object();
  for (const auto& [lane, id] : lane_current_) lanes[lane] = {{"current", id}};
  for (const auto& [d, body] : devices_) {
    const std::string lane = Str(body, "lane");
    if (!lane.empty() && !lanes.contains(lane)) lanes[lane] = {{"current", ""}};
  }
  Json crossings = Json::object();
  for (const auto& [id, picture] : crossings_) crossings[id] = picture;
  Json risk = Json::object();
  for (const auto& [id, body] : risk_) risk[id] = body;
  Json alerts = Json::array();
  for (const Alert& a : alerts_) {
    alerts.push_back({{"id", a.id},
                      {"kind", a.kind},
                      {"topic", a.topic},
                      {"lane", a.lane},
                      {"crossing_id", a.crossing_id},
                      {"time_us", a.time_us},
                      {"body", a.body},
                      {"acknowledged_by", a.acknowledged_by},
                      {"acknowledged_us", a.acknowledged_us},
                      {"answer", a.answer}});
  }
  Json devices = Json::object();
  for (const auto& [d, body] : devices_) devices[d] = body;
  Json plugins = Json::object();
  for (const auto& [p, body] : plugins_) plugins[p] = body;
  return {{"lanes", lanes},   {"crossings", crossings}, {"risk", risk},
          {"alerts", alerts}, {"devices", devices},     {"plugins", plugins}};
}

}  // namespace kordon::console
