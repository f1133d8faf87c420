// manifest_jsonl_fuzz.cpp — fuzz target for the manifest JSON Lines parser
// (plugins/manifest/manifest.h). Invariants: nothing throws; a file is either accepted whole
// (every manifest valid, and its JSON form parses back to the same manifest) or refused with
// errors that name a line and no manifests.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace mf = kordon::manifest;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const mf::ParseResult r = mf::ParseJsonLines(text);
  FUZZ_CHECK(r.ok() == r.errors.empty(), "either manifests or errors");
  FUZZ_CHECK(r.errors.size() <= mf::kMaxErrors, "errors are capped");
  FUZZ_CHECK(r.error_count >= r.errors.size(), "every error is counted");
  if (!r.ok()) FUZZ_CHECK(r.manifests.empty(), "a refused file gives no manifests");
  FUZZ_CHECK(r.manifests.size() == r.lines.size(), "one line per manifest");
  for (const mf::LineError& e : r.errors) FUZZ_CHECK(!e.reason.empty(), "an error has a reason");
  for (mf::Manifest m : r.manifests) {
    const mf::Manifest before = m;
    FUZZ_CHECK(mf::Validate(&m).empty(), "every accepted manifest is valid");
    FUZZ_CHECK(m == before, "validation is idempotent");
    std::string error;
    const std::optional<mf::Manifest> again = mf::ParseJsonLine(mf::ToJson(m), &error);
    FUZZ_CHECK(again.has_value() && *again == m, "ToJson round-trips");
  }
  return 0;
}
