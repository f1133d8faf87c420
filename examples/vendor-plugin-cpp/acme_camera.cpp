// acme_camera.cpp — an example vendor plugin in C++ with the SDK's header-only wrapper
// (kordon/plugin.hpp): the "ACME LPR-2" licence-plate camera.
//
// A real plugin would read the camera's feed; this one replays the plates of its `plates`
// setting, one every `interval_ms`, so that the example runs anywhere. For each it publishes
// scanner.plate.read (sdk/schemas/scanner.plate.read.v1.json): the camera, what it read
// (`raw`), the plate normalised (letters and digits, upper case), a confidence and the
// country when the setting gives one ("01 KG 123 ABC/KG").
//
// Settings: plates (required: comma-separated, each "RAW" or "RAW/COUNTRY"), camera (default:
// the instance name), interval_ms (1000).
//
// Threading: the wrapper calls the constructor, Start, Stop, OnMessage and timer callbacks on
// the instance's thread, so the members need no lock.
#include <kordon/plugin.hpp>

#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Plate {
  std::string raw;
  std::string country;
};

std::vector<Plate> ParsePlates(const std::string& text) {
  std::vector<Plate> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      Plate p;
      const size_t slash = item.find('/');
      p.raw = item.substr(0, slash);
      if (slash != std::string::npos) p.country = item.substr(slash + 1);
      for (char c : p.raw + p.country)
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
          throw std::invalid_argument("setting 'plates': quotes, backslashes and control "
                                      "characters are not allowed");
      out.push_back(p);
    }
    start = end + 1;
  }
  if (out.empty()) throw std::invalid_argument("setting 'plates' is required (comma-separated)");
  return out;
}

std::string Normalise(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw)
    if (std::isalnum(c)) out += static_cast<char>(std::toupper(c));
  return out;
}

class AcmeCamera : public kordon::Plugin {
 public:
  // A constructor that throws makes create fail; the host logs the message.
  explicit AcmeCamera(kordon::Host h) : Plugin(std::move(h)) {
    plates_ = ParsePlates(host().ConfigOr("plates", ""));
    camera_ = host().ConfigOr("camera", host().instance_name());
    for (char c : camera_)
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
        throw std::invalid_argument("setting 'camera': quotes, backslashes and control "
                                    "characters are not allowed");
    interval_ms_ = host().ConfigInt("interval_ms", 1000);
    if (interval_ms_ < 10 || interval_ms_ > 3600000)
      throw std::invalid_argument("setting 'interval_ms' must be 10..3600000");
  }

  kordon::Status Start() override {
    const std::chrono::milliseconds every(interval_ms_);
    return host().StartTimer(every, every, [this] { Read(); }, &timer_);
  }

  kordon::Status Stop() override {
    host().Info("ACME LPR-2: " + std::to_string(sequence_) + " plates read");
    return host().CancelTimer(timer_);
  }

 private:
  void Read() {
    const Plate& p = plates_[sequence_ % plates_.size()];
    ++sequence_;
    std::string body = "{\"camera\":\"" + camera_ + "\",\"raw\":\"" + p.raw + "\",\"plate\":\"" +
                       Normalise(p.raw) + "\",\"confidence\":0.93,\"sequence\":" +
                       std::to_string(sequence_);
    if (!p.country.empty()) body += ",\"country\":\"" + p.country + "\"";
    body += "}";
    if (kordon::Status s = host().Publish("scanner.plate.read", body); !s.ok())
      host().Warn("publish failed: " + s.ToString());
  }

  std::vector<Plate> plates_;
  std::string camera_;
  int64_t interval_ms_ = 1000;
  kordon::TimerId timer_ = 0;
  uint64_t sequence_ = 0;
};

}  // namespace

KORDON_PLUGIN(AcmeCamera, {.name = "acme-camera",
                           .kind = KORDON_KIND_SCANNER,
                           .vendor = "ACME Vision (example)",
                           .version = "1.0.0",
                           .description = "ACME LPR-2 licence-plate camera (replays its plates)",
                           .publishes = {"scanner.plate.read"}});
