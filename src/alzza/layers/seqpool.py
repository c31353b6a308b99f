"""``seqpool``: one vector per sequence from its real steps (mean, first or last step).

What an encoder classifier (BERT's first token, or the mean of the steps) puts between a
Transformer encoder and a ``full`` output layer.
"""

from __future__ import annotations

from ..backend import array_module
from ..errors import SpecError
from ..sequences import length_mask, split_sequences
from .base import BuildContext, Layer
from .registry import Option, register_layer


@register_layer("seqpool")
class SequencePool(Layer):
    """y[n] = mean_{t < ℓ_n} x[n, t] (``how: mean``), x[n, 0] (``first``) or x[n, ℓ_n − 1] (``last``).

    Shapes: x (N, T, D) with lengths ℓ (N,) → y (N, D). Backward: mean — dx[n, t] = dy[n]/ℓ_n
    on real steps; first/last — dx = dy at that step; 0 everywhere else.
    """

    OPTIONS = {
        "how": Option((str,), "mean", ("mean", "first", "last"), "mean of the real steps, or the first or last step"),
    }
    accepts_sequences = True

    def __init__(self, how: str = "mean"):
        super().__init__()
        self.check_options(how=how)
        self.how = how

    def build(self, input_shape, ctx: BuildContext):
        shape = tuple(input_shape)
        if len(shape) < 2:
            raise SpecError(self.path or self.type_name, f"'seqpool' reads a sequence (T, ...), got {input_shape!r}")
        self.input_shape = shape
        self.output_shape = shape[1:]
        return self.output_shape

    def forward(self, x, training=False):
        data, lengths = split_sequences(x)
        xp = array_module(data)
        n, t = data.shape[:2]
        self._shape, self._lengths = data.shape, lengths
        if self.how == "mean":
            mask = xp.asarray((length_mask(lengths, t, data.dtype) / lengths[:, None]).astype(data.dtype))
            self._weights = mask.reshape((n, t) + (1,) * (data.ndim - 2))
            return (data * self._weights).sum(axis=1)
        steps = xp.zeros(n, dtype=int) if self.how == "first" else xp.asarray(lengths - 1)
        self._steps = steps
        return data[xp.arange(n), steps].copy()

    def backward(self, dy):
        if not self.needs_input_grad:
            return None
        xp = array_module(dy)
        if self.how == "mean":
            return dy[:, None] * self._weights
        dx = xp.zeros(self._shape, dtype=dy.dtype)
        dx[xp.arange(len(dy)), self._steps] = dy
        return dx
