#include "envelope.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <simdjson.h>

#include "topic.h"

namespace kordon::host {
namespace {

uint64_t ProcessRandom() {
  static const uint64_t value = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  return value;
}

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t GetLe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

bool IsNameChar(char c, bool allow_dot_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || (allow_dot_colon && (c == '.' || c == ':'));
}

Status CheckName(std::string_view what, std::string_view v, size_t min, size_t max,
                 bool allow_dot_colon) {
  if (v.size() < min || v.size() > max)
    return Status::InvalidArgument(
        fmt::format("{} is {} bytes; it must be {}..{}", what, v.size(), min, max));
  for (char c : v)
    if (!IsNameChar(c, allow_dot_colon))
      return Status::InvalidArgument(fmt::format(
          "{} has a character outside [A-Za-z0-9_-{}] (byte 0x{:02x})", what,
          allow_dot_colon ? ".:" : "", static_cast<unsigned char>(c)));
  return Status::Ok();
}

}  // namespace

MessageId NewMessageId() {
  static std::atomic<uint64_t> counter{0};
  uint64_t hi = ProcessRandom();
  uint64_t lo = counter.fetch_add(1, std::memory_order_relaxed);
  MessageId id;
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) id[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  return id;
}

void IdToHex(const MessageId& id, char (&out)[33]) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < id.size(); ++i) {
    out[2 * i] = kHex[id[i] >> 4];
    out[2 * i + 1] = kHex[id[i] & 0xF];
  }
  out[32] = '\0';
}

std::string IdToHex(const MessageId& id) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(32, '0');
  for (size_t i = 0; i < id.size(); ++i) {
    s[2 * i] = kHex[id[i] >> 4];
    s[2 * i + 1] = kHex[id[i] & 0xF];
  }
  return s;
}

bool IdFromHex(std::string_view hex, MessageId* out) {
  if (hex.size() != 32) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    int h = nibble(hex[2 * i]), l = nibble(hex[2 * i + 1]);
    if (h < 0 || l < 0) return false;
    (*out)[i] = static_cast<uint8_t>(h << 4 | l);
  }
  return true;
}

