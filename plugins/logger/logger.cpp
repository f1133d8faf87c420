// logger.cpp — writes every message it receives to the host log, one line each.
//
// Subscribes to everything ("") by default; a site narrows it with the host's own
// `subscribe = prefix1, prefix2` key on the instance. Publishes nothing.
//
// Threading: the host calls every function on the instance's own thread, one at a time.

#include <kordon/plugin.hpp>

#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace {

constexpr int64_t kDefaultMaxBody = 200;
constexpr int64_t kMaxMaxBody = 1 << 20;
constexpr char kEllipsis[] = "\u2026";  // "…"

// The log level named by the `level` setting. Throws std::invalid_argument naming the setting.
kordon_log_level ParseLevel(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "debug") return KORDON_LOG_DEBUG;
  if (name == "info") return KORDON_LOG_INFO;
  if (name == "warn") return KORDON_LOG_WARN;
  throw std::invalid_argument("setting 'level' must be one of debug, info, warn; got '" + name +
                              "'");
}

// Appends value, or "-" when it is empty, so that every field of the line is one word.
void AppendOrDash(std::string_view value, std::string* line) {
  if (value.empty()) {
    line->push_back('-');
  } else {
    line->append(value);
  }
}

// Appends at most max_chars characters (UTF-8 code points) of body, with control characters
// turned into spaces so that the entry stays one line. When body is longer, appends
// " …(N bytes)" with N the full size of the body.
void AppendBody(std::string_view body, size_t max_chars, std::string* line) {
  size_t chars = 0;
  size_t pos = 0;
  for (; pos < body.size(); ++pos) {
    const auto byte = static_cast<unsigned char>(body[pos]);
    const bool starts_char = (byte & 0xC0) != 0x80;
    if (starts_char && chars++ == max_chars) break;
    line->push_back(byte < 0x20 || byte == 0x7F ? ' ' : body[pos]);
  }
  if (pos < body.size()) {
    line->append(" ");
    line->append(kEllipsis);
    line->append("(");
    line->append(std::to_string(body.size()));
    line->append(" bytes)");
  }
}

class Logger : public kordon::Plugin {
 public:
  // Throws std::invalid_argument naming a bad setting (create then fails).
  explicit Logger(kordon::Host host)
      : Plugin(std::move(host)),
        level_(ParseLevel(this->host().ConfigOr("level", "info"))),
        max_body_(ReadMaxBody(this->host())) {}

  kordon::Status OnMessage(const kordon::Message& message) override {
    ++received_;
    std::string line;
    line.reserve(message.topic().size() + message.source().size() + max_body_ + 64);
    line.append(message.topic());
    line.append(" lane=");
    AppendOrDash(message.lane(), &line);
    line.append(" crossing=");
    AppendOrDash(message.crossing_id(), &line);
    line.append(" from=");
    AppendOrDash(message.source(), &line);
    line.push_back(' ');
    AppendBody(message.body(), max_body_, &line);
    host().Log(level_, line);
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    host().Info("logger: " + std::to_string(received_) + " messages received");
    return kordon::Status::Ok();
  }

 private:
  static size_t ReadMaxBody(const kordon::Host& host) {
    const int64_t n = host.ConfigInt("max_body", kDefaultMaxBody);
    if (n < 0 || n > kMaxMaxBody)
      throw std::invalid_argument("setting 'max_body' must be between 0 and " +
                                  std::to_string(kMaxMaxBody) + " (characters), got " +
                                  std::to_string(n));
    return static_cast<size_t>(n);
  }

  const kordon_log_level level_;
  const size_t max_body_;
  uint64_t received_ = 0;
};

}  // namespace

KORDON_PLUGIN(Logger, {.name = "logger",
                       .kind = KORDON_KIND_OTHER,
                       .vendor = "Kordon",
                       .version = "1.0.0",
                       .description = "Writes every message it receives to the host log",
                       .publishes = {},
                       .subscribes = {""},
                       .services = {}})
