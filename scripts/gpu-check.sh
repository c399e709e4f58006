#!/usr/bin/env bash
# The CUDA path on a machine with a GPU, in one go: build fastpp::cuda and its tests, run them, and
# print the device. Meant for a short, prepared run (a few minutes); the CPU suite is scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/gpu-check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"
b=build/gpu
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B "$b" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DFASTPP_CUDA=ON -DFASTPP_CUDA_ARCHITECTURES=90 \
      -DFASTPP_BUILD_EXAMPLES=OFF -DFASTPP_BUILD_BENCHMARKS=OFF >"$out/configure.log" 2>&1
cmake --build "$b" -j "$(nproc)" --target fastpp_cuda fastpp_tests_cuda fastpp_tests_cuda_host \
      fastpp_bench_cuda_cross_entropy 2>&1 | tail -n 3
"$b/tests/cuda/fastpp_tests_cuda_host" 2>&1 | tee "$out/cuda-host-tests.log"
"$b/tests/cuda/fastpp_tests_cuda" --reporter console 2>&1 | tee "$out/cuda-tests.log"
# then the timings, each line written as it is measured
"$b/tests/cuda/fastpp_bench_cuda_cross_entropy" 2>&1 | tee "$out/bench-cross-entropy.txt"
