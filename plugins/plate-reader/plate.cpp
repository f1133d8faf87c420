// plate.cpp — see plate.h.

#include "plate.h"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "utf8.h"

namespace kordon::plate {
namespace {

using kordon::text::AppendUtf8;

// The Cyrillic literals below must reach the binary as UTF-8.
static_assert(sizeof("А") == 3, "compile this file with a UTF-8 execution character set");

// What separates the groups of a plate, as keyboards and OCR engines write it.
bool IsSeparator(char32_t cp) {
  return cp == U' ' || cp == U'-' || cp == U'.' || cp == U'\t' || cp == 0x00A0 ||
         cp == 0x202F || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212;
}

// The Latin capital a Cyrillic letter cannot be told apart from on a plate, or 0.
char32_t LatinLookAlike(char32_t cp) {
  switch (cp) {
    case U'А': case U'а': return U'A';
    case U'В': case U'в': return U'B';
    case U'Е': case U'е': return U'E';
    case U'К': case U'к': return U'K';
    case U'М': case U'м': return U'M';
    case U'Н': case U'н': return U'H';
    case U'О': case U'о': return U'O';
    case U'Р': case U'р': return U'P';
    case U'С': case U'с': return U'C';
    case U'Т': case U'т': return U'T';
    case U'Х': case U'х': return U'X';
    case U'У': case U'у': return U'Y';
    default: return 0;
  }
}

// Upper case of a Cyrillic letter (U+0400..U+04FF); others unchanged.
char32_t CyrillicUpper(char32_t cp) {
  if (cp >= 0x0430 && cp <= 0x044F) return cp - 0x20;  // а..я
  if (cp >= 0x0450 && cp <= 0x045F) return cp - 0x50;  // ѐ..џ
  // Pairs upper (even), lower (odd): Ѡ..ҁ, Ҋ..ҿ (Ғ Қ Ң Ү Ұ Һ ...), Ӑ..ӿ (Ә Ө ...).
  if ((cp >= 0x0460 && cp <= 0x0481) || (cp >= 0x048A && cp <= 0x04BF) ||
      (cp >= 0x04D0 && cp <= 0x04FF))
    return cp & ~char32_t{1};
  // Ӂ..ӎ: upper (odd), lower (even); ӏ is the lower case of Ӏ.
  if (cp >= 0x04C1 && cp <= 0x04CE) return (cp & 1) ? cp : cp - 1;
  if (cp == 0x04CF) return 0x04C0;
  return cp;
}

std::string Describe(char32_t cp) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
  std::string text;
  if (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F)) {
    text = "'";
    AppendUtf8(cp, &text);
    text += "' ";
  }
  return text + "(" + code + ")";
}

}  // namespace

bool IsCyrillicLetter(char32_t cp) {
  // U+0482..U+0489 are a sign and combining marks, not letters.
  return cp >= 0x0400 && cp <= 0x04FF && !(cp >= 0x0482 && cp <= 0x0489);
}

NormalisedPlate NormalisePlate(std::string_view raw) {
  NormalisedPlate out;
  out.plate.reserve(raw.size());
  bool latin = false, cyrillic = false;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t start = pos;
    const std::optional<char32_t> decoded = text::DecodeUtf8(raw, &pos);
    if (!decoded) {
      out.error = "the plate is not valid UTF-8 (byte " + std::to_string(start) + ")";
      out.plate.clear();
      return out;
    }
    char32_t cp = *decoded;
    if (IsSeparator(cp)) continue;
    if (cp >= U'a' && cp <= U'z') cp -= U'a' - U'A';
    if (char32_t mapped = LatinLookAlike(cp); mapped != 0) cp = mapped;
    if (IsCyrillicLetter(cp)) {
      cp = CyrillicUpper(cp);
      cyrillic = true;
    } else if (cp >= U'A' && cp <= U'Z') {
      latin = true;
    } else if (!(cp >= U'0' && cp <= U'9')) {
      out.error = "the plate contains " + Describe(cp) +
                  ", which is not a letter or a digit of a plate";
      out.plate.clear();
      return out;
    }
    AppendUtf8(cp, &out.plate);
  }
  if (out.plate.empty()) {
    out.error = "the plate has no letters or digits";
    return out;
  }
  out.ok = true;
  out.script = !cyrillic ? "latin" : latin ? "mixed" : "cyrillic";
  return out;
}

}  // namespace kordon::plate
