// weighbridge.h — the weighbridge protocol parsers, apart from the plugin so that they can be
// tested and fuzzed without sockets: MT-SICS replies (one CR LF line each) and the Toledo
// continuous output (fixed frames STX … CR [checksum]). See README.md for the formats.
//
// Thread safety: the free functions are pure. ToledoFramer is a plain value (one thread).
#ifndef KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_H_
#define KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kordon::weighbridge {

// What the scale says about the weight it reports. Overload, underload, not ready (busy) and
// motion are statuses, never weights.
enum class ScaleStatus { kOk, kMotion, kOverload, kUnderload, kNotReady };
const char* ScaleStatusName(ScaleStatus status);

// One weight reading, in kilograms, with the raw value and unit as the device sent them.
struct Reading {
  ScaleStatus status = ScaleStatus::kOk;
  bool has_weight = false;  // false for overload / underload / not ready
  double kg = 0;
  double tare_kg = 0;
  bool net = false;
  bool motion = false;         // the device says the weight is not stable
  std::string raw_value;       // e.g. "-18450.0" (SICS: as sent; Toledo: decoded, signed)
  std::string raw_unit;        // "kg", "t", "g", "lb"
};

// Kilograms per unit for kg, t, g and lb (MT-SICS spells units case-sensitively); nullopt for
// any other unit.
std::optional<double> KilogramsPerUnit(std::string_view unit);

// Parses a decimal MT-SICS weight value: optional sign, digits, optional '.' and digits (at
// least one digit in all). Nothing else (no exponent, no spaces, no comma).
std::optional<double> ParseWeightValue(std::string_view text);

// ---- MT-SICS ------------------------------------------------------------------------------

// A reply line (without CR LF), classified. The command it answers is `command` ("S", "SI",
// "Z", "T") or empty for the general errors ES / ET / EL, which answer whatever was sent.
struct SicsReply {
  enum class Kind {
    kWeight,       // "S S v u" / "S D v u" / "SI" same / "T S v u" (tare taken, value = tare)
    kDone,         // "Z A": zeroed
    kNotReady,     // "<cmd> I": understood, not executable now (busy, no stable weight)
    kOverload,     // "<cmd> +": overload (Z / T: upper limit of the range exceeded)
    kUnderload,    // "<cmd> -": underload (Z / T: lower limit)
    kSyntaxError,  // "ES"
    kTransmissionError,  // "ET"
    kLogicalError,       // "EL"
    kInvalid,      // not an MT-SICS reply this plugin knows; `error` says why
  };
  Kind kind = Kind::kInvalid;
  std::string command;  // the reply's identifier: "S", "SI", "Z", "T"; "" for ES/ET/EL
  Reading reading;      // kWeight (motion from the "D" status); status mirrors the kind
  std::string error;    // kInvalid: a sentence naming the problem
};
const char* SicsKindName(SicsReply::Kind kind);

// Parses one reply line (CR / LF already stripped; trailing CR tolerated). Never throws
// except std::bad_alloc. Lines longer than kMaxSicsLine are invalid.
inline constexpr size_t kMaxSicsLine = 128;
SicsReply ParseSicsReply(std::string_view line);

// True when `reply` can be the answer to `command` ("SI", "S", "Z", "T"): same identifier
// ("SI" is answered by "S …" replies per MT-SICS), or a general error (ES / ET / EL).
bool SicsReplyAnswers(const SicsReply& reply, std::string_view command);

// ---- Toledo continuous output -------------------------------------------------------------

inline constexpr char kStx = '\x02';
inline constexpr char kCr = '\r';
inline constexpr size_t kToledoBodyBytes = 17;  // STX, SWA, SWB, SWC, 6 + 6 digits, CR

// The status words decoded (see README.md for the table and its source).
struct ToledoStatus {
  double scale = 1;          // status A bits 0-2: 100, 10, 1, 0.1 … 0.00001
  int increment = 1;         // status A bits 3-4: 1, 2 or 5
  bool net = false;          // B bit 0
  bool negative = false;     // B bit 1
  bool out_of_range = false; // B bit 2 (overload or underload)
  bool motion = false;       // B bit 3
  bool kg = false;           // B bit 4: 1 kg, 0 lb
  bool power_up = false;     // B bit 6: power-up, not zeroed yet
  bool print_request = false;  // C bit 3
  bool expanded = false;       // C bit 4: expanded display (x10)
  bool manual_tare = false;    // C bit 6: keyboard (manual) tare
};

struct ToledoFrame {
  ToledoStatus status;
  Reading reading;  // status kOk / kMotion / kOverload / kUnderload / kNotReady
};

// Parses one frame: STX … CR followed by the checksum byte when `checksum` is true (18
// bytes), or without it (17 bytes). On failure returns nullopt and sets *error. The parity
// bit (bit 7) of every byte is ignored, as the terminals send it on 7-bit links.
std::optional<ToledoFrame> ParseToledoFrame(std::string_view frame, bool checksum,
                                            std::string* error);

// The checksum byte for `body` (STX..CR): the two's complement of the 7-bit sum, 7 bits.
uint8_t ToledoChecksum(std::string_view body);

// Cuts a byte stream into Toledo frames: a frame starts at STX and has a fixed length.
// Bytes before an STX are garbage (reported once per run, then skipped). A candidate whose
// CR is not where it must be is reported and the search resumes at the next STX after its
// start, so one lost byte costs one frame, not the stream. Memory is bounded by one frame.
class ToledoFramer {
 public:
  using FrameFn = std::function<void(std::string_view frame)>;
  using GarbageFn = std::function<void(std::string_view bytes, std::string_view why)>;

  explicit ToledoFramer(bool checksum) : frame_bytes_(kToledoBodyBytes + (checksum ? 1 : 0)) {}
  void Feed(std::string_view bytes, const FrameFn& on_frame, const GarbageFn& on_garbage);
  void Reset() { pending_.clear(); }
  size_t frame_bytes() const { return frame_bytes_; }

 private:
  size_t frame_bytes_;
  std::string pending_;
};

// Escapes a frame or reply for a JSON string and a log: printable ASCII as is, everything
// else as <XX> hex (STX is "<02>", CR "<0D>").
std::string EscapeFrame(std::string_view bytes);

}  // namespace kordon::weighbridge

#endif  // KORDON_PLUGINS_WEIGHBRIDGE_WEIGHBRIDGE_H_
