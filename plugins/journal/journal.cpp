// journal.cpp — the journal plugin: records every bus message it receives (envelope and body)
// in SQLite (WAL), batched in transactions, and acknowledges each commit with
// journal.committed (see README.md for the exact guarantee).
//
// Threading: the constructor, Start, Stop, OnMessage and the timers run on the instance's
// thread; they fill batch_ (owned by that thread) and hand full batches to the writer thread
// through queue_. The writer thread owns the SQLite connection (store_) once Start has
// returned; it publishes journal.committed and alert.raised (Host::Publish is thread-safe).
// queue_, queued_rows_, stopping_ are guarded by mutex_.

#include <kordon/plugin.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal_store.h"
#include "plugin_settings.h"

namespace {

using kordon::journal::InsertResult;
using kordon::journal::JournalRow;
using kordon::journal::JournalStore;
using kordon::journal::StoreStatus;
using kordon::journal::Synchronous;
using namespace std::chrono_literals;

constexpr char kCommittedTopic[] = "journal.committed";
constexpr size_t kMaxSourcesPerAck = 256;
constexpr auto kFirstBackoff = 100ms;
constexpr auto kMaxBackoff = 5s;
constexpr auto kAlertInterval = 10s;
constexpr auto kRetentionInterval = 1h;
constexpr int64_t kRetentionChunk = 5000;
// When the writer fell behind it commits several queued batches at once, up to this many rows
// (or batch_max): fewer commits and syncs per row, and still a bounded transaction.
constexpr size_t kMaxCommitRows = 16384;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using kordon::settings::IntInRange;

class Journal : public kordon::Plugin {
 public:
  // Reads and checks every setting and opens the file; throws std::invalid_argument naming
  // the bad setting, or std::runtime_error when the file cannot be opened as a journal.
  explicit Journal(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    auto path = h.Config("path");
    if (!path || path->empty()) throw std::invalid_argument("setting 'path' is required");
    if ((*path)[0] != '/')
      throw std::invalid_argument("setting 'path' must be absolute, got '" + *path + "'");
    batch_max_ = static_cast<size_t>(IntInRange(h, "batch_max", 2000, 1, 1000000));
    batch_ms_ = IntInRange(h, "batch_ms", 50, 1, 60000);
    queue_limit_ = static_cast<size_t>(IntInRange(h, "queue_limit", 200000, 1, 100000000));
    if (queue_limit_ < batch_max_)
      throw std::invalid_argument("setting 'queue_limit' (" + std::to_string(queue_limit_) +
                                  ") must be at least batch_max (" +
                                  std::to_string(batch_max_) + ")");
    busy_timeout_ms_ = static_cast<int>(IntInRange(h, "busy_timeout_ms", 1000, 0, 600000));
    cache_mib_ = static_cast<int>(
        IntInRange(h, "cache_mib", kordon::journal::kDefaultCacheMib, 1, 4096));
    stop_timeout_ms_ = IntInRange(h, "stop_timeout_ms", 20000, 0, 600000);
    retention_days_ = IntInRange(h, "retention_days", 0, 0, 100000);
    max_size_mb_ = IntInRange(h, "max_size_mb", 0, 0, 100000000);
    const std::string sync = h.ConfigOr("synchronous", "full");
    if (sync == "full") {
      sync_ = Synchronous::kFull;
    } else if (sync == "normal") {
      sync_ = Synchronous::kNormal;
    } else {
      throw std::invalid_argument("setting 'synchronous' must be full or normal, got '" + sync +
                                  "'");
    }
    StoreStatus status;
    store_ = JournalStore::OpenForWriting(*path, sync_, busy_timeout_ms_, cache_mib_, &status);
    if (!store_) throw std::runtime_error("journal: " + status.message);
    last_seq_ = store_->last_seq();
    batch_.reserve(batch_max_);
  }

  ~Journal() override { StopWriter(); }

