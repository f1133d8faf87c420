// csv.cpp — see csv.h.
#include "csv.h"

#include <utility>

namespace kordon::csv {
namespace {

bool IsBlank(const std::string& s) {
  return s.find_first_not_of(" \t\r") == std::string::npos;
}

}  // namespace

Records ReadRecords(std::string_view text, const ReadOptions& options) {
  Records out;
  auto fail = [&](size_t line, std::string why) {
    ++out.error_count;
    if (out.errors.size() < options.max_errors) out.errors.push_back({line, std::move(why)});
  };
  auto line_break_at = [&](size_t i) {
    return text[i] == '\n' || (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
  };
  size_t line = 1;
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (i < text.size()) {
    Record rec;
    rec.line = line;
    std::string field;
    bool at_field_start = true;
    bool quoted = false;
    std::string bad;  // what is wrong with this record, found on the current `line`
    const size_t record_start = i;
    for (;;) {
      if (i >= text.size()) {
        rec.fields.push_back(std::move(field));
        break;
      }
      if (i - record_start > options.max_record_bytes) {
        bad = "the record is longer than " + std::to_string(options.max_record_bytes) + " bytes";
        break;
      }
      const char c = text[i];
      if (c == '\0') {
        bad = "a NUL byte";
        break;
      }
      if (at_field_start && c == '"') {
        ++i;
        bool closed = false;
        while (i < text.size() && bad.empty()) {
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (text[i] == '\0') {
            bad = "a NUL byte";
          } else if (i - record_start > options.max_record_bytes) {
            bad = "the record is longer than " + std::to_string(options.max_record_bytes) +
                  " bytes";
          } else {
            if (text[i] == '\n') ++line;
            field.push_back(text[i++]);
          }
        }
        if (!bad.empty()) break;
        if (!closed) {
          fail(rec.line, "a quoted field is not closed before the end of the file");
          return out;
        }
        quoted = true;
        at_field_start = false;
        if (i < text.size() && text[i] != ',' && !line_break_at(i)) {
          bad = "text after the closing quote of field " + std::to_string(rec.fields.size() + 1);
          break;
        }
        continue;
      }
      if (c == ',') {
        rec.fields.push_back(std::move(field));
        field.clear();
        at_field_start = true;
        quoted = false;
        ++i;
        continue;
      }
      if (line_break_at(i)) {
        i += c == '\r' ? 2 : 1;
        ++line;
        rec.fields.push_back(std::move(field));
        break;
      }
      if (c == '"' && !quoted) {
        bad = "a quote inside unquoted field " + std::to_string(rec.fields.size() + 1) +
              " (quote the whole field)";
        break;
      }
      field.push_back(c);
      at_field_start = false;
      ++i;
    }
    if (!bad.empty()) {
      fail(line, std::move(bad));
      // Resynchronise at the next line break.
      const size_t nl = text.find('\n', i);
      i = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line;
      continue;
    }
    const bool blank = rec.fields.size() == 1 && IsBlank(rec.fields[0]);
    if (!blank) out.records.push_back(std::move(rec));
  }
  return out;
}

}  // namespace kordon::csv
