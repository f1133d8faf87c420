// toledo_frame_fuzz.cpp — fuzz target for the Toledo continuous output framer and frame parser
// (plugins/weighbridge). Invariants: nothing throws; the framer hands back every byte exactly
// once (as a frame or as garbage) apart from an incomplete tail; every frame it cuts starts
// with STX and has the fixed length; a parsed frame with a weight has a finite weight and is
// neither out of range nor power-up; bodies are JSON.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_json.h"
#include "weighbridge.h"
#include "weighbridge_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace wb = kordon::weighbridge;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (bool checksum : {true, false}) {
    wb::ToledoFramer framer(checksum);
    size_t accounted = 0;
    const auto on_frame = [&](std::string_view frame) {
      accounted += frame.size();
      FUZZ_CHECK(frame.size() == framer.frame_bytes(), "fixed length");
      FUZZ_CHECK(frame[0] == wb::kStx && frame[16] == wb::kCr, "STX ... CR");
      std::string error;
      const auto f = wb::ParseToledoFrame(frame, checksum, &error);
      FUZZ_CHECK(f.has_value() == error.empty(), "either a frame or an error");
      if (f && f->reading.has_weight) {
        FUZZ_CHECK(std::isfinite(f->reading.kg), "finite weight");
        FUZZ_CHECK(!f->status.out_of_range && !f->status.power_up, "no weight out of range");
        FUZZ_CHECK(IsJsonObject(wb::LiveBody("fuzz", f->reading, frame)), "live is JSON");
      }
    };
    const auto on_garbage = [&](std::string_view g, std::string_view) {
      FUZZ_CHECK(!g.empty(), "garbage is never empty");
      accounted += g.size();
    };
    // Fed in uneven chunks, as a link delivers them.
    for (size_t i = 0, step = 1; i < bytes.size(); i += step, step = step % 7 + 1)
      framer.Feed(bytes.substr(i, step), on_frame, on_garbage);
    FUZZ_CHECK(accounted <= bytes.size() && bytes.size() - accounted < framer.frame_bytes(),
               "every byte but an incomplete tail is accounted for");
    // The whole input as one frame, too.
    std::string error;
    (void)wb::ParseToledoFrame(bytes, checksum, &error);
  }
  return 0;
}
