#!/usr/bin/env bash
# A vendor's view of the SDK: install it, build a plugin out of tree with
# find_package(KordonSDK 1) and kordon_add_plugin, and check the result the way the host will.
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

# Only the SDK component: what the kordon-sdk-dev package holds.
cmake --install "$build" --prefix "$work/prefix" --component sdk >"$work/install.log"
check "the SDK headers and CMake package are installed" \
  test -f "$work/prefix/include/kordon/kordon.h" -a -f "$work/prefix/include/kordon/plugin.hpp"
cfg=$(find "$work/prefix" -name KordonSDKConfig.cmake | head -1)
check "KordonSDKConfig.cmake is installed" test -n "$cfg"
check "the message schemas are installed" test -f "$work/prefix/share/kordon/schemas/scale.weight.stable.v1.json"
check "the SDK component installs no program and no plugin" \
  test ! -e "$work/prefix/bin" -a ! -e "$work/prefix/lib/kordon/plugins"
# Nothing but this prefix may provide the package.
no_registry=(-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)

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
find_package(KordonSDK 1 REQUIRED)
kordon_add_plugin(vendor_echo SOURCES echo.c)
kordon_add_plugin(vendor_plate_logger SOURCES plate_logger.cpp)
CMAKE
check "a vendor project configures against the installed SDK" \
  cmake -S "$work/vendor" -B "$work/vendor/build" -DCMAKE_PREFIX_PATH="$work/prefix" "${no_registry[@]}" -DCMAKE_BUILD_TYPE=Release
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
find_package(KordonSDK 2 REQUIRED)
CMAKE
if cmake -S "$work/vendor" -B "$work/vendor/build2" -DCMAKE_PREFIX_PATH="$work/prefix" "${no_registry[@]}" >"$work/v2.log" 2>&1; then
  check "find_package(KordonSDK 2) refuses SDK 1" false
else
  check "find_package(KordonSDK 2) refuses SDK 1" grep -q "KordonSDK" "$work/v2.log"
fi

# The shipped examples, each from its own folder exactly as a vendor would build it, installed
# into the prefix (lib/kordon/plugins), then loaded by a real host.
for ex in vendor-plugin-c vendor-plugin-cpp; do
  check "examples/$ex configures against the installed SDK" \
    cmake -S "$src/examples/$ex" -B "$work/$ex" -DCMAKE_PREFIX_PATH="$work/prefix" "${no_registry[@]}" -DCMAKE_BUILD_TYPE=Release
  check "examples/$ex builds" cmake --build "$work/$ex" -j 2
  check "examples/$ex installs" cmake --install "$work/$ex" --prefix "$work/prefix"
done
plugins="$work/prefix/lib/kordon/plugins"
check "both example plugins are in lib/kordon/plugins" test -f "$plugins/acme-scale.so" -a -f "$plugins/acme-camera.so"
cat >"$work/site.ini" <<INI
[host]
name = vendor-site
bus.ingress = tcp://127.0.0.1:*
bus.egress = tcp://127.0.0.1:*
ready_file = $work/ready.json
plugin_path = $plugins

[plugin.scale]
library = acme-scale.so
lane = lane-1
interval_ms = 10

[plugin.camera]
library = acme-camera.so
lane = lane-1
plates = 01 KG 123 ABC/KG, 777 AEK 05/KZ
interval_ms = 50
INI
check "kordon plugin check passes acme-scale" \
  "$build/bin/kordon" plugin check "$plugins/acme-scale.so" --setting interval_ms=20 --no-valgrind --messages 5
check "kordon plugin check passes acme-camera" \
  "$build/bin/kordon" plugin check "$plugins/acme-camera.so" --setting "plates=01 KG 123 ABC/KG" \
  --setting interval_ms=20 --no-valgrind --messages 5
# `kordon plugin new`: a generated folder of each language builds against the SDK and passes
# the checks.
for lang in c cpp; do
  name="acme-$lang-gen"
  check "kordon plugin new $name --lang $lang" \
    "$build/bin/kordon" plugin new "$name" --kind scanner --lang "$lang" --dir "$work/new"
  check "the generated $lang plugin builds" sh -c "cmake -S '$work/new/$name' -B '$work/new/$name/build' \
    -DCMAKE_PREFIX_PATH='$work/prefix' ${no_registry[*]} >/dev/null && cmake --build '$work/new/$name/build' >/dev/null"
  check "the generated $lang plugin passes kordon plugin check" \
    "$build/bin/kordon" plugin check "$work/new/$name/build/$name.so" --no-valgrind --messages 5
done
check "kordon-host --check loads both" "$build/bin/kordon-host" --config "$work/site.ini" --check
"$build/bin/kordon-host" --config "$work/site.ini" >"$work/host.log" 2>&1 &
host=$!
for _ in $(seq 300); do [ -f "$work/ready.json" ] && break; sleep 0.1; done
egress=$(sed -n 's/.*"egress": *"\([^"]*\)".*/\1/p' "$work/ready.json")
# The scale weighs a vehicle every 400 ms and the camera reads a plate every 50 ms: forty
# messages hold several of each however late the tail joins (a busy machine, a sanitizer build).
"$build/bin/kordon" tail scale.weight.stable scanner.plate.read --egress "$egress" --json \
  --count 40 --timeout-ms 10000 >"$work/tail.jsonl" 2>"$work/tail.err" || true
kill -TERM "$host"
wait "$host" && rc=0 || rc=$?
check "the host stops cleanly (exit $rc)" test "$rc" -eq 0
check "acme-scale published a stable weight" grep -q '"kg":240[0-9]0,.*"vehicle_seq":[1-9].*"topic":"scale.weight.stable"' "$work/tail.jsonl"
check "acme-camera published a normalised plate" grep -q '"plate":"01KG123ABC"' "$work/tail.jsonl"
if [ "$failures" -ne 0 ]; then
  echo "--- host log"; cat "$work/host.log"; echo "--- tail"; cat "$work/tail.jsonl" "$work/tail.err"
fi

if [ "$failures" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi
