// link_protocol.cpp — see link_protocol.h.
#include "link_protocol.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace kordon::bridge {
namespace {

std::string Num(uint64_t n) { return std::to_string(n); }

bool ParseNum(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool IsHexId(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

bool IsValidSiteName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string EncodeHeader(const MessageHeader& h) {
  nlohmann::json j = {{"origin", h.origin},   {"id", h.id},
                      {"topic", h.topic},     {"time_us", h.time_us},
                      {"source", h.source},   {"lane", h.lane},
                      {"crossing_id", h.crossing_id}, {"schema", h.schema},
                      {"schema_version", h.schema_version}};
  // Envelope strings are checked by the host; replace rather than throw on stray bytes.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<MessageHeader> DecodeHeader(std::string_view json, std::string* error) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = "header is not a JSON object";
    return std::nullopt;
  }
  MessageHeader h;
  auto str = [&](const char* key, std::string* out, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) *error = std::string("header has no '") + key + "'";
      return !required;
    }
    if (!it->is_string()) {
      *error = std::string("header '") + key + "' is not a string";
      return false;
    }
    *out = it->get<std::string>();
    return true;
  };
  if (!str("origin", &h.origin, true) || !str("id", &h.id, true) ||
      !str("topic", &h.topic, true) || !str("source", &h.source, false) ||
      !str("lane", &h.lane, false) || !str("crossing_id", &h.crossing_id, false) ||
      !str("schema", &h.schema, false))
    return std::nullopt;
  if (!IsValidSiteName(h.origin)) {
    *error = "header 'origin' is not a site name";
    return std::nullopt;
  }
  if (!IsHexId(h.id)) {
    *error = "header 'id' is not 32 lower-case hex digits";
    return std::nullopt;
  }
  if (h.topic.empty()) {
    *error = "header 'topic' is empty";
    return std::nullopt;
  }
  if (auto it = j.find("time_us"); it != j.end() && it->is_number_integer())
    h.time_us = it->get<int64_t>();
  if (auto it = j.find("schema_version"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() < 1 || it->get<uint64_t>() > UINT32_MAX) {
      *error = "header 'schema_version' must be an integer >= 1";
      return std::nullopt;
    }
    h.schema_version = it->get<uint32_t>();
  }
  return h;
}

Frames Hello(std::string_view site, std::string_view epoch, uint64_t first_seq) {
  return {kProtocol, "HELLO", std::string(site), std::string(epoch), Num(first_seq)};
}
Frames Msg(uint64_t seq, std::string_view header_json, std::string_view body) {
  return {kProtocol, "MSG", Num(seq), std::string(header_json), std::string(body)};
}
Frames Welcome(std::string_view site, uint64_t last_applied) {
  return {kProtocol, "WELCOME", std::string(site), Num(last_applied)};
}
Frames Ack(uint64_t last_applied) { return {kProtocol, "ACK", Num(last_applied)}; }
Frames Resend(uint64_t expected) { return {kProtocol, "RESEND", Num(expected)}; }
Frames Error(std::string_view text) { return {kProtocol, "ERROR", std::string(text)}; }

std::optional<Command> Decode(const Frames& f, std::string* error) {
  if (f.size() < 2 || f[0] != kProtocol) {
    *error = "not a " + std::string(kProtocol) + " message";
    return std::nullopt;
  }
  Command c;
  const std::string& verb = f[1];
  auto need = [&](size_t n) {
    if (f.size() == n) return true;
    *error = verb + " needs " + std::to_string(n) + " frames, got " + std::to_string(f.size());
    return false;
  };
  auto num = [&](size_t i, uint64_t* out) {
    if (ParseNum(f[i], out)) return true;
    *error = verb + ": '" + f[i].substr(0, 24) + "' is not a sequence number";
    return false;
  };
  if (verb == "HELLO") {
    c.kind = Command::Kind::kHello;
    if (!need(5) || !num(4, &c.seq)) return std::nullopt;
    c.site = f[2];
    c.epoch = f[3];
    if (!IsValidSiteName(c.site) || c.epoch.empty() || c.epoch.size() > 64) {
      *error = "HELLO: bad site name or epoch";
      return std::nullopt;
    }
  } else if (verb == "MSG") {
    c.kind = Command::Kind::kMsg;
    if (!need(5) || !num(2, &c.seq)) return std::nullopt;
    c.header = f[3];
    c.body = f[4];
  } else if (verb == "WELCOME") {
    c.kind = Command::Kind::kWelcome;
    if (!need(4) || !num(3, &c.seq)) return std::nullopt;
    c.site = f[2];
  } else if (verb == "ACK") {
    c.kind = Command::Kind::kAck;
    if (!need(3) || !num(2, &c.seq)) return std::nullopt;
  } else if (verb == "RESEND") {
    c.kind = Command::Kind::kResend;
    if (!need(3) || !num(2, &c.seq)) return std::nullopt;
  } else if (verb == "ERROR") {
    c.kind = Command::Kind::kError;
    if (!need(3)) return std::nullopt;
    c.text = f[2];
  } else {
    *error = "unknown command '" + verb.substr(0, 24) + "'";
    return std::nullopt;
  }
  return c;
}

}  // namespace kordon::bridge
