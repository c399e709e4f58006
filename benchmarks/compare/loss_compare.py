#!/usr/bin/python3
"""fastpp's loss kernels against PyTorch's, measured in the same run.

Run through loss_compare.sh (it picks the PyPI torch of scripts/deps.sh --torch):
    benchmarks/compare/loss_compare.sh [--build build] [--repeats 5] [--min-time 0.1] [--shapes 64x37,...]

For every case (softmax, log_softmax, cross_entropy; forward and forward+backward; shapes (64,37),
(256,37), (4096,1000), (16384,1000), (262144,37); 1 and 2 threads) it alternates, repeat after repeat,
one run of fastpp's benchmark program (benchmarks/bench_loss.cpp) and the same work in PyTorch, and
takes the medians: on a shared machine both sides then see the same mix of quiet and busy moments.
The copy bandwidth is measured in the same loop (torch's dst.copy_(src) on 256 MiB, read + write
counted). It prints per case the ratio PyTorch time / fastpp time and fastpp's bandwidth (bytes of the
model below / time) as a fraction of the copy bandwidth, and ends with `min ratio: X` (over every case)
and `min bandwidth fraction: Y` (fused cross_entropy forward+backward on the two shapes larger than the
L3, both thread counts).

Bytes model, in logits-sized float32 tensors (4 N C bytes), plus 8 N bytes of int64 targets for
cross_entropy: softmax and log_softmax fwd 2, fwd+bwd 5; cross_entropy fwd 1, fwd+bwd 2.

PyTorch side: fwd runs the op on a tensor without grad; fwd+bwd sets x.grad = None, runs the op on a
leaf that requires grad and calls backward (with a fixed gradient for softmax/log_softmax). fastpp's
side writes into buffers allocated once (its _out API) and its cross_entropy forward+backward is the
fused one-pass kernel.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = [(64, 37), (256, 37), (4096, 1000), (16384, 1000), (262144, 37)]
LARGE = [(16384, 1000), (262144, 37)]  # larger than the 32 MiB L3
OPS = ["softmax_fwd", "softmax_fwdbwd", "log_softmax_fwd", "log_softmax_fwdbwd", "cross_entropy_fwd",
       "cross_entropy_fwdbwd"]
TENSORS = {"softmax_fwd": 2, "softmax_fwdbwd": 5, "log_softmax_fwd": 2, "log_softmax_fwdbwd": 5,
           "cross_entropy_fwd": 1, "cross_entropy_fwdbwd": 2}


def model_bytes(op, n, c):
    b = TENSORS[op] * 4 * n * c
    if op.startswith("cross_entropy"):
        b += 8 * n
    return b


def time_calls(fn, min_time):
    """Seconds per call: back-to-back calls for at least min_time, after two warm-up calls."""
    fn()
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and calls >= 3:
            return elapsed / calls


def torch_op(op, n, c):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, c, generator=gen) * 3
    t = torch.randint(0, c, (n,), generator=gen)
    g = torch.randn(n, c, generator=gen)
    if op == "softmax_fwd":
        return lambda: torch.softmax(x, 1)
    if op == "log_softmax_fwd":
        return lambda: torch.log_softmax(x, 1)
    if op == "cross_entropy_fwd":
        return lambda: F.cross_entropy(x, t)
    xl = x.clone().requires_grad_(True)

    def fwdbwd():
        xl.grad = None
        if op == "softmax_fwdbwd":
            torch.softmax(xl, 1).backward(g)
        elif op == "log_softmax_fwdbwd":
            torch.log_softmax(xl, 1).backward(g)
        else:
            F.cross_entropy(xl, t).backward()
    return fwdbwd


def torch_copy_gbs(min_time):
    n = 64 * 1024 * 1024  # 256 MiB of float32
    src = torch.ones(n)
    dst = torch.zeros(n)
    return 2 * 4 * n / time_calls(lambda: dst.copy_(src), min_time) / 1e9


def run_bench(bench, pattern, min_time):
    """One run of bench_loss over the benchmarks matching pattern; its JSON report."""
    out = subprocess.run([bench, f"--benchmark_filter={pattern}", f"--benchmark_min_time={min_time}",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def fastpp_group(bench, n, c, threads, min_time):
    """Seconds per call of each op for one shape and thread count, from one run of bench_loss."""
    data = run_bench(bench, f"BM_({'|'.join(OPS)})/N:{n}/C:{c}/threads:{threads}/", min_time)
    res = {}
    for b in data["benchmarks"]:
        op = b["name"].split("/")[0][3:]
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        res[op] = b["real_time"] * unit
    return res, data["context"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="fastpp build folder holding benchmarks/bench_loss")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.1, help="seconds per case and repeat, each side")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--shapes", default=",".join(f"{n}x{c}" for n, c in SHAPES), help="N x C cases, e.g. 256x37")
    args = ap.parse_args()
    bench = os.path.join(args.build, "benchmarks", "bench_loss")
    if not os.access(bench, os.X_OK):
        sys.exit(f"{bench} not found: configure with -DFASTPP_BUILD_BENCHMARKS=ON and build target bench_loss")
    threads_list = [int(t) for t in args.threads.split(",")]
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]

    print(f"torch {torch.__version__}, parallel backend: {torch.__config__.parallel_info().splitlines()[-1].strip()}, "
          f"LD_LIBRARY_PATH={os.environ.get('LD_LIBRARY_PATH', '')}")
    t_fast = {}
    t_torch = {}
    copy = {t: [] for t in threads_list}
    context = None
    for rep in range(args.repeats):
        for threads in threads_list:
            torch.set_num_threads(threads)
            copy[threads].append(torch_copy_gbs(args.min_time))
            for n, c in shapes:
                res, context = fastpp_group(bench, n, c, threads, args.min_time)
                for op in OPS:
                    t_fast.setdefault((op, n, c, threads), []).append(res[op])
                    t_torch.setdefault((op, n, c, threads), []).append(time_calls(torch_op(op, n, c), args.min_time))
        print(f"repeat {rep + 1}/{args.repeats} done", file=sys.stderr)

    ctx = context or {}
    print(f"fastpp: {ctx.get('fastpp_cpu', '?')}, {ctx.get('fastpp_isa', '?')}, flags: {ctx.get('fastpp_build_flags', '?')}")
    print(f"torch.set_num_threads per row (torch.get_num_threads() now {torch.get_num_threads()}); "
          f"repeats {args.repeats}, medians; min time {args.min_time} s per case and side")
    for t in threads_list:
        print(f"copy bandwidth, {t} thread(s): median {statistics.median(copy[t]):.1f} GB/s "
              f"(runs: {', '.join(f'{v:.1f}' for v in copy[t])})")
    print()
    print(f"{'op':<22}{'N x C':>13}{'thr':>4}{'torch us':>12}{'fastpp us':>12}{'ratio':>8}{'fastpp GB/s':>13}{'of copy':>9}")
    ratios, fractions = [], []
    for op in OPS:
        for threads in threads_list:
            for n, c in shapes:
                tf = statistics.median(t_fast[(op, n, c, threads)])
                tt = statistics.median(t_torch[(op, n, c, threads)])
                gbs = model_bytes(op, n, c) / tf / 1e9
                frac = gbs / statistics.median(copy[threads])
                ratios.append(tt / tf)
                if op == "cross_entropy_fwdbwd" and (n, c) in LARGE:
                    fractions.append(frac)
                print(f"{op:<22}{f'{n}x{c}':>13}{threads:>4}{tt * 1e6:>12.1f}{tf * 1e6:>12.1f}{tt / tf:>8.2f}"
                      f"{gbs:>13.2f}{frac:>9.2f}")
    print()
    print(f"min ratio: {min(ratios):.2f}")
    if fractions:
        print(f"min bandwidth fraction: {min(fractions):.2f}")


if __name__ == "__main__":
    main()
