#!/bin/sh
# Runs loss_compare.py against current PyTorch from PyPI: the python of the virtual environment that
# `scripts/deps.sh --torch` creates (FASTPP_TORCH_VENV, default ~/.cache/fastpp/torch-venv). Without it,
# Debian's python3-torch (older and slower: ratios against it are not the bar), with a note saying so and
# OpenBLAS in front of Debian's reference BLAS. Arguments go to loss_compare.py.
here=$(dirname "$0")
venv="${FASTPP_TORCH_VENV:-$HOME/.cache/fastpp/torch-venv}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch" 2>/dev/null; then
  exec "$venv/bin/python" "$here/loss_compare.py" "$@"
fi
echo "loss_compare.sh: no PyPI torch in $venv (run scripts/deps.sh --torch); using Debian's python3-torch," \
  "which is older: its ratios are not the ones docs/loss.md reports" >&2
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  exec /usr/bin/python3 "$here/loss_compare.py" "$@"
