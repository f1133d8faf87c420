// camera_feed.cpp — see camera_feed.h.

#include "camera_feed.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "utf8.h"

namespace kordon::camera {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kBlank = " \t";

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

FeedLine Error(std::string error, std::string camera = {}) {
  FeedLine out;
  out.type = FeedLine::Type::kError;
  out.error = std::move(error);
  out.camera = std::move(camera);
  return out;
}

// A value quoted in an error: short, and safe (the body builder escapes it).
std::string Quote(std::string_view value) {
  constexpr size_t kMax = 40;
  std::string text = RawForReport(value.substr(0, kMax));
  return "'" + text + (value.size() > kMax ? "...'" : "'");
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// Checks a string field's bytes: UTF-8, no control characters, size. Empty when fine, else the
// problem in words (without the field name).
std::string CheckText(std::string_view value, size_t max_chars, size_t max_bytes) {
  if (value.size() > max_bytes) return "is longer than " + std::to_string(max_bytes) + " bytes";
  size_t chars = 0;
  for (size_t pos = 0; pos < value.size(); ++chars) {
    const std::optional<char32_t> cp = text::DecodeUtf8(value, &pos);
    if (!cp) return "is not valid UTF-8";
    if (IsControl(*cp)) return "contains a control character";
  }
  if (chars > max_chars)
    return "is longer than " + std::to_string(max_chars) + " characters";
  return {};
}

bool Digits(std::string_view text, size_t pos, size_t n, int* value) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

// Field checks shared by both forms. Each returns an error sentence or "".
std::string CheckConfidence(double value) {
  if (!std::isfinite(value) || value < 0.0 || value > 1.0)
    return "field 'confidence' must be a number between 0 and 1";
  return {};
}

std::string CheckCountry(std::string_view value) {
  if (!IsCountryCode(value))
    return "field 'country' must be an ISO 3166-1 alpha-2 code in upper case (e.g. KG), got " +
           Quote(value);
  return {};
}

std::string CheckTime(std::string_view value) {
  if (!IsRfc3339(value))
    return "field 'time' must be an RFC 3339 date-time (e.g. 2026-11-28T10:15:03.120Z), got " +
           Quote(value);
  return {};
}

std::string CheckDirection(std::string_view value) {
  if (value != "in" && value != "out")
    return "field 'direction' must be \"in\" or \"out\", got " + Quote(value);
  return {};
}

std::string CheckPosition(std::string_view value) {
  if (value != "front" && value != "rear" && value != "top" && value != "unknown")
    return "field 'position' must be one of front, rear, top, unknown, got " + Quote(value);
  return {};
}

std::string CheckSizeType(std::string_view value) {
  bool ok = value.size() == 4;
  for (char c : value) ok = ok && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'));
  if (!ok)
    return "field 'size_type' must be an ISO 6346 size/type code: 4 characters 0-9 A-Z "
           "(e.g. 22G1), got " + Quote(value);
  return {};
}

const char* TextField(FeedKind kind) { return kind == FeedKind::kPlate ? "plate" : "code"; }

// --- JSON form -------------------------------------------------------------------------------

// Reads optional string field `name`: absent, null or "" leaves *out empty (as an empty
// delimited field does). Returns an error or "".
std::string OptionalString(const Json& object, const char* name, std::optional<std::string>* out,
                           size_t max_bytes = kMaxFieldBytes) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) return std::string("field '") + name + "' must be a string";
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty()) return {};
  if (std::string problem = CheckText(value, SIZE_MAX, max_bytes); !problem.empty())
    return std::string("field '") + name + "' " + problem;
  *out = value;
  return {};
}

