#!/usr/bin/env bash
# The CUDA path on a machine with a GPU, in one go (issue 23): build fastpp::cuda and its tests, run the GPU
# tests (each kernel and a whole training run against the cpu's results), then the benchmarks, and end with a
# summary table. Meant for one short, prepared run (under 4 minutes on 16 cores); the CPU suite is
# scripts/test.sh. Without a GPU it says so and exits 0.
#
# The GPU machine has nvcc, CMake and ninja but none of Debian's packages and no network: the header-only
# dependencies (Eigen, stb, Catch2) come from .gpu-deps/, which scripts/gpu-deps.sh fills on a machine that
# has them (the folder is ignored by git; carry it to the GPU machine with the working tree). cuDNN is taken
# from the CUDA toolkit's folders or, failing that, from the Python package nvidia-cudnn (as PyTorch's wheels
# bring it). Results go to $OUT (default build/gpu-check), each file written as its step ends:
#   device.txt  build.log  tests.log  bench-cross-entropy.txt  bench-resnet50.txt  summary.txt
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/gpu-check}
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
row() { printf '%-34s %s\n' "$1" "$2" | tee -a "$summary"; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU on this machine: nothing to check (the CPU suite is scripts/test.sh)"
  exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
"$nvcc_bin" --version | tail -n 2 | head -n 1 | tee -a "$out/device.txt"

args=(-DCMAKE_BUILD_TYPE=Release -DFASTPP_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc_bin"
      -DFASTPP_CUDA_ARCHITECTURES="${FASTPP_CUDA_ARCHITECTURES:-90}" -DFASTPP_BUILD_EXAMPLES=OFF
      -DFASTPP_BUILD_BENCHMARKS=OFF -DFASTPP_BLAS=AUTO -DFASTPP_ONEDNN=AUTO -DFASTPP_TURBOJPEG=AUTO)
if [[ -d .gpu-deps ]]; then
  # copied out of the source tree: CMake refuses an installable target whose include folder lies inside it
  deps="${TMPDIR:-/tmp}/fastpp-gpu-deps"
  rm -rf "$deps" && cp -r .gpu-deps "$deps"
  args+=(-DCMAKE_PREFIX_PATH="$deps" -DFASTPP_STB_INCLUDE_DIR="$deps/include/stb")
fi
cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc_bin")")")
if ! ls "$cuda_root"/include/cudnn.h >/dev/null 2>&1 && ! ls "$cuda_root"/targets/*/include/cudnn.h >/dev/null 2>&1; then
  # the pip package nvidia-cudnn-cu13: include/ and lib/libcudnn.so.9 (no unversioned link)
  pkg=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null ||
        python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)
  if [[ -n "$pkg" && -f "$pkg/include/cudnn.h" ]]; then
    lib=$(ls "$pkg"/lib/libcudnn.so* | head -n 1)
    args+=(-DCUDNN_INCLUDE_DIR="$pkg/include" -DCUDNN_LIBRARY="$lib")
    export LD_LIBRARY_PATH="$pkg/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "cuDNN from $pkg" | tee -a "$out/device.txt"
  fi
fi

# NCCL (fastpp::nccl, issue 24) likewise: the toolkit's, or the Python package nvidia-nccl-cu13's
if ! ls "$cuda_root"/include/nccl.h >/dev/null 2>&1 && ! ls "$cuda_root"/targets/*/include/nccl.h >/dev/null 2>&1; then
  pkg=$(python3 -c 'import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)
  if [[ -n "$pkg" && -f "$pkg/include/nccl.h" ]]; then
    args+=(-DNCCL_ROOT="$pkg")
    export LD_LIBRARY_PATH="$pkg/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "NCCL from $pkg" | tee -a "$out/device.txt"
  fi
fi

b=build/gpu
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
start=$(date +%s)
targets=(fastpp_cuda fastpp_tests_cuda fastpp_tests_cuda_host fastpp_bench_cuda_cross_entropy fastpp_bench_cuda_resnet50)
nccl=0
if ! cmake -S . -B "$b" "${gen[@]}" "${args[@]}" >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log"
  row "configure" "FAILED (build.log)"
  exit 1
fi
if cmake --build "$b" --target help 2>/dev/null | grep -q fastpp_tests_nccl_host; then
  targets+=(fastpp_tests_nccl fastpp_tests_nccl_host)
  nccl=1
fi
if ! cmake --build "$b" -j "$(nproc)" --target "${targets[@]}" >>"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log"
  row "build" "FAILED (build.log)"
  exit 1
fi
row "build" "ok in $(( $(date +%s) - start )) s"

# the tests first: each kernel against the cpu's, then whole training runs
"$b/tests/cuda/fastpp_tests_cuda_host" >"$out/tests.log" 2>&1
host_rc=$?
"$b/tests/cuda/fastpp_tests_cuda" --reporter compact --durations yes >>"$out/tests.log" 2>&1
gpu_rc=$?
nccl_rc=0
if [[ $nccl == 1 ]]; then
  "$b/tests/cuda/fastpp_tests_nccl_host" >>"$out/tests.log" 2>&1 && "$b/tests/cuda/fastpp_tests_nccl" >>"$out/tests.log" 2>&1
  nccl_rc=$?
fi
tail -n 5 "$out/tests.log"
row "host tests (call checks)" "$([[ $host_rc == 0 ]] && echo passed || echo "FAILED ($host_rc)")"
row "GPU tests" "$([[ $gpu_rc == 0 ]] && echo passed || echo "FAILED ($gpu_rc)"): $(grep -E '^(All tests passed|test cases:)' "$out/tests.log" | head -n 2 | tail -n 1)"
row "NCCL 1-rank job" "$([[ $nccl == 0 ]] && echo "not built (no NCCL found)" || { [[ $nccl_rc == 0 ]] && echo passed || echo "FAILED ($nccl_rc)"; })"

# then the timings, each file written as it is measured
"$b/tests/cuda/fastpp_bench_cuda_cross_entropy" 2>&1 | tee "$out/bench-cross-entropy.txt"
row "cross-entropy fwd+bwd (large)" "$(grep -E 'of copy' "$out/bench-cross-entropy.txt" | head -n 2 | tr -s ' ' | paste -sd ';' -)"
timeout 120 "$b/tests/cuda/fastpp_bench_cuda_resnet50" 2>&1 | tee "$out/bench-resnet50.txt"
row "ResNet-50 train step, b128 224px" "$(grep -E '^(float|fp16|bfloat16)' "$out/bench-resnet50.txt" | tr -s ' ' | paste -sd ';' -)"
if python3 -c 'import torch, torchvision; assert torch.cuda.is_available()' 2>/dev/null; then
  timeout 90 python3 benchmarks/compare/resnet50_gpu.py 2>&1 | tee -a "$out/bench-resnet50.txt"
  row "PyTorch AMP channels-last" "$(grep -E '^pytorch' "$out/bench-resnet50.txt" | tr -s ' ' | paste -sd ';' -)"
fi
echo "== summary =="
cat "$summary"
[[ $host_rc == 0 && $gpu_rc == 0 && $nccl_rc == 0 ]]
