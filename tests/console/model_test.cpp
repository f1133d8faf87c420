// The console's model (plugins/console/console_model.h): lanes and their current crossing,
// alerts raised and acknowledged, what is forwarded to the pages, per-topic counts.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "console_model.h"

namespace kc = kordon::console;
using Json = nlohmann::json;

namespace {

std::optional<std::string> Feed(kc::ConsoleModel& m, const std::string& topic,
                                const std::string& body, const std::string& lane = "lane-1",
                                const std::string& crossing = "", const std::string& id = "") {
  static int n = 0;
  kc::BusEvent e{topic, id.empty() ? "id" + std::to_string(++n) : id, 1000, "src", lane, crossing,
                 body};
  std::optional<std::string> out;
  m.OnMessage(e, &out);
  return out;
}

TEST_CASE("a lane shows its current crossing until it closes; stale revisions are ignored") {
  kc::ConsoleModel m;
  auto ev = Feed(m, "crossing.opened",
                 R"({"id":"c1","lane":"lane-1","state":"open","current":true,"revision":1})",
                 "lane-1", "c1");
  REQUIRE(ev);
  CHECK(Json::parse(*ev)["body"]["id"] == "c1");
  CHECK(m.Snapshot()["lanes"]["lane-1"]["current"] == "c1");
  Feed(m, "crossing.updated",
       R"({"id":"c1","lane":"lane-1","state":"open","current":true,"revision":3})", "lane-1", "c1");
  Feed(m, "crossing.updated",
       R"({"id":"c1","lane":"lane-1","state":"closed","current":true,"revision":2})", "lane-1",
       "c1");
  CHECK(m.Snapshot()["crossings"]["c1"]["revision"] == 3);
  CHECK(m.Snapshot()["lanes"]["lane-1"]["current"] == "c1");
  Feed(m, "crossing.closed",
       R"({"id":"c1","lane":"lane-1","state":"closed","current":false,"revision":4})", "lane-1",
       "c1");
  CHECK(m.Snapshot()["lanes"]["lane-1"]["current"] == "");
  CHECK(m.LaneOf("c1") == "lane-1");
}

TEST_CASE(
    "alerts: raised by hits, red channel once, devices going offline, prompts; acknowledged from "
    "the bus") {
  kc::ConsoleModel m;
  Feed(m, "db.watchlist.hit", R"({"explanation":"name match"})", "lane-1", "c1", "hit1");
  Feed(m, "risk.assessment", R"({"crossing_id":"c1","channel":"red","reasons":["x"]})", "lane-1",
       "c1");
  Feed(m, "risk.assessment", R"({"crossing_id":"c1","channel":"red","reasons":["x","y"]})",
       "lane-1", "c1");
  // Connecting at start is no alert; a working device going offline is, once.
  Feed(m, "device.status", R"({"device":"cam1","state":"offline","previous":"closed"})");
  Feed(m, "device.status", R"({"device":"cam1","state":"idle","previous":"offline"})");
  Feed(m, "device.status", R"({"device":"cam1","state":"offline","previous":"idle"})");
  Feed(m, "device.status", R"({"device":"cam1","state":"offline","previous":"idle"})");
  Feed(m, "device.status", R"({"device":"cam1","state":"idle","previous":"offline"})");
  Feed(m, "console.prompt", R"({"prompt_id":"p1","question":"Scale down?","choices":["yes","no"]})",
       "lane-2", "", "prompt1");
  Feed(m, "alert.raised", R"({"source":"journal","severity":"critical","reason":"locked"})");
  CHECK(m.alerts_raised() == 5);
  CHECK(m.open_alerts() == 5);
  CHECK(m.ChannelOf("c1") == "red");
  // A supervisor's override, in the picture, stands over the assessment.
  Feed(m, "crossing.updated",
       R"({"id":"c1","lane":"lane-1","state":"open","current":true,"revision":9,
           "override":{"channel":"blue","user":"anna"}})",
       "lane-1", "c1");
  CHECK(m.ChannelOf("c1") == "blue");
  Feed(m, "risk.assessment", R"({"crossing_id":"c1","channel":"yellow","reasons":[]})",
       "lane-1", "c1");
  CHECK(m.ChannelOf("c1") == "blue");
  REQUIRE(m.FindAlert("hit1"));
  CHECK(m.FindAlert("hit1")->kind == "watchlist_hit");
  Feed(m, "alert.acknowledged", R"({"alert_id":"hit1","user":"anna"})");
  CHECK(m.FindAlert("hit1")->acknowledged_by == "anna");
  REQUIRE(m.FindPrompt("p1"));
  Feed(m, "console.answer", R"({"prompt_id":"p1","lane":"lane-2","answer":"no","user":"anna"})");
  CHECK(m.FindPrompt("p1")->answer == "no");
  CHECK(m.open_alerts() == 3);
  CHECK(m.device_states().at("cam1") == "idle");
}

TEST_CASE(
    "every topic is counted; only the console's topics are forwarded; bad bodies are counted") {
  kc::ConsoleModel m;
  CHECK_FALSE(Feed(m, "scale.weight.live", R"({"kg":1})"));
  CHECK(Feed(m, "scanner.plate.read", R"({"plate":"X"})"));
  CHECK_FALSE(Feed(m, "device.status.request", R"({})"));
  CHECK_FALSE(Feed(m, "crossing.updated", "[1]"));
  CHECK(m.bad_messages() == 1);
  CHECK(m.topic_counts().at("scale.weight.live") == 1);
  CHECK(m.topic_counts().at("crossing.updated") == 1);
  Feed(m, "plugin.status", R"({"instance":"crossings","state":"running"})");
  CHECK(m.plugin_states().at("crossings") == "running");
}

TEST_CASE("alerts are bounded: acknowledged ones go first") {
  kc::ConsoleModel m(10, 3);
  Feed(m, "alert.raised", R"({"reason":"a"})", "", "", "a");
  Feed(m, "alert.raised", R"({"reason":"b"})", "", "", "b");
  Feed(m, "alert.acknowledged", R"({"alert_id":"b","user":"u"})");
  Feed(m, "alert.raised", R"({"reason":"c"})", "", "", "c");
  Feed(m, "alert.raised", R"({"reason":"d"})", "", "", "d");
  CHECK(m.FindAlert("a"));
  CHECK_FALSE(m.FindAlert("b"));
  CHECK(m.FindAlert("d"));
}

}  // namespace
