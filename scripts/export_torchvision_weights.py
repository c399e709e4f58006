#!/usr/bin/python3
"""Exports a torchvision model's weights to .safetensors for fastpp (torchvision names, PyTorch layout).

Usage:
  /usr/bin/python3 scripts/export_torchvision_weights.py resnet34 resnet34.safetensors
      [--weights DEFAULT|IMAGENET1K_V1|none] [--from-pth file.pth] [--num-classes N] [--dtype F32|F16|BF16]

--weights asks torchvision for its pretrained weights (downloaded to torch's cache; needs network
access unless already cached); --from-pth reads a saved state dict instead; 'none' (the default) exports
torchvision's random initialisation. Load in C++ with fastpp::nn::load_safetensors (torchvision model) or
fastpp::models::load_torchvision_body (a fastai model's body). num_batches_tracked is written as I64.
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("arch", help="a torchvision.models constructor, e.g. resnet18, resnet34, resnet50")
    ap.add_argument("out", help="output .safetensors path")
    ap.add_argument("--weights", default="none", help="torchvision weights enum name, or none")
    ap.add_argument("--from-pth", default=None, help="a state dict saved with torch.save")
    ap.add_argument("--num-classes", type=int, default=None)
    ap.add_argument("--dtype", default="F32", choices=sorted(DTYPES))
    args = ap.parse_args()

    ctor = getattr(torchvision.models, args.arch, None)
    if ctor is None:
        sys.exit(f"unknown torchvision architecture {args.arch!r}")
    kwargs = {}
    if args.num_classes is not None:
        kwargs["num_classes"] = args.num_classes
    if args.weights.lower() != "none":
        kwargs["weights"] = args.weights
    model = ctor(**kwargs)
    if args.from_pth:
        model.load_state_dict(torch.load(args.from_pth, map_location="cpu"))
    state = {}
    for k, v in model.state_dict().items():
        state[k] = v if v.dtype == torch.int64 else v.to(DTYPES[args.dtype])
    safetensors_io.save(state, args.out, {"arch": args.arch, "source": "torchvision " + torchvision.__version__,
                                          "weights": args.weights if not args.from_pth else args.from_pth})
    print(f"wrote {len(state)} tensors of {args.arch} to {args.out}")


if __name__ == "__main__":
    main()
