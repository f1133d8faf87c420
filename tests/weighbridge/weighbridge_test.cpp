// Tests of the weighbridge protocol parsers (plugins/weighbridge/weighbridge.h) and of the
// device encoders the simulator uses (weighbridge_device.h): MT-SICS replies, Toledo frames
// and the framer's resynchronisation.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "weighbridge.h"
#include "weighbridge_device.h"

namespace {

using namespace kordon::weighbridge;
using K = SicsReply::Kind;

// A Toledo frame from raw status bytes and digit fields, with a correct checksum.
std::string Frame(char a, char b, char c, const std::string& weight, const std::string& tare,
                  bool checksum = true) {
  std::string f;
  f += kStx;
  f += a;
  f += b;
  f += c;
  f += weight + tare;
  f += kCr;
  if (checksum) f += static_cast<char>(ToledoChecksum(f));
  return f;
}

ToledoFrame MustParse(const std::string& frame, bool checksum = true) {
  std::string error;
  std::optional<ToledoFrame> f = ParseToledoFrame(frame, checksum, &error);
  INFO(error);
  REQUIRE(f.has_value());
  return *f;
}

std::string ParseError(const std::string& frame, bool checksum = true) {
  std::string error;
  CHECK_FALSE(ParseToledoFrame(frame, checksum, &error).has_value());
  return error;
}

}  // namespace

