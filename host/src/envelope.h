// The bus message format, frame by frame (documented in sdk/README.md, "Wire format").
//
// A bus message is exactly three ZeroMQ frames:
//   1. topic     UTF-8 topic name (see topic.h); ZeroMQ's prefix subscription works on it.
//   2. envelope  a fixed binary header (little-endian) followed by five short strings.
//   3. body      a JSON object, UTF-8, at most the host's bus.max_body_bytes.
#ifndef KORDON_HOST_ENVELOPE_H_
#define KORDON_HOST_ENVELOPE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace kordon::host {

inline constexpr uint8_t kEnvelopeMagic = 0x4B;  // 'K'
inline constexpr uint8_t kEnvelopeFormat = 1;
inline constexpr size_t kEnvelopeFixedBytes = 48;
inline constexpr size_t kMaxSourceBytes = 64;
inline constexpr size_t kMaxLaneBytes = 64;
inline constexpr size_t kMaxCrossingIdBytes = 128;
inline constexpr size_t kMaxSchemaBytes = 128;
inline constexpr uint16_t kFlagErrorReply = 0x1;

using MessageId = std::array<uint8_t, 16>;

// A new id, unique across processes with overwhelming probability: 8 random bytes drawn once
// per process and a 64-bit counter. Thread-safe.
MessageId NewMessageId();
std::string IdToHex(const MessageId& id);
// Writes the 32 hex digits and a NUL into out (no allocation).
void IdToHex(const MessageId& id, char (&out)[33]);
// Parses 32 hex digits; false on anything else.
bool IdFromHex(std::string_view hex, MessageId* out);
bool IsZeroId(const MessageId& id);

int64_t NowMicros();

struct Envelope {
  uint16_t flags = 0;
  int64_t time_us = 0;
  uint32_t schema_version = 1;
  MessageId id{};
  MessageId correlation_id{};  // all zero: none
  std::string source;
  std::string lane;
  std::string crossing_id;
  std::string schema;
  std::string reply_to;
};

// A new envelope from `source`: a fresh id, the current time, schema version 1, nothing else.
Envelope NewEnvelope(std::string source);

// Checks every field against the rules in sdk/README.md.
Status ValidateEnvelope(const Envelope& envelope);
// REQUIRES: ValidateEnvelope(envelope).ok() (lengths fit in one byte each).
std::string EncodeEnvelope(const Envelope& envelope);
// The same into *out, reusing its capacity.
void EncodeEnvelopeTo(const Envelope& envelope, std::string* out);
// Decodes and validates. Bytes after the last known field are ignored (a newer minor format
// may append fields).
Result<Envelope> DecodeEnvelope(std::string_view bytes);
// The same into *out, reusing its strings' capacity. On error *out is unspecified.
// `check_fields` = false skips the field rules (not the bounds checks) for frames the host
// encoded itself and validated when they were published.
Status DecodeEnvelopeInto(std::string_view bytes, Envelope* out, bool check_fields = true);

// OK when body is a JSON object (RFC 8259, checked with simdjson), valid UTF-8, at most
// max_bytes. Stricter than some parsers, on purpose: no NUL or unescaped control characters,
// no lone surrogates, nesting at most 1024 deep, integers within 64 bits (write larger
// numbers as strings).
Status ValidateBody(std::string_view body, size_t max_bytes);

// Validates a complete message as it arrives from outside the host.
Status ValidateFrames(std::string_view topic, std::string_view envelope, std::string_view body,
                      size_t max_body_bytes, Envelope* decoded);

}  // namespace kordon::host

#endif  // KORDON_HOST_ENVELOPE_H_
