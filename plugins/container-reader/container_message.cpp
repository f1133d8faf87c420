// container_message.cpp — see container_message.h.

#include "container_message.h"

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iso6346.h"

namespace kordon::container {
namespace {

using Json = nlohmann::ordered_json;

Json OrNull(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json CharOrNull(const std::optional<char>& c) {
  return c ? Json(std::string(1, *c)) : Json(nullptr);
}

camera::Outcome Rejected(std::string_view reason, std::string_view raw, std::string_view camera,
                         const camera::Settings& settings) {
  return {camera::Outcome::Kind::kRejected, kRejectedTopic,
          camera::RejectedBody(reason, raw, camera.empty() ? settings.camera : camera,
                               settings.link),
          std::string(reason)};
}

}  // namespace

camera::Outcome ReadOutcome(const camera::CameraRead& read, const camera::Settings& settings) {
  const iso6346::Analysis a = iso6346::Analyse(read.text);
  const bool low = read.confidence && *read.confidence < settings.min_confidence;
  Json repair = nullptr;
  if (a.repair) {
    repair = {{"position", a.repair->position},
              {"from", std::string(1, a.repair->from)},
              {"to", std::string(1, a.repair->to)},
              {"code", a.repair->code}};
  }
  const auto part = [&](size_t from, size_t n) {
    return a.shape_ok ? Json(a.code.substr(from, n)) : Json(nullptr);
  };
  const Json body = {
      {"code", a.code},
      {"raw", read.text},
      {"owner", part(0, 3)},
      {"category", part(3, 1)},
      {"serial", part(4, 6)},
      {"check_digit", part(10, 1)},
      {"valid", a.valid},
      {"check",
       {{"expected", CharOrNull(a.expected)},
        {"found", CharOrNull(a.found)},
        {"problem", a.valid ? Json(nullptr) : Json(a.problem)}}},
      {"repair", repair},
      {"repaired_valid", a.repair.has_value()},
      {"size_type", OrNull(read.size_type)},
      {"confidence", read.confidence ? Json(*read.confidence) : Json(nullptr)},
      {"low_confidence", low},
      {"camera", read.camera.value_or(settings.camera)},
      {"position", OrNull(read.position)},
      {"image", OrNull(read.image)},
      {"time", OrNull(read.time)},
      {"read_id", OrNull(read.id)},
  };
  return {camera::Outcome::Kind::kRead, kReadTopic,
          body.dump(-1, ' ', false, Json::error_handler_t::replace), {}};
}

camera::Outcome HandleLine(std::string_view line, const camera::Settings& settings) {
  const camera::FeedLine parsed = camera::ParseFeedLine(line, camera::FeedKind::kContainer);
  switch (parsed.type) {
    case camera::FeedLine::Type::kRead: return ReadOutcome(parsed.read, settings);
    case camera::FeedLine::Type::kHeartbeat:
      return {camera::Outcome::Kind::kHeartbeat, {}, {}, {}};
    case camera::FeedLine::Type::kError: break;
  }
  return Rejected(parsed.error, line, parsed.camera, settings);
}

camera::Outcome HandleRawBody(std::string_view body, const camera::Settings& settings) {
  const camera::FeedLine parsed = camera::ParseReadObject(body, camera::FeedKind::kContainer);
  if (parsed.type == camera::FeedLine::Type::kRead) return ReadOutcome(parsed.read, settings);
  return Rejected(parsed.error, body, parsed.camera, settings);
}

}  // namespace kordon::container
