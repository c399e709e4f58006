#!/usr/bin/env bash
# fastpp's whole test suite, in stages, each timed:
#   1 gcc     g++ Release build of everything (-Wall -Wextra -Werror), all CTest tests
#             (unit, compile-fail, consumer projects); prints the five slowest translation units
#   2 asan    clang ASan+UBSan build of the unit tests, run
#   3 tsan    clang ThreadSanitizer build of the executables with [threads] tests, run on those tests
#   4 cuda    nvcc compile and link of fastpp::cuda and its tests; the GPU tests run only where a GPU is present
#   5 fuzz    clang libFuzzer targets replay their committed corpora with a fixed seed and run count
# Environment: FASTPP_CUDA=ON makes stage 4 mandatory (CI sets it); STAGES="gcc asan" runs a subset;
# JOBS=n sets build parallelism (default: cores); BUILD_ROOT (default build/test) holds the builds.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

JOBS=${JOBS:-$(nproc)}
BUILD_ROOT=${BUILD_ROOT:-$root/build/test}
STAGES=${STAGES:-"gcc asan tsan cuda fuzz"}
FASTPP_CUDA=${FASTPP_CUDA:-AUTO}
FUZZ_RUNS=${FUZZ_RUNS:-2000}
export FASTPP_NUM_THREADS=${FASTPP_NUM_THREADS:-2}
# ctest -j runs two-threaded tests side by side: OpenMP's spinning waits (oneDNN's threads) would stall them
# (README, "Threads"), so its threads sleep while they wait.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

scripts/deps.sh || { echo "test.sh: installing dependencies failed"; exit 1; }

passed=0
failed=0
skipped=0
failed_stages=()
suite_start=$(date +%s)
mkdir -p "$BUILD_ROOT"

# Adds the counts from a ctest log to the totals.
count_ctest() {
  local log=$1 line total nfail nskip
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
  if [[ -z "$line" ]]; then return 1; fi
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  nfail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  nskip=$(grep -c -E "\((Skipped|Disabled)\)$" "$log" || true)
  passed=$((passed + total - nfail - nskip))
  failed=$((failed + nfail))
  skipped=$((skipped + nskip))
}

run_stage() {
  local name=$1; shift
  local t0=$(date +%s)
  echo
  echo "=== stage $name ==="
  if "$@"; then
    echo "=== stage $name: ok in $(( $(date +%s) - t0 )) s ==="
  else
    echo "=== stage $name: FAILED after $(( $(date +%s) - t0 )) s ==="
    failed_stages+=("$name")
  fi
}

stage_gcc() {
  local b=$BUILD_ROOT/gcc
  rm -f "$b/tu-times.log"
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++-12 -DFASTPP_CUDA=OFF \
        -DFASTPP_WERROR=ON -DFASTPP_TIME_TUS=ON >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; return 1; }
  local t0=$(date +%s)
  cmake --build "$b" -j "$JOBS" || return 1
  echo "build: $(( $(date +%s) - t0 )) s; slowest translation units (s):"
  sort -rn "$b/tu-times.log" | head -n 5 | sed 's/^/  /'
  (cd "$b" && ctest -j "$JOBS" --output-on-failure -LE gpu --timeout 900) | tee "$b.ctest.log"
  local rc=${PIPESTATUS[0]}
  count_ctest "$b.ctest.log" || return 1
  return "$rc"
}

stage_asan() {
  local b=$BUILD_ROOT/asan
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DFASTPP_CUDA=OFF \
        -DFASTPP_BUILD_EXAMPLES=OFF -DFASTPP_BUILD_BENCHMARKS=OFF -DFASTPP_WERROR=ON \
        -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; return 1; }
  cmake --build "$b" -j "$JOBS" || return 1
  (cd "$b" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -j "$JOBS" --output-on-failure -L unit --timeout 1800) | tee "$b.ctest.log"
  local rc=${PIPESTATUS[0]}
  count_ctest "$b.ctest.log" || return 1
  return "$rc"
}