FeedLine ParseObject(const Json& object, FeedKind kind, bool allow_heartbeat) {
  std::optional<std::string> camera;
  const std::string camera_error = OptionalString(object, "camera", &camera);
  const std::string camera_text = camera_error.empty() ? camera.value_or("") : "";

  if (auto it = object.find("heartbeat"); it != object.end()) {
    if (!allow_heartbeat) return Error("a heartbeat is not a read", camera_text);
    if (!it->is_boolean() || !it->get<bool>())
      return Error("field 'heartbeat' must be true", camera_text);
    if (!camera_error.empty()) return Error(camera_error);
    FeedLine out;
    out.type = FeedLine::Type::kHeartbeat;
    out.camera = camera_text;
    return out;
  }

  CameraRead read;
  const char* field = TextField(kind);
  auto it = object.find(field);
  if (it == object.end()) return Error(std::string("field '") + field + "' is missing",
                                       camera_text);
  if (!it->is_string()) return Error(std::string("field '") + field + "' must be a string",
                                     camera_text);
  read.text = it->get<std::string>();
  if (read.text.empty()) return Error(std::string("field '") + field + "' is empty", camera_text);
  if (std::string p = CheckText(read.text, kMaxTextChars, 4 * kMaxTextChars); !p.empty())
    return Error(std::string("field '") + field + "' " + p, camera_text);

  if (!camera_error.empty()) return Error(camera_error);
  read.camera = camera;

  std::string error;
  const auto fail = [&](std::string e) {
    if (error.empty()) error = std::move(e);
  };
  if (auto c = object.find("confidence"); c != object.end() && !c->is_null()) {
    if (!c->is_number()) {
      fail("field 'confidence' must be a number between 0 and 1");
    } else {
      read.confidence = c->get<double>();
      fail(CheckConfidence(*read.confidence));
    }
  }
  fail(OptionalString(object, "image", &read.image));
  fail(OptionalString(object, "time", &read.time));
  if (read.time) fail(CheckTime(*read.time));
  if (auto id = object.find("id"); id != object.end() && !id->is_null()) {
    if (id->is_number_unsigned()) {
      read.id = std::to_string(id->get<uint64_t>());
    } else if (id->is_string()) {
      fail(OptionalString(object, "id", &read.id));
    } else {
      fail("field 'id' must be a string or a non-negative integer");
    }
  }
  if (kind == FeedKind::kPlate) {
    fail(OptionalString(object, "country", &read.country));
    if (read.country) fail(CheckCountry(*read.country));
    fail(OptionalString(object, "region", &read.region));
    fail(OptionalString(object, "direction", &read.direction));
    if (read.direction) fail(CheckDirection(*read.direction));
  } else {
    fail(OptionalString(object, "position", &read.position));
    if (read.position) fail(CheckPosition(*read.position));
    fail(OptionalString(object, "size_type", &read.size_type));
    if (read.size_type) fail(CheckSizeType(*read.size_type));
  }
  if (!error.empty()) return Error(std::move(error), camera_text);

  FeedLine out;
  out.type = FeedLine::Type::kRead;
  out.read = std::move(read);
  return out;
}

FeedLine ParseJson(std::string_view text, FeedKind kind, bool allow_heartbeat) {
  Json object;
  try {
    object = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Error("the line is not valid JSON (error at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception& e) {
    // Not only parse_error: a number beyond double ("1e999") throws out_of_range.
    return Error(std::string("the line is not valid JSON (") + e.what() + ")");
  }
  if (!object.is_object()) return Error("the JSON is not an object");
  return ParseObject(object, kind, allow_heartbeat);
}

// --- Delimited form --------------------------------------------------------------------------

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t semi = line.find(';', start);
    if (semi == std::string_view::npos) {
      fields.push_back(Trim(line.substr(start)));
      return fields;
    }
    fields.push_back(Trim(line.substr(start, semi - start)));
    start = semi + 1;
  }
}

// An optional delimited field: empty stays nullopt.
std::optional<std::string> Field(std::string_view value) {
  if (value.empty()) return std::nullopt;
  return std::string(value);
}