  kordon::Status Start() override {
    writer_ = std::thread([this] { WriterLoop(); });
    kordon::Status s = host().StartTimer(std::chrono::milliseconds(batch_ms_),
                                         std::chrono::milliseconds(batch_ms_),
                                         [this] { FlushBatch(); }, &flush_timer_);
    if (!s.ok()) return s;
    if (retention_days_ > 0 || max_size_mb_ > 0) {
      retention_due_ = true;  // once at start, then hourly
      s = host().StartTimer(kRetentionInterval, kRetentionInterval, [this] {
        retention_due_ = true;
        cv_.notify_all();
      });
      if (!s.ok()) return s;
    }
    host().Info("journal: writing to " + store_->path() + " (synchronous=" +
                (sync_ == Synchronous::kFull ? "full" : "normal") + ", page cache " +
                std::to_string(store_->page_cache_mib()) + " MiB, last seq " +
                std::to_string(store_->last_seq()) + ")");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    // Acknowledgements are not journaled: each would cause another commit (a journal would
    // feed itself, two journals each other). They are counted.
    if (m.topic() == kCommittedTopic) {
      ++acks_skipped_;
      return kordon::Status::Ok();
    }
    const kordon_message* raw = m.raw();
    JournalRow& r = batch_.emplace_back();
    r.topic = m.topic();
    r.id = m.id();
    r.correlation_id = raw->correlation_id != nullptr ? raw->correlation_id : "";
    r.time_us = m.time_us();
    r.recv_us = NowUs();
    r.source = m.source();
    r.lane = m.lane();
    r.crossing_id = m.crossing_id();
    r.schema = m.schema();
    r.schema_version = m.schema_version();
    r.reply_to = raw->reply_to != nullptr ? raw->reply_to : "";
    r.flags = raw->flags;
    r.body = m.body();
    ++received_;
    if (batch_.size() >= batch_max_) FlushBatch();
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (flush_timer_ != 0) (void)host().CancelTimer(flush_timer_);
    FlushBatch();
    // Everything queued is committed before Stop returns, unless the file stays unwritable
    // for stop_timeout_ms: then what is left is reported (lost with the process).
    size_t left = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(stop_timeout_ms_),
                   [this] { return queued_rows_ == 0; });
      left = queued_rows_;
    }
    StopWriter();
    const std::string stats =
        "journal: received " + std::to_string(received_) + ", committed " +
        std::to_string(committed_.load()) + ", duplicates " + std::to_string(duplicates_.load()) +
        ", commits " + std::to_string(commits_.load()) + ", commit errors " +
        std::to_string(commit_errors_.load()) + ", queue-full waits " +
        std::to_string(queue_full_waits_) + ", acks skipped " + std::to_string(acks_skipped_) +
        ", ack publish failures " + std::to_string(ack_failures_.load()) + ", retained away " +
        std::to_string(retained_away_.load()) + ", last seq " + std::to_string(last_seq_.load());
    if (left > 0) {
      host().Error(stats + "; " + std::to_string(left) +
                   " rows NOT journaled (the file stayed unwritable)");
      return kordon::Status::Failed(std::to_string(left) + " rows not journaled");
    }
    host().Info(stats);
    return kordon::Status::Ok();
  }

 private:
  struct Batch {
    std::vector<JournalRow> rows;
  };

  // Hands batch_ to the writer. Waits while the queue is full (counted): a message is never
  // dropped, and the host's backpressure then holds the producers back.
  void FlushBatch() {
    if (batch_.empty()) return;
    std::unique_lock<std::mutex> lock(mutex_);
    if (queued_rows_ + batch_.size() > queue_limit_) {
      ++queue_full_waits_;
      cv_.wait(lock, [this] { return queued_rows_ + batch_.size() <= queue_limit_ || stopping_; });
    }
    queued_rows_ += batch_.size();
    queue_.push_back(Batch{std::move(batch_)});
    batch_ = std::vector<JournalRow>();
    batch_.reserve(batch_max_);
    lock.unlock();
    cv_.notify_all();
  }

  void StopWriter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  void WriterLoop() {
    std::vector<JournalRow> rows;
    auto backoff = std::chrono::milliseconds(kFirstBackoff);
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!rows.empty()) {
          // A retry; when Stop has given up waiting, these rows are reported there.
          if (stopping_) return;
        } else {
          cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || retention_due_; });
          if (stopping_ && queue_.empty()) return;
          // Several queued batches go into one transaction (the writer fell behind): fewer
          // syncs per row.
          while (!queue_.empty() && (rows.empty() || rows.size() + queue_.front().rows.size() <=
                                                         std::max(batch_max_, kMaxCommitRows))) {
            auto& b = queue_.front().rows;
            if (rows.empty()) {
              rows = std::move(b);
            } else {
              std::move(b.begin(), b.end(), std::back_inserter(rows));
            }
            queue_.pop_front();
          }
        }
      }
      if (retention_due_.exchange(false)) RunRetention();
      if (rows.empty()) continue;
      InsertResult result;
      StoreStatus s = store_->Insert(&rows, &result);
      if (!s.ok()) {
        ++commit_errors_;
        ReportFailure(s);
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, backoff, [this] { return stopping_; });
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
        continue;  // the same rows again (or the end, when Stop gave up)
      }
      if (commit_errors_streak_ > 0) {
        host().Warn("journal: commits work again after " + std::to_string(commit_errors_streak_) +
                    " failed attempt(s)");
        commit_errors_streak_ = 0;
      }
      backoff = kFirstBackoff;
      ++commits_;
      committed_ += result.inserted;
      duplicates_ += result.duplicates;
      if (result.last_seq != 0) last_seq_ = result.last_seq;
      PublishAck(rows, result);
      const size_t n = rows.size();
      rows.clear();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queued_rows_ -= n;
      }
      cv_.notify_all();
    }
  }

  // journal.committed for one commit. See README.md, "Acknowledgement".
  void PublishAck(const std::vector<JournalRow>& rows, const InsertResult& result) {
    nlohmann::json ack;
    ack["journal"] = host().instance_name();
    ack["first_seq"] = result.first_seq;
    ack["through_seq"] = last_seq_.load();
    ack["rows"] = result.inserted;
    ack["duplicates"] = result.duplicates;
    ack["last_id"] = rows.back().id;
    ack["count_total"] = committed_.load();
    // Per source, the last id of this commit: the bus keeps one publisher's messages in
    // order, so everything that publisher sent up to this id is on disk.
    std::map<std::string, const std::string*> last_by_source;
    bool truncated = false;
    // Runs of one source are the rule: the map is searched only when the source changes.
    auto current = last_by_source.end();
    for (const JournalRow& r : rows) {
      if (current != last_by_source.end() && current->first == r.source) {
        current->second = &r.id;
        continue;
      }
      current = last_by_source.find(r.source);
      if (current != last_by_source.end()) {
        current->second = &r.id;
      } else if (last_by_source.size() < kMaxSourcesPerAck) {
        current = last_by_source.emplace(r.source, &r.id).first;
      } else {
        truncated = true;
      }
    }
    nlohmann::json sources = nlohmann::json::object();
    for (const auto& [source, id] : last_by_source) sources[source] = *id;
    ack["sources"] = std::move(sources);
    if (truncated) ack["sources_truncated"] = true;
    if (!host().Publish(kCommittedTopic, ack.dump()).ok()) ++ack_failures_;
  }

  void ReportFailure(const StoreStatus& s) {
    ++commit_errors_streak_;
    host().Error("journal: commit failed (attempt " + std::to_string(commit_errors_streak_) +
                 "), rows kept for a retry: " + s.message);
    const auto now = std::chrono::steady_clock::now();
    if (commit_errors_streak_ > 1 && now - last_alert_ < kAlertInterval) return;
    last_alert_ = now;
    std::string what = "cannot write the journal";
    if (s.code == SQLITE_FULL) what = "the journal's disk is full";
    if (s.code == SQLITE_BUSY || s.code == SQLITE_LOCKED) what = "the journal file is locked";
    nlohmann::json alert;
    alert["source"] = host().instance_name();
    alert["severity"] = "critical";
    alert["reason"] = what + "; messages are kept in memory and retried: " + s.message;
    (void)host().Publish("alert.raised", alert.dump());
  }

  void RunRetention() {
    const int64_t cutoff =
        retention_days_ > 0 ? NowUs() - retention_days_ * 86400LL * 1000000LL : 0;
    kordon::journal::RetentionResult r;
    StoreStatus s = store_->Retain(cutoff, max_size_mb_ * 1024 * 1024, kRetentionChunk, false, &r);
    if (!s.ok()) {
      host().Warn("journal: retention failed: " + s.message);
      return;
    }
    retained_away_ += r.deleted_by_age + r.deleted_by_size;
    if (r.deleted_by_age + r.deleted_by_size > 0)
      host().Info("journal: retention deleted " + std::to_string(r.deleted_by_age) +
                  " rows by age and " + std::to_string(r.deleted_by_size) + " by size");
  }

  // Settings.
  size_t batch_max_ = 2000;
  int64_t batch_ms_ = 50;
  size_t queue_limit_ = 200000;
  int busy_timeout_ms_ = 1000;
  int cache_mib_ = kordon::journal::kDefaultCacheMib;
  int64_t stop_timeout_ms_ = 20000;
  int64_t retention_days_ = 0;
  int64_t max_size_mb_ = 0;
  Synchronous sync_ = Synchronous::kFull;

  std::unique_ptr<JournalStore> store_;  // the writer thread's once Start has run
  std::thread writer_;

  // The instance thread's.
  std::vector<JournalRow> batch_;
  kordon::TimerId flush_timer_ = 0;
  uint64_t received_ = 0;
  uint64_t acks_skipped_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;      // GUARDED_BY(mutex_)
  size_t queued_rows_ = 0;       // GUARDED_BY(mutex_): queued plus being committed
  bool stopping_ = false;        // GUARDED_BY(mutex_)
  uint64_t queue_full_waits_ = 0;  // GUARDED_BY(mutex_)
  std::atomic<bool> retention_due_{false};

  // The writer thread's (atomics: read by Stop).
  uint64_t commit_errors_streak_ = 0;
  std::chrono::steady_clock::time_point last_alert_{};
  std::atomic<uint64_t> committed_{0}, duplicates_{0}, commits_{0}, commit_errors_{0},
      ack_failures_{0}, retained_away_{0};
  std::atomic<int64_t> last_seq_{0};
};

}  // namespace

KORDON_PLUGIN(Journal, {.name = "journal",
                        .kind = KORDON_KIND_DATABASE,
                        .vendor = "Kordon",
                        .version = "1.0.0",
                        .description = "Records every bus message in SQLite (WAL), batched",
                        .publishes = {"journal.committed", "alert.raised"},
                        .subscribes = {""},
                        .services = {}})
