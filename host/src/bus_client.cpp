#include "bus_client.h"

#include <fmt/format.h>

#include "curve.h"
#include "topic.h"

namespace kordon::host {
namespace {

std::string FormatTime(int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, static_cast<int>(us % 1000000));
}

}  // namespace

nlohmann::json BusMessage::ToJson() const {
  nlohmann::json j;
  j["topic"] = topic;
  j["id"] = IdToHex(envelope.id);
  j["time"] = FormatTime(envelope.time_us);
  j["time_us"] = envelope.time_us;
  j["source"] = envelope.source;
  j["lane"] = envelope.lane;
  j["crossing_id"] = envelope.crossing_id;
  j["schema"] = envelope.schema.empty() ? topic : envelope.schema;
  j["schema_version"] = envelope.schema_version;
  if (!envelope.reply_to.empty()) j["reply_to"] = envelope.reply_to;
  if (!IsZeroId(envelope.correlation_id)) j["correlation_id"] = IdToHex(envelope.correlation_id);
  if (envelope.flags & kFlagErrorReply) j["error_reply"] = true;
  j["body"] = nlohmann::json::parse(body, nullptr, false);
  return j;
}

Result<BusMessage> BusMessage::FromJson(const nlohmann::json& j) {
  try {
    BusMessage m;
    m.topic = j.at("topic").get<std::string>();
    if (Status s = ValidateTopic(m.topic); !s.ok()) return s;
    if (!IdFromHex(j.at("id").get<std::string>(), &m.envelope.id))
      return Status::InvalidArgument("'id' is not 32 hex digits");
    m.envelope.time_us = j.at("time_us").get<int64_t>();
    m.envelope.source = j.at("source").get<std::string>();
    m.envelope.lane = j.value("lane", "");
    m.envelope.crossing_id = j.value("crossing_id", "");
    m.envelope.schema = j.value("schema", "");
    m.envelope.schema_version = j.value("schema_version", 1u);
    m.envelope.reply_to = j.value("reply_to", "");
    if (j.contains("correlation_id") &&
        !IdFromHex(j["correlation_id"].get<std::string>(), &m.envelope.correlation_id))
      return Status::InvalidArgument("'correlation_id' is not 32 hex digits");
    if (j.value("error_reply", false)) m.envelope.flags |= kFlagErrorReply;
    const nlohmann::json& body = j.at("body");
    if (!body.is_object()) return Status::InvalidArgument("'body' is not a JSON object");
    m.body = body.dump();
    if (Status s = ValidateEnvelope(m.envelope); !s.ok()) return s;
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("not a bus message record: {}", e.what()));
  }
}

BusClient::BusClient(std::string source) : source_(std::move(source)) {}

BusClient::~BusClient() {
  if (push_.handle() != nullptr) push_.close();
  if (sub_.handle() != nullptr) sub_.close();
}

Status BusClient::UseCurve(const std::string& server_key, const std::string& client_key_file) {
  std::string error;
  auto server = curve::ResolvePublicKey(server_key, &error);
  if (!server) return Status::InvalidArgument(fmt::format("server key: {}", error));
  if (client_key_file.empty())
    return Status::InvalidArgument("a CURVE bus needs this client's key pair (--key FILE, "
                                   "kordon keys generate)");
  auto secret = curve::ReadKeyFile(client_key_file, /*secret=*/true, &error);
  if (!secret) return Status::InvalidArgument(fmt::format("client key: {}", error));
  auto pub = curve::PublicKeyOf(*secret, &error);
  if (!pub) return Status::InvalidArgument(fmt::format("client key: {}", error));
  UseCurveKeys(*server, *pub, *secret);
  return Status::Ok();
}

void BusClient::UseCurveKeys(std::string server_public, std::string client_public,
                             std::string client_secret) {
  server_key_ = std::move(server_public);
  public_key_ = std::move(client_public);
  secret_key_ = std::move(client_secret);
}

void BusClient::ApplyCurve(zmq::socket_t& socket) const {
  if (server_key_.empty()) return;
  socket.set(zmq::sockopt::curve_serverkey, server_key_);
  socket.set(zmq::sockopt::curve_publickey, public_key_);
  socket.set(zmq::sockopt::curve_secretkey, secret_key_);
}

