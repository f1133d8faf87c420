// mrz.cpp — see mrz.h. Layouts follow ICAO Doc 9303 parts 4 (TD3), 5 (TD1), 6 (TD2) and
// 7 (MRV-A, MRV-B); positions in comments and messages are 1-based as in Doc 9303.

#include "mrz.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "utf8.h"

namespace kordon::mrz {
namespace {

using text::DecodeUtf8;

namespace chrono = std::chrono;

// Repairs try every combination of at most this many alternatives (2^12 = 4096 tries).
constexpr size_t kMaxRepairAlternatives = 12;

// A 0-based position in the MRZ.
struct Pos {
  int line;
  int column;
};

// A run of positions on one line.
struct Span {
  int line;
  int column;
  int length;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

// The digit an OCR engine misreads as this letter, or 0.
char DigitForLetter(char c) {
  switch (c) {
    case 'O': case 'D': return '0';
    case 'I': return '1';
    case 'Z': return '2';
    case 'S': return '5';
    case 'G': return '6';
    case 'B': return '8';
    default: return 0;
  }
}

// The letter an OCR engine misreads as this digit, or 0 (used for the alphanumeric document
// and personal numbers only).
char LetterForDigit(char c) {
  switch (c) {
    case '0': return 'O';
    case '1': return 'I';
    case '2': return 'Z';
    case '5': return 'S';
    case '6': return 'G';
    case '8': return 'B';
    default: return 0;
  }
}

int CharValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (IsUpper(c)) return c - 'A' + 10;
  return 0;  // '<'
}

std::string Positions(int line, int first_column, int length) {
  std::string s = "line " + std::to_string(line + 1) + ", ";
  if (length == 1) return s + "column " + std::to_string(first_column + 1);
  return s + "columns " + std::to_string(first_column + 1) + "-" +
         std::to_string(first_column + length);
}

// Fillers become spaces; runs of spaces become one; trimmed.
std::string Unfill(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '<') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Fillers removed from both ends only ("D<<" -> "D").
std::string StripFillers(std::string_view text) {
  size_t first = text.find_first_not_of('<');
  if (first == std::string_view::npos) return "";
  size_t last = text.find_last_not_of('<');
  return std::string(text.substr(first, last - first + 1));
}

std::string IsoDate(chrono::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

// The date YYMMDD denotes (see ResolveBirthDate / ResolveExpiryDate); *why says why not.
std::optional<chrono::year_month_day> ResolveDate(std::string_view yymmdd,
                                                  chrono::year_month_day today, bool birth,
                                                  std::string* why) {
  if (yymmdd.size() != 6) {
    *why = "not six characters";
    return std::nullopt;
  }
  for (char c : yymmdd) {
    if (!IsDigit(c)) {
      *why = "not numeric";
      return std::nullopt;
    }
  }
  const auto two = [&](size_t at) { return (yymmdd[at] - '0') * 10 + (yymmdd[at + 1] - '0'); };
  const int yy = two(0);
  const unsigned mm = static_cast<unsigned>(two(2));
  const unsigned dd = static_cast<unsigned>(two(4));
  if (mm < 1 || mm > 12) {
    *why = "month " + std::string(yymmdd.substr(2, 2)) + " does not exist";
    return std::nullopt;
  }
  if (dd < 1 || dd > 31) {
    *why = "day " + std::string(yymmdd.substr(4, 2)) + " does not exist";
    return std::nullopt;
  }
  const int today_year = static_cast<int>(today.year());
  const int century = today_year - ((today_year % 100) + 100) % 100;
  int year = century + yy;
  if (birth) {
    // The latest such date not after today.
    if (std::make_tuple(year, mm, dd) > std::make_tuple(today_year, static_cast<unsigned>(today.month()),
                                                        static_cast<unsigned>(today.day())))
      year -= 100;
  } else {
    // The closest to today; a tie goes to the later one. The day is counted from the first of
    // the month so that an impossible day (30 February) still has a distance.
    const chrono::sys_days now(today);
    std::optional<int64_t> best;
    for (int candidate = year - 100; candidate <= year + 100; candidate += 100) {
      const chrono::sys_days first(chrono::year(candidate) / chrono::month(mm) / chrono::day(1));
      int64_t distance = ((first + chrono::days(dd - 1)) - now).count();
      if (distance < 0) distance = -distance;
      if (!best || distance <= *best) {
        best = distance;
        year = candidate;
      }
    }
  }
  const chrono::year_month_day date{chrono::year(year), chrono::month(mm), chrono::day(dd)};
  if (!date.ok()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", year, mm, dd);
    *why = std::string(buf) + " does not exist";
    return std::nullopt;
  }
  return date;
}

// Where the fields of each format lie (0-based).
struct Layout {
  Format format;
  Span names;
  Pos doc_number;  // 9 characters, check digit right after
  Pos nationality;
  Pos birth;  // 6 characters, check digit right after
  Pos sex;
  Pos expiry;  // 6 characters, check digit right after
  Span optional1;
  std::optional<Pos> personal_check;  // TD3: check digit of optional1 (personal number)
  std::optional<Span> optional2;      // TD1 line 2
  std::optional<Pos> composite;
  std::vector<Span> composite_spans;  // what the composite check digit covers
};

Layout LayoutOf(Format format) {
  switch (format) {
    case Format::kTD1:
      return {format, {2, 0, 30}, {0, 5}, {1, 15}, {1, 0}, {1, 7}, {1, 8}, {0, 15, 15},
              std::nullopt, Span{1, 18, 11}, Pos{1, 29},
              {{0, 5, 25}, {1, 0, 7}, {1, 8, 7}, {1, 18, 11}}};
    case Format::kTD2:
      return {format, {0, 5, 31}, {1, 0}, {1, 10}, {1, 13}, {1, 20}, {1, 21}, {1, 28, 7},
              std::nullopt, std::nullopt, Pos{1, 35}, {{1, 0, 10}, {1, 13, 7}, {1, 21, 14}}};
    case Format::kMRVB:
      return {format, {0, 5, 31}, {1, 0}, {1, 10}, {1, 13}, {1, 20}, {1, 21}, {1, 28, 8},
              std::nullopt, std::nullopt, std::nullopt, {}};
    case Format::kTD3:
      return {format, {0, 5, 39}, {1, 0}, {1, 10}, {1, 13}, {1, 20}, {1, 21}, {1, 28, 14},
              Pos{1, 42}, std::nullopt, Pos{1, 43}, {{1, 0, 10}, {1, 13, 7}, {1, 21, 22}}};
    case Format::kMRVA:
      break;
  }
  return {Format::kMRVA, {0, 5, 39}, {1, 0}, {1, 10}, {1, 13}, {1, 20}, {1, 21}, {1, 28, 16},
          std::nullopt, std::nullopt, std::nullopt, {}};
}

// The characters a check digit covers and the check digit itself.
struct Group {
  std::string field;
  std::vector<Pos> data;
  Pos check;
};

std::vector<Pos> PositionsOf(Span span) {
  std::vector<Pos> out;
  for (int i = 0; i < span.length; ++i) out.push_back({span.line, span.column + i});
  return out;
}

// One character a repair may change.
struct Alternative {
  Pos pos;
  char to;
};

class Parser {
 public:
  Parser(std::vector<std::string> lines, Format format, chrono::year_month_day today)
      : layout_(LayoutOf(format)), today_(today) {
    doc_.format = format;
    doc_.lines = std::move(lines);
  }

  Document Run() {
    ParseHeader();
    ParseDocumentNumber();
    doc_.birth_date = ParseDate("birth_date", "birth date", layout_.birth, true);
    doc_.sex = ParseSex();
    doc_.expiry_date = ParseDate("expiry_date", "expiry date", layout_.expiry, false);
    ParseOptionalData();
    ParseComposite();
    ParseNames();
    return std::move(doc_);
  }

 private:
  char& At(Pos p) { return doc_.lines[p.line][p.column]; }
  std::string Text(Span s) const { return doc_.lines[s.line].substr(s.column, s.length); }
  std::string Text(const std::vector<Pos>& positions) const {
    std::string out;
    for (Pos p : positions) out.push_back(doc_.lines[p.line][p.column]);
    return out;
  }

  Check Evaluate(const Group& g) {
    Check c;
    c.field = g.field;
    c.expected = CheckDigit(Text(g.data));
    c.found = At(g.check);
    c.present = true;
    c.valid = c.found == c.expected;
    c.line = g.check.line + 1;
    c.column = g.check.column + 1;
    return c;
  }

  bool AllDigits(const Group& g) {
    if (!IsDigit(At(g.check))) return false;
    for (Pos p : g.data)
      if (!IsDigit(At(p))) return false;
    return true;
  }

  // Tries every non-empty combination of the alternatives; applies the combination for which
  // accept() holds if there is exactly one, and reports it. Returns how many passed (0 when
  // there are too many alternatives to try).
  int TryRepairs(const std::string& field, const std::vector<Alternative>& alternatives,
                 const std::function<bool()>& accept) {
    if (alternatives.empty() || alternatives.size() > kMaxRepairAlternatives) return 0;
    const uint32_t combinations = 1u << alternatives.size();
    int passed = 0;
    uint32_t chosen = 0;
    std::vector<char> original;
    for (const Alternative& a : alternatives) original.push_back(At(a.pos));
    for (uint32_t mask = 1; mask < combinations; ++mask) {
      for (size_t i = 0; i < alternatives.size(); ++i)
        At(alternatives[i].pos) = (mask >> i) & 1u ? alternatives[i].to : original[i];
      if (accept()) {
        ++passed;
        chosen = mask;
      }
    }
    for (size_t i = 0; i < alternatives.size(); ++i) At(alternatives[i].pos) = original[i];
    if (passed != 1) return passed;
    for (size_t i = 0; i < alternatives.size(); ++i) {
      if (!((chosen >> i) & 1u)) continue;
      const Alternative& a = alternatives[i];
      At(a.pos) = a.to;
      doc_.repairs.push_back({field, a.pos.line + 1, a.pos.column + 1, original[i], a.to});
    }
    return passed;
  }

  // A numeric field (a date) with its check digit: letters an OCR engine confuses with digits
  // are replaced only when that makes every position a digit, the check digit match and
  // extra() hold.
  void RepairNumeric(const Group& g, const std::function<bool()>& extra) {
    if (AllDigits(g)) return;
    std::vector<Alternative> alternatives;
    std::vector<Pos> all = g.data;
    all.push_back(g.check);
    for (Pos p : all)
      if (char digit = DigitForLetter(At(p)); digit != 0) alternatives.push_back({p, digit});
    TryRepairs(g.field, alternatives, [&] { return AllDigits(g) && Evaluate(g).valid && extra(); });
  }

  // An alphanumeric number with its check digit: repaired only when the check digit fails as
  // read and exactly one combination of confusions (either way in the number, letter to digit
  // in the check digit) makes it match.
  void RepairAlphanumeric(const Group& g, std::string_view what) {
    if (Evaluate(g).valid) return;
    // The check digit position is numeric: a letter there is repaired by the numeric rule
    // first, and only if that is not enough are the number's own characters tried.
    if (char digit = DigitForLetter(At(g.check)); digit != 0) {
      if (TryRepairs(g.field, {{g.check, digit}}, [&] { return Evaluate(g).valid; }) == 1) return;
    }
    std::vector<Alternative> alternatives;
    for (Pos p : g.data) {
      const char c = At(p);
      if (char to = IsDigit(c) ? LetterForDigit(c) : DigitForLetter(c); to != 0)
        alternatives.push_back({p, to});
    }
    if (char digit = DigitForLetter(At(g.check)); digit != 0) alternatives.push_back({g.check, digit});
    const int passed =
        TryRepairs(g.field, alternatives, [&] { return IsDigit(At(g.check)) && Evaluate(g).valid; });
    if (passed > 1)
      doc_.problems.push_back(std::string(what) + ": " + std::to_string(passed) +
                              " different OCR repairs would make the check digit match; none applied");
  }

  void ParseHeader() {
    const std::string code = doc_.lines[0].substr(0, 2);
    doc_.document_code = StripFillers(code);
    if (!IsUpper(code[0]) || !(IsUpper(code[1]) || code[1] == '<'))
      doc_.problems.push_back("document code '" + code + "' (" + Positions(0, 0, 2) +
                              ") must be a letter followed by a letter or '<'");
    doc_.issuing_state = AlphaField("issuing state", {0, 2, 3});
  }

  // A field of letters and fillers (state codes): never repaired.
  std::string AlphaField(std::string_view what, Span span) {
    const std::string text = Text(span);
    for (char c : text) {
      if (!IsUpper(c) && c != '<') {
        doc_.problems.push_back(std::string(what) + " '" + text + "' (" +
                                Positions(span.line, span.column, span.length) +
                                ") must be letters and '<' only");
        break;
      }
    }
    return StripFillers(text);
  }

  void ParseDocumentNumber() {
    const Pos start = layout_.doc_number;
    Group g{"document_number", PositionsOf({start.line, start.column, 9}),
            {start.line, start.column + 9}};
    optional_start_ = layout_.optional1.column;
    // TD1 overflow (Doc 9303 part 5): a number longer than 9 characters leaves '<' in the
    // check digit position and goes on in optional data 1 up to the first '<'; the last
    // character before that '<' is the check digit of the whole number.
    if (doc_.format == Format::kTD1 && At(g.check) == '<' && At({0, 13}) != '<') {
      const std::string optional = Text(layout_.optional1);
      size_t end = optional.find('<');
      if (end == std::string::npos) end = optional.size();
      if (end >= 2) {
        for (size_t i = 0; i + 1 < end; ++i)
          g.data.push_back({0, layout_.optional1.column + static_cast<int>(i)});
        g.check = {0, layout_.optional1.column + static_cast<int>(end) - 1};
        optional_start_ = layout_.optional1.column + static_cast<int>(end);
      } else {
        doc_.problems.push_back(
            "document number: '<' in the check digit position (line 1, column 15) but no "
            "continuation and check digit in optional data 1");
      }
    }
    RepairAlphanumeric(g, "document number");
    doc_.document_number = StripFillers(Text(g.data));
    if (doc_.document_number.find('<') != std::string::npos)
      doc_.problems.push_back("document number '" + Text(g.data) + "' has a filler inside it");
    doc_.checks.push_back(Evaluate(g));
  }

  Date ParseDate(const std::string& field, std::string_view what, Pos start, bool birth) {
    Group g{field, PositionsOf({start.line, start.column, 6}), {start.line, start.column + 6}};
    const Span span{start.line, start.column, 6};
    Date date;
    if (Text(span) == "<<<<<<") {
      date.state = Date::State::kUnknown;
      date.raw = "<<<<<<";
      Check c = Evaluate(g);
      if (c.found == '<') {
        c.present = false;
        c.valid = true;
      }
      doc_.checks.push_back(c);
      if (!birth)
        doc_.problems.push_back(std::string(what) + " is not given ('<<<<<<', " +
                                Positions(span.line, span.column, 6) + ")");
      return date;
    }
    std::string why;
    RepairNumeric(g, [&] { return ResolveDate(Text(span), today_, birth, &why).has_value(); });
    date.raw = Text(span);
    doc_.checks.push_back(Evaluate(g));
    if (auto resolved = ResolveDate(date.raw, today_, birth, &why)) {
      date.state = Date::State::kValid;
      date.iso = IsoDate(*resolved);
    } else {
      date.state = Date::State::kInvalid;
      doc_.problems.push_back(std::string(what) + " '" + date.raw + "' (" +
                              Positions(span.line, span.column, 6) + "): " + why);
    }
    return date;
  }

  std::string ParseSex() {
    const char c = At(layout_.sex);
    if (c == 'M' || c == 'F') return std::string(1, c);
    if (c == '<' || c == 'X') return "X";
    doc_.problems.push_back(std::string("sex '") + c + "' (" +
                            Positions(layout_.sex.line, layout_.sex.column, 1) +
                            ") must be M, F, X or '<'");
    return std::string(1, c);
  }

  void ParseOptionalData() {
    doc_.nationality = AlphaField("nationality", {layout_.nationality.line, layout_.nationality.column, 3});
    const Span optional = layout_.optional1;
    if (layout_.personal_check) {
      const Group g{"personal_number", PositionsOf(optional), *layout_.personal_check};
      if (At(g.check) == '<' && Text(optional) == std::string(optional.length, '<')) {
        Check c = Evaluate(g);
        c.present = false;
        c.valid = true;  // Doc 9303: '<' when the personal number is not used
        doc_.checks.push_back(c);
      } else {
        RepairAlphanumeric(g, "personal number");
        doc_.checks.push_back(Evaluate(g));
      }
    }
    const int end = optional.column + optional.length;
    doc_.optional_data_1 =
        Unfill(doc_.lines[optional.line].substr(optional_start_, end - optional_start_));
    if (layout_.optional2) doc_.optional_data_2 = Unfill(Text(*layout_.optional2));
  }

  void ParseComposite() {
    if (!layout_.composite) return;
    Group g{"composite", {}, *layout_.composite};
    for (const Span& s : layout_.composite_spans)
      for (Pos p : PositionsOf(s)) g.data.push_back(p);
    // Only the composite digit itself is still open to repair: the fields it covers had theirs.
    if (char digit = DigitForLetter(At(g.check)); digit != 0)
      TryRepairs(g.field, {{g.check, digit}}, [&] { return Evaluate(g).valid; });
    doc_.checks.push_back(Evaluate(g));
  }

  void ParseNames() {
    const Span span = layout_.names;
    const std::string text = Text(span);
    for (size_t i = 0; i < text.size(); ++i) {
      if (!IsUpper(text[i]) && text[i] != '<') {
        doc_.problems.push_back("name contains '" + std::string(1, text[i]) + "' (" +
                                Positions(span.line, span.column + static_cast<int>(i), 1) +
                                "); names are letters only and are never repaired");
        break;
      }
    }
    const size_t split = text.find("<<");
    doc_.primary_identifier = Unfill(text.substr(0, split));
    if (split != std::string::npos) doc_.secondary_identifier = Unfill(text.substr(split + 2));
  }

  const Layout layout_;
  const chrono::year_month_day today_;
  Document doc_;
  int optional_start_ = 0;  // column where optional data 1 starts after any overflow
};

// Why the line holds a character that is not in an MRZ, or nullopt when it holds none.
std::optional<std::string> CheckCharacters(std::string_view line, int line_number) {
  int column = 0;
  for (size_t pos = 0; pos < line.size();) {
    ++column;
    const std::string where = "line " + std::to_string(line_number) + ", column " + std::to_string(column) + ": ";
    const char c = line[pos];
    if (IsUpper(c) || IsDigit(c) || c == '<') {
      ++pos;
      continue;
    }
    if (c >= 'a' && c <= 'z')
      return where + "lower-case '" + std::string(1, c) + "'; an MRZ has upper-case letters only";
    if (c == ' ')
      return where + "a space; an MRZ uses '<' as filler (only trailing spaces are ignored)";
    if (c == '\r') return where + "a carriage return that does not end the line";
    const unsigned char byte = static_cast<unsigned char>(c);
    char hex[16];
    if (byte < 0x20 || byte == 0x7F) {
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      return where + "control character " + std::string(hex) + "; an MRZ has only A-Z, 0-9 and '<'";
    }
    if (byte < 0x80)
      return where + "'" + std::string(1, c) + "' is not an MRZ character (only A-Z, 0-9 and '<')";
    const size_t start = pos;
    const std::optional<char32_t> cp = DecodeUtf8(line, &pos);
    if (!cp) {
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      return where + "byte " + std::string(hex) + " is not valid UTF-8";
    }
    std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(*cp));
    std::string reason = where + "non-ASCII character '" + std::string(line.substr(start, pos - start)) +
                         "' (" + hex + ")";
    if (*cp >= 0x0400 && *cp <= 0x052F)
      reason += ", a Cyrillic letter: an MRZ is written in Latin letters only (is the reader's "
                "OCR set to a Cyrillic layout?)";
    else
      reason += "; an MRZ has only A-Z, 0-9 and '<'";
    return reason;
  }
  return std::nullopt;
}

}  // namespace

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kTD1: return "TD1";
    case Format::kTD2: return "TD2";
    case Format::kTD3: return "TD3";
    case Format::kMRVA: return "MRV-A";
    case Format::kMRVB: return "MRV-B";
  }
  return "?";
}

