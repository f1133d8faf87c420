// plate_reader.cpp — the plate-reader plugin: licence-plate reads from an ANPR camera's feed
// (the `link` setting) or from scanner.plate.raw on the bus, normalised and published as
// scanner.plate.read; malformed lines as scanner.plate.rejected; the camera's state as
// device.status. The glue is camera_plugin.h (shared with container-reader); what a line
// means is plate_message.h. Threading: see camera_plugin.h.

#include <kordon/plugin.hpp>

#include <string_view>

#include "camera_feed.h"
#include "camera_plugin.h"
#include "device_model.h"
#include "plate_message.h"

namespace {

struct PlateTraits {
  static constexpr const char* kName = "plate camera";
  static constexpr const char* kRawTopic = kordon::plate::kRawTopic;
  static constexpr const char* kReadTopic = kordon::plate::kReadTopic;
  static constexpr const char* kRejectedTopic = kordon::plate::kRejectedTopic;
  static constexpr uint32_t kReadSchemaVersion = kordon::plate::kReadSchemaVersion;
  static constexpr const char* kDeviceKind = kordon::plate::kDeviceKind;
  static kordon::camera::Outcome HandleLine(std::string_view line,
                                            const kordon::camera::Settings& settings) {
    return kordon::plate::HandleLine(line, settings);
  }
  static kordon::camera::Outcome HandleRawBody(std::string_view body,
                                               const kordon::camera::Settings& settings) {
    return kordon::plate::HandleRawBody(body, settings);
  }
};

using PlateReader = kordon::camera::CameraPlugin<PlateTraits>;

}  // namespace

KORDON_PLUGIN(PlateReader, {.name = "plate-reader",
                            .kind = KORDON_KIND_SCANNER,
                            .vendor = "Kordon",
                            .version = "1.0.0",
                            .description = "Reads licence plates from an ANPR camera (link) or "
                                           "scanner.plate.raw -> scanner.plate.read / .rejected, "
                                           "device.status",
                            .publishes = {kordon::plate::kReadTopic,
                                          kordon::plate::kRejectedTopic,
                                          kordon::device::kStatusTopic},
                            .subscribes = {kordon::plate::kRawTopic,
                                           kordon::device::kStatusRequestTopic},
                            .services = {}})