FeedLine ParseDelimited(std::string_view line, FeedKind kind) {
  const std::vector<std::string_view> f = Split(line);
  const std::string_view record = f[0];
  const bool plate = kind == FeedKind::kPlate;
  const std::string_view read_kind = plate ? "PLATE" : "CONTAINER";
  if (record != read_kind && record != "HEARTBEAT") {
    const std::string expected = std::string(read_kind) + " or HEARTBEAT record";
    if (record == "PLATE" || record == "CONTAINER")
      return Error("record kind '" + std::string(record) + "' is not accepted on a " +
                   (plate ? "plate" : "container") + " feed (expected a " + expected + ")");
    return Error("the line is neither a JSON object nor a " + expected);
  }
  // Every field's bytes are checked before any is used.
  static constexpr const char* kPlateNames[] = {"kind", "time", "camera", "plate",
                                                "confidence", "country", "region", "image"};
  static constexpr const char* kContainerNames[] = {"kind", "time", "camera", "code",
                                                    "confidence", "position", "image"};
  static constexpr const char* kHeartbeatNames[] = {"kind", "time", "camera"};
  const bool heartbeat = record == "HEARTBEAT";
  const char* const* names = heartbeat ? kHeartbeatNames : plate ? kPlateNames : kContainerNames;
  const size_t expected = heartbeat ? 3 : plate ? 8 : 7;
  if (f.size() != expected) {
    std::string form;
    for (size_t i = 0; i < expected; ++i) form += (i ? ";" : "") + std::string(names[i]);
    form.replace(0, 4, record);
    return Error("a " + std::string(record) + " record has " + std::to_string(expected) +
                 " fields separated by ';' (" + form + "), got " + std::to_string(f.size()));
  }
  for (size_t i = 1; i < expected; ++i) {
    if (std::string p = CheckText(f[i], SIZE_MAX, kMaxFieldBytes); !p.empty())
      return Error("field '" + std::string(names[i]) + "' " + p);
  }
  const std::string camera(f[2]);
  std::string error;
  if (!f[1].empty()) error = CheckTime(f[1]);
  if (heartbeat) {
    if (!error.empty()) return Error(std::move(error), camera);
    FeedLine out;
    out.type = FeedLine::Type::kHeartbeat;
    out.camera = camera;
    return out;
  }
  const std::string_view text = f[3];
  const char* field = TextField(kind);
  if (text.empty()) return Error(std::string("field '") + field + "' is empty", camera);
  if (std::string p = CheckText(text, kMaxTextChars, 4 * kMaxTextChars); !p.empty())
    return Error(std::string("field '") + field + "' " + p, camera);

  CameraRead read;
  read.text = std::string(text);
  read.time = Field(f[1]);
  read.camera = Field(f[2]);
  if (!f[4].empty() && error.empty()) {
    double value = 0;
    const auto [end, ec] = std::from_chars(f[4].data(), f[4].data() + f[4].size(), value,
                                           std::chars_format::fixed);
    if (ec != std::errc() || end != f[4].data() + f[4].size()) {
      error = "field 'confidence' must be a number between 0 and 1, got " + Quote(f[4]);
    } else {
      read.confidence = value;
      error = CheckConfidence(value);
    }
  }
  if (plate) {
    read.country = Field(f[5]);
    read.region = Field(f[6]);
    read.image = Field(f[7]);
    if (read.country && error.empty()) error = CheckCountry(*read.country);
  } else {
    read.position = Field(f[5]);
    read.image = Field(f[6]);
    if (read.position && error.empty()) error = CheckPosition(*read.position);
  }
  if (!error.empty()) return Error(std::move(error), camera);
  FeedLine out;
  out.type = FeedLine::Type::kRead;
  out.read = std::move(read);
  return out;
}

}  // namespace

FeedLine ParseFeedLine(std::string_view line, FeedKind kind) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";  // some Windows tools start with one
  if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  line = Trim(line);
  if (line.empty()) return Error("the line is empty");
  if (line.front() == '{') return ParseJson(line, kind, /*allow_heartbeat=*/true);
  return ParseDelimited(line, kind);
}

FeedLine ParseReadObject(std::string_view json, FeedKind kind) {
  return ParseJson(json, kind, /*allow_heartbeat=*/false);
}

std::string RawForReport(std::string_view line) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(std::min(line.size(), kMaxRawBytes));
  for (size_t pos = 0; pos < line.size();) {
    const size_t start = pos;
    std::string_view piece;
    if (text::DecodeUtf8(line, &pos)) {
      piece = line.substr(start, pos - start);
    } else {
      piece = kReplacement;
      pos = start + 1;
    }
    if (out.size() + piece.size() > kMaxRawBytes) break;
    out.append(piece);
  }
  return out;
}

std::string RejectedBody(std::string_view reason, std::string_view raw, std::string_view camera,
                         std::string_view link) {
  const nlohmann::ordered_json body = {{"reason", RawForReport(reason)},
                                       {"raw", RawForReport(raw)},
                                       {"camera", RawForReport(camera)},
                                       {"link", RawForReport(link)}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool IsCountryCode(std::string_view text) {
  return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' &&
         text[1] <= 'Z';
}

// RFC 3339 section 5.6: full-date "T" full-time, with an optional fraction and Z or an offset.
bool IsRfc3339(std::string_view t) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(t, 0, 4, &year) || t.size() < 20 || t[4] != '-' || !Digits(t, 5, 2, &month) ||
      t[7] != '-' || !Digits(t, 8, 2, &day) || (t[10] != 'T' && t[10] != 't') ||
      !Digits(t, 11, 2, &hour) || t[13] != ':' || !Digits(t, 14, 2, &minute) || t[16] != ':' ||
      !Digits(t, 17, 2, &second))
    return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;  // 60: a leap second
  size_t pos = 19;
  if (pos < t.size() && t[pos] == '.') {
    const size_t digits_start = ++pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') ++pos;
    if (pos == digits_start) return false;
  }
  if (pos == t.size()) return false;
  if (t[pos] == 'Z' || t[pos] == 'z') return pos + 1 == t.size();
  if (t[pos] != '+' && t[pos] != '-') return false;
  int oh = 0, om = 0;
  return pos + 6 == t.size() && Digits(t, pos + 1, 2, &oh) && t[pos + 3] == ':' &&
         Digits(t, pos + 4, 2, &om) && oh <= 23 && om <= 59;
}

}  // namespace kordon::camera
