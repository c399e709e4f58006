#!/usr/bin/python3
"""The PyTorch/PIL side of benchmarks/bench_vision_transforms.cpp (same sizes, same work).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 benchmarks/compare/vision_transforms.py

* Resize460: fastai's Resize(460) on a 500 x 375 PIL image = crop 375 x 375 then PIL BILINEAR resize.
* AugBatch16: fastai's GPU path on CPU for 16 x 3 x 460 x 460 float: affine_grid + perspective warp +
  grid_sample at 460 (fastai's first resample), RandomResizedCropGPU's crop + second grid_sample to 224,
  then lighting in logit space. Medians of 7 repeats, per torch thread count.
"""
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def median_time(f, repeats=7):
    f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def main():
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8))
    t = median_time(lambda: img.crop((37, 0, 412, 375)).resize((460, 460), Image.BILINEAR), 21)
    print(f"Resize460 (PIL {Image.__version__}): {t * 1e3:.3f} ms")

    x = torch.rand(16, 3, 460, 460)
    for threads in (1, 2):
        torch.set_num_threads(threads)

        def aug():
            n = x.shape[0]
            th = (torch.rand(n) * 20 - 10) * math.pi / 180
            s = 1 / (1 + torch.rand(n) * 0.1)
            m = torch.zeros(n, 2, 3)
            m[:, 0, 0] = th.cos() * s
            m[:, 0, 1] = th.sin() * s
            m[:, 1, 0] = -th.sin() * s
            m[:, 1, 1] = th.cos() * s
            grid = F.affine_grid(m, (n, 3, 460, 460), align_corners=True)
            h = torch.eye(3).expand(n, 3, 3).clone()
            h[:, 2, :2] = 0.01
            g = grid.view(n, -1, 2) @ h[:, :2, :2].transpose(1, 2) + h[:, :2, 2].unsqueeze(1)
            w = grid.view(n, -1, 2) @ h[:, 2, :2].unsqueeze(-1) + 1
            grid = (g / w).view(n, 460, 460, 2)
            y = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
            y = y[..., 20:420, 30:430]
            ident = F.affine_grid(torch.eye(3)[None, :2].expand(n, 2, 3), (n, 3, 224, 224), align_corners=True)
            y = F.grid_sample(y, ident, mode="bilinear", padding_mode="reflection", align_corners=True)
            lg = -(1 / y.clamp(1e-7, 1 - 1e-7) - 1).log()
            return torch.sigmoid((lg + 0.1) * 1.1)

        t = median_time(aug)
        print(f"AugBatch16 (torch {torch.__version__}, set_num_threads({threads})): {t * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
