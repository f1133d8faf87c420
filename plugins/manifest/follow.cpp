// follow.cpp — see follow.h.
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace kordon::manifest {

Follower::Follower(std::string path, size_t max_line_bytes, size_t max_bytes_per_poll)
    : path_(std::move(path)), max_line_bytes_(max_line_bytes),
      max_bytes_per_poll_(max_bytes_per_poll) {}

Follower::~Follower() { Close(); }

void Follower::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  offset_ = 0;
  line_ = 0;
  partial_.clear();
  skipping_ = false;
}

void Follower::Read(FollowPoll* r) {
  char buffer[64 * 1024];
  size_t budget = max_bytes_per_poll_;
  while (budget > 0) {
    const ssize_t n = ::pread(fd_, buffer, std::min(sizeof buffer, budget),
                              static_cast<off_t>(offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      r->error = "cannot read " + path_ + ": " + std::strerror(errno);
      return;
    }
    if (n == 0) return;
    offset_ += static_cast<uint64_t>(n);
    budget -= static_cast<size_t>(n);
    const char* p = buffer;
    const char* end = buffer + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      const char* stop = nl ? nl : end;
      if (!skipping_) {
        partial_.append(p, stop);
        if (partial_.size() > max_line_bytes_) {
          // Report the line once, on its first bytes past the limit; drop the rest of it.
          ++line_;
          r->lines.push_back({line_, std::string(), true});
          partial_.clear();
          skipping_ = true;
        }
      }
      if (nl) {
        if (!skipping_) {
          ++line_;
          if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
          r->lines.push_back({line_, std::move(partial_), false});
        }
        partial_.clear();
        skipping_ = false;
      }
      p = nl ? nl + 1 : end;
    }
  }
}

FollowPoll Follower::Poll() {
  FollowPoll r;
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      if (existed_) {
        r.vanished = true;
        if (fd_ >= 0) Read(&r);  // what was appended before the removal
      }
      existed_ = false;
      Close();
    } else {
      r.error = "cannot stat " + path_ + ": " + std::strerror(errno);
    }
    return r;
  }
  if (!existed_) r.appeared = true;
  existed_ = true;
  if (fd_ >= 0 && (st.st_dev != dev_ || st.st_ino != ino_)) {
    // Another file under the name (rotation, an atomic rename): finish the old one (what was
    // appended to it since the last poll), then start the new one from its beginning.
    Read(&r);
    Close();
    r.replaced = true;
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      r.error = "cannot open " + path_ + ": " + std::strerror(errno);
      return r;
    }
    struct stat opened;
    if (::fstat(fd_, &opened) != 0) {
      r.error = "cannot stat " + path_ + ": " + std::strerror(errno);
      Close();
      return r;
    }
    dev_ = opened.st_dev;
    ino_ = opened.st_ino;
    st = opened;
  }
  if (static_cast<uint64_t>(st.st_size) < offset_) {
    // Truncated in place (`> file`): what is there now is new.
    offset_ = 0;
    line_ = 0;
    partial_.clear();
    skipping_ = false;
    r.truncated = true;
  }
  Read(&r);
  return r;
}

}  // namespace kordon::manifest
