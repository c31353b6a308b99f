"""Whole models on sequences: per-step output layers, the seqselect / seqbinary heads,
gradients through everything with mixed lengths, training, saving, summaries, text."""

from __future__ import annotations

import numpy as np
import pytest

from alzza import Model
from alzza.data.dataset import Dataset
from alzza.device import to_host
from alzza.errors import SpecError
from alzza.heads import SeqBinaryHead, SeqSelectHead, make_head
from alzza.saving.model_files import load_model
from alzza.sequences import SeqShape, Sequences
from alzza.testing import numerical_grad, relative_error

T, F = 6, 3


class ToySequences(Dataset):
    """Random sequences of 2..T steps of F features.

    binary: is the sum of feature 0 over the real steps positive?
    seqselect: per step, class 0/1/2 = feature 0 of this step and the one before are
    both negative / of mixed sign / both positive (the first step looks at itself twice).
    seqbinary: per step, is feature 0 larger than at the step before?
    """

    target_names = None

    def __init__(self, mode, count=80, seed=0):
        output = {"binary": (1,), "seqselect": SeqShape((T, 3)), "seqbinary": SeqShape((T, 1))}[mode]
        super().__init__("toy-seq", mode, input_shape=SeqShape((T, F)), output_shape=output)
        rng = np.random.default_rng(seed)
        lengths = rng.integers(2, T + 1, count)
        data = rng.standard_normal((count, T, F)).astype(np.float32)
        mask = np.arange(T)[None, :] < lengths[:, None]
        data[~mask] = 0
        first = data[:, :, 0]
        before = np.concatenate([first[:, :1], first[:, :-1]], axis=1)
        if mode == "binary":
            y = (first.sum(axis=1, keepdims=True) > 0).astype(np.float32)
        elif mode == "seqselect":
            cls = (first > 0).astype(int) + (before > 0).astype(int)
            y = np.eye(3, dtype=np.float32)[cls] * mask[..., None]
            self.target_names = ["n", "m", "p"]
        else:
            y = ((first > before) & mask).astype(np.float32)[..., None]
        x = Sequences(data, lengths)
        self._train = (x[:60], y[:60])
        self._validate = (x[60:70], y[60:70])
        self._test = (x[70:], y[70:])
        self.train_count, self.validate_count, self.test_count = 60, 10, count - 70


def test_dataset_splits_keep_sequences():
    rng = np.random.default_rng(0)
    x = Sequences(rng.standard_normal((40, T, F)), rng.integers(1, T + 1, 40))
    y = rng.random((40, 1))
    ds = Dataset("split-seq", "binary")
    ds._split(x, y, np.random.default_rng(1))
    tx, _ = ds.train_data()
    assert isinstance(tx, Sequences) and tx.data.dtype == np.float32 and len(tx) == ds.train_count == 30
    assert ds.input_shape == SeqShape((T, F)) and type(ds.input_shape) is SeqShape
    vx, _ = ds.validate_sample(1, rng)
    assert isinstance(vx, Sequences) and len(vx) == 1
    bx, _ = next(ds.train_batches(10, rng))
    assert isinstance(bx, Sequences) and len(bx) == 10
    # each example keeps its own length through the shuffle
    row = int(np.flatnonzero(np.isclose(x.data[:, 0], bx.data[0, 0]).all(axis=1))[0])
    assert x.lengths[row] == bx.lengths[0]


def grad_errors(model, x, y):
    """check_model_gradients for Sequences inputs: every slot against central differences."""
    def loss():
        return model.loss_and_backward(x, y)[0]

    model.loss_and_backward(x, y)
    analytic = {s.name: np.array(to_host(model.optimizer.decayed_grad(s))) for s in model.slots}
    return {s.name: relative_error(analytic[s.name], numerical_grad(loss, s.value)) for s in model.slots}


