// The kordon-xray/1 metadata contract: a good file parses; every field's wrong type, wrong
// range and absence is refused with a message naming the field; path traversal in image.file;
// unknown fields ignored; the bodies of scanner.xray.scan and scanner.xray.rejected.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "iso6346.h"
#include "xray_device.h"
#include "xray_metadata.h"

namespace kordon::xray {
namespace {

using Json = nlohmann::json;
constexpr uint64_t kMax = uint64_t{2} << 30;

Json Good() {
  return Json::parse(R"({"format": "kordon-xray/1", "scan_id": "NUC-20261128-000123",
    "scanner_id": "akzhol-xray-1", "time": "2026-11-28T10:15:03Z",
    "image": {"file": "NUC-20261128-000123.png", "bytes": 123456, "media_type": "image/png",
              "sha256": "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
              "width": 2048, "height": 1024},
    "vehicle": {"plate": "01KG123ABC", "country": "KG"}, "containers": ["CSQU3054383"],
    "operator": {"id": "op17", "name": "A. Asanov"},
    "marks": [{"x": 10, "y": 20, "width": 100, "height": 50, "label": "organic",
               "note": "check", "suspicion": "low"}],
    "energy_kev": 6000, "mode": "dual-energy", "vendor_extra": {"anything": [1, 2]}})");
}

std::string Error(const Json& j, const std::string& id = "NUC-20261128-000123") {
  const ParseResult r = ParseMetadata(j.dump(), id, kMax);
  return r.ok() ? "" : r.error;
}

// Parses `j` with one change and checks the error mentions `expected`.
void ExpectError(Json j, const std::string& expected) {
  const std::string error = Error(j);
  CAPTURE(j.dump());
  CHECK_MESSAGE(error.find(expected) != std::string::npos, "error was: '" << error << "'");
}

TEST_CASE("a good metadata file parses, unknown fields ignored") {
  const ParseResult r = ParseMetadata(Good().dump(), "NUC-20261128-000123", kMax);
  REQUIRE_MESSAGE(r.ok(), r.error);
  const Metadata& m = *r.metadata;
  CHECK(m.scan_id == "NUC-20261128-000123");
  CHECK(m.scanner_id == "akzhol-xray-1");
  CHECK(m.image.file == "NUC-20261128-000123.png");
  CHECK(m.image.bytes == 123456);
  CHECK(m.image.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(m.image.width == 2048);
  CHECK(m.vehicle->plate == "01KG123ABC");
  CHECK(m.containers == std::vector<std::string>{"CSQU3054383"});
  CHECK(m.operator_->id == "op17");
  REQUIRE(m.marks.size() == 1);
  CHECK(m.marks[0].suspicion == "low");
  CHECK(m.energy_kev == 6000);
  CHECK(m.mode == "dual-energy");
}

TEST_CASE("a container code that fails ISO 6346 keeps the scan and is flagged in the body") {
  Json j = Good();
  j["containers"] = {"CSQU 305438-4", "csqu3054383", "TRUCK7"};  // wrong digit, lower case, odd
  const ParseResult r = ParseMetadata(j.dump(), "NUC-20261128-000123", kMax);
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.metadata->containers ==
        std::vector<std::string>{"CSQU3054384", "CSQU3054383", "TRUCK7"});
  const Json body = Json::parse(ScanBody(*r.metadata, "xray1", "/spool/processed/x.png",
                                         std::string(64, 'a')));
  REQUIRE(body["container_checks"].size() == 3);
  CHECK(body["container_checks"][0]["valid"] == false);
  CHECK(body["container_checks"][0]["expected"] == "3");
  CHECK(body["container_checks"][0]["found"] == "4");
  CHECK(body["container_checks"][1]["valid"] == true);
  CHECK(body["container_checks"][1]["problem"].is_null());
  CHECK(body["container_checks"][2]["valid"] == false);
  CHECK(body["container_checks"][2]["problem"].is_string());
}

TEST_CASE("only the required fields") {
  Json j = Good();
  for (const char* k : {"vehicle", "containers", "operator", "marks", "energy_kev", "mode"})
    j.erase(k);
  j["image"].erase("sha256");
  const ParseResult r = ParseMetadata(j.dump(), "NUC-20261128-000123", kMax);
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK_FALSE(r.metadata->vehicle.has_value());
  CHECK_FALSE(r.metadata->image.sha256.has_value());
  const Json body = Json::parse(ScanBody(*r.metadata, "xray1", "/spool/processed/x.png",
                                         std::string(64, 'a')));
  CHECK(body["vehicle"].is_null());
  CHECK(body["operator"].is_null());
  CHECK(body["containers"] == Json::array());
  CHECK(body["marks"] == Json::array());
  CHECK(body["mode"].is_null());
  CHECK(body["energy_kev"].is_null());
}

bool NotJson(const std::string& text) {
  return ParseMetadata(text, "X", kMax).error.find("not valid JSON") != std::string::npos;
}

TEST_CASE("not JSON, not an object, too large, too deep") {
  CHECK(NotJson("{\"format\": "));
  CHECK(NotJson(""));
  CHECK(NotJson("{\"a\": \"\xff\"}"));  // not UTF-8
  CHECK(ParseMetadata("[1]", "X", kMax).error == "metadata must be a JSON object");
  // Nesting as deep as the size limit allows: refused or parsed, never a stack overflow.
  const std::string deep = "{\"a\": " + std::string(kMaxMetadataBytes / 2 - 8, '[') +
                           std::string(kMaxMetadataBytes / 2 - 8, ']') + "}";
  CHECK(ParseMetadata(deep, "X", kMax).error == "scan_id is missing");
  const std::string huge = "{\"pad\": \"" + std::string(kMaxMetadataBytes, 'x') + "\"}";
  CHECK(ParseMetadata(huge, "X", kMax).error.find("larger than") != std::string::npos);
}

TEST_CASE("every field: missing, wrong type, out of range") {
  struct Case {
    const char* pointer;
    Json value;  // null json pointer value "remove" marker below
    bool remove;
    const char* expected;
  };
  const Case cases[] = {
      {"/format", nullptr, true, "format is missing"},
      {"/format", "kordon-xray/2", false, "format must be"},
      {"/format", 1, false, "format must be"},
      {"/scan_id", nullptr, true, "scan_id is missing"},
      {"/scan_id", 5, false, "scan_id must be a string"},
      {"/scan_id", "", false, "scan_id must not be empty"},
      {"/scan_id", "a/b", false, "scan_id must be 1..64"},
      {"/scan_id", "OTHER-1", false, "does not match the file name"},
      {"/scanner_id", nullptr, true, "scanner_id is missing"},
      {"/scanner_id", Json::array(), false, "scanner_id must be a string"},
      {"/scanner_id", "a\tb", false, "scanner_id contains control characters"},
      {"/scanner_id", std::string(65, 'x'), false, "scanner_id is longer than 64"},
      {"/time", nullptr, true, "time is missing"},
      {"/time", "2026-11-28 10:15:03", false, "not an RFC 3339"},
      {"/time", "2026-02-29T10:15:03Z", false, "not an RFC 3339"},
      {"/time", "2026-11-28T24:00:00Z", false, "not an RFC 3339"},
      {"/time", "2026-11-28T10:15:03", false, "not an RFC 3339"},
      {"/image", nullptr, true, "image is missing"},
      {"/image", "x.png", false, "image must be an object"},
      {"/image/file", nullptr, true, "image.file is missing"},
      {"/image/file", 3, false, "image.file must be a string"},
      {"/image/file", "../etc/passwd", false, "plain file name"},
      {"/image/file", "sub/x.png", false, "plain file name"},
      {"/image/file", "..", false, "plain file name"},
      {"/image/file", "/etc/passwd", false, "plain file name"},
      {"/image/file", ".hidden.png", false, "plain file name"},
      {"/image/file", "x.png.part", false, "plain file name"},
      {"/image/file", "NUC-20261128-000123.json", false, "must not end in .json"},
      {"/image/bytes", nullptr, true, "image.bytes is missing"},
      {"/image/bytes", "123", false, "image.bytes must be an integer"},
      {"/image/bytes", 1.5, false, "image.bytes must be an integer"},
      {"/image/bytes", 0, false, "image.bytes is out of range"},
      {"/image/bytes", -5, false, "image.bytes is out of range"},
      {"/image/bytes", uint64_t{1} << 63, false, "image.bytes is out of range"},
      {"/image/bytes", (uint64_t{2} << 30) + 1, false, "image.bytes is out of range"},
      {"/image/media_type", nullptr, true, "image.media_type is missing"},
      {"/image/media_type", "png", false, "is not a media type"},
      {"/image/media_type", "image/png/x", false, "is not a media type"},
      {"/image/sha256", "abc", false, "image.sha256 must be 64 hexadecimal"},
      {"/image/sha256", std::string(64, 'g'), false, "image.sha256 must be 64 hexadecimal"},
      {"/image/sha256", 7, false, "image.sha256 must be a string"},
      {"/image/width", nullptr, true, "image.width is missing"},
      {"/image/width", 0, false, "image.width is out of range"},
      {"/image/height", "1024", false, "image.height must be an integer"},
      {"/image/height", 2000000, false, "image.height is out of range"},
      {"/vehicle", "01KG", false, "vehicle must be an object"},
      {"/vehicle/plate", 12, false, "vehicle.plate must be a string"},
      {"/vehicle/plate", "", false, "vehicle.plate must not be empty"},
      {"/vehicle/plate", std::string(33, 'A'), false, "vehicle.plate is longer than 32"},
      {"/vehicle/country", "kg", false, "vehicle.country must be 2 or 3 capital"},
      {"/containers", "CSQU3054383", false, "containers must be an array"},
      {"/containers/0", 5, false, "containers[0] must be a string"},
      {"/containers/0", "CSQU/3054384", false, "containers[0] 'CSQU/3054384' is not a container code"},
      {"/containers/0", "", false, "is not a container code"},
      {"/containers/0", std::string(17, 'A'), false, "is not a container code"},
      {"/operator", 1, false, "operator must be an object"},
      {"/operator/id", nullptr, true, "operator.id is missing"},
      {"/operator/name", false, false, "operator.name must be a string"},
      {"/marks", Json::object(), false, "marks must be an array"},
      {"/marks/0", 1, false, "marks[0] must be an object"},
      {"/marks/0/x", nullptr, true, "marks[0].x is missing"},
      {"/marks/0/x", -1, false, "marks[0].x is out of range"},
      {"/marks/0/x", 2048, false, "marks[0].x is out of range"},
      {"/marks/0/width", 2039, false, "marks[0].width is out of range"},
      {"/marks/0/height", 0, false, "marks[0].height is out of range"},
      {"/marks/0/y", "20", false, "marks[0].y must be an integer"},
      {"/marks/0/label", nullptr, true, "marks[0].label is missing"},
      {"/marks/0/note", 3, false, "marks[0].note must be a string"},
      {"/marks/0/suspicion", "extreme", false, "marks[0].suspicion must be"},
      {"/energy_kev", "6000", false, "energy_kev must be an integer"},
      {"/energy_kev", 0, false, "energy_kev is out of range"},
      {"/energy_kev", 30000, false, "energy_kev is out of range"},
      {"/mode", "triple", false, "mode must be"},
      {"/mode", 2, false, "mode must be a string"},
  };
  for (const Case& c : cases) {
    Json j = Good();
    const Json::json_pointer p(c.pointer);
    if (c.remove) {
      j[p.parent_pointer()].erase(p.back());
    } else {
      j[p] = c.value;
    }
    ExpectError(j, c.expected);
  }
}

TEST_CASE("a rejection still names the scan and its image when they were readable") {
  Json j = Good();
  j["time"] = "yesterday";
  const ParseResult r = ParseMetadata(j.dump(), "NUC-20261128-000123", kMax);
  REQUIRE_FALSE(r.ok());
  CHECK(r.scan_id == "NUC-20261128-000123");
  CHECK(r.image_file == "NUC-20261128-000123.png");
  j["image"]["file"] = "../../x";
  CHECK(ParseMetadata(j.dump(), "NUC-20261128-000123", kMax).image_file.empty());
}

TEST_CASE("max_image_bytes bounds image.bytes") {
  CHECK(ParseMetadata(Good().dump(), "NUC-20261128-000123", 123456).ok());
  CHECK(ParseMetadata(Good().dump(), "NUC-20261128-000123", 123455).error.find(
            "image.bytes is out of range") != std::string::npos);
}

TEST_CASE("helpers: names, scan ids, container codes, timestamps") {
  CHECK(IsPlainFileName("a.png"));
  CHECK_FALSE(IsPlainFileName(""));
  CHECK_FALSE(IsPlainFileName(".."));
  CHECK_FALSE(IsPlainFileName("a/b"));
  CHECK_FALSE(IsPlainFileName(std::string("a\0b", 3)));
  CHECK_FALSE(IsPlainFileName(std::string(256, 'a')));
  CHECK(IsTemporaryName(".x.json.tmp"));
  CHECK(IsTemporaryName("x.part"));
  CHECK_FALSE(IsTemporaryName("x.json"));
  CHECK(IsValidScanId("NUC-20261128-000123"));
  CHECK_FALSE(IsValidScanId(".x"));
  CHECK_FALSE(IsValidScanId("a b"));
  for (uint32_t serial : {0u, 1u, 123456u, 999999u})
    CHECK(kordon::iso6346::Analyse(ContainerCode("MAE", serial)).valid);
  CHECK(IsValidTimestamp("2024-02-29T00:00:00Z"));
  CHECK(IsValidTimestamp("2026-11-28T10:15:03.123+06:00"));
  CHECK_FALSE(IsValidTimestamp("2026-11-28T10:15:03.+06:00"));
  CHECK_FALSE(IsValidTimestamp("2026-11-31T10:15:03Z"));
  CHECK_FALSE(IsValidTimestamp("2026-11-28T10:15:03Zjunk"));
}

TEST_CASE("scanner.xray.scan and scanner.xray.rejected bodies") {
  const ParseResult r = ParseMetadata(Good().dump(), "NUC-20261128-000123", kMax);
  REQUIRE(r.ok());
  const Json body = Json::parse(ScanBody(*r.metadata, "xray1", "/s/processed/N.png", "ab"));
  CHECK(body["scan_id"] == "NUC-20261128-000123");
  CHECK(body["scanner"] == "xray1");
  CHECK(body["image"]["path"] == "/s/processed/N.png");
  CHECK(body["image"]["sha256"] == "ab");
  CHECK(body["image"]["bytes"] == 123456);
  CHECK(body["image"]["media_type"] == "image/png");
  CHECK(body["vehicle"]["plate"] == "01KG123ABC");
  CHECK(body["containers"][0] == "CSQU3054383");
  CHECK(body["operator"]["name"] == "A. Asanov");
  CHECK(body["marks"][0]["label"] == "organic");
  CHECK(body["mode"] == "dual-energy");
  CHECK(body["energy_kev"] == 6000);
  CHECK_FALSE(body.contains("vendor_extra"));
  const Json rejected = Json::parse(RejectedBody("xray1", std::nullopt, "x.png", "orphan"));
  CHECK(rejected["scan_id"].is_null());
  CHECK(rejected["file"] == "x.png");
  CHECK(rejected["reason"] == "orphan");
}

TEST_CASE("the simulator's scans are valid metadata") {
  for (uint64_t i = 0; i < 50; ++i) {
    const ScanFiles f = MakeScan(RandomScanSpec(7, i, "sim"));
    const std::string id = f.metadata_name.substr(0, f.metadata_name.size() - 5);
    const ParseResult r = ParseMetadata(f.metadata, id, kMax);
    REQUIRE_MESSAGE(r.ok(), r.error << "\n" << f.metadata);
    CHECK(r.metadata->image.bytes == f.image.size());
    if (r.metadata->image.sha256) CHECK(*r.metadata->image.sha256 == f.sha256);
    CHECK(f.image.rfind("P5\n512 256\n255\n", 0) == 0);
  }
}

}  // namespace
}  // namespace kordon::xray
