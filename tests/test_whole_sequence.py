"""Non-sequence layers after a seqwrap act on the whole (N, T, ...) tensor, as in the book.

Chapter 14 writes ``['seqwrap', ['full', 32]], ['batch_normal'], ['full', 10]``: batch
norm normalises each feature over all N·T rows, ``full`` flattens time into features.
That works where every sequence has all T steps; varying lengths get one clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

from alzza import Model
from alzza.errors import SpecError
from alzza.layers.seqwrap import WholeSequence
from alzza.sequences import SeqShape, Sequences
from alzza.testing import check_model_gradients

T, F = 3, 4
SPEC = [["seqwrap", ["full", {"width": 5, "actfunc": "tanh"}]], ["batch_normal"], ["full", {"width": 6}]]


def _model(spec=SPEC, dtype="float64"):
    return Model(None, spec, input_shape=SeqShape((T, F)), output_shape=(2,), mode="select", seed=0,
                 dtype=dtype, init="glorot", printer=lambda *a: None)


def _x(n=4, lengths=None, seed=1):
    rng = np.random.default_rng(seed)
    return Sequences(rng.standard_normal((n, T, F)), np.full(n, T) if lengths is None else np.array(lengths))


def test_shapes_follow_the_book():
    model = _model()
    bn, full = model.network.layers[1], model.network.layers[2]
    assert isinstance(bn, WholeSequence) and isinstance(full, WholeSequence)
    assert bn.output_shape == SeqShape((T, 5))          # batch norm keeps the steps
    assert full.params["w"].shape == (T * 5, 6)          # full flattens time into features
    assert full.output_shape == (6,)
    assert model.parameter_count() == (F * 5 + 5) + 2 * 5 + (T * 5 * 6 + 6) + (6 * 2 + 2)


def test_batch_norm_normalises_every_feature_over_all_steps():
    model = _model()
    wrap, bn = model.network.layers[0], model.network.layers[1]
    x = _x(n=6)
    h = wrap.forward(x, training=True)
    y = bn.forward(h, training=True).data  # rescale starts at γ = 1, β = 0
    rows = y.reshape(-1, 5)
    assert np.allclose(rows.mean(axis=0), 0, atol=1e-10)
    assert np.allclose(rows.var(axis=0), 1, atol=1e-2)   # ε in the denominator
    # the statistics are over N·T rows: per-step means are not all zero
    assert not np.allclose(y.mean(axis=0), 0, atol=1e-3)


def test_gradients_through_the_whole_sequence_layers():
    model = _model()
    x = _x()
    y = np.eye(2)[[0, 1, 1, 0]]
    errors = check_model_gradients(model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_varying_lengths_are_refused_with_a_clear_error():
    model = _model()
    with pytest.raises(SpecError, match=r"layers\[1\].*all 3 steps.*lengths 2\.\.3.*inside the seqwrap"):
        model.predict(_x(lengths=[3, 2, 3, 3]))


def test_without_a_seqwrap_before_the_old_refusal_stays():
    with pytest.raises(SpecError, match="works on single examples.*seqwrap"):
        _model([["rnn", {"recur_size": 4}], ["full", {"width": 3}]])
    # a recurrent layer after the seqwrap starts a sequence of its own
    with pytest.raises(SpecError, match="works on single examples"):
        _model([["seqwrap", ["full", {"width": 5}]], ["rnn", {"recur_size": 4}], ["full", {"width": 3}]])


def test_saved_names_are_the_inner_layers(tmp_path):
    from alzza import load

    model = _model(dtype="float32")
    names = {slot.name for slot in model.slots}
    assert {"layers[1]/gamma", "layers[1]/beta", "layers[2]/w", "layers[2]/b"} <= names
    model.save(tmp_path / "m.npz")
    same = load(tmp_path / "m.npz")
    x = _x(seed=2)
    x = Sequences(x.data.astype(np.float32), x.lengths)
    assert np.allclose(same.predict(x), model.predict(x))
