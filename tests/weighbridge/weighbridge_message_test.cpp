// Tests of the weighbridge message bodies (plugins/weighbridge/weighbridge_message.h).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "weighbridge_message.h"

namespace {
using namespace kordon::weighbridge;
using nlohmann::json;
}  // namespace

TEST_SUITE("weighbridge") {

TEST_CASE("bodies: live is never stable; statuses carry no weight") {
  Reading r = ParseSicsReply("S S 18450.0 kg").reading;
  json j = json::parse(LiveBody("wb1", r, "S S 18450.0 kg"));
  CHECK(j["scale"] == "wb1");
  CHECK(j["kg"] == 18450.0);
  CHECK(j["stable"] == false);
  CHECK(j["status"] == "ok");
  CHECK(j["raw"]["value"] == "18450.0");
  CHECK(j["raw"]["unit"] == "kg");

  j = json::parse(LiveBody("wb1", ParseSicsReply("S +").reading, "S +"));
  CHECK(j["status"] == "overload");
  CHECK(j["kg"].is_null());
  CHECK(j["stable"] == false);

  j = json::parse(ErrorBody("wb1", "bad checksum", std::string("\x02" "A\r", 3)));
  CHECK(j["frame"] == "<02>A<0D>");
  CHECK(j["reason"] == "bad checksum");
}

TEST_CASE("bodies: stable, cleared, command and result") {
  StableWeight s;
  s.kg = 18450;
  s.vehicle_seq = 7;
  s.readings = 16;
  s.raw_value = "18450";
  s.raw_unit = "kg";
  json j = json::parse(StableBody("wb1", s));
  CHECK(j["kg"] == 18450.0);
  CHECK(j["vehicle_seq"] == 7);
  CHECK(j["readings"] == 16);
  CHECK(json::parse(ClearedBody("wb1", 7))["vehicle_seq"] == 7);

  std::string error;
  auto c = ParseCommandBody(R"({"scale": "wb1", "command": "tare"})", &error);
  REQUIRE(c.has_value());
  CHECK(c->command == "tare");
  CHECK_FALSE(ParseCommandBody(R"({"scale": "wb1", "command": "reboot"})", &error));
  CHECK_FALSE(ParseCommandBody(R"({"command": "zero"})", &error));
  CHECK_FALSE(ParseCommandBody("[]", &error));
  CHECK_FALSE(ParseCommandBody("{", &error));

  j = json::parse(CommandResultBody("wb1", "tare", "id1", true, "done", "T S 1500 kg", 1500.0));
  CHECK(j["ok"] == true);
  CHECK(j["tare_kg"] == 1500.0);
  j = json::parse(CommandResultBody("wb1", "zero", "id2", false, "timeout", "no reply"));
  CHECK_FALSE(j.contains("tare_kg"));
  // Bytes that are not UTF-8 never make a body invalid.
  CHECK(json::parse(ErrorBody("wb\xff", "x\xfe", "")).is_object());
}

}  // TEST_SUITE
