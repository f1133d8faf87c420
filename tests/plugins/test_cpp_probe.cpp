// test_cpp_probe.cpp — a test plugin that exercises the C++ wrapper (kordon/plugin.hpp).
//
// Behaviour (what the host's tests rely on). It subscribes to "test.probe.in" (not
// "test.probe", which would cover its own test.probe.seen and answer its answers):
//  - `throw_in_create=1`: the constructor throws std::runtime_error("asked to throw"); the
//    wrapper turns that into KORDON_E_FAILED from create.
//  - A message whose body contains "throw" (quoted) makes OnMessage throw; the wrapper turns
//    that into KORDON_E_INTERNAL and a log line, and the host keeps running.
//  - Any other message: publishes "test.probe.seen" {"n":<messages so far>,"topic":"<topic>"},
//    and answers a request (to service "probe") with {"pong":true,"n":<messages so far>}.
//  - `timer_ms`: Start starts a repeating timer publishing "test.probe.timer" {"n":<k>}.
//
// Threading: everything runs on the instance's own thread, one call at a time.

#include <kordon/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace {

class Probe : public kordon::Plugin {
 public:
  explicit Probe(kordon::Host host)
      : Plugin(std::move(host)) {
    if (this->host().ConfigOr("throw_in_create", "0") == "1")
      throw std::runtime_error("asked to throw");
    timer_ms_ = this->host().ConfigInt("timer_ms", 0);
    if (timer_ms_ < 0) throw std::invalid_argument("setting 'timer_ms' must not be negative");
  }

  kordon::Status Start() override {
    if (timer_ms_ == 0 || timer_) return kordon::Status::Ok();
    const std::chrono::milliseconds interval(timer_ms_);
    kordon::TimerId id = 0;
    kordon::Status s = host().StartTimer(interval, interval, [this] { Tick(); }, &id);
    if (s.ok()) timer_ = id;
    return s;
  }

  kordon::Status Stop() override {
    if (!timer_) return kordon::Status::Ok();
    kordon::Status s = host().CancelTimer(*timer_);
    timer_.reset();
    return s;
  }

  kordon::Status OnMessage(const kordon::Message& message) override {
    if (message.body().find("\"throw\"") != std::string_view::npos)
      throw std::runtime_error("asked to throw in OnMessage");
    ++seen_;
    const nlohmann::json seen = {{"n", seen_}, {"topic", message.topic()}};
    kordon::Status published = host().Publish("test.probe.seen", seen.dump());
    if (message.is_request()) {
      const nlohmann::json answer = {{"pong", true}, {"n", seen_}};
      kordon::Status replied = host().Reply(message, answer.dump());
      if (!replied.ok()) return replied;
    }
    return published;
  }

 private:
  void Tick() {
    ++ticks_;
    const nlohmann::json body = {{"n", ticks_}};
    kordon::Status s = host().Publish("test.probe.timer", body.dump());
    if (!s.ok()) host().Warn("timer publish: " + s.ToString());
  }

  int64_t timer_ms_ = 0;  // 0: no timer
  std::optional<kordon::TimerId> timer_;
  uint64_t seen_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace

KORDON_PLUGIN(Probe, {.name = "test-cpp-probe",
                      .kind = KORDON_KIND_OTHER,
                      .vendor = "Kordon tests",
                      .version = "1.0.0",
                      .description = "C++ wrapper test plugin: throws on request, probes, ticks",
                      .publishes = {"test.probe.seen", "test.probe.timer"},
                      .subscribes = {"test.probe.in"},
                      .services = {"probe"}})