stage_tsan() {
  local b=$BUILD_ROOT/tsan
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DFASTPP_CUDA=OFF \
        -DFASTPP_BUILD_EXAMPLES=OFF -DFASTPP_BUILD_BENCHMARKS=OFF -DFASTPP_BLAS=OFF -DFASTPP_ONEDNN=OFF \
        -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
        >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; return 1; }
  # Only the executables that hold [threads] tests (grep the sources, so nothing else is compiled).
  local targets=()
  for dir in tests/*/; do
    local area=$(basename "$dir")
    if grep -lq '\[threads\]' "$dir"test_*.cpp 2>/dev/null; then targets+=("fastpp_tests_$area"); fi
  done
  ((${#targets[@]})) || { echo "no [threads] tests found"; return 1; }
  cmake --build "$b" -j "$JOBS" --target "${targets[@]}" || return 1
  local rc=0 exe
  for t in "${targets[@]}"; do
    exe=$(find "$b/tests" -name "$t" -type f -perm -u+x | head -n 1)
    echo "--- $t [threads] under ThreadSanitizer"
    if TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$exe" "[threads]" >"$b.$t.log" 2>&1; then
      local n=$(grep -oE "All tests passed \([0-9]+ assertions? in [0-9]+ test cases?\)" "$b.$t.log" | grep -oE "in [0-9]+" | grep -oE "[0-9]+")
      echo "    ${n:-0} test cases passed"
      passed=$((passed + ${n:-0}))
    else
      cat "$b.$t.log"
      failed=$((failed + 1))
      rc=1
    fi
  done
  return $rc
}

stage_cuda() {
  if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
    if [[ "$FASTPP_CUDA" == "ON" ]]; then echo "FASTPP_CUDA=ON but nvcc is not installed"; return 1; fi
    echo "no nvcc on this machine: the CUDA stage is skipped (set FASTPP_CUDA=ON to require it)"
    skipped=$((skipped + 1))
    return 0
  fi
  local b=$BUILD_ROOT/cuda
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++-12 -DFASTPP_CUDA=ON \
        -DFASTPP_BUILD_EXAMPLES=OFF -DFASTPP_BUILD_BENCHMARKS=OFF -DFASTPP_NCCL="${FASTPP_NCCL:-AUTO}" >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; return 1; }
  cmake --build "$b" -j "$JOBS" --target fastpp_cuda fastpp_tests_cuda fastpp_tests_cuda_host \
        fastpp_bench_cuda_cross_entropy fastpp_bench_cuda_resnet50 $(grep -q 'via fastpp::nccl' "$b.configure.log" && echo fastpp_nccl fastpp_tests_nccl fastpp_tests_nccl_host) || return 1
  echo "fastpp::cuda and its tests compiled and linked with $(/usr/local/cuda/bin/nvcc --version | tail -n 2 | head -n 1)"
  # the GPU tests (skipped without a GPU) and the CUDA glue's host tests (they run everywhere)
  (cd "$b" && ctest --output-on-failure -R "^cuda") | tee "$b.ctest.log"
  local rc=${PIPESTATUS[0]}
  count_ctest "$b.ctest.log" || return 1
  return "$rc"
}

stage_fuzz() {
  local fuzzers=(fuzz/fuzz_*.cpp)
  if [[ ! -e "${fuzzers[0]}" ]]; then echo "no fuzz targets yet"; return 0; fi
  local b=$BUILD_ROOT/fuzz
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DFASTPP_CUDA=OFF \
        -DFASTPP_BUILD_FUZZERS=ON -DFASTPP_BUILD_TESTS=OFF -DFASTPP_BUILD_EXAMPLES=OFF \
        -DFASTPP_BUILD_BENCHMARKS=OFF >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; return 1; }
  cmake --build "$b" -j "$JOBS" || return 1
  local rc=0
  for src in "${fuzzers[@]}"; do
    # One name per `local`: all expansions of a `local` happen before any of its assignments.
    local name; name=$(basename "$src" .cpp)
    local exe=$b/fuzz/$name
    local corpus=fuzz/corpus/${name#fuzz_}
    [[ -x "$exe" ]] || { echo "--- $name: not built (its component is absent)"; skipped=$((skipped + 1)); continue; }
    [[ -d "$corpus" ]] || { echo "--- $name: no corpus at $corpus"; failed=$((failed + 1)); rc=1; continue; }
    local scratch; scratch=$(mktemp -d)
    # New inputs go to the scratch folder (first argument), never into the committed corpus.
    if "$exe" -seed=1 -runs="$FUZZ_RUNS" -max_total_time=300 "$scratch" "$corpus" >"$b.$name.log" 2>&1; then
      echo "--- $name: corpus of $(ls "$corpus" | wc -l) inputs plus $FUZZ_RUNS runs (seed 1): ok"
      passed=$((passed + 1))
    else
      tail -n 40 "$b.$name.log"
      failed=$((failed + 1))
      rc=1
    fi
    rm -rf "$scratch"
  done
  return $rc
}

for s in $STAGES; do
  run_stage "$s" "stage_$s"
done

echo
echo "test.sh: stages: $STAGES; total $(( $(date +%s) - suite_start )) s"
if ((${#failed_stages[@]})); then echo "test.sh: failed stages: ${failed_stages[*]}"; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
((${#failed_stages[@]} == 0 && failed == 0))
