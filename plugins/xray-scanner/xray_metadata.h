// xray_metadata.h — the vendor contract of the xray-scanner plugin: parsing and validating a
// scan's metadata file (<scan-id>.json, format "kordon-xray/1"), and the bodies of
// scanner.xray.scan and scanner.xray.rejected. Pure: no file system, no host; see README.md
// for the format.
//
// Thread safety: pure functions and plain values.
#ifndef KORDON_PLUGINS_XRAY_SCANNER_XRAY_METADATA_H_
#define KORDON_PLUGINS_XRAY_SCANNER_XRAY_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::xray {

inline constexpr char kScanTopic[] = "scanner.xray.scan";
inline constexpr char kRejectedTopic[] = "scanner.xray.rejected";
inline constexpr char kFormat[] = "kordon-xray/1";
inline constexpr char kMetadataSuffix[] = ".json";
// Metadata larger than this is refused without being read whole.
inline constexpr uint64_t kMaxMetadataBytes = 1 << 20;

struct Mark {
  int64_t x = 0, y = 0, width = 0, height = 0;  // pixels; inside the image
  std::string label;
  std::optional<std::string> note;
  std::optional<std::string> suspicion;  // "low", "medium" or "high"
};

struct Metadata {
  std::string scan_id;
  std::string scanner_id;
  std::string time;  // RFC 3339, as written
  struct Image {
    std::string file;  // a plain file name in the spool directory
    uint64_t bytes = 0;
    std::string media_type;
    std::optional<std::string> sha256;  // 64 lower-case hex digits when given
    int64_t width = 0, height = 0;
  } image;
  struct Vehicle {
    std::optional<std::string> plate;
    std::optional<std::string> country;
  };
  std::optional<Vehicle> vehicle;
  // As the operator or the scanner wrote them, normalised (spaces and dashes removed, upper
  // case): 1..16 letters and digits. The ISO 6346 check is reported in the scan body
  // (container_checks), never a reason to reject the scan: a mistyped code must not lose it.
  std::vector<std::string> containers;
  struct Operator {
    std::string id;
    std::optional<std::string> name;
  };
  std::optional<Operator> operator_;
  std::vector<Mark> marks;
  std::optional<int64_t> energy_kev;
  std::optional<std::string> mode;
};

struct ParseResult {
  std::optional<Metadata> metadata;  // set when valid
  std::string error;                 // otherwise: what is wrong, naming the field
  // What could be read before the error (for the rejection event and for moving the image
  // along with the metadata); empty when unknown.
  std::string scan_id;
  std::string image_file;
  bool ok() const { return metadata.has_value(); }
};

// Parses and validates metadata text. `expected_scan_id` is the file name's stem: the
// scan_id inside must equal it. Images larger than `max_image_bytes` are refused. Unknown
// fields are ignored. Never throws except std::bad_alloc.
ParseResult ParseMetadata(std::string_view text, std::string_view expected_scan_id,
                          uint64_t max_image_bytes);

// True for a name that stays inside the directory: non-empty, at most 255 bytes, no '/', no
// NUL, not "." or "..", and not a hidden or temporary name (see IsTemporaryName).
bool IsPlainFileName(std::string_view name);

// Names a vendor writes under before renaming: a leading '.', or ending in ".tmp", ".part"
// or "~". The plugin ignores them.
bool IsTemporaryName(std::string_view name);

// A scan_id: 1..64 of A-Z a-z 0-9 . _ - , not starting with '.'.
bool IsValidScanId(std::string_view id);

// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), calendar-checked.
bool IsValidTimestamp(std::string_view text);

// The scanner.xray.scan body; `scanner` is the plugin's device name (setting `scanner`),
// `image_path` the absolute path after the move, `sha256` the digest computed by the plugin
// (lower-case hex).
std::string ScanBody(const Metadata& metadata, std::string_view scanner,
                     std::string_view image_path, std::string_view sha256);

// The scanner.xray.rejected body: {"scanner", "scan_id": id or null, "file", "reason"}.
std::string RejectedBody(std::string_view scanner, std::optional<std::string_view> scan_id,
                         std::string_view file, std::string_view reason);

}  // namespace kordon::xray

#endif  // KORDON_PLUGINS_XRAY_SCANNER_XRAY_METADATA_H_
