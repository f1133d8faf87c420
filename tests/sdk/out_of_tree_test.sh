#!/usr/bin/env bash
# A vendor's view of the SDK: install it, build a plugin out of tree with
# find_package(KordonSdk 1) and kordon_add_plugin, and check the result the way the host will.
# Usage: out_of_tree_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d /tmp/kordon-sdk-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
check "the SDK headers and CMake package are installed" \
  test -f "$work/prefix/include/kordon/kordon.h" -a -f "$work/prefix/include/kordon/plugin.hpp"
cfg=$(find "$work/prefix" -name KordonSdkConfig.cmake | head -1)
check "KordonSdkConfig.cmake is installed" test -n "$cfg"

mkdir -p "$work/vendor"
cp "$src/tests/plugins/test_c_echo.c" "$work/vendor/echo.c"
cat >"$work/vendor/plate_logger.cpp" <<'CPP'
#include <kordon/plugin.hpp>
#include <random>
class PlateLogger : public kordon::Plugin {
 public:
  explicit PlateLogger(kordon::Host host) : Plugin(std::move(host)) {}
  kordon::Status OnMessage(const kordon::Message& m) override {
    std::mt19937_64 rng(42);  // a std:: template instance that must not be exported
    host().Info(std::string(m.topic()) + " " + std::to_string(rng() % 10));
    return kordon::Status::Ok();
  }
};
KORDON_PLUGIN(PlateLogger, {.name = "vendor-plate-logger", .kind = KORDON_KIND_OTHER,
                            .vendor = "Example Vendor", .version = "0.3.1",
                            .subscribes = {"scanner.plate"}});
CPP
cat >"$work/vendor/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(vendor_plugins C CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(KordonSdk 1 REQUIRED)
kordon_add_plugin(vendor_echo SOURCES echo.c)
kordon_add_plugin(vendor_plate_logger SOURCES plate_logger.cpp)
CMAKE
check "a vendor project configures against the installed SDK" \
  cmake -S "$work/vendor" -B "$work/vendor/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release
check "and builds a C and a C++ plugin" cmake --build "$work/vendor/build" -j 2
for p in vendor_echo vendor_plate_logger; do
  so="$work/vendor/build/$p.so"
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
  check "$p.so exports only kordon_plugin_entry (got: $exported)" test "$exported" = "kordon_plugin_entry "
  check "kordon plugin info accepts $p.so" "$build/bin/kordon" plugin info "$so"
done

# SameMajorVersion: a project asking for SDK 2 must not get SDK 1.
cat >"$work/vendor/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(vendor_plugins C)
find_package(KordonSdk 2 REQUIRED)
CMAKE
if cmake -S "$work/vendor" -B "$work/vendor/build2" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/v2.log" 2>&1; then
  check "find_package(KordonSdk 2) refuses SDK 1" false
else
  check "find_package(KordonSdk 2) refuses SDK 1" grep -q "KordonSdk" "$work/v2.log"
fi

if [ "$failures" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi
