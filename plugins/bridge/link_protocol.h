// link_protocol.h — KBL/1, the wire format of a bridge link (plugins/bridge/README.md): the
// frames a sending site (DEALER) and a receiving site (ROUTER) exchange. Pure functions over
// frame lists; no sockets, no SDK.
//
// Thread safety: pure; every function is reentrant.
#ifndef KORDON_PLUGINS_BRIDGE_LINK_PROTOCOL_H_
#define KORDON_PLUGINS_BRIDGE_LINK_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kordon::bridge {

inline constexpr char kProtocol[] = "KBL/1";

using Frames = std::vector<std::string>;

// What travels with a forwarded message besides its body: the origin site (for loop
// prevention) and the original envelope, so that the receiving site republishes it as it was.
struct MessageHeader {
  std::string origin;   // the site where the message was first published
  std::string id;       // its envelope id there (32 hex): the duplicate key
  std::string topic;
  int64_t time_us = 0;
  std::string source;   // the publishing instance at the origin (for the log)
  std::string lane;
  std::string crossing_id;
  std::string schema;   // "" = the topic
  uint32_t schema_version = 1;
};

// The header as one JSON object (the MSG frame): {"origin","id","topic","time_us","source",
// "lane","crossing_id","schema","schema_version"}.
std::string EncodeHeader(const MessageHeader& h);
// Parses and checks a header (id 32 lower-case hex, topic and origin non-empty, version ≥ 1);
// nullopt and *error otherwise.
std::optional<MessageHeader> DecodeHeader(std::string_view json, std::string* error);

// One decoded frame list.
struct Command {
  enum class Kind { kHello, kMsg, kWelcome, kAck, kResend, kError };
  Kind kind = Kind::kError;
  std::string site;     // HELLO, WELCOME
  std::string epoch;    // HELLO
  uint64_t seq = 0;     // HELLO: first seq the sender holds; MSG: seq; WELCOME/ACK: last
                        // applied; RESEND: the seq expected next
  std::string header;   // MSG (JSON, see EncodeHeader)
  std::string body;     // MSG
  std::string text;     // ERROR
};

// Sender → receiver.
Frames Hello(std::string_view site, std::string_view epoch, uint64_t first_seq);
Frames Msg(uint64_t seq, std::string_view header_json, std::string_view body);
// Receiver → sender.
Frames Welcome(std::string_view site, uint64_t last_applied);
Frames Ack(uint64_t last_applied);
Frames Resend(uint64_t expected);
Frames Error(std::string_view text);

// Parses frames (without a ROUTER's routing id). nullopt and *error when the frame count,
// the protocol name, the command or a number is wrong.
std::optional<Command> Decode(const Frames& frames, std::string* error);

// Site names: 1–64 of A-Z a-z 0-9 _ - . (they appear in logs and in the applied table).
bool IsValidSiteName(std::string_view name);

}  // namespace kordon::bridge

#endif  // KORDON_PLUGINS_BRIDGE_LINK_PROTOCOL_H_
