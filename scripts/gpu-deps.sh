#!/usr/bin/env bash
# Fills .gpu-deps/ (ignored by git) with the header-only dependencies that scripts/gpu-check.sh needs on a
# GPU machine that has nvcc and CMake but none of Debian's packages and no network: Eigen, stb and Catch2 v2
# (headers and their CMake package files, which locate their files relative to themselves, and Catch2's
# small compiled main, libCatch2WithMain.a, which the host-side tests link). Run it here,
# on a machine where scripts/deps.sh installed them; the folder travels with the working tree (about 13 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
dst=.gpu-deps
rm -rf "$dst"
mkdir -p "$dst/include" "$dst/share" "$dst/lib/cmake"
need() { [[ -e "$1" ]] || { echo "gpu-deps: $1 is missing: run scripts/deps.sh first" >&2; exit 1; }; }
for p in /usr/include/eigen3 /usr/share/eigen3/cmake /usr/include/stb /usr/include/catch2 /usr/lib/cmake/Catch2 \
         /usr/lib/libCatch2WithMain.a; do
  need "$p"
done
cp -r /usr/include/eigen3 /usr/include/stb /usr/include/catch2 "$dst/include/"
mkdir -p "$dst/share/eigen3" && cp -r /usr/share/eigen3/cmake "$dst/share/eigen3/"
cp -r /usr/lib/cmake/Catch2 "$dst/lib/cmake/"
cp /usr/lib/libCatch2WithMain.a "$dst/lib/"
echo "gpu-deps: $(du -sh "$dst" | cut -f1) in $dst"
