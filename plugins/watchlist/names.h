// names.h — name normalisation for the watchlist: Cyrillic (Russian, Kyrgyz, Kazakh) to Latin
// transliteration, folding of the common spelling variants into one key per name part,
// Damerau–Levenshtein distance, and the normalisers for document numbers and VINs.
// A pure library (see README.md, "Normalisation").
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_WATCHLIST_NAMES_H_
#define KORDON_PLUGINS_WATCHLIST_NAMES_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::watchlist {

// One part of a name ("TOKTOGULOV", "Нурлан").
struct NamePart {
  std::string raw;    // as written (UTF-8), for explanations
  std::string latin;  // transliterated, upper case A-Z (letters of other scripts kept as is)
  bool cyrillic = false;           // raw had Cyrillic letters
  std::vector<std::string> keys;   // folded keys (1..4 variants), see FoldKeys
};

// Transliterates Cyrillic letters to Latin (ICAO Doc 9303 table: Ж ZH, Х KH, Ц TS, Ч CH,
// Ш SH, Щ SHCH, Ю IU, Я IA, Й I, Ы Y, Ь dropped, Ъ IE; Kazakh/Kyrgyz Ә A, Ғ G, Қ K, Ң N,
// Ө O, Ұ U, Ү U, Һ H, І I), upper-cases Latin, folds common Latin diacritics (É→E, Ü→U...).
// Other characters are kept (upper-cased where ASCII). Invalid UTF-8 bytes become '?'.
std::string TransliterateToLatin(std::string_view utf8);

// Splits a name into parts on spaces, '<' (MRZ filler), ',', '-', '.', apostrophes and
// other punctuation, and normalises each. Parts without letters are dropped. At most
// kMaxParts parts are kept (the rest are ignored).
constexpr size_t kMaxParts = 8;
std::vector<NamePart> SplitName(std::string_view name);

// The folded keys of one transliterated part: variant spellings of the same sound become
// the same letters (SH/SCH/SHCH→W, ZH/DZH/DJ→J, CH→Q, KH→H, TS/TZ→C, PH→F, OU→U, CK→K,
// Q→K, W→V, Y→I, doubled letters once, a final II→I...). A 'J' is ambiguous (Ж in Kazakh
// and Uzbek Latin, Й/Ю/Я elsewhere) and an 'X' too (Х, or KS): each gives two variants.
std::vector<std::string> FoldKeys(std::string_view latin);

// Restricted Damerau–Levenshtein (optimal string alignment) distance; stops early and
// returns limit + 1 once the distance exceeds limit.
size_t DamerauLevenshtein(std::string_view a, std::string_view b, size_t limit);

// The distance a part of this (key) length may differ by and still match: 0 up to 3
// letters, 1 up to 6, 2 beyond.
size_t AllowedTypos(size_t length);

// Document numbers: upper case, spaces, dashes, dots, slashes and '<' removed; Cyrillic
// look-alikes mapped to Latin. Empty when nothing is left.
std::string NormaliseDocumentNumber(std::string_view raw);

// VIN: as NormaliseDocumentNumber; I, O and Q (never in a VIN) read as 1, 0 and 0.
std::string NormaliseVin(std::string_view raw);

}  // namespace kordon::watchlist

#endif  // KORDON_PLUGINS_WATCHLIST_NAMES_H_
