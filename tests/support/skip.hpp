#pragma once
// FASTPP_SKIP(reason): ends a test that cannot run here (no PyTorch, no dataset, no GPU) with CTest's
// skip code, so it is reported as skipped, never as passed. CTest runs each test case in its own
// process, so exiting ends only that case.
#include <cstdio>
#include <cstdlib>

#define FASTPP_SKIP(reason)                                  \
  do {                                                       \
    std::fprintf(stderr, "SKIPPED: %s\n", (reason));         \
    std::fflush(stderr);                                     \
    std::_Exit(4);                                           \
  } while (0)
