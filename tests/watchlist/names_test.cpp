// Transliteration and name folding (plugins/watchlist/names.h).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "names.h"

namespace kordon::watchlist {
namespace {

// The first folded key of a one-part name.
std::string Key(const std::string& name) {
  std::vector<NamePart> parts = SplitName(name);
  REQUIRE(parts.size() == 1);
  return parts[0].keys.front();
}

bool SameKey(const std::string& a, const std::string& b) {
  std::vector<NamePart> x = SplitName(a), y = SplitName(b);
  REQUIRE(x.size() == 1);
  REQUIRE(y.size() == 1);
  for (const std::string& k : x[0].keys)
    for (const std::string& l : y[0].keys)
      if (k == l) return true;
  return false;
}

TEST_CASE("Russian letters transliterate by the ICAO 9303 table, either case") {
  CHECK(TransliterateToLatin("АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ") ==
        "ABVGDEEZHZIIKLMNOPRSTUFKHTSCHSHSHCHIEYEIUIA");
  CHECK(TransliterateToLatin("абвгдеёжзийклмнопрстуфхцчшщъыьэюя") ==
        "ABVGDEEZHZIIKLMNOPRSTUFKHTSCHSHSHCHIEYEIUIA");
}

TEST_CASE("each Kazakh and Kyrgyz letter has its Latin form") {
  CHECK(TransliterateToLatin("Ә") == "A");
  CHECK(TransliterateToLatin("ә") == "A");
  CHECK(TransliterateToLatin("Ғ") == "G");
  CHECK(TransliterateToLatin("ғ") == "G");
  CHECK(TransliterateToLatin("Қ") == "K");
  CHECK(TransliterateToLatin("қ") == "K");
  CHECK(TransliterateToLatin("Ң") == "N");
  CHECK(TransliterateToLatin("ң") == "N");
  CHECK(TransliterateToLatin("Ө") == "O");
  CHECK(TransliterateToLatin("ө") == "O");
  CHECK(TransliterateToLatin("Ұ") == "U");
  CHECK(TransliterateToLatin("ұ") == "U");
  CHECK(TransliterateToLatin("Ү") == "U");
  CHECK(TransliterateToLatin("ү") == "U");
  CHECK(TransliterateToLatin("Һ") == "H");
  CHECK(TransliterateToLatin("һ") == "H");
  CHECK(TransliterateToLatin("І") == "I");
  CHECK(TransliterateToLatin("і") == "I");
  CHECK(TransliterateToLatin("Сүлейменова Жанар") == "SULEIMENOVA ZHANAR");
  CHECK(TransliterateToLatin("Өмүрбек Ңаа") == "OMURBEK NAA");
}

TEST_CASE("Latin diacritics fold to their base letter") {
  CHECK(TransliterateToLatin("Müller Éléonore Ñúñez Şahin Žofie") ==
        "MULLER ELEONORE NUNEZ SAHIN ZOFIE");
}

TEST_CASE("variant spellings fold to one key") {
  CHECK(SameKey("Жанар", "ZHANAR"));
  CHECK(SameKey("ZHANAR", "JANAR"));       // Kazakh Latin J for Ж
  CHECK(SameKey("Хасан", "KHASAN"));
  CHECK(SameKey("KHASAN", "HASAN"));
  CHECK(SameKey("HASAN", "XASAN"));        // Uzbek Latin X for Х
  CHECK(SameKey("Цой", "TSOI"));
  CHECK(SameKey("TSOI", "COI"));
  CHECK(SameKey("Юрий", "YURIY"));
  CHECK(SameKey("YURIY", "IURII"));
  CHECK(SameKey("IURII", "JURIJ"));
  CHECK(SameKey("Яков", "YAKOV"));
  CHECK(SameKey("YAKOV", "IAKOV"));
  CHECK(SameKey("IAKOV", "JAKOV"));
  CHECK(SameKey("Фёдор", "FEDOR"));
  CHECK(SameKey("Май", "MAY"));
  CHECK(SameKey("Рыскулов", "RISKULOV"));
  CHECK(SameKey("Щукин", "SHCHUKIN"));
  CHECK(SameKey("SHCHUKIN", "SCHUKIN"));
  CHECK(SameKey("Нурлан", "NOURLAN"));     // French OU
  CHECK(SameKey("Евгений", "YEVGENIY"));
  CHECK(SameKey("YEVGENIY", "EVGENII"));
  CHECK(SameKey("Алла", "ALA"));
  CHECK_FALSE(SameKey("Иванов", "PETROV"));
  CHECK(Key("Toktogoulov") == Key("Токтогулов"));
}

TEST_CASE("names split on spaces, MRZ fillers and punctuation") {
  std::vector<NamePart> p = SplitName("TOKTOGULOV<<NURLAN<<<<<<");
  REQUIRE(p.size() == 2);
  CHECK(p[0].raw == "TOKTOGULOV");
  CHECK(p[1].raw == "NURLAN");
  p = SplitName("  Абдул-Азиз, O'Neil  ");
  REQUIRE(p.size() == 4);
  CHECK(p[0].raw == "Абдул");
  CHECK(p[0].cyrillic);
  CHECK_FALSE(p[3].cyrillic);
  CHECK(SplitName("<<< -- 123").empty());
  CHECK(SplitName("\xFF\xFEZ").size() == 1);  // invalid bytes separate, never throw
}

TEST_CASE("Damerau-Levenshtein counts a transposition as one edit") {
  CHECK(DamerauLevenshtein("NURLAN", "NURLAN", 2) == 0);
  CHECK(DamerauLevenshtein("NURLAN", "NRULAN", 2) == 1);
  CHECK(DamerauLevenshtein("NURLAN", "NURLN", 2) == 1);
  CHECK(DamerauLevenshtein("NURLAN", "MURLAM", 2) == 2);
  CHECK(DamerauLevenshtein("NURLAN", "PETROV", 2) == 3);  // limit + 1
  CHECK(AllowedTypos(3) == 0);
  CHECK(AllowedTypos(5) == 1);
  CHECK(AllowedTypos(10) == 2);
}

// The whole optimal string alignment table, for comparison with the banded one.
size_t FullTableDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

TEST_CASE("Damerau-Levenshtein within its band agrees with the whole table") {
  // Three letters, so that matches, substitutions and transpositions are all common; lengths
  // on both sides of the 64-letter stack rows; limits up to 4.
  std::mt19937 random(20261206);
  auto word = [&](size_t length) {
    std::string w(length, 'A');
    for (char& c : w) c = static_cast<char>('A' + random() % 3);
    return w;
  };
  for (int round = 0; round < 4000; ++round) {
    const std::string a = word(random() % 80);
    std::string b = a;
    for (size_t edits = random() % 6; edits > 0 && !b.empty(); --edits) {
      const size_t at = random() % b.size();
      switch (random() % 4) {
        case 0: b[at] = static_cast<char>('A' + random() % 3); break;
        case 1: b.erase(at, 1); break;
        case 2: b.insert(at, 1, static_cast<char>('A' + random() % 3)); break;
        default: if (at + 1 < b.size()) std::swap(b[at], b[at + 1]);
      }
    }
    if (random() % 8 == 0) b = word(random() % 80);  // unrelated words too
    const size_t limit = random() % 5;
    const size_t full = FullTableDistance(a, b);
    INFO(a, " / ", b, " limit ", limit);
    CHECK(DamerauLevenshtein(a, b, limit) == std::min(full, limit + 1));
  }
}

TEST_CASE("Damerau-Levenshtein agrees with the whole table on every pair of short words") {
  // Every word of up to six letters over {A, B} against every other: common prefixes and
  // suffixes (trimmed before the table) next to transpositions in every position.
  std::vector<std::string> words{""};
  for (size_t i = 0; i < words.size(); ++i)
    if (words[i].size() < 6)
      for (char c : {'A', 'B'}) words.push_back(words[i] + c);
  REQUIRE(words.size() == 127);
  size_t checked = 0;
  for (const std::string& a : words)
    for (const std::string& b : words) {
      const size_t full = FullTableDistance(a, b);
      for (size_t limit = 0; limit <= 4; ++limit) {
        if (DamerauLevenshtein(a, b, limit) != std::min(full, limit + 1)) {
          FAIL(a, " / ", b, " limit ", limit, ": ", DamerauLevenshtein(a, b, limit), " vs ",
               full);
        }
        ++checked;
      }
    }
  CHECK(checked == 127 * 127 * 5);
}

TEST_CASE("Damerau-Levenshtein of long names stays within its band") {
  const std::string a(20000, 'N');
  std::string b = a;
  b[7000] = 'M';
  b.erase(15000, 1);
  CHECK(DamerauLevenshtein(a, a, 2) == 0);
  CHECK(DamerauLevenshtein(a, b, 2) == 2);
  b[100] = 'M';
  CHECK(DamerauLevenshtein(a, b, 2) == 3);
}

TEST_CASE("document numbers and VINs normalise") {
  CHECK(NormaliseDocumentNumber(" ac-123 4567 ") == "AC1234567");
  CHECK(NormaliseDocumentNumber("АС1234567") == "AC1234567");  // Cyrillic look-alikes
  CHECK(NormaliseDocumentNumber("L898902C<") == "L898902C");
  CHECK(NormaliseVin("wvwzzz1jzxw00000i") == "WVWZZZ1JZXW000001");
  CHECK(NormaliseVin("---").empty());
}

}  // namespace
}  // namespace kordon::watchlist
