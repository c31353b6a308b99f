"""Elementwise operations between a (M, C) matrix and a per-channel vector (C,), fast for small C.

``np.multiply(a2, v)`` with a2 (M, C) and v (C,) runs NumPy's inner loop once per row,
over only C floats: with the 6–64 channels of the book's image layers the loop overhead
dominates. The same numbers come out of a wider view: for r dividing M, a2 is also the
(M/r, r·C) matrix whose rows hold r rows of a2 side by side, and the vector repeated r
times lines up with them::

    a2.reshape(M/r, r·C)  ∘  tile(v, r)   ==   (a2 ∘ v).reshape(M/r, r·C)

Measured (``python benchmarks/ab_round3.py channelwise``: 1 thread, CPU time, (M, C) · (C,)
into a buffer, loaded machine): (65536, 16) 0.58 → 0.32 ms, (16384, 16) 0.145 → 0.086,
(589824, 6) 3.8 → 1.6; (4096, 32) and (1024, 64) 1.01–1.29 (no gain), hence WIDE_FROM.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module

#: rows are widened to at most this many floats (not tuned: 2 KB rows already leave little loop overhead)
WIDE_ROW = 512

#: below this many elements the plain broadcast is as fast (the tile and views cost a few µs)
SMALL = 1 << 16
#: rows of this many channels or more are left as they are (no gain at 32, a loss at 64)
WIDE_FROM = 32

#: (M, C) → fold r: host integers only (the CPU path's; device arrays never reach it)
_FOLDS: dict = {}


def row_fold(m: int, c: int) -> int:
    """The largest r ≤ WIDE_ROW / C that divides M (1 when C alone fills a wide row)."""
    key = (m, c)
    r = _FOLDS.get(key)
    if r is None:
        r = max(1, min(m, WIDE_ROW // max(c, 1)))
        while m % r:
            r -= 1
        if len(_FOLDS) > 256:
            _FOLDS.clear()
        _FOLDS[key] = r
    return r


def per_channel(ufunc, a2: np.ndarray, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``ufunc(a2, v)`` for a2 (M, C) and v (C,), into ``out`` (M, C) when given (may be a2).

    ``ufunc`` is the array module's (``xp.add``, ``xp.multiply``): on a device the plain
    broadcast is used (the widening is a CPU cure).

    Same values as the broadcast ``ufunc(a2, v, out=out)``; computed on the widened view
    when a2 and out are C-contiguous, C < WIDE_FROM and a2 has at least SMALL elements,
    else by plain broadcasting.
    """
    m, c = a2.shape
    if a2.size < SMALL or c >= WIDE_FROM:  # first, cheaply: most small arrays stop here
        return ufunc(a2, v, out=out)
    if array_module(a2) is not np:  # the widening cures NumPy's per-row loop overhead: a CPU matter
        return ufunc(a2, v, out=out)
    if out is None:
        out = np.empty_like(a2, dtype=np.result_type(a2.dtype, v.dtype))  # (keeps an ndarray subclass, as a ufunc does)
    r = row_fold(m, c)
    if r == 1 or not (a2.flags.c_contiguous and out.flags.c_contiguous):
        return ufunc(a2, v, out=out)
    ufunc(a2.reshape(m // r, r * c), np.tile(v, r), out=out.reshape(m // r, r * c))
    return out
