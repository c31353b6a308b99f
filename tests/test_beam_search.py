"""Greedy and beam-search decoding against exhaustive search on a toy decoder whose next-symbol
scores depend on the position and the last symbol (a table), and the greedy rule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alzza.models.beam_search import beam_search, greedy_decode, log_softmax

V, END, START, STEPS = 4, 0, 3, 4


def _table(seed):
    return np.random.default_rng(seed).standard_normal((STEPS, V, V)) * 2


def _step(table):
    def step(tokens, state):
        calls = state + 1
        return table[tokens.shape[1] - 1, tokens[:, -1]], calls
    return step


def _exhaustive(table):
    """The most probable output: ended by END within STEPS symbols, or STEPS symbols without it."""
    best = (-np.inf, None)
    for length in range(1, STEPS + 1):
        for ids in itertools.product(range(V), repeat=length):
            if END in ids[:-1] or (length < STEPS and ids[-1] != END):
                continue
            prev, logp = START, 0.0
            for t, symbol in enumerate(ids):
                logp += log_softmax(table[t, prev])[symbol]
                prev = symbol
            out = list(ids[:-1]) if ids[-1] == END else list(ids)
            if logp > best[0]:
                best = (logp, out)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_a_wide_beam_finds_the_exhaustive_best(seed):
    table = _table(seed)
    want_logp, want = _exhaustive(table)
    ids, logp = beam_search(_step(table), 0, start=START, end=END, max_steps=STEPS, width=V ** STEPS)
    assert ids == want and logp == pytest.approx(want_logp, rel=1e-12)
    # a narrower beam never finds a better one
    narrow, narrow_logp = beam_search(_step(table), 0, start=START, end=END, max_steps=STEPS, width=2)
    assert narrow_logp <= want_logp + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_greedy_follows_the_argmax_and_a_beam_of_one_is_never_worse(seed):
    table = _table(seed)
    tokens, ids = [START], []
    for t in range(STEPS):  # the greedy rule written out
        nxt = int(table[t, tokens[-1]].argmax())
        if nxt == END:
            break
        ids.append(nxt)
        tokens.append(nxt)
    assert greedy_decode(_step(table), 0, start=START, end=END, max_steps=STEPS) == [ids]
    # a beam of one follows the greedy path and also keeps the outputs ended on the way
    greedy_logp, prev = 0.0, START
    for t, symbol in enumerate(ids + ([END] if len(ids) < STEPS else [])):
        greedy_logp += log_softmax(table[t, prev])[symbol]
        prev = symbol
    assert beam_search(_step(table), 0, start=START, end=END, max_steps=STEPS, width=1)[1] >= greedy_logp - 1e-12


def test_bad_widths_are_refused():
    with pytest.raises(ValueError, match="width"):
        beam_search(_step(_table(0)), 0, start=START, end=END, max_steps=STEPS, width=0)
