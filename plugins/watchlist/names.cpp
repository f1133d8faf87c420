// names.cpp — see names.h.

#include "names.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "utf8.h"

namespace kordon::watchlist {
namespace {

using kordon::text::AppendUtf8;
using kordon::text::DecodeUtf8;

static_assert(sizeof("А") == 3, "compile this file with a UTF-8 execution character set");

// Upper case of a Cyrillic letter (U+0400..U+04FF); other code points unchanged.
char32_t UpperCyrillic(char32_t cp) {
  if (cp >= 0x430 && cp <= 0x44F) return cp - 0x20;
  if (cp >= 0x450 && cp <= 0x45F) return cp - 0x50;
  // U+0460..U+04FF come in (upper, lower) pairs, upper even; U+04C1..U+04CE the other way.
  if (cp >= 0x460 && cp <= 0x4FF && cp != 0x4CF) {
    const bool odd_upper = cp >= 0x4C1 && cp <= 0x4CE;
    if (odd_upper ? (cp % 2 == 0) : (cp % 2 == 1)) return cp - 1;
  }
  return cp;
}

// The Latin spelling of an upper-case Cyrillic letter; nullptr for one not in the table.
const char* CyrillicToLatin(char32_t cp) {
  switch (cp) {
    case U'А': return "A";    case U'Б': return "B";   case U'В': return "V";
    case U'Г': return "G";    case U'Д': return "D";   case U'Е': return "E";
    case U'Ё': return "E";    case U'Ж': return "ZH";  case U'З': return "Z";
    case U'И': return "I";    case U'Й': return "I";   case U'К': return "K";
    case U'Л': return "L";    case U'М': return "M";   case U'Н': return "N";
    case U'О': return "O";    case U'П': return "P";   case U'Р': return "R";
    case U'С': return "S";    case U'Т': return "T";   case U'У': return "U";
    case U'Ф': return "F";    case U'Х': return "KH";  case U'Ц': return "TS";
    case U'Ч': return "CH";   case U'Ш': return "SH";  case U'Щ': return "SHCH";
    case U'Ъ': return "IE";   case U'Ы': return "Y";   case U'Ь': return "";
    case U'Э': return "E";    case U'Ю': return "IU";  case U'Я': return "IA";
    // Kazakh and Kyrgyz.
    case U'Ә': return "A";    case U'Ғ': return "G";   case U'Қ': return "K";
    case U'Ң': return "N";    case U'Ө': return "O";   case U'Ұ': return "U";
    case U'Ү': return "U";    case U'Һ': return "H";   case U'І': return "I";
    // Ukrainian, Belarusian, Tajik, Uzbek Cyrillic: what a traveller's name may hold too.
    case U'Ї': return "I";    case U'Є': return "IE";  case U'Ґ': return "G";
    case U'Ў': return "U";    case U'Ҷ': return "J";   case U'Ҳ': return "KH";
    case U'Ӣ': return "I";    case U'Ӯ': return "U";   case U'Җ': return "ZH";
    default: return nullptr;
  }
}

// Latin letters with diacritics, upper or lower case, to their base letter; 0 otherwise.
char LatinBase(char32_t cp) {
  if (cp < 0xC0 || cp > 0x17F) return 0;
  // U+00C0..U+00FF; '\0' for the two signs (× ÷) in the block.
  static constexpr char kLatin1[] =
      "AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUYTS" "AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUYTY";
  static constexpr char kExtA[] =  // U+0100..U+017F, upper and lower alike
      "AAAAAACCCCCCCCDD" "DDEEEEEEEEEEGGGG" "GGGGHHHHIIIIIIII" "IIJJJJKKKLLLLLLL"
      "LLLNNNNNNNNNOOOO" "OOOORRRRRRSSSSSS" "SSTTTTTTUUUUUUUU" "UUUUWWYYYZZZZZZS";
  const char c = cp < 0x100 ? kLatin1[cp - 0xC0] : kExtA[cp - 0x100];
  return c;
}

bool IsSeparator(char32_t cp) {
  if (cp < 0x80) return !((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
                          (cp >= '0' && cp <= '9'));
  return cp == 0x00A0 || cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0x02B9 ||
         cp == 0x202F || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x00AB || cp == 0x00BB;
}

// One transliterated part: appends the Latin of `cp` to *out; true when cp was Cyrillic.
bool AppendLatin(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp >= 'a' && cp <= 'z' ? cp - 32 : cp));
    return false;
  }
  if (cp >= 0x400 && cp <= 0x4FF) {
    if (const char* latin = CyrillicToLatin(UpperCyrillic(cp))) {
      out->append(latin);
      return true;
    }
    AppendUtf8(UpperCyrillic(cp), out);
    return true;
  }
  if (char base = LatinBase(cp)) {
    out->push_back(base);
    if (cp == 0xC6 || cp == 0xE6) out->push_back('E');        // Æ
    if (cp == 0xDF) out->push_back('S');                      // ß
    return false;
  }
  AppendUtf8(cp, out);
  return false;
}

