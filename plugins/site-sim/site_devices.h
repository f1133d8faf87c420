// site_devices.h — the device side of kordon-site-sim: one TCP server per simulated device,
// each speaking the protocol the matching plugin reads (see README.md for the layout).
//
// Thread safety: none; everything runs on the simulator's one thread.
#ifndef KORDON_PLUGINS_SITE_SIM_SITE_DEVICES_H_
#define KORDON_PLUGINS_SITE_SIM_SITE_DEVICES_H_

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "scenario.h"

namespace kordon::sim {

using Clock = std::chrono::steady_clock;

// Ports used from --base-port: base + 0 .. base + kDevicePortSpan - 1.
inline constexpr int kDevicePortSpan = 9;

// A listening socket and its clients. Bytes written go to every connected client; a client
// that cannot keep up (its kernel buffer full) is disconnected rather than stalling the site.
class Endpoint {
 public:
  Endpoint(std::string lane, std::string device);
  virtual ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  bool Listen(const std::string& address, int port, std::string* error);
  std::string Describe() const;  // "lane1 documents 127.0.0.1:7410"

  // poll() integration.
  void AddPollFds(std::vector<pollfd>* fds) const;
  void OnPoll(const std::vector<pollfd>& fds, size_t* index);
  // Periodic work (heartbeats, streams); returns when it wants to run again.
  virtual Clock::time_point Tick(Clock::time_point now) { return now + std::chrono::seconds(1); }

  const std::string& lane() const { return lane_; }
  size_t clients() const { return clients_.size(); }

 protected:
  void Broadcast(std::string_view bytes);
  // A line (CR/LF stripped) a client sent; the default ignores it. Answer with Send.
  virtual void OnLine(int fd, std::string_view line) { (void)fd, (void)line; }
  // Writes to one client (a reply); a client that cannot take it is dropped.
  void Send(int fd, std::string_view bytes);

 private:
  struct Client {
    int fd = -1;
    std::string peer;
    std::string input;
  };
  void Accept();
  void Write(Client* c, std::string_view bytes);
  // Closes the client; it is removed from clients_ at the end of OnPoll or Broadcast.
  void Drop(Client* c, const char* why);

  std::string lane_;
  std::string device_;
  int listen_fd_ = -1;
  std::string address_;
  int port_ = 0;
  std::vector<Client> clients_;
};

// A desktop document reader: each MRZ line ended with CR LF.
class DocumentReader : public Endpoint {
 public:
  using Endpoint::Endpoint;
  void SendDocument(const std::string& mrz);  // lines joined with "\n"
};

// A plate or container camera: the camera feed (JSON lines or ';'-delimited lines) of
// plugins/plate-reader and plugins/container-reader, with a heartbeat every 10 s.
class Camera : public Endpoint {
 public:
  enum class Form { kJson, kDelimited };
  Camera(std::string lane, std::string device, std::string camera_id, Form form);

  void SendPlate(const Vehicle& v);
  void SendContainer(const Container& c, size_t index);
  Clock::time_point Tick(Clock::time_point now) override;

 private:
  std::string camera_id_;
  Form form_;
  uint64_t read_seq_ = 0;
  Clock::time_point next_heartbeat_{};
};

class Weighbridge;  // site_weighbridge.h

class DeviceSet {
 public:
  explicit DeviceSet(uint64_t seed);
  ~DeviceSet();

  // Opens every device's port: base + offset (see README.md), or ephemeral ports for base 0.
  bool Listen(const std::string& address, int base_port, std::string* error);
  std::vector<std::string> Describe() const;

  DocumentReader* Documents(const std::string& lane);
  Camera* Plates(const std::string& lane);
  Camera* Containers(const std::string& lane);
  Weighbridge* Scale(const std::string& lane);

  bool PrepareXrayDir(const std::string& dir, std::string* error);
  void WriteXrayScan(const std::string& dir, const Vehicle& v);

  // Periodic work of every device; returns the earliest next wake-up.
  Clock::time_point Tick(Clock::time_point now);
  // Waits until `until` (or a socket event or a signal) and serves the sockets. Returns false
  // on a fatal poll error.
  bool Poll(Clock::time_point until, const sigset_t* wait_mask);

 private:
  template <typename T> T* Find(const std::string& lane, const std::string& device);

  struct Named {
    std::string device;
    std::unique_ptr<Endpoint> endpoint;
  };
  std::vector<Named> endpoints_;
  std::mt19937_64 random_;
  uint64_t scans_ = 0;
};

}  // namespace kordon::sim

#endif  // KORDON_PLUGINS_SITE_SIM_SITE_DEVICES_H_
