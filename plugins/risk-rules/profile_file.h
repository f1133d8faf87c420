// profile_file.h — a profile file in force and its hot reload: the file is re-read when it
// changes (inode, size or modification time), and a broken edit leaves the previous profile in
// force and is reported once (until the file changes again).
//
// No SDK types. Thread safety: use one ProfileFile from one thread; the profile it hands out
// is immutable and may be shared.
#ifndef KORDON_PLUGINS_RISK_RULES_PROFILE_FILE_H_
#define KORDON_PLUGINS_RISK_RULES_PROFILE_FILE_H_

#include <memory>
#include <string>

#include "facts.h"
#include "file_stamp.h"
#include "profile.h"

namespace kordon::risk {

class ProfileFile {
 public:
  enum class Change { kNone, kReloaded, kFailed };

  explicit ProfileFile(std::string path) : path_(std::move(path)) {}

  // Reads the file (first load or forced); false and *error ("FILE:LINE: ...") when it is
  // unreadable or broken, and then what was in force stays.
  bool Load(std::string* error);

  // Reloads when the file changed since the last attempt (or always when `force`).
  // kFailed sets *error; a missing file is not a change (editors replace files by rename),
  // except when forced.
  Change Poll(bool force, std::string* error);

  bool loaded() const { return profile_ != nullptr; }
  const std::shared_ptr<const Profile>& profile() const { return profile_; }
  const FactOptions& options() const { return options_; }
  const std::string& path() const { return path_; }
  // "'demo-site' version 2026-11-28.1 (config/risk-profile.ini, 12 criteria)"
  std::string Describe() const;
  // BLAKE2b-256 (hex) of the file's bytes, read just before the profile was parsed from it
  // (for risk.profile.loaded and the audit log); "" before the first load.
  const std::string& content_hash() const { return content_hash_; }

 private:
  std::string path_;
  std::shared_ptr<const Profile> profile_;
  FactOptions options_;
  FileStamp seen_;  // of the last attempt, good or bad
  std::string content_hash_;
};

}  // namespace kordon::risk

#endif  // KORDON_PLUGINS_RISK_RULES_PROFILE_FILE_H_
