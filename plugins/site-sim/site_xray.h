// site_xray.h — the simulated cargo X-ray of kordon-site-sim: scans of the trucks written into
// a spool directory the way a vendor's scanner writes them (plugins/xray-scanner's contract,
// through its own writer, xray_device.h).
#ifndef KORDON_PLUGINS_SITE_SIM_SITE_XRAY_H_
#define KORDON_PLUGINS_SITE_SIM_SITE_XRAY_H_

#include <cstdint>
#include <random>
#include <string>

#include "scenario.h"

namespace kordon::sim {

// Creates the spool directory (and its parents) if missing; false with *error otherwise.
bool PrepareXraySpool(const std::string& dir, std::string* error);

// Writes the scan of truck `v` (its plate and containers; now and then operator marks of a
// suspect region) as scan number `index`. False with *error when a file cannot be written.
bool WriteXrayScanFor(const std::string& dir, const Vehicle& v, uint64_t index,
                      std::mt19937_64* random, std::string* error);

}  // namespace kordon::sim

#endif  // KORDON_PLUGINS_SITE_SIM_SITE_XRAY_H_
