// xray_scanner.cpp — the xray-scanner plugin: watches a cargo X-ray scanner's spool directory,
// pairs each scan's metadata (<scan-id>.json) with its image, hashes the image (SHA-256) and
// publishes scanner.xray.scan with a reference to the image (never its pixels); bad pairs go
// to rejected/ with a reason file and a scanner.xray.rejected event. See README.md.
//
// Threading: the constructor, Start and Stop run on the instance's thread. Everything else —
// the directory, inotify, the PairTracker, hashing, moving, publishing — happens on the
// plugin's own watcher thread, which owns all of that state; Stop wakes it through an eventfd
// (and a flag checked between hash chunks) and joins it. Host::Publish, Host logging and
// DeviceModel are thread-safe.

#include <kordon/plugin.hpp>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "device_link.h"
#include "device_model.h"
#include "device_plugin.h"
#include "plugin_settings.h"
#include "xray_hash.h"
#include "xray_metadata.h"
#include "xray_pairing.h"

namespace {

using Clock = std::chrono::steady_clock;
using kordon::device::DeviceState;
using kordon::xray::FileEntry;
using kordon::xray::FileKind;
using kordon::xray::PairAction;

constexpr char kDeviceKind[] = "xray-scanner";
constexpr int64_t kDefaultSettleMs = 500;
constexpr int64_t kDefaultPairTimeoutMs = 30000;
constexpr int64_t kDefaultRescanMs = 5000;
constexpr int64_t kDefaultMaxImageBytes = int64_t{2} << 30;
constexpr auto kInitialBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

std::string Errno() { return std::strerror(errno); }

using kordon::settings::IntInRange;

std::string DirSetting(const kordon::Host& h, const std::string& key, std::string fallback) {
  std::string v = h.ConfigOr(key, std::move(fallback));
  if (v.empty() || v.front() != '/')
    throw std::invalid_argument("setting '" + key + "' must be an absolute path, got '" + v +
                                "'");
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  return v;
}

// Closes a descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

class XrayScanner : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit XrayScanner(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    if (!h.Config("spool")) throw std::invalid_argument("setting 'spool' is required");
    spool_ = DirSetting(h, "spool", "");
    processed_dir_ = DirSetting(h, "processed_dir", spool_ + "/processed");
    rejected_dir_ = DirSetting(h, "rejected_dir", spool_ + "/rejected");
    if (processed_dir_ == spool_ || rejected_dir_ == spool_ || processed_dir_ == rejected_dir_)
      throw std::invalid_argument(
          "settings 'spool', 'processed_dir' and 'rejected_dir' must be three different "
          "directories");
    options_.settle = std::chrono::milliseconds(
        IntInRange(h, "settle_ms", kDefaultSettleMs, 0, 600000));
    options_.pair_timeout = std::chrono::milliseconds(
        IntInRange(h, "pair_timeout_ms", kDefaultPairTimeoutMs, 100, 86400000));
    if (options_.pair_timeout <= options_.settle)
      throw std::invalid_argument("setting 'pair_timeout_ms' must be longer than settle_ms");
    rescan_ = std::chrono::milliseconds(
        IntInRange(h, "rescan_interval_ms", kDefaultRescanMs, 50, 3600000));
    options_.max_image_bytes = static_cast<uint64_t>(
        IntInRange(h, "max_image_bytes", kDefaultMaxImageBytes, 1, int64_t{1} << 40));
    scanner_ = h.ConfigOr("scanner", h.instance_name());
    if (scanner_.empty()) throw std::invalid_argument("setting 'scanner' must not be empty");
    model_ = kordon::device::MakeDeviceModel(*this, kDeviceKind, spool_);
  }

  ~XrayScanner() override { StopThread(); }

