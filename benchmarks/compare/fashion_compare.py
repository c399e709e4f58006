"""The main job's recipe in PyTorch, on the same Fashion-MNIST PNG folder that examples/pets trains on.

Same model (SmallResNet: 3x3 stem of 16 channels, three stride-2 residual stages of 32, 64 and 128, average
pooling, linear; RGB input, as fastpp reads the grey PNGs as RGB), same recipe (5 epochs, batch 256, fastai's
one-cycle: AdamW betas (0.9, 0.99), eps 1e-5, weight decay 1e-2, lr_max 1e-2, pct_start 0.25, div 25,
final lr lr_max / 1e5, beta1 cycled 0.95 -> 0.85 -> 0.95), random horizontal flips (p = 0.5), normalised
with the same statistics. Two data-loading variants:
  png     a DataLoader over the PNG files with 2 workers (PIL decode, as a torchvision user writes it);
  memory  the decoded images held in one uint8 tensor, flipped and normalised per batch.
Each epoch is timed as fastai times it (training + validation).

  fashion_compare.py --variant png|memory [--folder data/fashion] [--epochs 5] [--limit N] [--threads 2]
      one PyTorch run; prints one JSON line.
  fashion_compare.py --pets build/main/examples/pets [--repeats 1] [...]
      the comparison: fastpp's examples/pets and both PyTorch variants, repeats interleaved (fastpp, png,
      memory, fastpp, ...), each side's median seconds per epoch and its last accuracy; last line
      `min ratio: X`, the faster PyTorch variant's time per epoch over fastpp's, both on --threads.
"""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.286, 0.353


def conv_bn(cin, cout, k, s):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.c1, self.c2 = conv_bn(cin, cout, 3, s), conv_bn(cout, cout, 3, 1)
        self.short = conv_bn(cin, cout, 1, s)

    def forward(self, x):
        return F.relu(self.c2(F.relu(self.c1(x))) + self.short(x))


class SmallResNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 1)
        self.body = nn.Sequential(Block(16, 32, 2), Block(32, 64, 2), Block(64, 128, 2))
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        x = self.body(F.relu(self.stem(x)))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def list_split(folder, split, limit):
    """(path, class index) pairs, classes from the file name as examples/pets labels them; every k-th item
    when limited, as examples/pets --limit does (train keeps limit, valid limit / 5)."""
    root = os.path.join(folder, split)
    items = []
    for dirpath, _, files in os.walk(root):
        items += [os.path.join(dirpath, f) for f in files if f.endswith(".png")]
    items.sort()
    classes = sorted({os.path.basename(p).rsplit("_", 1)[0] for p in items})
    keep = limit if split == "train" else max(1, limit // 5)
    if limit > 0 and len(items) > keep:
        stride = len(items) / keep
        items = [items[int(i * stride)] for i in range(keep)]
    index = {c: i for i, c in enumerate(classes)}
    return [(p, index[os.path.basename(p).rsplit("_", 1)[0]]) for p in items], classes


class PngDataset(torch.utils.data.Dataset):
    def __init__(self, items, train):
        self.items, self.train = items, train

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        from PIL import Image
        import numpy as np
        path, y = self.items[i]
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        x = (torch.from_numpy(a).permute(2, 0, 1) - MEAN) / STD
        if self.train and torch.rand(()) < 0.5:
            x = x.flip(2)
        return x, y


def png_loader(items, train, bs):
    return torch.utils.data.DataLoader(PngDataset(items, train), batch_size=bs, shuffle=train, num_workers=2,
                                       persistent_workers=True, drop_last=False)


def memory_batches(x_u8, y, train, bs):
    """x_u8 [N, 3, 28, 28] uint8; yields normalised float batches, shuffled and flipped when training."""
    order = torch.randperm(len(y)) if train else torch.arange(len(y))
    for s in range(0, len(y), bs):
        idx = order[s:s + bs]
        x = (x_u8[idx].float() / 255.0 - MEAN) / STD
        if train:
            flip = torch.rand(len(idx)) < 0.5
            x[flip] = x[flip].flip(3)
        yield x, y[idx]


def decode_all(items):
    from PIL import Image
    import numpy as np
    x = torch.empty(len(items), 3, 28, 28, dtype=torch.uint8)
    for i, (p, _) in enumerate(items):
        with Image.open(p) as im:
            x[i] = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)
    return x, torch.tensor([c for _, c in items])


