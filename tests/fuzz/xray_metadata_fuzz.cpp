// xray_metadata_fuzz.cpp — fuzz target for the xray-scanner metadata parser and message
// bodies (plugins/xray-scanner). Invariants: nothing throws; either metadata or an error;
// valid metadata keeps its promises (plain image name, marks inside the image, ISO 6346
// containers, lower-case sha256); every body is a JSON object.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "xray_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The corpus uses this scan id; a mutated one is refused, which is also a path worth taking.
  const kordon::xray::ParseResult r =
      kordon::xray::ParseMetadata(text, "NUC-20261128-000123", uint64_t{2} << 30);
  FUZZ_CHECK(r.ok() != !r.error.empty(), "either metadata or an error");
  if (r.ok()) {
    const kordon::xray::Metadata& m = *r.metadata;
    FUZZ_CHECK(kordon::xray::IsPlainFileName(m.image.file), "image.file is a plain name");
    FUZZ_CHECK(m.image.bytes >= 1, "an image has bytes");
    for (const auto& k : m.marks) {
      FUZZ_CHECK(k.x >= 0 && k.y >= 0 && k.width >= 1 && k.height >= 1, "mark geometry");
      FUZZ_CHECK(k.x + k.width <= m.image.width && k.y + k.height <= m.image.height,
                 "a mark lies inside the image");
    }
    for (const auto& c : m.containers)
      FUZZ_CHECK(!c.empty() && c.size() <= 16 &&
                     c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == std::string::npos,
                 "containers are normalised letters and digits");
    if (m.image.sha256)
      FUZZ_CHECK(m.image.sha256->find_first_not_of("0123456789abcdef") == std::string::npos,
                 "sha256 is lower-case hex");
    const auto body = nlohmann::json::parse(
        kordon::xray::ScanBody(m, "fuzz", "/spool/processed/" + m.image.file, "00"), nullptr,
        false);
    FUZZ_CHECK(body.is_object(), "scanner.xray.scan is a JSON object");
  }
  const auto rejected = nlohmann::json::parse(
      kordon::xray::RejectedBody("fuzz", r.scan_id.empty() ? std::nullopt
                                                            : std::optional<std::string_view>(
                                                                  r.scan_id),
                                 "f", r.error),
      nullptr, false);
  FUZZ_CHECK(rejected.is_object(), "scanner.xray.rejected is a JSON object");
  return 0;
}
