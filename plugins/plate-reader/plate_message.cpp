// plate_message.cpp — see plate_message.h.

#include "plate_message.h"

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "plate.h"

namespace kordon::plate {
namespace {

using Json = nlohmann::ordered_json;

Json OrNull(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

camera::Outcome Rejected(std::string_view reason, std::string_view raw, std::string_view camera,
                         const camera::Settings& settings) {
  return {camera::Outcome::Kind::kRejected, kRejectedTopic,
          camera::RejectedBody(reason, raw, camera.empty() ? settings.camera : camera,
                               settings.link),
          std::string(reason)};
}

}  // namespace

camera::Outcome ReadOutcome(const camera::CameraRead& read, std::string_view raw,
                            const camera::Settings& settings) {
  const std::string camera = read.camera.value_or(settings.camera);
  const NormalisedPlate plate = NormalisePlate(read.text);
  if (!plate.ok) return Rejected(plate.error, raw, camera, settings);
  const bool low = read.confidence && *read.confidence < settings.min_confidence;
  const Json body = {
      {"plate", plate.plate},
      {"raw", read.text},
      {"confidence", read.confidence ? Json(*read.confidence) : Json(nullptr)},
      {"country", OrNull(read.country)},
      {"region", OrNull(read.region)},
      {"image", OrNull(read.image)},
      {"camera", camera},
      {"time", OrNull(read.time)},
      {"direction", OrNull(read.direction)},
      {"read_id", OrNull(read.id)},
      {"script", plate.script},
      {"low_confidence", low},
  };
  return {camera::Outcome::Kind::kRead, kReadTopic,
          body.dump(-1, ' ', false, Json::error_handler_t::replace), {}};
}

camera::Outcome HandleLine(std::string_view line, const camera::Settings& settings) {
  const camera::FeedLine parsed = camera::ParseFeedLine(line, camera::FeedKind::kPlate);
  switch (parsed.type) {
    case camera::FeedLine::Type::kRead: return ReadOutcome(parsed.read, line, settings);
    case camera::FeedLine::Type::kHeartbeat:
      return {camera::Outcome::Kind::kHeartbeat, {}, {}, {}};
    case camera::FeedLine::Type::kError: break;
  }
  return Rejected(parsed.error, line, parsed.camera, settings);
}

camera::Outcome HandleRawBody(std::string_view body, const camera::Settings& settings) {
  const camera::FeedLine parsed = camera::ParseReadObject(body, camera::FeedKind::kPlate);
  if (parsed.type == camera::FeedLine::Type::kRead) return ReadOutcome(parsed.read, body, settings);
  return Rejected(parsed.error, body, parsed.camera, settings);
}

}  // namespace kordon::plate
