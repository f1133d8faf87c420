// fuzz_check.h — the one assertion fuzz targets use: FUZZ_CHECK(cond, what) prints what broke
// and aborts, in every build type (assert() vanishes under NDEBUG).
#ifndef KORDON_TESTS_FUZZ_FUZZ_CHECK_H_
#define KORDON_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                            \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s (%s)\n", __FILE__, __LINE__, \
                   what, #cond);                                                          \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

#endif  // KORDON_TESTS_FUZZ_FUZZ_CHECK_H_
