// The plate normaliser (plugins/plate-reader/plate.h) and the plate-reader message bodies.
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "plate.h"
#include "plate_message.h"

namespace {

using kordon::plate::NormalisePlate;
using Json = nlohmann::json;

TEST_CASE("Latin plates: upper case, spaces, dashes and dots removed") {
  auto p = NormalisePlate("01 kg 123-abc");
  REQUIRE(p.ok);
  CHECK(p.plate == "01KG123ABC");
  CHECK(p.script == "latin");
  CHECK(NormalisePlate("08.KG.456\u2013EKX\u00A0").plate == "08KG456EKX");  // en dash, NBSP
  CHECK(NormalisePlate("123").script == "latin");
}

TEST_CASE("Cyrillic look-alikes, upper and lower case, become Latin") {
  // А В Е К М Н О Р С Т Х У and а в е к м н о р с т х у.
  auto p = NormalisePlate("АВЕКМНОРСТХУ авекмнорстху");
  REQUIRE(p.ok);
  CHECK(p.plate == "ABEKMHOPCTXYABEKMHOPCTXY");
  CHECK(p.script == "latin");
  CHECK(NormalisePlate("02 KG 345 АВС").plate == "02KG345ABC");
}

TEST_CASE("other Cyrillic letters are kept upper case and flag the script") {
  auto p = NormalisePlate("01 кж 123");
  REQUIRE(p.ok);
  CHECK(p.plate == "01KЖ123");  // к -> K, ж -> Ж
  CHECK(p.script == "mixed");
  p = NormalisePlate("жд 123");
  REQUIRE(p.ok);
  CHECK(p.plate == "ЖД123");
  CHECK(p.script == "cyrillic");
  // Kazakh and Kyrgyz letters: ң ү ө -> Ң Ү Ө.
  p = NormalisePlate("ңүө");
  REQUIRE(p.ok);
  CHECK(p.plate == "ҢҮӨ");
  CHECK(p.script == "cyrillic");
  p = NormalisePlate("Ж Q 1");
  CHECK(p.script == "mixed");
}

TEST_CASE("anything but letters and digits is refused, with the character") {
  auto p = NormalisePlate("01KG/123");
  CHECK_FALSE(p.ok);
  CHECK(p.error.find("'/'") != std::string::npos);
  CHECK(p.error.find("U+002F") != std::string::npos);
  CHECK_FALSE(NormalisePlate("ÉCOLE").ok);  // a Latin letter, but not a plate letter
  CHECK_FALSE(NormalisePlate("AB\xF0\x9F\x9A\x97").ok);  // an emoji
  CHECK_FALSE(NormalisePlate(" - . ").ok);
  CHECK(NormalisePlate(" - . ").error == "the plate has no letters or digits");
  CHECK_FALSE(NormalisePlate("A\xFF").ok);
}

kordon::camera::Settings TestSettings() { return {"lane1-cam", 0.5, "tcp://127.0.0.1:9"}; }

TEST_CASE("scanner.plate.read from a full JSON line") {
  const auto o = kordon::plate::HandleLine(
      R"({"plate": "02 KG 345 АВС", "confidence": 0.93, "country": "KG", "region": "02", )"
      R"("image": "/img/1.jpg", "camera": "cam9", "time": "2026-11-28T10:15:03.120Z", )"
      R"("direction": "out", "id": "000123"})",
      TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRead);
  CHECK(o.topic == "scanner.plate.read");
  const Json j = Json::parse(o.body);
  CHECK(j["plate"] == "02KG345ABC");
  CHECK(j["raw"] == "02 KG 345 АВС");
  CHECK(j["confidence"] == 0.93);
  CHECK(j["country"] == "KG");
  CHECK(j["region"] == "02");
  CHECK(j["image"] == "/img/1.jpg");
  CHECK(j["camera"] == "cam9");
  CHECK(j["time"] == "2026-11-28T10:15:03.120Z");
  CHECK(j["direction"] == "out");
  CHECK(j["read_id"] == "000123");
  CHECK(j["script"] == "latin");
  CHECK(j["low_confidence"] == false);
}

TEST_CASE("absent fields are null; the camera setting fills in; low confidence is flagged") {
  const auto o = kordon::plate::HandleLine("PLATE;;;ж 77;0.2;;;", TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRead);
  const Json j = Json::parse(o.body);
  CHECK(j["plate"] == "Ж77");
  CHECK(j["script"] == "cyrillic");
  CHECK(j["camera"] == "lane1-cam");
  CHECK(j["low_confidence"] == true);
  for (const char* field : {"country", "region", "image", "time", "direction", "read_id"})
    CHECK_MESSAGE(j[field].is_null(), field);
  // Unknown confidence is not called low.
  CHECK(Json::parse(kordon::plate::HandleLine(R"({"plate":"A1"})", TestSettings()).body)
            ["low_confidence"] == false);
}

TEST_CASE("rejections: malformed lines and plates that do not normalise; heartbeats") {
  auto o = kordon::plate::HandleLine("PLATE;;cam3;01/KG;;;;", TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRejected);
  CHECK(o.topic == "scanner.plate.rejected");
  Json j = Json::parse(o.body);
  CHECK(j["raw"] == "PLATE;;cam3;01/KG;;;;");
  CHECK(j["camera"] == "cam3");
  CHECK(j["link"] == "tcp://127.0.0.1:9");
  CHECK(j["reason"].get<std::string>().find("'/'") != std::string::npos);
  o = kordon::plate::HandleLine("\xFF\xFE garbage", TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRejected);
  j = Json::parse(o.body);
  CHECK(j["camera"] == "lane1-cam");
  CHECK(j["raw"].get<std::string>().find("\xEF\xBF\xBD") == 0);
  CHECK(kordon::plate::HandleLine("HEARTBEAT;;cam3", TestSettings()).kind ==
        kordon::camera::Outcome::Kind::kHeartbeat);
}

TEST_CASE("scanner.plate.raw bodies") {
  auto o = kordon::plate::HandleRawBody(R"({"plate": "777 аек 05", "country": "KZ"})",
                                        TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRead);
  CHECK(Json::parse(o.body)["plate"] == "777AEK05");
  o = kordon::plate::HandleRawBody(R"({"plate": 7})", TestSettings());
  CHECK(o.kind == kordon::camera::Outcome::Kind::kRejected);
  o = kordon::plate::HandleRawBody("PLATE;;;ABC;;;;", TestSettings());  // JSON only
  CHECK(o.kind == kordon::camera::Outcome::Kind::kRejected);
}

}  // namespace
