"""The fully connected layer (``full``; a bare integer n in a spec is ``full`` of width n)."""

from __future__ import annotations

import numpy as np

from ..backend import array_module

from ..ops.activations import ACTIVATIONS, get_activation
from .base import BuildContext, Layer, flat_size
from ..options import one_of, positive_int
from .registry import register_layer


@register_layer("full")
class Dense(Layer):
    """y = f(x·W + b), with x flattened to (N, F).

    Shapes: x (N, F) · W (F, H) + b (H,) → z (N, H); y = f(z).

    Backward, with dz = dy ⊙ f'(z) (f' written with y, or with z for gelu):
        dW = xᵀ · dz        (F, H)
        db = Σ_n dz         (H,)
        dx = dz · Wᵀ        (N, F), reshaped to the input's shape
    """

    OPTIONS = {
        "width": positive_int("number of outputs"),
        "actfunc": one_of(ACTIVATIONS, "activation function", "relu"),
    }
    decayed = ("w",)

    def __init__(self, width: int, actfunc: str = "relu"):
        super().__init__()
        self.width = int(width)
        self.actfunc = actfunc
        self.activation = get_activation(actfunc)

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = tuple(input_shape)
        fan_in = flat_size(input_shape)
        self.params["w"] = ctx.init.weights((fan_in, self.width), fan_in, self.width, ctx.rng, ctx.dtype)
        self.params["b"] = np.zeros(self.width, dtype=ctx.dtype)
        self.output_shape = (self.width,)
        return self.output_shape

    def forward(self, x, training=False):
        x2 = x if x.ndim == 2 else x.reshape(len(x), -1)  # (N, F) already: skip the reshape call
        z = x2 @ self.params["w"]
        z += self.params["b"]
        y = self.activation.forward(z)
        self._x, self._y = x2, y
        self._z = z if self.activation.needs_input else None   # gelu's derivative needs z
        return y

    def backward(self, dy):
        xp = array_module(dy)
        dz = self.activation.backward(dy, self._y, self._z)
        self.grads["w"] = self._x.T @ dz
        self.grads["b"] = xp.add.reduce(dz, axis=0)  # Σ_n dz, without ndarray.sum's Python wrapper
        if not self.needs_input_grad:
            return None
        dx = dz @ self.params["w"].T
        return dx if len(self.input_shape) == 1 else dx.reshape((len(dz),) + self.input_shape)
