// xray_pairing.h — decides, from successive listings of the spool directory, when a scan's
// metadata and image form a complete pair, and when a file is to be rejected: metadata that
// is invalid, too large, a symbolic link or not a regular file; an image that does not arrive,
// has the wrong size or keeps changing past the pair timeout; an image without metadata.
// No file system access of its own: the caller lists the directory, reads metadata through a
// callback and carries out the actions (hash, publish, move). The clock is passed in.
//
// Thread safety: none; one thread owns a PairTracker (the plugin's watcher thread).
#ifndef KORDON_PLUGINS_XRAY_SCANNER_XRAY_PAIRING_H_
#define KORDON_PLUGINS_XRAY_SCANNER_XRAY_PAIRING_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xray_metadata.h"

namespace kordon::xray {

enum class FileKind { kRegular, kSymlink, kDirectory, kOther };

// One entry of a directory listing (lstat: a symbolic link is reported as such).
struct FileEntry {
  std::string name;
  FileKind kind = FileKind::kRegular;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;  // with mtime and size: tells a new file under an old name apart
};

struct PairOptions {
  std::chrono::milliseconds settle{500};         // a file unchanged this long is complete
  std::chrono::milliseconds pair_timeout{30000};  // longest wait for the other half
  uint64_t max_image_bytes = uint64_t{2} << 30;
};

// What the metadata reader gives back: the text, or an error; `gone` when the file vanished
// (it is then simply forgotten).
struct MetadataText {
  std::optional<std::string> text;
  std::string error;
  bool gone = false;
};

struct PairAction {
  enum class Kind {
    kPublish,     // a complete pair: hash, publish, move to processed
    kReject,      // move the files named to rejected, publish scanner.xray.rejected
    // The image is already in processed/ and its metadata still in the spool: the plugin
    // stopped between moving the image and moving the metadata (publishing in between).
    // Hash it there, publish (again: at-least-once), move the metadata.
    kRecover,
  };
  Kind kind = Kind::kReject;
  std::optional<std::string> scan_id;  // unknown for an orphan image or unreadable metadata
  std::string file;                    // the file the event is about (metadata, or the orphan)
  std::string metadata_file;           // "" for an orphan image
  std::string image_file;              // "" when unknown or not present
  std::optional<Metadata> metadata;    // kPublish, kRecover
  std::string reason;                  // kReject
};

class PairTracker {
 public:
  using Clock = std::chrono::steady_clock;
  using MetadataReader = std::function<MetadataText(const std::string& name)>;
  // True when `image` is already in the processed directory.
  using ProcessedCheck = std::function<bool(const std::string& image)>;

  PairTracker(PairOptions options, MetadataReader reader, ProcessedCheck processed);

  // Takes the full listing of the spool directory (directories, temporary names and files
  // handed out in an earlier action are skipped) at time `now`; returns what to do, in name
  // order. Every file named in an action is handed out: ignored from then on while it stays
  // in the directory — the same file (inode, size, mtime); a new file under that name is new.
  std::vector<PairAction> Update(const std::vector<FileEntry>& listing, Clock::time_point now);

  // The caller could not carry out `action` (e.g. the publish failed): its files are taken
  // back and treated as new at the next Update (settle and timeouts start again).
  void Release(const PairAction& action);

  // True while some file waits (for settle, for its other half or for a timeout).
  bool HasPending() const { return !files_.empty(); }

 private:
  struct Seen {
    FileKind kind;
    uint64_t size;
    int64_t mtime_ns;
    uint64_t inode;
    Clock::time_point first_seen;
    Clock::time_point last_change;
  };
  struct Identity {
    uint64_t inode, size;
    int64_t mtime_ns;
    bool operator==(const Identity&) const = default;
  };

  std::optional<PairAction> CheckMetadata(const std::string& name, const Seen& seen,
                                          Clock::time_point now);
  void HandOut(const PairAction& action);

  const PairOptions options_;
  const MetadataReader reader_;
  const ProcessedCheck processed_;
  std::map<std::string, Seen> files_;
  std::map<std::string, ParseResult> parsed_;  // valid metadata, by file name
  std::map<std::string, Identity> handed_out_;
};

// "<stem>" of "<stem>.json"; "" when `name` is not a metadata file name.
std::string MetadataStem(const std::string& name);

}  // namespace kordon::xray

#endif  // KORDON_PLUGINS_XRAY_SCANNER_XRAY_PAIRING_H_
