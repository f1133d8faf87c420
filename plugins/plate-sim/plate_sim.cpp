// plate_sim.cpp — a simulated licence-plate camera.
//
// Publishes one scanner.plate.read every interval_ms, picking plate texts from a configured
// list with a seeded generator, so that a given configuration always produces the same
// sequence of reads. Stands in for a real ANPR camera on a demo site or in tests.
//
// Threading: the host constructs the instance and calls Start, Stop and the timer on the
// instance's own thread, one call at a time, so no member needs a lock.

#include <kordon/plugin.hpp>

#include "plate.h"  // plate-reader's normaliser: the sim publishes what a reader would
#include "utf8.h"

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using kordon::text::IsValidUtf8;

// The Cyrillic literals below must reach the binary as UTF-8.
static_assert(sizeof("А") == 3, "compile this file with a UTF-8 execution character set");

constexpr char kTopic[] = "scanner.plate.read";

constexpr int64_t kDefaultIntervalMs = 2000;
constexpr int64_t kMinIntervalMs = 10;
constexpr int64_t kMaxIntervalMs = 3'600'000;
constexpr int64_t kDefaultSeed = 1;

// Confidence is drawn in hundredths from [kMinConfidence, kMinConfidence + kConfidenceSteps).
constexpr int kMinConfidence = 80;
constexpr int kConfidenceSteps = 20;

// A realistic mix of Kyrgyz plates ("01 KG 123 ABC": region, KG, digits, letters) and Kazakh
// plates ("123 ABC 02": digits, letters, two-digit region), as officers and cameras write
// them: some with Cyrillic letters that look Latin (АВС, ТХЕ, АЕК, КМ, ОРН), some with dashes.
constexpr char kDefaultPlates[] =
    "01 KG 123 ABC, 01KG 777 AAA, 02 KG 345 АВС, 08-KG-456-EKX, 07 KG 321 ТХЕ, "
    "А 123 ВС 02, 123 ABC 02, 777 АЕК 05, 345-OPH-17, 050 КМ 01, 911 ОРН 15";

// The Kazakh pattern: an optional letter, three digits, two or three letters and a two-digit
// region code, e.g. "123ABC02" or "A123BC02" (normalised).
bool IsKazakhPattern(std::string_view plate) {
  const auto count = [&](size_t from, bool (*is)(char)) {
    size_t n = 0;
    while (from + n < plate.size() && is(plate[from + n])) ++n;
    return n;
  };
  constexpr auto is_letter = [](char c) { return c >= 'A' && c <= 'Z'; };
  constexpr auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t pos = count(0, is_letter);
  if (pos > 1) return false;
  size_t n = count(pos, is_digit);
  if (n != 3) return false;
  pos += n;
  n = count(pos, is_letter);
  if (n < 2 || n > 3) return false;
  pos += n;
  n = count(pos, is_digit);
  return n == 2 && pos + n == plate.size();
}

// "KG" when the plate carries the KG mark, "KZ" for the Kazakh pattern, else "". The mark is
// looked for in the normalised plate, so that "01 kg 555 abc" and a Cyrillic "К" count too.
std::string CountryOf(std::string_view plate) {
  if (plate.find("KG") != std::string_view::npos) return "KG";
  if (IsKazakhPattern(plate)) return "KZ";
  return "";
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  const size_t first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

// One entry of the `plates` setting, analysed once at construction.
struct PlateText {
  std::string raw;      // as listed, trimmed
  std::string plate;    // kordon::plate::NormalisePlate(raw).plate
  std::string country;  // CountryOf(plate)
};

// Splits the comma-separated `plates` setting. Throws std::invalid_argument naming the setting
// when it lists nothing or an entry is not UTF-8 or has no characters besides separators.
std::vector<PlateText> ParsePlates(std::string_view list) {
  std::vector<PlateText> plates;
  size_t index = 0;
  for (size_t start = 0; start <= list.size(); ++index) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view raw = Trim(list.substr(start, comma - start));
    start = comma + 1;
    if (raw.empty()) continue;
    if (!IsValidUtf8(raw))
      throw std::invalid_argument("setting 'plates': entry " + std::to_string(index + 1) +
                                  " is not valid UTF-8");
    kordon::plate::NormalisedPlate normalised = kordon::plate::NormalisePlate(raw);
    if (!normalised.ok)
      throw std::invalid_argument("setting 'plates': entry '" + std::string(raw) +
                                  "' is not a plate: " + normalised.error);
    std::string plate = std::move(normalised.plate);
    std::string country = CountryOf(plate);
    plates.push_back({std::string(raw), std::move(plate), std::move(country)});
  }
  if (plates.empty())
    throw std::invalid_argument("setting 'plates' must list at least one plate, separated by commas");
  return plates;
}

