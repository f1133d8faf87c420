// manifest_csv_fuzz.cpp — fuzz target for the manifest CSV parser (plugins/manifest/
// manifest.h). Invariants: nothing throws; a file is either accepted whole (every manifest
// valid, with at least one goods line) or refused with errors and no manifests.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace mf = kordon::manifest;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const mf::ParseResult r = mf::ParseCsv(text);
  FUZZ_CHECK(r.ok() == r.errors.empty(), "either manifests or errors");
  FUZZ_CHECK(r.errors.size() <= mf::kMaxErrors, "errors are capped");
  if (!r.ok()) FUZZ_CHECK(r.manifests.empty(), "a refused file gives no manifests");
  FUZZ_CHECK(r.manifests.size() == r.lines.size(), "one line per manifest");
  for (mf::Manifest m : r.manifests) {
    FUZZ_CHECK(!m.goods.empty(), "a manifest has goods");
    FUZZ_CHECK(mf::Validate(&m).empty(), "every accepted manifest is valid");
  }
  return 0;
}
