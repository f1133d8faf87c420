// ISO 6346 (plugins/container-reader/iso6346.h) and the container-reader message bodies.
// Reference codes from two sources besides this implementation: CSQU3054383 (the ISO 6346
// example, Wikipedia and Lobster's ISO6346 check) and MWCU6059784 (prefixlist.com's worked
// example: sum 7858, mod 11 = 4).
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "container_message.h"
#include "iso6346.h"

namespace {

using kordon::iso6346::Analyse;
using kordon::iso6346::CheckDigit;
using kordon::iso6346::LetterValue;
using Json = nlohmann::json;

TEST_CASE("letter values skip multiples of 11") {
  CHECK(LetterValue('A') == 10);
  CHECK(LetterValue('B') == 12);
  CHECK(LetterValue('C') == 13);
  CHECK(LetterValue('K') == 21);
  CHECK(LetterValue('L') == 23);
  CHECK(LetterValue('U') == 32);
  CHECK(LetterValue('V') == 34);
  CHECK(LetterValue('Z') == 38);
  CHECK(LetterValue('a') == -1);
}

TEST_CASE("known codes validate, with separators and lower case") {
  CHECK(*CheckDigit("CSQU305438") == '3');
  CHECK(*CheckDigit("MWCU605978") == '4');
  for (const char* code : {"CSQU3054383", "MWCU6059784", "csqu 305438-3", "MSKU 907032 3",
                           "MSCU.123456.6"}) {
    const auto a = Analyse(code);
    CHECK_MESSAGE(a.valid, code);
    CHECK(a.problem.empty());
  }
  CHECK(Analyse("CSQU 305438-3").code == "CSQU3054383");
}

TEST_CASE("a wrong check digit: expected and found") {
  const auto a = Analyse("MSCU 123456-5");
  CHECK(a.shape_ok);
  CHECK_FALSE(a.valid);
  CHECK(*a.expected == '6');
  CHECK(*a.found == '5');
  CHECK(a.problem == "check digit mismatch: expected 6, found 5");
  CHECK_FALSE(a.repair);  // no confusion keeps the shape
}

TEST_CASE("shape problems in words") {
  CHECK(Analyse("CSQU305438").problem.find("10 characters") != std::string::npos);
  CHECK(Analyse("CSQX3054383").problem.find("category") != std::string::npos);
  CHECK(Analyse("C1QU3054383").problem.find("owner code") != std::string::npos);
  CHECK(Analyse("CSQU30543A3").problem.find("serial number") != std::string::npos);
  CHECK(Analyse("CSQU305438A").problem.find("check digit (character 11)") != std::string::npos);
  CHECK(Analyse("CSQU/054383").problem.find("character 5 is not") != std::string::npos);
  CHECK_FALSE(Analyse("").valid);
  CHECK_FALSE(Analyse("ЖSQU3054383").valid);
}

TEST_CASE("OCR repair: one validating candidate is offered") {
  auto a = Analyse("CSQU3O54383");  // letter O in the serial
  CHECK_FALSE(a.valid);
  REQUIRE(a.repair);
  CHECK(a.repair->position == 5);
  CHECK(a.repair->from == 'O');
  CHECK(a.repair->to == '0');
  CHECK(a.repair->code == "CSQU3054383");
  a = Analyse("C5QU3054383");  // digit 5 in the owner code
  REQUIRE(a.repair);
  CHECK(a.repair->position == 1);
  CHECK(a.repair->to == 'S');
  a = Analyse("CSQU305438B");  // B for 8 as check digit, but 8 is not the check digit
  CHECK_FALSE(a.repair);
  CHECK(a.repair_candidates == 0);
  a = Analyse("CSQU3O54388");  // the shape repaired, the check digit still wrong
  CHECK_FALSE(a.repair);
  a = Analyse("CSQ2305438 7");  // category Z read as 2 (CSQZ3054387 is valid)
  REQUIRE(a.repair);
  CHECK(a.repair->position == 3);
  CHECK(a.repair->code == "CSQZ3054387");
}

TEST_CASE("OCR repair: ambiguous candidates offer none") {
  // With a 3/8 confusion, CSQU3354383 validates as CSQU8354383 and as CSQU3354333.
  const std::vector<kordon::iso6346::Confusion> confusions = {{'3', '8'}};
  const auto a = Analyse("CSQU3354383", confusions);
  CHECK_FALSE(a.valid);
  CHECK(a.repair_candidates == 2);
  CHECK_FALSE(a.repair);
  // The same table with one candidate: repaired.
  const auto b = Analyse("CSQU3054388", confusions);
  CHECK(b.repair_candidates == 1);
  REQUIRE(b.repair);
  CHECK(b.repair->code == "CSQU3054383");
}

kordon::camera::Settings TestSettings() { return {"lane1-ccr", 0.9, ""}; }

TEST_CASE("scanner.container.read: valid, invalid, repaired") {
  auto o = kordon::container::HandleLine(
      R"({"code": "CSQU 305438 3", "confidence": 0.88, "camera": "ccr2", "position": "rear", )"
      R"("size_type": "22G1", "image": "/i.jpg", "time": "2026-11-28T10:15:03Z", "id": 9})",
      TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRead);
  CHECK(o.topic == "scanner.container.read");
  Json j = Json::parse(o.body);
  CHECK(j["code"] == "CSQU3054383");
  CHECK(j["raw"] == "CSQU 305438 3");
  CHECK(j["owner"] == "CSQ");
  CHECK(j["category"] == "U");
  CHECK(j["serial"] == "305438");
  CHECK(j["check_digit"] == "3");
  CHECK(j["valid"] == true);
  CHECK(j["check"]["expected"] == "3");
  CHECK(j["check"]["problem"].is_null());
  CHECK(j["repair"].is_null());
  CHECK(j["repaired_valid"] == false);
  CHECK(j["size_type"] == "22G1");
  CHECK(j["low_confidence"] == true);
  CHECK(j["camera"] == "ccr2");
  CHECK(j["position"] == "rear");
  CHECK(j["read_id"] == "9");

  j = Json::parse(kordon::container::HandleLine("CONTAINER;;;MSCU 123456-5;;;", TestSettings())
                      .body);
  CHECK(j["valid"] == false);
  CHECK(j["check"]["expected"] == "6");
  CHECK(j["check"]["found"] == "5");
  CHECK(j["camera"] == "lane1-ccr");

  j = Json::parse(kordon::container::HandleLine("CONTAINER;;;CSQU3O54383;;;", TestSettings())
                      .body);
  CHECK(j["valid"] == false);
  CHECK(j["repaired_valid"] == true);
  CHECK(j["repair"]["position"] == 5);
  CHECK(j["repair"]["from"] == "O");
  CHECK(j["repair"]["to"] == "0");
  CHECK(j["repair"]["code"] == "CSQU3054383");
  CHECK(j["owner"].is_null());  // the read itself is not well-shaped

  // Not a code at all: still reported as a read, invalid.
  j = Json::parse(kordon::container::HandleLine(R"({"code":"HELLO"})", TestSettings()).body);
  CHECK(j["valid"] == false);
  CHECK(j["check"]["problem"].get<std::string>().find("5 characters") != std::string::npos);
}

TEST_CASE("container rejections and raw bodies") {
  auto o = kordon::container::HandleLine("CONTAINER;;cam;;;;", TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRejected);
  CHECK(o.topic == "scanner.container.rejected");
  CHECK(Json::parse(o.body)["reason"].get<std::string>().find("'code'") != std::string::npos);
  o = kordon::container::HandleRawBody(R"({"code": "MWCU6059784"})", TestSettings());
  REQUIRE(o.kind == kordon::camera::Outcome::Kind::kRead);
  CHECK(Json::parse(o.body)["valid"] == true);
}

}  // namespace
