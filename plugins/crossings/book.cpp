// book.cpp — see book.h.
#include "book.h"

#include <cstdio>
#include <ctime>
#include <utility>

namespace kordon::crossings {
namespace {

enum class Kind { kNone, kSubject, kAttachOnly, kDerived, kRisk };

Kind Classify(const std::string& topic) {
  if (topic == "scanner.plate.read" || topic == "scanner.document.read" ||
      topic == "scanner.container.read" || topic == "scale.weight.stable" ||
      topic == "scanner.xray.scan")
    return Kind::kSubject;
  if (topic == "scale.weight.cleared") return Kind::kAttachOnly;
  if (topic == "db.watchlist.hit" || topic == "db.watchlist.error" ||
      topic == "db.manifest.match" || topic == "db.manifest.unmatched" ||
      topic == "db.manifest.error")
    return Kind::kDerived;
  if (topic == "risk.assessment") return Kind::kRisk;
  return Kind::kNone;
}

std::string StrOf(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The weighbridge counts vehicles: a stable weight and the cleared event of the same vehicle
// belong to the same crossing even when the next plate was read in between.
std::string ScaleKey(const Json& body) {
  if (!body.is_object()) return "";
  auto seq = body.find("vehicle_seq");
  if (seq == body.end() || !seq->is_number_integer()) return "";
  return "scale:" + StrOf(body, "scale") + "#" + std::to_string(seq->get<int64_t>());
}

// Whether two plates differ by at most one substitution, insertion or deletion (bytes: the
// normalised plates the readers publish are upper-case ASCII with Cyrillic letters kept, and
// a slip inside a UTF-8 letter then counts as at most two bytes, which is rejected).
bool OneEditApart(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const std::string& s = a.size() <= b.size() ? a : b;  // the shorter
  const std::string& l = a.size() <= b.size() ? b : a;
  if (l.size() - s.size() > 1) return false;
  size_t i = 0;
  while (i < s.size() && s[i] == l[i]) ++i;
  if (s.size() == l.size()) return s.compare(i + 1, std::string::npos, l, i + 1) == 0;
  return s.compare(i, std::string::npos, l, i + 1) == 0;
}

// The inbound plate of a plate read, normalised; "" when it has none.
std::string PlateOf(const Json& body) {
  std::string p = StrOf(body, "plate");
  return p.empty() ? SearchPlate(StrOf(body, "raw")) : p;
}

Json Reply(const Command& c, const Crossing& x, const std::string& changed) {
  return Json{{"ok", true},
              {"action", ActionName(c.action)},
              {"crossing_id", x.id},
              {"lane", x.lane},
              {"state", StateName(x.state)},
              {"revision", x.revision},
              {"changed", changed}};
}

}  // namespace

Book::Book(BookOptions options, IdTaken id_taken, LoadClosed load_closed)
    : options_(std::move(options)), id_taken_(std::move(id_taken)),
      load_closed_(std::move(load_closed)) {}

void Book::Restore(Crossing c) {
  if (c.state == State::kClosed) return;
  const std::string id = c.id;
  for (const Json& e : c.evidence)
    if (e.is_string()) Remember(e.get<std::string>(), id);
  for (const Json& w : c.weights)
    if (std::string key = ScaleKey(w); !key.empty()) Remember(key, id);
  if (c.current) {
    auto it = current_.find(c.lane);
    if (it != current_.end()) {
      // Two current crossings on one lane cannot both be: the later one stays current.
      Crossing& other = open_.at(it->second);
      if (other.opened_us >= c.opened_us) {
        c.current = false;
      } else {
        other.current = false;
        dirty_.insert(other.id);
      }
    }
    if (c.current) current_[c.lane] = id;
  }
  open_[id] = std::move(c);
}

bool Book::OurLane(const std::string& lane) const {
  return options_.lanes.empty() || options_.lanes.count(lane) > 0;
}

Outcome Book::Reject(std::string why) {
  ++stats_.rejected;
  Outcome out;
  out.error = std::move(why);
  return out;
}

Crossing* Book::FindMutable(const std::string& id) {
  if (auto it = open_.find(id); it != open_.end()) return &it->second;
  if (auto it = closed_.find(id); it != closed_.end()) return &it->second;
  if (!load_closed_) return nullptr;
  std::optional<Crossing> stored = load_closed_(id);
  if (!stored || stored->state != State::kClosed) return nullptr;
  closed_order_.push_back(id);
  Crossing& c = closed_[id] = std::move(*stored);
  TrimClosed(id);
  return &c;
}

const Crossing* Book::Find(const std::string& id) const {
  if (auto it = open_.find(id); it != open_.end()) return &it->second;
  if (auto it = closed_.find(id); it != closed_.end()) return &it->second;
  return nullptr;
}

const Crossing* Book::Current(const std::string& lane) const {
  auto it = current_.find(lane);
  return it == current_.end() ? nullptr : Find(it->second);
}

std::vector<const Crossing*> Book::OpenCrossings() const {
  std::vector<const Crossing*> v;
  for (const auto& [id, c] : open_) v.push_back(&c);
  return v;
}

std::vector<std::string> Book::TakeDirty() {
  std::vector<std::string> v(dirty_.begin(), dirty_.end());
  dirty_.clear();
  return v;
}

void Book::Remember(const std::string& key, const std::string& crossing_id) {
  auto [it, added] = recent_.insert_or_assign(key, crossing_id);
  if (!added) return;
  recent_order_.push_back(key);
  while (recent_order_.size() > options_.recent_reads) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

std::string Book::NewId(const std::string& lane, int64_t now_us) {
  const std::time_t t = static_cast<std::time_t>(now_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  for (;;) {
    char seq[24];
    std::snprintf(seq, sizeof seq, "%04llu", static_cast<unsigned long long>(++seq_));
    std::string id = lane + "-" + stamp + "-" + seq;
    if (open_.count(id) || closed_.count(id)) continue;
    if (id_taken_ && id_taken_(id)) continue;
    return id;
  }
}

Crossing* Book::Open(const std::string& lane, int64_t now_us, Outcome* out) {
  Crossing c;
  c.id = NewId(lane, now_us);
  c.lane = lane;
  c.opened_us = c.updated_us = c.activity_us = now_us;
  const std::string id = c.id;
  current_[lane] = id;
  Crossing& stored = open_[id] = std::move(c);
  ++stats_.opened;
  out->events.push_back({Event::Kind::kOpened, id});
  dirty_.insert(id);
  return &stored;
}

void Book::Touch(Crossing* c, int64_t now_us, Outcome* out) {
  ++c->revision;
  c->updated_us = now_us;
  if (c->state != State::kClosed) c->activity_us = now_us;
  dirty_.insert(c->id);
  out->events.push_back({Event::Kind::kUpdated, c->id});
}

void Book::Close(Crossing* c, const std::string& reason, int64_t now_us, Outcome* out) {
  c->state = State::kClosed;
  c->closed_us = now_us;
  c->close_reason = reason;
  c->hold = nullptr;
  ++c->revision;
  c->updated_us = now_us;
  const std::string id = c->id;
  if (auto it = current_.find(c->lane); it != current_.end() && it->second == id)
    current_.erase(it);
  c->current = false;
  closed_order_.push_back(id);
  closed_[id] = std::move(*c);
  open_.erase(id);
  dirty_.insert(id);
  TrimClosed(id);
  ++stats_.closed;
  ++stats_.closed_by[reason];
  out->events.push_back({Event::Kind::kClosed, id});
}

void Book::TrimClosed(const std::string& keep) {
  for (auto it = closed_order_.begin();
       closed_order_.size() > options_.closed_cache && it != closed_order_.end();) {
    if (*it == keep || dirty_.count(*it)) {
      ++it;
      continue;
    }
    closed_.erase(*it);
    it = closed_order_.erase(it);
  }
}

Outcome Book::OnMessage(const Meta& meta, std::string_view body_text, int64_t now_us) {
  ++stats_.messages;
  Outcome out;
  const Kind kind = Classify(meta.topic);
  if (kind == Kind::kNone) {
    ++stats_.ignored;
    return out;
  }
  const Json body = Json::parse(body_text, nullptr, false);
  // A screening error that names no read (a watchlist that failed to reload, a bad line in a
  // followed manifest file) concerns the site, not the vehicle at the lane.
  if (kind == Kind::kDerived && meta.crossing_id.empty() && StrOf(body, "source_id").empty() &&
      meta.topic != "db.watchlist.hit" && meta.topic != "db.manifest.match") {
    ++stats_.ignored;
    return out;
  }
  Crossing* c = nullptr;
  if (!meta.crossing_id.empty()) {
    c = FindMutable(meta.crossing_id);
    if (c == nullptr) {
      if (!OurLane(meta.lane)) {
        ++stats_.ignored;
        return out;
      }
      ++stats_.unknown_crossing;
      out.error = meta.topic + " " + meta.id + " names crossing '" + meta.crossing_id +
                  "', which this instance does not know";
      return out;
    }
  } else {
    if (kind == Kind::kDerived) {
      if (auto it = recent_.find(StrOf(body, "source_id")); it != recent_.end())
        c = FindMutable(it->second);
    } else if (meta.topic == "scale.weight.stable" || meta.topic == "scale.weight.cleared") {
      if (auto it = recent_.find(ScaleKey(body)); it != recent_.end())
        c = FindMutable(it->second);
    }
  }
  if (c == nullptr) {
    if (kind == Kind::kRisk) {
      ++stats_.unattached;
      out.error = "risk.assessment " + meta.id + " names no crossing";
      return out;
    }
    if (meta.lane.empty()) {
      ++stats_.unattached;
      out.error = meta.topic + " " + meta.id + " has no lane and no crossing id";
      return out;
    }
    if (!OurLane(meta.lane)) {
      ++stats_.ignored;
      return out;
    }
    auto cur = current_.find(meta.lane);
    c = cur == current_.end() ? nullptr : FindMutable(cur->second);
    if (kind == Kind::kSubject) {
      const bool plate_read = meta.topic == "scanner.plate.read";
      const bool outbound = plate_read && StrOf(body, "direction") == "out";
      const std::string plate = plate_read ? PlateOf(body) : "";
      const bool reread = c != nullptr && options_.reread_window_us > 0 &&
                          now_us - c->opened_us <= options_.reread_window_us &&
                          OneEditApart(c->plate, plate);
      if (c != nullptr && plate_read && !outbound && !plate.empty() && !c->plate.empty() &&
          c->plate != plate && !reread) {
        // The next vehicle. A held crossing is parked (stays open, leaves the lane).
        if (c->state == State::kHeld) {
          c->current = false;
          current_.erase(meta.lane);
          Touch(c, now_us, &out);
        } else {
          Close(c, "next_vehicle", now_us, &out);
        }
        c = nullptr;
      }
      if (c == nullptr) {
        if (outbound) {
          ++stats_.unattached;
          out.error = "outbound plate read " + meta.id + " on " + meta.lane +
                      " with no open crossing";
          return out;
        }
        // Only a usable read opens a crossing: try it on an empty picture first.
        Crossing trial;
        const Applied a = ApplyMessage(&trial, meta, body, options_.limits);
        if (!a.ok) {
          ++stats_.bad_inputs;
          out.error = meta.topic + " " + meta.id + " on " + meta.lane +
                      " opens no crossing: " + a.error;
          return out;
        }
        c = Open(meta.lane, now_us, &out);
      }
    } else if (c == nullptr) {
      ++stats_.unattached;
      out.error = meta.topic + " " + meta.id + " on " + meta.lane + " with no open crossing";
      return out;
    }
  }
  const Applied a = ApplyMessage(c, meta, body, options_.limits);
  if (!a.ok) {
    ++stats_.bad_inputs;
    out.problem = meta.topic + " " + meta.id + " on crossing " + c->id + ": " + a.error;
  }
  ++stats_.attached;
  if (kind != Kind::kRisk) ++c->inputs_revision;
  if (kind == Kind::kSubject || kind == Kind::kAttachOnly) Remember(meta.id, c->id);
  if (meta.topic == "scale.weight.stable")
    if (std::string key = ScaleKey(body); !key.empty()) Remember(key, c->id);
  if (c->state == State::kClosed) {
    // A hit is never lost: the closed crossing takes it, and says it came late.
    c->late = true;
    ++stats_.late;
    out.log = meta.topic + " " + meta.id + " arrived after crossing " + c->id + " closed (" +
              c->close_reason + "); attached late";
  }
  Touch(c, now_us, &out);
  return out;
}

Outcome Book::OnDecision(const Meta& meta, std::string_view body, int64_t now_us) {
  ++stats_.messages;
  std::string error;
  std::optional<Decision> d = ParseDecision(body, &error);
  if (!d) return Reject("officer.decision " + meta.id + " refused: " + error);
  const std::string id = d->crossing_id.empty() ? meta.crossing_id : d->crossing_id;
  if (id.empty())
    return Reject("officer.decision " + meta.id +
                  " refused: it names no crossing (body 'crossing_id' or the envelope's)");
  Crossing* c = FindMutable(id);
  if (c == nullptr) {
    if (!OurLane(meta.lane)) {
      ++stats_.ignored;
      return {};
    }
    return Reject("officer.decision " + meta.id + " refused: unknown crossing '" + id + "'");
  }
  if (c->state == State::kClosed)
    return Reject("officer.decision " + meta.id + " refused: crossing " + id +
                  " is already closed (" + c->close_reason + ")");
  Outcome out;
  c->decision = {{"decision", d->decision},
                 {"notes", d->notes},
                 {"officer", d->officer.empty() ? Json(nullptr) : Json(d->officer)},
                 {"source", meta.source},
                 {"id", meta.id},
                 {"time_us", meta.time_us}};
  ++c->evidence_total;
  AppendBounded(c, &c->evidence, "evidence", meta.id, options_.limits.evidence);
  Close(c, "decision", now_us, &out);
  const Crossing* closed = Find(id);
  out.reply = {{"ok", true},          {"action", "decision"},
               {"crossing_id", id},   {"lane", closed->lane},
               {"state", "closed"},   {"revision", closed->revision},
               {"changed", "closed by decision " + d->decision}};
  return out;
}

Outcome Book::OnOverride(const Meta& meta, std::string_view body, int64_t now_us) {
  ++stats_.messages;
  std::string error;
  std::optional<Override> o = ParseOverride(body, &error);
  const std::string what = "officer.override " + meta.id + " refused: ";
  if (!o) return Reject(what + error);
  if (!meta.crossing_id.empty() && meta.crossing_id != o->crossing_id)
    return Reject(what + "its body names crossing '" + o->crossing_id + "', its envelope '" +
                  meta.crossing_id + "'");
  Crossing* c = FindMutable(o->crossing_id);
  if (c == nullptr) {
    if (!OurLane(meta.lane)) {
      ++stats_.ignored;
      return {};
    }
    return Reject(what + "unknown crossing '" + o->crossing_id + "'");
  }
  Outcome out;
  const std::string risk_channel = c->RiskChannel();
  const std::string before = c->Channel();
  c->channel_override = {
      {"channel", o->channel},
      {"previous_channel", o->previous_channel.empty() ? Json(nullptr) : Json(o->previous_channel)},
      {"risk_channel", risk_channel.empty() ? Json(nullptr) : Json(risk_channel)},
      {"reason", o->reason},
      {"user", o->user},
      {"role", o->role},
      {"source", meta.source},
      {"id", meta.id},
      {"time_us", meta.time_us}};
  ++c->overrides;
  ++c->evidence_total;
  AppendBounded(c, &c->evidence, "evidence", meta.id, options_.limits.evidence);
  // After the close it still counts (a supervisor reviewing the lane corrects the record),
  // like a note: the picture changes late.
  if (c->state == State::kClosed) {
    c->late = true;
    ++stats_.late;
    out.log = "officer.override " + meta.id + " on crossing " + c->id + " after it closed";
  }
  Touch(c, now_us, &out);
  out.reply = {{"ok", true},
               {"action", "override"},
               {"crossing_id", c->id},
               {"lane", c->lane},
               {"state", StateName(c->state)},
               {"revision", c->revision},
               {"changed", "channel " + (before.empty() ? std::string("(none)") : before) +
                               " -> " + o->channel + " by " + o->user}};
  return out;
}

Outcome Book::OnCommand(const Command& cmd, const Meta& meta, int64_t now_us) {
  ++stats_.messages;
  const std::string action = ActionName(cmd.action);
  const std::string source = cmd.source.empty() ? meta.source : cmd.source;
  Outcome out;
  if (cmd.action == Command::Action::kOpen) {
    if (!OurLane(cmd.lane))
      return Reject("open: lane '" + cmd.lane + "' is not served by this instance");
    if (const Crossing* cur = Current(cmd.lane))
      return Reject("open: " + cmd.lane + " already has crossing " + cur->id + " (" +
                    StateName(cur->state) + "); close it first");
    Crossing* c = Open(cmd.lane, now_us, &out);
    ++c->evidence_total;
    AppendBounded(c, &c->evidence, "evidence", meta.id, options_.limits.evidence);
    if (!cmd.reason.empty()) c->notes.push_back({{"text", "opened: " + cmd.reason},
                                                 {"source", source}, {"time_us", now_us}});
    Touch(c, now_us, &out);
    out.reply = Reply(cmd, *c, "opened on " + cmd.lane);
    return out;
  }
  Crossing* c = nullptr;
  if (!cmd.crossing_id.empty()) {
    c = FindMutable(cmd.crossing_id);
    if (c == nullptr) return Reject(action + ": unknown crossing '" + cmd.crossing_id + "'");
  } else {
    auto it = current_.find(cmd.lane);
    if (it == current_.end()) return Reject(action + ": no open crossing on " + cmd.lane);
    c = FindMutable(it->second);
  }
  const bool closed = c->state == State::kClosed;
  std::string changed;
  switch (cmd.action) {
    case Command::Action::kOpen:
      break;
    case Command::Action::kClose: {
      if (closed)
        return Reject("close: crossing " + c->id + " is already closed (" + c->close_reason +
                      ")");
      const std::string id = c->id;
      c->close_detail = cmd.reason;
      ++c->evidence_total;
      AppendBounded(c, &c->evidence, "evidence", meta.id, options_.limits.evidence);
      Close(c, "command", now_us, &out);
      out.reply = Reply(cmd, *Find(id), "closed: " + cmd.reason);
      return out;
    }
    case Command::Action::kFact: {
      const bool known = c->facts.contains(cmd.key);
      if (cmd.value.is_null()) {
        if (!known) return Reject("fact: crossing " + c->id + " has no fact '" + cmd.key + "'");
        c->facts.erase(cmd.key);
        ++c->inputs_revision;
        changed = "fact " + cmd.key + " removed";
      } else {
        if (!known && c->facts.size() >= options_.limits.facts) {
          ++c->dropped["facts"];
          return Reject("fact: crossing " + c->id + " already has " +
                        std::to_string(c->facts.size()) + " facts (the limit)");
        }
        c->facts[cmd.key] = {{"value", cmd.value}, {"source", source}, {"time_us", now_us}};
        ++c->inputs_revision;
        changed = "fact " + cmd.key + (known ? " replaced" : " added");
      }
      break;
    }
    case Command::Action::kHold:
      if (c->state != State::kOpen)
        return Reject("hold: crossing " + c->id + " is " + StateName(c->state) +
                      ", not open");
      c->state = State::kHeld;
      c->hold = {{"reason", cmd.reason}, {"source", source}, {"time_us", now_us}};
      changed = "held: " + cmd.reason;
      break;
    case Command::Action::kRelease:
      if (c->state != State::kHeld)
        return Reject("release: crossing " + c->id + " is " + StateName(c->state) +
                      ", not held");
      c->state = State::kOpen;
      c->hold = nullptr;
      changed = "released: " + cmd.reason;
      if (!c->current && current_.count(c->lane) == 0) {
        c->current = true;
        current_[c->lane] = c->id;
        changed += "; current on " + c->lane + " again";
      }
      c->notes.push_back({{"text", "released: " + cmd.reason}, {"source", source},
                          {"time_us", now_us}});
      break;
    case Command::Action::kNote:
      AppendBounded(c, &c->notes, "notes",
                    Json{{"text", cmd.text}, {"source", source}, {"time_us", now_us}},
                    options_.limits.list);
      changed = "note added";
      break;
  }
  ++c->evidence_total;
  AppendBounded(c, &c->evidence, "evidence", meta.id, options_.limits.evidence);
  if (closed) {
    c->late = true;
    ++stats_.late;
    out.log = action + " " + meta.id + " on crossing " + c->id + " after it closed";
  }
  Touch(c, now_us, &out);
  out.reply = Reply(cmd, *c, changed);
  return out;
}

Outcome Book::Tick(int64_t now_us) {
  Outcome out;
  std::vector<std::pair<std::string, std::string>> due;
  for (auto& [id, c] : open_) {
    if (c.state == State::kHeld) continue;
    if (options_.max_open_us > 0 && now_us - c.opened_us >= options_.max_open_us)
      due.emplace_back(id, "max_open");
    else if (options_.idle_timeout_us > 0 && now_us - c.activity_us >= options_.idle_timeout_us)
      due.emplace_back(id, "idle_timeout");
  }
  for (const auto& [id, reason] : due) Close(&open_.at(id), reason, now_us, &out);
  return out;
}

bool UpdateCoalescer::Changed(const std::string& id, int64_t now_us) {
  auto [it, added] = state_.try_emplace(id);
  Entry& e = it->second;
  if (added || now_us - e.last_us >= interval_us_) {
    e.last_us = now_us;
    e.pending = false;
    return true;
  }
  e.pending = true;
  return false;
}

std::vector<std::string> UpdateCoalescer::Due(int64_t now_us) {
  std::vector<std::string> due;
  for (auto& [id, e] : state_) {
    if (!e.pending || now_us - e.last_us < interval_us_) continue;
    e.pending = false;
    e.last_us = now_us;
    due.push_back(id);
  }
  return due;
}

size_t UpdateCoalescer::pending() const {
  size_t n = 0;
  for (const auto& [id, e] : state_) n += e.pending ? 1 : 0;
  return n;
}

}  // namespace kordon::crossings
