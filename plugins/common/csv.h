// csv.h — an RFC 4180 record reader for the import files of the database plugins (watchlist
// lists, manifests): fields separated by commas, records by LF or CRLF; a quoted field may
// hold commas, line breaks and doubled quotes. A byte order mark is skipped, blank lines are
// skipped. Each record knows the line it starts on, so that every error a caller reports names
// the line an administrator must fix.
//
// A malformed record (a quote inside an unquoted field, text after a closing quote, a NUL
// byte, a record longer than the limit) is an error on its line, and reading goes on at the
// next line so that later errors are reported too. An unclosed quote ends reading (nothing
// after it can be told apart from the field).
//
// Thread safety: a pure function.
#ifndef KORDON_PLUGINS_COMMON_CSV_H_
#define KORDON_PLUGINS_COMMON_CSV_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::csv {

struct Record {
  std::vector<std::string> fields;
  size_t line = 0;  // 1-based line the record starts on
};

struct Error {
  size_t line = 0;
  std::string reason;  // without the line: "a NUL byte"
};

struct Records {
  std::vector<Record> records;  // the well-formed records, in file order
  std::vector<Error> errors;    // the first `max_errors` errors, in file order
  size_t error_count = 0;       // every error, also those not kept
  bool ok() const { return error_count == 0; }
};

struct ReadOptions {
  size_t max_record_bytes = 1 << 20;
  size_t max_errors = 100;
};

Records ReadRecords(std::string_view text, const ReadOptions& options = {});

}  // namespace kordon::csv

#endif  // KORDON_PLUGINS_COMMON_CSV_H_
