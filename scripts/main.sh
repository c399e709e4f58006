#!/usr/bin/env bash
# The main job: installs what it needs, builds fastpp's examples, and runs the chapter's walk-through.
# (Until the Learner lands, the main job is the chapter's cross-entropy walk-through; it then becomes
# training the pet-breeds recipe on the Fashion-MNIST folder.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
b=build/main
cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTPP_BUILD_TESTS=OFF -DFASTPP_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$b" --target softmax_walkthrough
"$b/examples/softmax_walkthrough"
