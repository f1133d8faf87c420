// Log set-up shared by kordon-host and kordon.
#ifndef KORDON_HOST_LOGGING_H_
#define KORDON_HOST_LOGGING_H_

#include <string>

namespace kordon::host {

// Sends the default spdlog logger to stderr at `level` (trace..off; unknown names: info).
void SetUpLogging(const std::string& level);

}  // namespace kordon::host

#endif  // KORDON_HOST_LOGGING_H_
