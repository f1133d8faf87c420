// mrz_grouper.cpp — see mrz_grouper.h.

#include "mrz_grouper.h"

#include <string>
#include <utility>

namespace kordon::mrz {

std::string LineGroup::Text() const {
  std::string text;
  for (const std::string& line : lines) {
    if (!text.empty()) text += '\n';
    text += line;
  }
  return text;
}

LineGrouper::LineGrouper(std::chrono::milliseconds timeout) : timeout_(timeout) {}

size_t LineGrouper::LinesForWidth(size_t width) {
  switch (width) {
    case 30: return 3;
    case 36:
    case 44: return 2;
    default: return 0;
  }
}

std::optional<LineGrouper::Clock::time_point> LineGrouper::deadline() const {
  if (lines_.empty()) return std::nullopt;
  return last_ + timeout_;
}

LineGroup LineGrouper::TakeIncomplete(std::string_view why) {
  LineGroup group;
  group.kind = LineGroup::Kind::kIncomplete;
  group.detail = std::to_string(lines_.size()) + " of " + std::to_string(needed_) +
                 " lines of " + std::to_string(width_) + " characters, then " + std::string(why);
  group.lines = std::move(lines_);
  lines_.clear();
  width_ = 0;
  needed_ = 0;
  return group;
}

std::optional<LineGroup> LineGrouper::Expire(Clock::time_point now) {
  if (lines_.empty() || now < last_ + timeout_) return std::nullopt;
  return TakeIncomplete("no further line within " + std::to_string(timeout_.count()) + " ms");
}

std::optional<LineGroup> LineGrouper::Flush(std::string_view why) {
  if (lines_.empty()) return std::nullopt;
  return TakeIncomplete(why);
}

std::vector<LineGroup> LineGrouper::Feed(std::string_view line, Clock::time_point now) {
  while (!line.empty() && (line.front() == '\r' || line.front() == '\n')) line.remove_prefix(1);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
    line.remove_suffix(1);
  std::vector<LineGroup> out;
  if (line.empty()) return out;

  if (auto expired = Expire(now)) out.push_back(std::move(*expired));
  const size_t needed = LinesForWidth(line.size());
  if (!lines_.empty() && line.size() != width_) {
    out.push_back(
        TakeIncomplete("a line of " + std::to_string(line.size()) + " characters"));
  }
  if (needed == 0) {
    LineGroup lone;
    lone.lines.emplace_back(line);
    out.push_back(std::move(lone));
    return out;
  }
  if (lines_.empty()) {
    width_ = line.size();
    needed_ = needed;
  }
  lines_.emplace_back(line);
  last_ = now;
  if (lines_.size() == needed_) {
    LineGroup done;
    done.lines = std::move(lines_);
    lines_.clear();
    width_ = 0;
    needed_ = 0;
    out.push_back(std::move(done));
  }
  return out;
}

}  // namespace kordon::mrz
