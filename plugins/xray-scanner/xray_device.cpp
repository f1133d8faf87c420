// xray_device.cpp — see xray_device.h.
#include "xray_device.h"

#include "iso6346.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <cstring>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "xray_hash.h"
#include "xray_metadata.h"

namespace kordon::xray {
namespace {

using Json = nlohmann::ordered_json;

// A truck seen from the side: dark cab, a container of cargo blocks, noise.
std::string Pixels(int width, int height, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string px(static_cast<size_t>(width) * height, '\0');
  std::uniform_int_distribution<int> noise(-6, 6);
  const int cab_end = width / 6;
  const int top = height / 5, bottom = height - height / 8;
  std::vector<std::array<int, 5>> blocks;  // x0, x1, y0, y1, density
  std::uniform_int_distribution<int> bx(cab_end + 4, std::max(cab_end + 5, width - 20));
  for (int i = 0; i < 6; ++i) {
    const int x0 = bx(random);
    const int y0 = top + static_cast<int>(random() % std::max(1, (bottom - top) / 2));
    blocks.push_back({x0, std::min(width - 2, x0 + 10 + static_cast<int>(random() % 60)), y0,
                      std::min(bottom, y0 + 10 + static_cast<int>(random() % 60)),
                      40 + static_cast<int>(random() % 120)});
  }
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int v = 235;  // air
      if (y >= top && y < bottom) v = x < cab_end ? 70 : 200;  // cab / container walls
      for (const auto& b : blocks)
        if (x >= b[0] && x < b[1] && y >= b[2] && y < b[3]) v -= b[4] / 2;
      v = std::clamp(v + noise(random), 0, 255);
      px[static_cast<size_t>(y) * width + x] = static_cast<char>(v);
    }
  }
  return px;
}

}  // namespace

std::string ContainerCode(const std::string& owner, uint32_t serial) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3sU%06u", owner.c_str(), serial % 1000000);
  std::string code = buf;
  return code + *kordon::iso6346::CheckDigit(code);  // 3 letters, U, 6 digits: always shaped
}

ScanFiles MakeScan(const ScanSpec& spec) {
  ScanFiles f;
  f.image_name = spec.scan_id + ".pgm";
  f.metadata_name = spec.scan_id + kMetadataSuffix;
  f.image = "P5\n" + std::to_string(spec.width) + " " + std::to_string(spec.height) + "\n255\n" +
            Pixels(spec.width, spec.height, spec.seed);
  f.sha256 = Sha256Hex(f.image);
  Json image = {{"file", f.image_name},
                {"bytes", f.image.size()},
                {"media_type", "image/x-portable-graymap"}};
  if (spec.include_sha256) image["sha256"] = f.sha256;
  image["width"] = spec.width;
  image["height"] = spec.height;
  Json j = {{"format", kFormat},
            {"scan_id", spec.scan_id},
            {"scanner_id", spec.scanner_id},
            {"time", spec.time},
            {"image", image}};
  if (!spec.plate.empty()) j["vehicle"] = {{"plate", spec.plate}};
  j["containers"] = spec.containers;
  if (!spec.operator_id.empty()) {
    j["operator"] = {{"id", spec.operator_id}};
    if (!spec.operator_name.empty()) j["operator"]["name"] = spec.operator_name;
  }
  Json marks = Json::array();
  for (const ScanMarkSpec& m : spec.marks) {
    Json k = {{"x", m.x}, {"y", m.y}, {"width", m.width}, {"height", m.height},
              {"label", m.label}};
    if (!m.note.empty()) k["note"] = m.note;
    if (!m.suspicion.empty()) k["suspicion"] = m.suspicion;
    marks.push_back(std::move(k));
  }
  j["marks"] = marks;
  j["energy_kev"] = spec.energy_kev;
  j["mode"] = spec.mode;
  f.metadata = j.dump(2);
  return f;
}

ScanSpec RandomScanSpec(uint64_t seed, uint64_t index, const std::string& scanner_id) {
  std::mt19937_64 random(seed * 1000003 + index);
  static const char* const kOwners[] = {"MSC", "MAE", "CMA", "HLX", "TGH", "CSQ"};
  static const char* const kOperators[][2] = {
      {"op17", "A. Asanov"}, {"op22", "B. Ismailova"}, {"op31", "T. Bekov"}};
  static const char* const kLabels[] = {"organic", "metal", "dense", "anomaly"};
  static const char* const kLevels[] = {"low", "medium", "high"};
  ScanSpec s;
  char id[64];
  std::snprintf(id, sizeof id, "SIM-%04llu-%06llu",
                static_cast<unsigned long long>(seed % 10000),
                static_cast<unsigned long long>(index));
  s.scan_id = id;
  s.scanner_id = scanner_id;
  s.seed = random();
  const time_t now = ::time(nullptr);
  struct tm utc {};
  ::gmtime_r(&now, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  s.time = when;
  if (random() % 10 < 8) {
    static const char kLetters[] = "ABCEHKMOPTXY";
    char plate[32];
    const unsigned region = static_cast<unsigned>(random() % 10);
    const unsigned number = static_cast<unsigned>(random() % 1000);
    std::snprintf(plate, sizeof plate, "%02uKG%03u%c%c%c", region, number,
                  kLetters[random() % 12], kLetters[random() % 12], kLetters[random() % 12]);
    s.plate = plate;
  }
  const int containers = static_cast<int>(random() % 3);
  for (int i = 0; i < containers; ++i)
    s.containers.push_back(ContainerCode(kOwners[random() % 6],
                                         static_cast<uint32_t>(random() % 1000000)));
  if (random() % 2 == 0) {
    const auto& op = kOperators[random() % 3];
    s.operator_id = op[0];
    s.operator_name = op[1];
    const int marks = static_cast<int>(random() % 3);
    for (int i = 0; i < marks; ++i) {
      ScanMarkSpec m;
      m.x = static_cast<int64_t>(random() % (s.width - 64));
      m.y = static_cast<int64_t>(random() % (s.height - 32));
      m.width = 16 + static_cast<int64_t>(random() % 48);
      m.height = 8 + static_cast<int64_t>(random() % 24);
      m.label = kLabels[random() % 4];
      m.suspicion = kLevels[random() % 3];
      if (random() % 2) m.note = "density differs from the declared goods";
      s.marks.push_back(m);
    }
  }
  s.include_sha256 = random() % 10 < 7;  // optional in the contract: most scanners send it
  s.energy_kev = random() % 2 ? 6000 : 4000;
  s.mode = random() % 4 ? "dual-energy" : "single-energy";
  return s;
}

bool WriteFileIn(const std::string& dir, const std::string& name, const std::string& data,
                 std::string* error) {
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    *error = "cannot close " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool WriteScanFiles(const std::string& dir, const ScanFiles& files, std::string* error) {
  if (!WriteFileIn(dir, files.image_name, files.image, error)) return false;
  const std::string temp = "." + files.metadata_name + ".tmp";
  if (!WriteFileIn(dir, temp, files.metadata, error)) return false;
  if (::rename((dir + "/" + temp).c_str(), (dir + "/" + files.metadata_name).c_str()) != 0) {
    *error = "cannot rename " + temp + " to " + files.metadata_name + ": " +
             std::strerror(errno);
    return false;
  }
  return true;
}

bool WriteScan(const std::string& dir, const ScanSpec& spec, std::string* error) {
  return WriteScanFiles(dir, MakeScan(spec), error);
}

}  // namespace kordon::xray
