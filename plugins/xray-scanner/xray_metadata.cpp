// xray_metadata.cpp — see xray_metadata.h.
#include "xray_metadata.h"

#include <cctype>
#include <exception>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iso6346.h"


namespace kordon::xray {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr int64_t kMaxDimension = 1000000;     // pixels per side
constexpr int64_t kMaxEnergyKev = 20000;       // cargo linacs go to ~9 MeV
constexpr size_t kMaxContainers = 16;
constexpr size_t kMaxMarks = 1000;
constexpr size_t kMaxIdBytes = 64;
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxNoteBytes = 4096;
constexpr size_t kMaxMediaTypeBytes = 127;

// Thrown inside the parser only; turned into ParseResult::error.
struct Invalid {
  std::string what;
};

[[noreturn]] void Fail(std::string what) { throw Invalid{std::move(what)}; }

bool HasControl(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return true;
  return false;
}

// Text fields: a string of 1..max bytes (or 0..max when `may_be_empty`), UTF-8 (the JSON
// parser has checked that), no control characters.
std::string Text(const Json& object, const char* path, const char* key, size_t max,
                 bool may_be_empty = false) {
  const auto it = object.find(key);
  if (it == object.end()) Fail(std::string(path) + key + " is missing");
  if (!it->is_string()) Fail(std::string(path) + key + " must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() && !may_be_empty) Fail(std::string(path) + key + " must not be empty");
  if (s.size() > max)
    Fail(std::string(path) + key + " is longer than " + std::to_string(max) + " bytes");
  if (HasControl(s)) Fail(std::string(path) + key + " contains control characters");
  return s;
}

std::optional<std::string> OptionalText(const Json& object, const char* path, const char* key,
                                        size_t max) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return Text(object, path, key, max, true);
}

int64_t Integer(const Json& object, const char* path, const char* key, int64_t min,
                int64_t max) {
  const auto it = object.find(key);
  if (it == object.end()) Fail(std::string(path) + key + " is missing");
  const std::string range = " (" + std::to_string(min) + ".." + std::to_string(max) + ")";
  if (!it->is_number_integer()) Fail(std::string(path) + key + " must be an integer" + range);
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    Fail(std::string(path) + key + " is out of range" + range);
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max) Fail(std::string(path) + key + " is out of range" + range);
  return v;
}

const Json* OptionalObject(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  if (!it->is_object()) Fail(std::string(key) + " must be an object");
  return &*it;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// type "/" subtype, each of RFC 6838 restricted-name characters.
bool IsMediaType(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (i == slash) continue;
    if (!std::isalnum(c) && std::string_view("!#$&-^_.+").find(static_cast<char>(c)) ==
                                std::string_view::npos)
      return false;
  }
  return s.find('/', slash + 1) == std::string_view::npos;
}

