// channel.h — the inspection channels, one list for every plugin that reads or writes one
// (risk-rules assigns them, crossings records them and takes a supervisor's override, the
// console shows them and sends the override). The names are the wire form of `channel` in
// risk.assessment.v1, officer.override.v1 and the crossing pictures.
//
// Weakest first (ASYCUDA selectivity): green = release, blue = release now and audit after
// clearance, yellow = documentary check before release, red = physical inspection. "Stronger"
// means later in this order.
#ifndef KORDON_PLUGINS_COMMON_CHANNEL_H_
#define KORDON_PLUGINS_COMMON_CHANNEL_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kordon {

enum class Channel { kGreen = 0, kBlue = 1, kYellow = 2, kRed = 3 };
inline constexpr size_t kChannelCount = 4;
inline constexpr std::array<const char*, kChannelCount> kChannelNames = {"green", "blue",
                                                                         "yellow", "red"};

constexpr const char* ChannelName(Channel c) {
  const auto i = static_cast<size_t>(c);
  return i < kChannelCount ? kChannelNames[i] : "?";
}

constexpr std::optional<Channel> ParseChannel(std::string_view name) {
  for (size_t i = 0; i < kChannelCount; ++i)
    if (name == kChannelNames[i]) return static_cast<Channel>(i);
  return std::nullopt;
}

constexpr Channel Stronger(Channel a, Channel b) { return a < b ? b : a; }

// The names from `first` on, for a message: "green, blue, yellow or red" (or, with
// last = ", ", "green, blue, yellow, red").
inline std::string ChannelList(Channel first = Channel::kGreen, std::string_view last = " or ") {
  std::string list;
  for (auto i = static_cast<size_t>(first); i < kChannelCount; ++i) {
    if (!list.empty()) list += i + 1 == kChannelCount ? last : std::string_view(", ");
    list += kChannelNames[i];
  }
  return list;
}

}  // namespace kordon

#endif  // KORDON_PLUGINS_COMMON_CHANNEL_H_
