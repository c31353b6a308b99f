"""Variable-length sequences: padded data with the lengths carried beside it.

A batch of sequences is a :class:`Sequences`: ``data`` of shape (N, T, *features),
batch-major, padded to the longest T, and ``lengths`` (N,) int64 with 1 ≤ length ≤ T.
Lengths are never written into the data tensor; steps t ≥ length of an example are
padding, and nothing may flow through them — forward or backward.

At build time a sequence is described by a :class:`SeqShape`: a tuple ``(T, *features)``
marked as a sequence, so layers can tell a sequence of vectors (T, F) from a 2-D input
that is not a sequence.
"""

from __future__ import annotations

import numpy as np


class SeqShape(tuple):
    """The shape of one example that is a sequence: (T, *features), T the maximum length."""

    @property
    def timesteps(self) -> int:
        return self[0]

    @property
    def features(self) -> tuple:
        return tuple(self[1:])

    def __repr__(self):
        return "seq(" + ", ".join(str(d) for d in self) + ")"


def is_sequence_shape(shape) -> bool:
    return isinstance(shape, SeqShape)


class Sequences:
    """Padded sequence data (N, T, ...) and the length of each example (N,)."""

    __slots__ = ("data", "lengths")

    def __init__(self, data: np.ndarray, lengths=None):
        data = np.asarray(data)
        if data.ndim < 2:
            raise ValueError(f"sequence data needs (N, T, ...) axes, got shape {data.shape}")
        if lengths is None:
            lengths = np.full(len(data), data.shape[1], dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.shape != (len(data),):
            raise ValueError(f"{len(data)} sequences but {lengths.shape} lengths")
        if len(lengths) and (lengths.min() < 1 or lengths.max() > data.shape[1]):
            raise ValueError(f"lengths must lie in 1..{data.shape[1]}, got {lengths.min()}..{lengths.max()}")
        self.data = data
        self.lengths = lengths

    def __len__(self) -> int:
        return len(self.data)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def timesteps(self) -> int:
        return self.data.shape[1]

    def __getitem__(self, index) -> "Sequences":
        """Select examples (a slice, an index array or a mask) — always a Sequences."""
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1)
        return Sequences(self.data[index], self.lengths[index])

    def astype(self, dtype, copy: bool = False) -> "Sequences":
        return Sequences(np.ascontiguousarray(self.data, dtype=dtype) if not copy else self.data.astype(dtype),
                         self.lengths)

    def mask(self, dtype=np.float32) -> np.ndarray:
        """(N, T) array: 1 on real steps, 0 on padding."""
        return (np.arange(self.timesteps)[None, :] < self.lengths[:, None]).astype(dtype)

    def with_data(self, data: np.ndarray) -> "Sequences":
        """Same lengths, new per-step data (N, T, ...)."""
        return Sequences(data, self.lengths)

    @staticmethod
    def concatenate(parts) -> "Sequences":
        return Sequences(np.concatenate([p.data for p in parts]), np.concatenate([p.lengths for p in parts]))

    def __repr__(self):
        return f"Sequences(data={self.data.shape} {self.data.dtype}, lengths {self.lengths.min() if len(self) else '-'}..{self.lengths.max() if len(self) else '-'})"