  kordon::Status Start() override {
    if (thread_.joinable()) return kordon::Status::Ok();
    wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wake_.get() < 0) return kordon::Status::Failed("cannot create an eventfd: " + Errno());
    stopping_ = false;
    try {
      thread_ = std::thread([this] {
        try {
          Run();
        } catch (const std::exception& e) {  // std::bad_alloc outside a scan: report, end
          model_->SetState(DeviceState::kError, std::string("watcher ended: ") + e.what());
          host().Error("spool " + spool_ + ": watcher ended: " + e.what());
        }
      });
    } catch (const std::system_error& e) {
      return kordon::Status::Failed(std::string("cannot start the watcher thread: ") + e.what());
    }
    host().Info("watching " + spool_ + " for scanner " + scanner_ + " (settle " +
                std::to_string(options_.settle.count()) + " ms, pair timeout " +
                std::to_string(options_.pair_timeout.count()) + " ms, rescan every " +
                std::to_string(rescan_.count()) + " ms)");
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (!thread_.joinable()) return kordon::Status::Ok();
    StopThread();
    model_->SetState(DeviceState::kClosed, "stopped");
    host().Info("scanner " + scanner_ + ": " + model_->Health().summary + ", " +
                std::to_string(published_.load()) + " scans published, " +
                std::to_string(rejected_.load()) + " rejected");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == kordon::device::kStatusRequestTopic)  // the health check
      model_->AnswerStatusRequest(m.body());
    return kordon::Status::Ok();
  }

 private:
  void StopThread() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    const uint64_t one = 1;
    if (::write(wake_.get(), &one, sizeof one) < 0) { /* the flag is enough within a tick */ }
    thread_.join();
    wake_.Reset();
  }

  // --- Watcher thread ------------------------------------------------------------------------

  // Waits up to `delay` (or for inotify activity on `inotify_fd` when >= 0). Returns false
  // when stopping; *dir_gone says the directory itself went away.
  bool Wait(std::chrono::milliseconds delay, int inotify_fd, bool* activity, bool* dir_gone) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {inotify_fd, POLLIN, 0}};
    const int n = ::poll(fds, inotify_fd >= 0 ? 2 : 1, static_cast<int>(delay.count()));
    if (stopping_) return false;
    if (n > 0 && inotify_fd >= 0 && (fds[1].revents & POLLIN)) {
      *activity = true;
      alignas(inotify_event) char buf[4096];
      for (;;) {
        const ssize_t len = ::read(inotify_fd, buf, sizeof buf);
        if (len <= 0) break;
        for (ssize_t off = 0; off < len;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
          if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT))
            *dir_gone = true;
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
      }
    }
    return !stopping_;
  }

  void GoOffline(const std::string& reason) {
    if (model_->state() != DeviceState::kOffline) {
      model_->CountError();
      host().Warn("spool " + spool_ + ": " + reason);
    }
    model_->SetState(DeviceState::kOffline, reason);
  }

  // Makes `dir` if it is missing (one level: its parent must exist) and checks that it is on
  // the spool's file system: pairs are moved with rename(2), which cannot cross one.
  bool EnsureDir(const std::string& dir, dev_t spool_dev, std::string* error) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        *error = "cannot create " + dir + ": " + Errno();
        return false;
      }
      if (::stat(dir.c_str(), &st) != 0) {
        *error = "cannot stat " + dir + ": " + Errno();
        return false;
      }
    }
    if (!S_ISDIR(st.st_mode)) {
      *error = dir + " exists and is not a directory";
      return false;
    }
    if (st.st_dev != spool_dev) {
      *error = dir + " is not on the file system of the spool " + spool_ +
               " (files are moved with rename)";
      return false;
    }
    return true;
  }

  void Run() {
    kordon::device::Backoff backoff(kInitialBackoff, kMaxBackoff, 0.2);
    bool watched_before = false;
    while (!stopping_) {
      std::string error;
      dir_.Reset(::open(spool_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      struct stat dir_stat {};
      if (dir_.get() < 0) {
        error = "cannot open the spool directory " + spool_ + ": " + Errno();
      } else if (::fstat(dir_.get(), &dir_stat) != 0) {
        error = "cannot stat " + spool_ + ": " + Errno();
      } else if (!EnsureDir(processed_dir_, dir_stat.st_dev, &error) ||
                 !EnsureDir(rejected_dir_, dir_stat.st_dev, &error)) {
        // error set
      }
      if (!error.empty()) {
        GoOffline(error);
        bool activity = false, gone = false;
        if (!Wait(backoff.Next(), -1, &activity, &gone)) break;
        continue;
      }
      backoff.Reset();
      Fd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
      if (inotify.get() < 0 ||
          ::inotify_add_watch(inotify.get(), spool_.c_str(),
                              IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                  IN_MOVE_SELF | IN_ONLYDIR) < 0) {
        // Rescans alone still find every scan, only later.
        host().Warn("spool " + spool_ + ": inotify unavailable (" + Errno() +
                    "); relying on the rescan every " + std::to_string(rescan_.count()) + " ms");
        inotify.Reset();
      }
      if (watched_before) model_->CountReconnect();
      watched_before = true;
      model_->SetState(DeviceState::kIdle, "watching " + spool_);
      tracker_ = std::make_unique<kordon::xray::PairTracker>(
          options_, [this](const std::string& name) { return ReadMetadata(name); },
          [this](const std::string& image) { return ExistsIn(processed_dir_, image); });
      try {
        Watch(inotify.get(), dir_stat);
      } catch (const std::exception& e) {
        // Nothing here is expected to throw but std::bad_alloc; an exception must not end
        // the host (std::terminate), so the watcher reports it and starts over.
        model_->CountError();
        model_->SetState(DeviceState::kError, std::string("watcher failed: ") + e.what());
        host().Error("spool " + spool_ + ": watcher failed: " + e.what() + "; restarting");
        bool activity = false, gone = false;
        if (!Wait(backoff.Next(), -1, &activity, &gone)) break;
      }
      tracker_.reset();
    }
    dir_.Reset();
  }

  // Scans on every inotify event, on every rescan interval, and often while a pair waits.
  // Returns when stopping or when the spool directory goes away.
  void Watch(int inotify_fd, const struct stat& dir_stat) {
    const auto tick = std::clamp(options_.settle / 5, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(100));
    for (;;) {
      std::string error;
      if (!StillSameDirectory(dir_stat, &error)) {
        GoOffline(error);
        return;
      }
      std::optional<std::vector<FileEntry>> listing = List(&error);
      if (!listing) {
        GoOffline(error);
        return;
      }
      for (PairAction& action : tracker_->Update(*listing, Clock::now())) {
        if (stopping_) return;
        Handle(action);
      }
      RetryMoves();
      const auto delay = tracker_->HasPending() || !pending_moves_.empty()
                             ? std::min(tick, rescan_)
                             : rescan_;
      bool activity = false, gone = false;
      if (!Wait(delay, inotify_fd, &activity, &gone)) return;
      if (gone) {
        GoOffline("the spool directory " + spool_ + " was removed or moved");
        return;
      }
    }
  }

  bool StillSameDirectory(const struct stat& dir_stat, std::string* error) {
    struct stat now {};
    if (::stat(spool_.c_str(), &now) != 0) {
      *error = "the spool directory " + spool_ + " is gone: " + Errno();
      return false;
    }
    if (now.st_dev != dir_stat.st_dev || now.st_ino != dir_stat.st_ino) {
      *error = "the spool directory " + spool_ + " was replaced";
      return false;
    }
    return true;
  }

  std::optional<std::vector<FileEntry>> List(std::string* error) {
    const int fd = ::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (d == nullptr) {
      *error = "cannot list the spool directory " + spool_ + ": " + Errno();
      if (fd >= 0) ::close(fd);
      return std::nullopt;
    }
    std::vector<FileEntry> out;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      FileEntry f;
      f.name = name;
      f.kind = S_ISREG(st.st_mode)   ? FileKind::kRegular
               : S_ISLNK(st.st_mode) ? FileKind::kSymlink
               : S_ISDIR(st.st_mode) ? FileKind::kDirectory
                                     : FileKind::kOther;
      f.size = static_cast<uint64_t>(st.st_size);
      f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      f.inode = static_cast<uint64_t>(st.st_ino);
      out.push_back(std::move(f));
      errno = 0;
    }
    const int read_errno = errno;
    ::closedir(d);
    if (read_errno != 0) {
      *error = "cannot list the spool directory " + spool_ + ": " + std::strerror(read_errno);
      return std::nullopt;
    }
    return out;
  }

  kordon::xray::MetadataText ReadMetadata(const std::string& name) {
    kordon::xray::MetadataText out;
    Fd fd(::openat(dir_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      out.gone = errno == ENOENT;
      out.error = errno == ELOOP ? "it is a symbolic link (refused)" : Errno();
      return out;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      out.error = "not a regular file";
      return out;
    }
    // Never more than the limit + 1 byte, whatever the file claims.
    std::string text(kordon::xray::kMaxMetadataBytes + 1, '\0');
    size_t used = 0;
    while (used < text.size()) {
      const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out.error = Errno();
        return out;
      }
      if (n == 0) break;
      used += static_cast<size_t>(n);
    }
    if (used > kordon::xray::kMaxMetadataBytes) {
      out.error = "larger than " + std::to_string(kordon::xray::kMaxMetadataBytes) + " bytes";
      return out;
    }
    text.resize(used);
    model_->CountLine(used);  // one metadata file read
    out.text = std::move(text);
    return out;
  }

  static bool ExistsIn(const std::string& dir, const std::string& name) {
    struct stat st {};
    return ::lstat((dir + "/" + name).c_str(), &st) == 0;
  }

  // Moves spool/name to dir/target_name without replacing anything there. With `suffix`
  // true a taken name gets ".1", ".2"... appended. Returns the final path or nullopt.
  std::optional<std::string> Move(const std::string& name, const std::string& dir,
                                  bool suffix, std::string* error) {
    for (int i = 0; i < 1000; ++i) {
      std::string target = dir + "/" + name;
      if (i > 0) target += "." + std::to_string(i);  // (one expression trips GCC 12's -Wrestrict)
      if (::renameat2(dir_.get(), name.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) ==
          0)
        return target;
      if (errno != EEXIST || !suffix) {
        *error = "cannot move " + spool_ + "/" + name + " to " + target + ": " + Errno();
        return std::nullopt;
      }
    }
    *error = "cannot move " + name + " to " + dir + ": too many files of that name";
    return std::nullopt;
  }

  void Handle(const PairAction& action) {
    switch (action.kind) {
      case PairAction::Kind::kPublish: Publish(action, false); break;
      case PairAction::Kind::kReject: Reject(action, action.reason); break;
      case PairAction::Kind::kRecover: Publish(action, true); break;
    }
  }

  void CountError(const std::string& text) {
    model_->CountError();
    host().Warn(text);
  }

  // Hash, move the image to processed/, publish, move the metadata. The image moves before
  // the publish so that the path in the body exists when a consumer reads it; a stop or a
  // crash anywhere in between leaves the metadata in the spool, and the next scan recovers
  // the pair (`recovering`: the image is already in processed/) and publishes it again.
  void Publish(const PairAction& action, bool recovering) {
    const kordon::xray::Metadata& m = *action.metadata;
    const std::string& image = m.image.file;
    for (const std::string* name : {&action.image_file, &action.metadata_file}) {
      if (!name->empty() && ExistsIn(processed_dir_, *name)) {
        Reject(action, "scan_id '" + m.scan_id + "' was already processed (" + processed_dir_ +
                           "/" + *name + " exists); a scanner must not reuse a scan id");
        return;
      }
    }
    Fd processed;
    int image_dir = dir_.get();
    if (recovering) {
      processed.Reset(::open(processed_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      image_dir = processed.get();
      host().Info("scan " + m.scan_id + ": its image is already in " + processed_dir_ +
                  " (stopped before the metadata moved); publishing it again");
    }
    model_->SetState(DeviceState::kBusy, "hashing " + image);
    std::string error;
    std::optional<kordon::xray::FileHash> hash = kordon::xray::HashFileAt(
        image_dir, image, options_.max_image_bytes, &stopping_, &error);
    model_->SetState(DeviceState::kIdle, "watching " + spool_);
    if (stopping_) return;  // left as it is: picked up again at the next start
    if (!hash) {
      Reject(action, "image '" + image + "': " + error);
      return;
    }
    model_->CountBytes(hash->bytes);
    if (hash->bytes != m.image.bytes) {
      if (recovering) {
        Reject(action, "image '" + image + "' in " + processed_dir_ + " has " +
                           std::to_string(hash->bytes) + " bytes, the metadata says " +
                           std::to_string(m.image.bytes));
        return;
      }
      // It changed after it had settled: watch it settle again.
      host().Warn("scan " + m.scan_id + ": image '" + image + "' changed (" +
                  std::to_string(hash->bytes) + " bytes, metadata says " +
                  std::to_string(m.image.bytes) + "); waiting for it to settle again");
      tracker_->Release(action);
      return;
    }
    if (m.image.sha256 && *m.image.sha256 != hash->sha256) {
      Reject(action, "image '" + image + "' has SHA-256 " + hash->sha256 +
                         ", the metadata says " + *m.image.sha256);
      return;
    }
    if (!recovering && !Move(image, processed_dir_, false, &error)) {
      // Not a fault of the scan (e.g. processed_dir on another file system): tried again.
      CountError("scan " + m.scan_id + " not published: " + error + "; will retry");
      tracker_->Release(action);
      return;
    }
    const std::string image_path = processed_dir_ + "/" + image;
    kordon::Status s = host().Publish(
        kordon::xray::kScanTopic, kordon::xray::ScanBody(m, scanner_, image_path, hash->sha256));
    if (!s.ok()) {
      // The metadata stays in the spool; the next scan recovers the pair and tries again.
      CountError("scan " + m.scan_id + " not published: " + s.ToString() + "; will retry");
      tracker_->Release(action);
      return;
    }
    model_->CountRead();
    ++published_;
    if (!Move(action.metadata_file, processed_dir_, false, &error)) {
      CountError("scan " + m.scan_id + " published but " + error + "; retrying");
      pending_moves_.push_back(action.metadata_file);
    }
  }

  // Files published but not yet moved: tried again on every scan. The tracker has handed
  // them out, so they are not published again meanwhile.
  void RetryMoves() {
    std::vector<std::string> still;
    for (const std::string& name : pending_moves_) {
      std::string error;
      struct stat st {};
      if (::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (!Move(name, processed_dir_, false, &error)) still.push_back(name);
    }
    pending_moves_ = std::move(still);
  }

  void Reject(const PairAction& action, const std::string& reason) {
    ++rejected_;
    const std::string id = action.scan_id.value_or("");
    CountError("rejected " + action.file + (id.empty() ? "" : " (scan " + id + ")") + ": " +
               reason);
    std::string moved;
    for (const std::string* name : {&action.metadata_file, &action.image_file}) {
      if (name->empty()) continue;
      std::string error;
      if (auto target = Move(*name, rejected_dir_, true, &error)) {
        moved += "moved " + *name + " to " + *target + "\n";
      } else {
        CountError("rejected " + action.file + ": " + error);
      }
    }
    // "<scan-id>.reason.txt", or "<file>.reason.txt" when the scan id is unknown.
    const std::string reason_name = id.empty() ? action.file : id;
    const std::string text = "file: " + action.file + "\nscan_id: " +
                             (id.empty() ? "(unknown)" : id) + "\nreason: " + reason + "\n" +
                             moved;
    std::string error;
    if (!WriteReason(reason_name, text, &error)) CountError("rejected " + action.file + ": " +
                                                            error);
    std::optional<std::string_view> scan_id;
    if (action.scan_id) scan_id = *action.scan_id;
    kordon::Status s = host().Publish(kordon::xray::kRejectedTopic,
                                      kordon::xray::RejectedBody(scanner_, scan_id, action.file,
                                                                 reason));
    if (!s.ok()) CountError("scanner.xray.rejected for " + action.file + " not published: " +
                            s.ToString() + " (the reason is in " + rejected_dir_ + ")");
  }

  // Writes rejected_dir/<stem>.reason.txt, never replacing an earlier one (a scan id
  // rejected twice): <stem>.1.reason.txt, <stem>.2.reason.txt...
  bool WriteReason(const std::string& stem, const std::string& text, std::string* error) {
    for (int i = 0; i < 1000; ++i) {
      const std::string path =
          rejected_dir_ + "/" + stem + (i ? "." + std::to_string(i) : "") + ".reason.txt";
      Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (fd.get() < 0 && errno == EEXIST) continue;
      if (fd.get() < 0 ||
          ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        *error = "cannot write " + path + ": " + Errno();
        return false;
      }
      return true;
    }
    *error = "cannot write " + stem + ".reason.txt: too many of that name";
    return false;
  }

  // Settings (constant after the constructor).
  std::string spool_;
  std::string processed_dir_;
  std::string rejected_dir_;
  kordon::xray::PairOptions options_;
  std::chrono::milliseconds rescan_{kDefaultRescanMs};
  std::string scanner_;
  std::unique_ptr<kordon::device::DeviceModel> model_;

  Fd wake_;  // eventfd: written by Stop
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> rejected_{0};

  // Watcher thread only.
  Fd dir_;  // the spool directory while it is open
  std::unique_ptr<kordon::xray::PairTracker> tracker_;
  std::vector<std::string> pending_moves_;
};

}  // namespace

KORDON_PLUGIN(XrayScanner, {.name = "xray-scanner",
                            .kind = KORDON_KIND_SCANNER,
                            .vendor = "Kordon",
                            .version = "0.1.0",
                            .description = "Watches a cargo X-ray scanner's spool directory -> "
                                           "scanner.xray.scan / .rejected, device.status",
                            .publishes = {kordon::xray::kScanTopic,
                                          kordon::xray::kRejectedTopic,
                                          kordon::device::kStatusTopic},
                            .subscribes = {kordon::device::kStatusRequestTopic},
                            .services = {}})
