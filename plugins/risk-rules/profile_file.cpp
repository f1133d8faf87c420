// profile_file.cpp — see profile_file.h.
#include "profile_file.h"

#include <utility>

namespace kordon::risk {

namespace {

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

bool ProfileFile::Load(std::string* error) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    seen_ = st;
    seen_valid_ = true;
  }
  ProfileResult r = LoadProfile(path_, &BuiltinCatalog());
  if (!r.ok()) {
    *error = r.error;
    return false;
  }
  FactOptions options;
  if (!FactOptionsFromProfile(*r.profile, &options, error)) return false;
  profile_ = std::move(r.profile);
  options_ = std::move(options);
  return true;
}

ProfileFile::Change ProfileFile::Poll(bool force, std::string* error) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (!force) return Change::kNone;
    *error = path_ + ": cannot be read";
    return Change::kFailed;
  }
  if (!force && seen_valid_ && SameFile(st, seen_)) return Change::kNone;
  return Load(error) ? Change::kReloaded : Change::kFailed;
}

std::string ProfileFile::Describe() const {
  if (!profile_) return "no profile (" + path_ + ")";
  return "'" + profile_->id + "' version " + profile_->version + " (" + path_ + ", " +
         std::to_string(profile_->criteria.size()) + " criteria)";
}

}  // namespace kordon::risk
