#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <set>

#include "envelope.h"

using namespace kordon::host;

namespace {

Envelope Sample() {
  Envelope e;
  e.id = NewMessageId();
  e.time_us = 1'790'000'000'123'456;
  e.schema_version = 3;
  e.source = "lane1-camera";
  e.lane = "lane-1";
  e.crossing_id = "AKZ-2026-11-27-000042";
  e.schema = "scanner.plate.read";
  e.reply_to = "rpc.reply.lane1-camera";
  e.correlation_id = NewMessageId();
  e.flags = kFlagErrorReply;
  return e;
}

bool Rejects(std::string_view bytes, std::string_view fragment) {
  Result<Envelope> r = DecodeEnvelope(bytes);
  if (r.ok()) return false;
  INFO(r.status().message());
  return r.status().message().find(fragment) != std::string::npos;
}

}  // namespace

TEST_CASE("envelope round trip keeps every field") {
  Envelope e = Sample();
  REQUIRE(ValidateEnvelope(e).ok());
  std::string bytes = EncodeEnvelope(e);
  CHECK(bytes.size() == kEnvelopeFixedBytes + 5 + e.source.size() + e.lane.size() +
                            e.crossing_id.size() + e.schema.size() + e.reply_to.size());
  CHECK(static_cast<uint8_t>(bytes[0]) == 0x4B);
  CHECK(bytes[1] == 1);
  Result<Envelope> d = DecodeEnvelope(bytes);
  REQUIRE(d.ok());
  CHECK(d->id == e.id);
  CHECK(d->correlation_id == e.correlation_id);
  CHECK(d->time_us == e.time_us);
  CHECK(d->schema_version == 3);
  CHECK(d->flags == kFlagErrorReply);
  CHECK(d->source == e.source);
  CHECK(d->lane == e.lane);
  CHECK(d->crossing_id == e.crossing_id);
  CHECK(d->schema == e.schema);
  CHECK(d->reply_to == e.reply_to);
}

TEST_CASE("the fixed header is little-endian at documented offsets") {
  Envelope e = Sample();
  e.time_us = 0x0102030405060708;
  e.schema_version = 0x0A0B0C0D;
  std::string b = EncodeEnvelope(e);
  CHECK(static_cast<uint8_t>(b[2]) == 0x01);  // flags
  CHECK(static_cast<uint8_t>(b[4]) == 0x08);  // time, low byte first
  CHECK(static_cast<uint8_t>(b[11]) == 0x01);
  CHECK(static_cast<uint8_t>(b[12]) == 0x0D);  // schema_version
  CHECK(static_cast<uint8_t>(b[16]) == e.id[0]);
  CHECK(static_cast<uint8_t>(b[32]) == e.correlation_id[0]);
  CHECK(static_cast<uint8_t>(b[48]) == e.source.size());
}

TEST_CASE("a newer minor format may append fields: trailing bytes are ignored") {
  std::string bytes = EncodeEnvelope(Sample()) + "future";
  CHECK(DecodeEnvelope(bytes).ok());
}

TEST_CASE("bad envelopes are rejected with the reason") {
  std::string good = EncodeEnvelope(Sample());
  CHECK(Rejects("", "shorter than the fixed header"));
  CHECK(Rejects(good.substr(0, 47), "shorter than the fixed header"));
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  CHECK(Rejects(bad_magic, "magic"));
  std::string bad_format = good;
  bad_format[1] = 2;
  CHECK(Rejects(bad_format, "format 2 is not supported"));
  CHECK(Rejects(good.substr(0, kEnvelopeFixedBytes), "ends before its source"));
  std::string long_claim = good.substr(0, kEnvelopeFixedBytes) + std::string(1, '\x40') + "abc";
  CHECK(Rejects(long_claim, "claims 64 bytes"));
  std::string unknown_flag = good;
  unknown_flag[2] = 0x02;
  CHECK(Rejects(unknown_flag, "unknown bits"));
  std::string zero_version = good;
  for (int i = 12; i < 16; ++i) zero_version[i] = 0;
  CHECK(Rejects(zero_version, "schema_version is 0"));
  std::string zero_id = good;
  for (int i = 16; i < 32; ++i) zero_id[i] = 0;
  CHECK(Rejects(zero_id, "id is all zero"));
}

