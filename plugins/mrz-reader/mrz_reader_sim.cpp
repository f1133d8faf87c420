// mrz_reader_sim.cpp — kordon-mrz-sim: a simulated desktop document reader on TCP.
//
//   kordon-mrz-sim --listen 127.0.0.1:PORT [--documents FILE] [--interval-ms N] [--count N]
//
// Listens on PORT (0: an ephemeral port) and prints "listening HOST:PORT" as the first line of
// stdout. Every client that connects gets the documents — from FILE (MRZ documents separated
// by blank lines) or the built-in ICAO Doc 9303 specimens — one document every interval
// (the first at once), each line ended with CRLF, cycling through the list; with --count, N
// documents and then the connection stays open, idle. Disconnects are handled per client;
// SIGINT / SIGTERM end the program with exit code 0. See README.md ("The simulator").
//
// One thread, one poll loop; plain POSIX sockets.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim_support.h"

namespace {

using Clock = std::chrono::steady_clock;

// ICAO Doc 9303 specimens: TD3 (part 4), TD1 (part 5), TD2 (part 6).
const std::vector<std::vector<std::string>> kSpecimens = {
    {"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
     "L898902C36UTO7408122F1204159ZE184226B<<<<<10"},
    {"I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6",
     "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"},
    {"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"},
};

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool listen_set = false;
  std::string documents_file;
  int64_t interval_ms = 2000;
  std::optional<int64_t> count;
  bool help = false;
};

struct Client {
  int fd = -1;
  std::string peer;
  size_t next_document = 0;
  int64_t sent = 0;
  Clock::time_point next_send;
};

void Usage() {
  std::fprintf(stderr,
               "usage: kordon-mrz-sim --listen HOST:PORT [--documents FILE] [--interval-ms N] "
               "[--count N]\n");
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o->help = true;
      return true;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "kordon-mrz-sim: %s needs a value\n", arg.c_str());
      return false;
    }
    const std::string value = argv[++i];
    if (arg == "--listen") {
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "kordon-mrz-sim: --listen '%s' is not HOST:PORT\n", value.c_str());
        return false;
      }
      auto port = kordon::sim::ParseInt(value.substr(colon + 1), 0, 65535);
      if (!port) {
        std::fprintf(stderr, "kordon-mrz-sim: --listen '%s': port must be 0..65535\n",
                     value.c_str());
        return false;
      }
      o->host = value.substr(0, colon);
      o->port = static_cast<uint16_t>(*port);
      o->listen_set = true;
    } else if (arg == "--documents") {
      o->documents_file = value;
    } else if (arg == "--interval-ms") {
      auto v = kordon::sim::ParseInt(value, 1, 3600000);
      if (!v) {
        std::fprintf(stderr, "kordon-mrz-sim: --interval-ms must be 1..3600000\n");
        return false;
      }
      o->interval_ms = *v;
    } else if (arg == "--count") {
      auto v = kordon::sim::ParseInt(value, 0, INT64_MAX);
      if (!v) {
        std::fprintf(stderr, "kordon-mrz-sim: --count must be a number >= 0\n");
        return false;
      }
      o->count = *v;
    } else {
      std::fprintf(stderr, "kordon-mrz-sim: unknown option %s\n", arg.c_str());
      return false;
    }
  }
  if (!o->listen_set) {
    std::fprintf(stderr, "kordon-mrz-sim: --listen is required\n");
    return false;
  }
  return true;
}

// Documents separated by blank lines; CR at line ends and trailing spaces dropped.
bool LoadDocuments(const std::string& path, std::vector<std::vector<std::string>>* out) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "kordon-mrz-sim: cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<std::string> current;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) {
      if (!current.empty()) out->push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(line);
    }
  }
  if (!current.empty()) out->push_back(std::move(current));
  if (out->empty()) {
    std::fprintf(stderr, "kordon-mrz-sim: %s holds no document\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) {
    Usage();
    return 2;
  }
  if (options.help) {
    Usage();
    return 0;
  }
  std::vector<std::vector<std::string>> documents = kSpecimens;
  if (!options.documents_file.empty()) {
    documents.clear();
    if (!LoadDocuments(options.documents_file, &documents)) return 2;
  }

  // SIGINT / SIGTERM end the program; they arrive only inside ppoll (sim_support.h).
  const kordon::sim::StopSignals signals;

  uint16_t bound_port = 0;
  std::string listen_error;
  const int listen_fd = kordon::sim::ListenTcp(options.host, options.port, &bound_port, &listen_error);
  if (listen_fd < 0) {
    std::fprintf(stderr, "%s: %s\n", "kordon-mrz-sim", listen_error.c_str());
    return 1;
  }
  std::printf("listening %s:%u\n", options.host.c_str(), static_cast<unsigned>(bound_port));
  std::fflush(stdout);

  const auto interval = std::chrono::milliseconds(options.interval_ms);
  std::vector<Client> clients;
  while (!signals.stop_requested()) {
    // Send what is due; drop clients whose send fails.
    const Clock::time_point now = Clock::now();
    for (Client& c : clients) {
      if (c.fd < 0 || (options.count && c.sent >= *options.count) || now < c.next_send) continue;
      std::string text;
      for (const std::string& line : documents[c.next_document]) text += line + "\r\n";
      if (!kordon::sim::SendAll(c.fd, text)) {
        std::fprintf(stderr, "kordon-mrz-sim: %s: send failed (%s), dropped\n", c.peer.c_str(),
                     std::strerror(errno));
        close(c.fd);
        c.fd = -1;
        continue;
      }
      c.next_document = (c.next_document + 1) % documents.size();
      ++c.sent;
      c.next_send = now + interval;
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });

    // Wait for a connection, a client's bytes or close, a signal, or the next send.
    std::vector<pollfd> fds;
    fds.push_back({listen_fd, POLLIN, 0});
    Clock::time_point wake = Clock::now() + std::chrono::seconds(1);
    for (const Client& c : clients) {
      fds.push_back({c.fd, POLLIN, 0});
      if (!options.count || c.sent < *options.count) wake = std::min(wake, c.next_send);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now());
    const int64_t ns = std::max<int64_t>(0, wait.count());
    timespec timeout{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int ready = ppoll(fds.data(), fds.size(), &timeout, signals.wait_mask());
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "kordon-mrz-sim: poll: %s\n", std::strerror(errno));
      break;
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Client& c = clients[i - 1];
      char buffer[512];
      const ssize_t n = recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) continue;  // input ignored
      std::fprintf(stderr, "kordon-mrz-sim: %s disconnected after %lld documents\n",
                   c.peer.c_str(), static_cast<long long>(c.sent));
      close(c.fd);
      c.fd = -1;
    }
    if (fds[0].revents & POLLIN) {
      std::string peer;
      const int fd = kordon::sim::AcceptClient(listen_fd, /*non_blocking=*/false, &peer);
      if (fd >= 0) {
        Client c;
        c.fd = fd;
        c.peer = std::move(peer);
        c.next_send = Clock::now();
        std::fprintf(stderr, "kordon-mrz-sim: %s connected\n", c.peer.c_str());
        clients.push_back(std::move(c));
      }
    }
  }
  for (Client& c : clients)
    if (c.fd >= 0) close(c.fd);
  close(listen_fd);
  std::fprintf(stderr, "kordon-mrz-sim: stopped\n");
  return 0;
}
