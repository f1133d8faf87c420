// replay.h — running a site procedure against a recorded stream with a simulated clock: the
// engine behind `kordon script test` and `kordon script check`'s dry run.
//
// The recording is JSON Lines in the format of `kordon tail --json` and journal exports (one
// message per line: topic, body, time_us, and optionally id, source, lane, crossing_id; other
// members are ignored). The clock starts at the first message's time and jumps from event to
// event: before each message, every timer due by its time fires, in order; after the last
// message the clock runs on for `settle_ms`, so that waits time out and timers fire. Nothing
// depends on the real clock, so a replay prints the same effects every time.
//
// What the script does is recorded as effects, in order: every kordon.publish (and the
// helpers built on it) as {"time_us", "topic", "lane"?, "crossing_id"?, "body"}, and every
// kordon.call as {"time_us", "call", "body"}. A call is answered from `services` (canned
// replies), else it fails after its timeout, as it would against a host without the service.
//
// Thread safety: every function runs on the calling thread; nothing is shared.
#ifndef KORDON_HOST_LUA_REPLAY_H_
#define KORDON_HOST_LUA_REPLAY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "environment.h"
#include "script.h"

namespace kordon::lua {

struct RecordedMessage {
  Message message;  // body filled, body_text empty
  int line = 0;     // in the recording
};

// Parses a recording; on the first bad line returns false with *error ("FILE:LINE: what").
// Blank lines are skipped. A message older than the one before it (sources interleave by a
// few microseconds in journal exports) is replayed at the later time: the clock never goes
// back.
bool ParseRecording(std::string_view text, const std::string& name,
                    std::vector<RecordedMessage>* out, std::string* error);

struct ReplayOptions {
  std::map<std::string, std::string> settings;  // kordon.setting
  // Canned replies per service: a JSON object is the reply to every call; an array holds
  // successive replies (the last one repeats). A reply {"$error": "text"} is an error reply.
  nlohmann::json services = nlohmann::json::object();
  std::int64_t settle_ms = 300'000;  // simulated time run after the last message
  std::int64_t start_us = 0;         // the clock before the first message (0: its time)
  Limits limits;
  std::uint64_t max_timer_fires = 1'000'000;  // a runaway kordon.every stops the replay
};

struct ReplayResult {
  bool loaded = false;  // false: load_error says why; nothing else ran
  ScriptError load_error;
  std::vector<nlohmann::json> effects;  // publishes and calls, in order
  std::vector<ScriptError> errors;      // runtime, budget, memory, api — each a failure
  std::vector<std::string> log;         // "+12.345 info truck.lua:8: ..." (simulated time)
  std::size_t messages = 0;             // dispatched
  std::uint64_t timer_fires = 0;
  bool runaway = false;                 // max_timer_fires was reached
  std::int64_t end_us = 0;              // the simulated clock at the end
};

ReplayResult Replay(std::string_view script_text, const std::string& script_name,
                    const std::vector<RecordedMessage>& recording, const ReplayOptions& options);

// Compares effects with an expectation (the same JSON objects, in the same order). An expected
// object matches when each of its members matches the actual one's (objects recursively, so an
// expectation may leave members out; arrays element by element and of equal length; numbers
// by value, 3 == 3.0). Returns the differences in words, empty when they match.
std::vector<std::string> CompareEffects(const std::vector<nlohmann::json>& expected,
                                        const std::vector<nlohmann::json>& actual);

}  // namespace kordon::lua

#endif  // KORDON_HOST_LUA_REPLAY_H_
