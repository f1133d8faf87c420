// mrz_grouper.h — groups the lines a document reader sends into MRZ documents.
//
// A reader sends one MRZ line at a time. The grouper tells the documents apart by line length
// alone: 30 characters start a TD1 (3 lines), 36 a TD2 / MRV-B and 44 a TD3 / MRV-A (2 lines
// each). A group that cannot be completed — a line of another length arrives, no further line
// comes within the timeout, or the caller flushes it (link lost) — is handed back as
// incomplete. A line of a length no format has is handed back on its own as a document, so
// that the parser rejects it with its own reason. Time is passed in, so the grouper is tested
// without sockets or sleeps. See README.md ("Framing").
//
// Thread safety: a plain value; one thread at a time (the plugin guards it with a mutex).
#ifndef KORDON_PLUGINS_MRZ_READER_MRZ_GROUPER_H_
#define KORDON_PLUGINS_MRZ_READER_MRZ_GROUPER_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::mrz {

inline constexpr char kIncompleteReason[] = "incomplete MRZ";

struct LineGroup {
  enum class Kind {
    kDocument,    // complete (or a lone line of no known length): parse it
    kIncomplete,  // discarded: publish a rejection with kIncompleteReason
  };
  Kind kind = Kind::kDocument;
  std::vector<std::string> lines;
  std::string detail;  // kIncomplete: what was missing and why it was given up, in words

  // The lines joined with "\n" (the text the parser takes).
  std::string Text() const;
};

class LineGrouper {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: timeout > 0.
  explicit LineGrouper(std::chrono::milliseconds timeout);

  // Feeds one line received at `now`. CR and LF at either end and trailing spaces are
  // removed; a line empty after that is ignored. Returns, in order, what the line ends: an
  // incomplete group (expired, or interrupted by a line of another length) and/or a group
  // the line completes (or the line alone when its length fits no format).
  std::vector<LineGroup> Feed(std::string_view line, Clock::time_point now);

  // The pending group as incomplete when no line came within the timeout before `now`.
  std::optional<LineGroup> Expire(Clock::time_point now);

  // The pending group (if any) as incomplete, e.g. when the link drops; `why` ends its detail.
  std::optional<LineGroup> Flush(std::string_view why);

  bool pending() const { return !lines_.empty(); }
  // When the pending group expires; nullopt when nothing is pending.
  std::optional<Clock::time_point> deadline() const;

  // Lines a document of lines `width` characters wide has; 0 for a width no format has.
  static size_t LinesForWidth(size_t width);

 private:
  LineGroup TakeIncomplete(std::string_view why);

  std::chrono::milliseconds timeout_;
  std::vector<std::string> lines_;  // the pending group
  size_t width_ = 0;                // its line length
  size_t needed_ = 0;               // its line count when complete
  Clock::time_point last_{};        // when its last line arrived
};

}  // namespace kordon::mrz

#endif  // KORDON_PLUGINS_MRZ_READER_MRZ_GROUPER_H_
