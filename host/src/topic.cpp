#include "topic.h"

#include <fmt/format.h>

namespace kordon::host {
namespace {

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u >= 0x80)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  if (s.size() > 80) out += "...";
  return out;
}

}  // namespace

Status ValidateTopic(std::string_view topic) {
  if (topic.empty()) return Status::InvalidArgument("topic is empty");
  if (topic.size() > kMaxTopicBytes)
    return Status::InvalidArgument(
        fmt::format("topic is {} bytes, more than the limit of {}", topic.size(), kMaxTopicBytes));
  if (topic.front() == '$')
    return Status::InvalidArgument(
        fmt::format("topic '{}' begins with '$', which is reserved for the host", Printable(topic)));
  size_t segment_start = 0;
  for (size_t i = 0; i <= topic.size(); ++i) {
    if (i == topic.size() || topic[i] == '.') {
      if (i == segment_start)
        return Status::InvalidArgument(
            fmt::format("topic '{}' has an empty segment at byte {}", Printable(topic), i));
      segment_start = i + 1;
      continue;
    }
    if (!IsSegmentChar(topic[i]))
      return Status::InvalidArgument(fmt::format(
          "topic '{}' has a character not allowed at byte {} (segments use a-z 0-9 _ -)",
          Printable(topic), i));
  }
  return Status::Ok();
}

Status ValidateTopicPrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  return ValidateTopic(prefix);
}

bool TopicMatches(std::string_view prefix, std::string_view topic) {
  if (prefix.empty()) return true;
  if (topic.size() < prefix.size() || topic.compare(0, prefix.size(), prefix) != 0) return false;
  return topic.size() == prefix.size() || topic[prefix.size()] == '.';
}

}  // namespace kordon::host
