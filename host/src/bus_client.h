// A client of a host's bus from another process: publishes through bus.ingress and
// subscribes through bus.egress. Used by the `kordon` tool, the tests and the benchmarks;
// examples/ shows the same protocol from Python.
#ifndef KORDON_HOST_BUS_CLIENT_H_
#define KORDON_HOST_BUS_CLIENT_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "envelope.h"
#include "status.h"

namespace kordon::host {

struct BusMessage {
  std::string topic;
  Envelope envelope;
  std::string body;

  // One line of JSON: the format of `kordon tail --json`, journal exports and replays.
  nlohmann::json ToJson() const;
  // Parses that line back (for replays).
  static Result<BusMessage> FromJson(const nlohmann::json& j);
};

struct ClientPublishOptions {
  std::string lane;
  std::string crossing_id;
  std::string schema;
  uint32_t schema_version = 1;
  std::string reply_to;
  std::string correlation_id;  // hex id of the request being answered
  bool error_reply = false;
};

class BusClient {
 public:
  // `source` is the envelope source of what this client publishes ([A-Za-z0-9_.:-], 1..64).
  explicit BusClient(std::string source);
  ~BusClient();

  // CURVE for the connections made after it (a host with bus.secret_key_file): the host's
  // public key (a .pub file or Z85) and this client's secret key file (mode 0600; its public
  // key must be in the host's bus.allowed_keys). Without it the client speaks plain ZMTP.
  Status UseCurve(const std::string& server_key, const std::string& client_key_file);
  // The same with Z85 keys.
  void UseCurveKeys(std::string server_public, std::string client_public,
                    std::string client_secret);

  Status ConnectIngress(const std::string& endpoint);
  Status ConnectEgress(const std::string& endpoint);
  // "" subscribes to everything. Matching on the client side is by whole segments, like the host.
  void Subscribe(const std::string& prefix);

  // Validates and publishes one message; returns its id (32 hex digits).
  Result<std::string> Publish(const std::string& topic, const std::string& body,
                              const ClientPublishOptions& options = {});
  // Sends frames as given, unvalidated (tests of the host's validation).
  Status SendRaw(const std::vector<std::string>& frames);

  // The next message under a subscribed prefix, or nullopt after `timeout`.
  // A frame that does not decode is skipped and counted in malformed().
  std::optional<BusMessage> Receive(std::chrono::milliseconds timeout);

  // Publishes `client.sync` probes until one comes back through egress: from then on every
  // subscription is live. Requires both connections and a subscription covering
  // "client.sync".
  Status WaitUntilLive(std::chrono::milliseconds timeout);

  uint64_t malformed() const { return malformed_; }

 private:
  std::string source_;
  zmq::context_t context_{1};
  zmq::socket_t push_;
  zmq::socket_t sub_;
  std::vector<std::string> prefixes_;
  uint64_t malformed_ = 0;
  std::string server_key_, public_key_, secret_key_;  // Z85; "" = plain

  void ApplyCurve(zmq::socket_t& socket) const;
};

}  // namespace kordon::host

#endif  // KORDON_HOST_BUS_CLIENT_H_