// A fold rule: `from` (upper-case ASCII) becomes `to` at the current position.
struct Rule {
  std::string_view from;
  std::string_view to;
};

// Longest first where they share a start.
constexpr Rule kRules[] = {
    {"SHCH", "W"}, {"TSCH", "Q"}, {"SCH", "W"}, {"DZH", "J"}, {"TCH", "Q"}, {"SH", "W"},
    {"ZH", "J"},   {"DJ", "J"},   {"CH", "Q"},  {"KH", "H"},  {"TS", "C"},  {"TZ", "C"},
    {"PH", "F"},   {"OU", "U"},   {"CK", "K"},  {"GH", "G"},  {"Q", "K"},   {"W", "V"},
    {"Y", "I"},
};

}  // namespace

std::string TransliterateToLatin(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t pos = 0; pos < utf8.size();) {
    std::optional<char32_t> cp = DecodeUtf8(utf8, &pos);
    if (!cp) {
      out.push_back('?');
      ++pos;
      continue;
    }
    AppendLatin(*cp, &out);
  }
  return out;
}

std::vector<NamePart> SplitName(std::string_view name) {
  std::vector<NamePart> parts;
  NamePart current;
  bool has_letter = false;
  auto flush = [&] {
    if (has_letter && parts.size() < kMaxParts) {
      current.keys = FoldKeys(current.latin);
      if (!current.keys.empty() && !current.keys.front().empty())
        parts.push_back(std::move(current));
    }
    current = NamePart();
    has_letter = false;
  };
  for (size_t pos = 0; pos < name.size();) {
    const size_t start = pos;
    std::optional<char32_t> cp = DecodeUtf8(name, &pos);
    if (!cp) {  // an invalid byte separates, as punctuation would
      ++pos;
      flush();
      continue;
    }
    if (IsSeparator(*cp)) {
      flush();
      continue;
    }
    current.raw.append(name.substr(start, pos - start));
    if (AppendLatin(*cp, &current.latin)) current.cyrillic = true;
    if (*cp >= 0x80 || (*cp >= 'A' && *cp <= 'Z') || (*cp >= 'a' && *cp <= 'z'))
      has_letter = true;
  }
  flush();
  return parts;
}

