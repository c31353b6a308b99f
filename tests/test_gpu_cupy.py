"""CuPy against NumPy on a real GPU (``pytest -m gpu``; benchmarks/gpu_check.sh runs them).

Skipped — not passed — without CuPy and a CUDA device: CI has neither, and there the
stand-in device (tests/test_standin_device.py) is the evidence. On a GPU every layer type
(the networks of the stand-in tests) and every model family takes the same steps on
``device="cuda"`` as on the CPU from the same initial weights (they are drawn on the host):

* float64: weights after one SGD step equal to 1e-10 (relative to the largest weight);
* float32: weights after 20 SGD steps equal to 1e-4.

Dropout and noise are left out of the comparison: on the GPU their masks come from
CuPy's generator (another stream than NumPy's, by design).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_standin_device import NETWORKS, _data, _families

from alzza import Model
from alzza.device import DeviceError, get_device, to_host

pytestmark = pytest.mark.gpu


def _cuda_or_skip():
    try:
        return get_device("cuda")
    except DeviceError as exc:
        pytest.skip(f"no GPU here: {exc}")


def _gap(cpu, gpu) -> float:
    worst = 0.0
    for a, b in zip(cpu.slots, gpu.slots, strict=True):
        a, b = to_host(a.value), to_host(b.value)
        worst = max(worst, float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(a)))))
    return worst


DETERMINISTIC = [n for n in NETWORKS if "dropout" not in n[0]]


@pytest.mark.parametrize("dtype, steps, tol", [("float64", 1, 1e-10), ("float32", 20, 1e-4)])
@pytest.mark.parametrize("name, layers, input_shape, output_shape, mode", DETERMINISTIC,
                         ids=[n[0] for n in DETERMINISTIC])
def test_every_layer_type_on_cupy_matches_numpy(name, layers, input_shape, output_shape, mode, dtype, steps, tol):
    _cuda_or_skip()
    cpu, gpu = (Model(None, layers, input_shape=input_shape, output_shape=output_shape, mode=mode, seed=3,
                      dtype=dtype, device=device, printer=lambda *a: None) for device in ("cpu", "cuda"))
    x, y = _data(input_shape, output_shape, mode)
    for _ in range(steps):
        cpu.train_step(x, y, 0.01)
        gpu.train_step(x, y, 0.01)
    assert _gap(cpu, gpu) <= tol


@pytest.mark.parametrize("dtype, steps, tol", [("float64", 1, 1e-10), ("float32", 20, 1e-4)])
@pytest.mark.parametrize("family", range(len(_families())), ids=[f[0] for f in _families()])
def test_every_model_family_on_cupy_matches_numpy(family, dtype, steps, tol):
    _cuda_or_skip()
    _, make, x, y = _families(dtype)[family]
    cpu, gpu = make("cpu"), make("cuda")  # the GAN's seeds come from the host generator: the same on both
    for _ in range(steps):
        cpu.train_step(x, y, 0.05)
        gpu.train_step(x, y, 0.05)
    assert _gap(cpu, gpu) <= tol
