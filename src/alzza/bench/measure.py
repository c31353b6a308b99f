"""Timing and the machine: alternating timed blocks, ratios, the GEMM share, peak memory,
and what the BLAS and the machine are (recorded with every result)."""

from __future__ import annotations

import copy
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

from .gemmtime import _GemmTimed, time_layer_inputs
from .rows import LEARNING_RATE

#: environment variables recorded with every result (the BLAS reads them at load time)
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS")


def _calibrate(fn, target):
    """Calls per timing block so that a block lasts about ``target`` seconds."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(target / once))


def compare(sides: dict, batch, repeats, target, warmup=2):
    """Per-example seconds of each side: median, min, max over ``repeats`` blocks.

    Blocks alternate between the sides (and the order rotates every repeat), so the
    load of a shared machine falls on all of them alike.
    """
    names = list(sides)
    for name in names:
        for _ in range(warmup):
            sides[name]()
    calls = {name: _calibrate(sides[name], target) for name in names}
    samples = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn, k = sides[name], calls[name]
            start = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - start) / (k * batch))
    return {name: _stats(values) for name, values in samples.items()}


def _stats(values):
    values = sorted(values)
    return {"median": float(np.median(values)), "min": values[0], "max": values[-1], "n": len(values)}


def _ratio(a, b):
    """alzza/torch: median over median, and the range from the blocks' extremes."""
    return {"median": a["median"] / b["median"], "min": a["min"] / b["max"], "max": a["max"] / b["min"]}


# ------------------------------------------------------------------ profile and memory
def gemm_profile(model, x, y, step_seconds, steps=3):
    """Seconds per training step spent in matrix products, and their share of ``step_seconds``.

    Runs on a deep copy whose parameters are :class:`_GemmTimed` views (the wrapper's own
    overhead is outside the timed calls, so the GEMM seconds are real; the share divides
    them by the untraced step time measured in the table).
    """
    twin = copy.deepcopy(model)
    for layer in twin.network.walk():
        for key, value in list(layer.params.items()):
            layer.params[key] = value.view(_GemmTimed)
    time_layer_inputs(twin)
    xt = x.view(_GemmTimed)
    twin.train_step(xt, y, LEARNING_RATE)  # warm-up
    _GemmTimed.seconds, _GemmTimed.calls = 0.0, 0
    for _ in range(steps):
        twin.train_step(xt, y, LEARNING_RATE)
    gemm = _GemmTimed.seconds / steps
    return {"gemm_seconds_per_step": gemm, "gemm_calls_per_step": _GemmTimed.calls // steps,
            "share": min(1.0, gemm / step_seconds) if step_seconds > 0 else None}


def peak_memory(step):
    """Peak bytes newly allocated (tracemalloc: NumPy reports its buffers) during one step."""
    step()  # warm-up: buffers a layer keeps from step to step are not counted
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- environment records
def blas_info():
    """NumPy's build configuration (BLAS name and version) as a dict."""
    try:
        config = np.show_config(mode="dicts")
        deps = config.get("Build Dependencies", {})
        return {"blas": deps.get("blas"), "lapack": deps.get("lapack"),
                "simd": config.get("SIMD Extensions")}
    except Exception as exc:  # noqa: BLE001 — older NumPy: no mode="dicts"
        return {"error": f"np.show_config(mode='dicts') failed: {exc}"}


def machine_info():
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "numpy": np.__version__, "blas": blas_info(),
            "env": {name: os.environ.get(name) for name in BLAS_ENV}}
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------- torch reference
