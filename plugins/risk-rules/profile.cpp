// profile.cpp — the profile file reader: sections, key = value lines, indented continuation
// lines, and the checks that make a broken file fail with FILE:LINE instead of a profile that
// silently never fires.
#include "profile.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "utf8.h"

namespace kordon::risk {

Channel Profile::ScoreChannel(double score) const {
  Channel c = Channel::kGreen;
  for (size_t i = 1; i < kChannelCount; ++i)
    if (threshold[i] && score >= *threshold[i]) c = Stronger(c, static_cast<Channel>(i));
  return c;
}

uint64_t Fnv1a64(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

namespace {

constexpr size_t kMaxFileBytes = 4 << 20;
constexpr size_t kMaxCriteria = 10000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// At most `n` bytes of s, not cutting a UTF-8 sequence.
std::string_view Prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || c == '.';
}

bool ValidId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!IdChar(c)) return false;
  return true;
}

std::optional<double> Number(std::string_view s) {
  s = Trim(s);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// "2%", "2.5 %" -> 0.02, 0.025. A bare number is refused: "2" could mean 2 % or 200 %.
std::optional<double> Percent(std::string_view s) {
  s = Trim(s);
  if (s.empty() || s.back() != '%') return std::nullopt;
  s.remove_suffix(1);
  std::optional<double> v = Number(s);
  if (!v || *v < 0 || *v > 100) return std::nullopt;
  return *v / 100.0;
}

// One `key = value` of the file, continuation lines folded in.
struct Entry {
  std::string key;
  std::string value;
  int line = 0;
  // Where each piece of `value` came from: (offset in value, line, column of that offset).
  std::vector<std::tuple<size_t, int, size_t>> pieces;

  // The line and 1-based column of an offset into value.
  std::pair<int, size_t> At(size_t offset) const {
    std::pair<int, size_t> at{line, 1};
    for (const auto& [start, l, col] : pieces)
      if (offset >= start) at = {l, col + (offset - start)};
    return at;
  }
};

struct Section {
  std::string kind;  // "profile", "channels", "rates", "facts", "criterion"
  std::string id;    // criterion id
  int line = 0;
  std::vector<Entry> entries;
};

class Reader {
 public:
  Reader(std::string_view text, std::string file, const FactCatalog* catalog)
      : text_(text), file_(std::move(file)), catalog_(catalog) {}

  ProfileResult Run() {
    auto profile = std::make_shared<Profile>();
    profile->file = file_;
    profile->digest = Hex64(Fnv1a64(text_));
    if (!Split()) return Fail();
    std::set<std::string> seen_kinds;
    std::set<std::string> seen_ids;
    for (Section& s : sections_) {
      if (s.kind != "criterion" && !seen_kinds.insert(s.kind).second) {
        Error(s.line, "section [" + s.kind + "] appears twice");
        return Fail();
      }
      if (s.kind == "criterion" && !seen_ids.insert(s.id).second) {
        Error(s.line, "criterion '" + s.id + "' is defined twice");
        return Fail();
      }
      bool ok = true;
      if (s.kind == "profile") ok = ReadProfile(s, *profile);
      else if (s.kind == "channels") ok = ReadChannels(s, *profile);
      else if (s.kind == "rates") ok = ReadRates(s, *profile);
      else if (s.kind == "facts") ok = ReadFacts(s, *profile);
      else ok = ReadCriterion(s, *profile);
      if (!ok) return Fail();
    }
    if (!seen_kinds.count("profile")) {
      Error(1, "the [profile] section (id, version) is missing");
      return Fail();
    }
    if (profile->criteria.size() > kMaxCriteria) {
      Error(1, "more than " + std::to_string(kMaxCriteria) + " criteria");
      return Fail();
    }
    return ProfileResult{std::move(profile), ""};
  }

 private:
  ProfileResult Fail() { return ProfileResult{nullptr, error_}; }

  bool Error(int line, const std::string& what) {
    if (error_.empty()) error_ = file_ + ":" + std::to_string(line) + ": " + what;
    return false;
  }

  // Lines into sections and entries.
  bool Split() {
    int line_no = 0;
    size_t pos = 0;
    Entry* last = nullptr;
    while (pos <= text_.size()) {
      size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) nl = text_.size();
      std::string_view raw = text_.substr(pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      // Texts go into JSON bodies and onto officers' screens: UTF-8 only.
      if (!kordon::text::IsValidUtf8(raw)) return Error(line_no, "the line is not valid UTF-8");
      for (char c : raw)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
          return Error(line_no, "control character in the line");
      const std::string_view t = Trim(raw);
      if (t.empty()) {
        last = nullptr;
        if (nl == text_.size()) break;
        continue;
      }
      if (t.front() == '#' || t.front() == ';') {
        if (nl == text_.size()) break;
        continue;
      }
      const bool indented = raw.front() == ' ' || raw.front() == '\t';
      if (indented && last != nullptr) {
        // A continuation of the previous value: joined with one space.
        const size_t col = static_cast<size_t>(t.data() - raw.data()) + 1;
        last->value += ' ';
        last->pieces.emplace_back(last->value.size(), line_no, col);
        last->value += t;
      } else if (t.front() == '[') {
        last = nullptr;
        if (t.back() != ']') return Error(line_no, "a section header ends with ']'");
        std::string_view inside = Trim(t.substr(1, t.size() - 2));
        Section s;
        s.line = line_no;
        const size_t space = inside.find_first_of(" \t");
        std::string_view kind = inside.substr(0, space);
        std::string_view id = space == std::string_view::npos ? "" : Trim(inside.substr(space));
        if (kind == "criterion") {
          if (!ValidId(id))
            return Error(line_no, "a criterion needs an id of 1-64 letters, digits, '_', '-', "
                                  "'.': [criterion weight-over-manifest]");
        } else if (kind == "profile" || kind == "channels" || kind == "rates" || kind == "facts") {
          if (!id.empty())
            return Error(line_no, "section [" + std::string(kind) + "] takes no name");
        } else {
          return Error(line_no, "unknown section [" + std::string(inside) +
                                    "]; expected [profile], [channels], [rates], [facts] or "
                                    "[criterion ID]");
        }
        s.kind = std::string(kind);
        s.id = std::string(id);
        sections_.push_back(std::move(s));
      } else {
        if (indented)
          return Error(line_no, "an indented line continues a value, but there is none above");
        if (sections_.empty())
          return Error(line_no, "a setting before the first section; start with [profile]");
        const size_t eq = t.find('=');
        if (eq == std::string_view::npos)
          return Error(line_no, "expected 'key = value' or a [section], found '" +
                                    std::string(Prefix(t, 40)) + "'");
        const std::string_view key = Trim(t.substr(0, eq));
        const std::string_view value = Trim(t.substr(eq + 1));
        if (!ValidId(key)) return Error(line_no, "'" + std::string(key) + "' is not a key");
        Section& s = sections_.back();
        for (const Entry& e : s.entries)
          if (e.key == key)
            return Error(line_no, "'" + std::string(key) + "' is set twice in this section "
                                  "(first on line " + std::to_string(e.line) + ")");
        Entry e;
        e.key = std::string(key);
        e.value = std::string(value);
        e.line = line_no;
        const size_t col = value.empty() ? raw.size() + 1
                                         : static_cast<size_t>(value.data() - raw.data()) + 1;
        e.pieces.emplace_back(0, line_no, col);
        s.entries.push_back(std::move(e));
        last = &s.entries.back();
      }
      if (nl == text_.size()) break;
    }
    return true;
  }

  bool Unknown(const Section& s, const Entry& e, std::string_view allowed) {
    return Error(e.line, "unknown setting '" + e.key + "' in [" + s.kind + "]; allowed: " +
                             std::string(allowed));
  }

  bool ReadProfile(const Section& s, Profile& p) {
    for (const Entry& e : s.entries) {
      if (e.key == "id") {
        if (!ValidId(e.value))
          return Error(e.line, "'id' must be 1-64 letters, digits, '_', '-', '.'");
        p.id = e.value;
      } else if (e.key == "version") {
        if (e.value.empty() || e.value.size() > 64)
          return Error(e.line, "'version' must be 1-64 characters");
        p.version = e.value;
      } else if (e.key == "description") {
        p.description = e.value;
      } else {
        return Unknown(s, e, "id, version, description");
      }
    }
    if (p.id.empty()) return Error(s.line, "[profile] needs 'id'");
    if (p.version.empty())
      return Error(s.line, "[profile] needs 'version' (recorded in every assessment)");
    return true;
  }

  bool ReadChannels(const Section& s, Profile& p) {
    for (const Entry& e : s.entries) {
      std::optional<Channel> c = ParseChannel(e.key);
      if (!c || *c == Channel::kGreen)
        return Unknown(s, e,
                       ChannelList(Channel::kBlue, ", ") + " (the score from which each applies)");
      std::optional<double> v = Number(e.value);
      if (!v || *v < 0 || *v > 1e6)
        return Error(e.line, "'" + e.key + "' must be a score between 0 and 1000000, got '" +
                                 e.value + "'");
      p.threshold[static_cast<size_t>(*c)] = *v;
    }
    // A stronger channel must not need a lower score than a weaker one.
    std::optional<double> below;
    std::string below_name;
    for (size_t i = 1; i < kChannelCount; ++i) {
      if (!p.threshold[i]) continue;
      if (below && *p.threshold[i] <= *below) {
        const Entry* e = nullptr;
        for (const Entry& x : s.entries)
          if (x.key == ChannelName(static_cast<Channel>(i))) e = &x;
        return Error(e ? e->line : s.line,
                     std::string("the '") + ChannelName(static_cast<Channel>(i)) +
                         "' threshold must be above the '" + below_name +
                         "' threshold (channels go green < blue < yellow < red)");
      }
      below = p.threshold[i];
      below_name = ChannelName(static_cast<Channel>(i));
    }
    return true;
  }

  bool ReadRates(const Section& s, Profile& p) {
    int sum_line = s.line;
    for (const Entry& e : s.entries) {
      if (e.key.rfind("expected_", 0) == 0) {
        std::optional<Channel> c = ParseChannel(std::string_view(e.key).substr(9));
        if (!c) return Unknown(s, e, "expected_green|blue|yellow|red, random, random_channel");
        std::optional<double> v = Percent(e.value);
        if (!v) return Error(e.line, "'" + e.key + "' must be a percentage such as 5%");
        p.expected[static_cast<size_t>(*c)] = *v;
        sum_line = e.line;
      } else if (e.key == "random") {
        std::optional<double> v = Percent(e.value);
        if (!v) return Error(e.line, "'random' must be a percentage such as 2%");
        p.random_rate = *v;
      } else if (e.key == "random_channel") {
        std::optional<Channel> c = ParseChannel(e.value);
        if (!c || *c == Channel::kGreen)
          return Error(e.line, "'random_channel' must be " + ChannelList(Channel::kBlue));
        p.random_channel = *c;
      } else {
        return Unknown(s, e, "expected_green|blue|yellow|red, random, random_channel");
      }
    }
    double sum = 0;
    size_t given = 0;
    for (const auto& x : p.expected)
      if (x) {
        sum += *x;
        ++given;
      }
    if (sum > 1.0 + 1e-9) return Error(sum_line, "the expected rates add up to more than 100%");
    if (given == kChannelCount && sum < 1.0 - 0.005)
      return Error(sum_line, "the four expected rates must add up to 100%");
    return true;
  }

  bool ReadFacts(const Section& s, Profile& p) {
    for (const Entry& e : s.entries) p.fact_settings[e.key] = ProfileSetting{e.value, e.line};
    return true;
  }

  bool ReadCriterion(const Section& s, Profile& p) {
    Criterion c;
    c.id = s.id;
    c.line = s.line;
    const Entry* when = nullptr;
    const Entry* text = nullptr;
    bool has_weight = false;
    for (const Entry& e : s.entries) {
      if (e.key == "when") {
        when = &e;
      } else if (e.key == "text") {
        text = &e;
      } else if (e.key == "weight") {
        std::optional<double> v = Number(e.value);
        // Negative weights would let a firing criterion lower the channel: a stronger
        // indicator must never give a weaker channel. Trusted traders are conditions instead.
        if (!v || *v < 0 || *v > 1000)
          return Error(e.line, "'weight' must be a number between 0 and 1000, got '" + e.value +
                                   "'");
        c.weight = *v;
        has_weight = true;
      } else if (e.key == "channel") {
        std::optional<Channel> ch = ParseChannel(e.value);
        if (!ch)
          return Error(e.line, "'channel' must be " + ChannelList(Channel::kBlue) + ", got '" +
                                   e.value + "'");
        if (*ch == Channel::kGreen)
          return Error(e.line, "'channel = green' would never change anything (a direct channel "
                               "is a floor); use 'weight = 0' for a note");
        c.channel = *ch;
      } else if (e.key == "random") {
        std::optional<double> v = Percent(e.value);
        if (!v) return Error(e.line, "'random' must be a percentage such as 10%");
        c.random_rate = *v;
      } else {
        return Unknown(s, e, "when, weight, channel, random, text");
      }
    }
    const std::string where = "criterion '" + c.id + "': ";
    if (when == nullptr) return Error(s.line, where + "'when' (the condition) is missing");
    if (text == nullptr)
      return Error(s.line, where + "'text' (what the officer reads) is missing");
    if (!has_weight && !c.channel && !c.random_rate)
      return Error(s.line, where + "give it a 'weight', a 'channel' or a 'random' rate");
    if (when->value.empty()) return Error(when->line, where + "'when' is empty");
    std::string error;
    size_t offset = 0;
    c.when = Expression::Parse(when->value, catalog_, &error, true, &p.fact_names, &offset);
    if (!c.when) {
      const auto [line, col] = when->At(offset);
      const size_t colon = error.find(": ");
      return Error(line, where + "when, column " + std::to_string(col) + ": " +
                             (colon == std::string::npos ? error : error.substr(colon + 2)));
    }
    if (text->value.empty()) return Error(text->line, where + "'text' is empty");
    c.text = text->value;
    if (!Template(*text, p, &c.text_template, where)) return false;
    p.criteria.push_back(std::move(c));
    return true;
  }

  // "Weight {weight_discrepancy_pct}% over" -> parts; "{{" and "}}" are literal braces.
  bool Template(const Entry& e, Profile& p, TextTemplate* out, const std::string& where) {
    const std::string& t = e.value;
    std::string literal;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '{' && i + 1 < t.size() && t[i + 1] == '{') {
        literal += '{';
        ++i;
      } else if (t[i] == '}' && i + 1 < t.size() && t[i + 1] == '}') {
        literal += '}';
        ++i;
      } else if (t[i] == '{') {
        const size_t close = t.find('}', i);
        const auto [line, col] = e.At(i);
        if (close == std::string::npos)
          return Error(line, where + "text, column " + std::to_string(col) +
                                 ": '{' without '}' (write '{{' for a brace)");
        const std::string name = t.substr(i + 1, close - i - 1);
        if (catalog_ != nullptr && !catalog_->Lookup(name)) {
          const std::string near = catalog_->Closest(name);
          return Error(line, where + "text, column " + std::to_string(col) + ": unknown fact '" +
                                 name + "'" +
                                 (near.empty() ? "" : " (did you mean '" + near + "'?)"));
        }
        if (name.empty() || name.size() > 128)
          return Error(line, where + "text, column " + std::to_string(col) + ": empty '{}'");
        if (!literal.empty()) out->parts.push_back({false, std::move(literal), 0});
        literal.clear();
        size_t slot = 0;
        while (slot < p.fact_names.size() && p.fact_names[slot] != name) ++slot;
        if (slot == p.fact_names.size()) p.fact_names.push_back(name);
        out->parts.push_back({true, "", slot});
        i = close;
      } else if (t[i] == '}') {
        const auto [line, col] = e.At(i);
        return Error(line, where + "text, column " + std::to_string(col) +
                               ": '}' without '{' (write '}}' for a brace)");
      } else {
        literal += t[i];
      }
    }
    if (!literal.empty()) out->parts.push_back({false, std::move(literal), 0});
    return true;
  }

  std::string_view text_;
  std::string file_;
  const FactCatalog* catalog_;
  std::vector<Section> sections_;
  std::string error_;
};

}  // namespace

ProfileResult ParseProfile(std::string_view text, const std::string& file,
                           const FactCatalog* catalog) {
  if (text.size() > kMaxFileBytes) return ProfileResult{nullptr, file + ":1: larger than 4 MiB"};
  return Reader(text, file, catalog).Run();
}

ProfileResult LoadProfile(const std::string& path, const FactCatalog* catalog) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ProfileResult{nullptr, path + ": cannot be read"};
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) return ProfileResult{nullptr, path + ": larger than 4 MiB"};
  }
  if (in.bad()) return ProfileResult{nullptr, path + ": read error"};
  return ParseProfile(text, path, catalog);
}

}  // namespace kordon::risk
