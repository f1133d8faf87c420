// bench_sink.cpp — a do-nothing subscriber for journal_bench: it measures what the host's bus
// can deliver to one plugin, the ceiling for any plugin that records every message.
//
// Behaviour: counts every message it receives (subscribe it to `*`); on a message with topic
// "bench.sink.done" it publishes "bench.sink.seen" {"n": <messages counted before it>}. The
// bus keeps one publisher's messages in order, so a client that sends N messages and then
// bench.sink.done learns when all N have reached the plugin.
//
// Threading: everything runs on the instance's own thread, one call at a time.

#include <kordon/plugin.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace {

class Sink : public kordon::Plugin {
 public:
  explicit Sink(kordon::Host host) : Plugin(std::move(host)) {}

  kordon::Status OnMessage(const kordon::Message& m) override {
    if (m.topic() == "bench.sink.done") {
      return host().Publish("bench.sink.seen", "{\"n\":" + std::to_string(seen_) + "}");
    }
    if (m.topic() != "bench.sink.seen") ++seen_;
    return kordon::Status::Ok();
  }

 private:
  uint64_t seen_ = 0;
};

}  // namespace

KORDON_PLUGIN(Sink, {.name = "bench_sink",
                     .kind = KORDON_KIND_DATABASE,
                     .vendor = "Kordon",
                     .version = "1.0.0",
                     .description = "Counts what it receives (journal_bench's bus ceiling)",
                     .publishes = {"bench.sink.seen"},
                     .subscribes = {""},
                     .services = {}})
