// Fuzz target `bridge_link`: KBL/1 frames as a partner (or anyone who reaches the listener)
// sends them (plugins/bridge/link_protocol). The input is frames separated by 0x1F. Promises:
// Decode never throws; what it accepts re-encodes to the same frames; a header DecodeHeader
// accepts has a 32-hex id, a site-name origin and a topic, and survives EncodeHeader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "link_protocol.h"

using namespace kordon::bridge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Frames frames;
  size_t start = 0;
  for (;;) {
    const size_t sep = in.find('\x1f', start);
    frames.emplace_back(in.substr(start, sep == std::string_view::npos ? in.npos : sep - start));
    if (sep == std::string_view::npos) break;
    start = sep + 1;
  }
  std::string error;
  std::optional<Command> c = Decode(frames, &error);
  FUZZ_CHECK(c.has_value() || !error.empty(), "a refusal says why");
  if (c) {
    Frames again;
    switch (c->kind) {
      case Command::Kind::kHello: again = Hello(c->site, c->epoch, c->seq); break;
      case Command::Kind::kMsg: again = Msg(c->seq, c->header, c->body); break;
      case Command::Kind::kWelcome: again = Welcome(c->site, c->seq); break;
      case Command::Kind::kAck: again = Ack(c->seq); break;
      case Command::Kind::kResend: again = Resend(c->seq); break;
      case Command::Kind::kError: again = Error(c->text); break;
    }
    std::string e2;
    auto back = Decode(again, &e2);
    FUZZ_CHECK(back && back->kind == c->kind && back->seq == c->seq, "commands round-trip");
  }
  // Every frame as a header too (MSG's third frame is the untrusted JSON).
  for (const std::string& f : frames) {
    std::optional<MessageHeader> h = DecodeHeader(f, &error);
    if (!h) continue;
    FUZZ_CHECK(h->id.size() == 32 && IsValidSiteName(h->origin) && !h->topic.empty(),
               "an accepted header is complete");
    FUZZ_CHECK(h->schema_version >= 1, "schema version at least 1");
    std::string e2;
    auto back = DecodeHeader(EncodeHeader(*h), &e2);
    FUZZ_CHECK(back && back->id == h->id && back->topic == h->topic, "headers round-trip");
  }
  return 0;
}
