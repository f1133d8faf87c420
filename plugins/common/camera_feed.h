// camera_feed.h — the line format that reading cameras (ANPR plate cameras, container-code
// OCR cameras) push over their link, shared by plate-reader and container-reader. One read per
// line, in one of two forms (both accepted on the same feed; see the plugins' README.md, the
// contract with camera vendors):
//  - a JSON object: {"plate": "01 KG 123 ABC", "confidence": 0.93, ...} or {"code": ...};
//  - a delimited record: PLATE;<time>;<camera>;<plate>;<confidence>;<country>;<region>;<image>
//    or CONTAINER;<time>;<camera>;<code>;<confidence>;<position>;<image>;
// and heartbeats ({"heartbeat": true, "camera": "..."} or HEARTBEAT;<time>;<camera>).
//
// The parser only checks the form and the field types and ranges; what the text means (plate
// normalisation, ISO 6346) is the plugin's business.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_COMMON_CAMERA_FEED_H_
#define KORDON_PLUGINS_COMMON_CAMERA_FEED_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kordon::camera {

// Which feed a line arrives on: decides the record kind and the text field ("plate"/"code").
enum class FeedKind { kPlate, kContainer };

inline constexpr size_t kMaxTextChars = 32;     // plate / code, in characters
inline constexpr size_t kMaxFieldBytes = 1024;  // any other string field
inline constexpr size_t kMaxRawBytes = 512;     // "raw" of a rejection

// One read as the camera reported it; absent optional fields are nullopt. Every string is
// valid UTF-8 without control characters.
struct CameraRead {
  std::string text;  // plate or code as read, 1..32 characters
  std::optional<double> confidence;  // 0..1
  std::optional<std::string> country;    // plate: ISO 3166-1 alpha-2, upper case
  std::optional<std::string> region;     // plate
  std::optional<std::string> direction;  // plate: "in" | "out"
  std::optional<std::string> position;   // container: "front" | "rear" | "top" | "unknown"
  std::optional<std::string> size_type;  // container, JSON form only: 4 of [0-9A-Z]
  std::optional<std::string> image;
  std::optional<std::string> camera;
  std::optional<std::string> time;  // RFC 3339
  std::optional<std::string> id;    // the camera's read id (a JSON integer becomes its digits)
};

struct FeedLine {
  enum class Type { kRead, kHeartbeat, kError };
  Type type = Type::kError;
  CameraRead read;     // kRead
  std::string camera;  // kHeartbeat, kError: the camera named by the line, when it says
  std::string error;   // kError: a sentence naming the problem (and the field)
};

// Parses one feed line (terminator already removed). Never throws except std::bad_alloc.
FeedLine ParseFeedLine(std::string_view line, FeedKind kind);

// Parses a JSON object body of the same shape as a JSON feed line — what scanner.plate.raw and
// scanner.container.raw carry (heartbeats are refused there). Never throws except bad_alloc.
FeedLine ParseReadObject(std::string_view json, FeedKind kind);

// `line` made safe to quote in a rejection: bytes that are not UTF-8 replaced by U+FFFD,
// cut at a character boundary to at most kMaxRawBytes bytes (JSON escapes the rest).
std::string RawForReport(std::string_view line);

// The body of scanner.plate.rejected / scanner.container.rejected: {"reason", "raw" (passed
// through RawForReport), "camera", "link"}; camera and link are "" when not known.
std::string RejectedBody(std::string_view reason, std::string_view raw, std::string_view camera,
                         std::string_view link);

// What a camera plugin does with one line or one bus body: publish a read, publish a
// rejection, or count a heartbeat. Built by the plugins' pure message modules.
struct Outcome {
  enum class Kind { kRead, kRejected, kHeartbeat };
  Kind kind = Kind::kRejected;
  std::string topic;   // kRead, kRejected
  std::string body;    // kRead, kRejected: a JSON object
  std::string detail;  // kRejected: the reason, for the log
};

// Settings that the message modules need.
struct Settings {
  std::string camera;         // used when a line names no camera
  double min_confidence = 0;  // reads below it are flagged "low_confidence": true
  std::string link;           // the link string, for rejections ("" without a link)
};

// Field checks, exposed for the tests.
bool IsRfc3339(std::string_view text);
bool IsCountryCode(std::string_view text);

}  // namespace kordon::camera

#endif  // KORDON_PLUGINS_COMMON_CAMERA_FEED_H_
