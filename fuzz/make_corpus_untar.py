#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_untar (fuzz/corpus/untar/): tiny honest and hostile archives in each format
untar_data reads. Run from the repository root: python3 fuzz/make_corpus_untar.py"""
import bz2
import io
import lzma
import os
import tarfile
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "untar")


def tar_bytes(members, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "file":
                info.size = len(payload)
                t.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
            if kind in ("sym", "hard"):
                info.linkname = payload
            t.addfile(info)
    data = buf.getvalue()
    # Drop the padding to a 10 KiB record: two zero blocks end an archive (keeps the corpus small).
    end = len(data.rstrip(b"\0"))
    return data[:(end + 511) // 512 * 512 + 1024]


def gz(b):
    import gzip
    return gzip.compress(b, mtime=0)


def main():
    os.makedirs(OUT, exist_ok=True)
    dataset = [("ds/", "dir", None), ("ds/images/a.jpg", "file", b"\xff\xd8\xff" + b"x" * 40),
               ("ds/labels.txt", "file", b"a 1\n")]
    seeds = {
        "dataset.tar": tar_bytes(dataset),
        "dataset.tgz": gz(tar_bytes(dataset)),
        "dataset_gnu.tar.bz2": bz2.compress(tar_bytes(dataset, tarfile.GNU_FORMAT)),
        "dataset.tar.xz": lzma.compress(tar_bytes(dataset)),
        "links.tar": tar_bytes([("d/f", "file", b"1"), ("d/h", "hard", "d/f"), ("d/s", "sym", "f"),
                                ("d/up", "sym", "../d/f")]),
        "dotdot.tar": tar_bytes([("../x", "file", b"evil")]),
        "absolute.tar": tar_bytes([("/tmp/x", "file", b"evil")]),
        "symlink_escape.tar": tar_bytes([("a", "sym", "."), ("b", "sym", "a/.."), ("l", "sym", "/etc")]),
        "devices.tar": tar_bytes([("p", "fifo", None), ("c", "chr", None)]),
    }
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("ds/a.txt", (2024, 1, 1, 0, 0, 0)), b"hello " * 20)
        z.writestr(zipfile.ZipInfo("ds/sub/", (2024, 1, 1, 0, 0, 0)), b"")
        z.writestr(zipfile.ZipInfo("../zip_escape", (2024, 1, 1, 0, 0, 0)), b"evil")
    seeds["dataset.zip"] = zbuf.getvalue()
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds, %d bytes" % (len(seeds), sum(len(d) for d in seeds.values())))


if __name__ == "__main__":
    main()
