// UTF-8 decoding and encoding shared by the in-tree plugins (header-only; no link dependency).
#ifndef KORDON_PLUGINS_COMMON_UTF8_H_
#define KORDON_PLUGINS_COMMON_UTF8_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kordon::text {

// Decodes the UTF-8 sequence that starts at text[*pos] and advances *pos past it. Returns
// nullopt for a malformed sequence (truncated, overlong, surrogate or beyond U+10FFFF), and
// then leaves *pos where it was. REQUIRES: *pos < text.size().
inline std::optional<char32_t> DecodeUtf8(std::string_view text, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(*pos);
  size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++*pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() - *pos < length) return std::nullopt;
  for (size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  *pos += length;
  return cp;
}

inline bool IsValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();)
    if (!DecodeUtf8(text, &pos)) return false;
  return true;
}

// Appends the UTF-8 encoding of `cp`. REQUIRES: cp <= U+10FFFF and not a surrogate.
inline void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace kordon::text

#endif  // KORDON_PLUGINS_COMMON_UTF8_H_
