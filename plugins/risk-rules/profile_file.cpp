// profile_file.cpp — see profile_file.h.
#include "profile_file.h"

#include <sodium.h>

#include <fstream>
#include <iterator>
#include <utility>

namespace kordon::risk {

bool ProfileFile::Load(std::string* error) {
  seen_ = FileStamp::Of(path_);  // before reading: a write racing the read is seen next poll
  std::string hash;
  {
    std::ifstream in(path_, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    uint8_t h[32];
    char hex[65];
    if (sodium_init() >= 0 &&
        crypto_generichash(h, sizeof(h), reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size(), nullptr, 0) == 0)
      hash = sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
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
  content_hash_ = std::move(hash);
  return true;
}

ProfileFile::Change ProfileFile::Poll(bool force, std::string* error) {
  const FileStamp now = FileStamp::Of(path_);
  if (!now.exists()) {
    if (!force) return Change::kNone;
    *error = path_ + ": cannot be read";
    return Change::kFailed;
  }
  if (!force && now == seen_) return Change::kNone;
  return Load(error) ? Change::kReloaded : Change::kFailed;
}

std::string ProfileFile::Describe() const {
  if (!profile_) return "no profile (" + path_ + ")";
  return "'" + profile_->id + "' version " + profile_->version + " (" + path_ + ", " +
         std::to_string(profile_->criteria.size()) + " criteria)";
}

}  // namespace kordon::risk
