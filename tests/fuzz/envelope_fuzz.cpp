// envelope_fuzz.cpp — fuzz target for what the bus accepts from outside: the binary envelope
// decoder and the body validator (host/src/envelope). Invariants: nothing throws or reads out
// of bounds; an envelope that decodes re-encodes to a prefix of the input that decodes to the
// same fields (bytes after the known fields are ignored by design).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "envelope.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  kordon::host::Result<kordon::host::Envelope> decoded = kordon::host::DecodeEnvelope(bytes);
  if (decoded.ok()) {
    const kordon::host::Envelope& e = decoded.value();
    FUZZ_CHECK(kordon::host::ValidateEnvelope(e).ok(), "a decoded envelope is valid");
    const std::string again = kordon::host::EncodeEnvelope(e);
    FUZZ_CHECK(bytes.substr(0, again.size()) == again, "re-encoding gives the same bytes");
  }
  // The body rules on the same bytes (and with a tight limit).
  (void)kordon::host::ValidateBody(bytes, 1 << 20);
  (void)kordon::host::ValidateBody(bytes, 16);
  // A whole message: topic and body from the first two thirds and the rest.
  const size_t a = size / 3, b = 2 * size / 3;
  kordon::host::Envelope out;
  (void)kordon::host::ValidateFrames(bytes.substr(0, a), bytes.substr(a, b - a), bytes.substr(b),
                                     1 << 20, &out);
  return 0;
}
