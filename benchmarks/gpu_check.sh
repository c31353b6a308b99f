#!/usr/bin/env bash
# The GPU check of issue 25, for a machine with an NVIDIA GPU and no package index.
#
# Beforehand, on a machine WITH an index (same Python version and platform as the GPU machine):
#     pip download --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
#         -d wheels/ cupy-cuda12x==14.2.0 fastrlock
#     (torch with CUDA for the twins, if the GPU machine lacks it:
#      pip download -d wheels/ torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126)
# then carry the repository with its wheels/ folder (git-ignored) to the GPU machine and run
#     bash benchmarks/gpu_check.sh            # under 8 minutes on one H200
# It installs from wheels/ only (--no-index), runs the `-m gpu` tests (CuPy against NumPy:
# float64 1e-10 after one step, float32 1e-4 after 20), then `alzza bench --device cuda`
# (alzza on CuPy against the PyTorch CUDA twins, batch 10 / 64 / 256), and writes
# benchmarks/results/gpu-check-<time>.json (the bench) and gpu-tests-<time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=${ALZZA_WHEELS:-wheels}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=benchmarks/results
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
if ! python -c "import cupy" 2>/dev/null; then
    python -m pip install --no-index --find-links "$WHEELS" cupy-cuda12x fastrlock
fi
python -m pip install --no-deps --no-build-isolation -e . >/dev/null
python -c "import cupy; print('CuPy', cupy.__version__, 'devices:', cupy.cuda.runtime.getDeviceCount())"
# 1. CuPy against NumPy, every layer type and model family (skips would be failures here)
timeout 180 python -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu_cupy.py -rs \
    | tee "$OUT/gpu-tests-$STAMP.txt"
if grep -q "skipped" "$OUT/gpu-tests-$STAMP.txt"; then echo "gpu tests skipped: no GPU seen" >&2; exit 1; fi
# 2. the bench rows on the GPU against PyTorch CUDA (no CPU-side GEMM profile: it times NumPy)
timeout 360 alzza bench --device cuda --batch 10 64 256 --threads 1 --repeats 5 --no-profile \
    --json "$OUT/gpu-check-$STAMP.json"
echo "wrote $OUT/gpu-check-$STAMP.json and $OUT/gpu-tests-$STAMP.txt"
