// config_fuzz.cpp — fuzz target for the host's INI configuration reader (host/src/config).
// Invariants: nothing throws; a rejected file has a message that names where.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kordon::host::Result<kordon::host::HostConfig> config =
      kordon::host::ParseConfig(text, "fuzz.ini");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().message().find("fuzz.ini") != std::string::npos,
               "an error names the file");
  } else {
    for (const auto& instance : config.value().instances)
      FUZZ_CHECK(kordon::host::IsValidInstanceName(instance.name), "instance names are valid");
  }
  return 0;
}