TEST_SUITE("weighbridge") {

TEST_CASE("sics: stable and dynamic weights, units converted, raw kept") {
  SicsReply r = ParseSicsReply("S S     18450.0 kg");
  REQUIRE(r.kind == K::kWeight);
  CHECK(r.command == "S");
  CHECK(r.reading.has_weight);
  CHECK_FALSE(r.reading.motion);
  CHECK(r.reading.status == ScaleStatus::kOk);
  CHECK(r.reading.kg == doctest::Approx(18450.0));
  CHECK(r.reading.raw_value == "18450.0");
  CHECK(r.reading.raw_unit == "kg");

  r = ParseSicsReply("S D      18.45 t\r");
  REQUIRE(r.kind == K::kWeight);
  CHECK(r.reading.motion);
  CHECK(r.reading.status == ScaleStatus::kMotion);
  CHECK(r.reading.kg == doctest::Approx(18450.0));
  CHECK(r.reading.raw_unit == "t");

  CHECK(ParseSicsReply("S S   100.00 g").reading.kg == doctest::Approx(0.1));
  CHECK(ParseSicsReply("S S   1000 lb").reading.kg == doctest::Approx(453.59237));
  CHECK(ParseSicsReply("S S      -12.5 kg").reading.kg == doctest::Approx(-12.5));
  CHECK(ParseSicsReply("S S      +12.5 kg").reading.kg == doctest::Approx(12.5));
  CHECK(ParseSicsReply("S S .5 kg").reading.kg == doctest::Approx(0.5));
  CHECK(ParseSicsReply("S S 0 kg").reading.kg == 0);
}

TEST_CASE("sics: statuses and errors are never weights") {
  struct Case {
    const char* line;
    K kind;
    ScaleStatus status;
    const char* command;
  };
  for (const Case& c : {Case{"S I", K::kNotReady, ScaleStatus::kNotReady, "S"},
                        Case{"S +", K::kOverload, ScaleStatus::kOverload, "S"},
                        Case{"S -", K::kUnderload, ScaleStatus::kUnderload, "S"},
                        Case{"ES", K::kSyntaxError, ScaleStatus::kNotReady, ""},
                        Case{"ET", K::kTransmissionError, ScaleStatus::kNotReady, ""},
                        Case{"EL", K::kLogicalError, ScaleStatus::kNotReady, ""},
                        Case{"Z A", K::kDone, ScaleStatus::kOk, "Z"},
                        Case{"Z I", K::kNotReady, ScaleStatus::kNotReady, "Z"},
                        Case{"Z +", K::kOverload, ScaleStatus::kOverload, "Z"},
                        Case{"Z -", K::kUnderload, ScaleStatus::kUnderload, "Z"},
                        Case{"T I", K::kNotReady, ScaleStatus::kNotReady, "T"},
                        Case{"T +", K::kOverload, ScaleStatus::kOverload, "T"},
                        Case{"T -", K::kUnderload, ScaleStatus::kUnderload, "T"}}) {
    const std::string line = c.line;
    CAPTURE(line);
    const SicsReply r = ParseSicsReply(c.line);
    CHECK(r.kind == c.kind);
    CHECK(r.reading.status == c.status);
    CHECK_FALSE(r.reading.has_weight);
    CHECK(r.command == c.command);
  }
  const SicsReply tare = ParseSicsReply("T S    1500.0 kg");
  CHECK(tare.kind == K::kWeight);
  CHECK(tare.command == "T");
  CHECK(tare.reading.kg == doctest::Approx(1500.0));
}

TEST_CASE("sics: unknown units, bad numbers and garbage are invalid, with a reason") {
  struct Case {
    const char* line;
    const char* reason;
  };
  for (const Case& c : {Case{"S S 100 oz", "unknown unit 'oz'"},
                        Case{"S S 100 KG", "unknown unit 'KG'"},
                        Case{"S S 1.2.3 kg", "is not a number"},
                        Case{"S S 1e3 kg", "is not a number"},
                        Case{"S S - kg", "is not a number"},
                        Case{"S S . kg", "is not a number"},
                        Case{"S S 1234567890123456 kg", "is not a number"},
                        Case{"S S 100", "exactly one value"},
                        Case{"S S 100 kg extra", "exactly one value"},
                        Case{"S X 100 kg", "unknown status"},
                        Case{"Z S 100 kg", "unknown status"},
                        Case{"T D 100 kg", "unknown status"},
                        Case{"Z Q", "unknown status"},
                        Case{"S", "no status"},
                        Case{"", "empty reply"},
                        Case{"   ", "empty reply"},
                        Case{"XYZ S 1 kg", "unknown reply identifier"},
                        Case{"S S 1\x01 kg", "control"},
                        Case{"S S 1\xc3\xa9 kg", "non-ASCII"}}) {
    const std::string line = c.line;
    CAPTURE(line);
    const SicsReply r = ParseSicsReply(c.line);
    CHECK(r.kind == K::kInvalid);
    CHECK(r.error.find(c.reason) != std::string::npos);
    CHECK_FALSE(r.reading.has_weight);
  }
  CHECK(ParseSicsReply(std::string(kMaxSicsLine + 1, 'S')).kind == K::kInvalid);
}

TEST_CASE("sics: which reply answers which command") {
  CHECK(SicsReplyAnswers(ParseSicsReply("S S 1 kg"), "SI"));
  CHECK(SicsReplyAnswers(ParseSicsReply("S I"), "SI"));
  CHECK(SicsReplyAnswers(ParseSicsReply("ES"), "SI"));
  CHECK(SicsReplyAnswers(ParseSicsReply("EL"), "Z"));
  CHECK_FALSE(SicsReplyAnswers(ParseSicsReply("Z A"), "SI"));
  CHECK_FALSE(SicsReplyAnswers(ParseSicsReply("S S 1 kg"), "Z"));
  CHECK(SicsReplyAnswers(ParseSicsReply("T S 1 kg"), "T"));
  CHECK_FALSE(SicsReplyAnswers(ParseSicsReply("garbage"), "SI"));
}

TEST_CASE("sics: the simulator's encoder round-trips through the parser") {
  const std::string line = device::SicsWeightReply("S", false, -1234.5, 1, "kg");
  CHECK(line == "S D    -1234.5 kg");
  const SicsReply r = ParseSicsReply(line);
  CHECK(r.kind == K::kWeight);
  CHECK(r.reading.motion);
  CHECK(r.reading.kg == doctest::Approx(-1234.5));
}

TEST_CASE("toledo: checksum right and wrong, optional") {
  const std::string good = Frame('*', '0', ' ', "018450", "000000");
  CHECK(MustParse(good).reading.kg == doctest::Approx(18450));
  // The 7-bit sum of every byte, the checksum included, is 0.
  unsigned sum = 0;
  for (char c : good) sum += static_cast<unsigned char>(c) & 0x7f;
  CHECK((sum & 0x7f) == 0);

  std::string bad = good;
  bad.back() = static_cast<char>((bad.back() + 1) & 0x7f);
  CHECK(ParseError(bad).find("bad checksum") != std::string::npos);

  const std::string plain = Frame('*', '0', ' ', "018450", "000000", false);
  CHECK(MustParse(plain, false).reading.kg == doctest::Approx(18450));
  CHECK(ParseError(plain, true).find("expected 18") != std::string::npos);
  CHECK(ParseError(good, false).find("expected 17") != std::string::npos);
}

TEST_CASE("toledo: status A decimal positions and increments") {
  // bits 0-2: 0 = x100, 1 = x10, 2 = x1, 3 = x0.1, 4 = x0.01, 5 = x0.001, 6 = x0.0001,
  // 7 = x0.00001; bits 3-4: 1, 2, 5; bit 5 always 1.
  const double scale[] = {100, 10, 1, 0.1, 0.01, 0.001, 0.0001, 0.00001};
  const char* raw[] = {"1234500", "123450", "12345", "1234.5", "123.45", "12.345", "1.2345",
                       "0.12345"};
  for (int code = 0; code < 8; ++code) {
    CAPTURE(code);
    const ToledoFrame f =
        MustParse(Frame(static_cast<char>(0x20 | 0x08 | code), '0', ' ', "012345", "000010"));
    CHECK(f.status.scale == doctest::Approx(scale[code]));
    CHECK(f.reading.kg == doctest::Approx(12345 * scale[code]));
    CHECK(f.reading.tare_kg == doctest::Approx(10 * scale[code]));
    CHECK(f.reading.raw_value == raw[code]);
  }
  CHECK(MustParse(Frame(0x20 | 0x08 | 2, '0', ' ', "000000", "000000")).status.increment == 1);
  CHECK(MustParse(Frame(0x20 | 0x10 | 2, '0', ' ', "000000", "000000")).status.increment == 2);
  CHECK(MustParse(Frame(0x20 | 0x18 | 2, '0', ' ', "000000", "000000")).status.increment == 5);
  CHECK(ParseError(Frame(0x20 | 2, '0', ' ', "000000", "000000")).find("increment") !=
        std::string::npos);
}

TEST_CASE("toledo: each status B and C bit") {
  const char a = 0x20 | 0x08 | 2;  // x1, increment 1
  const auto b = [](int bits) { return static_cast<char>(0x20 | bits); };
  ToledoFrame f = MustParse(Frame(a, b(0x10), ' ', "018450", "001500"));
  CHECK_FALSE(f.status.net);
  CHECK(f.status.kg);
  CHECK(f.reading.raw_unit == "kg");
  CHECK(f.reading.status == ScaleStatus::kOk);

  f = MustParse(Frame(a, b(0x11), ' ', "016950", "001500"));  // bit 0: net
  CHECK(f.status.net);
  CHECK(f.reading.net);
  CHECK(f.reading.tare_kg == doctest::Approx(1500));

  f = MustParse(Frame(a, b(0x12), ' ', "000040", "000000"));  // bit 1: negative
  CHECK(f.reading.kg == doctest::Approx(-40));
  CHECK(f.reading.raw_value == "-40");

  f = MustParse(Frame(a, b(0x14), ' ', "999999", "000000"));  // bit 2: out of range, positive
  CHECK(f.reading.status == ScaleStatus::kOverload);
  CHECK_FALSE(f.reading.has_weight);
  f = MustParse(Frame(a, b(0x16), ' ', "999999", "000000"));  // out of range, negative
  CHECK(f.reading.status == ScaleStatus::kUnderload);
  CHECK_FALSE(f.reading.has_weight);

  f = MustParse(Frame(a, b(0x18), ' ', "018450", "000000"));  // bit 3: motion
  CHECK(f.reading.motion);
  CHECK(f.reading.status == ScaleStatus::kMotion);
  CHECK(f.reading.has_weight);

  f = MustParse(Frame(a, b(0x00), ' ', "001000", "000000"));  // bit 4 clear: lb
  CHECK(f.reading.raw_unit == "lb");
  CHECK(f.reading.kg == doctest::Approx(453.59237));

  f = MustParse(Frame(a, b(0x50), ' ', "000000", "000000"));  // bit 6: power-up, not zeroed
  CHECK(f.status.power_up);
  CHECK(f.reading.status == ScaleStatus::kNotReady);
  CHECK_FALSE(f.reading.has_weight);

  f = MustParse(Frame(a, b(0x10), 0x20 | 0x08 | 0x10 | 0x40, "000000", "000000"));
  CHECK(f.status.print_request);
  CHECK(f.status.expanded);
  CHECK(f.status.manual_tare);

  // Bit 7 (parity) is ignored in the status words and digits.
  f = MustParse(Frame(static_cast<char>(a | 0x80), static_cast<char>(b(0x10) | 0x80), ' ',
                      "01845\xb0", "000000"));
  CHECK(f.reading.kg == doctest::Approx(18450));
}

TEST_CASE("toledo: bad digits and wrong length are refused") {
  const char a = 0x20 | 0x08 | 2;
  CHECK(ParseError(Frame(a, '0', ' ', "01A450", "000000")).find("weight field") !=
        std::string::npos);
  CHECK(ParseError(Frame(a, '0', ' ', "018450", "00 0 0")).find("tare field") !=
        std::string::npos);
  CHECK(ParseError(Frame(a, '0', ' ', "      ", "000000")).find("weight field") !=
        std::string::npos);
  CHECK(MustParse(Frame(a, '0', ' ', "   450", "000000")).reading.kg == doctest::Approx(450));
  std::string no_cr = Frame(a, '0', ' ', "018450", "000000");
  no_cr[16] = '0';
  CHECK(ParseError(no_cr).find("no CR") != std::string::npos);
  CHECK(ParseError("").find("0 bytes") != std::string::npos);
}

TEST_CASE("toledo framer: frames split anywhere, resync after garbage and a cut frame") {
  const std::string f1 = Frame(0x2A, '0', ' ', "018450", "000000");
  const std::string f2 = Frame(0x2A, '8', ' ', "032100", "000000");
  const std::string stream = "\xff\xfejunk" + f1 + f1.substr(0, 9) + f2 + "x" + f1;
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{18}, stream.size()}) {
    CAPTURE(chunk);
    ToledoFramer framer(true);
    std::vector<std::string> frames, garbage;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      framer.Feed(
          std::string_view(stream).substr(i, chunk),
          [&](std::string_view f) { frames.emplace_back(f); },
          [&](std::string_view g, std::string_view) { garbage.emplace_back(g); });
    }
    CHECK(frames == std::vector<std::string>{f1, f2, f1});
    std::string all;
    for (const auto& g : garbage) all += g;
    CHECK(all == "\xff\xfejunk" + f1.substr(0, 9) + "x");
  }
}

TEST_CASE("toledo: the simulator's encoder round-trips, each flag") {
  device::ToledoFields fields;
  fields.weight_digits = 18450;
  fields.tare_digits = 1500;
  fields.net = true;
  fields.motion = true;
  const std::string bytes = device::ToledoFrameBytes(fields, true);
  REQUIRE(bytes.size() == 18);
  const ToledoFrame f = MustParse(bytes);
  CHECK(f.reading.kg == doctest::Approx(18450));
  CHECK(f.reading.tare_kg == doctest::Approx(1500));
  CHECK(f.reading.net);
  CHECK(f.reading.motion);
  CHECK(f.status.kg);
  CHECK(EscapeFrame(bytes).rfind("<02>", 0) == 0);
}

}  // TEST_SUITE
