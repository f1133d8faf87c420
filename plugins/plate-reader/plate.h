// plate.h — licence-plate text normalisation for plate-reader: the form a watchlist matcher
// compares. A pure library, apart from the plugin (see README.md).
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_PLATE_READER_PLATE_H_
#define KORDON_PLUGINS_PLATE_READER_PLATE_H_

#include <string>
#include <string_view>

namespace kordon::plate {

struct NormalisedPlate {
  bool ok = false;
  std::string plate;   // ok: upper case, separators removed, look-alikes mapped to Latin
  std::string script;  // ok: "latin", "cyrillic" or "mixed"
  std::string error;   // !ok: why the text is not a plate
};

// Normalises a plate as read: upper case (Latin and Cyrillic), spaces, dashes and dots removed
// (Unicode dashes and no-break spaces too), the Cyrillic letters that look Latin
// (А В Е К М Н О Р С Т Х У, either case) replaced by A B E K M H O P C T X Y. Other Cyrillic
// letters are kept, upper case. The result must be made of A-Z, 0-9 and Cyrillic letters
// only, and not be empty; otherwise !ok and the error names the first offending character.
// `script` is "latin" when no Cyrillic letter is left, "cyrillic" when Cyrillic letters are
// left and no Latin letter, "mixed" when both. Never throws except std::bad_alloc.
NormalisedPlate NormalisePlate(std::string_view raw);

// True for a Cyrillic letter (U+0400..U+04FF, letters only).
bool IsCyrillicLetter(char32_t cp);

}  // namespace kordon::plate

#endif  // KORDON_PLUGINS_PLATE_READER_PLATE_H_
