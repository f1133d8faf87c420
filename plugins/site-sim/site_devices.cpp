// site_devices.cpp — see site_devices.h.
#include "site_devices.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include <nlohmann/json.hpp>

#include "sim_support.h"
#include "site_weighbridge.h"
#include "site_xray.h"

namespace kordon::sim {

namespace {

// RFC 3339 UTC with milliseconds: what cameras stamp their reads with.
std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return out;
}

std::string Confidence(double c) {
  char out[16];
  std::snprintf(out, sizeof out, "%.2f", c);
  return out;
}

}  // namespace

// ---- Endpoint

Endpoint::Endpoint(std::string lane, std::string device)
    : lane_(std::move(lane)), device_(std::move(device)) {}

Endpoint::~Endpoint() {
  for (Client& c : clients_)
    if (c.fd >= 0) close(c.fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

bool Endpoint::Listen(const std::string& address, int port, std::string* error) {
  uint16_t bound = 0;
  std::string why;
  listen_fd_ = ListenTcp(address, static_cast<uint16_t>(port), &bound, &why);
  if (listen_fd_ < 0) {
    *error = lane_ + " " + device_ + ": " + why;
    return false;
  }
  address_ = address;
  port_ = bound;
  return true;
}

std::string Endpoint::Describe() const {
  return lane_ + " " + device_ + " " + address_ + ":" + std::to_string(port_);
}

void Endpoint::AddPollFds(std::vector<pollfd>* fds) const {
  fds->push_back({listen_fd_, POLLIN, 0});
  for (const Client& c : clients_) fds->push_back({c.fd, POLLIN, 0});
}

void Endpoint::OnPoll(const std::vector<pollfd>& fds, size_t* index) {
  const bool accept = fds[(*index)++].revents & POLLIN;
  for (Client& c : clients_) {
    const short revents = fds[(*index)++].revents;
    if (revents == 0 || c.fd < 0) continue;
    char buffer[1024];
    const ssize_t n = recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      Drop(&c, n == 0 ? "disconnected" : std::strerror(errno));
      continue;
    }
    if (n < 0) continue;
    c.input.append(buffer, static_cast<size_t>(n));
    size_t end;
    while (c.fd >= 0 && (end = c.input.find_first_of("\r\n")) != std::string::npos) {
      const std::string line = c.input.substr(0, end);
      c.input.erase(0, end + 1);
      if (!line.empty()) OnLine(c.fd, line);
    }
    if (c.input.size() > 4096) Drop(&c, "sent a line over 4096 bytes");
  }
  std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
  if (accept) Accept();
}

void Endpoint::Accept() {
  Client c;
  c.fd = AcceptClient(listen_fd_, /*non_blocking=*/true, &c.peer);
  if (c.fd < 0) return;
  std::fprintf(stderr, "kordon-site-sim: %s %s: %s connected\n", lane_.c_str(), device_.c_str(),
               c.peer.c_str());
  clients_.push_back(std::move(c));
}

void Endpoint::Drop(Client* c, const char* why) {
  std::fprintf(stderr, "kordon-site-sim: %s %s: %s %s\n", lane_.c_str(), device_.c_str(),
               c->peer.c_str(), why);
  close(c->fd);
  c->fd = -1;
}

void Endpoint::Write(Client* c, std::string_view bytes) {
  if (c->fd < 0) return;
  // Non-blocking: a device never waits for its reader. A short write happens only when the
  // reader has stopped reading for a long time (its buffers are full); it is dropped.
  const ssize_t n = send(c->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(bytes.size()))
    Drop(c, n < 0 ? std::strerror(errno) : "is not reading (send buffer full)");
}

void Endpoint::Send(int fd, std::string_view bytes) {
  for (Client& c : clients_)
    if (c.fd == fd) Write(&c, bytes);
}

void Endpoint::Broadcast(std::string_view bytes) {
  for (Client& c : clients_) Write(&c, bytes);
  std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
}

// ---- DocumentReader

void DocumentReader::SendDocument(const std::string& mrz) {
  std::string out;
  size_t start = 0;
  while (start <= mrz.size()) {
    const size_t end = std::min(mrz.find('\n', start), mrz.size());
    out += mrz.substr(start, end - start) + "\r\n";
    start = end + 1;
  }
  Broadcast(out);
}

// ---- Camera

Camera::Camera(std::string lane, std::string device, std::string camera_id, Form form)
    : Endpoint(std::move(lane), std::move(device)), camera_id_(std::move(camera_id)), form_(form) {}

void Camera::SendPlate(const Vehicle& v) {
  char id[16];
  std::snprintf(id, sizeof id, "%06llu", static_cast<unsigned long long>(++read_seq_));
  const std::string image = "/var/spool/anpr/" + camera_id_ + "/" + id + ".jpg";
  const std::string time = NowRfc3339();
  std::string line;
  if (form_ == Form::kJson) {
    nlohmann::json j = {{"plate", v.plate_raw},   {"confidence", std::stod(Confidence(v.plate_confidence))},
                        {"country", v.plate_country}, {"image", image},
                        {"camera", camera_id_},   {"time", time},
                        {"direction", "in"},      {"id", id}};
    if (!v.plate_region.empty()) j["region"] = v.plate_region;
    line = j.dump();
  } else {
    line = "PLATE;" + time + ";" + camera_id_ + ";" + v.plate_raw + ";" +
           Confidence(v.plate_confidence) + ";" + v.plate_country + ";" + v.plate_region + ";" +
           image;
  }
  Broadcast(line + "\r\n");
}

void Camera::SendContainer(const Container& c, size_t index) {
  char id[16];
  std::snprintf(id, sizeof id, "%06llu", static_cast<unsigned long long>(++read_seq_));
  // As painted: owner and category, serial, check digit in a box: "MSCU 123456 5".
  const std::string painted = c.code.substr(0, 4) + " " + c.code.substr(4, 6) + " " + c.code.substr(10);
  const std::string position = index == 0 ? "rear" : "front";
  const std::string image = "/var/spool/ccr/" + camera_id_ + "/" + id + ".jpg";
  const std::string time = NowRfc3339();
  std::string line;
  if (form_ == Form::kJson) {
    line = nlohmann::json{{"code", painted},      {"size_type", c.size_type}, {"confidence", 0.9},
                          {"camera", camera_id_}, {"position", position},     {"image", image},
                          {"time", time},         {"id", id}}
               .dump();
  } else {
    line = "CONTAINER;" + time + ";" + camera_id_ + ";" + painted + ";0.90;" + position + ";" + image;
  }
  Broadcast(line + "\r\n");
}

Clock::time_point Camera::Tick(Clock::time_point now) {
  if (now >= next_heartbeat_) {
    if (clients() > 0) {
      Broadcast(form_ == Form::kJson
                    ? nlohmann::json{{"heartbeat", true}, {"camera", camera_id_}}.dump() + "\r\n"
                    : "HEARTBEAT;" + NowRfc3339() + ";" + camera_id_ + "\r\n");
    }
    next_heartbeat_ = now + std::chrono::seconds(10);
  }
  return next_heartbeat_;
}

// ---- DeviceSet

DeviceSet::DeviceSet(uint64_t seed) : random_(seed ^ 0xa11) {
  using Form = Camera::Form;
  // The port layout (README.md): offsets from --base-port, in this order.
  auto add = [this](std::string device, Endpoint* e) {
    endpoints_.push_back(Named{std::move(device), std::unique_ptr<Endpoint>(e)});
  };
  add("documents", new DocumentReader("lane-1", "documents"));
  add("plates", new Camera("lane-1", "plates", "lane1-anpr", Form::kJson));
  add("containers", new Camera("lane-1", "containers", "lane1-ccr", Form::kJson));
  add("scale", new Weighbridge("lane-1", "scale", Weighbridge::Protocol::kSics, seed));
  add("documents", new DocumentReader("lane-2", "documents"));
  add("plates", new Camera("lane-2", "plates", "lane2-anpr", Form::kDelimited));
  add("documents", new DocumentReader("lane-3", "documents"));
  add("plates", new Camera("lane-3", "plates", "lane3-anpr", Form::kJson));
  add("scale", new Weighbridge("lane-3", "scale", Weighbridge::Protocol::kToledoContinuous, seed + 1));
  static_assert(kDevicePortSpan == 9, "the port layout has nine devices");
}

DeviceSet::~DeviceSet() = default;

bool DeviceSet::Listen(const std::string& address, int base_port, std::string* error) {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const int port = base_port == 0 ? 0 : base_port + static_cast<int>(i);
    if (!endpoints_[i].endpoint->Listen(address, port, error)) return false;
  }
  return true;
}