int Digits(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

Metadata Validate(const Json& j, std::string_view expected_scan_id, uint64_t max_image_bytes,
                  ParseResult* partial) {
  if (!j.is_object()) Fail("metadata must be a JSON object");
  // The identity first, so that a later error can still name the scan and its image.
  Metadata m;
  m.scan_id = Text(j, "", "scan_id", kMaxIdBytes);
  if (!IsValidScanId(m.scan_id))
    Fail("scan_id must be 1..64 of A-Z a-z 0-9 . _ - and not start with '.'");
  partial->scan_id = m.scan_id;
  if (m.scan_id != expected_scan_id)
    Fail("scan_id '" + m.scan_id + "' does not match the file name '" +
         std::string(expected_scan_id) + kMetadataSuffix + "'");
  const auto image_it = j.find("image");
  if (image_it == j.end()) Fail("image is missing");
  if (!image_it->is_object()) Fail("image must be an object");
  const Json& image = *image_it;
  m.image.file = Text(image, "image.", "file", 255);
  if (!IsPlainFileName(m.image.file))
    Fail("image.file '" + m.image.file +
         "' must be a plain file name in the spool directory (no '/', no '..', not hidden)");
  if (m.image.file.ends_with(kMetadataSuffix)) Fail("image.file must not end in .json");
  partial->image_file = m.image.file;

  const auto format = j.find("format");
  if (format == j.end()) Fail("format is missing");
  if (!format->is_string() || format->get_ref<const std::string&>() != kFormat)
    Fail(std::string("format must be \"") + kFormat + "\"");
  m.scanner_id = Text(j, "", "scanner_id", kMaxIdBytes);
  m.time = Text(j, "", "time", 64);
  if (!IsValidTimestamp(m.time))
    Fail("time '" + m.time + "' is not an RFC 3339 date-time (2026-11-28T10:15:03Z)");

  const int64_t max_bytes = static_cast<int64_t>(
      std::min<uint64_t>(max_image_bytes, std::numeric_limits<int64_t>::max()));
  m.image.bytes = static_cast<uint64_t>(Integer(image, "image.", "bytes", 1, max_bytes));
  m.image.media_type = Text(image, "image.", "media_type", kMaxMediaTypeBytes);
  if (!IsMediaType(m.image.media_type))
    Fail("image.media_type '" + m.image.media_type + "' is not a media type (image/png)");
  if (auto sha = OptionalText(image, "image.", "sha256", 64)) {
    if (!IsHex64(*sha)) Fail("image.sha256 must be 64 hexadecimal digits");
    for (char& c : *sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    m.image.sha256 = std::move(*sha);
  }
  m.image.width = Integer(image, "image.", "width", 1, kMaxDimension);
  m.image.height = Integer(image, "image.", "height", 1, kMaxDimension);

  if (const Json* v = OptionalObject(j, "vehicle")) {
    Metadata::Vehicle vehicle;
    vehicle.plate = OptionalText(*v, "vehicle.", "plate", 32);
    vehicle.country = OptionalText(*v, "vehicle.", "country", 3);
    if (vehicle.plate && vehicle.plate->empty()) Fail("vehicle.plate must not be empty");
    if (vehicle.country) {
      const std::string& c = *vehicle.country;
      bool ok = c.size() >= 2;
      for (char ch : c) ok = ok && ch >= 'A' && ch <= 'Z';
      if (!ok) Fail("vehicle.country must be 2 or 3 capital letters (ISO 3166)");
    }
    m.vehicle = std::move(vehicle);
  }

  if (const auto it = j.find("containers"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) Fail("containers must be an array of strings");
    if (it->size() > kMaxContainers)
      Fail("containers has more than " + std::to_string(kMaxContainers) + " entries");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& c = (*it)[i];
      const std::string where = "containers[" + std::to_string(i) + "]";
      if (!c.is_string()) Fail(where + " must be a string");
      const std::string& raw = c.get_ref<const std::string&>();
      const std::string code = raw.size() > 40 ? raw : kordon::iso6346::Normalise(raw);
      const bool shaped = !code.empty() && code.size() <= 16 &&
                          code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
                              std::string::npos;
      if (!shaped)
        Fail(where + " '" + (HasControl(raw) || raw.size() > 40 ? "..." : raw) +
             "' is not a container code (1 to 16 letters and digits)");
      m.containers.push_back(code);
    }
  }

  if (const Json* o = OptionalObject(j, "operator")) {
    Metadata::Operator op;
    op.id = Text(*o, "operator.", "id", kMaxIdBytes);
    op.name = OptionalText(*o, "operator.", "name", kMaxNameBytes);
    m.operator_ = std::move(op);
  }

  if (const auto it = j.find("marks"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) Fail("marks must be an array of objects");
    if (it->size() > kMaxMarks)
      Fail("marks has more than " + std::to_string(kMaxMarks) + " entries");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& k = (*it)[i];
      const std::string where = "marks[" + std::to_string(i) + "].";
      if (!k.is_object()) Fail("marks[" + std::to_string(i) + "] must be an object");
      Mark mark;
      mark.x = Integer(k, where.c_str(), "x", 0, m.image.width - 1);
      mark.y = Integer(k, where.c_str(), "y", 0, m.image.height - 1);
      mark.width = Integer(k, where.c_str(), "width", 1, m.image.width - mark.x);
      mark.height = Integer(k, where.c_str(), "height", 1, m.image.height - mark.y);
      mark.label = Text(k, where.c_str(), "label", kMaxIdBytes);
      mark.note = OptionalText(k, where.c_str(), "note", kMaxNoteBytes);
      mark.suspicion = OptionalText(k, where.c_str(), "suspicion", 8);
      if (mark.suspicion && *mark.suspicion != "low" && *mark.suspicion != "medium" &&
          *mark.suspicion != "high")
        Fail(where + "suspicion must be \"low\", \"medium\" or \"high\"");
      m.marks.push_back(std::move(mark));
    }
  }

  if (const auto it = j.find("energy_kev"); it != j.end() && !it->is_null())
    m.energy_kev = Integer(j, "", "energy_kev", 1, kMaxEnergyKev);
  if (auto mode = OptionalText(j, "", "mode", 32)) {
    if (*mode != "single-energy" && *mode != "dual-energy" && *mode != "multi-energy" &&
        *mode != "backscatter")
      Fail("mode must be \"single-energy\", \"dual-energy\", \"multi-energy\" or "
           "\"backscatter\"");
    m.mode = std::move(*mode);
  }
  return m;
}

