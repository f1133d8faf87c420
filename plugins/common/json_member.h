// json_member.h — reading one string member of a JSON body from the bus, the way the database
// plugins check what other plugins send them: absent or null reads as "", another type or an
// over-long value is an error naming the member. Header-only (nlohmann::json).
#ifndef KORDON_PLUGINS_COMMON_JSON_MEMBER_H_
#define KORDON_PLUGINS_COMMON_JSON_MEMBER_H_

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace kordon {

// *out = the string member `key` of object `j` ("" when absent or null); false and *error
// when it is another type or longer than `max_bytes`.
inline bool StringMember(const nlohmann::json& j, const char* key, std::string* out,
                         std::string* error, size_t max_bytes = 512) {
  out->clear();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string("'") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  if (out->size() > max_bytes) {
    *error = std::string("'") + key + "' is longer than " + std::to_string(max_bytes) + " bytes";
    return false;
  }
  return true;
}

}  // namespace kordon

#endif  // KORDON_PLUGINS_COMMON_JSON_MEMBER_H_
