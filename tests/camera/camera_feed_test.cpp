// The camera feed line parser (plugins/common/camera_feed): both forms, heartbeats, and every
// error, each naming the field.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "camera_feed.h"

namespace {

using kordon::camera::FeedKind;
using kordon::camera::FeedLine;
using kordon::camera::ParseFeedLine;
using Type = FeedLine::Type;

constexpr char kPlateJson[] =
    R"({"plate": "01 KG 123 ABC", "confidence": 0.93, "country": "KG", "region": "01", )"
    R"("image": "/var/spool/anpr/cam1/000123.jpg", "camera": "lane1-cam", )"
    R"("time": "2026-11-28T10:15:03.120Z", "direction": "in", "id": "000123", "extra": [1]})";

std::string ErrorOf(const std::string& line, FeedKind kind = FeedKind::kPlate) {
  const FeedLine f = ParseFeedLine(line, kind);
  CHECK(f.type == Type::kError);
  return f.error;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("a plate JSON line with every field") {
  const FeedLine f = ParseFeedLine(kPlateJson, FeedKind::kPlate);
  REQUIRE(f.type == Type::kRead);
  CHECK(f.read.text == "01 KG 123 ABC");
  CHECK(*f.read.confidence == doctest::Approx(0.93));
  CHECK(*f.read.country == "KG");
  CHECK(*f.read.region == "01");
  CHECK(*f.read.image == "/var/spool/anpr/cam1/000123.jpg");
  CHECK(*f.read.camera == "lane1-cam");
  CHECK(*f.read.time == "2026-11-28T10:15:03.120Z");
  CHECK(*f.read.direction == "in");
  CHECK(*f.read.id == "000123");
}

TEST_CASE("a minimal JSON line: only the text; nulls count as absent; an integer id") {
  FeedLine f = ParseFeedLine(R"({"plate":"ABC"})", FeedKind::kPlate);
  REQUIRE(f.type == Type::kRead);
  CHECK_FALSE(f.read.confidence);
  CHECK_FALSE(f.read.camera);
  f = ParseFeedLine(R"({"plate":"ABC","confidence":null,"country":null,"id":42})",
                    FeedKind::kPlate);
  REQUIRE(f.type == Type::kRead);
  CHECK_FALSE(f.read.country);
  CHECK(*f.read.id == "42");
  // "" is absent too, as in the delimited form (plate-sim writes "country": "" for unknown).
  f = ParseFeedLine(R"({"plate":"ABC","country":"","camera":""})", FeedKind::kPlate);
  REQUIRE(f.type == Type::kRead);
  CHECK_FALSE(f.read.country);
  CHECK_FALSE(f.read.camera);
}

TEST_CASE("a container JSON line, with size_type and position") {
  const FeedLine f = ParseFeedLine(
      R"({"code": "MSCU 123456 5", "confidence": 0.88, "camera": "lane1-ccr", )"
      R"("position": "rear", "size_type": "22G1", "time": "2026-11-28T10:15:03+06:00"})",
      FeedKind::kContainer);
  REQUIRE(f.type == Type::kRead);
  CHECK(f.read.text == "MSCU 123456 5");
  CHECK(*f.read.position == "rear");
  CHECK(*f.read.size_type == "22G1");
}

TEST_CASE("delimited records, CRLF leftovers and blanks trimmed, empty optional fields") {
  FeedLine f = ParseFeedLine(
      "PLATE;2026-11-28T10:15:03Z;lane1-cam;01 KG 123 ABC;0.93;KG;01;/img/1.jpg \t",
      FeedKind::kPlate);
  REQUIRE(f.type == Type::kRead);
  CHECK(f.read.text == "01 KG 123 ABC");
  CHECK(*f.read.confidence == doctest::Approx(0.93));
  CHECK(*f.read.image == "/img/1.jpg");
  f = ParseFeedLine("PLATE;;;ABC;;;;", FeedKind::kPlate);
  REQUIRE(f.type == Type::kRead);
  CHECK_FALSE(f.read.time);
  CHECK_FALSE(f.read.camera);
  CHECK_FALSE(f.read.confidence);
  f = ParseFeedLine("CONTAINER;2026-11-28T10:15:03Z;ccr;CSQU3054383;1;top;", FeedKind::kContainer);
  REQUIRE(f.type == Type::kRead);
  CHECK(*f.read.position == "top");
  CHECK(*f.read.confidence == 1.0);
}

TEST_CASE("heartbeats in both forms, on both feeds") {
  for (FeedKind kind : {FeedKind::kPlate, FeedKind::kContainer}) {
    FeedLine f = ParseFeedLine(R"({"heartbeat": true, "camera": "cam7"})", kind);
    CHECK(f.type == Type::kHeartbeat);
    CHECK(f.camera == "cam7");
    f = ParseFeedLine("HEARTBEAT;2026-11-28T10:15:03Z;cam7", kind);
    CHECK(f.type == Type::kHeartbeat);
    CHECK(f.camera == "cam7");
  }
  CHECK(Contains(ErrorOf(R"({"heartbeat": false})"), "'heartbeat'"));
  CHECK(Contains(ErrorOf("HEARTBEAT;cam7"), "3 fields"));
  CHECK(ParseFeedLine(R"({"heartbeat": true})", FeedKind::kPlate).type == Type::kHeartbeat);
  // Not on the bus.
  CHECK(kordon::camera::ParseReadObject(R"({"heartbeat": true})", FeedKind::kPlate).type ==
        Type::kError);
}

TEST_CASE("JSON errors name the field") {
  CHECK(Contains(ErrorOf(R"({"plate": )"), "not valid JSON"));
  // nlohmann throws out_of_range, not parse_error, for a number beyond double.
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "confidence": 1e999})"), "not valid JSON"));
  CHECK(Contains(ErrorOf(R"(["ABC"])"), "neither a JSON object"));
  CHECK(Contains(kordon::camera::ParseReadObject(R"(["ABC"])", FeedKind::kPlate).error,
                 "not an object"));
  CHECK(Contains(ErrorOf(R"({"camera": "c"})"), "field 'plate' is missing"));
  CHECK(Contains(ErrorOf(R"({"plate": 12})"), "field 'plate' must be a string"));
  CHECK(Contains(ErrorOf(R"({"plate": ""})"), "field 'plate' is empty"));
  CHECK(Contains(ErrorOf(R"({"plate": "123456789012345678901234567890123"})"),
                 "longer than 32 characters"));
  // 32 Cyrillic characters are 64 bytes and fine.
  std::string cyr;
  for (int i = 0; i < 32; ++i) cyr += "Ж";
  CHECK(ParseFeedLine(R"({"plate": ")" + cyr + R"("})", FeedKind::kPlate).type == Type::kRead);
  CHECK(Contains(ErrorOf(R"({"plate": "A\u0000B"})"), "control character"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "confidence": 1.5})"), "'confidence'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "confidence": "0.9"})"), "'confidence'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "confidence": -0.1})"), "'confidence'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "country": "kg"})"), "'country'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "country": "KGZ"})"), "'country'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "country": 1})"), "field 'country' must be a string"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "time": "yesterday"})"), "'time'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "direction": "up"})"), "'direction'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "id": -3})"), "'id'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "image": true})"), "'image'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB", "camera": 5})"), "'camera'"));
  CHECK(Contains(ErrorOf(R"({"code": "AB", "position": "side"})", FeedKind::kContainer),
                 "'position'"));
  CHECK(Contains(ErrorOf(R"({"code": "AB", "size_type": "22g1"})", FeedKind::kContainer),
                 "'size_type'"));
  CHECK(Contains(ErrorOf(R"({"plate": "AB"})", FeedKind::kContainer), "field 'code' is missing"));
  // The camera named by a bad line is kept for the rejection.
  CHECK(ParseFeedLine(R"({"plate": "AB", "camera": "c9", "direction": 1})", FeedKind::kPlate)
            .camera == "c9");
}

