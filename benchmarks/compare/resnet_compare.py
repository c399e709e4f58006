"""fastpp's ResNets on the CPU beside PyTorch's, case by case (issue 21).

Run through resnet_compare.sh (it picks the PyPI torch of scripts/deps.sh --torch):
    benchmarks/compare/resnet_compare.sh [--bench build/main/benchmarks/bench_resnet] [--repeats 3]
                                         [--cases resnet18/train,fashion] [--threads 2] [--json out.json]

Cases (the model cases of benchmarks/bench_resnet.cpp): torchvision's resnet18 and resnet34 (1000 classes,
torchvision.models.resnetXX() on the PyTorch side, models::make_torchvision_resnet on fastpp's) at batch 32 x
224 px and batch 64 x 128 px, and the Fashion-MNIST recipe's small ResNet (SmallResNet of fashion_compare.py,
fastpp's FashionResNet of examples/pets.cpp; 10 classes) at batch 256 x 28 px; each in eval mode (forward
only: fastpp's Ctx::eval(), PyTorch's model.eval() under torch.inference_mode()) and as a full training step
(forward, cross-entropy, backward, Adam step: fastpp's Adam as its Learner runs it, PyTorch's AdamW with the
same hyperparameters, zero_grad(set_to_none=True)).

Every run is a process of its own, so each side's peak resident memory (VmHWM / ru_maxrss) is that case's;
both sides build the model, run one untimed step and time the same number of steps (per case below, or
--iters). Repeats are interleaved: for each case, fastpp, PyTorch NCHW, PyTorch channels-last, and again.
Per case it prints the medians over repeats, their spread (max/min - 1: above 10% the machine's noise decides
the case), the ratio PyTorch time / fastpp time against the faster PyTorch layout, both sides' peak memory,
the ISA each side used, and last `min ratio: X`.

    resnet_compare.py --one CASE --layout nchw|channels_last [--threads 2] [--iters N]
        one PyTorch run of one case; prints one JSON line.
"""
import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# name -> timed steps per run (after one untimed step); bench_resnet gets the same number through --iters.
CASES = {
    "resnet18/eval/bs:32/px:224": 3,
    "resnet18/train/bs:32/px:224": 2,
    "resnet18/eval/bs:64/px:128": 3,
    "resnet18/train/bs:64/px:128": 2,
    "resnet34/eval/bs:32/px:224": 2,
    "resnet34/train/bs:32/px:224": 2,
    "resnet34/eval/bs:64/px:128": 2,
    "resnet34/train/bs:64/px:128": 2,
    "fashion_resnet/eval/bs:256/px:28": 20,
    "fashion_resnet/train/bs:256/px:28": 15,
}
LAYOUTS = ["nchw", "channels_last"]


def parse_case(name):
    arch, mode, bs, px = name.split("/")
    return arch, mode == "train", int(bs.split(":")[1]), int(px.split(":")[1])


def make_torch_model(arch):
    if arch == "fashion_resnet":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from fashion_compare import SmallResNet  # the recipe's network, shared with fashion_compare.py
        return SmallResNet(10), 10
    import torchvision
    return getattr(torchvision.models, arch)(num_classes=1000), 1000


