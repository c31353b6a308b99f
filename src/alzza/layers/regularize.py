"""Regularisers that act only while training: ``dropout`` and ``noise``.

Both are the identity at inference (``training=False``). Their randomness comes from
the generator of the :class:`~alzza.layers.base.BuildContext` they were built with
(kept on the layer as ``rng``), never from NumPy's global state, so a seeded model
reproduces its training run exactly. On a device the random arrays come from the
device's generator (``array_rng``, set by ``Model.to``; seeded from the model's seed),
while yes/no decisions (does this step add noise?) stay with the host ``rng``.
"""

from __future__ import annotations

import numpy as np
from ..options import non_negative_float, one_of, probability

from ..backend import array_module

from .base import BuildContext, Layer
from .registry import Option, register_layer


@register_layer("dropout")
class Dropout(Layer):
    """Inverted dropout: y = x ⊙ m, m = [u < p] / p with u ~ U(0, 1), p = ``keep_prob``.

    Each unit is kept with probability p and scaled by 1/p, so E[y] = x and inference
    needs no rescaling (y = x). The mask is drawn anew on every training forward.

    Backward (the mask is a constant):  dx = dy ⊙ m.

    For tests, ``fixed_keep`` may be set to a boolean array (True = keep) of the input's
    shape (or broadcastable to it); training forwards then use m = fixed_keep / p
    instead of drawing, which makes the layer deterministic for gradient checks.
    """

    OPTIONS = {
        "keep_prob": probability("probability of keeping a unit", 1.0, low_open=True),
    }

    def __init__(self, keep_prob: float = 1.0):
        super().__init__()
        self.keep_prob = float(keep_prob)
        self.rng: np.random.Generator | None = None
        #: the device's generator for the mask (None: draw it from ``rng``, on the host)
        self.array_rng = None
        #: a fixed keep pattern (bool array, True = keep) used instead of random draws
        self.fixed_keep: np.ndarray | None = None
        self._mask = None

    def build(self, input_shape, ctx: BuildContext):
        self.rng = ctx.rng
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        xp = array_module(x)
        if not training or (self.keep_prob >= 1.0 and self.fixed_keep is None):
            self._mask = None
            return x
        if self.fixed_keep is not None:
            keep = xp.broadcast_to(xp.asarray(self.fixed_keep, dtype=bool), x.shape)
        else:
            rng = self.array_rng or self.rng or np.random.default_rng()
            keep = rng.random(x.shape, dtype=x.dtype) < self.keep_prob
        mask = keep.astype(x.dtype)
        mask *= x.dtype.type(1.0 / self.keep_prob)
        self._mask = mask
        return x * mask

    def backward(self, dy):
        if not self.needs_input_grad:
            return None
        return dy if self._mask is None else dy * self._mask


@register_layer("noise")
class Noise(Layer):
    """Additive Gaussian noise while training: y = x + ε, ε ~ N(mean, std²).

    On each training forward the layer decides with its generator whether to add noise
    at all: with probability ``ratio`` it does (ratio 1 = every step, 0 = never); at
    inference y = x. The noise does not depend on x, so backward is dx = dy.
    Only ``type='normal'`` exists (the book's only kind).
    """

    OPTIONS = {
        "type": one_of(("normal",), "noise distribution (only 'normal')", "normal"),
        "mean": Option((float,), 0.0, doc="mean of the noise"),
        "std": non_negative_float("standard deviation of the noise", 1.0),
        "ratio": probability("share of training steps that add noise", 1.0),
    }

    def __init__(self, type: str = "normal", mean: float = 0.0, std: float = 1.0, ratio: float = 1.0):
        super().__init__()
        self.type = type
        self.mean = float(mean)
        self.std = float(std)
        self.ratio = float(ratio)
        self.rng: np.random.Generator | None = None
        #: the device's generator for the noise array (None: ``rng``, on the host)
        self.array_rng = None
        #: whether the last forward added noise (for reports and tests)
        self.applied = False

    def build(self, input_shape, ctx: BuildContext):
        self.rng = ctx.rng
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        self.applied = False
        if not training or self.ratio <= 0.0:
            return x
        rng = self.rng if self.rng is not None else np.random.default_rng()
        if self.ratio < 1.0 and rng.random() >= self.ratio:
            return x
        self.applied = True
        noise = (self.array_rng or rng).standard_normal(x.shape, dtype=x.dtype)
        if self.std != 1.0:
            noise *= x.dtype.type(self.std)
        if self.mean != 0.0:
            noise += x.dtype.type(self.mean)
        noise += x
        return noise

    def backward(self, dy):
        return dy if self.needs_input_grad else None