TEST_CASE("envelope field rules") {
  Envelope e = Sample();
  e.source = "";
  CHECK(ValidateEnvelope(e).message().find("source is 0 bytes") != std::string::npos);
  e = Sample();
  e.source = "камера";
  CHECK(ValidateEnvelope(e).message().find("source has a character") != std::string::npos);
  e = Sample();
  e.lane = "lane 1";
  CHECK_FALSE(ValidateEnvelope(e).ok());
  e = Sample();
  e.crossing_id = "has space";
  CHECK(ValidateEnvelope(e).message().find("printable ASCII") != std::string::npos);
  e = Sample();
  e.crossing_id = std::string(129, 'x');
  CHECK_FALSE(ValidateEnvelope(e).ok());
  e = Sample();
  e.reply_to = "$ctl.x";
  CHECK(ValidateEnvelope(e).message().find("reply_to") != std::string::npos);
  e = Sample();
  e.time_us = -1;
  CHECK_FALSE(ValidateEnvelope(e).ok());
}

TEST_CASE("bodies must be JSON objects in UTF-8 within the limit") {
  CHECK(ValidateBody(R"({"name":"Асанов Бакыт","plate":"01KG123ABC"})", 1024).ok());
  CHECK(ValidateBody("  {\"a\":[1,2,{\"b\":null}]}\n", 1024).ok());
  CHECK(ValidateBody("[1,2]", 1024).message().find("not a JSON object") != std::string::npos);
  CHECK(ValidateBody("", 1024).message().find("not a JSON object") != std::string::npos);
  CHECK(ValidateBody("{\"a\":", 1024).message().find("not valid JSON") != std::string::npos);
  CHECK(ValidateBody("{\"a\":1} trailing", 1024).message().find("not valid JSON") != std::string::npos);
  CHECK(ValidateBody("{\"a\":\"\xff\xfe\"}", 1024).message().find("UTF-8") != std::string::npos);
  CHECK(ValidateBody("{\"a\":\"\xd0\"}", 1024).message().find("UTF-8") != std::string::npos);
  CHECK(ValidateBody(R"({"a":"0123456789"})", 10).message().find("more than the limit of 10") != std::string::npos);
}

TEST_CASE("bodies: nothing hides behind a NUL, no control characters, bounded depth") {
  // A C plugin reading the body with strlen must see the same body as one using body_size.
  CHECK_FALSE(ValidateBody(std::string("{\"a\":1}\0\xff not json", 18), 1024).ok());
  CHECK_FALSE(ValidateBody(std::string("{\"a\":\"x\0y\"}", 12), 1024).ok());
  CHECK_FALSE(ValidateBody("{\"a\":\"tab\there\"}", 1024).ok());
  CHECK(ValidateBody("{\"a\":\"tab\\there\"}", 1024).ok());
  CHECK_FALSE(ValidateBody("{\"a\":\"\\ud800\"}", 1024).ok());  // a lone surrogate
  std::string deep = "{\"a\":" + std::string(1100, '[') + std::string(1100, ']') + "}";
  CHECK(ValidateBody(deep, 1 << 20).message().find("too deep") != std::string::npos);
  std::string ok_depth = "{\"a\":" + std::string(500, '[') + std::string(500, ']') + "}";
  CHECK(ValidateBody(ok_depth, 1 << 20).ok());
  CHECK(ValidateBody("{\"n\":-12.5e3,\"big\":18446744073709551615,\"t\":true,\"z\":null}", 1024).ok());
}

TEST_CASE("ValidateFrames checks topic, envelope and body") {
  std::string env = EncodeEnvelope(Sample());
  Envelope out;
  CHECK(ValidateFrames("scanner.plate.read", env, "{}", 1024, &out).ok());
  CHECK(out.source == "lane1-camera");
  CHECK(ValidateFrames("Bad", env, "{}", 1024, nullptr).message().find("topic") != std::string::npos);
  CHECK(ValidateFrames("ok", "xx", "{}", 1024, nullptr).message().find("envelope") != std::string::npos);
  CHECK(ValidateFrames("ok", env, "nope", 1024, nullptr).message().find("body") != std::string::npos);
}

TEST_CASE("message ids are unique and print as 32 hex digits") {
  std::set<MessageId> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewMessageId());
  CHECK(ids.size() == 10000);
  MessageId id = NewMessageId(), back{};
  std::string hex = IdToHex(id);
  CHECK(hex.size() == 32);
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  REQUIRE(IdFromHex(hex, &back));
  CHECK(back == id);
  CHECK_FALSE(IdFromHex("xyz", &back));
  CHECK_FALSE(IdFromHex(std::string(32, 'g'), &back));
  CHECK(IsZeroId(MessageId{}));
}
