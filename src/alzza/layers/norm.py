"""Batch normalisation (``batch_normal``)."""

from __future__ import annotations

import numpy as np

from ..backend import array_module

from ..errors import SpecError
from ..ops.channelwise import per_channel
from ..ops.windows import channel_sum
from ..options import flag, positive_float, probability
from .base import BuildContext, Layer
from .registry import register_layer


@register_layer("batch_normal")
class BatchNorm(Layer):
    """Normalise each channel (the last axis) over all other axes, then scale and shift.

    Reference: :func:`alzza.reference.batch_norm`.

    On images (N, H, W, C) the statistics are per channel, over N·H·W values — not per
    activation. With x reshaped to (M, C):

    Training (batch statistics, biased variance)::

        μ = (1/M)·Σ x            σ² = (1/M)·Σ (x − μ)²        σ = √(σ² + ε)
        x̂ = (x − μ) / σ          y = γ·x̂ + β   (y = x̂ when rescale is false)

    Backward (exact, through μ and σ), with dx̂ = γ·dy::

        dγ = Σ dy·x̂              dβ = Σ dy
        dx = (1/(M·σ))·(M·dx̂ − Σ dx̂ − x̂·Σ(dx̂·x̂))

    Running statistics, updated in training only (start μ_r = 0, σ²_r = 1)::

        μ_r += r·(μ − μ_r)       σ²_r += r·(σ² − σ²_r)          r = exp_ratio

    Inference: y = γ·(x − μ_r)/√(σ²_r + ε) + β, folded into y = a·x + b per channel.
    γ starts at 1 and β at 0; neither is decayed. Parameters: 2·C with rescale, else 0.
    """

    OPTIONS = {
        "rescale": flag("learn a scale γ and shift β per channel", True),
        "epsilon": positive_float("added to the variance", 0.001),
        "exp_ratio": probability("update ratio of the running statistics", 0.001),
    }

    def __init__(self, rescale: bool = True, epsilon: float = 0.001, exp_ratio: float = 0.001):
        super().__init__()
        self.rescale = bool(rescale)
        self.epsilon = float(epsilon)
        self.exp_ratio = float(exp_ratio)

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = tuple(input_shape)
        if not self.input_shape:
            raise SpecError(self.path, "'batch_normal' needs an input with a channel (last) axis")
        c = self.input_shape[-1]
        if self.rescale:
            self.params["gamma"] = np.ones(c, dtype=ctx.dtype)
            self.params["beta"] = np.zeros(c, dtype=ctx.dtype)
        # updated in place so that saved / loaded arrays keep their identity
        self.state["mean"] = np.zeros(c, dtype=ctx.dtype)
        self.state["var"] = np.ones(c, dtype=ctx.dtype)
        self.output_shape = self.input_shape
        return self.output_shape

    def forward(self, x, training=False):
        xp = array_module(x)
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        if not training:
            return self.infer(x2, xp.empty_like(x2)).reshape(shape)
        if self.rescale:
            xhat = self.normalize(x2, xp.empty_like(x2))
            y = per_channel(xp.multiply, xhat, self.params["gamma"])
            per_channel(xp.add, y, self.params["beta"], out=y)
        else:
            y = self.normalize(x2, xp.empty_like(x2))  # callers never modify a layer's output in place
        return y.reshape(shape)

    def to_device(self, device):
        """The scratch buffer belongs to the old device (the running statistics, in
        ``state``, are moved by the model with the parameters)."""
        self._scratch_buffer = None

    def _scratch(self, like):
        """A reused (M, C) float buffer for the products that are only summed (x̂², dy·x̂)."""
        xp = array_module(like)
        buf = getattr(self, "_scratch_buffer", None)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._scratch_buffer = xp.empty_like(like)
        return buf

    def infer(self, x2, out):
        """Inference on the (M, C) matrix ``x2``: y = a·x + b per channel, written into ``out`` (may be ``x2``)."""
        xp = array_module(x2)
        scale = 1.0 / xp.sqrt(self.state["var"] + x2.dtype.type(self.epsilon))
        shift = -self.state["mean"] * scale
        if self.rescale:
            scale = scale * self.params["gamma"]
            shift = shift * self.params["gamma"] + self.params["beta"]
        y = per_channel(xp.multiply, x2, scale, out=out)
        return per_channel(xp.add, y, shift, out=y)

    def normalize(self, x2, out):
        """Training: x̂ of the (M, C) matrix ``x2`` written into ``out`` (may be ``x2`` itself).

        Batch statistics, running-statistics update and the cache for :meth:`backward`.
        Nothing of the input's size is allocated: the squares are summed from a reused
        buffer, and ``out`` is the caller's.
        """
        xp = array_module(x2)
        inv_m = x2.dtype.type(1.0 / x2.shape[0])
        mean = channel_sum(x2) * inv_m
        xc = per_channel(xp.subtract, x2, mean, out=out)
        var = channel_sum(xp.multiply(xc, xc, out=self._scratch(xc))) * inv_m
        inv_std = 1.0 / xp.sqrt(var + x2.dtype.type(self.epsilon))
        xhat = per_channel(xp.multiply, xc, inv_std, out=xc)
        r = x2.dtype.type(self.exp_ratio)
        self.state["mean"] += r * (mean - self.state["mean"])
        self.state["var"] += r * (var - self.state["var"])
        self._xhat, self._inv_std = xhat, inv_std
        return xhat

    def backward(self, dy, mask=None):
        """dL/dx; with ``mask`` (a boolean array of dy's shape) dL/dx ⊙ mask — the ReLU
        that ran just before this layer, fused (see ``Conv2D``)."""
        xp = array_module(dy)
        shape = dy.shape
        dy2 = dy.reshape(-1, shape[-1])
        xhat = self._xhat
        if self.rescale:
            self.grads["gamma"] = channel_sum(xp.multiply(dy2, xhat, out=self._scratch(dy2)))
            self.grads["beta"] = channel_sum(dy2)
            dxhat = per_channel(xp.multiply, dy2, self.params["gamma"])
        else:
            dxhat = dy2
        if not self.needs_input_grad:
            return None
        scratch = self._scratch(dy2)
        inv_m = dy.dtype.type(1.0 / dy2.shape[0])
        mean_d = channel_sum(dxhat) * inv_m
        mean_dx = channel_sum(xp.multiply(dxhat, xhat, out=scratch)) * inv_m
        # dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / σ  (the formula above divided through by M),
        # as dx̂·(1/σ) − (x̂·(mean(dx̂·x̂)/σ) + mean(dx̂)/σ): three per-channel passes and one subtraction
        inv_std = self._inv_std
        offset = per_channel(xp.multiply, xhat, mean_dx * inv_std, out=scratch)
        per_channel(xp.add, offset, mean_d * inv_std, out=offset)
        dx = per_channel(xp.multiply, dxhat, inv_std, out=dxhat if dxhat is not dy2 else None)
        xp.subtract(dx, offset, out=dx)
        if mask is not None:
            xp.multiply(dx, mask.reshape(dx.shape), out=dx)
        return dx.reshape(shape)
