"""Root-mean-square layer normalisation (``rms_normal``), Zhang & Sennrich 2019."""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..errors import SpecError
from ..sequences import SeqShape, Sequences, is_sequence_shape, length_mask, seq_data
from .base import BuildContext, Layer
from .registry import Option, register_layer


@register_layer("rms_normal")
class RMSNorm(Layer):
    """Rescale every row (every step of a sequence) by its root mean square, then by a gain.

    Layer norm without the centring: with rows x (M, D) — the real steps of a batch of
    sequences, or the examples — and means over the D features of a row::

        r = √(mean(x²) + ε)        x̂ = x / r        y = g ⊙ x̂     (g (D,); y = x̂ without rescale)

    Backward, with dx̂ = g ⊙ dy (all (M, D))::

        dg = Σ_rows dy ⊙ x̂
        dx = (dx̂ − x̂ ⊙ mean(dx̂ ⊙ x̂)) / r

    (∂r/∂x_d = x_d/(D·r)). Padded steps of the output are zero and get no gradient. g
    starts at 1 and is not decayed. torch's twin is ``torch.nn.RMSNorm(D, eps)`` (weight = g).
    """

    OPTIONS = {
        "rescale": Option((bool,), True, doc="learn a gain g per feature"),
        "epsilon": Option((float,), 1e-6, doc="added to the mean square", check=lambda v: v > 0,
                          expects="a positive number"),
    }
    accepts_sequences = True

    def __init__(self, rescale: bool = True, epsilon: float = 1e-6):
        super().__init__()
        self.check_options(rescale=rescale, epsilon=epsilon)
        self.rescale, self.epsilon = bool(rescale), float(epsilon)

    def build(self, input_shape, ctx: BuildContext):
        shape = tuple(input_shape)
        if not shape:
            raise SpecError(self.path or self.type_name, "'rms_normal' normalises over the last axis, but its input "
                                                         "has none")
        if self.rescale:
            self.params["gain"] = np.ones(shape[-1], dtype=ctx.dtype)
        self.input_shape = self.output_shape = SeqShape(shape) if is_sequence_shape(input_shape) else shape
        return self.output_shape

    def forward(self, x, training=False):
        lengths = x.lengths if isinstance(x, Sequences) else None
        data = seq_data(x)
        xp = array_module(data)
        mask = None
        if lengths is not None and len(lengths) and int(lengths.min()) < data.shape[1]:
            mask = xp.asarray(length_mask(lengths, data.shape[1], data.dtype))
            mask = mask.reshape(mask.shape + (1,) * (data.ndim - 2))
            data = xp.where(mask > 0, data, data.dtype.type(0))   # padding (even a NaN) never reaches a sum
        mean_square = xp.mean(data * data, axis=-1, keepdims=True)
        inv_rms = 1.0 / xp.sqrt(mean_square + data.dtype.type(self.epsilon))
        xhat = data * inv_rms
        y = xhat * self.params["gain"] if self.rescale else xhat.copy()
        self._xhat, self._inv_rms, self._mask = xhat, inv_rms, mask
        return Sequences(y, lengths) if lengths is not None else y

    def backward(self, dy):
        dy = seq_data(dy)
        xp = array_module(dy)
        if self._mask is not None:
            dy = dy * self._mask
        xhat = self._xhat
        axes = tuple(range(dy.ndim - 1))
        if self.rescale:
            self.grads["gain"] = xp.sum(dy * xhat, axis=axes)
            dxhat = dy * self.params["gain"]
        else:
            dxhat = dy
        if not self.needs_input_grad:
            return None
        dx = dxhat - xhat * xp.mean(dxhat * xhat, axis=-1, keepdims=True)
        dx *= self._inv_rms
        return dx
