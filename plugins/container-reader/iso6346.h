// iso6346.h — ISO 6346 freight-container codes for container-reader: shape, check digit and
// OCR repair. A pure library, apart from the plugin (see README.md).
//
// A code is 11 characters: a 3-letter owner code, a category letter (U, J or Z), a 6-digit
// serial number and a check digit, e.g. CSQU3054383. Letters count A=10, B=12, C=13 ... upward,
// skipping multiples of 11 (so K=21, L=23, U=32, V=34, Z=38); character i (0..9) weighs 2^i;
// the check digit is the sum mod 11, where 10 counts as 0.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_CONTAINER_READER_ISO6346_H_
#define KORDON_PLUGINS_CONTAINER_READER_ISO6346_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kordon::iso6346 {

inline constexpr size_t kCodeLength = 11;

// One OCR confusion: the letter and the digit a camera mistakes for each other.
using Confusion = std::pair<char, char>;
// O/0, I/1, Z/2, S/5, B/8, G/6.
const std::vector<Confusion>& DefaultConfusions();

struct Repair {
  size_t position = 0;  // index into the normalised code (0 = first owner letter)
  char from = 0;
  char to = 0;
  std::string code;  // the repaired code, which validates
};

struct Analysis {
  std::string code;       // normalised: spaces, dashes and dots removed, ASCII upper case
  bool shape_ok = false;  // 3 letters, U/J/Z, 6 digits, a digit
  std::string problem;    // !valid: the shape problem or the check digit mismatch, in words
  std::optional<char> expected;  // the check digit the first 10 characters give, when shaped
  std::optional<char> found;     // the 11th character, when there is one and it is ASCII
  bool valid = false;            // shape_ok and found == expected
  std::optional<Repair> repair;  // !valid: the one single-confusion fix that validates
  size_t repair_candidates = 0;  // !valid: how many fixes validate (a repair needs exactly 1)
};

// Normalises and checks `raw`; when it does not validate, tries every single substitution of
// `confusions` (either way) and offers a repair only when exactly one candidate validates.
// Never throws except std::bad_alloc.
Analysis Analyse(std::string_view raw,
                 const std::vector<Confusion>& confusions = DefaultConfusions());

// The value of a letter A-Z (10..38), or -1 for anything else.
int LetterValue(char c);

// The check digit of the first 10 characters, or nullopt when they are not 4 letters and 6
// digits (the category is not checked here).
std::optional<char> CheckDigit(std::string_view code);

// Removes spaces, dashes and dots; upper-cases ASCII letters.
std::string Normalise(std::string_view raw);

}  // namespace kordon::iso6346

#endif  // KORDON_PLUGINS_CONTAINER_READER_ISO6346_H_
