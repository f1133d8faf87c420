// container_reader.cpp — the container-reader plugin: freight-container codes from a
// container-code OCR camera's feed (the `link` setting) or from scanner.container.raw on the
// bus, checked against ISO 6346 and published as scanner.container.read (invalid codes too,
// flagged); malformed lines as scanner.container.rejected; the camera's state as
// device.status. The glue is camera_plugin.h (shared with plate-reader); what a line means is
// container_message.h. Threading: see camera_plugin.h.

#include <kordon/plugin.hpp>

#include <string_view>

#include "camera_feed.h"
#include "camera_plugin.h"
#include "device_model.h"
#include "container_message.h"

namespace {

struct ContainerTraits {
  static constexpr const char* kName = "container camera";
  static constexpr const char* kRawTopic = kordon::container::kRawTopic;
  static constexpr const char* kReadTopic = kordon::container::kReadTopic;
  static constexpr const char* kRejectedTopic = kordon::container::kRejectedTopic;
  static constexpr uint32_t kReadSchemaVersion = kordon::container::kReadSchemaVersion;
  static constexpr const char* kDeviceKind = kordon::container::kDeviceKind;
  static kordon::camera::Outcome HandleLine(std::string_view line,
                                            const kordon::camera::Settings& settings) {
    return kordon::container::HandleLine(line, settings);
  }
  static kordon::camera::Outcome HandleRawBody(std::string_view body,
                                               const kordon::camera::Settings& settings) {
    return kordon::container::HandleRawBody(body, settings);
  }
};

using ContainerReader = kordon::camera::CameraPlugin<ContainerTraits>;

}  // namespace

KORDON_PLUGIN(ContainerReader, {.name = "container-reader",
                            .kind = KORDON_KIND_SCANNER,
                            .vendor = "Kordon",
                            .version = "1.0.0",
                            .description = "Reads ISO 6346 container codes from an OCR camera "
                                           "(link) or scanner.container.raw -> "
                                           "scanner.container.read / .rejected, device.status",
                            .publishes = {kordon::container::kReadTopic,
                                          kordon::container::kRejectedTopic,
                                          kordon::device::kStatusTopic},
                            .subscribes = {kordon::container::kRawTopic,
                                           kordon::device::kStatusRequestTopic},
                            .services = {}})
