#include "status.h"

namespace kordon::host {

std::string Status::ToString() const {
  const char* prefix = "";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: prefix = "invalid argument: "; break;
    case Code::kNotFound: prefix = "not found: "; break;
    case Code::kVersion: prefix = "version mismatch: "; break;
    case Code::kIo: prefix = "I/O error: "; break;
    case Code::kBusy: prefix = "busy: "; break;
    case Code::kTimeout: prefix = "timeout: "; break;
    case Code::kStopped: prefix = "stopped: "; break;
    case Code::kInternal: prefix = "internal error: "; break;
  }
  return prefix + message_;
}

}  // namespace kordon::host
