// store.h — the watchlist's SQLite store and its import parsers: CSV (see README.md for the
// columns) and the UN Security Council consolidated list XML. An import replaces one list in
// one transaction: a malformed file changes nothing.
//
// Thread safety: the parsers are pure functions. A Store is one SQLite connection: use it
// from one thread at a time. Several Stores (processes) may share a database file (WAL).
#ifndef KORDON_PLUGINS_WATCHLIST_STORE_H_
#define KORDON_PLUGINS_WATCHLIST_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite_db.h"
#include "watchlist.h"

namespace kordon::watchlist {

struct ParseResult {
  bool ok = false;
  std::string error;  // !ok: "line N: reason" (CSV) or "line N, column C: reason" (XML)
  std::vector<Entry> entries;
  size_t skipped = 0;  // un-xml: ENTITY records, which name no person, document or vehicle
};

// The CSV columns, in any order: id and kind required; names, birth_dates, nationalities,
// documents, plates, vins, reason optional. A header line is required.
ParseResult ParseCsv(std::string_view text, const std::string& list);

// CONSOLIDATED_LIST/INDIVIDUALS/INDIVIDUAL records (see README.md for the mapping).
ParseResult ParseUnXml(std::string_view text, const std::string& list);

class Store {
 public:
  // Opens or creates the database (WAL, busy timeout 5 s) and its tables.
  // Throws std::runtime_error naming the file and SQLite's reason.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Replaces every entry of `list` by `entries`, in one transaction; false and *error when
  // it fails (then nothing changed).
  bool ReplaceList(const std::string& list, const std::vector<Entry>& entries,
                   const std::string& source, std::string* error);

  // Every entry of every list; false and *error when the database cannot be read.
  bool LoadAll(std::vector<Entry>* entries, std::string* error);

  // PRAGMA data_version: changes when another connection commits (the plugin polls it).
  int64_t DataVersion();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<sqlite::Db> db_;
};

struct ImportOutcome {
  bool ok = false;
  std::string error;
  size_t entries = 0;
  size_t skipped = 0;
};

// Reads `file`, parses it as `format` ("csv" or "un-xml"; "" guesses from the extension)
// and replaces `list` in the store.
ImportOutcome ImportFile(Store& store, const std::string& file, const std::string& list,
                         const std::string& format);

}  // namespace kordon::watchlist

#endif  // KORDON_PLUGINS_WATCHLIST_STORE_H_
