// container_message.h — the message bodies of the container-reader plugin, apart from the
// plugin so that they can be tested and fuzzed without a host. See README.md for the formats.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_CONTAINER_READER_CONTAINER_MESSAGE_H_
#define KORDON_PLUGINS_CONTAINER_READER_CONTAINER_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "camera_feed.h"

namespace kordon::container {

inline constexpr char kRawTopic[] = "scanner.container.raw";
inline constexpr char kReadTopic[] = "scanner.container.read";
inline constexpr char kRejectedTopic[] = "scanner.container.rejected";
inline constexpr uint32_t kReadSchemaVersion = 1;
inline constexpr char kDeviceKind[] = "container-camera";

// The scanner.container.read outcome of one read. Codes that fail ISO 6346 are published too,
// with "valid": false and the reason (a failed check digit is a risk indicator).
camera::Outcome ReadOutcome(const camera::CameraRead& read, const camera::Settings& settings);

// One line of a camera's feed: a read, a rejection or a heartbeat.
camera::Outcome HandleLine(std::string_view line, const camera::Settings& settings);

// A scanner.container.raw body ({"code": ..., same fields as a JSON feed line}).
camera::Outcome HandleRawBody(std::string_view body, const camera::Settings& settings);

}  // namespace kordon::container

#endif  // KORDON_PLUGINS_CONTAINER_READER_CONTAINER_MESSAGE_H_