bool IsZeroId(const MessageId& id) {
  for (uint8_t b : id)
    if (b != 0) return false;
  return true;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Envelope NewEnvelope(std::string source) {
  Envelope e;
  e.id = NewMessageId();
  e.time_us = NowMicros();
  e.source = std::move(source);
  return e;
}

Status ValidateEnvelope(const Envelope& e) {
  if (e.time_us < 0) return Status::InvalidArgument("envelope time is negative");
  if (e.schema_version == 0) return Status::InvalidArgument("envelope schema_version is 0; versions start at 1");
  if (IsZeroId(e.id)) return Status::InvalidArgument("envelope id is all zero");
  if (Status s = CheckName("envelope source", e.source, 1, kMaxSourceBytes, true); !s.ok()) return s;
  if (Status s = CheckName("envelope lane", e.lane, 0, kMaxLaneBytes, true); !s.ok()) return s;
  if (e.crossing_id.size() > kMaxCrossingIdBytes)
    return Status::InvalidArgument(fmt::format("envelope crossing_id is {} bytes, more than {}",
                                               e.crossing_id.size(), kMaxCrossingIdBytes));
  for (char c : e.crossing_id)
    if (c <= 0x20 || c >= 0x7f)
      return Status::InvalidArgument("envelope crossing_id must be printable ASCII without spaces");
  if (e.schema.size() > kMaxSchemaBytes)
    return Status::InvalidArgument(fmt::format("envelope schema is {} bytes, more than {}",
                                               e.schema.size(), kMaxSchemaBytes));
  if (!e.schema.empty())
    if (Status s = ValidateTopic(e.schema); !s.ok())
      return Status::InvalidArgument("envelope schema: " + s.message());
  if (!e.reply_to.empty())
    if (Status s = ValidateTopic(e.reply_to); !s.ok())
      return Status::InvalidArgument("envelope reply_to: " + s.message());
  if ((e.flags & ~kFlagErrorReply) != 0)
    return Status::InvalidArgument(fmt::format("envelope flags 0x{:04x} has unknown bits", e.flags));
  return Status::Ok();
}

std::string EncodeEnvelope(const Envelope& e) {
  std::string out;
  EncodeEnvelopeTo(e, &out);
  return out;
}

void EncodeEnvelopeTo(const Envelope& e, std::string* out_ptr) {
  std::string& out = *out_ptr;
  out.clear();
  out.reserve(kEnvelopeFixedBytes + 5 + e.source.size() + e.lane.size() + e.crossing_id.size() +
              e.schema.size() + e.reply_to.size());
  out.push_back(static_cast<char>(kEnvelopeMagic));
  out.push_back(static_cast<char>(kEnvelopeFormat));
  PutLe(&out, e.flags, 2);
  PutLe(&out, static_cast<uint64_t>(e.time_us), 8);
  PutLe(&out, e.schema_version, 4);
  out.append(reinterpret_cast<const char*>(e.id.data()), e.id.size());
  out.append(reinterpret_cast<const char*>(e.correlation_id.data()), e.correlation_id.size());
  for (const std::string* s : {&e.source, &e.lane, &e.crossing_id, &e.schema, &e.reply_to}) {
    out.push_back(static_cast<char>(static_cast<uint8_t>(s->size())));
    out.append(*s);
  }
}

Result<Envelope> DecodeEnvelope(std::string_view bytes) {
  Envelope e;
  if (Status s = DecodeEnvelopeInto(bytes, &e); !s.ok()) return s;
  return e;
}

Status DecodeEnvelopeInto(std::string_view bytes, Envelope* out, bool check_fields) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kEnvelopeFixedBytes)
    return Status::InvalidArgument(fmt::format(
        "envelope frame is {} bytes, shorter than the fixed header of {}", bytes.size(), kEnvelopeFixedBytes));
  if (p[0] != kEnvelopeMagic)
    return Status::InvalidArgument(
        fmt::format("envelope frame starts with 0x{:02x}, not the magic 0x4b ('K')", p[0]));
  if (p[1] != kEnvelopeFormat)
    return Status::InvalidArgument(fmt::format(
        "envelope format {} is not supported (this host reads format {})", p[1], kEnvelopeFormat));
  Envelope& e = *out;
  e.flags = static_cast<uint16_t>(GetLe(p + 2, 2));
  e.time_us = static_cast<int64_t>(GetLe(p + 4, 8));
  e.schema_version = static_cast<uint32_t>(GetLe(p + 12, 4));
  std::memcpy(e.id.data(), p + 16, 16);
  std::memcpy(e.correlation_id.data(), p + 32, 16);
  size_t pos = kEnvelopeFixedBytes;
  const char* names[] = {"source", "lane", "crossing_id", "schema", "reply_to"};
  std::string* fields[] = {&e.source, &e.lane, &e.crossing_id, &e.schema, &e.reply_to};
  for (int i = 0; i < 5; ++i) {
    if (pos >= bytes.size())
      return Status::InvalidArgument(fmt::format("envelope ends before its {} field", names[i]));
    size_t len = p[pos++];
    if (pos + len > bytes.size())
      return Status::InvalidArgument(fmt::format(
          "envelope {} field claims {} bytes but only {} remain", names[i], len, bytes.size() - pos));
    fields[i]->assign(bytes.data() + pos, len);
    pos += len;
  }
  return check_fields ? ValidateEnvelope(e) : Status::Ok();
}

Status ValidateBody(std::string_view body, size_t max_bytes) {
  if (body.size() > max_bytes)
    return Status::InvalidArgument(
        fmt::format("body is {} bytes, more than the limit of {}", body.size(), max_bytes));
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '{')
    return Status::InvalidArgument("body is not a JSON object (it must start with '{')");
  // simdjson validates the grammar and UTF-8 in one pass, several times faster than a
  // tokenizing parser; one parser per thread keeps its buffers for the next body.
  thread_local simdjson::dom::parser parser;
  simdjson::error_code error = parser.parse(body.data(), body.size()).error();
  if (error != simdjson::SUCCESS)
    return Status::InvalidArgument(fmt::format("body is not valid JSON: {}", simdjson::error_message(error)));
  return Status::Ok();
}

Status ValidateFrames(std::string_view topic, std::string_view envelope, std::string_view body,
                      size_t max_body_bytes, Envelope* decoded) {
  if (Status s = ValidateTopic(topic); !s.ok()) return s;
  Result<Envelope> e = DecodeEnvelope(envelope);
  if (!e.ok()) return e.status();
  if (Status s = ValidateBody(body, max_body_bytes); !s.ok()) return s;
  if (decoded != nullptr) *decoded = std::move(e).value();
  return Status::Ok();
}

}  // namespace kordon::host
