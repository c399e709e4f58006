"""Loads weights saved by fastpp into torchvision and compares the output with fastpp's.

Usage: /usr/bin/python3 torchvision_load_check.py <arch> <n_classes> <weights.safetensors> <io.safetensors>
io holds x (NHWC float32) and y (fastpp's eval output). Exit 0: same output; 1: differs; 4: no torch here.
"""
import os
import sys

try:
    import torch
    import torchvision
except ImportError:
    sys.exit(4)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import safetensors_io  # noqa: E402

arch, n_classes, weights, io = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.set_num_threads(1)
model = getattr(torchvision.models, arch)(num_classes=n_classes)
state = safetensors_io.load(weights)
model.load_state_dict(state, strict=True)  # names, shapes and the set of keys must all match
model.double().eval()
t = safetensors_io.load(io)
x = t["x"].double().permute(0, 3, 1, 2)
with torch.no_grad():
    y = model(x)
diff = (y - t["y"].double()).abs().max().item()
scale = max(1.0, y.abs().max().item())
print(f"max |torchvision - fastpp| = {diff:.3g} (max |y| = {scale:.3g})")
sys.exit(0 if diff <= 1e-4 * scale else 1)
