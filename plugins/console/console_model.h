// console_model.h — what the console knows about the site, built from the bus: the lanes with
// their current crossing and channel, the recent crossings' pictures and risk assessments,
// device and plugin states, alerts to acknowledge and prompts to answer, and messages per
// topic. The page loads Snapshot() once, then follows the same messages live (SSE); both come
// from here, so a reloaded page shows what a live one shows.
//
// Alerts come from: alert.raised, db.watchlist.hit, a risk.assessment with the red channel
// (once per crossing), a device.status entering error or going offline after it worked,
// console.prompt. An alert's id is the id of the message that raised it. alert.acknowledged /
// console.answer from any console mark it done, so several consoles agree.
//
// Thread safety: none; the plugin guards one ConsoleModel with a mutex.
#ifndef KORDON_PLUGINS_CONSOLE_CONSOLE_MODEL_H_
#define KORDON_PLUGINS_CONSOLE_CONSOLE_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace kordon::console {

// What the model needs of one bus message (copied from kordon::Message).
struct BusEvent {
  std::string topic;
  std::string id;
  int64_t time_us = 0;
  std::string source;
  std::string lane;
  std::string crossing_id;
  std::string_view body;
};

struct Alert {
  std::string id;     // the raising message's id
  std::string kind;   // alert | watchlist_hit | red_channel | device_offline | prompt
  std::string topic;  // the raising message's topic
  std::string lane;
  std::string crossing_id;
  int64_t time_us = 0;
  nlohmann::json body;          // the raising message's body
  std::string acknowledged_by;  // "" while open
  int64_t acknowledged_us = 0;
  std::string answer;  // prompts: the answer given
};

class ConsoleModel {
 public:
  explicit ConsoleModel(size_t max_crossings = 200, size_t max_alerts = 500)
      : max_crossings_(max_crossings), max_alerts_(max_alerts) {}

  // Takes one message. Returns false when its body is not a JSON object (counted). *event is
  // set to the JSON the pages receive for it (nullopt: nothing to send).
  bool OnMessage(const BusEvent& m, std::optional<std::string>* event);

  // Everything a page needs to draw itself.
  nlohmann::json Snapshot() const;

  const Alert* FindAlert(const std::string& id) const;
  const Alert* FindPrompt(const std::string& prompt_id) const;
  // The lane of a crossing the console has seen, or "".
  std::string LaneOf(const std::string& crossing_id) const;
  // The channel of a crossing: a supervisor's override, else its latest assessment's, or "".
  std::string ChannelOf(const std::string& crossing_id) const;

  const std::map<std::string, uint64_t>& topic_counts() const { return topic_counts_; }
  // instance → state ("running" / "failed") from plugin.status.
  const std::map<std::string, std::string>& plugin_states() const { return plugin_states_; }
  // device → state from device.status.
  std::map<std::string, std::string> device_states() const;
  uint64_t bad_messages() const { return bad_messages_; }
  uint64_t alerts_raised() const { return alerts_raised_; }
  size_t open_alerts() const;

  // Whether the SSE stream carries this topic (the rest is only counted).
  static bool Forwarded(std::string_view topic);

 private:
  void Raise(const BusEvent& m, const std::string& kind, nlohmann::json body);
  void KeepCrossing(const std::string& id, const std::string& lane, nlohmann::json picture);

  const size_t max_crossings_;
  const size_t max_alerts_;
  std::map<std::string, uint64_t> topic_counts_;
  std::map<std::string, std::string> plugin_states_;
  std::map<std::string, nlohmann::json> plugins_;    // instance → plugin.status body
  std::map<std::string, nlohmann::json> devices_;    // device → device.status body + lane
  std::map<std::string, std::string> lane_current_;  // lane → current crossing id ("" none)
  std::map<std::string, nlohmann::json> crossings_;  // id → latest picture
  std::deque<std::string> crossing_order_;           // ids, oldest first (bounded)
  std::map<std::string, nlohmann::json> risk_;       // crossing id → latest assessment
  std::set<std::string> red_alerted_;                // crossings already alerted red
  std::deque<Alert> alerts_;                         // oldest first (bounded)
  uint64_t bad_messages_ = 0;
  uint64_t alerts_raised_ = 0;
};

}  // namespace kordon::console

#endif  // KORDON_PLUGINS_CONSOLE_CONSOLE_MODEL_H_