def run_fastpp(a, out):
    """examples/pets on the same folder and recipe; its per-epoch table comes from history.csv."""
    cmd = [a.pets, "--data", "fashion", "--fashion-folder", a.folder, "--epochs", str(a.epochs), "--bs", str(a.bs),
           "--lr", str(a.lr), "--threads", str(a.threads), "--out", out]
    if a.limit:
        cmd += ["--limit", str(a.limit)]
    log = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    with open(os.path.join(out, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    epochs = [{"epoch": int(r["epoch"]), "seconds": float(r["time"]), "valid_loss": float(r["valid_loss"]),
               "accuracy": float(r["accuracy"])} for r in rows]
    isa = next((l.split("ISA ", 1)[1].strip() for l in log.splitlines() if "ISA " in l), "see the build flags")
    return {"side": "fastpp", "epochs": epochs, "isa": isa}


def run_torch(a, variant):
    cmd = [sys.executable, __file__, "--variant", variant, "--folder", a.folder, "--epochs", str(a.epochs),
           "--bs", str(a.bs), "--lr", str(a.lr), "--threads", str(a.threads), "--limit", str(a.limit)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def compare(a):
    runs = {"fastpp": [], "torch-png": [], "torch-memory": []}
    info = {}
    for r in range(a.repeats):
        for side in runs:
            with tempfile.TemporaryDirectory() as out:
                res = run_fastpp(a, out) if side == "fastpp" else run_torch(a, side.split("-")[1])
            runs[side].append(res)
            info[side] = res
            secs = ", ".join(f"{e['seconds']:.1f}" for e in res["epochs"])
            print(f"repeat {r + 1} {side:13s} s/epoch [{secs}]  accuracy {res['epochs'][-1]['accuracy']:.4f}",
                  flush=True)
    t = info["torch-png"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; threads {a.threads} each side")
    print(f"PyTorch {t['torch']} (ISA {t['isa']}); fastpp {a.pets} (ISA {info['fastpp']['isa']})")
    med = {}
    for side, rs in runs.items():
        med[side] = statistics.median(e["seconds"] for res in rs for e in res["epochs"])
        acc = statistics.median(res["epochs"][-1]["accuracy"] for res in rs)
        print(f"{side:13s} median {med[side]:7.2f} s/epoch, accuracy {acc:.4f}")
    faster = min(med["torch-png"], med["torch-memory"])
    print(f"min ratio: {faster / med['fastpp']:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pets", help="examples/pets of a Release build: run the whole comparison")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--folder", default="data/fashion")
    ap.add_argument("--variant", choices=["png", "memory"])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.pets:
        return compare(a)
    if not a.variant:
        ap.error("give --pets (the comparison) or --variant (one PyTorch run)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    train_items, classes = list_split(a.folder, "train", a.limit)
    valid_items, _ = list_split(a.folder, "valid", a.limit)
    if a.variant == "memory":
        tx, ty = decode_all(train_items)
        vx, vy = decode_all(valid_items)
        train_batches = lambda: memory_batches(tx, ty, True, a.bs)
        valid_batches = lambda: memory_batches(vx, vy, False, a.bs)
    else:
        tl, vl = png_loader(train_items, True, a.bs), png_loader(valid_items, False, a.bs)
        train_batches, valid_batches = (lambda: iter(tl)), (lambda: iter(vl))

    model = SmallResNet(len(classes))
    steps = a.epochs * ((len(train_items) + a.bs - 1) // a.bs)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.99), eps=1e-5, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.25,
                                                div_factor=25.0, final_div_factor=4e3, base_momentum=0.85,
                                                max_momentum=0.95)
    epochs = []
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        for x, y in train_batches():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        correct, total, loss_sum = 0, 0, 0.0
        with torch.no_grad():
            for x, y in valid_batches():
                out = model(x)
                loss_sum += F.cross_entropy(out, y, reduction="sum").item()
                correct += (out.argmax(1) == y).sum().item()
                total += len(y)
        epochs.append({"epoch": epoch, "seconds": time.perf_counter() - t0, "valid_loss": loss_sum / total,
                       "accuracy": correct / total})
    print(json.dumps({"side": "torch-" + a.variant, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "isa": torch.backends.cpu.get_cpu_capability(), "machine": platform.processor() or platform.machine(),
                      "train_items": len(train_items), "valid_items": len(valid_items), "epochs": epochs}))


if __name__ == "__main__":
    main()
