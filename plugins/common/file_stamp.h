// file_stamp.h — has a file changed since we last read it? Hot reload of profiles and site
// procedures polls with this: a file is "the same" while its device, inode, size and
// modification time (nanoseconds) are. Take the stamp *before* reading the file, so that a
// write racing the read shows up as a change at the next poll. Header-only, POSIX.
//
// Thread safety: a FileStamp is a value; use one from one thread.
#ifndef KORDON_PLUGINS_COMMON_FILE_STAMP_H_
#define KORDON_PLUGINS_COMMON_FILE_STAMP_H_

#include <sys/stat.h>

#include <string>

namespace kordon {

class FileStamp {
 public:
  // The stamp of path now; exists() is false when it cannot be stat'ed.
  static FileStamp Of(const std::string& path) {
    FileStamp s;
    s.exists_ = ::stat(path.c_str(), &s.st_) == 0;
    return s;
  }

  bool exists() const { return exists_; }

  friend bool operator==(const FileStamp& a, const FileStamp& b) {
    if (a.exists_ != b.exists_) return false;
    if (!a.exists_) return true;
    return a.st_.st_ino == b.st_.st_ino && a.st_.st_dev == b.st_.st_dev &&
           a.st_.st_size == b.st_.st_size && a.st_.st_mtim.tv_sec == b.st_.st_mtim.tv_sec &&
           a.st_.st_mtim.tv_nsec == b.st_.st_mtim.tv_nsec;
  }

 private:
  bool exists_ = false;
  struct stat st_ {};
};

}  // namespace kordon

#endif  // KORDON_PLUGINS_COMMON_FILE_STAMP_H_
