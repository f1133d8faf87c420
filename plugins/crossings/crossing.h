// crossing.h — one crossing (everything about one vehicle or traveller at one lane) as data:
// its state, times and the picture built from the messages attached to it, and how each kind
// of message changes that picture (deduplicated, bounded). Also the JSON form that
// crossing.opened / crossing.updated / crossing.closed carry and the store keeps, and the
// search keys the store indexes. A pure library: no host, SDK or SQLite types.
// See README.md ("The picture").
//
// Thread safety: a Crossing is a value; use one from one thread at a time.
#ifndef KORDON_PLUGINS_CROSSINGS_CROSSING_H_
#define KORDON_PLUGINS_CROSSINGS_CROSSING_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kordon::crossings {

using Json = nlohmann::json;

enum class State { kOpen, kHeld, kClosed };
const char* StateName(State s);
std::optional<State> ParseState(std::string_view name);

// What every list of the picture may hold; beyond it items are counted in `dropped`, not
// kept (a stuck camera must not grow a crossing without bound).
struct Limits {
  size_t list = 50;          // plates, documents, containers, weights, scans, hits, ...
  size_t evidence = 1000;    // message ids
  size_t facts = 200;        // fact keys
  size_t item_bytes = 16384; // one item (a manifest, a fact value) as JSON text
};

// The envelope fields of a message that the picture records.
struct Meta {
  std::string topic;
  std::string id;  // message id
  int64_t time_us = 0;
  std::string source;
  std::string lane;
  std::string crossing_id;
};

struct Crossing {
  std::string id;
  std::string lane;
  State state = State::kOpen;
  bool current = true;  // the lane's current crossing (false: a held one parked aside)
  bool late = false;    // changed after it closed
  int64_t revision = 0;
  // Changes only with what a risk module assesses (reads, hits, manifests, facts), not with an
  // assessment, a note or a hold: a module that re-assesses on crossing.updated compares it,
  // so that its own risk.assessment (which changes `revision`) does not start a loop.
  int64_t inputs_revision = 0;
  int64_t opened_us = 0;
  int64_t updated_us = 0;
  int64_t activity_us = 0;  // last attachment or release: the idle timeout counts from here
  int64_t closed_us = 0;
  std::string close_reason;  // decision, next_vehicle, idle_timeout, max_open, command
  std::string close_detail;  // the command's reason
  std::string plate;         // the first inbound plate, normalised: "next vehicle" compares it
  Json plates = Json::array();
  Json documents = Json::array();
  Json containers = Json::array();
  Json weights = Json::array();  // stable weights, in arrival order
  Json weight_cleared = nullptr;
  Json xray = Json::array();
  Json hits = Json::array();
  Json screening_errors = Json::array();  // db.watchlist.error: "not screened", never clean
  Json manifests = Json::array();
  Json problems = Json::array();  // reads that could not be used, with why
  Json risk = nullptr;            // the latest risk.assessment
  uint64_t risk_assessments = 0;
  Json facts = Json::object();  // key -> {value, source, time_us}
  Json notes = Json::array();
  Json hold = nullptr;  // {reason, source, time_us} while held
  Json decision = nullptr;
  // The latest officer.override: {channel, previous_channel, risk_channel, reason, user, role,
  // source, id, time_us}. It stands over every assessment, earlier or later (Channel()).
  Json channel_override = nullptr;
  uint64_t overrides = 0;
  Json evidence = Json::array();  // ids of every message attached
  uint64_t evidence_total = 0;
  std::map<std::string, uint64_t> dropped;  // list -> items not kept

  // The channel the officer works to: the override's when a supervisor set one, else the
  // latest assessment's; "" when neither.
  std::string Channel() const;
  // The latest assessment's channel; "" when none.
  std::string RiskChannel() const;

  // The body of crossing.opened / updated / closed (schema crossing.updated v1).
  Json ToJson() const;
  // Back from ToJson's form (the store). nullopt and *error when it is not one.
  static std::optional<Crossing> FromJson(const Json& j, std::string* error);
};

// The outcome of applying one message to a picture.
struct Applied {
  bool ok = true;
  std::string error;  // the body could not be used: why (recorded in `problems`)
};

// Applies a message of `meta.topic` with body `body` (a JSON object) to *c: records the
// evidence and what the topic says. Topics: scanner.plate.read, scanner.document.read,
// scanner.container.read, scale.weight.stable, scale.weight.cleared, scanner.xray.scan,
// db.watchlist.hit, db.watchlist.error, db.manifest.match, db.manifest.unmatched,
// risk.assessment. Does not touch state, times or revision.
Applied ApplyMessage(Crossing* c, const Meta& meta, const Json& body, const Limits& limits);

// Appends to a bounded list of *c, counting what does not fit under `name`.
void AppendBounded(Crossing* c, Json* list, const char* name, Json item, size_t cap);

// The normalised values the store indexes for search: ("plate", "01KG777AAA"),
// ("document", "AN9876543"), ("container", "MSCU4418392"), ("name", "TOKTOGULOV NURLAN").
std::vector<std::pair<std::string, std::string>> SearchKeys(const Crossing& c);

// A name for search: transliterated to Latin upper case, parts joined by single spaces
// ("Токтогулов  Нурлан" -> "TOKTOGULOV NURLAN").
std::string SearchName(std::string_view name);

// The plate as scanner.plate.read normalises it (plate-reader's NormalisePlate).
std::string SearchPlate(std::string_view plate);

// Document numbers and container codes: upper case, only A-Z 0-9.
std::string SearchCode(std::string_view code);

// The channel the officer works to, from a picture's `override` and `risk` members: the
// override's when a supervisor set one, else the latest assessment's; "" when neither. The
// one place this rule is written in C++ (Crossing::Channel, Summary); the console's page
// applies it to the pictures it is sent.
struct ChannelChoice {
  std::string channel;
  bool overridden = false;
};
ChannelChoice ChooseChannel(const Json& channel_override, const Json& risk);

// A short form of a picture (Crossing::ToJson) for search results and listings: id, lane,
// state, times, close reason, plates, names (surname, given names), documents, containers,
// the number of hits, the channel (an override's, else the assessment's) and whether it was
// overridden, the decision.
Json Summary(const Json& picture);

// "2026-11-28T03:07:28Z" (UTC, seconds) for microseconds since the epoch.
std::string UtcText(int64_t time_us);

}  // namespace kordon::crossings

#endif  // KORDON_PLUGINS_CROSSINGS_CROSSING_H_