Status BusClient::ConnectIngress(const std::string& endpoint) {
  try {
    push_ = zmq::socket_t(context_, zmq::socket_type::push);
    ApplyCurve(push_);
    push_.set(zmq::sockopt::linger, 5000);  // deliver what was sent before close
    push_.set(zmq::sockopt::sndtimeo, 5000);
    push_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(fmt::format("cannot connect to ingress '{}': {}", endpoint, e.what()));
  }
  return Status::Ok();
}

Status BusClient::ConnectEgress(const std::string& endpoint) {
  try {
    sub_ = zmq::socket_t(context_, zmq::socket_type::sub);
    ApplyCurve(sub_);
    sub_.set(zmq::sockopt::linger, 0);
    sub_.set(zmq::sockopt::rcvhwm, 100000);
    for (const std::string& p : prefixes_) sub_.set(zmq::sockopt::subscribe, p);
    sub_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(fmt::format("cannot connect to egress '{}': {}", endpoint, e.what()));
  }
  return Status::Ok();
}

void BusClient::Subscribe(const std::string& prefix) {
  prefixes_.push_back(prefix);
  if (sub_.handle() != nullptr) sub_.set(zmq::sockopt::subscribe, prefix);
}

Result<std::string> BusClient::Publish(const std::string& topic, const std::string& body,
                                       const ClientPublishOptions& options) {
  if (push_.handle() == nullptr) return Status::InvalidArgument("not connected to an ingress");
  if (Status s = ValidateTopic(topic); !s.ok()) return s;
  if (Status s = ValidateBody(body, 64 << 20); !s.ok()) return s;
  Envelope e = NewEnvelope(source_);
  e.lane = options.lane;
  e.crossing_id = options.crossing_id;
  e.schema = options.schema;
  e.schema_version = options.schema_version;
  e.reply_to = options.reply_to;
  if (!options.correlation_id.empty() && !IdFromHex(options.correlation_id, &e.correlation_id))
    return Status::InvalidArgument("correlation id is not 32 hex digits");
  if (options.error_reply) e.flags |= kFlagErrorReply;
  if (Status s = ValidateEnvelope(e); !s.ok()) return s;
  if (Status s = SendRaw({topic, EncodeEnvelope(e), body}); !s.ok()) return s;
  return IdToHex(e.id);
}

Status BusClient::SendRaw(const std::vector<std::string>& frames) {
  if (push_.handle() == nullptr) return Status::InvalidArgument("not connected to an ingress");
  for (size_t i = 0; i < frames.size(); ++i) {
    auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    if (!push_.send(zmq::const_buffer(frames[i].data(), frames[i].size()), flags))
      return Status::Busy("the host did not take the message within 5 s (is it running?)");
  }
  return Status::Ok();
}

std::optional<BusMessage> BusClient::Receive(std::chrono::milliseconds timeout) {
  if (sub_.handle() == nullptr) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    zmq::pollitem_t item{sub_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, left) <= 0) return std::nullopt;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return std::nullopt;  // a signal: let the caller look at its flags
      throw;
    }
    std::vector<zmq::message_t> parts;
    do {
      zmq::message_t m;
      if (!sub_.recv(m)) break;
      bool more = m.more();
      parts.push_back(std::move(m));
      if (!more) break;
    } while (true);
    auto view = [](const zmq::message_t& m) { return std::string_view(static_cast<const char*>(m.data()), m.size()); };
    if (parts.size() != 3) {
      ++malformed_;
      continue;
    }
    Result<Envelope> e = DecodeEnvelope(view(parts[1]));
    if (!e.ok()) {
      ++malformed_;
      continue;
    }
    BusMessage msg{std::string(view(parts[0])), std::move(e).value(), std::string(view(parts[2]))};
    bool wanted = false;
    for (const std::string& p : prefixes_) wanted = wanted || TopicMatches(p, msg.topic);
    if (!wanted) continue;
    return msg;
  }
}

Status BusClient::WaitUntilLive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::string> id = Publish("client.sync", fmt::format(R"({{"client":"{}"}})", source_));
    if (!id.ok()) return id.status();
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < until) {
      auto m = Receive(std::chrono::milliseconds(20));
      if (m && m->topic == "client.sync" && IdToHex(m->envelope.id) == *id) return Status::Ok();
    }
  }
  return Status::Timeout("no probe came back from the host's bus (is kordon-host running on these endpoints?)");
}

}  // namespace kordon::host
