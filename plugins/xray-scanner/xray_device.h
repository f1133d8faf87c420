// xray_device.h — the scanner side of the spool contract, for simulators and tests: builds a
// believable scan (a synthetic grayscale PGM image and its kordon-xray/1 metadata) and writes
// it to a spool directory the way a vendor must: the image first, then the metadata under a
// temporary name renamed into place. Used by kordon-xray-sim, the tests and site simulators.
//
// Thread safety: pure functions; WriteScan touches only the files of its own scan.
#ifndef KORDON_PLUGINS_XRAY_SCANNER_XRAY_DEVICE_H_
#define KORDON_PLUGINS_XRAY_SCANNER_XRAY_DEVICE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kordon::xray {

struct ScanMarkSpec {
  int64_t x = 0, y = 0, width = 1, height = 1;
  std::string label = "organic";
  std::string note;        // "" -> left out
  std::string suspicion;   // "" -> left out
};

struct ScanSpec {
  std::string scan_id = "SIM-00000001";
  std::string scanner_id = "xray-sim";
  std::string time = "2026-11-28T10:15:03Z";
  int width = 512, height = 256;
  uint64_t seed = 1;               // the image's pixels
  std::string plate;               // "" -> no vehicle
  std::vector<std::string> containers;
  std::string operator_id;         // "" -> no operator
  std::string operator_name;
  std::vector<ScanMarkSpec> marks;
  bool include_sha256 = true;
  int64_t energy_kev = 6000;
  std::string mode = "dual-energy";
};

// The two files of a scan, in memory.
struct ScanFiles {
  std::string image_name;     // <scan_id>.pgm
  std::string image;          // binary PGM (P5, 8 bits)
  std::string metadata_name;  // <scan_id>.json
  std::string metadata;       // kordon-xray/1 JSON
  std::string sha256;         // of the image, lower-case hex
};

ScanFiles MakeScan(const ScanSpec& spec);

// A random but believable spec for scan number `index` (plates, valid ISO 6346 container
// codes, sometimes operator marks), reproducible from `seed`.
ScanSpec RandomScanSpec(uint64_t seed, uint64_t index, const std::string& scanner_id);

// A valid ISO 6346 code for owner (3 letters) + 'U' + six digits, check digit appended.
std::string ContainerCode(const std::string& owner, uint32_t serial);

// Writes `files` into `dir`: the image, then the metadata as ".<name>.tmp" renamed to its name.
// false with *error on failure.
bool WriteScanFiles(const std::string& dir, const ScanFiles& files, std::string* error);

// MakeScan + WriteScanFiles.
bool WriteScan(const std::string& dir, const ScanSpec& spec, std::string* error);

// Writes `data` to dir/name in one go (open, write, close); false with *error on failure.
bool WriteFileIn(const std::string& dir, const std::string& name, const std::string& data,
                 std::string* error);

}  // namespace kordon::xray

#endif  // KORDON_PLUGINS_XRAY_SCANNER_XRAY_DEVICE_H_
