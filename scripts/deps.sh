#!/usr/bin/env bash
# Installs what fastpp needs from Debian's packages. Idempotent: packages already present are skipped,
# and `apt-get update` runs only when something is missing.
#
#   scripts/deps.sh            build + test dependencies (what scripts/test.sh needs; chromium and its
#                              fonts for the gcc stage's interpret:report_in_chromium, which opens the
#                              training report in headless Chromium)
#   scripts/deps.sh --torch    also PyTorch: Debian's (float64 fixture references) and current PyTorch from
#                              PyPI in a virtual environment outside the working tree (the speed comparison,
#                              benchmarks/compare/*.sh: torch, torchvision, pillow), at ${FASTPP_TORCH_VENV:-$HOME/.cache/fastpp/torch-venv},
#                              and the wallpaper packages whose JPEGs the image-pipeline benchmark uses
set -euo pipefail

want=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libstb-dev catch2 libbenchmark-dev libopenblas-dev libdnnl-dev
  clang-14 libclang-rt-14-dev
  libcurl4-openssl-dev libarchive-dev libturbojpeg0-dev
  dataset-fashion-mnist python3
  openmpi-bin libopenmpi-dev
  chromium fonts-liberation
)
if [[ "${1:-}" == "--torch" ]]; then
  # the wallpapers (1.3-18 megapixel JPEGs) of the image-pipeline benchmark (benchmarks/compare/image_pipeline.sh)
  want+=(python3-torch python3-torchvision python3-numpy libopenblas0-pthread mate-backgrounds ukui-wallpapers)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "deps.sh: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "deps.sh: all packages present"
fi

# The CUDA toolkit is not a Debian package here; it is used where found (/usr/local/cuda).
if [[ -x /usr/local/cuda/bin/nvcc ]]; then
  echo "deps.sh: CUDA toolkit: $(/usr/local/cuda/bin/nvcc --version | tail -n 2 | head -n 1)"
else
  echo "deps.sh: no CUDA toolkit at /usr/local/cuda (the CUDA targets will not be built)"
fi

# Current PyTorch from PyPI (about 6 GB with its CUDA wheels), for benchmarks/compare/: the
# speed bar is against what a fastai user installs today, not Debian's older build. Kept outside the
# working tree so builds and `git status` never see it.
if [[ "${1:-}" == "--torch" ]]; then
  venv="${FASTPP_TORCH_VENV:-$HOME/.cache/fastpp/torch-venv}"
  if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import torch, torchvision, PIL" 2>/dev/null; then
    echo "deps.sh: PyPI torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') in $venv"
  else
    echo "deps.sh: installing torch, torchvision, pillow and numpy from PyPI into $venv"
    mkdir -p "$(dirname "$venv")"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q torch torchvision pillow numpy
    echo "deps.sh: PyPI torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') in $venv"
  fi
fi
