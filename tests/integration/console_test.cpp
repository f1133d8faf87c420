// The console plugin in a real kordon-host beside the real crossings plugin, driven by an
// HTTP client (httplib::Client): logins (wrong password, rate limit), the session cookie's
// attributes, CSRF and content-type refusals, an officer refused an override that a
// supervisor may make, a plate read reaching a connected page by SSE as a crossing, a
// decision closing the crossing and naming the user, /health and /metrics.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "accounts.h"
#include "host_harness.h"

namespace kordon::testing {
namespace {

using host::ClientPublishOptions;
using nlohmann::json;

struct Login {
  int status = 0;
  std::string cookie;  // "kordon_session=..."
  std::string set_cookie;
  std::string csrf;
};

Login LogIn(httplib::Client& http, const std::string& user, const std::string& password) {
  Login l;
  auto r = http.Post("/api/login", json{{"user", user}, {"password", password}}.dump(),
                     "application/json");
  if (!r) return l;
  l.status = r->status;
  l.set_cookie = r->get_header_value("Set-Cookie");
  l.cookie = l.set_cookie.substr(0, l.set_cookie.find(';'));
  json body = json::parse(r->body, nullptr, false);
  if (body.is_object() && body.contains("csrf")) l.csrf = body["csrf"];
  return l;
}

httplib::Result PostAs(httplib::Client& http, const Login& l, const std::string& path,
                       const json& body, bool with_csrf = true) {
  httplib::Headers h = {{"Cookie", l.cookie}};
  if (with_csrf) h.emplace("X-CSRF-Token", l.csrf);
  return http.Post(path.c_str(), h, body.dump(), "application/json");
}

TEST_SUITE("console") {
  TEST_CASE("console: login, CSRF, roles, live crossing by SSE, decision, override, metrics") {
    TempDir dir;
    const std::string users = dir.File("users.db");
    {
      std::string error;
      auto store = console::UserStore::Open(users, false, &error);
      REQUIRE_MESSAGE(store, error);
      REQUIRE(store->Add("anna", "anna-password", console::Role::kOfficer, 1, &error));
      REQUIRE(store->Add("boris", "boris-password", console::Role::kSupervisor, 1, &error));
    }
    const std::string config =
        HostSection(dir) +
        PluginSection("crossings", SitePlugin("crossings"),
                      "path = " + dir.File("crossings.db") + "\nupdate_ms = 0\ntick_ms = 100") +
        PluginSection("console", SitePlugin("console"),
                      "listen = 127.0.0.1:0\nusers = " + users + "\nlogin_max_failures = 3");
    HostProcess site(dir, config);
    std::string why;
    REQUIRE_MESSAGE(site.WaitReady(15s, &why), why);
    INFO("host log:\n" << site.Log());
    REQUIRE(site.WaitForLog("console listening on http://127.0.0.1:", 5s));
    std::smatch match;
    const std::string log = site.Log();
    REQUIRE(std::regex_search(log, match,
                              std::regex("console listening on http://127\\.0\\.0\\.1:(\\d+)/")));
    const int port = std::stoi(match[1].str());
    httplib::Client http("127.0.0.1", port);
    http.set_read_timeout(10, 0);

    auto health = http.Get("/health");
    REQUIRE(health);
    CHECK(health->status == 200);
    auto page = http.Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->body.find("app.js") != std::string::npos);
    CHECK(page->get_header_value("Content-Security-Policy").find("default-src 'self'") == 0);

    // Nothing without a session.
    auto anonymous = http.Get("/api/state");
    REQUIRE(anonymous);
    CHECK(anonymous->status == 401);

    CHECK(LogIn(http, "anna", "wrong-password").status == 401);
    CHECK(LogIn(http, "nobody", "whatever-pass").status == 401);
    Login anna = LogIn(http, "anna", "anna-password");
    REQUIRE(anna.status == 200);
    CHECK(anna.cookie.size() == std::string("kordon_session=").size() + 64);
    CHECK(anna.set_cookie.find("HttpOnly") != std::string::npos);
    CHECK(anna.set_cookie.find("SameSite=Strict") != std::string::npos);
    CHECK(anna.csrf.size() == 64);
    auto state = http.Get("/api/state", {{"Cookie", anna.cookie}});
    REQUIRE(state);
    CHECK(state->status == 200);

    // A page connected by SSE sees the crossing a plate read opens.
    std::mutex mutex;
    std::string received;
    std::atomic<bool> stop{false};
    std::thread sse([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(20, 0);
      c.Get("/events", {{"Cookie", anna.cookie}}, [&](const char* data, size_t n) {
        std::lock_guard<std::mutex> lock(mutex);
        received.append(data, n);
        return !stop.load();
      });
    });
    auto bus = ConnectClient(site.ready(), {"crossing", "officer", "console.answer"}, &why);
    REQUIRE_MESSAGE(bus != nullptr, why);
    std::this_thread::sleep_for(300ms);  // the SSE request is in
    ClientPublishOptions lane1;
    lane1.lane = "lane-1";
    REQUIRE(bus->Publish("scanner.plate.read",
                         R"({"camera": "cam1", "raw": "01KG777AAA", "plate": "01KG777AAA",
                           "country": "KG", "confidence": 0.95, "direction": "in"})",
                         lane1)
                .ok());
    auto opened = ReceiveTopic(*bus, "crossing.opened", 5s);
    REQUIRE(opened);
    const std::string crossing = opened->envelope.crossing_id;
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        seen = received.find("\"crossing.opened\"") != std::string::npos &&
               received.find(crossing) != std::string::npos;
      }
      if (!seen) std::this_thread::sleep_for(50ms);
    }
    CHECK_MESSAGE(seen, "SSE received: " << received);
    CHECK(received.find("event: bus\ndata: {") != std::string::npos);

    // CSRF and content type.
    const json decision = {
        {"crossing_id", crossing}, {"decision", "secondary_inspection"}, {"notes", "seal broken"}};
    auto no_csrf = PostAs(http, anna, "/api/decision", decision, false);
    REQUIRE(no_csrf);
    CHECK(no_csrf->status == 403);
    Login forged = anna;
    forged.csrf = std::string(64, '0');
    auto bad_csrf = PostAs(http, forged, "/api/decision", decision);
    REQUIRE(bad_csrf);
    CHECK(bad_csrf->status == 403);
    auto form = http.Post("/api/decision", {{"Cookie", anna.cookie}, {"X-CSRF-Token", anna.csrf}},
                          "decision=cleared", "application/x-www-form-urlencoded");
    REQUIRE(form);
    CHECK(form->status == 415);

    // Roles: an officer may not override a channel; a supervisor may, with a reason.
    const json override_body = {
        {"crossing_id", crossing}, {"channel", "red"}, {"reason", "intelligence report 17"}};
    auto officer_override = PostAs(http, anna, "/api/override", override_body);
    REQUIRE(officer_override);
    CHECK(officer_override->status == 403);
    Login boris = LogIn(http, "boris", "boris-password");
    REQUIRE(boris.status == 200);
    auto no_reason = PostAs(http, boris, "/api/override",
                            {{"crossing_id", crossing}, {"channel", "red"}, {"reason", " "}});
    REQUIRE(no_reason);
    CHECK(no_reason->status == 400);
    auto no_such_channel = PostAs(http, boris, "/api/override",
                                  {{"crossing_id", crossing}, {"channel", "purple"},
                                   {"reason", "intelligence report 17"}});
    REQUIRE(no_such_channel);
    CHECK(no_such_channel->status == 400);
    CHECK(no_such_channel->body.find("green, blue, yellow or red") != std::string::npos);
    auto supervisor_override = PostAs(http, boris, "/api/override", override_body);
    REQUIRE(supervisor_override);
    CHECK(supervisor_override->status == 200);
    auto override_msg = ReceiveTopic(*bus, "officer.override", 5s);
    REQUIRE(override_msg);
    json ob = json::parse(override_msg->body);
    CHECK(ob["user"] == "boris");
    CHECK(ob["reason"] == "intelligence report 17");
    CHECK(override_msg->envelope.crossing_id == crossing);
    // The crossings plugin takes it: the picture carries the supervisor's channel.
    auto overridden = ReceiveTopic(*bus, "crossing.updated", 5s, [&](const auto& m) {
      json ub = json::parse(m.body);
      return ub.value("id", "") == crossing && ub["override"].is_object() &&
             ub["override"].value("channel", "") == "red" &&
             ub["override"].value("user", "") == "boris" && ub.value("overrides", 0) == 1;
    });
    CHECK_MESSAGE(overridden, "no crossing.updated with boris's override of " << crossing);

    // The decision: published, the crossing closes, the page is told.
    auto decided = PostAs(http, anna, "/api/decision", decision);
    REQUIRE(decided);
    CHECK_MESSAGE(decided->status == 200, decided->body);
    auto closed = ReceiveTopic(*bus, "crossing.closed", 5s);
    REQUIRE(closed);
    json cb = json::parse(closed->body);
    CHECK(cb["close_reason"] == "decision");
    CHECK(cb["decision"]["officer"] == "anna");
    CHECK(cb["decision"]["decision"] == "secondary_inspection");
    // Deciding again: the crossings plugin refuses, the page is told why.
    auto again = PostAs(http, anna, "/api/decision", decision);
    REQUIRE(again);
    CHECK(again->status == 409);

    // A site procedure's prompt: the answer must be one of its choices and names the user.
    ClientPublishOptions lane2;
    lane2.lane = "lane-2";
    REQUIRE(bus->Publish("console.prompt",
                         R"({"prompt_id": "p-17", "lane": "lane-2",
                             "question": "Weighbridge offline: wave the truck through?",
                             "choices": ["yes", "no"]})",
                         lane2)
                .ok());
    bool listed = false;
    for (int i = 0; i < 100 && !listed; ++i) {
      auto st = http.Get("/api/state", {{"Cookie", anna.cookie}});
      listed = st && st->body.find("p-17") != std::string::npos;
      if (!listed) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(listed);
    auto wrong =
        PostAs(http, anna, "/api/prompts/answer", {{"prompt_id", "p-17"}, {"answer", "maybe"}});
    REQUIRE(wrong);
    CHECK(wrong->status == 400);
    auto answered =
        PostAs(http, anna, "/api/prompts/answer", {{"prompt_id", "p-17"}, {"answer", "no"}});
    REQUIRE(answered);
    CHECK(answered->status == 200);
    auto answer = ReceiveTopic(*bus, "console.answer", 5s);
    REQUIRE(answer);
    CHECK(json::parse(answer->body) ==
          json{{"prompt_id", "p-17"}, {"lane", "lane-2"}, {"answer", "no"}, {"user", "anna"}});

    // Search through crossings.search.
    auto found = http.Get("/api/crossings?plate=01KG777AAA", {{"Cookie", anna.cookie}});
    REQUIRE(found);
    CHECK(found->status == 200);
    CHECK(found->body.find(crossing) != std::string::npos);

    // Rate limit: three failures lock the name (login_max_failures = 3), even with the right
    // password afterwards.
    for (int i = 0; i < 3; ++i) CHECK(LogIn(http, "boris", "bad-password").status == 401);
    auto limited =
        http.Post("/api/login", json{{"user", "boris"}, {"password", "boris-password"}}.dump(),
                  "application/json");
    REQUIRE(limited);
    CHECK(limited->status == 429);
    CHECK_FALSE(limited->get_header_value("Retry-After").empty());

    auto metrics = http.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("kordon_bus_messages_total{topic=\"crossing.opened\"} 1") !=
          std::string::npos);
    CHECK(metrics->body.find("kordon_plugin_up{instance=\"crossings\",state=\"running\"} 1") !=
          std::string::npos);
    CHECK(metrics->body.find("kordon_console_csrf_refused_total 3") != std::string::npos);
    CHECK(metrics->body.find("kordon_console_forbidden_total 1") != std::string::npos);
    CHECK(metrics->body.find("kordon_console_login_limited_total 1") != std::string::npos);
    CHECK(metrics->body.find("kordon_console_sse_clients 1") != std::string::npos);

    stop = true;
    auto stopped = site.StopWith(SIGTERM, 15s);
    sse.join();
    REQUIRE(stopped);
    CHECK(stopped->exited);
    CHECK(stopped->code == 0);
    CHECK(Contains(site.Log(), "console: http requests"));
  }

  TEST_CASE("console: a non-loopback listen address is refused unless allow_remote") {
    TempDir dir;
    HostProcess site(
        dir, HostSection(dir) + PluginSection("console", SitePlugin("console"),
                                              "listen = 0.0.0.0:0\nusers = " + dir.File("u.db")));
    std::string why;
    CHECK_FALSE(site.WaitReady(10s, &why));
    CHECK(Contains(site.Log(), "allow_remote"));
  }

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
