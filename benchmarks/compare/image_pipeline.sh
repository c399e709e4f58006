#!/bin/sh
# Runs image_pipeline.py (fastpp's decode + Resize(460) + aug_transforms(224) against Pillow's and
# torchvision's) with current torch, torchvision and pillow from PyPI: the python of the virtual environment
# `scripts/deps.sh --torch` creates (FASTPP_TORCH_VENV, default ~/.cache/fastpp/torch-venv). The image sets
# come first: `apt-get install mate-backgrounds ukui-wallpapers` (scripts/deps.sh --torch does), then this
# script writes data/image_bench with make_image_sets.py when it is missing. Run from the repository root
# after building bench_image_pipeline (e.g. cmake --build build/main --target bench_image_pipeline);
# arguments go to image_pipeline.py (e.g. --repeats 5 --bench build/x/benchmarks/bench_image_pipeline).
here=$(dirname "$0")
venv="${FASTPP_TORCH_VENV:-$HOME/.cache/fastpp/torch-venv}"
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, torchvision, PIL" 2>/dev/null; then
  echo "image_pipeline.sh: no PyPI torch, torchvision and pillow in $venv: run scripts/deps.sh --torch" >&2
  exit 1
fi
if ! [ -d data/image_bench/pets ]; then
  "$venv/bin/python" "$here/make_image_sets.py" || exit 1
fi
exec "$venv/bin/python" "$here/image_pipeline.py" "$@"
