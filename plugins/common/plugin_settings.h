// plugin_settings.h — reading a plugin's numeric settings with their allowed range, so that a
// bad value fails `create` with a sentence naming the setting. Header-only; needs the SDK's
// plugin.hpp.
#ifndef KORDON_PLUGINS_COMMON_PLUGIN_SETTINGS_H_
#define KORDON_PLUGINS_COMMON_PLUGIN_SETTINGS_H_

#include <kordon/plugin.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kordon::settings {

// The integer setting `key` (`fallback` when absent). Throws std::invalid_argument
// ("setting 'batch_ms' must be between 1 and 60000, got 0") outside [min, max]; a value that
// is not an integer is refused by Host::ConfigInt with its own message.
inline int64_t IntInRange(const kordon::Host& h, const std::string& key, int64_t fallback,
                          int64_t min, int64_t max) {
  const int64_t v = h.ConfigInt(key, fallback);
  if (v < min || v > max)
    throw std::invalid_argument("setting '" + key + "' must be between " + std::to_string(min) +
                                " and " + std::to_string(max) + ", got " + std::to_string(v));
  return v;
}

}  // namespace kordon::settings

#endif  // KORDON_PLUGINS_COMMON_PLUGIN_SETTINGS_H_
