#!/bin/sh
# Runs loss_compare.py with Debian's python (which sees python3-torch) and OpenBLAS in front of the
# reference BLAS for torch, as the project's benchmarks require. Arguments go to loss_compare.py.
here=$(dirname "$0")
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  exec /usr/bin/python3 "$here/loss_compare.py" "$@"