def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(a):
    """One PyTorch case in this process: seconds per step, images per second, memory."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    base = status_mib("VmRSS:")
    arch, train, bs, px = parse_case(a.one)
    model, classes = make_torch_model(arch)
    x = torch.randn(bs, 3, px, px)
    y = torch.randint(0, classes, (bs,))
    if a.layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if train:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=1e-2)

        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)
    iters = a.iters or CASES[a.one]
    step()  # untimed, as bench_resnet's first step
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    sec = (time.perf_counter() - t0) / iters
    print(json.dumps({"case": a.one, "layout": a.layout, "seconds": sec, "img_s": bs / sec,
                      "peak_mib": status_mib("VmHWM:"), "base_mib": base, "iters": iters,
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "isa": torch.backends.cpu.get_cpu_capability(),
                      "mkldnn": torch.backends.mkldnn.is_available()}))


def run_torch(a, case, layout, iters):
    cmd = [sys.executable, os.path.abspath(__file__), "--one", case, "--layout", layout, "--threads", str(a.threads),
           "--iters", str(iters)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_fastpp(a, case, iters):
    cmd = [a.bench, f"--threads={a.threads}", f"--iters={iters}", f"--benchmark_filter=^{re.escape(case)}/",
           "--benchmark_format=json"]
    data = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    runs = data["benchmarks"]
    if len(runs) != 1:
        sys.exit(f"{a.bench}: {len(runs)} results for case {case} (expected 1)")
    b = runs[0]
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    sec = b["real_time"] * unit
    _, _, bs, _ = parse_case(case)
    return {"case": case, "seconds": sec, "img_s": bs / sec, "peak_mib": b["peak_MiB"], "base_mib": b["base_MiB"],
            "context": data["context"]}


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def spread(values):
    return max(values) / min(values) - 1.0


def compare(a):
    if not os.access(a.bench, os.X_OK):
        sys.exit(f"{a.bench} not found: configure with -DFASTPP_BUILD_BENCHMARKS=ON and build target bench_resnet")
    cases = [c for c in CASES if any(re.search(p, c) for p in a.cases.split(","))] if a.cases else list(CASES)
    if not cases:
        sys.exit(f"--cases {a.cases}: matches none of {', '.join(CASES)}")
    layouts = a.layouts.split(",")
    load0 = os.getloadavg()
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    fast = {c: [] for c in cases}
    tor = {(c, l): [] for c in cases for l in layouts}
    for rep in range(a.repeats):
        for c in cases:
            iters = a.iters or CASES[c]
            f = run_fastpp(a, c, iters)
            fast[c].append(f)
            line = f"repeat {rep + 1} {c:34s} fastpp {f['img_s']:8.1f} img/s"
            for l in layouts:
                t = run_torch(a, c, l, iters)
                tor[(c, l)].append(t)
                line += f"  torch {l} {t['img_s']:8.1f}"
            print(line, flush=True)
    load1 = os.getloadavg()

    ctx = fast[cases[0]][0]["context"]
    t0 = tor[(cases[0], layouts[0])][0]
    print()
    print(f"{start}; machine: {cpu_model()}, {os.cpu_count()} cpus; load average {load0[0]:.2f} at the start, "
          f"{load1[0]:.2f} at the end")
    print(f"threads: {a.threads} each side (fastpp {ctx.get('fastpp_threads')}, torch {t0['threads']}); "
          f"repeats {a.repeats}, interleaved; medians")
    print(f"fastpp: {a.bench}; its own kernels compiled for {ctx.get('fastpp_isa')} (cpu supports "
          f"{ctx.get('fastpp_cpu_supports')}), {ctx.get('fastpp_gemm')} with OpenBLAS's "
          f"{ctx.get('fastpp_blas_core', '?')} kernels; flags: {ctx.get('fastpp_build_flags')}")
    print(f"PyTorch {t0['torch']}: ISA {t0['isa']}, oneDNN {'on' if t0['mkldnn'] else 'off'}; AdamW in the train step")
    print()
    hdr = f"{'case':34s}{'fastpp img/s':>13}{'spread':>7}"
    for l in layouts:
        hdr += f"{'torch ' + l:>20}{'spread':>7}"
    hdr += f"{'ratio':>7}{'fastpp MiB':>12}{'torch MiB':>11}"
    print(hdr)
    ratios = []
    rows = []
    for c in cases:
        ft = statistics.median(r["seconds"] for r in fast[c])
        med = {l: statistics.median(r["seconds"] for r in tor[(c, l)]) for l in layouts}
        best = min(layouts, key=lambda l: med[l])
        ratio = med[best] / ft
        ratios.append(ratio)
        _, _, bs, _ = parse_case(c)
        fpeak = max(r["peak_mib"] for r in fast[c])
        tpeak = max(r["peak_mib"] for r in tor[(c, best)])
        line = f"{c:34s}{bs / ft:>13.1f}{spread([r['seconds'] for r in fast[c]]):>7.0%}"
        for l in layouts:
            mark = "*" if l == best else " "
            line += f"{bs / med[l]:>19.1f}{mark}{spread([r['seconds'] for r in tor[(c, l)]]):>7.0%}"
        line += f"{ratio:>7.2f}{fpeak:>12.0f}{tpeak:>11.0f}"
        print(line)
        rows.append({"case": c, "fastpp_img_s": bs / ft, "torch_img_s": {l: bs / med[l] for l in layouts},
                     "torch_layout": best, "ratio": ratio, "fastpp_peak_mib": fpeak, "torch_peak_mib": tpeak,
                     "fastpp_base_mib": min(r["base_mib"] for r in fast[c]),
                     "torch_base_mib": min(r["base_mib"] for r in tor[(c, best)]),
                     "fastpp_spread": spread([r["seconds"] for r in fast[c]]),
                     "torch_spread": spread([r["seconds"] for r in tor[(c, best)]])})
    print("(* the faster PyTorch layout, which the ratio uses; ratio = PyTorch time / fastpp time; MiB = peak resident "
          "memory of the process, the torch side's for the faster layout)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": start, "machine": cpu_model(), "threads": a.threads, "repeats": a.repeats,
                       "load": [load0[0], load1[0]], "fastpp_context": ctx, "torch": t0["torch"],
                       "torch_isa": t0["isa"], "rows": rows}, f, indent=1)
    print(f"min ratio: {min(ratios):.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/main/benchmarks/bench_resnet", help="fastpp's bench_resnet program")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", default="", help="comma-separated regular expressions over the case names "
                    "(e.g. resnet18/train,fashion); all cases when empty")
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="PyTorch layouts to run (nchw, channels_last)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=0, help="timed steps per run, both sides (default: per case)")
    ap.add_argument("--json", default="", help="also write the medians to this file")
    ap.add_argument("--one", help="run one PyTorch case (used by the comparison itself)")
    ap.add_argument("--layout", choices=LAYOUTS, default="nchw")
    a = ap.parse_args()
    if a.one:
        if a.one not in CASES:
            ap.error(f"--one {a.one}: not one of {', '.join(CASES)}")
        return run_one(a)
    compare(a)


if __name__ == "__main__":
    main()
