// Fuzz target `plugin_signature`: FILE.sig text as it lies on disk beside a plugin
// (host/src/plugin_signature). Promises: ParseSignature never throws; a refusal names a line;
// what it accepts survives FormatSignature and ParseSignature.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "plugin_signature.h"

using namespace kordon::signing;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  std::optional<Signature> sig = ParseSignature(in, &error);
  if (!sig) {
    FUZZ_CHECK(error.rfind("line ", 0) == 0 || error.rfind("larger", 0) == 0,
               "a refusal names the line");
    return 0;
  }
  std::optional<Signature> again = ParseSignature(FormatSignature(*sig), &error);
  FUZZ_CHECK(again && again->key_id == sig->key_id && again->file == sig->file &&
                 again->size == sig->size && again->hash == sig->hash &&
                 again->signature == sig->signature,
             "an accepted signature survives FormatSignature");
  return 0;
}
