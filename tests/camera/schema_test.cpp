// The bodies plate-reader and container-reader publish conform to their schemas in
// sdk/schemas (and plate-sim's v1 body to scanner.plate.read v2), checked with
// tests/support/schema_check.h.
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "container_message.h"
#include "schema_check.h"
#include "plate_message.h"

namespace {

using Json = nlohmann::json;

// These schemas list every member: one they do not know is a problem.
void CheckConforms(const std::string& body, const std::string& schema_file) {
  kordon::testing::CheckConforms(body, schema_file, {.closed_objects = true});
}

const kordon::camera::Settings kSettings{"cam", 0.5, "tcp://127.0.0.1:9"};

TEST_CASE("plate-reader bodies conform to their schemas; plate-sim's v1 body to v2") {
  for (const char* line :
       {R"({"plate": "01 KG 123 ABC", "confidence": 0.93, "country": "KG", "region": "01",)"
        R"( "image": "/i.jpg", "camera": "c", "time": "2026-11-28T10:15:03.120Z",)"
        R"( "direction": "in", "id": 123})",
        "PLATE;;;жд 1;0.1;;;", "PLATE;;;A/1;;;;", "\xFF garbage", "HEARTBEAT;;c"}) {
    const kordon::camera::Outcome o = kordon::plate::HandleLine(line, kSettings);
    if (o.topic == kordon::plate::kReadTopic) CheckConforms(o.body, "scanner.plate.read.v2.json");
    if (o.topic == kordon::plate::kRejectedTopic)
      CheckConforms(o.body, "scanner.plate.rejected.v1.json");
  }
  // What plate-sim publishes (its README's example).
  CheckConforms(R"({"camera":"lane1-camera","raw":"02 KG 345 АВС","plate":"02KG345ABC",)"
                R"("confidence":0.82,"country":"KG","image_ref":"sim://lane1-camera/1.jpg",)"
                R"("sequence":1})",
                "scanner.plate.read.v2.json");
  CheckConforms(R"({"plate": "01KG", "id": 5, "direction": null})", "scanner.plate.raw.v1.json");
}

TEST_CASE("container-reader bodies conform to their schemas") {
  for (const char* line :
       {R"({"code": "CSQU 305438 3", "confidence": 0.88, "size_type": "22G1", "position": "rear",)"
        R"( "id": "9", "camera": "c", "image": "/i", "time": "2026-11-28T10:15:03Z"})",
        "CONTAINER;;;MSCU 123456-5;;;", "CONTAINER;;;CSQU3O54383;;;", "CONTAINER;;;HELLO;;;",
        "junk"}) {
    const kordon::camera::Outcome o = kordon::container::HandleLine(line, kSettings);
    if (o.topic == kordon::container::kReadTopic)
      CheckConforms(o.body, "scanner.container.read.v1.json");
    if (o.topic == kordon::container::kRejectedTopic)
      CheckConforms(o.body, "scanner.container.rejected.v1.json");
  }
  CheckConforms(R"({"code": "CSQU3054383", "position": "top"})", "scanner.container.raw.v1.json");
}

}  // namespace
