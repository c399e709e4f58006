"""fastpp's image pipeline against Pillow's and torchvision's, measured in the same run.

Run through image_pipeline.sh (it picks the PyPI torch, torchvision and pillow of scripts/deps.sh --torch):
    benchmarks/compare/image_pipeline.sh [--bench build/main/benchmarks/bench_image_pipeline] [--repeats 3]
                                         [--sets pets,large,fashion] [--threads 1,2] [--root data/image_bench]

The work, per image, as the chapter's presizing does it (pets, large: the sets of make_image_sets.py):
  fastpp       bench_image_pipeline's BM_Pipeline: a DataBlock's train loader (DCT-scaled JPEG decode,
               Resize(460) crop, collate, IntToFloat, aug_transforms(size=224, min_scale=0.75): flip,
               rotate, zoom, warp and random resized crop in one resample, then lighting)
  pillow       Image.open + draft("RGB", (460, 460)) (the DCT shortcut: 1/2, 1/4 or 1/8 scale) + convert,
               fastai's Resize crop as one resize(..., BILINEAR, box=...), then RandomResizedCrop's box,
               flip, rotation and zoom as one Image.transform(AFFINE, BILINEAR) to 224, brightness and
               contrast with ImageEnhance, and the float tensor / 255
  torchvision  read_file + decode_jpeg (full size: it has no DCT scaling), v2 resized_crop to 460 (the Resize
               crop, antialiased), v2 RandomResizedCrop(224, scale=(0.75, 1)), RandomHorizontalFlip,
               RandomAffine(10 degrees, scale 1-1.1), ToDtype(float32, scale=True), ColorJitter(brightness
               0.2, contrast 0.2)
fashion (28 x 28 PNGs, the first 2048 of data/fashion/valid) takes the main job's recipe on every side:
decode, random horizontal flip, float / 255.
Python's side runs in a torch DataLoader with num_workers = threads (batch 64, 3 for the large set) and
torch.set_num_threads(1) in each worker, fastpp's with num_workers = threads.

For every case (set x threads) the repeats alternate one fastpp run and one run of each Python pipeline;
medians of images per second; the ratio is fastpp over the faster Python pipeline. Last line `min ratio: X`.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import time

import numpy as np
import torch
import torchvision
from PIL import Image, ImageEnhance
from torchvision.io import decode_image, read_file
from torchvision.transforms import v2

PRESIZE, SIZE, MIN_SCALE = 460, 224, 0.75


def files_of(folder, ext, limit=0):
    out = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(ext))
    return out[:limit] if limit else out


def resize_crop_box(w, h, size, px, py):
    """fastai's Resize crop: the largest square-aspect box, at fractions (px, py) of the free room."""
    m = min(w / size, h / size)
    cw, ch = int(m * size), int(m * size)
    left, top = int(px * (w - cw)), int(py * (h - ch))
    return left, top, cw, ch


def rrc_box(w, h, rng):
    """RandomResizedCrop's box (torchvision's rule, scale (min_scale, 1), ratio (3/4, 4/3))."""
    area = w * h
    for _ in range(10):
        a = area * rng.uniform(MIN_SCALE, 1.0)
        r = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = int(round((a * r) ** 0.5)), int(round((a / r) ** 0.5))
        if 0 < cw <= w and 0 < ch <= h:
            return rng.randint(0, w - cw), rng.randint(0, h - ch), cw, ch
    return 0, 0, w, h


class PillowPresize(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        rng = random.Random(i)
        im = Image.open(self.files[i])
        im.draft("RGB", (PRESIZE, PRESIZE))
        im = im.convert("RGB")
        l, t, cw, ch = resize_crop_box(im.width, im.height, PRESIZE, rng.random(), rng.random())
        im = im.resize((PRESIZE, PRESIZE), Image.BILINEAR, box=(l, t, l + cw, t + ch))
        # the augmentation as one affine resample: output pixel -> crop box, flipped, rotated and zoomed
        x0, y0, cw, ch = rrc_box(PRESIZE, PRESIZE, rng)
        ang = np.radians(rng.uniform(-10, 10))
        zoom = rng.uniform(1.0, 1.1)
        sx, sy = cw / SIZE / zoom, ch / SIZE / zoom
        if rng.random() < 0.5:
            sx = -sx
        cx, cy = x0 + cw / 2, y0 + ch / 2
        ca, sa = np.cos(ang), np.sin(ang)
        a, b, d, e = ca * sx, -sa * sy, sa * sx, ca * sy
        c0 = cx - a * SIZE / 2 - b * SIZE / 2
        f0 = cy - d * SIZE / 2 - e * SIZE / 2
        im = im.transform((SIZE, SIZE), Image.AFFINE, (a, b, c0, d, e, f0), Image.BILINEAR)
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
        im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.8, 1.2))
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)


