#!/usr/bin/env bash
# The main job: installs what it needs, builds fastpp's examples, then
#   1. writes Debian's Fashion-MNIST as image files (data/fashion-sample: 100 per class and split),
#   2. runs the chapter's DataBlock recipe on them: summary(), one batch, show_batch -> fashion_batch.svg,
#   3. retells the chapter's cross-entropy walk-through with PyTorch's numbers.
# (When the Learner lands, the main job trains the recipe instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
b=build/main
cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTPP_BUILD_TESTS=OFF -DFASTPP_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$b" --target export_fashion_mnist fashion_datablock softmax_walkthrough
"$b/examples/export_fashion_mnist" --out data/fashion-sample --limit 100
"$b/examples/fashion_datablock" data/fashion-sample fashion_batch.svg
"$b/examples/softmax_walkthrough"
