"""The book's randomness: one stream for the whole session.

The book seeds NumPy's global generator once, with 1234, and every data
set, weight and minibatch draws from it in turn, so a cell run twice gives two
different runs and ``randomize()`` reseeds from the clock. alzza has no global RNG
state: here one :class:`numpy.random.Generator`, seeded from ``alzza.book.SEED``,
hands each data set and model its own seed (``next_seed``), which keeps that order of
events — the first run of a session is reproducible, a repeat is not.
"""

from __future__ import annotations

import sys

import numpy as np

_stream: np.random.Generator | None = None
#: the SEED the stream was started from (a changed ``alzza.book.SEED`` restarts it)
_started_from: object = None


def _settings():
    return sys.modules[__package__]


def reseed(seed=None) -> None:
    """Restart the stream from ``seed`` (default: ``alzza.book.SEED``); ``None`` after
    :func:`randomize` means fresh entropy."""
    global _stream, _started_from
    seed = _settings().SEED if seed is None else seed
    _stream = np.random.default_rng(seed)
    _started_from = seed


def randomize() -> None:
    """The book's ``randomize()``: from now on, randomness no one can repeat."""
    global _stream, _started_from
    _stream = np.random.default_rng()
    _started_from = _settings().SEED  # a later change of SEED still restarts from it


def next_seed() -> int:
    """The seed of the next data set or model, drawn from the session's stream."""
    if _stream is None or _settings().SEED != _started_from:
        reseed()
    return int(_stream.integers(2**31 - 1))
