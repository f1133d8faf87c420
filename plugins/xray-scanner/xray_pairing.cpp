// xray_pairing.cpp — see xray_pairing.h.
#include "xray_pairing.h"

#include <set>
#include <string>
#include <utility>

namespace kordon::xray {
namespace {

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// The stem an image shares with its metadata by convention ("X.pgm" -> "X"): used only to
// keep an image from being called an orphan while its metadata waits to settle.
std::string ImageStem(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

}  // namespace

std::string MetadataStem(const std::string& name) {
  const std::string_view suffix = kMetadataSuffix;
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return "";
  return name.substr(0, name.size() - suffix.size());
}

PairTracker::PairTracker(PairOptions options, MetadataReader reader, ProcessedCheck processed)
    : options_(options), reader_(std::move(reader)), processed_(std::move(processed)) {}

void PairTracker::HandOut(const PairAction& action) {
  for (const std::string* name : {&action.metadata_file, &action.image_file, &action.file}) {
    if (name->empty()) continue;
    const auto seen = files_.find(*name);
    if (seen != files_.end())
      handed_out_[*name] = {seen->second.inode, seen->second.size, seen->second.mtime_ns};
    files_.erase(*name);
    parsed_.erase(*name);
  }
}

void PairTracker::Release(const PairAction& action) {
  for (const std::string* name : {&action.metadata_file, &action.image_file, &action.file})
    handed_out_.erase(*name);
}

std::optional<PairAction> PairTracker::CheckMetadata(const std::string& name, const Seen& seen,
                                                     Clock::time_point now) {
  PairAction reject;
  reject.kind = PairAction::Kind::kReject;
  reject.file = name;
  reject.metadata_file = name;
  const std::string stem = MetadataStem(name);
  if (!IsValidScanId(stem)) {
    reject.reason = "metadata file name '" + name +
                    "' is not <scan-id>.json (scan-id: 1..64 of A-Z a-z 0-9 . _ -)";
    return reject;
  }
  reject.scan_id = stem;
  if (seen.kind == FileKind::kSymlink) {
    reject.reason = "metadata '" + name + "' is a symbolic link (refused)";
    return reject;
  }
  if (seen.kind != FileKind::kRegular) {
    reject.reason = "metadata '" + name + "' is not a regular file";
    return reject;
  }
  if (seen.size > kMaxMetadataBytes) {
    reject.reason = "metadata '" + name + "' has " + std::to_string(seen.size) +
                    " bytes, more than the limit of " + std::to_string(kMaxMetadataBytes);
    return reject;
  }
  if (now - seen.last_change < options_.settle) return std::nullopt;

  auto parsed = parsed_.find(name);
  if (parsed == parsed_.end()) {
    MetadataText text = reader_(name);
    if (text.gone) {
      files_.erase(name);
      return std::nullopt;
    }
    if (!text.text) {
      reject.reason = "cannot read metadata '" + name + "': " + text.error;
      return reject;
    }
    ParseResult result = ParseMetadata(*text.text, stem, options_.max_image_bytes);
    if (!result.ok()) {
      reject.reason = "metadata '" + name + "': " + result.error;
      if (!result.image_file.empty() && files_.count(result.image_file) &&
          result.image_file != name)
        reject.image_file = result.image_file;  // moved along with its metadata
      return reject;
    }
    parsed = parsed_.emplace(name, std::move(result)).first;
  }
  const Metadata& m = *parsed->second.metadata;
  const bool timed_out = now - seen.first_seen >= options_.pair_timeout;
  const auto image = files_.find(m.image.file);
  if (image == files_.end()) {
    if (!handed_out_.count(m.image.file) && processed_(m.image.file)) {
      PairAction recover;
      recover.kind = PairAction::Kind::kRecover;
      recover.scan_id = m.scan_id;
      recover.file = name;
      recover.metadata_file = name;
      recover.metadata = m;
      return recover;
    }
    if (!timed_out) return std::nullopt;
    reject.reason = "image '" + m.image.file + "' did not arrive within " +
                    Ms(options_.pair_timeout);
    return reject;
  }
  reject.image_file = m.image.file;
  const Seen& img = image->second;
  if (img.kind == FileKind::kSymlink) {
    reject.reason = "image '" + m.image.file + "' is a symbolic link (refused)";
    return reject;
  }
  if (img.kind != FileKind::kRegular) {
    reject.reason = "image '" + m.image.file + "' is not a regular file";
    return reject;
  }
  const bool settled = now - img.last_change >= options_.settle;
  if (img.size == m.image.bytes && settled) {
    PairAction publish;
    publish.kind = PairAction::Kind::kPublish;
    publish.scan_id = m.scan_id;
    publish.file = name;
    publish.metadata_file = name;
    publish.image_file = m.image.file;
    publish.metadata = m;
    return publish;
  }
  // A bigger file cannot shrink into shape once it has settled.
  if (img.size > m.image.bytes && settled) {
    reject.reason = "image '" + m.image.file + "' has " + std::to_string(img.size) +
                    " bytes, the metadata says " + std::to_string(m.image.bytes);
    return reject;
  }
  if (!timed_out) return std::nullopt;
  reject.reason = settled ? "image '" + m.image.file + "' has " + std::to_string(img.size) +
                                " bytes, the metadata says " + std::to_string(m.image.bytes)
                          : "image '" + m.image.file + "' was still being written after " +
                                Ms(options_.pair_timeout);
  return reject;
}

std::vector<PairAction> PairTracker::Update(const std::vector<FileEntry>& listing,
                                            Clock::time_point now) {
  // The names present now; handed-out files leave the set once they are gone.
  std::set<std::string> present;
  for (const FileEntry& e : listing) {
    if (e.kind == FileKind::kDirectory || IsTemporaryName(e.name)) continue;
    present.insert(e.name);
    if (const auto out = handed_out_.find(e.name); out != handed_out_.end()) {
      if (out->second == Identity{e.inode, e.size, e.mtime_ns}) continue;
      handed_out_.erase(out);  // a new file under the name of one handed out
    }
    auto [it, inserted] =
        files_.try_emplace(e.name, Seen{e.kind, e.size, e.mtime_ns, e.inode, now, now});
    Seen& s = it->second;
    if (!inserted && (s.kind != e.kind || s.size != e.size || s.mtime_ns != e.mtime_ns ||
                      s.inode != e.inode)) {
      s.kind = e.kind;
      s.size = e.size;
      s.mtime_ns = e.mtime_ns;
      s.inode = e.inode;
      s.last_change = now;
      parsed_.erase(e.name);  // metadata rewritten in place: read it again
    }
  }
  std::erase_if(handed_out_, [&](const auto& kv) { return !present.count(kv.first); });
  std::erase_if(files_, [&](const auto& kv) { return !present.count(kv.first); });
  std::erase_if(parsed_, [&](const auto& kv) { return !present.count(kv.first); });

  std::vector<PairAction> actions;
  // Metadata first: it decides which images are taken.
  std::vector<std::string> metadata_names;
  for (const auto& [name, seen] : files_)
    if (name.ends_with(kMetadataSuffix)) metadata_names.push_back(name);
  for (const std::string& name : metadata_names) {
    const auto it = files_.find(name);
    if (it == files_.end()) continue;  // handed out with an earlier action
    if (auto action = CheckMetadata(name, it->second, now)) {
      HandOut(*action);
      actions.push_back(std::move(*action));
    }
  }
  // Images nobody claims.
  std::set<std::string> claimed;
  for (const auto& [name, result] : parsed_) claimed.insert(result.metadata->image.file);
  std::vector<std::string> orphans;
  for (const auto& [name, seen] : files_) {
    if (name.ends_with(kMetadataSuffix) || claimed.count(name)) continue;
    if (files_.count(ImageStem(name) + kMetadataSuffix)) continue;  // its metadata settles
    if (now - seen.first_seen >= options_.pair_timeout) orphans.push_back(name);
  }
  for (const std::string& name : orphans) {
    PairAction reject;
    reject.kind = PairAction::Kind::kReject;
    reject.file = name;
    reject.image_file = name;
    reject.reason = "file '" + name + "' has had no metadata for " + Ms(options_.pair_timeout) +
                    " (orphan image)";
    HandOut(reject);
    actions.push_back(std::move(reject));
  }
  return actions;
}

}  // namespace kordon::xray
