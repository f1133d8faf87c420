// [host] validate_schemas: a body a plugin publishes that breaks its schema in sdk/schemas is
// refused (refuse) or let through and logged (warn), counted in the exit statistics, in process
// and in an isolated instance's runner alike; a valid body and a topic without a schema pass; a
// bad setting is a configuration error.
#include <signal.h>

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host_harness.h"

namespace kordon::testing {
namespace {

// test_c_echo echoes test.ping's body on pong_topic: here a topic with a schema.
std::string Site(const TempDir& dir, const std::string& mode, bool isolated = false) {
  return HostSection(dir, "validate_schemas = " + mode) +
         PluginSection("echo", TestPlugin("test_c_echo"),
                       std::string("pong_topic = scale.weight.stable") +
                           (isolated ? "\nisolation = process" : ""));
}

const char kValid[] =
    R"({"scale":"s","kg":24000,"tare_kg":0,"net":false,"window_ms":800,"readings":5,)"
    R"("min_kg":23990,"max_kg":24010,"raw":{"value":"24000","unit":"kg"},"frame":"x",)"
    R"("vehicle_seq":1})";
const char kInvalid[] = R"({"scale":"s","kg":"heavy"})";

TEST_SUITE("schemas") {

TEST_CASE("validate_schemas = refuse: a body that breaks its schema is not published") {
  for (bool isolated : {false, true}) {
    CAPTURE(isolated);
    TempDir dir;
    HostProcess site(dir, Site(dir, "refuse", isolated));
    std::string why;
    REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
    auto client = ConnectClient(site.ready(), {"scale"}, &why);
    REQUIRE_MESSAGE(client != nullptr, why);
    REQUIRE(client->Publish("test.ping", kInvalid).ok());
    REQUIRE(client->Publish("test.ping", kValid).ok());
    auto m = ReceiveTopic(*client, "scale.weight.stable", 5s);
    REQUIRE_MESSAGE(m.has_value(), site.Log());
    CHECK(m->body.find("24000") != std::string::npos);  // the valid one; the invalid never came
    CHECK_FALSE(ReceiveTopic(*client, "scale.weight.stable", 500ms).has_value());
    REQUIRE(site.WaitForLog("the body breaks scale.weight.stable v1", 5s));
    auto exit = site.StopWith(SIGTERM);
    REQUIRE(exit.has_value());
    CHECK(exit->code == 0);
    CHECK(Contains(site.Log(), "echo: 1 published bodies broke their schema"));
    CHECK(Contains(site.Log(), "refused: the body breaks scale.weight.stable v1 ($: the required "
                               "member tare_kg is missing and"));
  }
}

TEST_CASE("validate_schemas = warn lets it through, logged; off checks nothing") {
  for (const char* mode : {"warn", "off"}) {
    CAPTURE(mode);
    TempDir dir;
    HostProcess site(dir, Site(dir, mode));
    std::string why;
    REQUIRE_MESSAGE(site.WaitReady(10s, &why), why);
    auto client = ConnectClient(site.ready(), {"scale"}, &why);
    REQUIRE_MESSAGE(client != nullptr, why);
    REQUIRE(client->Publish("test.ping", kInvalid).ok());
    auto m = ReceiveTopic(*client, "scale.weight.stable", 5s);
    REQUIRE_MESSAGE(m.has_value(), site.Log());
    auto exit = site.StopWith(SIGTERM);
    REQUIRE(exit.has_value());
    CHECK(Contains(site.Log(), "published bodies broke their schema") ==
          (std::string(mode) == "warn"));
  }
}

TEST_CASE("a bad validate_schemas or schema_dir is a configuration error") {
  TempDir dir;
  HostProcess bad(dir, Site(dir, "maybe"));
  auto exit = bad.WaitExit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 1);
  CHECK(Contains(bad.Log(), "validate_schemas 'maybe' must be 'off', 'warn' or 'refuse'"));
  TempDir dir2;
  HostProcess missing(dir2, Site(dir2, "warn\nschema_dir = /nonexistent"));
  exit = missing.WaitExit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code != 0);
  CHECK(Contains(missing.Log(), "validate_schemas: the schemas cannot be read: /nonexistent"));
}

}  // TEST_SUITE

}  // namespace
}  // namespace kordon::testing
