// weighbridge.cpp — MT-SICS reply and Toledo continuous frame parsers (see weighbridge.h).
#include "weighbridge.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

namespace kordon::weighbridge {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Splits at runs of spaces; MT-SICS right-aligns the value in a field padded with spaces.
std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

SicsReply Invalid(std::string why) {
  SicsReply r;
  r.kind = SicsReply::Kind::kInvalid;
  r.error = std::move(why);
  return r;
}

ScaleStatus StatusOfKind(SicsReply::Kind kind) {
  switch (kind) {
    case SicsReply::Kind::kOverload: return ScaleStatus::kOverload;
    case SicsReply::Kind::kUnderload: return ScaleStatus::kUnderload;
    case SicsReply::Kind::kWeight:
    case SicsReply::Kind::kDone: return ScaleStatus::kOk;
    default: return ScaleStatus::kNotReady;
  }
}

}  // namespace

const char* ScaleStatusName(ScaleStatus status) {
  switch (status) {
    case ScaleStatus::kOk: return "ok";
    case ScaleStatus::kMotion: return "motion";
    case ScaleStatus::kOverload: return "overload";
    case ScaleStatus::kUnderload: return "underload";
    case ScaleStatus::kNotReady: return "not_ready";
  }
  return "not_ready";
}

const char* SicsKindName(SicsReply::Kind kind) {
  switch (kind) {
    case SicsReply::Kind::kWeight: return "weight";
    case SicsReply::Kind::kDone: return "done";
    case SicsReply::Kind::kNotReady: return "not_ready";
    case SicsReply::Kind::kOverload: return "overload";
    case SicsReply::Kind::kUnderload: return "underload";
    case SicsReply::Kind::kSyntaxError: return "syntax_error";
    case SicsReply::Kind::kTransmissionError: return "transmission_error";
    case SicsReply::Kind::kLogicalError: return "logical_error";
    case SicsReply::Kind::kInvalid: return "invalid";
  }
  return "invalid";
}

std::optional<double> KilogramsPerUnit(std::string_view unit) {
  if (unit == "kg") return 1.0;
  if (unit == "t") return 1000.0;
  if (unit == "g") return 0.001;
  if (unit == "lb") return 0.45359237;  // the international avoirdupois pound, exactly
  return std::nullopt;
}

std::optional<double> ParseWeightValue(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  // Integer arithmetic on at most 15 significant digits keeps the value exact to the last
  // displayed digit (a double holds 15), and refuses what a scale display cannot show.
  uint64_t mantissa = 0;
  int digits = 0, fraction_digits = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (!IsDigit(c)) return std::nullopt;
    if (mantissa != 0 || c != '0') ++digits;
    if (digits > 15) return std::nullopt;
    mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
    if (point) ++fraction_digits;
    if (fraction_digits > 9) return std::nullopt;
  }
  const size_t first_digit = (text.empty() || IsDigit(text[0]) || text[0] == '.') ? 0 : 1;
  const std::string_view body = text.substr(std::min(first_digit, text.size()));
  if (body.empty() || body == ".") return std::nullopt;
  double v = static_cast<double>(mantissa);
  static constexpr std::array<double, 10> kPow10 = {1,   1e1, 1e2, 1e3, 1e4,
                                                    1e5, 1e6, 1e7, 1e8, 1e9};
  v /= kPow10[static_cast<size_t>(fraction_digits)];
  return negative ? -v : v;
}

