#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_checkpoint (fuzz/corpus/checkpoint/): tiny fastpp checkpoints, honest and
damaged. It re-implements the format of include/fastpp/learner/checkpoint_file.hpp independently
(safetensors + "format"/"version"/"checksum" metadata), so the honest seeds loading in C++ also checks
that the header's description of the checksum is complete. Run from the repository root:
python3 fuzz/make_corpus_checkpoint.py"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "checkpoint")
M = (1 << 64) - 1
DTYPES = {"F64": 0, "F32": 1, "F16": 2, "BF16": 3, "I64": 4}  # io::StDtype's order


class Hasher:
    """64-bit FNV-1a over little-endian 8-byte words, finished with MurmurHash3's fmix64."""

    def __init__(self):
        self.h = 0xCBF29CE484222325

    def word(self, w):
        self.h = ((self.h ^ (w & M)) * 0x100000001B3) & M

    def bytes(self, b):
        self.word(len(b))
        full = len(b) // 8 * 8
        for i in range(0, full, 8):
            self.word(int.from_bytes(b[i:i + 8], "little"))
        if full < len(b):
            self.word(int.from_bytes(b[full:] + bytes(8 - (len(b) - full)), "little"))

    def finish(self):
        h = self.h
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & M
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & M
        h ^= h >> 33
        return h


def checksum(meta, tensors):
    h = Hasher()
    for k in sorted(meta, key=lambda s: s.encode()):
        if k != "checksum":
            h.bytes(k.encode())
            h.bytes(meta[k].encode())
    h.word(0x74656E736F7273)
    for name in sorted(tensors, key=lambda s: s.encode()):
        dtype, shape, data = tensors[name]
        h.bytes(name.encode())
        h.word(DTYPES[dtype])
        h.word(len(shape))
        for d in shape:
            h.word(d)
        h.bytes(data)
    return "%016x" % h.finish()


def safetensors(meta, tensors):
    header, off, blobs = {}, 0, []
    if meta:
        header["__metadata__"] = meta
    for name in sorted(tensors, key=lambda s: s.encode()):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def checkpoint(meta, tensors, **override):
    meta = dict(meta, format="fastpp-checkpoint", version="1")
    meta["checksum"] = checksum(meta, tensors)
    meta.update(override)
    return safetensors(meta, tensors)


def main():
    os.makedirs(OUT, exist_ok=True)
    tensors = {
        "model.0.weight": ("F32", [2, 3], struct.pack("<6f", 1, -2, 0.5, 3.25, 0, -0.0)),
        "opt.step": ("I64", [], struct.pack("<q", 17)),
        "recorder.losses": ("F64", [3], struct.pack("<3d", 2.5, 1.25, float("nan"))),
        "rng.state": ("I64", [2], struct.pack("<2Q", 0xFFFFFFFFFFFFFFFF, 42)),
        "half": ("F16", [4], struct.pack("<4H", 0x3C00, 0x7BFF, 0x0001, 0x7E00)),
    }
    meta = {"architecture": "resnet18", "epoch": "3"}
    good = checkpoint(meta, tensors)
    seeds = {
        "good.bin": good,
        "empty.bin": checkpoint({}, {}),
        "zero_sized.bin": checkpoint({"note": "quote \" and \\u00e9 \u00e9"}, {"none": ("F32", [0, 4], b"")}),
        "plain_safetensors.bin": safetensors(meta, tensors),
        "wrong_format.bin": checkpoint(meta, tensors, format="other"),
        "version2.bin": checkpoint(meta, tensors, version="2"),
        "bad_checksum.bin": good[:-3] + bytes([good[-3] ^ 1]) + good[-2:],
        "truncated.bin": good[: len(good) - 5],
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
