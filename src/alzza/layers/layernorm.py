"""Layer normalisation (``layer_normal``), Ba, Kiros & Hinton 2016."""

from __future__ import annotations

import numpy as np

from ..backend import array_module

from ..errors import SpecError
from ..ops.windows import channel_sum
from ..sequences import SeqShape, Sequences, is_sequence_shape, length_mask
from ..options import flag, positive_float
from .base import BuildContext, Layer
from .registry import register_layer


@register_layer("layer_normal")
class LayerNorm(Layer):
    """Normalise every example (every step of a sequence) over its last axis, then scale and shift.

    Where ``batch_normal`` takes its statistics over the batch for each channel, layer
    normalisation takes them over the D features of one row, so it computes the same
    thing in training and inference, for any batch size, and per time step. With the
    input reshaped to rows x (M, D) — M = N, or N·H·W for images, or the real steps of
    a batch of sequences — and every sum over the D features of a row::

        μ = (1/D)·Σ_d x_d          σ² = (1/D)·Σ_d (x_d − μ)²        s = √(σ² + ε)
        x̂ = (x − μ) / s            y = γ ⊙ x̂ + β    (γ, β (D,); y = x̂ when rescale is false)

    Backward, with dx̂ = γ ⊙ dy (all (M, D); means over the row)::

        dγ = Σ_rows dy ⊙ x̂        dβ = Σ_rows dy
        dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / s

    (the last line is dx̂·∂x̂/∂x through μ and s: ∂μ/∂x_d = 1/D, ∂s/∂x_d = x̂_d/(D·s)).

    Sequences: only the real steps are normalised; padded steps of the output are zero
    and receive no gradient. γ starts at 1 and β at 0; neither is decayed. torch's twin
    is ``torch.nn.LayerNorm(D, eps)`` (weight = γ, bias = β); ε defaults to torch's 1e-5.
    """

    OPTIONS = {
        "rescale": flag("learn a gain γ and bias β per feature", True),
        "epsilon": positive_float("added to the variance", 1e-5),
    }
    #: works on single examples and on every step of a sequence alike
    accepts_sequences = True

    def __init__(self, rescale: bool = True, epsilon: float = 1e-5):
        super().__init__()
        self.rescale = bool(rescale)
        self.epsilon = float(epsilon)

    def build(self, input_shape, ctx: BuildContext):
        shape = tuple(input_shape)
        if not shape or (is_sequence_shape(input_shape) and len(shape) < 2):
            raise SpecError(self.path or self.type_name,
                            f"'layer_normal' normalises over the last axis, but its input {input_shape!r} has none")
        features = shape[-1]
        if self.rescale:
            self.params["gamma"] = np.ones(features, dtype=ctx.dtype)
            self.params["beta"] = np.zeros(features, dtype=ctx.dtype)
        self.input_shape = self.output_shape = SeqShape(shape) if is_sequence_shape(input_shape) else shape
        return self.output_shape

    def forward(self, x, training=False):
        xp = array_module(x)
        lengths = x.lengths if isinstance(x, Sequences) else None
        data = x.data if isinstance(x, Sequences) else x
        shape = data.shape
        rows = data.reshape(-1, shape[-1])
        real = None   # the rows of real steps, when some steps are padding
        if lengths is not None and len(lengths) and int(lengths.min()) < shape[1]:
            per_step = rows.shape[0] // (shape[0] * shape[1])
            # which rows are real: host bookkeeping from the lengths, moved to the device once for the gather
            real = xp.asarray(np.flatnonzero(np.repeat(length_mask(lengths, shape[1]).ravel(), per_step)))
            rows = rows[real]
        mean = rows.mean(axis=1, keepdims=True)
        centred = rows - mean
        variance = xp.mean(centred * centred, axis=1, keepdims=True)
        inv_std = 1.0 / xp.sqrt(variance + data.dtype.type(self.epsilon))
        xhat = xp.multiply(centred, inv_std, out=centred)
        self._xhat, self._inv_std, self._real, self._shape = xhat, inv_std, real, shape
        if self.rescale:
            y = xhat * self.params["gamma"]
            y += self.params["beta"]
        else:
            y = xhat.copy()   # xhat is kept for backward; the caller owns what we return
        out = self._scatter(y, shape)
        return Sequences(out, lengths) if lengths is not None else out

    def backward(self, dy):
        xp = array_module(dy)
        dy = dy.data if isinstance(dy, Sequences) else dy
        shape, real, xhat = self._shape, self._real, self._xhat
        rows = dy.reshape(-1, shape[-1])
        if real is not None:
            rows = rows[real]
        if self.rescale:
            self.grads["gamma"] = channel_sum(rows * xhat)
            self.grads["beta"] = channel_sum(rows)
            dxhat = rows * self.params["gamma"]
        else:
            dxhat = rows
        if not self.needs_input_grad:
            return None
        # dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / s, means over each row
        dx = xhat * xp.mean(dxhat * xhat, axis=1, keepdims=True)
        xp.subtract(dxhat, dx, out=dx)
        dx -= xp.mean(dxhat, axis=1, keepdims=True)
        dx *= self._inv_std
        return self._scatter(dx, shape)

    def _scatter(self, rows, shape):
        """(M, D) rows back into ``shape``, zeros at the padded steps."""
        xp = array_module(rows)
        if self._real is None:
            return rows.reshape(shape)
        out = xp.zeros((int(np.prod(shape[:-1])), shape[-1]), dtype=rows.dtype)
        out[self._real] = rows
        return out.reshape(shape)
