"""PyTorch's ResNet-50 training step on the GPU, beside fastpp's (tests/cuda/bench_resnet50.cpp), for
scripts/gpu-check.sh: batch 128 at 224x224, 1000 classes, Adam, the same step (forward, cross-entropy,
backward, step, zero_grad), median of the timed steps after two untimed ones, synchronised around each.
Two rows: float (channels-last, TF32 off, PyTorch's default for matmuls; cuDNN's convolution default, TF32
on, is kept) and AMP (torch.autocast fp16 with GradScaler, channels-last), the setting issue 23 compares to.
    python3 benchmarks/compare/resnet50_gpu.py [steps] [batch]
"""
import statistics
import sys
import time

import torch
import torchvision


def median_step_ms(amp: bool, steps: int, bs: int) -> float:
    torch.manual_seed(0)
    model = torchvision.models.resnet50(num_classes=1000).cuda().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters())
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    x = torch.randn(bs, 3, 224, 224, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (bs,), device="cuda")
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()

    step()
    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    bs = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    torch.backends.cudnn.benchmark = True
    for amp in (False, True):
        ms = median_step_ms(amp, steps, bs)
        name = "amp  " if amp else "float"
        print(f"pytorch {name} {ms:9.1f} ms/step {bs * 1000.0 / ms:9.1f} img/s (torch {torch.__version__})", flush=True)


if __name__ == "__main__":
    main()
