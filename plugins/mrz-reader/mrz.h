// mrz.h — a parser for ICAO Doc 9303 machine-readable zones.
//
// Parses the text a document reader sends: TD1 (3 lines of 30), TD2 (2 × 36), TD3 (2 × 44),
// and the visas MRV-A (2 × 44) and MRV-B (2 × 36), told from TD3/TD2 by a document code that
// starts with V. Every check digit the format defines is reported on its own; common OCR
// confusions in numeric positions are repaired only where the check digit then validates, and
// every repair is reported. See README.md for the century rule and the repair rule.
//
// Thread safety: every function is pure; call them from any thread.
#ifndef KORDON_PLUGINS_MRZ_READER_MRZ_H_
#define KORDON_PLUGINS_MRZ_READER_MRZ_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::mrz {

enum class Format { kTD1, kTD2, kTD3, kMRVA, kMRVB };

// "TD1", "TD2", "TD3", "MRV-A", "MRV-B".
std::string_view FormatName(Format format);

// A date field of the MRZ.
struct Date {
  enum class State {
    kValid,    // a calendar date: iso is set
    kUnknown,  // all six positions are '<' (allowed for the birth date only)
    kInvalid,  // not numeric, or no such date: see Document::problems
  };
  State state = State::kInvalid;
  std::string raw;  // the six characters as read (after repairs)
  std::string iso;  // YYYY-MM-DD when kValid, else ""
};

// The result of one check digit.
struct Check {
  std::string field;  // "document_number", "birth_date", "expiry_date", "personal_number",
                      // "composite"
  bool present = false;  // the document carries this check digit (false: '<' where allowed)
  bool valid = false;    // the digit matches; also true when not present and not required
  char expected = '0';   // the digit computed from the field
  char found = '<';      // the character at the check digit's position
  int line = 0;          // 1-based position of the check digit
  int column = 0;
};

// One OCR repair that was applied.
struct Repair {
  std::string field;
  int line = 0;  // 1-based
  int column = 0;
  char from = 0;
  char to = 0;
};

struct Document {
  Format format = Format::kTD3;
  std::string document_code;    // e.g. "P", "I", "ID", "V" (fillers removed)
  std::string issuing_state;    // e.g. "UTO", "D" (fillers removed)
  std::string document_number;  // fillers removed; with the TD1 overflow when there is one
  std::string nationality;
  Date birth_date;
  std::string sex;  // "F", "M" or "X" (unspecified: '<' or 'X' in the MRZ)
  Date expiry_date;
  // TD1: line 1 positions 16-30 (after a document-number overflow, what follows it);
  // TD2: line 2 positions 29-35; TD3: the personal number, line 2 positions 29-42;
  // MRV-A: line 2 positions 29-44; MRV-B: line 2 positions 29-36. Fillers become spaces,
  // trimmed.
  std::string optional_data_1;
  std::string optional_data_2;  // TD1 line 2 positions 19-29; empty otherwise
  std::string primary_identifier;    // surname(s)
  std::string secondary_identifier;  // given name(s)
  std::vector<Check> checks;         // in the order of the fields; composite last
  std::vector<Repair> repairs;
  std::vector<std::string> problems;  // fields that are not well-formed, in words
  std::vector<std::string> lines;     // the MRZ after repairs, trailing spaces removed

  // Every present check digit matches and there are no problems.
  bool valid() const;
};

struct ParseResult {
  std::optional<Document> document;  // set on success
  std::string error;                 // why the text is not an MRZ, when document is empty

  bool ok() const { return document.has_value(); }
};

// Parses the text as a reader sends it: lines separated by "\n" or "\r\n", an optional final
// line break, trailing spaces on a line tolerated. Anything else — other characters (lower
// case, spaces inside a line, non-ASCII, control characters), a line count or line lengths
// that fit no format — makes the result an error with a reason that names the line and column.
// A text that has the shape of an MRZ is returned as a Document even when check digits fail or
// fields are malformed (Document::valid() is then false). `today` resolves two-digit years.
[[nodiscard]] ParseResult Parse(std::string_view text, std::chrono::year_month_day today);

// The check digit of `field` (weights 7, 3, 1; 0-9 as themselves, A-Z as 10-35, '<' as 0).
// REQUIRES: field holds only 0-9, A-Z and '<'.
char CheckDigit(std::string_view field);

// The date a YYMMDD birth date denotes: the latest one not after today. nullopt when the month
// or the day does not exist (in the year chosen) or the text is not six digits.
std::optional<std::chrono::year_month_day> ResolveBirthDate(std::string_view yymmdd,
                                                            std::chrono::year_month_day today);

// The date a YYMMDD expiry date denotes: of the years ending in YY, the one that puts the date
// closest to today (so within 50 years either way; an exact tie goes to the future). nullopt
// when the month or day does not exist in the year chosen or the text is not six digits.
std::optional<std::chrono::year_month_day> ResolveExpiryDate(std::string_view yymmdd,
                                                             std::chrono::year_month_day today);

}  // namespace kordon::mrz

#endif  // KORDON_PLUGINS_MRZ_READER_MRZ_H_