SicsReply ParseSicsReply(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.size() > kMaxSicsLine)
    return Invalid("reply longer than " + std::to_string(kMaxSicsLine) + " bytes");
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      return Invalid("reply holds a control or non-ASCII byte");
  }
  const std::vector<std::string_view> t = Tokens(line);
  if (t.empty()) return Invalid("empty reply");

  SicsReply r;
  if (t.size() == 1 && (t[0] == "ES" || t[0] == "ET" || t[0] == "EL")) {
    r.kind = t[0] == "ES"   ? SicsReply::Kind::kSyntaxError
             : t[0] == "ET" ? SicsReply::Kind::kTransmissionError
                            : SicsReply::Kind::kLogicalError;
    r.reading.status = ScaleStatus::kNotReady;
    return r;
  }
  const std::string_view id = t[0];
  if (id != "S" && id != "SI" && id != "Z" && id != "T")
    return Invalid("unknown reply identifier '" + std::string(id) + "'");
  if (t.size() < 2) return Invalid("reply '" + std::string(id) + "' has no status");
  r.command = std::string(id);
  const std::string_view status = t[1];

  if (t.size() == 2) {
    if (status == "I") r.kind = SicsReply::Kind::kNotReady;
    else if (status == "+") r.kind = SicsReply::Kind::kOverload;
    else if (status == "-") r.kind = SicsReply::Kind::kUnderload;
    else if (status == "A" && id == "Z") r.kind = SicsReply::Kind::kDone;
    else return Invalid("reply '" + std::string(line) + "': unknown status or missing weight");
    r.reading.status = StatusOfKind(r.kind);
    return r;
  }

  // A weight: "<id> S|D <value> <unit>". Z never carries one; T only with S (tare taken).
  const bool stable = status == "S";
  if (!(stable || status == "D") || id == "Z" || (id == "T" && !stable))
    return Invalid("reply '" + std::string(line) + "': unknown status '" + std::string(status) +
                   "'");
  if (t.size() != 4) return Invalid("weight reply without exactly one value and one unit");
  const std::optional<double> value = ParseWeightValue(t[2]);
  if (!value) return Invalid("weight value '" + std::string(t[2]) + "' is not a number");
  const std::optional<double> per_unit = KilogramsPerUnit(t[3]);
  if (!per_unit) return Invalid("unknown unit '" + std::string(t[3]) + "'");
  r.kind = SicsReply::Kind::kWeight;
  r.reading.has_weight = true;
  r.reading.motion = !stable;
  r.reading.status = stable ? ScaleStatus::kOk : ScaleStatus::kMotion;
  r.reading.kg = *value * *per_unit;
  r.reading.raw_value = std::string(t[2]);
  r.reading.raw_unit = std::string(t[3]);
  return r;
}

bool SicsReplyAnswers(const SicsReply& reply, std::string_view command) {
  if (reply.kind == SicsReply::Kind::kInvalid) return false;
  if (reply.command.empty()) return true;  // ES / ET / EL answer whatever was sent
  if (command == "SI" || command == "S") return reply.command == "S" || reply.command == "SI";
  return reply.command == command;
}

// ---- Toledo -------------------------------------------------------------------------------

uint8_t ToledoChecksum(std::string_view body) {
  unsigned sum = 0;
  for (char c : body) sum += static_cast<unsigned char>(c) & 0x7f;
  return static_cast<uint8_t>((0x80 - (sum & 0x7f)) & 0x7f);
}

namespace {

// Six digits; leading spaces allowed (some terminals blank leading zeros). nullopt otherwise.
std::optional<uint32_t> SixDigits(std::string_view field) {
  uint32_t v = 0;
  bool seen_digit = false;
  for (char raw : field) {
    const char c = static_cast<char>(raw & 0x7f);
    if (c == ' ' && !seen_digit) continue;
    if (!IsDigit(c)) return std::nullopt;
    seen_digit = true;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!seen_digit) return std::nullopt;
  return v;
}

std::string FormatScaled(uint32_t digits, int code, bool negative) {
  // code 0..7: x100, x10, x1, x0.1 … x0.00001. Formatting the digits keeps the raw value
  // exactly as the display shows it.
  std::string s = std::to_string(digits);
  if (code <= 2) {
    if (digits != 0) s.append(static_cast<size_t>(2 - code), '0');
  } else {
    const size_t places = static_cast<size_t>(code - 2);
    if (s.size() <= places) s.insert(0, places + 1 - s.size(), '0');
    s.insert(s.size() - places, ".");
  }
  return negative ? "-" + s : s;
}

}  // namespace

