"""Timing the matrix products of a training step: an ndarray view that times every GEMM it takes part in.

Used by :func:`alzza.bench.measure.gemm_profile` (the bench's GEMM share) and
:func:`alzza.bench.opsplit.op_split` (the split of a step).
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np


class _GemmTimed(np.ndarray):
    """An ndarray view that times every matrix product it takes part in.

    ``a @ b`` and ``np.matmul`` are the ufunc ``matmul`` and reach ``__array_ufunc__``;
    ``np.dot``/``vdot``/``tensordot``/``einsum`` reach ``__array_function__``. Results are
    re-wrapped so that everything computed from a timed array is timed too.
    """

    seconds = 0.0
    calls = 0
    #: the clock the products are timed with (``op_split`` uses the thread's CPU time)
    clock = staticmethod(time.perf_counter)
    GEMM_FUNCTIONS: ClassVar[set] = {np.dot, np.vdot, np.inner, np.tensordot, np.einsum, np.matmul}

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        inputs = tuple(a.view(np.ndarray) if isinstance(a, _GemmTimed) else a for a in inputs)
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _GemmTimed) else o for o in out)
        if ufunc is np.matmul and method == "__call__":
            start = _GemmTimed.clock()
            result = ufunc(*inputs, **kwargs)
            _GemmTimed.seconds += _GemmTimed.clock() - start
            _GemmTimed.calls += 1
        else:
            result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _timed(result)

    def __array_function__(self, func, types, args, kwargs):
        if func in self.GEMM_FUNCTIONS:
            start = _GemmTimed.clock()
            result = super().__array_function__(func, types, args, kwargs)
            _GemmTimed.seconds += _GemmTimed.clock() - start
            _GemmTimed.calls += 1
        else:
            result = super().__array_function__(func, types, args, kwargs)
        return _timed(result)


def _timed(result):
    if type(result) is np.ndarray:
        return result.view(_GemmTimed)
    if isinstance(result, tuple):
        return tuple(_timed(r) for r in result)
    return result


def time_layer_inputs(model):
    """Every layer's forward / backward of ``model`` (a copy) takes its array arguments as
    :class:`_GemmTimed` views: a product of a gradient that a layer wrote into a plain
    buffer (a pool's dx) with a reused plain buffer (the conv's columns) is timed too."""
    def converting(fn):
        def call(*args, **kwargs):
            return fn(*(a.view(_GemmTimed) if type(a) is np.ndarray else a for a in args), **kwargs)
        return call

    layers = list(model.network.walk())
    layers += [layer.bn for layer in layers if getattr(layer, "bn", None) is not None and layer.bn not in layers]
    for layer in layers:  # the conv's linear part too: its batch norm hands it a gradient directly
        for method in ("forward", "backward", "_linear_forward", "_linear_backward"):
            if callable(getattr(type(layer), method, None)):
                setattr(layer, method, converting(getattr(layer, method)))
