// profile.h — a risk profile: the administrator's file (README.md, "The profile file") parsed
// and validated into criteria, score thresholds, expected rates and random selection. Every
// error names FILE:LINE and what is wrong; a profile is either whole or refused.
//
// Pure library: no SDK or JSON types. Thread safety: a Profile is immutable once parsed and
// is shared (std::shared_ptr<const Profile>) between the threads that assess with it.
#ifndef KORDON_PLUGINS_RISK_RULES_PROFILE_H_
#define KORDON_PLUGINS_RISK_RULES_PROFILE_H_

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channel.h"
#include "expression.h"

namespace kordon::risk {

// Inspection channels (plugins/common/channel.h), weakest first.
using ::kordon::Channel;
using ::kordon::ChannelList;
using ::kordon::ChannelName;
using ::kordon::kChannelCount;
using ::kordon::ParseChannel;
using ::kordon::Stronger;

// A criterion's text with {fact} placeholders resolved to fact slots of the profile.
struct TextTemplate {
  struct Part {
    bool is_fact = false;
    std::string literal;  // !is_fact
    size_t slot = 0;      // is_fact: index into Profile::fact_names
  };
  std::vector<Part> parts;
};

struct Criterion {
  std::string id;
  int line = 0;  // of its [criterion ...] header
  std::unique_ptr<Expression> when;
  double weight = 0;                    // added to the score when it fires (0..1000)
  std::optional<Channel> channel;       // a floor for the channel when it fires
  std::optional<double> random_rate;    // raises the random selection rate when it fires
  std::string text;                     // as written
  TextTemplate text_template;
};

// A `[facts]` setting, passed to the fact mapping (facts.h) that validates it.
struct ProfileSetting {
  std::string value;
  int line = 0;
};

struct Profile {
  std::string id;
  std::string version;
  std::string description;
  std::string file;    // the path it was read from (or the name given to ParseProfile)
  std::string digest;  // 16 hex digits of FNV-1a 64 over the file's bytes
  // Score thresholds: a score ≥ threshold[c] gives at least channel c (green has none).
  std::array<std::optional<double>, kChannelCount> threshold;
  // Expected share of crossings per channel (0..1), for monitoring and `kordon risk compare`.
  std::array<std::optional<double>, kChannelCount> expected;
  double random_rate = 0;  // the office's minimum random selection rate (0..1)
  Channel random_channel = Channel::kRed;
  std::vector<Criterion> criteria;
  // Every fact a condition or a text reads; criteria index it through their slots.
  std::vector<std::string> fact_names;
  std::map<std::string, ProfileSetting, std::less<>> fact_settings;  // the [facts] section

  // The channel a score alone gives.
  Channel ScoreChannel(double score) const;
  // FILE:LINE for messages about a [facts] setting.
  std::string Where(int line) const { return file + ":" + std::to_string(line); }
};

struct ProfileResult {
  std::shared_ptr<const Profile> profile;  // null on error
  std::string error;                       // "FILE:LINE: what" (empty when ok)
  bool ok() const { return profile != nullptr; }
};

// Parses profile text. `file` names it in errors. `catalog` (may be null: any fact name
// accepted) checks fact names and types in conditions and texts.
ProfileResult ParseProfile(std::string_view text, const std::string& file,
                           const FactCatalog* catalog);
// Reads and parses a file (at most 4 MiB).
ProfileResult LoadProfile(const std::string& path, const FactCatalog* catalog);

// FNV-1a 64 over bytes, as used for digests and hashes here (offset 0xcbf29ce484222325,
// prime 0x100000001b3).
uint64_t Fnv1a64(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ULL);
std::string Hex64(uint64_t v);

}  // namespace kordon::risk

#endif  // KORDON_PLUGINS_RISK_RULES_PROFILE_H_
