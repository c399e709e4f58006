#!/usr/bin/env bash
# The README's fine-tuning example: a resnet18 trained by fastpp on Fashion-MNIST (all ten classes, 28x28)
# becomes the pretrained body for a new task, three kinds of shoe, fine-tuned with fastai's fine_tune.
# The shoe folder (data/shoes: train/ and valid/, labelled by parent folder) is copied from the official
# test split, which the first run only validates on, so no shoe image was trained on before.
# Run after scripts/main.sh (it builds build/main and writes data/fashion). Arguments go to both runs
# (e.g. --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
pets=build/main/examples/pets
[[ -x $pets && -d data/fashion/valid ]] || { echo "fine_tune_example.sh: run scripts/main.sh first" >&2; exit 1; }
if [[ ! -d data/shoes/valid ]]; then
  for cls in Sandal Sneaker Ankle_boot; do
    mkdir -p "data/shoes/train/$cls" "data/shoes/valid/$cls"
    mapfile -t files < <(find "data/fashion/valid/$cls" -name '*.png' | sort | head -400)
    cp "${files[@]:0:300}" "data/shoes/train/$cls/"
    cp "${files[@]:300:100}" "data/shoes/valid/$cls/"
  done
fi
# 1. the body: resnet18 on 10000 Fashion-MNIST training images, 2 epochs from scratch
$pets --data fashion --arch resnet18 --epochs 2 --limit 10000 --out runs/fashion-resnet18 "$@"
# 2. the new task from that checkpoint: fine_tune (one epoch with the body frozen, then 3 unfrozen)
$pets --data data/shoes --arch resnet18 --size 28 --recipe fine_tune --epochs 3 --bs 64 --lr 2e-3 \
  --pretrained runs/fashion-resnet18/models/final.safetensors --out runs/shoes-finetune "$@"
# 3. for comparison, the same number of epochs from a random initialisation
$pets --data data/shoes --arch resnet18 --size 28 --recipe one_cycle --epochs 4 --bs 64 --lr 2e-3 \
  --out runs/shoes-scratch "$@"
