"""Variable-length sequences: padded data with the lengths carried beside it.

A batch of sequences is a :class:`Sequences`: ``data`` of shape (N, T, *features),
batch-major, padded to the longest T, and ``lengths`` (N,) int64 with 1 ≤ length ≤ T.
Lengths are never written into the data tensor; steps t ≥ length of an example are
padding, and nothing may flow through them — forward or backward.

At build time a sequence is described by a :class:`SeqShape`: a tuple ``(T, *features)``
marked as a sequence, so layers can tell a sequence of vectors (T, F) from a 2-D input
that is not a sequence.

Conventions the sequence layers follow (``rnn``, ``lstm``, ``seqwrap``):

- ``forward`` takes a :class:`Sequences` (a plain (N, T, ...) array counts as all
  lengths = T) and returns a :class:`Sequences` with the same lengths, or a plain
  array when it emits one vector per example (``outseq: false``);
- ``backward`` takes and returns gradients of the *data* arrays only (plain
  ndarrays; a :class:`Sequences` is unwrapped): the lengths are those of the forward.
  Gradients of padded steps are zero, and whatever a caller puts into dy at padded
  steps is ignored.

Build-time shapes: a layer that produces a sequence returns a :class:`SeqShape`; a
data set whose examples are sequences declares ``input_shape = SeqShape((T, F))``,
and one whose targets are per-step declares ``output_shape = SeqShape((T, K))``
(targets y are then plain (N, T, K) arrays aligned with the output steps).
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


def shape_to_config(shape):
    """A shape as plain JSON data: a list, or ``{"seq": [T, ...]}`` for a SeqShape."""
    if shape is None:
        return None
    if is_sequence_shape(shape):
        return {"seq": [int(d) for d in shape]}
    return [int(d) for d in shape]


def shape_from_config(value):
    """Inverse of :func:`shape_to_config` (SeqShape and tuples pass through)."""
    if value is None or is_sequence_shape(value):
        return value
    if isinstance(value, dict):
        if set(value) != {"seq"}:
            raise ValueError(f"a sequence shape is written {{'seq': [T, ...]}}, got {value!r}")
        return SeqShape(int(d) for d in value["seq"])
    return tuple(int(d) for d in value)


def length_mask(lengths, timesteps: int, dtype=bool) -> np.ndarray:
    """(N, T) mask: 1 (True) on real steps t < length, 0 on padding."""
    return (np.arange(timesteps)[None, :] < np.asarray(lengths)[:, None]).astype(dtype, copy=False)


def split_sequences(x):
    """``(data, lengths)`` of a :class:`Sequences`, or of a plain (N, T, ...) array (all lengths T)."""
    if isinstance(x, Sequences):
        return x.data, x.lengths
    data = np.asarray(x)
    if data.ndim < 2:
        raise ValueError(f"sequence data needs (N, T, ...) axes, got shape {data.shape}")
    return data, np.full(len(data), data.shape[1], dtype=np.int64)


def seq_data(x):
    """The data array of a :class:`Sequences` (a plain array is returned as it is)."""
    return x.data if isinstance(x, Sequences) else x


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

    def __array__(self, dtype=None, copy=None):
        # Without this NumPy would treat a Sequences as a nested list (it has __len__ and
        # __getitem__) and recurse forever; padded data without lengths is a bug anyway.
        raise TypeError("a Sequences is not an array: use .data (padded steps) with .lengths")

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def timesteps(self) -> int:
        return self.data.shape[1]

    def __getitem__(self, index) -> Sequences:
        """Select examples (a slice, an index array or a mask) — always a Sequences."""
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1)
        return Sequences(self.data[index], self.lengths[index])

    def astype(self, dtype, copy: bool = False) -> Sequences:
        return Sequences(np.ascontiguousarray(self.data, dtype=dtype) if not copy else self.data.astype(dtype),
                         self.lengths)

    def mask(self, dtype=np.float32) -> np.ndarray:
        """(N, T) array: 1 on real steps, 0 on padding."""
        return (np.arange(self.timesteps)[None, :] < self.lengths[:, None]).astype(dtype)

    @property
    def full(self) -> bool:
        """True when every example uses all T steps (no padding)."""
        return bool(len(self) == 0 or self.lengths.min() == self.timesteps)

    def steps(self, index: int) -> np.ndarray:
        """The real steps of example ``index``: data[index, :length]."""
        return self.data[index, :self.lengths[index]]

    def with_data(self, data: np.ndarray) -> Sequences:
        """Same lengths, new per-step data (N, T, ...)."""
        return Sequences(data, self.lengths)

    @staticmethod
    def concatenate(parts) -> Sequences:
        return Sequences(np.concatenate([p.data for p in parts]), np.concatenate([p.lengths for p in parts]))

    def __repr__(self):
        low, high = (self.lengths.min(), self.lengths.max()) if len(self) else ("-", "-")
        return f"Sequences(data={self.data.shape} {self.data.dtype}, lengths {low}..{high})"