bool Document::valid() const {
  if (!problems.empty()) return false;
  for (const Check& c : checks)
    if (!c.valid) return false;
  return true;
}

char CheckDigit(std::string_view field) {
  static constexpr std::array<int, 3> kWeights = {7, 3, 1};
  int sum = 0;
  for (size_t i = 0; i < field.size(); ++i) sum += CharValue(field[i]) * kWeights[i % 3];
  return static_cast<char>('0' + sum % 10);
}

std::optional<std::chrono::year_month_day> ResolveBirthDate(std::string_view yymmdd,
                                                            std::chrono::year_month_day today) {
  std::string why;
  return ResolveDate(yymmdd, today, true, &why);
}

std::optional<std::chrono::year_month_day> ResolveExpiryDate(std::string_view yymmdd,
                                                             std::chrono::year_month_day today) {
  std::string why;
  return ResolveDate(yymmdd, today, false, &why);
}

ParseResult Parse(std::string_view text, std::chrono::year_month_day today) {
  ParseResult result;
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const bool last = end == std::string_view::npos;
    if (last) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    lines.emplace_back(line);
    start = end + 1;
  }
  if (lines.empty()) {
    result.error = "empty text: no MRZ lines";
    return result;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (auto why = CheckCharacters(lines[i], static_cast<int>(i) + 1)) {
      result.error = *why;
      return result;
    }
  }
  std::optional<Format> format;
  const bool visa = lines[0].size() >= 1 && lines[0][0] == 'V';
  if (lines.size() == 3 && lines[0].size() == 30 && lines[1].size() == 30 && lines[2].size() == 30)
    format = Format::kTD1;
  else if (lines.size() == 2 && lines[0].size() == 36 && lines[1].size() == 36)
    format = visa ? Format::kMRVB : Format::kTD2;
  else if (lines.size() == 2 && lines[0].size() == 44 && lines[1].size() == 44)
    format = visa ? Format::kMRVA : Format::kTD3;
  if (!format) {
    std::string lengths;
    for (size_t i = 0; i < lines.size() && i < 5; ++i)
      lengths += (i == 0 ? "" : ", ") + std::to_string(lines[i].size());
    if (lines.size() > 5) lengths += ", ...";
    result.error = std::to_string(lines.size()) + (lines.size() == 1 ? " line" : " lines") + " of " +
                   lengths +
                   " characters; an MRZ is TD1 (3 lines of 30), TD2 or MRV-B (2 lines of 36), or "
                   "TD3 or MRV-A (2 lines of 44)";
    return result;
  }
  result.document = Parser(std::move(lines), *format, today).Run();
  return result;
}

}  // namespace kordon::mrz
