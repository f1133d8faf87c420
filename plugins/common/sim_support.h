// sim_support.h — what the device simulators (kordon-mrz-sim, kordon-weighbridge-sim,
// kordon-site-sim) share: stopping cleanly on SIGINT / SIGTERM inside a ppoll loop, a
// listening TCP socket, blocking sends and number arguments. Static library
// kordon_sim_support; not used by plugins.
//
// Thread safety: StopSignals is process-wide (one per program, on the main thread); the rest
// are plain functions.
#ifndef KORDON_PLUGINS_COMMON_SIM_SUPPORT_H_
#define KORDON_PLUGINS_COMMON_SIM_SUPPORT_H_

#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kordon::sim {

// Installs handlers for SIGINT and SIGTERM and blocks both, so that they are delivered only
// inside ppoll(..., wait_mask()): no signal is lost between a check of stop_requested() and
// the wait. SIGPIPE is ignored (a peer that goes away is an error return, not a death).
class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool stop_requested() const;
  // The mask to pass to ppoll: the program's mask with SIGINT and SIGTERM unblocked.
  const sigset_t* wait_mask() const { return &wait_mask_; }

 private:
  sigset_t wait_mask_;
};

// A whole number in [min, max], or nullopt (empty, trailing characters, out of range).
std::optional<int64_t> ParseInt(const std::string& text, int64_t min, int64_t max);

// A non-blocking listening TCP socket on an IPv4 address (SO_REUSEADDR, so that a restarted
// simulator gets its port back). Port 0 picks an ephemeral port; *bound_port says which.
// Returns -1 with *error (naming the address and the reason) on failure.
int ListenTcp(const std::string& address, uint16_t port, uint16_t* bound_port, std::string* error);

// Accepts one pending connection on `listen_fd` (close-on-exec; non-blocking when asked).
// Returns its descriptor and sets *peer to "ADDR:PORT", or -1 when none is pending.
int AcceptClient(int listen_fd, bool non_blocking, std::string* peer);

// Sends all of `data` on a blocking socket (retrying on EINTR); false when the peer is gone.
bool SendAll(int fd, std::string_view data);

}  // namespace kordon::sim

#endif  // KORDON_PLUGINS_COMMON_SIM_SUPPORT_H_
