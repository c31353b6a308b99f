"""Numerically stable sigmoid, softmax and their cross-entropies on logits.

Working on logits (not probabilities) avoids log(0): the formulas below never
exponentiate a large positive number.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)) computed as ½ + ½·tanh(x/2), which cannot overflow."""
    xp = array_module(x)
    if xp.ndim(x) == 0:
        return 0.5 + 0.5 * xp.tanh(0.5 * x)
    s = xp.multiply(x, 0.5)  # the same four steps in one buffer: x/2 → tanh → ·½ → +½
    xp.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    return s


def sigmoid_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Elementwise H(z, x) = −z·log σ(x) − (1−z)·log(1−σ(x)) for logits x, targets z.

    Stable form: H = max(x, 0) − x·z + log(1 + e^(−|x|)).
    Its derivative is dH/dx = σ(x) − z.
    """
    xp = array_module(logits)
    if xp.ndim(logits) == 0:
        return xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))
    h = xp.abs(logits)  # log(1 + e^(−|x|)) built in one buffer, then + max(x, 0) − x·z
    xp.negative(h, out=h)
    xp.exp(h, out=h)
    xp.log1p(h, out=h)
    h += xp.maximum(logits, 0)
    h -= logits * targets
    return h


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """p_i = e^(x_i − m) / Σ_j e^(x_j − m), m = max_j x_j (the shift changes nothing but overflow)."""
    xp = array_module(logits)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    e = xp.exp(shifted)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray, axis: int = -1):
    """Row losses H = −Σ_i t_i · log p_i with p = softmax(x), and p itself.

    Stable form: log p_i = (x_i − m) − log Σ_j e^(x_j − m).
    With Σ_i t_i = 1 the derivative is dH/dx = p − t.
    Returns ``(loss_per_row, probabilities)``.
    """
    xp = array_module(logits)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    e = xp.exp(shifted)
    total = e.sum(axis=axis, keepdims=True)
    log_p = shifted - xp.log(total)
    loss = -(targets * log_p).sum(axis=axis)
    return loss, e / total