TEST_CASE("delimited errors: field count, kind, empty text, bad fields, bytes") {
  CHECK(Contains(ErrorOf("PLATE;t;cam;ABC;0.9"), "8 fields"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;0.9;KG;01;img;extra"), "got 9"));
  CHECK(Contains(ErrorOf("CONTAINER;;cam;CSQU3054383;;;"), "not accepted on a plate feed"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;;;;", FeedKind::kContainer),
                 "not accepted on a container feed"));
  CHECK(Contains(ErrorOf("hello camera"), "neither a JSON object nor"));
  CHECK(Contains(ErrorOf("plate;;;ABC;;;;"), "neither"));
  CHECK(Contains(ErrorOf("PLATE;;cam;;0.9;KG;01;img"), "field 'plate' is empty"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;high;KG;01;img"), "'confidence'"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;0.9x;KG;01;img"), "'confidence'"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;2;KG;01;img"), "'confidence'"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;nan;KG;01;img"), "'confidence'"));
  CHECK(Contains(ErrorOf("PLATE;;cam;ABC;0.5;Kyrgyzstan;01;img"), "'country'"));
  CHECK(Contains(ErrorOf("PLATE;28.11.2026;cam;ABC;0.5;KG;01;img"), "'time'"));
  CHECK(Contains(ErrorOf("CONTAINER;;cam;X;0.5;left;", FeedKind::kContainer), "'position'"));
  CHECK(Contains(ErrorOf(std::string("PLATE;;cam;A\0B;;;;", 18)), "control character"));
  CHECK(Contains(ErrorOf("PLATE;;cam\xFF;ABC;;;;"), "field 'camera' is not valid UTF-8"));
  CHECK(Contains(ErrorOf("   "), "empty"));
}

TEST_CASE("RFC 3339 and country checks") {
  using kordon::camera::IsRfc3339;
  for (const char* ok : {"2026-11-28T10:15:03Z", "2026-11-28t10:15:03.120z",
                         "2024-02-29T00:00:00+06:00", "2026-12-31T23:59:60-01:30"})
    CHECK_MESSAGE(IsRfc3339(ok), ok);
  for (const char* bad : {"2026-11-28", "2026-11-28 10:15:03Z", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T10:15:03",
                          "2026-11-28T10:15:03.Z", "2026-11-28T10:15:03+0600",
                          "2026-11-28T10:15:03Zjunk"})
    CHECK_MESSAGE(!IsRfc3339(bad), bad);
  CHECK(kordon::camera::IsCountryCode("KZ"));
  CHECK_FALSE(kordon::camera::IsCountryCode("Kz"));
}

TEST_CASE("RawForReport replaces bytes that are not UTF-8 and cuts at 512 bytes") {
  using kordon::camera::RawForReport;
  CHECK(RawForReport("A\xFF" "B") == "A\xEF\xBF\xBD" "B");
  const std::string long_line(5000, 'x');
  CHECK(RawForReport(long_line).size() == 512);
  std::string cyr;
  for (int i = 0; i < 300; ++i) cyr += "Ж";  // 600 bytes: cut between characters
  CHECK(RawForReport(cyr).size() == 512);
  const std::string body = kordon::camera::RejectedBody("why", std::string("A\0\xC3", 3), "c", "");
  const auto j = nlohmann::json::parse(body);
  CHECK(j["raw"] == std::string("A\0\xEF\xBF\xBD", 5));
  CHECK(j["camera"] == "c");
}

}  // namespace
