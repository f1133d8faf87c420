// audit_plugin.cpp — the audit plugin: appends the security-relevant events of the bus
// (officer decisions and overrides, alert acknowledgements, console logins, host starts,
// plugin refusals, risk profile loads) to a tamper-evident audit log (audit_log.h), one
// synchronous (FULL) transaction per record, with a head checkpoint every checkpoint_every
// records and at stop (signed with checkpoint_key when given).
//
// Settings (validated in the constructor; std::invalid_argument names the bad one):
//   path              the SQLite file (required; relative to the host's working directory)
//   checkpoint_every  records between head checkpoints, 1..1000000 (default 100)
//   checkpoint_key    a .sign.key file (kordon keys generate-signing) to sign checkpoints
//   pending_limit     records held in memory while the file cannot be written (default 10000)
//
// Nothing is dropped silently: a record that cannot be written is held and retried every
// second, counted, and reported as audit.error; only past pending_limit is a record lost —
// counted and reported as audit.error with "lost".
//
// Threading: every callback (constructor, Start, Stop, OnMessage, the retry timer) runs on the
// instance's thread; the AuditLog is used only there.
#include <kordon/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "audit_log.h"

namespace {

constexpr char kErrorTopic[] = "audit.error";
constexpr char kCheckpointTopic[] = "audit.checkpoint";

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AuditPlugin : public kordon::Plugin {
 public:
  explicit AuditPlugin(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    path_ = h.ConfigOr("path", "");
    if (path_.empty())
      throw std::invalid_argument("setting 'path' (the audit log file) is required");
    checkpoint_every_ = h.ConfigInt("checkpoint_every", 100);
    if (checkpoint_every_ < 1 || checkpoint_every_ > 1'000'000)
      throw std::invalid_argument("setting 'checkpoint_every' must be 1..1000000, got " +
                                  std::to_string(checkpoint_every_));
    pending_limit_ = h.ConfigInt("pending_limit", 10000);
    if (pending_limit_ < 1 || pending_limit_ > 10'000'000)
      throw std::invalid_argument("setting 'pending_limit' must be 1..10000000, got " +
                                  std::to_string(pending_limit_));
    if (auto key_path = h.Config("checkpoint_key")) {
      std::string error;
      key_ = kordon::audit::ReadCheckpointKey(*key_path, &error);
      if (!key_) throw std::invalid_argument("setting 'checkpoint_key': " + error);
    }
    std::string error;
    log_ = kordon::audit::AuditLog::Open(path_, &error);
    if (!log_) throw std::invalid_argument("setting 'path': " + error);
  }

  kordon::Status Start() override {
    host().Info("audit log " + path_ + ": head seq " + std::to_string(log_->head_seq()) +
                ", checkpoint every " + std::to_string(checkpoint_every_) + " records" +
                (key_ ? ", signed by key " + key_->key_id : ", unsigned checkpoints"));
    return host().StartTimer(std::chrono::seconds(1), std::chrono::seconds(1),
                             [this] { Drain(); });
  }

  kordon::Status Stop() override {
    Drain();
    WriteCheckpoint();
    host().Info("audit: " + std::to_string(appended_) + " records appended (head seq " +
                std::to_string(log_->head_seq()) + "), write failures " +
                std::to_string(failures_) + ", pending " + std::to_string(pending_.size()) +
                ", lost " + std::to_string(lost_));
    if (!pending_.empty())
      host().Error("audit: " + std::to_string(pending_.size()) +
                   " record(s) could not be written before stop and are lost");
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic().rfind("audit.", 0) == 0) return kordon::Status::Ok();  // our own
    kordon::audit::Record r;
    r.time_us = m.time_us();
    r.topic = std::string(m.topic());
    r.source = std::string(m.source());
    r.lane = std::string(m.lane());
    r.crossing_id = std::string(m.crossing_id());
    r.body = std::string(m.body());
    if (static_cast<int64_t>(pending_.size()) >= pending_limit_) {
      ++lost_;
      ReportError("the audit log cannot be written and " + std::to_string(pending_limit_) +
                      " records are waiting: a " + r.topic + " record was lost",
                  true);
      return kordon::Status::Ok();
    }
    pending_.push_back(std::move(r));
    Drain();
    return kordon::Status::Ok();
  }

 private:
  // Writes what waits, in arrival order, until the first failure.
  void Drain() {
    while (!pending_.empty()) {
      kordon::sqlite::DbStatus s = log_->Append(&pending_.front());
      if (!s.ok()) {
        ++failures_;
        ReportError("cannot append to " + path_ + " (" + std::to_string(pending_.size()) +
                        " record(s) waiting, retried every second): " + s.message,
                    false);
        return;
      }
      pending_.pop_front();
      ++appended_;
      if (log_->head_seq() % checkpoint_every_ == 0) WriteCheckpoint();
    }
  }

  void WriteCheckpoint() {
    if (log_->head_seq() == 0 || log_->head_seq() == last_checkpoint_) return;
    kordon::sqlite::DbStatus s = log_->Checkpoint(key_ ? &*key_ : nullptr, NowUs());
    if (!s.ok()) {
      ++failures_;
      ReportError("cannot write a checkpoint to " + path_ + ": " + s.message, false);
      return;
    }
    last_checkpoint_ = log_->head_seq();
    // A copy of the head leaves the file: the journal and other hosts keep it, so that a
    // log truncated together with its checkpoints still disagrees with the bus's record.
    nlohmann::json body{{"path", path_},
                        {"seq", log_->head_seq()},
                        {"hash", log_->head_hash()},
                        {"genesis", log_->genesis()},
                        {"signed", key_.has_value()}};
    if (key_) body["key_id"] = key_->key_id;
    (void)host().Publish(kCheckpointTopic, body.dump());
  }

  void ReportError(const std::string& what, bool lost) {
    host().Error("audit: " + what);
    nlohmann::json body{{"path", path_},     {"error", what},
                        {"lost", lost},      {"pending", pending_.size()},
                        {"failures", failures_}, {"lost_total", lost_}};
    kordon::Status s = host().Publish(kErrorTopic, body.dump());
    if (!s.ok()) host().Error("audit: cannot publish audit.error: " + s.message());
  }

  std::string path_;
  int64_t checkpoint_every_ = 100;
  int64_t pending_limit_ = 10000;
  std::optional<kordon::audit::CheckpointKey> key_;
  std::unique_ptr<kordon::audit::AuditLog> log_;
  std::deque<kordon::audit::Record> pending_;
  int64_t last_checkpoint_ = 0;
  uint64_t appended_ = 0;
  uint64_t failures_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace

KORDON_PLUGIN(AuditPlugin,
              {.name = "audit",
               .kind = KORDON_KIND_DATABASE,
               .vendor = "Kordon",
               .version = "1.0.0",
               .description = "Tamper-evident audit log: decisions, overrides, logins, "
                              "configuration and profile changes in a hash chain",
               .publishes = {"audit.error", "audit.checkpoint"},
               .subscribes = {"officer.decision", "officer.override", "alert.acknowledged",
                              "console.login", "host.started", "plugin.status",
                              "risk.profile.loaded"},
               .services = {}})
