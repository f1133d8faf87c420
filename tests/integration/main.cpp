// The integration tests' main: doctest's own. Each CTest entry selects one test suite
// (see CMakeLists.txt), so a failure names the area at a glance.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