std::vector<std::string> FoldKeys(std::string_view latin) {
  // Up to four variants: J and X double them (at most the first two such letters).
  std::vector<std::string> keys(1);
  size_t forks = 0;
  for (size_t i = 0; i < latin.size();) {
    const Rule* rule = nullptr;
    for (const Rule& r : kRules)
      if (latin.substr(i, r.from.size()) == r.from) {
        rule = &r;
        break;
      }
    if (rule != nullptr) {
      for (std::string& k : keys) k.append(rule->to);
      i += rule->from.size();
      continue;
    }
    const char c = latin[i];
    if ((c == 'J' || c == 'X') && forks < 2) {
      ++forks;
      const size_t n = keys.size();
      for (size_t k = 0; k < n; ++k) keys.push_back(keys[k]);
      for (size_t k = 0; k < n; ++k) {
        keys[k].append(c == 'J' ? "J" : "H");
        keys[n + k].append(c == 'J' ? "I" : "KS");
      }
    } else if (c == 'J') {
      for (std::string& k : keys) k.push_back('J');
    } else if (c == 'X') {
      for (std::string& k : keys) k.append("KS");
    } else if ((c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80) {
      for (std::string& k : keys) k.push_back(c);
    }
    ++i;  // digits and anything else are left out of the key
  }
  for (std::string& k : keys) {
    // Doubled letters once ("ALLA" = "ALA", "IURII" = "IURI"); an "H" after a consonant
    // other than the rule outputs is kept (it is a letter of its own in Latin names).
    k.erase(std::unique(k.begin(), k.end(),
                        [](char a, char b) {
                          return a == b && static_cast<unsigned char>(a) < 0x80;
                        }),
            k.end());
    // "IE" at the start is "E" (Евгений: YEVGENIY, IEVGENII, EVGENII).
    if (k.size() > 2 && k[0] == 'I' && k[1] == 'E') k.erase(0, 1);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

size_t DamerauLevenshtein(std::string_view a, std::string_view b, size_t limit) {
  // A common prefix or suffix costs nothing and cannot take part in a cheaper edit (RapidFuzz
  // trims them for this distance too), so only the differing middle goes into the table; a
  // listed name equal to the query (the usual hit) takes no table at all.
  while (!a.empty() && !b.empty() && a.front() == b.front()) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  while (!a.empty() && !b.empty() && a.back() == b.back()) {
    a.remove_suffix(1);
    b.remove_suffix(1);
  }
  const size_t n = a.size();
  const size_t m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  if (n == 0) return m;
  if (m == 0) return n;
  // Only the band |i - j| <= limit of the optimal string alignment table can hold a distance
  // within the limit (every step off the diagonal costs an edit), so each row computes at
  // most 2 * limit + 1 cells: O(n * limit), not O(n * m), however long a name a query or a
  // list brings. Cells beside the band read as "too far" (limit + 1). Three rows, on the
  // stack for names (short).
  const size_t far = limit + 1;
  constexpr size_t kStack = 64;
  size_t stack[3][kStack + 1];
  std::vector<size_t> heap;
  size_t* rows[3];
  if (m < kStack) {
    for (int r = 0; r < 3; ++r) rows[r] = stack[r];
  } else {
    heap.resize(3 * (m + 1));
    for (int r = 0; r < 3; ++r) rows[r] = heap.data() + r * (m + 1);
  }
  size_t* prev2 = rows[0];
  size_t* prev = rows[1];
  size_t* cur = rows[2];
  for (size_t j = 0; j <= std::min(m, limit + 1); ++j) prev[j] = std::min(j, far);
  for (size_t i = 1; i <= n; ++i) {
    const size_t lo = i > limit ? i - limit : 1;  // the band of row i: [lo, hi]
    const size_t hi = std::min(m, i + limit);
    // The cells just outside the band are what the next row (and the one after, for a
    // transposition) reads beside its own band.
    cur[lo - 1] = lo == 1 ? std::min(i, far) : far;
    if (hi < m) cur[hi + 1] = far;
    size_t row_min = cur[lo - 1];
    for (size_t j = lo; j <= hi; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        v = std::min(v, prev2[j - 2] + 1);
      cur[j] = std::min(v, far);
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return far;
    size_t* t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return std::min(prev[m], far);
}

size_t AllowedTypos(size_t length) {
  if (length <= 3) return 0;
  if (length <= 6) return 1;
  return 2;
}

std::string NormaliseDocumentNumber(std::string_view raw) {
  std::string latin;
  for (size_t pos = 0; pos < raw.size();) {
    std::optional<char32_t> cp = DecodeUtf8(raw, &pos);
    if (!cp) {
      ++pos;
      continue;
    }
    char32_t c = UpperCyrillic(*cp);
    // Look-alikes only: a document number is Latin, whatever the keyboard was.
    switch (c) {
      case U'А': c = 'A'; break;  case U'В': c = 'B'; break;  case U'Е': c = 'E'; break;
      case U'К': c = 'K'; break;  case U'М': c = 'M'; break;  case U'Н': c = 'H'; break;
      case U'О': c = 'O'; break;  case U'Р': c = 'P'; break;  case U'С': c = 'C'; break;
      case U'Т': c = 'T'; break;  case U'Х': c = 'X'; break;  case U'У': c = 'Y'; break;
      default: break;
    }
    if (c >= 'a' && c <= 'z') c -= 32;
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) latin.push_back(static_cast<char>(c));
  }
  return latin;
}

std::string NormaliseVin(std::string_view raw) {
  std::string vin = NormaliseDocumentNumber(raw);
  for (char& c : vin) {
    if (c == 'I') c = '1';
    if (c == 'O' || c == 'Q') c = '0';
  }
  return vin;
}

}  // namespace kordon::watchlist
