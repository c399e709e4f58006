#!/bin/sh
# The main job's recipe beside PyTorch (fashion_compare.py): fastpp's examples/pets against current PyTorch
# from PyPI, the python of the virtual environment `scripts/deps.sh --torch` creates (FASTPP_TORCH_VENV,
# default ~/.cache/fastpp/torch-venv; it needs torch, torchvision and pillow). Run from the repository root
# after scripts/main.sh has built build/main and written data/fashion. Arguments go to fashion_compare.py
# (e.g. --epochs 1 --limit 10000 --repeats 3 for a shorter run).
here=$(dirname "$0")
venv="${FASTPP_TORCH_VENV:-$HOME/.cache/fastpp/torch-venv}"
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, PIL" 2>/dev/null; then
  echo "fashion_compare.sh: no PyPI torch with pillow in $venv: run scripts/deps.sh --torch" >&2
  exit 1
fi
exec "$venv/bin/python" "$here/fashion_compare.py" --pets "${FASTPP_PETS:-build/main/examples/pets}" "$@"
