// command.cpp — see command.h.
#include "command.h"

#include <initializer_list>

#include "channel.h"
#include "crossing.h"

namespace kordon::crossings {
namespace {

using Json = nlohmann::json;

// Parses an object and refuses members outside `allowed`, naming the first unknown one.
std::optional<Json> Object(std::string_view body, std::initializer_list<const char*> allowed,
                           std::string* error) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "the body is not a JSON object";
    return std::nullopt;
  }
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      *error = "unknown member '" + key + "' (" + list + ")";
      return std::nullopt;
    }
  }
  return j;
}

// A string member: absent -> "", not a string or too long -> error.
bool Text(const Json& j, const char* key, size_t max, std::string* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = "'" + std::string(key) + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  if (out->size() > max) {
    *error = "'" + std::string(key) + "' is longer than " + std::to_string(max) + " bytes";
    return false;
  }
  return true;
}

bool Required(const std::string& value, const char* key, const char* what, std::string* error) {
  if (!value.empty()) return true;
  *error = std::string(what) + " needs '" + key + "'";
  return false;
}

bool Target(const Json& j, Command* c, bool lane_allowed, std::string* error) {
  if (!Text(j, "crossing_id", 128, &c->crossing_id, error)) return false;
  if (!Text(j, "lane", 64, &c->lane, error)) return false;
  if (!c->crossing_id.empty() && !ValidCrossingId(c->crossing_id)) {
    *error = "'crossing_id' must be 1-128 printable ASCII characters without spaces";
    return false;
  }
  if (!c->lane.empty() && !ValidLane(c->lane)) {
    *error = "'lane' must be 1-64 of A-Z a-z 0-9 _ - . :";
    return false;
  }
  const std::string action = ActionName(c->action);
  if (!lane_allowed) {
    if (!c->lane.empty()) {
      *error = action + " takes 'crossing_id', not 'lane'";
      return false;
    }
    return Required(c->crossing_id, "crossing_id", action.c_str(), error);
  }
  if (c->crossing_id.empty() == c->lane.empty()) {
    *error = action + " needs 'crossing_id' or 'lane' (one of them)";
    return false;
  }
  return true;
}

bool ValidFactKey(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  for (char ch : key)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
          ch == '-'))
      return false;
  return true;
}

}  // namespace

const char* ActionName(Command::Action a) {
  switch (a) {
    case Command::Action::kOpen: return "open";
    case Command::Action::kClose: return "close";
    case Command::Action::kFact: return "fact";
    case Command::Action::kHold: return "hold";
    case Command::Action::kRelease: return "release";
    case Command::Action::kNote: return "note";
  }
  return "open";
}

bool ValidCrossingId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id)
    if (ch <= ' ' || ch > '~') return false;
  return true;
}

bool ValidLane(std::string_view lane) {
  if (lane.empty() || lane.size() > 64) return false;
  for (char ch : lane)
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-' || ch == '.' || ch == ':'))
      return false;
  return true;
}

bool ValidChannel(std::string_view channel) { return ParseChannel(channel).has_value(); }

std::optional<Override> ParseOverride(std::string_view body, std::string* error) {
  auto j = Object(body, {"crossing_id", "lane", "channel", "previous_channel", "reason", "user",
                         "role"},
                  error);
  if (!j) return std::nullopt;
  Override o;
  if (!Text(*j, "crossing_id", 128, &o.crossing_id, error) ||
      !Text(*j, "lane", 64, &o.lane, error) || !Text(*j, "channel", 16, &o.channel, error) ||
      !Text(*j, "previous_channel", 16, &o.previous_channel, error) ||
      !Text(*j, "reason", kMaxTextBytes, &o.reason, error) ||
      !Text(*j, "user", 64, &o.user, error) || !Text(*j, "role", 32, &o.role, error))
    return std::nullopt;
  if (o.crossing_id.empty() || !ValidCrossingId(o.crossing_id)) {
    *error = "an override needs 'crossing_id' (1-128 printable ASCII characters without spaces)";
    return std::nullopt;
  }
  if (!o.lane.empty() && !ValidLane(o.lane)) {
    *error = "'lane' must be 1-64 of A-Z a-z 0-9 _ - . :";
    return std::nullopt;
  }
  if (!ValidChannel(o.channel)) {
    *error = o.channel.empty() ? std::string("an override needs 'channel'")
                               : "unknown channel '" + o.channel + "' (" + ChannelList() + ")";
    return std::nullopt;
  }
  if (!o.previous_channel.empty() && !ValidChannel(o.previous_channel)) {
    *error = "unknown previous_channel '" + o.previous_channel +
             "' (" + ChannelList() + ", or null)";
    return std::nullopt;
  }
  if (o.reason.size() < 5) {
    *error = "an override needs a written 'reason' (at least 5 bytes)";
    return std::nullopt;
  }
  if (o.user.empty()) {
    *error = "an override needs 'user'";
    return std::nullopt;
  }
  if (o.role != "supervisor" && o.role != "administrator") {
    *error = "an override is a supervisor's: 'role' must be supervisor or administrator, not '" +
             o.role + "'";
    return std::nullopt;
  }
  return o;
}

