// watchlist_message.h — the bus side of the watchlist: queries from scanner.document.read,
// scanner.plate.read and db.watchlist.check request bodies, and the db.watchlist.hit body.
// See README.md ("Topics and bodies").
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_WATCHLIST_WATCHLIST_MESSAGE_H_
#define KORDON_PLUGINS_WATCHLIST_WATCHLIST_MESSAGE_H_

#include <optional>
#include <string>
#include <string_view>

#include "watchlist.h"

namespace kordon::watchlist {

inline constexpr char kDocumentTopic[] = "scanner.document.read";
inline constexpr char kPlateTopic[] = "scanner.plate.read";
inline constexpr char kUpdatedTopic[] = "db.watchlist.updated";
inline constexpr char kHitTopic[] = "db.watchlist.hit";
inline constexpr char kErrorTopic[] = "db.watchlist.error";
inline constexpr char kService[] = "db.watchlist.check";

// A query and the "subject" object of the hits it gives (JSON text).
struct Checked {
  Query query;
  std::string subject;  // {"kind": ..., what was checked}
};

// From a scanner.document.read body (mrz-reader's shape); nullopt and *error when the body
// is not one.
std::optional<Checked> FromDocumentRead(std::string_view body, std::string* error);

// From a scanner.plate.read body (plate-reader's, v1 or v2).
std::optional<Checked> FromPlateRead(std::string_view body, std::string* error);

// From a db.watchlist.check request: {"name", "birth_date", "nationality",
// "document_number", "issuing_state", "plate", "country", "vin"}, any non-empty subset,
// all strings. Unknown members are refused (a misspelt member would check nothing).
std::optional<Checked> FromCheckRequest(std::string_view body, std::string* error);

// The db.watchlist.hit body. source_id: the checked message's id ("" for a request).
std::string HitBody(const Hit& hit, const std::string& subject, std::string_view source_id,
                    std::string_view source_topic);

// The reply to db.watchlist.check: {"hits": [hit bodies without source]}.
std::string ReplyBody(const std::vector<Hit>& hits, const std::string& subject);

}  // namespace kordon::watchlist

#endif  // KORDON_PLUGINS_WATCHLIST_WATCHLIST_MESSAGE_H_
