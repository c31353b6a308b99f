"""Positional encodings (``posenc``): sinusoidal (Vaswani et al. 2017 §3.5) or learned.

Attention alone does not see the order of its steps; adding a vector that depends on the
position gives it that. (Rotary positions, RoFormer, are an option of ``attention``.)
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..errors import AlzzaError, SpecError
from ..sequences import SeqShape, Sequences, length_mask, seq_data, split_sequences
from .base import BuildContext, Layer
from .registry import Option, register_layer


def sinusoid_table(steps: int, width: int, dtype=np.float64) -> np.ndarray:
    """(steps, width): PE(p, 2i) = sin(p / 10000^(2i/D)), PE(p, 2i+1) = cos(p / 10000^(2i/D))."""
    positions = np.arange(steps, dtype=np.float64)[:, None]
    rates = 10000.0 ** (-np.arange(0, width, 2, dtype=np.float64) / width)       # 1 / 10000^(2i/D)
    table = np.zeros((steps, width))
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates[: width // 2])
    return table.astype(dtype)


@register_layer("posenc")
class PositionalEncoding(Layer):
    """y[n, t] = x[n, t] + P[offset + t] on real steps t < ℓ_n; 0 at padded steps.

    Shapes: x, y (N, T, D); P (max_len, D). ``kind: sinusoidal`` — P fixed (§3.5, see
    :func:`sinusoid_table`; no parameters); ``kind: learned`` — P a parameter ``table``
    (max_len, D), starting N(0, 0.02²). ``max_len`` defaults to the input's T. ``offset``
    (an attribute, 0 in training) is the position of step 0, for incremental decoding.

    Backward: dx = dy (real steps; 0 at padding); learned: dP[offset + t] = Σ_n dy[n, t]
    over real steps.
    """

    OPTIONS = {
        "kind": Option((str,), "sinusoidal", ("sinusoidal", "learned"), "fixed sines and cosines, or a learned table"),
        "max_len": Option((int,), None, doc="rows of the table: the longest sequence (default: the input's T)",
                          check=lambda v: v > 0, expects="a positive integer"),
    }
    accepts_sequences = True

    def __init__(self, kind: str = "sinusoidal", max_len: int | None = None):
        super().__init__()
        self.check_options(kind=kind, **({} if max_len is None else {"max_len": max_len}))
        self.kind = kind
        self.max_len = None if max_len is None else int(max_len)
        self.offset = 0
        #: while decoding (alzza.layers.attention.start_decoding) each forward advances offset
        self.decoding = False

    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        shape = tuple(input_shape)
        if len(shape) != 2:
            raise SpecError(where, f"'posenc' adds a position vector to each step of a sequence (T, D); its input "
                                   f"is {input_shape!r}")
        steps, width = int(shape[0]), int(shape[1])
        rows = self.max_len if self.max_len is not None else steps
        if steps > rows:
            raise SpecError(where, f"the input has {steps} steps, longer than the positional table of max_len "
                                   f"{rows}; raise max_len to at least {steps}")
        self.rows, self.width = rows, width
        if self.kind == "learned":
            self.params["table"] = (ctx.rng.standard_normal((rows, width)) * 0.02).astype(ctx.dtype)
        else:
            self._fixed = sinusoid_table(rows, width, ctx.dtype)
        self.input_shape = self.output_shape = SeqShape(shape)
        return self.output_shape

    def table(self):
        """P (max_len, D): the parameter, or the fixed sinusoids (on x's device)."""
        return self.params["table"] if self.kind == "learned" else self._fixed

    def forward(self, x, training=False):
        data, lengths = split_sequences(x)
        n, t, d = data.shape
        if self.offset + t > self.rows:
            raise AlzzaError(f"{self.path or self.type_name}: positions {self.offset}..{self.offset + t - 1} run "
                             f"past the positional table of max_len {self.rows}; build it with a larger max_len")
        xp = array_module(data)
        table = self.table()
        if xp is not np and self.kind != "learned":
            table = xp.asarray(table)
        y = data + table[self.offset:self.offset + t].astype(data.dtype, copy=False)
        real = length_mask(lengths, t)
        if not real.all():
            y = xp.where(xp.asarray(real)[:, :, None], y, y.dtype.type(0))
        self._real = real
        if self.decoding:
            self.offset += t
        return Sequences(y, lengths)

    def backward(self, dy):
        dy = seq_data(dy)
        xp = array_module(dy)
        if not self._real.all():
            dy = dy * xp.asarray(self._real[:, :, None].astype(dy.dtype))
        if self.kind == "learned":
            grad = xp.zeros_like(self.params["table"])
            grad[self.offset:self.offset + dy.shape[1]] = dy.sum(axis=0)
            self.grads["table"] = grad
        if not self.needs_input_grad:
            return None
        return dy.copy() if self._real.all() else dy
