"""The textbook forms of the fast layers and of Adam: plain loops and einsums, no buffers.

The layers in :mod:`alzza.layers` are written for speed (im2col, fused paths, reused
buffers, tiled pooling); these functions compute the same things the way a textbook
writes them, one output cell or one array at a time, in float64. They are the
definitions the tests hold the fast code to, and the place to read what a layer does
before reading how it is done fast. Images are (N, H, W, C), kernels (KH, KW, C, F).

==========================  ============================================  =====================
reference                   fast form                                     DLFS / DeZero name
==========================  ============================================  =====================
:func:`conv2d`              :class:`alzza.layers.conv.Conv2D`             Convolution / conv2d
:func:`max_pool`            :class:`alzza.layers.pool.MaxPool`            Pooling / pooling
:func:`max_pool_backward`   ``MaxPool.backward``                          Pooling.backward
:func:`avg_pool`            :class:`alzza.layers.pool.AvgPool`            — / average_pooling
:func:`batch_norm`          :class:`alzza.layers.norm.BatchNorm`          BatchNormalization
:func:`adam_step`           :class:`alzza.training.optimizers.Adam`       Adam
==========================  ============================================  =====================
"""

from __future__ import annotations

import numpy as np


def pad_image(x: np.ndarray, pads) -> np.ndarray:
    """x (N, H, W, C) with ``pads`` = (top, bottom, left, right) rows/columns of zeros
    added; a negative pad (the book's VALID rule can give one) crops instead."""
    n, h, w, c = x.shape
    pt, pb, pl, pr = pads
    x = x[:, max(-pt, 0):h - max(-pb, 0), max(-pl, 0):w - max(-pr, 0)]
    pt, pb, pl, pr = (max(p, 0) for p in pads)
    h, w = x.shape[1:3]
    out = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=np.float64)
    out[:, pt:pt + h, pl:pl + w] = x
    return out


def conv2d(x, k, b, stride=(1, 1), pads=(0, 0, 0, 0)) -> np.ndarray:
    """The correlation a convolution layer computes, one output cell at a time:

        y[n, i, j, f] = Σ_{di, dj, c} xp[n, i·sh + di, j·sw + dj, c] · k[di, dj, c, f] + b[f]

    with xp the padded input. x (N, H, W, C), k (KH, KW, C, F), b (F,) → y (N, OH, OW, F).
    """
    xp = pad_image(np.asarray(x, dtype=np.float64), pads)
    kh, kw, _, f = k.shape
    oh = (xp.shape[1] - kh) // stride[0] + 1
    ow = (xp.shape[2] - kw) // stride[1] + 1
    y = np.zeros((xp.shape[0], oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            y[:, i, j] = np.einsum("nijc,ijcf->nf", window, k) + b
    return y


def _windows(x, ksize, stride):
    """(i, j, window) for every output cell of a VALID window walk over x (N, H, W, C)."""
    kh, kw = ksize
    oh = (x.shape[1] - kh) // stride[0] + 1
    ow = (x.shape[2] - kw) // stride[1] + 1
    for i in range(oh):
        for j in range(ow):
            yield i, j, x[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]


def max_pool(x, ksize, stride=None) -> np.ndarray:
    """y[n, i, j, c] = max over the window at (i·sh, j·sw) of x[n, ·, ·, c] (no padding)."""
    stride = stride or ksize
    oh = (x.shape[1] - ksize[0]) // stride[0] + 1
    ow = (x.shape[2] - ksize[1]) // stride[1] + 1
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i, j, window in _windows(x, ksize, stride):
        y[:, i, j] = window.max(axis=(1, 2))
    return y


def max_pool_backward(x, dy, ksize, stride=None) -> np.ndarray:
    """dx: each window's dy goes to the window's FIRST maximum (row-major), all else 0."""
    stride = stride or ksize
    dx = np.zeros(x.shape)
    for i, j, window in _windows(x, ksize, stride):
        for n in range(x.shape[0]):
            for c in range(x.shape[3]):
                di, dj = np.unravel_index(np.argmax(window[n, :, :, c]), ksize)
                dx[n, i * stride[0] + di, j * stride[1] + dj, c] += dy[n, i, j, c]
    return dx


def avg_pool(x, ksize, stride=None) -> np.ndarray:
    """y[n, i, j, c] = mean over the window at (i·sh, j·sw) of x[n, ·, ·, c] (no padding)."""
    stride = stride or ksize
    oh = (x.shape[1] - ksize[0]) // stride[0] + 1
    ow = (x.shape[2] - ksize[1]) // stride[1] + 1
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i, j, window in _windows(x, ksize, stride):
        y[:, i, j] = window.mean(axis=(1, 2))
    return y


def batch_norm(x, gamma, beta, epsilon, *, mean=None, var=None) -> np.ndarray:
    """Batch normalisation per channel (the last axis):

        x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β

    μ, σ² are the batch's statistics over every axis but the last (training), or the
    given running ``mean`` and ``var`` (inference). The running statistics move by
    ``running ← (1 − r)·running + r·batch`` (r = exp_ratio) after a training batch.
    """
    x = np.asarray(x, dtype=np.float64)
    axes = tuple(range(x.ndim - 1))
    mu = x.mean(axis=axes) if mean is None else mean
    sigma2 = x.var(axis=axes) if var is None else var
    return (x - mu) / np.sqrt(sigma2 + epsilon) * gamma + beta


def adam_step(w, g, m, v, t, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """One Adam update of one array (Kingma & Ba, 2015); returns (w, m, v), new arrays:

        m ← β₁m + (1−β₁)g        v ← β₂v + (1−β₂)g²
        m̂ = m / (1 − β₁ᵗ)        v̂ = v / (1 − β₂ᵗ)
        w ← w − η·m̂ / (√v̂ + ε)

    ``t`` counts this array's updates from 1; ``g`` already includes any weight decay.
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


__all__ = ["adam_step", "avg_pool", "batch_norm", "conv2d", "max_pool", "max_pool_backward", "pad_image"]