def batch(ds, n=5):
    x, y = ds.train_data()
    x = x[:n]
    x = Sequences(x.data.astype(np.float64), x.lengths)
    assert len(set(x.lengths.tolist())) > 1, "the batch should mix lengths"
    return x, y[:n].astype(np.float64)


CASES = {
    "binary-rnn-last": ("binary", [["rnn", {"recur_size": 5, "outseq": False, "actfunc": "tanh"}]]),
    "binary-lstm-last-state": ("binary", [["lstm", {"recur_size": 4, "outseq": False, "use_state": True}], 3]),
    "seqselect-lstm": ("seqselect", [["lstm", {"recur_size": 4}]]),
    "seqselect-rnn-seqwrap": ("seqselect", [["seqwrap", {}, ["full", {"width": 4, "actfunc": "tanh"}]],
                                            ["rnn", {"recur_size": 4, "actfunc": "tanh"}]]),
    "seqbinary-lstm-lstm": ("seqbinary", [["lstm", {"recur_size": 4}], ["lstm", {"recur_size": 3}]]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_model_gradients_mixed_lengths(case):
    mode, layers = CASES[case]
    ds = ToySequences(mode)
    model = Model(ds, layers, dtype="float64", init="glorot", seed=1, l2_decay=0.01)
    x, y = batch(ds)
    errors = grad_errors(model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_sequence_output_is_per_step():
    ds = ToySequences("seqselect")
    model = Model(ds, [["lstm", {"recur_size": 4}]], seed=1)
    assert model.mode == "seqselect" and isinstance(model.head, SeqSelectHead)
    assert model.output_shape == SeqShape((T, 3))
    assert [s.name for s in model.slots][-2:] == ["output.step/w", "output.step/b"]
    x, _ = ds.test_data()
    out = to_host(model.forward(x))  # the padded data read on the host, the lengths kept
    assert isinstance(out, Sequences) and out.data.shape == (len(x), T, 3) and out.data.dtype == np.float32
    np.testing.assert_array_equal(out.lengths, x.lengths)
    for n, length in enumerate(x.lengths):
        assert not np.any(out.data[n, length:])
    est = model.predict(x)
    np.testing.assert_allclose(est.data.sum(axis=-1), x.mask(np.float32), rtol=1e-5)


def test_plain_modes_on_sequence_output_mean_per_step():
    ds = ToySequences("seqbinary")
    ds.mode = "binary"
    model = Model(ds, [["rnn", {"recur_size": 4}]], seed=1)
    assert model.mode == "seqbinary" and isinstance(model.head, SeqBinaryHead)


def test_spec_errors_for_sequences():
    ds = ToySequences("seqselect")
    with pytest.raises(SpecError, match=r"layers\[1\].*'full'.*seqwrap"):
        Model(ds, [["rnn", {"recur_size": 4}], 8])
    with pytest.raises(SpecError, match=r"layers\[0\].*'conv'.*seqwrap"):
        Model(ds, [["conv", {"ksize": 3, "chn": 2}]])
    with pytest.raises(SpecError, match=r"layers\[0\]\.children\[1\].*'dropout'.*seqwrap"):
        Model(ds, [["serial", {}, ["lstm", {"recur_size": 4}], ["dropout", {"keep_prob": 0.5}]]])
    with pytest.raises(SpecError, match="sequence output"):
        Model(ds, [["rnn", {"recur_size": 4, "outseq": False}]])
    binary = ToySequences("binary")
    with pytest.raises(SpecError, match=r"\(T, K\)"):
        Model(binary, [["rnn", {"recur_size": 4}]])
    # serial keeps the sequence mark; the per-step width comes from the data set
    model = Model(ds, [["serial", {}, ["lstm", {"recur_size": 4}], ["seqwrap", {}, ["dropout", {"keep_prob": 0.5}]]]])
    assert model.output_shape == SeqShape((T, 3))


def test_seqselect_head_masks_padding():
    head = make_head("seqselect")
    rng = np.random.default_rng(3)
    lengths = np.array([3, 1])
    o = rng.standard_normal((2, 4, 3))
    y = np.eye(3)[rng.integers(0, 3, (2, 4))]
    loss = head.loss(Sequences(o, lengths), y)
    grad = head.backward()
    o2 = o.copy()
    o2[0, 3], o2[1, 1:] = 50, -50           # padded steps: anything
    assert head.loss(Sequences(o2, lengths), y) == pytest.approx(loss)
    assert not np.any(grad[0, 3:]) and not np.any(grad[1, 1:])
    # mean over the 4 real steps
    p = np.exp(o) / np.exp(o).sum(-1, keepdims=True)
    real = [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert loss == pytest.approx(np.mean([-np.log(p[i, t][y[i, t].argmax()]) for i, t in real]))
    # accuracy = (step, whole sequence); arrays with lengths work the same
    y_right = np.eye(3)[o.argmax(-1)]
    y_right[0, 1] = np.roll(y_right[0, 1], 1)  # one wrong step in sequence 0
    y_right[1, 2] = np.roll(y_right[1, 2], 1)  # wrong, but padding
    assert head.accuracy(Sequences(o, lengths), y_right) == (0.75, 0.5)
    assert head.accuracy(o, y_right, lengths=lengths) == (0.75, 0.5)
    assert head.metrics(Sequences(o, lengths), y_right)["sequence_accuracy"] == 0.5


def test_seqbinary_head_masks_padding():
    head = make_head("seqbinary")
    lengths = np.array([2, 3])
    o = np.array([[[1.0], [-1.0], [9.0]], [[1.0], [1.0], [-2.0]]])
    y = np.array([[[1.0], [1.0], [0.0]], [[0.0], [1.0], [0.0]]])
    m = head.metrics(Sequences(o, lengths), y)
    # real steps: (1,1) right, (-1,1) wrong, (1,0) wrong, (1,1) right, (-2,0) right
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    head.loss(Sequences(o, lengths), y)
    assert head.backward()[0, 2, 0] == 0


def test_training_reduces_loss_and_reports_tuples():
    ds = ToySequences("seqselect", count=160)
    ds.train_count = 60
    model = Model(ds, [["lstm", {"recur_size": 8}]], optimizer="adam", seed=2, printer=lambda *a: None)
    history = model.train(epochs=8, batch_size=10, learning_rate=0.02)
    assert history.loss[-1] < 0.8 * history.loss[0]
    assert isinstance(history.validate_accuracy[-1], tuple) and len(history.validate_accuracy[-1]) == 2
    metrics = model.test()
    step, sequence = metrics["accuracy"]
    assert 0 <= sequence <= step <= 1


def test_training_binary_from_last_step():
    ds = ToySequences("binary")
    model = Model(ds, [["rnn", {"recur_size": 8, "outseq": False, "actfunc": "tanh"}]], optimizer="adam",
                  seed=2, printer=lambda *a: None)
    history = model.train(epochs=8, batch_size=10, learning_rate=0.02)
    assert history.loss[-1] < 0.8 * history.loss[0]


@pytest.mark.parametrize("mode,layers", [
    ("seqbinary", [["seqwrap", {}, ["full", {"width": 4}], ["batch_normal", {}]], ["lstm", {"recur_size": 4}]]),
    ("binary", [["lstm", {"recur_size": 4, "outseq": False}]]),
])
def test_save_load_predict_identical(tmp_path, mode, layers):
    ds = ToySequences(mode)
    model = Model(ds, layers, optimizer="adam", seed=4, printer=lambda *a: None)
    model.train(epochs=1, batch_size=10, learning_rate=0.01)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz", printer=lambda *a: None)
    assert loaded.input_shape == model.input_shape and type(loaded.input_shape) is SeqShape
    assert loaded.output_shape == model.output_shape and type(loaded.output_shape) is type(model.output_shape)
    x, _ = ds.test_data()
    a, b = model.predict(x), loaded.predict(x)
    if isinstance(a, Sequences):
        np.testing.assert_array_equal(a.lengths, b.lengths)
        a, b = a.data, b.data
    np.testing.assert_array_equal(a, b)


def test_output_in_chunks_with_sequences(monkeypatch):
    import alzza.models.parts as model_module

    ds = ToySequences("seqselect")
    model = Model(ds, [["rnn", {"recur_size": 4}]], seed=1)
    x, _ = ds.train_data()
    whole = to_host(model.forward(x))
    monkeypatch.setattr(model_module, "EVAL_CHUNK", 7)
    chunked = to_host(model.output_in_chunks(x))
    np.testing.assert_array_equal(chunked.lengths, x.lengths)
    np.testing.assert_allclose(chunked.data, whole.data, rtol=1e-6, atol=1e-7)


def test_summary_shows_sequence_shapes():
    ds = ToySequences("seqselect")
    model = Model(ds, [["seqwrap", {}, ["full", {"width": 5}]], ["lstm", {"recur_size": 4}]],
                  printer=lambda *a: None)
    text = model.summary(print_it=False)
    assert "input seq(6, 3)" in text and "output seq(6, 3)" in text
    assert "seq(6, 3) -> seq(6, 5)" in text and "seq(6, 5) -> seq(6, 4)" in text
    assert "(3) -> (5)" in text          # the per-step child of seqwrap
    assert "lstm(recur_size=4" in text


def test_visualize_lines_for_sequences():
    lines_out = []
    ds = ToySequences("seqselect")
    ds.describe_input = lambda steps: f"{len(steps)} steps"
    model = Model(ds, [["lstm", {"recur_size": 4}]], seed=1, printer=lines_out.append)
    lines = model.visualize(3)
    assert len(lines) == 3
    for line in lines:
        shown, text = line.split(" => ", 1)
        steps = int(shown.split()[0])
        est = text.split("estimate ")[1].split(" :")[0]
        assert len(est) == steps and set(est) <= set("nmp")
    ds.describe_output = lambda steps: "-".join(str(int(s)) for s in steps)
    assert "-" in model.visualize(1)[0]

    binary = ToySequences("seqbinary")
    model = Model(binary, [["lstm", {"recur_size": 4}]], seed=1, printer=lambda *a: None)
    line = model.visualize(1)[0]
    assert "estimate " in line and ": answer " in line

    last = ToySequences("binary")
    model = Model(last, [["rnn", {"recur_size": 4, "outseq": False}]], seed=1, printer=lambda *a: None)
    assert "array of shape" in model.visualize(1)[0]


def test_seqbinary_skip_steps_leaves_first_steps_out():
    """skip_steps masks the first steps from loss, gradient and metrics (the video chapter's step 0)."""
    from alzza.heads import make_head
    from alzza.errors import SpecError

    rng = np.random.default_rng(0)
    o = rng.normal(size=(4, 5, 1))
    y = (rng.random((4, 5, 1)) > 0.5).astype(float)
    full, skip = make_head("seqbinary"), make_head("seqbinary", skip_steps=1)
    o_bad = o.copy()
    o_bad[:, 0] = 100.0 * (0.5 - y[:, 0])  # confidently wrong at step 0 only
    assert skip.loss(o_bad, y) == pytest.approx(skip.loss(o, y))
    assert full.loss(o_bad, y) > full.loss(o, y) + 1
    skip.loss(o_bad, y)
    assert np.all(skip.backward()[:, 0] == 0)
    assert skip.metrics(o_bad, y)["accuracy"] == skip.metrics(o, y)["accuracy"]
    with pytest.raises(SpecError):
        make_head("seqbinary", skip_steps=-1)
    with pytest.raises(SpecError):
        make_head("seqbinary", skipsteps=1)