std::vector<std::string> DeviceSet::Describe() const {
  std::vector<std::string> out;
  for (const Named& n : endpoints_) out.push_back(n.endpoint->Describe());
  return out;
}

template <typename T>
T* DeviceSet::Find(const std::string& lane, const std::string& device) {
  for (Named& n : endpoints_)
    if (n.device == device && n.endpoint->lane() == lane) return dynamic_cast<T*>(n.endpoint.get());
  return nullptr;
}

DocumentReader* DeviceSet::Documents(const std::string& lane) {
  return Find<DocumentReader>(lane, "documents");
}
Camera* DeviceSet::Plates(const std::string& lane) { return Find<Camera>(lane, "plates"); }
Camera* DeviceSet::Containers(const std::string& lane) { return Find<Camera>(lane, "containers"); }
Weighbridge* DeviceSet::Scale(const std::string& lane) { return Find<Weighbridge>(lane, "scale"); }

bool DeviceSet::PrepareXrayDir(const std::string& dir, std::string* error) {
  return PrepareXraySpool(dir, error);
}

void DeviceSet::WriteXrayScan(const std::string& dir, const Vehicle& v) {
  std::string error;
  if (!WriteXrayScanFor(dir, v, ++scans_, &random_, &error))
    std::fprintf(stderr, "kordon-site-sim: x-ray scan not written: %s\n", error.c_str());
}

Clock::time_point DeviceSet::Tick(Clock::time_point now) {
  Clock::time_point next = now + std::chrono::seconds(1);
  for (Named& n : endpoints_) next = std::min(next, n.endpoint->Tick(now));
  return next;
}

bool DeviceSet::Poll(Clock::time_point until, const sigset_t* wait_mask) {
  std::vector<pollfd> fds;
  for (const Named& n : endpoints_) n.endpoint->AddPollFds(&fds);
  const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(until - Clock::now());
  const int64_t ns = std::max<int64_t>(0, wait.count());
  timespec timeout{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  const int ready = ppoll(fds.data(), fds.size(), &timeout, wait_mask);
  if (ready < 0) {
    if (errno == EINTR) return true;
    std::fprintf(stderr, "kordon-site-sim: poll: %s\n", std::strerror(errno));
    return false;
  }
  size_t index = 0;
  for (Named& n : endpoints_) n.endpoint->OnPoll(fds, &index);
  return true;
}

}  // namespace kordon::sim
