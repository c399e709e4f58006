#!/usr/bin/env bash
# The main job: installs what it needs (apt-get), builds the examples, writes Debian's Fashion-MNIST as image
# files (data/fashion: the official 60k/10k split) and runs the chapter on them with examples/pets: the
# DataBlock summary, show_batch, training a 0.3M-parameter ResNet with fit_one_cycle (5 epochs, batch 256,
# lr_max 1e-2, random flips), interpretation and its plots, all written to pets-out/.
# Arguments go to examples/pets (e.g. scripts/main.sh --epochs 1 --limit 5000; --help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
b=build/main
cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTPP_BUILD_TESTS=OFF -DFASTPP_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$b" --target export_fashion_mnist pets
if [[ ! -d data/fashion/valid ]]; then
  "$b/examples/export_fashion_mnist" --out data/fashion
fi
"$b/examples/pets" "$@"
echo "The pictures (open them in a browser): pets-out/*.svg; the epoch table: pets-out/history.csv"
