// mrz_message.h — the message bodies of the mrz-reader plugin, apart from the plugin so that
// they can be tested without a host. See README.md for the formats.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_MRZ_READER_MRZ_MESSAGE_H_
#define KORDON_PLUGINS_MRZ_READER_MRZ_MESSAGE_H_

#include <chrono>
#include <string>
#include <string_view>

#include "mrz.h"

namespace kordon::mrz {

inline constexpr char kRawTopic[] = "scanner.document.raw";
inline constexpr char kReadTopic[] = "scanner.document.read";
inline constexpr char kRejectedTopic[] = "scanner.document.rejected";

// What to publish for one scanner.document.raw body.
struct Outcome {
  std::string topic;  // kReadTopic or kRejectedTopic
  std::string body;   // a JSON object
};

// Parses a scanner.document.raw body ({"mrz": "...", "reader": "..."}) and builds the
// scanner.document.read body, or the scanner.document.rejected body when the body is not such
// an object or the text is not an MRZ. `today` resolves two-digit years. Never throws except
// std::bad_alloc.
Outcome HandleRawBody(std::string_view body, std::chrono::year_month_day today);

// The scanner.document.read body for a parsed document.
std::string ReadBody(const Document& document, std::string_view reader);

// The scanner.document.rejected body.
std::string RejectedBody(std::string_view reason, std::string_view raw, std::string_view reader);

}  // namespace kordon::mrz

#endif  // KORDON_PLUGINS_MRZ_READER_MRZ_MESSAGE_H_
