// manifest_message.h — the bus side of the manifest plugin without SDK types: the lookup key
// of a scanner.plate.read or scanner.container.read body, the db.manifest.lookup request, and
// the bodies the plugin publishes (README.md, "Topics and bodies").
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_MANIFEST_MANIFEST_MESSAGE_H_
#define KORDON_PLUGINS_MANIFEST_MANIFEST_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifest_store.h"

namespace kordon::manifest {

inline constexpr char kPlateTopic[] = "scanner.plate.read";
inline constexpr char kContainerTopic[] = "scanner.container.read";
inline constexpr char kMatchTopic[] = "db.manifest.match";
inline constexpr char kUnmatchedTopic[] = "db.manifest.unmatched";
inline constexpr char kLodgedTopic[] = "db.manifest.lodged";
inline constexpr char kErrorTopic[] = "db.manifest.error";
inline constexpr char kAlertTopic[] = "alert.raised";
inline constexpr char kService[] = "db.manifest.lookup";

// What a read is looked up by.
struct LookupKey {
  std::string matched_by;  // "plate", "container" or "manifest"
  std::string value;       // normalised plate, ISO 6346 code or manifest number
  std::string country;     // plate reads: the plate's country when the camera knows it
  bool repaired = false;   // container reads: the reader's unique OCR repair was used
};

// From a scanner.plate.read body (v1 or v2): its `plate`, normalised again by plate-reader's
// normaliser (idempotent), and `country`. nullopt and *error when the body is not one.
std::optional<LookupKey> FromPlateRead(std::string_view body, std::string* error);

// From a scanner.container.read body: `code` when `valid`, else the repair's code when
// `repaired_valid`; a code that does not validate is an error (it cannot be on a manifest,
// and "no manifest" would be a false statement about the container).
std::optional<LookupKey> FromContainerRead(std::string_view body, std::string* error);

// From a db.manifest.lookup request: exactly one of {"plate", "container", "manifest"}, a
// string; unknown members refused.
std::optional<LookupKey> FromLookupRequest(std::string_view body, std::string* error);

// Of several manifests found (newest first), the one to attach: the newest lodged for `lane`,
// else the newest. A plate read whose country differs from the manifest's plate_country
// (both known) is another vehicle: such manifests are dropped first. Returns the index into
// `found` or nullopt when none is left; *others gets the other candidates' numbers.
std::optional<size_t> Choose(const std::vector<StoredManifest>& found, const LookupKey& key,
                             std::string_view lane, std::vector<std::string>* others);

std::string MatchBody(const StoredManifest& m, const LookupKey& key,
                      const std::vector<std::string>& others, std::string_view source_id,
                      std::string_view source_topic);
std::string UnmatchedBody(const LookupKey& key, std::string_view source_id,
                          std::string_view source_topic);
std::string LodgedBody(const StoredManifest& m, bool amended, const std::string& file,
                       size_t line);
// A bad line of the followed file (file, line) or a read that could not be looked up
// (source_id, source_topic); the other pair is empty.
std::string ErrorBody(const std::string& reason, const std::string& file, size_t line,
                      std::string_view source_id, std::string_view source_topic,
                      uint64_t errors);
std::string ReplyBody(const std::vector<StoredManifest>& found);

// What a refused line still says about itself, so that its error can reach the lane: the
// "manifest" number and the "lane" when the line is a JSON object with them as strings of
// the allowed characters (else "").
struct LineHints {
  std::string manifest;
  std::string lane;
};
LineHints HintsOf(std::string_view line);

}  // namespace kordon::manifest

#endif  // KORDON_PLUGINS_MANIFEST_MANIFEST_MESSAGE_H_
