// manifest.h — the cargo declaration (manifest) model and its two import formats, JSON Lines
// and CSV, with strict validation (see README.md, "Formats"). A pure library: no SDK, no
// SQLite; the store (manifest_store.h) and the plugin build on it.
//
// Every error names the line (1-based, the physical line a record starts on) and the reason;
// a parse reports every bad line, up to kMaxErrors, so that a sender can fix a file at once.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_MANIFEST_MANIFEST_H_
#define KORDON_PLUGINS_MANIFEST_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::manifest {

// Plausibility bounds. A road vehicle with its load is at most ~44 t in the region; 100 t
// leaves room for heavy-haul permits and refuses the typical slip (grams entered as kg).
inline constexpr double kMaxGrossKg = 100000;
inline constexpr int64_t kMaxPackages = 1000000;
inline constexpr size_t kMaxErrors = 100;  // errors reported per file; the rest are counted
inline constexpr size_t kMaxTextBytes = 512;
inline constexpr size_t kMaxLineBytes = 1 << 20;  // one JSON line / one CSV record
inline constexpr size_t kMaxGoodsLines = 1000;
inline constexpr size_t kMaxPlates = 8;
inline constexpr size_t kMaxContainers = 16;

struct Container {
  std::string code;       // ISO 6346, normalised and valid
  std::string size_type;  // ISO 6346 size/type code ("45G1"), "" when not declared
  bool operator==(const Container&) const = default;
};

struct GoodsLine {
  std::string hs_code;  // 4-10 digits (dots and spaces removed)
  std::string description;
  std::optional<double> gross_kg;
  std::optional<double> net_kg;
  std::optional<int64_t> packages;
  bool operator==(const GoodsLine&) const = default;
};

struct Manifest {
  std::string number;  // the declaration number, unique: "KG-2026-000123"
  std::string lane;    // the lane it was lodged for, "" when any
  std::string date;    // YYYY-MM-DD, "" when not declared
  std::string carrier;
  std::vector<std::string> plates;  // normalised as plate-reader does (kordon::plate)
  std::string plate_country;        // ISO 3166-1 alpha-2, "" when not declared
  std::vector<Container> containers;
  std::string consignor;
  std::string consignee;
  std::string origin;       // ISO 3166-1 alpha-2
  std::string destination;  // ISO 3166-1 alpha-2
  std::vector<GoodsLine> goods;
  double declared_gross_kg = 0;
  bool operator==(const Manifest&) const = default;
};

struct LineError {
  size_t line = 0;
  std::string reason;
};

struct ParseResult {
  std::vector<Manifest> manifests;  // only when errors is empty
  std::vector<size_t> lines;        // the line each manifest starts on (parallel)
  std::vector<LineError> errors;    // at most kMaxErrors
  size_t error_count = 0;           // every error, also those beyond the cap
  bool ok() const { return error_count == 0; }
};

// One JSON Lines record (one line, without its newline): the manifest or the reason it is
// refused (set *error, return nullopt).
std::optional<Manifest> ParseJsonLine(std::string_view line, std::string* error);

// A whole JSON Lines file: one manifest per line; blank lines are skipped; a manifest number
// twice in one file is an error. A file with any error yields no manifests.
ParseResult ParseJsonLines(std::string_view text);

// A CSV file (README.md, "CSV"): one row per goods line, rows with the same manifest number
// form one manifest and must agree on every header column.
ParseResult ParseCsv(std::string_view text);

// Checks a manifest (also one built by hand or read back from the database) and normalises
// its plates, containers and HS codes in place; "" or the first reason it is refused.
std::string Validate(Manifest* m);

// "file: line N: reason" lines for the errors, and "... and K more" past the cap.
std::string FormatErrors(const std::string& file, const ParseResult& r);

// Reads `path` and parses it by its extension: .csv is CSV, anything else JSON Lines.
// A file that cannot be read gives one error on line 0.
ParseResult ParseFile(const std::string& path);

// The manifest as a JSON object (the `manifest` member of the bus bodies; the JSON Lines
// format, so ParseJsonLine(ToJson(m)) == m).
std::string ToJson(const Manifest& m);

// YYYY-MM-DD and a real calendar date.
bool IsDate(std::string_view s);

}  // namespace kordon::manifest

#endif  // KORDON_PLUGINS_MANIFEST_MANIFEST_H_
