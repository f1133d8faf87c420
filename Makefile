# Kordon: the two commands a newcomer runs.
#
#   make demo    install what is missing, build, start a simulated checkpoint, show its bus
#   make test    install what is missing, build, run every test
#
# Other targets: make build | make bench | make fuzz | make package | make clean | make deps
# Variables:     BUILD_TYPE=Debug|Release|RelWithDebInfo   SANITIZE=address,undefined | thread
#                JOBS=N (parallel build and test jobs, default: number of cores)
#                FUZZ_SECONDS=N (make fuzz: time per fuzz target, default 60)
#                FUZZ_RUNS=N FUZZ_JOBS=J (make fuzz: N executions per target, J targets at once)
#                FUZZ_FORK=W (make fuzz: each target as one campaign of W worker processes)
#                FUZZ_TARGETS="a b" (make fuzz: only these targets)

BUILD_TYPE ?= RelWithDebInfo
SANITIZE   ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),)
BUILD_DIR  ?= build
else
BUILD_DIR  ?= build-$(subst $(comma),-,$(SANITIZE))
endif
comma := ,

CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DKORDON_SANITIZE=$(SANITIZE)

# ccache (installed by `make deps`) keeps compiled objects across build trees and clones: a
# second checkout, a sanitizer tree or a `make clean` rebuilds from the cache. Paths are taken
# relative to this directory, so two clones share it. CCACHE_DISABLE=1 turns it off.
# Decided when the recipe runs, after `deps` has installed it.
CCACHE := $$(command -v ccache >/dev/null && echo -DCMAKE_C_COMPILER_LAUNCHER=ccache \
            -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test demo bench fuzz package clean

all: build

deps:
	@.ci/install-deps

configure: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) $(CCACHE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Sanitizer runtime options for the tests and every program they start: UBSan reports with their
# stack; TSan stops at the first report and reads the suppressions of code built without it
# (tests/tsan.supp).
SANITIZER_ENV := UBSAN_OPTIONS=print_stacktrace=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp

test: build
	cd $(BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) --timeout 600

# Debian packages (CPack): kordon (host, tool, plugins, systemd unit) and kordon-sdk-dev.
package: deps
	cmake -S . -B build-package -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	  -DKORDON_BUILD_TESTS=OFF
	cmake --build build-package -j $(JOBS)
	cd build-package && cpack -G DEB

# The demo needs only the programs and the demo plugins, not the tests.
demo: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target demo-site
	@BUILD_DIR=$(BUILD_DIR) config/run-demo

# Benchmarks measure an optimised build of their own (only the benchmarks and what they run),
# then print one table (also written to build-release/bench-table.md).
bench: deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release $(CCACHE)
	cmake --build build-release -j $(JOBS) --target benchmarks
	tests/bench/run-all build-release

# libFuzzer on every fuzz target (clang, ASan + UBSan); make test replays their corpora.
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= 0
FUZZ_JOBS    ?= 1
FUZZ_FORK    ?= 0
FUZZ_TARGETS ?=
fuzz:
	@.ci/install-deps clang
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DKORDON_FUZZ=ON -DKORDON_SANITIZE=address,undefined $(CCACHE)
	cmake --build build-fuzz -j $(JOBS) --target fuzz-targets
	FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_FORK=$(FUZZ_FORK) tests/fuzz/run-fuzzers build-fuzz $(FUZZ_SECONDS) \
	  $(FUZZ_RUNS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-*
