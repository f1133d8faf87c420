// follow.h — tails a file that another program appends lines to (the pre-arrival system's
// JSON Lines file), the way `tail -F` does: it may not exist yet, it may be truncated (read
// again from the start) or replaced by a new file (another inode: read the new one from the
// start). Only complete lines are returned; a partial last line waits for its newline.
//
// Polled (the plugin calls Poll on a timer), so that it needs no thread and works on every
// file system; the cost is one stat() per poll when nothing changed.
//
// Thread safety: one Follower is used from one thread.
#ifndef KORDON_PLUGINS_MANIFEST_FOLLOW_H_
#define KORDON_PLUGINS_MANIFEST_FOLLOW_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kordon::manifest {

struct FollowedLine {
  size_t line = 0;   // 1-based within the current file (restarts after truncation/replacement)
  std::string text;  // without the newline (and without a CR before it)
  bool too_long = false;  // longer than max_line_bytes: text is empty, the line is skipped
};

struct FollowPoll {
  std::vector<FollowedLine> lines;
  bool appeared = false;   // the file exists now and did not at the last poll
  bool truncated = false;  // shorter than what was read: read again from the start
  bool replaced = false;   // another file under the name: read from the start
  bool vanished = false;   // the file is gone (the lines read so far stay read)
  std::string error;       // the file exists but cannot be opened or read
};

class Follower {
 public:
  // Reads at most `max_bytes_per_poll` per Poll, so that a large backlog does not hold the
  // caller's thread; the rest comes on the next polls.
  explicit Follower(std::string path, size_t max_line_bytes = size_t{1} << 20,
                    size_t max_bytes_per_poll = size_t{4} << 20);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  FollowPoll Poll();

  const std::string& path() const { return path_; }
  uint64_t offset() const { return offset_; }
  // Bytes read that are not yet a complete line.
  size_t pending_bytes() const { return partial_.size(); }

 private:
  void Close();
  // Reads what the open file holds past offset_ (up to the per-poll budget) into r->lines.
  void Read(FollowPoll* r);

  std::string path_;
  size_t max_line_bytes_;
  size_t max_bytes_per_poll_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  uint64_t offset_ = 0;  // bytes of the current file consumed (complete lines + partial_)
  size_t line_ = 0;
  std::string partial_;
  bool skipping_ = false;  // inside a line that is too long: drop bytes up to its newline
  bool existed_ = false;
};

}  // namespace kordon::manifest

#endif  // KORDON_PLUGINS_MANIFEST_FOLLOW_H_
