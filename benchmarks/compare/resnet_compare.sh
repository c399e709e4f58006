#!/bin/sh
# fastpp's ResNets beside PyTorch's (resnet_compare.py): bench_resnet against current PyTorch and torchvision
# from PyPI, the python of the virtual environment `scripts/deps.sh --torch` creates (FASTPP_TORCH_VENV,
# default ~/.cache/fastpp/torch-venv). Run from the repository root after building bench_resnet
# (-DFASTPP_BUILD_BENCHMARKS=ON, target bench_resnet; FASTPP_BENCH_RESNET names the program, default
# build/main/benchmarks/bench_resnet). Arguments go to resnet_compare.py (e.g. --repeats 1 --cases fashion for
# a short run).
here=$(dirname "$0")
venv="${FASTPP_TORCH_VENV:-$HOME/.cache/fastpp/torch-venv}"
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, torchvision" 2>/dev/null; then
  echo "resnet_compare.sh: no PyPI torch with torchvision in $venv: run scripts/deps.sh --torch" >&2
  exit 1
fi
exec "$venv/bin/python" "$here/resnet_compare.py" --bench "${FASTPP_BENCH_RESNET:-build/main/benchmarks/bench_resnet}" "$@"