template <typename T>
OrderedJson OrNull(const std::optional<T>& v) {
  return v ? OrderedJson(*v) : OrderedJson(nullptr);
}

std::string Dump(const OrderedJson& body) {
  return body.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace

bool IsTemporaryName(std::string_view name) {
  return name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") ||
         name.ends_with('~');
}

bool IsPlainFileName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return false;
  return !IsTemporaryName(name);
}

bool IsValidScanId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes || id.front() == '.') return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

bool IsValidTimestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20) return false;
  const int year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  const int hour = Digits(s, 11, 2), minute = Digits(s, 14, 2), second = Digits(s, 17, 2);
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return false;
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60)
    return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  size_t pos = 19;
  if (s[pos] == '.') {
    const size_t start = ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start || pos - start > 9) return false;
  }
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  if (s.size() != pos + 6 || s[pos + 3] != ':') return false;
  const int oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
  return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

ParseResult ParseMetadata(std::string_view text, std::string_view expected_scan_id,
                          uint64_t max_image_bytes) {
  ParseResult result;
  if (text.size() > kMaxMetadataBytes) {
    result.error = "metadata is larger than " + std::to_string(kMaxMetadataBytes) + " bytes";
    return result;
  }
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    result.error = std::string("metadata is not valid JSON: ") + e.what();
    return result;
  }
  try {
    result.metadata = Validate(j, expected_scan_id, max_image_bytes, &result);
  } catch (const Invalid& e) {
    result.error = e.what;
  } catch (const Json::exception& e) {  // not expected: every access is type-checked
    result.error = std::string("metadata is not as expected: ") + e.what();
  }
  return result;
}

std::string ScanBody(const Metadata& m, std::string_view scanner, std::string_view image_path,
                     std::string_view sha256) {
  OrderedJson vehicle = nullptr;
  if (m.vehicle) vehicle = {{"plate", OrNull(m.vehicle->plate)},
                            {"country", OrNull(m.vehicle->country)}};
  OrderedJson op = nullptr;
  if (m.operator_) op = {{"id", m.operator_->id}, {"name", OrNull(m.operator_->name)}};
  OrderedJson marks = OrderedJson::array();
  for (const Mark& k : m.marks) {
    marks.push_back({{"x", k.x}, {"y", k.y}, {"width", k.width}, {"height", k.height},
                     {"label", k.label}, {"note", OrNull(k.note)},
                     {"suspicion", OrNull(k.suspicion)}});
  }
  // ISO 6346 verdict for every container, as container-reader reports it (without repairs:
  // the text was typed or exported, not read by OCR).
  OrderedJson container_checks = OrderedJson::array();
  for (const std::string& code : m.containers) {
    const kordon::iso6346::Analysis a = kordon::iso6346::Analyse(code, {});
    container_checks.push_back(
        {{"code", code},
         {"valid", a.valid},
         {"expected", a.expected ? OrderedJson(std::string(1, *a.expected)) : OrderedJson()},
         {"found", a.found ? OrderedJson(std::string(1, *a.found)) : OrderedJson()},
         {"problem", a.valid ? OrderedJson() : OrderedJson(a.problem)}});
  }
  const OrderedJson body = {
      {"scan_id", m.scan_id},
      {"scanner_id", m.scanner_id},
      {"scanner", scanner},
      {"time", m.time},
      {"image", {{"path", image_path},
                 {"sha256", sha256},
                 {"bytes", m.image.bytes},
                 {"media_type", m.image.media_type},
                 {"width", m.image.width},
                 {"height", m.image.height}}},
      {"vehicle", vehicle},
      {"containers", m.containers},
      {"container_checks", container_checks},
      {"operator", op},
      {"marks", marks},
      {"mode", OrNull(m.mode)},
      {"energy_kev", OrNull(m.energy_kev)},
  };
  return Dump(body);
}

std::string RejectedBody(std::string_view scanner, std::optional<std::string_view> scan_id,
                         std::string_view file, std::string_view reason) {
  OrderedJson id = nullptr;
  if (scan_id) id = *scan_id;
  return Dump(
      OrderedJson{{"scanner", scanner}, {"scan_id", id}, {"file", file}, {"reason", reason}});
}

}  // namespace kordon::xray