std::optional<ToledoFrame> ParseToledoFrame(std::string_view frame, bool checksum,
                                            std::string* error) {
  const size_t want = kToledoBodyBytes + (checksum ? 1 : 0);
  if (frame.size() != want) {
    *error = "frame of " + std::to_string(frame.size()) + " bytes, expected " +
             std::to_string(want);
    return std::nullopt;
  }
  if ((frame[0] & 0x7f) != kStx) {
    *error = "frame does not start with STX";
    return std::nullopt;
  }
  if ((frame[16] & 0x7f) != kCr) {
    *error = "no CR at byte 17";
    return std::nullopt;
  }
  if (checksum) {
    const uint8_t expected = ToledoChecksum(frame.substr(0, kToledoBodyBytes));
    const uint8_t got = static_cast<uint8_t>(frame[17]) & 0x7f;
    if (got != expected) {
      char text[64];
      std::snprintf(text, sizeof text, "bad checksum 0x%02X, expected 0x%02X", got, expected);
      *error = text;
      return std::nullopt;
    }
  }
  const unsigned a = static_cast<unsigned char>(frame[1]) & 0x7f;
  const unsigned b = static_cast<unsigned char>(frame[2]) & 0x7f;
  const unsigned c = static_cast<unsigned char>(frame[3]) & 0x7f;
  const std::optional<uint32_t> weight = SixDigits(frame.substr(4, 6));
  const std::optional<uint32_t> tare = SixDigits(frame.substr(10, 6));
  if (!weight || !tare) {
    *error = std::string(!weight ? "weight" : "tare") + " field is not six digits";
    return std::nullopt;
  }
  const int increment_code = static_cast<int>((a >> 3) & 3);
  if (increment_code == 0) {
    *error = "status A gives no increment size (bits 3-4 are 0)";
    return std::nullopt;
  }

  ToledoFrame f;
  ToledoStatus& s = f.status;
  const int code = static_cast<int>(a & 7);
  static constexpr std::array<double, 8> kScale = {100, 10, 1, 0.1, 0.01, 0.001, 1e-4, 1e-5};
  s.scale = kScale[static_cast<size_t>(code)];
  s.increment = increment_code == 1 ? 1 : increment_code == 2 ? 2 : 5;
  s.net = b & 0x01;
  s.negative = b & 0x02;
  s.out_of_range = b & 0x04;
  s.motion = b & 0x08;
  s.kg = b & 0x10;
  s.power_up = b & 0x40;
  s.print_request = c & 0x08;
  s.expanded = c & 0x10;
  s.manual_tare = c & 0x40;

  Reading& r = f.reading;
  r.net = s.net;
  r.motion = s.motion;
  r.raw_unit = s.kg ? "kg" : "lb";
  r.raw_value = FormatScaled(*weight, code, s.negative);
  const double per_unit = s.kg ? 1.0 : *KilogramsPerUnit("lb");
  if (s.out_of_range) {
    // The frame does not say which end: the sign bit does (a negative reading beyond range is
    // underload). Either way, no weight.
    r.status = s.negative ? ScaleStatus::kUnderload : ScaleStatus::kOverload;
  } else if (s.power_up) {
    r.status = ScaleStatus::kNotReady;
  } else {
    r.status = s.motion ? ScaleStatus::kMotion : ScaleStatus::kOk;
    r.has_weight = true;
    r.kg = (s.negative ? -1.0 : 1.0) * *weight * s.scale * per_unit;
    r.tare_kg = *tare * s.scale * per_unit;
  }
  return f;
}

void ToledoFramer::Feed(std::string_view bytes, const FrameFn& on_frame,
                        const GarbageFn& on_garbage) {
  pending_.append(bytes);
  size_t pos = 0;
  while (pos < pending_.size()) {
    const size_t stx = pending_.find(kStx, pos);
    if (stx == std::string::npos) {
      on_garbage(std::string_view(pending_).substr(pos), "bytes outside a frame (no STX)");
      pos = pending_.size();
      break;
    }
    if (stx > pos) on_garbage(std::string_view(pending_).substr(pos, stx - pos),
                              "bytes outside a frame (before STX)");
    pos = stx;
    if (pending_.size() - pos < frame_bytes_) break;  // wait for the rest
    const std::string_view candidate = std::string_view(pending_).substr(pos, frame_bytes_);
    if (candidate[16] != kCr) {  // framing bytes are exact; parity only in fields
      // Short frame or a stray STX: resynchronise at the next STX after this one.
      const size_t next = pending_.find(kStx, pos + 1);
      const size_t end = next == std::string::npos ? pos + frame_bytes_
                                                   : std::min(next, pos + frame_bytes_);
      on_garbage(std::string_view(pending_).substr(pos, end - pos),
                 "frame of the wrong length (no CR at byte 17)");
      pos = end;
      continue;
    }
    on_frame(candidate);
    pos += frame_bytes_;
  }
  pending_.erase(0, pos);
}

std::string EscapeFrame(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 8);
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '<') {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "<%02X>", u);
      out += hex;
    }
  }
  return out;
}

}  // namespace kordon::weighbridge
