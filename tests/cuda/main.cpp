// The CUDA tests' main: exits with CTest's skip code (4) when no GPU is present, so a machine without
// one reports these tests as skipped, never as passed.
#define CATCH_CONFIG_RUNNER
#include <cuda_runtime.h>

#include <catch2/catch.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: the CUDA tests are skipped\n");
    return 4;
  }
  return Catch::Session().run(argc, argv);
}
