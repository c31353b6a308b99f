"""Greedy and beam-search decoding over any step function (an autoregressive decoder).

An autoregressive decoder gives, for a batch of partial outputs, the scores of the next
symbol: ``step(tokens (B, t), state) → (logits (B, V), state')``, where ``state`` is
whatever the decoder keeps between calls (an encoder's memory, a key/value cache, a
recurrent state) and is reordered with ``reorder(state, rows)`` when beams are chosen.
Decoding starts from ``start`` and ends a hypothesis when it emits ``end``.

Beam search keeps the ``width`` best partial outputs by the sum of their log-probabilities
log p(y₁ … y_t) = Σ_s log softmax(o_s)[y_s]; at each step every kept hypothesis is
extended by every symbol, and the ``width`` best of the width·V extensions are kept
(finished ones — ended by ``end`` — are set aside and compete on their total score,
divided by length^``length_penalty`` when that is not 0). With ``width`` 1 it is greedy
decoding: the argmax at every step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["beam_search", "greedy_decode", "log_softmax"]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, stable: (o − m) − log Σ e^(o − m)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _no_reorder(state, rows):
    return state


def greedy_decode(step, state, *, start: int, end: int, max_steps: int, count: int = 1, reorder=_no_reorder):
    """``count`` outputs, the argmax at every step: a list of id lists (``end`` left out)."""
    tokens = np.full((count, 1), start, dtype=np.int64)
    done = np.zeros(count, dtype=bool)
    for _ in range(max_steps):
        logits, state = step(tokens, state)
        ids = np.where(done, end, np.asarray(logits).argmax(axis=-1))
        tokens = np.concatenate([tokens, ids[:, None]], axis=1)
        done |= ids == end
        if done.all():
            break
    return [[int(k) for k in row[1:1 + _length(row[1:], end)]] for row in tokens]


def _length(row, end) -> int:
    hits = np.flatnonzero(row == end)
    return int(hits[0]) if len(hits) else len(row)


def beam_search(step, state, *, start: int, end: int, max_steps: int, width: int = 4,
                length_penalty: float = 0.0, reorder=_no_reorder):
    """The best output of one input by beam search: ``(ids without end, total log-probability)``.

    ``state`` is for a batch of one; it is repeated by ``reorder(state, rows)`` with
    ``rows`` the index of the hypothesis each new beam continues (all zeros at first).
    """
    if width < 1 or max_steps < 1:
        raise ValueError(f"beam width and max_steps must be at least 1, got {width}, {max_steps}")
    tokens = np.full((1, 1), start, dtype=np.int64)
    scores = np.zeros(1)
    finished: list[tuple[float, float, list[int]]] = []   # (ranking score, log-probability, ids)

    def rank(logp, length):
        return logp / (max(1, length) ** length_penalty) if length_penalty else logp

    for _ in range(max_steps):
        logits, state = step(tokens, state)
        candidates = scores[:, None] + log_softmax(np.asarray(logits, dtype=np.float64))   # (beams, V)
        flat = candidates.ravel()
        order = np.argsort(-flat, kind="stable")[:2 * width]   # enough to keep `width` unfinished ones
        vocabulary = candidates.shape[1]
        keep_rows, keep_ids, keep_scores = [], [], []
        for index in order:
            row, symbol = divmod(int(index), vocabulary)
            ids = [int(k) for k in tokens[row, 1:]]
            if symbol == end:
                finished.append((rank(flat[index], len(ids)), float(flat[index]), ids))
            elif len(keep_rows) < width:
                keep_rows.append(row)
                keep_ids.append(symbol)
                keep_scores.append(flat[index])
        best_done = max((f[0] for f in finished), default=-np.inf)
        # no open hypothesis can beat a finished one any more: log-probabilities only fall
        if not keep_rows or (not length_penalty and best_done >= max(keep_scores)):
            break
        rows = np.array(keep_rows)
        tokens = np.concatenate([tokens[rows], np.array(keep_ids)[:, None]], axis=1)
        scores = np.array(keep_scores)
        state = reorder(state, rows)
    else:  # max_steps reached: the open hypotheses count as they stand
        for row in range(len(scores)):
            ids = [int(k) for k in tokens[row, 1:]]
            finished.append((rank(scores[row], len(ids)), float(scores[row]), ids))
    _, logp, ids = max(finished, key=lambda f: f[0])
    return ids, logp
