"""Writing new sequences with a trained next-symbol model (a decoder-only language model).

A decoder-only model reads symbols one-hot, ``seq(T, V)``, and gives the scores of the
next symbol at every step, ``seq(T, V)`` (mode seqselect) — the ``expressions`` data
set's models. Generation starts every sequence with the end mark (class ``start``, 0)
and repeats: score the sequence so far, take the last step's scores o (V,), draw the
next symbol, append it — until the model draws the end mark or T steps are written.

Drawing a symbol from the scores o, with temperature τ and top-k:

    p = softmax(o / τ) over the k largest scores (the others get probability 0)
    τ = 0: the largest score (greedy); k = None or k ≥ V: all symbols

drawn by inverse transform sampling with the caller's generator: u ~ U[0, 1), the
first symbol whose cumulative probability exceeds u·Σp.

A causal Transformer decoder is stepped (:mod:`alzza.models.stepping`): each attention
layer keeps the keys and values of the steps so far, so symbol t costs one step of
every layer. Any other sequence network (a recurrent one) runs over the whole prefix at
every step: t symbols cost t forwards of up to t steps.
"""

from __future__ import annotations

import numpy as np

from ..errors import AlzzaError
from ..sequences import Sequences, is_sequence_shape
from .stepping import stepper_for

__all__ = ["check_decoder_only", "generate", "sample_ids"]


def sample_ids(logits, rng: np.random.Generator, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """One symbol per row of ``logits`` (N, V): see the module docstring. Returns int64 (N,)."""
    o = np.asarray(logits, dtype=np.float64)
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k!r}")
    if temperature == 0:
        return o.argmax(axis=1).astype(np.int64)
    z = o / temperature
    if top_k is not None and top_k < o.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]   # the k-th largest score per row
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    cumulative = np.cumsum(p, axis=1)
    u = rng.random(len(o))[:, None] * cumulative[:, -1:]
    return np.minimum((cumulative <= u).sum(axis=1), o.shape[1] - 1).astype(np.int64)


def check_decoder_only(model) -> tuple[int, int]:
    """(T, V) of a decoder-only model, or an AlzzaError saying why this model is not one."""
    shape_in, shape_out = model.input_shape, model.output_shape
    if not (is_sequence_shape(shape_in) and is_sequence_shape(shape_out) and len(shape_in) == 2
            and tuple(shape_in) == tuple(shape_out) and getattr(model, "mode", None) == "seqselect"):
        raise AlzzaError(f"{model.name}: generate writes with decoder-only models, whose input and output are the "
                         f"same symbols at every step (seq(T, V) → seq(T, V), mode seqselect); this model maps "
                         f"{shape_in!r} → {shape_out!r} ({getattr(model, 'mode', '?')})")
    return int(shape_in[0]), int(shape_in[1])


def generate(model, count: int, rng: np.random.Generator, *, temperature: float = 1.0, top_k: int | None = None,
             start: int = 0, end: int = 0, max_steps: int | None = None, batch: int = 250,
             cache: bool = True) -> list[list[int]]:
    """``count`` sequences of symbol ids (the end mark left out) written by a decoder-only ``model``.

    With ``cache`` (the default) a causal network is stepped (:mod:`alzza.models.stepping`);
    otherwise, or when it can't be, every step runs the whole prefix."""
    steps, vocabulary = check_decoder_only(model)
    max_steps = steps if max_steps is None else min(int(max_steps), steps)
    written: list[list[int]] = []
    for first in range(0, count, batch):
        n = min(batch, count - first)
        tokens = np.zeros((n, steps), dtype=np.int64)
        tokens[:, 0] = start
        done = np.zeros(n, dtype=bool)
        length = np.zeros(n, dtype=np.int64)          # symbols written so far (the start mark not counted)
        stepper = stepper_for(model) if cache else None
        eye = np.eye(vocabulary, dtype=model.dtype)
        for t in range(max_steps):
            if stepper is not None:  # one step of every layer, attention over its cached keys and values
                logits = stepper.step(eye[tokens[:, t]])
            else:  # the whole prefix again
                x = np.zeros((n, steps, vocabulary), dtype=model.dtype)
                x[np.arange(n)[:, None], np.arange(t + 1)[None, :], tokens[:, :t + 1]] = 1.0
                out = model.forward(Sequences(x, np.full(n, t + 1, dtype=np.int64)))
                logits = (out.data if isinstance(out, Sequences) else out)[:, t]
            ids = sample_ids(logits, rng, temperature, top_k)
            done |= ids == end
            length += ~done
            if t + 1 < steps:
                tokens[:, t + 1] = np.where(done, end, ids)
            if done.all():
                break
        length = np.minimum(length, steps - 1)      # a last symbol drawn at step T has no room
        written += [list(map(int, row[1:1 + k])) for row, k in zip(tokens, length, strict=True)]
    return written
