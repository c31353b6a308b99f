"""Where a training step's time goes: CPU time per layer method and per window op.

``alzza bench --ops`` calls :func:`op_split` for every row. It runs a few training steps
on a deep copy of the model whose layer methods (``forward``, ``backward`` and the conv
layer's ``_linear_forward`` / ``_linear_backward``, its batch norm's, the activation's)
and the window ops that conv calls (im2col, col2im, padding, channel sums) are wrapped
in timers. Each label gets its *exclusive* time — its own time minus that of the
wrapped calls inside it — and the matrix products inside a label (timed as in
:func:`~alzza.bench.measure.gemm_profile`) are split off as ``GEMM in <label>``. The
labels sum to the step.

Times are the CPU time of the calling thread (``time.thread_time``), not wall time: on
a loaded machine the shares stay meaningful, which wall-clock shares do not. With more
than one BLAS thread the other threads' GEMM work is not counted, so read the split at
``--threads 1``. The wrappers cost a few microseconds a call, which land on the layer
that makes the calls (visible on small recurrent steps, negligible on images).
"""

from __future__ import annotations

import copy
import functools
import time
from collections import defaultdict

from ..layers import conv as conv_module
from ..ops import windows
from .gemmtime import _GemmTimed, _timed, time_layer_inputs

#: the window ops conv.py imports by name (patched there for the duration of a split)
WINDOW_OPS = ("im2col", "col2im", "im2col_channels_last", "col2im_channels_last", "pad_channels_first",
              "pad_channels_last", "channel_sum", "unpadded_grad")
#: layer methods timed where a layer has them
LAYER_METHODS = ("forward", "backward", "_linear_forward", "_linear_backward", "normalize", "infer")


class _Clock:
    """Exclusive CPU seconds per label, and the GEMM seconds inside each."""

    def __init__(self, gemm_seconds):
        self.totals = defaultdict(float)
        self.gemm_seconds = gemm_seconds  # () → GEMM seconds so far
        self._stack = []

    def wrap(self, fn, label):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start, gemm_start = time.thread_time(), self.gemm_seconds()
            self._stack.append([0.0, 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed, gemm = time.thread_time() - start, self.gemm_seconds() - gemm_start
                inner, inner_gemm = self._stack.pop()
                self.totals[label] += elapsed - inner - (gemm - inner_gemm)
                if gemm - inner_gemm > 0:
                    self.totals[f"GEMM in {label}"] += gemm - inner_gemm
                if self._stack:
                    self._stack[-1][0] += elapsed
                    self._stack[-1][1] += gemm
        return timed


def _wrap_layers(model, clock):
    """Instance-level wrappers on every layer of ``model`` (a copy: nothing else sees them)."""
    layers = list(model.network.walk())
    for layer in list(layers):
        bn = getattr(layer, "bn", None)
        if bn is not None and bn not in layers:
            layers.append(bn)
    for layer in layers:
        name = type(layer).__name__
        for method in LAYER_METHODS:
            if callable(getattr(type(layer), method, None)):
                setattr(layer, method, clock.wrap(getattr(layer, method), f"{name}.{method}"))
        activation = getattr(layer, "activation", None)
        if activation is not None:  # the shared activation objects stay untouched: a copy per layer
            activation = copy.copy(activation)
            for method in ("forward", "backward"):
                setattr(activation, method,
                        clock.wrap(getattr(activation, method), f"{type(activation).__name__}.{method}"))
            layer.activation = activation


def op_split(model, x, y, learning_rate, steps=3):
    """``{'step_cpu_seconds': s, 'shares': {label: share of the step}}`` over ``steps`` steps.

    Shares are sorted, largest first; ``other (loss, update, glue)`` is the step's time
    outside every wrapped call.
    """
    twin = copy.deepcopy(model)
    for layer in twin.network.walk():
        for key, value in list(layer.params.items()):
            layer.params[key] = value.view(_GemmTimed)
    clock = _Clock(lambda: _GemmTimed.seconds)
    _wrap_layers(twin, clock)
    time_layer_inputs(twin)
    step = clock.wrap(twin.train_step, "other (loss, update, glue)")
    xt = _timed(x)
    saved_ops = {name: getattr(conv_module, name) for name in WINDOW_OPS if hasattr(conv_module, name)}
    saved_clock = _GemmTimed.clock
    try:
        for name in saved_ops:
            setattr(conv_module, name, clock.wrap(getattr(windows, name), name))
        _GemmTimed.clock = time.thread_time
        step(xt, y, learning_rate)  # warm-up: buffers allocated, nothing counted
        clock.totals.clear()
        start = time.thread_time()
        for _ in range(steps):
            step(xt, y, learning_rate)
        total = time.thread_time() - start
    finally:
        for name, fn in saved_ops.items():
            setattr(conv_module, name, fn)
        _GemmTimed.clock = saved_clock
    shares = {label: seconds / total for label, seconds in
              sorted(clock.totals.items(), key=lambda item: -item[1])} if total > 0 else {}
    gemm = sum(share for label, share in shares.items() if label.startswith("GEMM in "))
    return {"step_cpu_seconds": total / steps, "gemm_share": gemm, "shares": shares}


def split_lines(result, top=12, name=""):
    """Printable lines of an :func:`op_split` result: the ``top`` largest shares."""
    lines = [f"{name}: {result['step_cpu_seconds'] * 1e3:.1f} ms CPU per step, GEMM {result['gemm_share'] * 100:.1f} %"]
    for label, share in list(result["shares"].items())[:top]:
        lines.append(f"    {label:<40} {share * 100:5.1f} %")
    return lines
