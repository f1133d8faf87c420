// site_xray.cpp — see site_xray.h.
#include "site_xray.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "xray_device.h"

namespace kordon::sim {

bool PrepareXraySpool(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create the X-ray spool " + dir + ": " + ec.message();
    return false;
  }
  return true;
}

bool WriteXrayScanFor(const std::string& dir, const Vehicle& v, uint64_t index,
                      std::mt19937_64* random, std::string* error) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char time[32], id[48];
  std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::snprintf(id, sizeof id, "AKZ-%04d%02d%02d-%06llu", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, static_cast<unsigned long long>(index));

  kordon::xray::ScanSpec spec;
  spec.scan_id = id;
  spec.scanner_id = "akzhol-xray-1";
  spec.time = time;
  spec.seed = (*random)();
  spec.plate = v.plate;
  for (const Container& c : v.containers) spec.containers.push_back(c.code);
  spec.operator_id = "op" + std::to_string(11 + (*random)() % 9);
  // One scan in six shows the operator a suspect region.
  if ((*random)() % 6 == 0) {
    kordon::xray::ScanMarkSpec mark;
    mark.x = static_cast<int64_t>(40 + (*random)() % 300);
    mark.y = static_cast<int64_t>(20 + (*random)() % 150);
    mark.width = 60;
    mark.height = 40;
    mark.label = (*random)() % 2 ? "organic" : "metal";
    mark.suspicion = (*random)() % 3 == 0 ? "high" : "medium";
    mark.note = "density does not match the declared goods";
    spec.marks.push_back(mark);
  }
  return kordon::xray::WriteScan(dir, spec, error);
}

}  // namespace kordon::sim
