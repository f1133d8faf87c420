// book.h — the crossings state machine: which crossing each message belongs to, when one
// opens and closes, the commands that steer it (officer decisions, site procedures), and
// the coalescing of crossing.updated. Time is passed in (microseconds), so tests drive it
// with an injected clock. No host, SDK or SQLite types: the plugin persists what TakeDirty()
// names and publishes the events each call returns. See README.md ("Lanes and crossings").
//
// Thread safety: a Book is used from one thread (the plugin's instance thread).
#ifndef KORDON_PLUGINS_CROSSINGS_BOOK_H_
#define KORDON_PLUGINS_CROSSINGS_BOOK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "command.h"
#include "crossing.h"

namespace kordon::crossings {

struct BookOptions {
  int64_t idle_timeout_us = 300'000'000;  // no attachment for this long closes it
  int64_t max_open_us = 0;                // > 0: open for this long closes it
  // A plate one character away from the crossing's plate (one substitution, insertion or
  // deletion: an OCR slip), read within this long of the opening, is the same vehicle read
  // again, not the next one. 0: every different plate is the next vehicle.
  int64_t reread_window_us = 10'000'000;
  std::set<std::string> lanes;            // empty: every lane
  Limits limits;
  size_t recent_reads = 8192;  // read id -> crossing, for hits that name their read
  size_t closed_cache = 512;   // closed crossings kept in memory for late hits
};

struct Event {
  enum class Kind { kOpened, kUpdated, kClosed };
  Kind kind;
  std::string crossing_id;
};

struct Outcome {
  std::vector<Event> events;  // in the order they happened
  std::string error;          // not empty: refused or unattachable, and why (nothing changed
                              // unless events say otherwise)
  nlohmann::json reply;       // commands: what changed
  std::string problem;        // attached, but the body could not be used: why (the picture's
                              // `problems` says so too)
  std::string log;            // something the log should say (a late attachment)
};

struct BookStats {
  uint64_t messages = 0;
  uint64_t attached = 0;
  uint64_t opened = 0;
  uint64_t closed = 0;
  uint64_t late = 0;           // attached after the crossing closed
  uint64_t unattached = 0;     // no lane, no open crossing on the lane
  uint64_t unknown_crossing = 0;
  uint64_t bad_inputs = 0;     // a read the picture could not use
  uint64_t ignored = 0;        // another lane, or a topic the book does not take
  uint64_t rejected = 0;       // decisions and commands refused
  std::map<std::string, uint64_t> closed_by;  // reason -> count
};

class Book {
 public:
  // Whether a crossing id is already used (in the store); new ids skip taken ones.
  using IdTaken = std::function<bool(const std::string&)>;
  // A closed crossing from the store, for a late message naming one no longer in memory.
  using LoadClosed = std::function<std::optional<Crossing>(const std::string&)>;

  explicit Book(BookOptions options, IdTaken id_taken = nullptr,
                LoadClosed load_closed = nullptr);

  // Takes back crossings that were open or held at the last stop (from the store).
  void Restore(Crossing c);

  // A bus message (any topic the plugin subscribes to except commands and decisions).
  Outcome OnMessage(const Meta& meta, std::string_view body, int64_t now_us);
  // officer.decision.
  Outcome OnDecision(const Meta& meta, std::string_view body, int64_t now_us);
  // officer.override: a supervisor's channel for the crossing (after the close too: late).
  Outcome OnOverride(const Meta& meta, std::string_view body, int64_t now_us);
  // crossings.command / crossing.command, already parsed.
  Outcome OnCommand(const Command& command, const Meta& meta, int64_t now_us);
  // Closes what the idle timeout and max_open say.
  Outcome Tick(int64_t now_us);

  // An open, held or recently closed crossing; nullptr when not in memory.
  const Crossing* Find(const std::string& id) const;
  // The lane's current crossing; nullptr when none.
  const Crossing* Current(const std::string& lane) const;
  std::vector<const Crossing*> OpenCrossings() const;
  // Ids changed since the last call (to be stored).
  std::vector<std::string> TakeDirty();
  const BookStats& stats() const { return stats_; }
  const BookOptions& options() const { return options_; }

 private:
  Crossing* FindMutable(const std::string& id);
  Crossing* Open(const std::string& lane, int64_t now_us, Outcome* out);
  void Close(Crossing* c, const std::string& reason, int64_t now_us, Outcome* out);
  // Drops the oldest closed crossings beyond closed_cache, but never `keep` nor one changed
  // since the last TakeDirty: the plugin has not published or stored it yet. So the cache
  // may hold more for the length of one outcome (a tick that closes many at once).
  void TrimClosed(const std::string& keep);
  void Touch(Crossing* c, int64_t now_us, Outcome* out);
  void Remember(const std::string& key, const std::string& crossing_id);
  std::string NewId(const std::string& lane, int64_t now_us);
  bool OurLane(const std::string& lane) const;
  Outcome Reject(std::string why);

  BookOptions options_;
  IdTaken id_taken_;
  LoadClosed load_closed_;
  std::unordered_map<std::string, Crossing> open_;      // open and held, by id
  std::map<std::string, std::string> current_;          // lane -> crossing id
  std::unordered_map<std::string, Crossing> closed_;    // recently closed, by id
  std::deque<std::string> closed_order_;
  std::unordered_map<std::string, std::string> recent_;  // read id / scale vehicle -> crossing
  std::deque<std::string> recent_order_;
  std::set<std::string> dirty_;
  uint64_t seq_ = 0;
  BookStats stats_;
};

// At most one crossing.updated per crossing per interval, always the latest picture:
// a change goes out at once when the last one for that crossing is at least `interval` old,
// else it waits for Due().
class UpdateCoalescer {
 public:
  explicit UpdateCoalescer(int64_t interval_us) : interval_us_(interval_us) {}
  // A change to `id` at now: true when it may be published now (recorded as published).
  bool Changed(const std::string& id, int64_t now_us);
  // The waiting ids whose interval has passed at now (recorded as published).
  std::vector<std::string> Due(int64_t now_us);
  // The crossing closed: crossing.closed carries the final picture.
  void Forget(const std::string& id) { state_.erase(id); }
  size_t pending() const;

 private:
  struct Entry {
    int64_t last_us = 0;
    bool pending = false;
  };
  int64_t interval_us_;
  std::unordered_map<std::string, Entry> state_;
};

}  // namespace kordon::crossings

#endif  // KORDON_PLUGINS_CROSSINGS_BOOK_H_
