// watchlist_name_fuzz.cpp — fuzz target for the name normaliser and the matcher
// (plugins/watchlist/names.h, watchlist.h). Invariants: nothing throws; every part has
// 1..4 non-empty keys; a name always matches itself when listed; scores lie in 0..1.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "names.h"
#include "watchlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace wl = kordon::watchlist;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<wl::NamePart> parts = wl::SplitName(text);
  FUZZ_CHECK(parts.size() <= wl::kMaxParts, "at most kMaxParts parts");
  for (const wl::NamePart& p : parts) {
    FUZZ_CHECK(!p.keys.empty() && p.keys.size() <= 4, "1..4 keys per part");
    for (const std::string& k : p.keys) FUZZ_CHECK(!k.empty(), "no empty key");
  }
  (void)wl::TransliterateToLatin(text);
  (void)wl::NormaliseDocumentNumber(text);

  static const std::shared_ptr<const wl::Snapshot> demo = [] {
    wl::Entry e;
    e.list = "fuzz";
    e.id = "P1";
    e.kind = "person";
    e.names = {"Токтогулов Нурлан", "TOKTOGULOV NURLAN"};
    e.birth_dates = {"1981-02-14"};
    return wl::Snapshot::Build({e});
  }();
  wl::Query q;
  q.name = text;
  q.birth_date = text.size() > 10 ? text.substr(0, 10) : text;
  for (const wl::Hit& h : demo->Check(q, wl::MatchOptions{}))
    FUZZ_CHECK(h.score >= 0.85 && h.score <= 1.0, "scores in [min_score, 1]");

  // Listed, the name matches itself (when it has a part long enough to be a name).
  wl::Entry self;
  self.list = "fuzz";
  self.id = "S";
  self.kind = "person";
  self.names = {text};
  if (wl::ValidateEntry(self).empty()) {
    auto s = wl::Snapshot::Build({self});
    wl::Query same;
    same.name = text;
    FUZZ_CHECK(s->Check(same, wl::MatchOptions{}).size() == 1, "a listed name matches itself");
  }
  return 0;
}