class TorchvisionPresize(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files
        self.aug = v2.Compose([
            v2.RandomResizedCrop(SIZE, scale=(MIN_SCALE, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(degrees=10, scale=(1.0, 1.1), interpolation=v2.InterpolationMode.BILINEAR),
            v2.ToDtype(torch.float32, scale=True),
            v2.ColorJitter(brightness=0.2, contrast=0.2),
        ])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        rng = random.Random(i)
        img = decode_image(read_file(self.files[i]), mode=torchvision.io.ImageReadMode.RGB)
        h, w = img.shape[1:]
        l, t, cw, ch = resize_crop_box(w, h, PRESIZE, rng.random(), rng.random())
        img = v2.functional.resized_crop(img, t, l, ch, cw, [PRESIZE, PRESIZE], antialias=True)
        return self.aug(img)


class PillowFashion(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        im = Image.open(self.files[i]).convert("RGB")
        if random.random() < 0.5:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)


class TorchvisionFashion(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files
        self.aug = v2.Compose([v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True)])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.aug(decode_image(read_file(self.files[i]), mode=torchvision.io.ImageReadMode.RGB))


def one_thread(_):
    torch.set_num_threads(1)


def python_rate(dataset, threads, bs):
    """Images per second over one pass of a DataLoader (the workers' start-up not counted: one warm batch)."""
    dl = torch.utils.data.DataLoader(dataset, batch_size=bs, shuffle=True, num_workers=threads, drop_last=True,
                                     worker_init_fn=one_thread, persistent_workers=True, prefetch_factor=2)
    for _ in dl:  # warm-up pass: workers started, files in the page cache
        break
    n, start = 0, time.perf_counter()
    for b in dl:
        n += b.shape[0]
    return n / (time.perf_counter() - start)


def fastpp_rate(bench, case, threads, env):
    out = subprocess.run([bench, f"--benchmark_filter=BM_Pipeline/{case}/{threads}/", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") != "aggregate"]
    if not runs or "items_per_second" not in runs[0]:
        raise SystemExit(f"image_pipeline.py: {bench} gave no BM_Pipeline/{case}/{threads} result: {out[-500:]}")
    return runs[0]["items_per_second"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/main/benchmarks/bench_image_pipeline")
    ap.add_argument("--root", default="data/image_bench")
    ap.add_argument("--fashion", default="data/fashion/valid")
    ap.add_argument("--sets", default="pets,large,fashion")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    env = dict(os.environ, FASTPP_IMAGE_BENCH=a.root, FASTPP_FASHION=a.fashion)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, pillow {Image.__version__}; "
          f"fastpp: {a.bench}; {os.cpu_count()} CPUs")
    ratios = []
    for case in a.sets.split(","):
        if case == "fashion":
            files = []
            for dirpath, _, names in os.walk(a.fashion):
                files += [os.path.join(dirpath, f) for f in names if f.endswith(".png")]
            files = sorted(files)[:2048]
            sides = {"pillow": PillowFashion(files), "torchvision": TorchvisionFashion(files)}
        else:
            files = files_of(os.path.join(a.root, case), ".jpg")
            sides = {"pillow": PillowPresize(files), "torchvision": TorchvisionPresize(files)}
        bs = 3 if case == "large" else 64
        for t in [int(x) for x in a.threads.split(",")]:
            got = {"fastpp": [], "pillow": [], "torchvision": []}
            for _ in range(a.repeats):
                got["fastpp"].append(fastpp_rate(a.bench, case, t, env))
                for name, ds in sides.items():
                    got[name].append(python_rate(ds, t, bs))
            med = {k: statistics.median(v) for k, v in got.items()}
            best = max(("pillow", "torchvision"), key=lambda k: med[k])
            ratio = med["fastpp"] / med[best]
            ratios.append(ratio)
            print(f"{case:8s} {t} thread(s): fastpp {med['fastpp']:8.1f} img/s, pillow {med['pillow']:8.1f}, "
                  f"torchvision {med['torchvision']:8.1f}; fastpp / {best} = {ratio:.2f}", flush=True)
    print(f"min ratio: {min(ratios):.2f}")


if __name__ == "__main__":
    main()
