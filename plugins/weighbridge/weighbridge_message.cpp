// weighbridge_message.cpp — JSON bodies of the weighbridge topics (see weighbridge_message.h).
#include "weighbridge_message.h"

#include <nlohmann/json.hpp>

namespace kordon::weighbridge {
namespace {

using nlohmann::json;

std::string Text(std::string_view s) { return std::string(s); }

// Frames are escaped to ASCII already; replacing invalid UTF-8 (error_handler_t::replace)
// keeps dump() from throwing on a scale name or reason that is not UTF-8.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json Raw(const std::string& value, const std::string& unit) {
  return json{{"value", value}, {"unit", unit}};
}

}  // namespace

std::string LiveBody(std::string_view scale, const Reading& r, std::string_view frame) {
  json j;
  j["scale"] = Text(scale);
  j["kg"] = r.has_weight ? json(r.kg) : json(nullptr);
  j["raw"] = Raw(r.raw_value, r.raw_unit);
  j["stable"] = false;  // a live weight is never final; scale.weight.stable is
  j["motion"] = r.motion;
  j["net"] = r.net;
  j["tare_kg"] = r.has_weight ? json(r.tare_kg) : json(nullptr);
  j["status"] = ScaleStatusName(r.status);
  j["frame"] = EscapeFrame(frame);
  return Dump(j);
}

std::string StableBody(std::string_view scale, const StableWeight& s) {
  json j;
  j["scale"] = Text(scale);
  j["kg"] = s.kg;
  j["tare_kg"] = s.tare_kg;
  j["net"] = s.net;
  j["window_ms"] = s.window_ms;
  j["readings"] = s.readings;
  j["min_kg"] = s.min_kg;
  j["max_kg"] = s.max_kg;
  j["raw"] = Raw(s.raw_value, s.raw_unit);
  j["frame"] = s.frame;
  j["vehicle_seq"] = s.vehicle_seq;
  return Dump(j);
}

std::string ClearedBody(std::string_view scale, uint64_t vehicle_seq) {
  return Dump(json{{"scale", Text(scale)}, {"vehicle_seq", vehicle_seq}});
}

std::string ErrorBody(std::string_view scale, std::string_view reason, std::string_view frame) {
  return Dump(
      json{{"scale", Text(scale)}, {"reason", Text(reason)}, {"frame", EscapeFrame(frame)}});
}

std::optional<ScaleCommand> ParseCommandBody(std::string_view body, std::string* error) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    *error = "scale.command body is not a JSON object";
    return std::nullopt;
  }
  const auto scale = j.find("scale");
  const auto command = j.find("command");
  if (scale == j.end() || !scale->is_string()) {
    *error = "scale.command needs \"scale\": the instance name";
    return std::nullopt;
  }
  if (command == j.end() || !command->is_string() ||
      (*command != "zero" && *command != "tare")) {
    *error = "scale.command needs \"command\": \"zero\" or \"tare\"";
    return std::nullopt;
  }
  return ScaleCommand{scale->get<std::string>(), command->get<std::string>()};
}

std::string CommandResultBody(std::string_view scale, std::string_view command,
                              std::string_view request_id, bool ok, std::string_view result,
                              std::string_view detail, std::optional<double> tare_kg) {
  json j{{"scale", Text(scale)},   {"command", Text(command)}, {"request_id", Text(request_id)},
         {"ok", ok},               {"result", Text(result)},   {"detail", Text(detail)}};
  if (tare_kg) j["tare_kg"] = *tare_kg;
  return Dump(j);
}

}  // namespace kordon::weighbridge