class PlateSim : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one, which
  // makes create fail with KORDON_E_INVALID_ARGUMENT.
  explicit PlateSim(kordon::Host host)
      : Plugin(std::move(host)),
        interval_(ReadInterval(this->host())),
        camera_(this->host().ConfigOr("camera", this->host().instance_name())),
        plates_(ParsePlates(this->host().ConfigOr("plates", kDefaultPlates))),
        rng_(static_cast<uint64_t>(this->host().ConfigInt("seed", kDefaultSeed))) {
    if (camera_.empty()) throw std::invalid_argument("setting 'camera' must not be empty");
    if (!IsValidUtf8(camera_)) throw std::invalid_argument("setting 'camera' is not valid UTF-8");
  }

  kordon::Status Start() override {
    if (timer_) return kordon::Status::Ok();
    kordon::TimerId id = 0;
    kordon::Status s = host().StartTimer(interval_, interval_, [this] { Tick(); }, &id);
    if (!s.ok()) return s;
    timer_ = id;
    host().Info("camera " + camera_ + ": " + std::to_string(plates_.size()) +
                " plates, one read every " + std::to_string(interval_.count()) + " ms");
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    if (timer_) {
      kordon::Status s = host().CancelTimer(*timer_);
      if (!s.ok()) host().Warn("cancelling the read timer: " + s.ToString());
      timer_.reset();
    }
    host().Info("camera " + camera_ + ": " + std::to_string(published_) + " reads published, " +
                std::to_string(publish_failures_) + " failed");
    return kordon::Status::Ok();
  }

 private:
  static std::chrono::milliseconds ReadInterval(const kordon::Host& host) {
    const int64_t ms = host.ConfigInt("interval_ms", kDefaultIntervalMs);
    if (ms < kMinIntervalMs || ms > kMaxIntervalMs)
      throw std::invalid_argument("setting 'interval_ms' must be between " +
                                  std::to_string(kMinIntervalMs) + " and " +
                                  std::to_string(kMaxIntervalMs) + " (milliseconds), got " +
                                  std::to_string(ms));
    return std::chrono::milliseconds(ms);
  }

  // One simulated read. Never throws: a failed publish is logged and counted, and the
  // sequence number it used is not reused, so a gap downstream shows the loss.
  void Tick() noexcept {
    try {
      ++sequence_;
      const PlateText& text = plates_[rng_() % plates_.size()];
      const int hundredths = kMinConfidence + static_cast<int>(rng_() % kConfidenceSteps);
      nlohmann::ordered_json body = {
          {"camera", camera_},
          {"raw", text.raw},
          {"plate", text.plate},
          {"confidence", hundredths / 100.0},
          {"country", text.country},
          {"image_ref", "sim://" + camera_ + "/" + std::to_string(sequence_) + ".jpg"},
          {"sequence", sequence_},
      };
      kordon::Status s = host().Publish(
          kTopic, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      if (s.ok()) {
        ++published_;
        return;
      }
      ++publish_failures_;
      host().Warn("read " + std::to_string(sequence_) + " not published: " + s.ToString() + " (" +
                  std::to_string(publish_failures_) + " failed so far)");
    } catch (const std::exception& e) {
      ++publish_failures_;
      try {
        host().Error(std::string("read ") + std::to_string(sequence_) + " failed: " + e.what());
      } catch (...) {
      }
    } catch (...) {
      ++publish_failures_;
    }
  }

  const std::chrono::milliseconds interval_;
  const std::string camera_;
  const std::vector<PlateText> plates_;
  std::mt19937_64 rng_;  // fully specified by the standard: the same seed, the same reads
  std::optional<kordon::TimerId> timer_;  // set while started
  uint64_t sequence_ = 0;                 // of the last read, 1-based
  uint64_t published_ = 0;
  uint64_t publish_failures_ = 0;
};

}  // namespace

KORDON_PLUGIN(PlateSim, {.name = "plate-sim",
                         .kind = KORDON_KIND_SCANNER,
                         .vendor = "Kordon",
                         .version = "1.0.0",
                         .description = "Simulated licence-plate camera (scanner.plate.read)",
                         .publishes = {kTopic},
                         .subscribes = {},
                         .services = {}})