std::optional<Decision> ParseDecision(std::string_view body, std::string* error) {
  auto j = Object(body, {"decision", "notes", "officer", "crossing_id"}, error);
  if (!j) return std::nullopt;
  Decision d;
  if (!Text(*j, "decision", 64, &d.decision, error) ||
      !Text(*j, "notes", kMaxTextBytes, &d.notes, error) ||
      !Text(*j, "officer", 128, &d.officer, error) ||
      !Text(*j, "crossing_id", 128, &d.crossing_id, error))
    return std::nullopt;
  if (d.decision != "cleared" && d.decision != "secondary_inspection" &&
      d.decision != "refused_entry" && d.decision != "goods_detained") {
    *error = d.decision.empty()
                 ? std::string("a decision needs 'decision'")
                 : "unknown decision '" + d.decision +
                       "' (cleared, secondary_inspection, refused_entry, goods_detained)";
    return std::nullopt;
  }
  if (!d.crossing_id.empty() && !ValidCrossingId(d.crossing_id)) {
    *error = "'crossing_id' must be 1-128 printable ASCII characters without spaces";
    return std::nullopt;
  }
  return d;
}

std::optional<Command> ParseCommand(std::string_view body, std::string* error) {
  auto j = Object(body,
                  {"action", "crossing_id", "lane", "reason", "key", "value", "source", "text"},
                  error);
  if (!j) return std::nullopt;
  std::string action;
  if (!Text(*j, "action", 32, &action, error)) return std::nullopt;
  Command c;
  if (action == "open") c.action = Command::Action::kOpen;
  else if (action == "close") c.action = Command::Action::kClose;
  else if (action == "fact") c.action = Command::Action::kFact;
  else if (action == "hold") c.action = Command::Action::kHold;
  else if (action == "release") c.action = Command::Action::kRelease;
  else if (action == "note") c.action = Command::Action::kNote;
  else {
    *error = action.empty() ? std::string("a command needs 'action'")
                            : "unknown action '" + action +
                                  "' (open, close, fact, hold, release, note)";
    return std::nullopt;
  }
  if (!Text(*j, "reason", kMaxTextBytes, &c.reason, error) ||
      !Text(*j, "key", 64, &c.key, error) || !Text(*j, "source", 128, &c.source, error) ||
      !Text(*j, "text", kMaxTextBytes, &c.text, error))
    return std::nullopt;
  // Members that the action does not use are refused: they would be silently ignored.
  auto only = [&](std::initializer_list<const char*> used) {
    for (const auto& [key, value] : j->items()) {
      bool ok = key == "action";
      for (const char* u : used) ok = ok || key == u;
      if (!ok) {
        *error = "'" + key + "' is not used by " + action;
        return false;
      }
    }
    return true;
  };
  switch (c.action) {
    case Command::Action::kOpen:
      if (!only({"lane", "reason", "source"})) return std::nullopt;
      if (!Text(*j, "lane", 64, &c.lane, error)) return std::nullopt;
      if (!ValidLane(c.lane)) {
        *error = "open needs 'lane' (1-64 of A-Z a-z 0-9 _ - . :)";
        return std::nullopt;
      }
      return c;
    case Command::Action::kClose:
      if (!only({"crossing_id", "lane", "reason", "source"}) || !Target(*j, &c, true, error) ||
          !Required(c.reason, "reason", "close", error))
        return std::nullopt;
      return c;
    case Command::Action::kFact: {
      if (!only({"crossing_id", "lane", "key", "value", "source"}) ||
          !Target(*j, &c, true, error))
        return std::nullopt;
      if (!ValidFactKey(c.key)) {
        *error = "fact needs 'key': 1-64 of a-z 0-9 _ . -";
        return std::nullopt;
      }
      if (!j->contains("value")) {
        *error = "fact needs 'value' (any JSON; null removes the fact)";
        return std::nullopt;
      }
      c.value = (*j)["value"];
      if (c.value.dump().size() > kMaxFactValueBytes) {
        *error = "'value' is larger than " + std::to_string(kMaxFactValueBytes) + " bytes";
        return std::nullopt;
      }
      return c;
    }
    case Command::Action::kHold:
    case Command::Action::kRelease:
      if (!only({"crossing_id", "reason", "source"}) || !Target(*j, &c, false, error) ||
          !Required(c.reason, "reason", action.c_str(), error))
        return std::nullopt;
      return c;
    case Command::Action::kNote:
      if (!only({"crossing_id", "text", "source"}) || !Target(*j, &c, false, error) ||
          !Required(c.text, "text", "note", error))
        return std::nullopt;
      return c;
  }
  return std::nullopt;
}

