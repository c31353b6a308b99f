"""The default dtype and the seeded random generator.

alzza computes in float32 unless float64 is asked for (gradient checks do). All
randomness flows from one ``numpy.random.Generator`` created by :func:`make_rng` and
passed down; nothing touches NumPy's global random state. Layer math takes its array
module from its input (:func:`array_module`), so it runs on whichever device the model's
arrays live on (:mod:`alzza.device`).
"""

from __future__ import annotations

import numpy as np

DEFAULT_DTYPE = np.float32
_ALLOWED = {"float32": np.float32, "float64": np.float64}


def resolve_dtype(dtype=None) -> np.dtype:
    """Turn ``None``/'float32'/'float64'/a NumPy float type into a NumPy dtype."""
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    if isinstance(dtype, str):
        if dtype not in _ALLOWED:
            from .errors import SpecError

            raise SpecError("dtype", f"unknown dtype {dtype!r}; use 'float32' or 'float64'")
        return np.dtype(_ALLOWED[dtype])
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        from .errors import SpecError

        raise SpecError("dtype", f"unsupported dtype {dt}; use float32 or float64")
    return dt


def make_rng(seed=None) -> np.random.Generator:
    """The one seeded generator of a run (``seed=None`` draws fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def array_module(*arrays):
    """The array module that computes on ``arrays``: NumPy for host arrays, CuPy for CuPy
    arrays, the stand-in device's namespace (:mod:`alzza.standin`) for its arrays.

    Layer math asks this of its input (``xp = array_module(x)``) instead of naming NumPy,
    so the same forward and backward run on whatever device the model's arrays live on
    (DeZero's ``get_array_module``). A :class:`~alzza.sequences.Sequences` answers for its
    data. Host bookkeeping (lengths, counts, indices) stays NumPy.
    """
    for a in arrays:
        kind = type(a)
        if kind is np.ndarray:
            continue
        module = kind.__module__
        if module == "alzza.sequences":
            a = a.data
            module = type(a).__module__
        if module.startswith("cupy"):
            import cupy

            return cupy
        if module == "alzza.standin":
            from .standin import xp

            return xp
    return np
