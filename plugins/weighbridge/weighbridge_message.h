// weighbridge_message.h — the message bodies of the weighbridge plugin, apart from the plugin
// so that they can be tested without a host. See README.md for the formats.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_MESSAGE_H_
#define KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stable_weight.h"
#include "weighbridge.h"

namespace kordon::weighbridge {

inline constexpr char kLiveTopic[] = "scale.weight.live";
inline constexpr char kStableTopic[] = "scale.weight.stable";
inline constexpr char kClearedTopic[] = "scale.weight.cleared";
inline constexpr char kErrorTopic[] = "scale.error";
inline constexpr char kCommandTopic[] = "scale.command";
inline constexpr char kCommandResultTopic[] = "scale.command.result";

// scale.weight.live: never final ("stable": false always). kg and tare_kg are null when the
// status is not a weight (overload, underload, not_ready).
std::string LiveBody(std::string_view scale, const Reading& reading, std::string_view frame);
std::string StableBody(std::string_view scale, const StableWeight& stable);
std::string ClearedBody(std::string_view scale, uint64_t vehicle_seq);
std::string ErrorBody(std::string_view scale, std::string_view reason, std::string_view frame);

// A scale.command body: {"scale": "<instance>", "command": "zero" | "tare"}.
struct ScaleCommand {
  std::string scale;
  std::string command;  // "zero" or "tare"
};
// nullopt with *error set when the body is not such an object.
std::optional<ScaleCommand> ParseCommandBody(std::string_view body, std::string* error);

// scale.command.result: {"scale", "command", "request_id", "ok", "result", "detail"
// [, "tare_kg"]}. result: done | not_ready | overload | underload | rejected | timeout |
// failed | sent.
std::string CommandResultBody(std::string_view scale, std::string_view command,
                              std::string_view request_id, bool ok, std::string_view result,
                              std::string_view detail, std::optional<double> tare_kg = {});

}  // namespace kordon::weighbridge

#endif  // KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_MESSAGE_H_
