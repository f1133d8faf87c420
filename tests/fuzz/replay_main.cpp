// replay_main.cpp — runs a fuzz target without libFuzzer: the corpus replay of `make test`.
//
//   fuzz_NAME [--mutations N] [--seed S] PATH...
//
// Every PATH is a file or a directory of files (not recursive, in name order). Each file is
// given to LLVMFuzzerTestOneInput whole, then every proper prefix of it (up to 4 KiB: the
// truncated reads a device produces), then N mutations (default 2000) made with a fixed seed:
// bytes flipped, replaced with interesting values, inserted, deleted, and pieces duplicated.
// The same seed gives the same inputs, so a failure here reproduces with the same command.
// A target reports a failure by aborting; this program only counts. An empty corpus is an
// error: a replay of nothing proves nothing.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kMaxPrefixBytes = 4096;

void Run(const std::string& bytes) {
  // A copy in its own allocation, so that ASan sees reads past the end.
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
}

std::string Mutate(const std::string& in, std::mt19937_64& random) {
  static const uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x03, 0x0a, 0x0d, 0x1b, 0x20,
                                         0x2b, 0x2d, 0x2e, 0x30, 0x39, 0x3c, 0x41, 0x5a,
                                         0x7f, 0x80, 0xc0, 0xd0, 0xe2, 0xff};
  std::string out = in;
  const int steps = 1 + static_cast<int>(random() % 4);
  for (int i = 0; i < steps; ++i) {
    const size_t pos = out.empty() ? 0 : random() % out.size();
    switch (random() % 6) {
      case 0:  // flip a bit
        if (!out.empty()) out[pos] = static_cast<char>(out[pos] ^ (1u << (random() % 8)));
        break;
      case 1:  // an interesting byte
        if (!out.empty())
          out[pos] = static_cast<char>(kInteresting[random() % sizeof(kInteresting)]);
        break;
      case 2:  // insert a byte
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos),
                   static_cast<char>(kInteresting[random() % sizeof(kInteresting)]));
        break;
      case 3:  // delete a run
        if (!out.empty()) out.erase(pos, 1 + random() % 8);
        break;
      case 4: {  // duplicate a piece
        if (out.empty() || out.size() > 65536) break;
        const size_t len = 1 + random() % std::min<size_t>(out.size() - pos, 64);
        out.insert(pos, out.substr(pos, len));
        break;
      }
      default:  // an ASCII digit or letter, the bytes parsers branch on
        if (!out.empty()) out[pos] = static_cast<char>("0123456789AZ<+-. "[random() % 17]);
        break;
    }
  }
  return out;
}

bool ReadFile(const std::filesystem::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 2000;
  uint64_t seed = 20261128;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--mutations" || arg == "--seed") && i + 1 < argc) {
      const char* value = argv[++i];
      char* end = nullptr;
      const unsigned long long v = std::strtoull(value, &end, 10);
      if (end == value || *end != '\0') {
        std::fprintf(stderr, "%s: %s wants a number, got '%s'\n", argv[0], arg.c_str(), value);
        return 2;
      }
      if (arg == "--mutations") mutations = static_cast<long>(v);
      else seed = v;
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> found;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec))
        if (entry.is_regular_file()) found.push_back(entry.path());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      files.emplace_back(arg);
    } else {
      std::fprintf(stderr, "%s: no such file or directory: %s\n", argv[0], arg.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s [--mutations N] [--seed S] CORPUS_DIR_OR_FILE...\n"
                         "(an empty corpus is an error)\n", argv[0]);
    return 2;
  }

  std::mt19937_64 random(seed);
  uint64_t runs = 0;
  for (const auto& path : files) {
    std::string bytes;
    if (!ReadFile(path, &bytes)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 2;
    }
    Run(bytes);
    ++runs;
    const size_t prefixes = std::min(bytes.size(), kMaxPrefixBytes);
    for (size_t n = 0; n < prefixes; ++n, ++runs) Run(bytes.substr(0, n));
    for (long m = 0; m < mutations; ++m, ++runs) Run(Mutate(bytes, random));
  }
  std::printf("replayed %zu corpus files, %llu inputs (seed %llu): no failure\n", files.size(),
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
  return 0;
}