std::optional<SearchQuery> ParseSearch(std::string_view body, std::string* error) {
  auto j = Object(body,
                  {"plate", "document", "name", "container", "lane", "since_us", "until_us",
                   "state", "limit"},
                  error);
  if (!j) return std::nullopt;
  SearchQuery q;
  std::string plate, document, name, container;
  if (!Text(*j, "plate", 64, &plate, error) || !Text(*j, "document", 64, &document, error) ||
      !Text(*j, "name", 512, &name, error) || !Text(*j, "container", 64, &container, error) ||
      !Text(*j, "lane", 64, &q.lane, error) || !Text(*j, "state", 16, &q.state, error))
    return std::nullopt;
  if (!plate.empty() && (q.plate = SearchPlate(plate)).empty()) {
    *error = "'plate' is not a plate: '" + plate + "'";
    return std::nullopt;
  }
  if (!document.empty() && (q.document = SearchCode(document)).empty()) {
    *error = "'document' has no letters or digits";
    return std::nullopt;
  }
  if (!name.empty() && (q.name = SearchName(name)).empty()) {
    *error = "'name' has no letters";
    return std::nullopt;
  }
  if (!container.empty() && (q.container = SearchCode(container)).empty()) {
    *error = "'container' has no letters or digits";
    return std::nullopt;
  }
  if (!q.state.empty() && !ParseState(q.state)) {
    *error = "'state' must be open, held or closed";
    return std::nullopt;
  }
  for (const char* key : {"since_us", "until_us", "limit"}) {
    auto it = j->find(key);
    if (it == j->end() || it->is_null()) continue;
    if (!it->is_number_integer()) {
      *error = "'" + std::string(key) + "' must be an integer";
      return std::nullopt;
    }
    const int64_t v = it->get<int64_t>();
    if (std::string(key) == "since_us") q.since_us = v;
    else if (std::string(key) == "until_us") q.until_us = v;
    else q.limit = v;
  }
  if (q.limit < 1 || q.limit > 1000) {
    *error = "'limit' must be between 1 and 1000";
    return std::nullopt;
  }
  return q;
}

std::optional<std::string> ParseGet(std::string_view body, std::string* error) {
  auto j = Object(body, {"crossing_id"}, error);
  if (!j) return std::nullopt;
  std::string id;
  if (!Text(*j, "crossing_id", 128, &id, error)) return std::nullopt;
  if (!ValidCrossingId(id)) {
    *error = "get needs 'crossing_id' (1-128 printable ASCII characters without spaces)";
    return std::nullopt;
  }
  return id;
}

}  // namespace kordon::crossings
