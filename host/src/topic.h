// Topic names and topic-prefix matching.
//
// A topic is 1..kMaxTopicBytes bytes of dot-separated segments, each made of [a-z0-9_-]:
// "scanner.plate.read". Topics beginning with '$' are reserved for the host's own control
// traffic and never accepted from plugins or external clients.
#ifndef KORDON_HOST_TOPIC_H_
#define KORDON_HOST_TOPIC_H_

#include <string>
#include <string_view>

#include "status.h"

namespace kordon::host {

inline constexpr size_t kMaxTopicBytes = 200;

// OK when topic is a valid public topic; otherwise says what is wrong and where.
Status ValidateTopic(std::string_view topic);

// OK when prefix is a valid subscription prefix: "" (everything) or a valid topic.
Status ValidateTopicPrefix(std::string_view prefix);

// True when topic lies under prefix, segment by segment: "scanner" matches "scanner" and
// "scanner.plate.read" but not "scanners.x"; "" matches every topic.
bool TopicMatches(std::string_view prefix, std::string_view topic);

// True for the host's reserved control topics ("$...").
inline bool IsReservedTopic(std::string_view topic) { return !topic.empty() && topic[0] == '$'; }

}  // namespace kordon::host

#endif  // KORDON_HOST_TOPIC_H_
