// plate_message.h — the message bodies of the plate-reader plugin, apart from the plugin so that
// they can be tested and fuzzed without a host. See README.md for the formats.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_PLATE_READER_PLATE_MESSAGE_H_
#define KORDON_PLUGINS_PLATE_READER_PLATE_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "camera_feed.h"

namespace kordon::plate {

inline constexpr char kRawTopic[] = "scanner.plate.raw";
inline constexpr char kReadTopic[] = "scanner.plate.read";
inline constexpr char kRejectedTopic[] = "scanner.plate.rejected";
// scanner.plate.read v2: v1 (plate-sim) with nullable fields and the camera feed's fields.
inline constexpr uint32_t kReadSchemaVersion = 2;
inline constexpr char kDeviceKind[] = "plate-camera";

// The outcome of one read: scanner.plate.read, or scanner.plate.rejected (quoting `raw`) when
// the text does not normalise to a plate.
camera::Outcome ReadOutcome(const camera::CameraRead& read, std::string_view raw,
                            const camera::Settings& settings);

// One line of a camera's feed: a read, a rejection or a heartbeat.
camera::Outcome HandleLine(std::string_view line, const camera::Settings& settings);

// A scanner.plate.raw body ({"plate": ..., same fields as a JSON feed line}).
camera::Outcome HandleRawBody(std::string_view body, const camera::Settings& settings);

}  // namespace kordon::plate

#endif  // KORDON_PLUGINS_PLATE_READER_PLATE_MESSAGE_H_
