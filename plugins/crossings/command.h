// command.h — the bodies the crossings plugin accepts from officers and procedures:
// officer.decision, the crossings.command service / crossing.command topic, crossings.get
// and crossings.search. Parsing only: every field checked, unknown members refused (a
// misspelt member would otherwise do nothing), the reason in words. See README.md.
//
// Thread safety: pure functions.
#ifndef KORDON_PLUGINS_CROSSINGS_COMMAND_H_
#define KORDON_PLUGINS_CROSSINGS_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kordon::crossings {

inline constexpr size_t kMaxTextBytes = 4096;      // notes, reasons
inline constexpr size_t kMaxFactValueBytes = 16384;

// officer.decision: {"decision", "notes"?, "officer"?, "crossing_id"?}.
struct Decision {
  std::string decision;  // cleared, secondary_inspection, refused_entry, goods_detained
  std::string notes;
  std::string officer;
  std::string crossing_id;  // from the body; the envelope's is used when empty
};
std::optional<Decision> ParseDecision(std::string_view body, std::string* error);

// officer.override (schema officer.override.v1.json, from plugins/console): a supervisor sets
// a crossing's risk channel, with a written reason.
//   {"crossing_id", "lane", "channel", "previous_channel", "reason", "user", "role"}
struct Override {
  std::string crossing_id;
  std::string lane;              // "" when the console had not seen the crossing
  std::string channel;           // green, blue, yellow, red
  std::string previous_channel;  // what the console showed; "" when no assessment
  std::string reason;            // 5-4096 bytes
  std::string user;
  std::string role;              // supervisor, administrator
};
std::optional<Override> ParseOverride(std::string_view body, std::string* error);

// One of the four channels (plugins/common/channel.h).
bool ValidChannel(std::string_view channel);

// crossings.command / crossing.command:
//   {"action": "open", "lane"}
//   {"action": "close", "crossing_id" | "lane", "reason"}
//   {"action": "fact", "crossing_id" | "lane", "key", "value", "source"?}
//   {"action": "hold" | "release", "crossing_id", "reason"}
//   {"action": "note", "crossing_id", "text"}
struct Command {
  enum class Action { kOpen, kClose, kFact, kHold, kRelease, kNote };
  Action action = Action::kOpen;
  std::string crossing_id;
  std::string lane;
  std::string reason;
  std::string key;
  nlohmann::json value;
  std::string source;
  std::string text;
};
const char* ActionName(Command::Action a);
std::optional<Command> ParseCommand(std::string_view body, std::string* error);

// crossings.search: {"plate", "document", "name", "container", "lane", "since_us",
// "until_us", "state", "limit"}, any subset (empty: the latest crossings).
struct SearchQuery {
  std::string plate;      // normalised as plate-reader does; exact
  std::string document;   // upper case A-Z 0-9; exact
  std::string name;       // SearchName form; contained in a holder's name
  std::string container;  // upper case A-Z 0-9; exact
  std::string lane;
  std::optional<int64_t> since_us;  // opened at or after
  std::optional<int64_t> until_us;  // opened before
  std::string state;                // open, held or closed
  int64_t limit = 50;               // 1..1000
};
std::optional<SearchQuery> ParseSearch(std::string_view body, std::string* error);

// crossings.get: {"crossing_id"}.
std::optional<std::string> ParseGet(std::string_view body, std::string* error);

// A crossing id as the envelope allows it: 1-128 printable ASCII characters, no spaces.
bool ValidCrossingId(std::string_view id);
// A lane as the envelope allows it: 1-64 of A-Z a-z 0-9 _ - . :
bool ValidLane(std::string_view lane);

}  // namespace kordon::crossings

#endif  // KORDON_PLUGINS_CROSSINGS_COMMAND_H_
