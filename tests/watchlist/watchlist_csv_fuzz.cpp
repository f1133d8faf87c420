// watchlist_csv_fuzz.cpp — fuzz target for the watchlist import parsers (CSV and UN XML,
// plugins/watchlist/store.h). Invariants: nothing throws; a file is either imported whole
// (every entry valid) or refused with an error that names a line and has no entries.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int xml = 0; xml < 2; ++xml) {
    const kordon::watchlist::ParseResult r = xml ? kordon::watchlist::ParseUnXml(text, "fuzz")
                                                 : kordon::watchlist::ParseCsv(text, "fuzz");
    FUZZ_CHECK(r.ok == r.error.empty(), "either entries or an error");
    if (!r.ok) {
      FUZZ_CHECK(r.entries.empty(), "a refused file gives no entries");
      FUZZ_CHECK(r.error.rfind("line ", 0) == 0, "an error names its line");
    }
    for (const kordon::watchlist::Entry& e : r.entries)
      FUZZ_CHECK(kordon::watchlist::ValidateEntry(e).empty(), "every imported entry is valid");
  }
  return 0;
}
