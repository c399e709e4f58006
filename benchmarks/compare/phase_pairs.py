#!/usr/bin/python3
"""The 1-thread 262144 x 37 fused cross-entropy pass against torch's copy measured beside it, in pairs.

    /usr/bin/python3 benchmarks/compare/phase_pairs.py [pairs] [--build build]

Each pair is torch's dst.copy_(src) on 256 MiB with 1 thread, measured by loss_compare's own function
(read + write counted, at least 0.1 s of calls), then one batch of fastpp's phase_probe
(benchmarks/phase_probe.cpp), whose row gives the pass from memory (median of 9 calls) and in cache
(2048 x 37). A pair is quiet when its in-cache pass is within 15% of the fastest pair's. It prints
every pair and the medians of the quiet pairs, of the others and of all: the pass's bandwidth as a fraction
of the copy beside it, which is what the phases of this shared machine do to loss_compare's target
(docs/loss.md, The machine's phases).
"""
import argparse
import os
import statistics
import subprocess
import sys

import torch

from loss_compare import model_bytes, torch_copy_gbs  # the target's own measures, from the script beside this one

PASS_BYTES = model_bytes("cross_entropy_fwdbwd", 262144, 37)


def probe_batch(probe):
    """(in-cache pass in us, pass from memory in ms) from one batch of phase_probe."""
    out = subprocess.run([probe, "0"], check=True, capture_output=True, text=True).stdout.splitlines()
    row = next(line.split() for line in out if line.split()[:1] == ["1"])
    return float(row[4]), float(row[5])


def summary(name, pairs):
    if pairs:
        print(f"{name} {len(pairs)}: torch copy {statistics.median(p[0] for p in pairs):.1f} GB/s, pass from memory "
              f"{statistics.median(p[2] for p in pairs):.3f} ms, of the copy beside it "
              f"{statistics.median(PASS_BYTES / p[2] / 1e6 / p[0] for p in pairs):.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", type=int, nargs="?", default=60)
    ap.add_argument("--build", default="build", help="fastpp build folder holding benchmarks/phase_probe")
    args = ap.parse_args()
    probe = os.path.join(args.build, "benchmarks", "phase_probe")
    if not os.access(probe, os.X_OK):
        sys.exit(f"{probe} not found: configure with -DFASTPP_BUILD_BENCHMARKS=ON and build target phase_probe")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; pass: 262144 x 37, {PASS_BYTES / 1e6:.1f} MB")
    pairs = []
    for i in range(args.pairs):
        copy = torch_copy_gbs(0.1)
        cache_us, memory_ms = probe_batch(probe)
        pairs.append((copy, cache_us, memory_ms))
        print(f"{i + 1:4d} torch copy {copy:5.1f} GB/s  pass in cache {cache_us:6.2f} us  from memory {memory_ms:6.3f} ms"
              f"  of the copy {PASS_BYTES / memory_ms / 1e6 / copy:5.2f}", flush=True)
    fastest = min(p[1] for p in pairs)
    summary("quiet", [p for p in pairs if p[1] <= 1.15 * fastest])
    summary("other", [p for p in pairs if p[1] > 1.15 * fastest])
    summary("all", pairs)


if __name__ == "__main__":
    main()
