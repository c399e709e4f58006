#!/usr/bin/python3
"""Writes the seed corpus of fuzz/fuzz_safetensors.cpp into fuzz/corpus/safetensors/ (valid files in every
dtype, escapes, and a few broken ones). Named .bin so .gitignore's *.safetensors rule does not hide them.
Run: /usr/bin/python3 scripts/make_safetensors_corpus.py"""
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io as s  # noqa: E402

d = os.path.join(HERE, "..", "fuzz", "corpus", "safetensors") + os.sep
s.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor(3, dtype=torch.int64)},
       d + "small_f32_i64.bin", {"arch": "x"})
s.save({"h": torch.ones(3, dtype=torch.float16), "b": torch.ones(2, 2, dtype=torch.bfloat16),
        "d": torch.zeros(1, dtype=torch.float64)}, d + "half_bf16_f64.bin")
s.save({"e": torch.zeros(0, 4, dtype=torch.float32)}, d + "empty_tensor.bin")


def raw(name, header, data=b"", length=None):
    h = header.encode()
    with open(d + name, "wb") as f:
        f.write(struct.pack("<Q", len(h) if length is None else length) + h + data)


raw("escapes.bin", '{"__metadata__":{"k\\u00e9":"\\ud83d\\ude00\\n"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    b"\0\0\x80?")
raw("overlap.bin", '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
    bytes(12))
raw("truncated.bin", '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', bytes(5))
raw("length_too_big.bin", "{}", length=1 << 40)
