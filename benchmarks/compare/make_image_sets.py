"""The image sets of the image-pipeline benchmark (benchmarks/bench_image_pipeline.cpp, image_pipeline.sh),
written into an ignored folder (default data/image_bench) from Debian's wallpaper packages, which
`apt-get install mate-backgrounds ukui-wallpapers` puts in /usr/share/backgrounds (1.3 to 18 megapixel JPEGs):

  large/<Name>_0.jpg   the wallpapers themselves (copied: the benchmark reads one folder)
  pets/<Name>_<k>.jpg  a pets-sized set: from each wallpaper, `--per-image` random 4:3 (or 3:4) crops
                       re-encoded at 500 x 375 (or 375 x 500), JPEG quality 75 to 90, as the Oxford pets are

Names follow the pets' pattern (label_index.jpg), so examples and loaders can label them with the pets'
regex. Deterministic for a seed. Needs Pillow (the torch venv of scripts/deps.sh --torch has it).

  make_image_sets.py [--src /usr/share/backgrounds] [--out data/image_bench] [--per-image 48] [--seed 0]
"""
import argparse
import os
import random
import shutil

from PIL import Image


def wallpapers(src):
    found = []
    for dirpath, _, files in os.walk(src):
        found += [os.path.join(dirpath, f) for f in files if f.lower().endswith((".jpg", ".jpeg"))]
    return sorted(found)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="/usr/share/backgrounds")
    ap.add_argument("--out", default="data/image_bench")
    ap.add_argument("--per-image", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    files = wallpapers(a.src)
    if not files:
        raise SystemExit(f"make_image_sets.py: no JPEG under {a.src}: apt-get install mate-backgrounds ukui-wallpapers")
    rng = random.Random(a.seed)
    large, pets = os.path.join(a.out, "large"), os.path.join(a.out, "pets")
    os.makedirs(large, exist_ok=True)
    os.makedirs(pets, exist_ok=True)
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0].replace("_", "-")
        shutil.copyfile(path, os.path.join(large, f"{name}_0.jpg"))
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            for k in range(a.per_image):
                portrait = rng.random() < 0.25
                tw, th = (375, 500) if portrait else (500, 375)
                scale = rng.uniform(0.35, 1.0)  # of the largest box of that aspect
                bw = min(w, int(h * tw / th)) * scale
                bh = bw * th / tw
                x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
                crop = im.resize((tw, th), Image.BICUBIC, box=(x0, y0, x0 + bw, y0 + bh))
                crop.save(os.path.join(pets, f"{name}_{k}.jpg"), quality=rng.randint(75, 90))
    print(f"make_image_sets.py: {len(files)} wallpapers in {large}, {len(files) * a.per_image} pets-sized JPEGs in {pets}")


if __name__ == "__main__":
    main()
