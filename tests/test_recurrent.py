"""rnn, lstm, gru and seqwrap: numerical gradient checks with mixed lengths, padding isolation,
spec errors, and parity with torch.nn.RNN / torch.nn.LSTM."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.errors import SpecError
from alzza.layers.gru import GRU
from alzza.layers.recurrent import LSTM, RNN
from alzza.sequences import SeqShape, Sequences
from alzza.spec import parse_layer
from alzza.testing import numerical_grad, relative_error

from _build import build_layer

LENGTHS = np.array([5, 2, 4, 1])
T, F, H = 5, 3, 4
TOL = 1e-6


def _data(y):
    return y.data if isinstance(y, Sequences) else y


build = build_layer  # the shared helper (tests/_build.py)


def grad_errors(layer, shape, x, lengths=None, seed=1, training=False):
    """{'x': err, '<path>/<key>': err}: backward vs central differences of L = Σ y ⊙ R.

    ``x`` is the data array (float64, perturbed in place); ``lengths`` makes it a
    Sequences. Also returns dx for further checks.
    """
    rng = np.random.default_rng(seed)
    build(layer, shape)

    def inp():
        return Sequences(x.copy(), lengths) if lengths is not None else x.copy()

    r = rng.standard_normal(_data(layer.forward(inp(), training)).shape)

    def loss():
        return float(np.sum(_data(layer.forward(inp(), training)) * r))

    layer.forward(inp(), training)
    dx = layer.backward(r.copy())
    analytic = [(f"{sub.path or sub.type_name}/{k}", v, sub.grads[k].copy())
                for sub in layer.walk() for k, v in sub.params.items()]
    errors = {"x": relative_error(dx, numerical_grad(loss, x))}
    for name, value, grad in analytic:
        errors[name] = relative_error(grad, numerical_grad(loss, value))
    return errors, dx


def assert_small(errors):
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, bad


CELLS = [
    ("rnn-relu", lambda **kw: RNN(H, actfunc="relu", **kw)),
    ("rnn-tanh", lambda **kw: RNN(H, actfunc="tanh", **kw)),
    ("lstm", lambda **kw: LSTM(H, **kw)),
    ("lstm-state", lambda **kw: LSTM(H, use_state=True, **kw)),
    ("gru", lambda **kw: GRU(H, **kw)),
    ("gru-reset-before", lambda **kw: GRU(H, reset_after=False, **kw)),
]


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
@pytest.mark.parametrize("outseq", [True, False])
def test_gradients_mixed_lengths(name, make, outseq):
    x = np.random.default_rng(2).standard_normal((4, T, F))
    errors, dx = grad_errors(make(outseq=outseq), SeqShape((T, F)), x, LENGTHS)
    assert_small(errors)
    for n, length in enumerate(LENGTHS):   # no gradient leaves a padded step
        assert not np.any(dx[n, length:])


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
@pytest.mark.parametrize("outseq", [True, False])
def test_gradients_vector_fed_every_step(name, make, outseq):
    x = np.random.default_rng(3).standard_normal((3, F))
    layer = make(outseq=outseq, inseq=False, timesteps=4)
    errors, _ = grad_errors(layer, (F,), x)
    assert_small(errors)
    assert layer.output_shape == ((4, H) if outseq else (H,))
    if outseq:
        out = layer.forward(x)
        assert isinstance(out, Sequences) and list(out.lengths) == [4, 4, 4]


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
def test_gradients_equal_lengths_and_image_steps(name, make):
    # plain array input = all lengths T; features per step may have several axes (flattened)
    x = np.random.default_rng(4).standard_normal((2, 3, 2, 2))
    errors, dx = grad_errors(make(), SeqShape((3, 2, 2)), x)
    assert_small(errors)
    assert dx.shape == x.shape


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
@pytest.mark.parametrize("outseq", [True, False])
def test_padding_changes_nothing(name, make, outseq):
    rng = np.random.default_rng(5)
    layer = build(make(outseq=outseq), SeqShape((T, F)))
    x = rng.standard_normal((4, T, F))
    y1 = layer.forward(Sequences(x.copy(), LENGTHS))
    noisy = x.copy()
    for n, length in enumerate(LENGTHS):
        noisy[n, length:] = rng.standard_normal((T - length, F)) * 100
    noisy[3, 4] = np.nan   # not even a NaN in padding leaks through
    y2 = layer.forward(Sequences(noisy, LENGTHS))
    np.testing.assert_array_equal(_data(y1), _data(y2))
    dx = layer.backward(rng.standard_normal(_data(y2).shape))
    assert np.all(np.isfinite(dx)) and all(np.isfinite(g).all() for g in layer.grads.values())
    if outseq:
        assert list(y2.lengths) == list(LENGTHS)
        for n, length in enumerate(LENGTHS):
            assert not np.any(y2.data[n, length:])


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
def test_each_example_is_computed_alone(name, make):
    """A batch of mixed lengths gives each example what it gets alone, cut to its length;
    outseq false returns the output at the example's own last step."""
    rng = np.random.default_rng(6)
    seq = build(make(outseq=True), SeqShape((T, F)))
    last = build(make(outseq=False), SeqShape((T, F)))
    x = rng.standard_normal((4, T, F))
    ys, yl = seq.forward(Sequences(x, LENGTHS)), last.forward(Sequences(x, LENGTHS))
    for n, length in enumerate(LENGTHS):
        alone = seq.forward(x[n:n + 1, :length]).data[0]
        np.testing.assert_allclose(ys.data[n, :length], alone, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(yl[n], alone[-1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
@pytest.mark.parametrize("outseq", [True, False])
def test_reused_workspaces_carry_nothing_between_batches(name, make, outseq):
    # the per-batch arrays are reused while the shapes stay: a batch after another with
    # other lengths and values gives what a fresh layer gives, forward and backward
    rng = np.random.default_rng(4)
    first = Sequences(rng.standard_normal((4, T, F)) * 3, np.array([5, 5, 3, 1]))
    second = Sequences(rng.standard_normal((4, T, F)), np.array([2, 5, 4, 1]))
    used, fresh = build(make(outseq=outseq), (T, F)), build(make(outseq=outseq), (T, F))
    dy = rng.standard_normal(_data(used.forward(first, True)).shape)
    used.backward(dy * 5)
    for _ in range(2):  # twice: the second time every buffer is a reused one
        y, expected = used.forward(second, True), fresh.forward(second, True)
        np.testing.assert_array_equal(_data(y), _data(expected))
        np.testing.assert_array_equal(used.backward(dy), fresh.backward(dy))
        for key in used.grads:
            np.testing.assert_array_equal(used.grads[key], fresh.grads[key])


@pytest.mark.parametrize("name,make", CELLS, ids=[c[0] for c in CELLS])
def test_outputs_and_input_gradients_are_fresh_arrays(name, make):
    # one example, all steps: the time-major transposes are contiguous already, and still
    # the output and dx must not be views of the layer's reused buffers
    rng = np.random.default_rng(6)
    layer = build(make(outseq=True), (T, F))
    x1, x2 = (Sequences(rng.standard_normal((1, T, F)), np.array([T])) for _ in range(2))
    y1 = layer.forward(x1, True)
    kept = _data(y1).copy()
    dx1 = layer.backward(np.ones_like(_data(y1)))
    kept_dx = dx1.copy()
    layer.forward(x2, True)
    layer.backward(2 * np.ones_like(kept))
    np.testing.assert_array_equal(_data(y1), kept)
    np.testing.assert_array_equal(dx1, kept_dx)


def test_lstm_forget_bias_and_fused_shapes():
    layer = build(LSTM(H), SeqShape((T, F)))
    assert layer.params["w"].shape == (F + H, 4 * H)
    np.testing.assert_array_equal(layer.params["b"][:H], 1.0)
    np.testing.assert_array_equal(layer.params["b"][H:], 0.0)
    assert layer.decayed == ("w",)
    rnn = build(RNN(H), SeqShape((T, F)))
    assert rnn.params["w"].shape == (F + H, H) and rnn.actfunc == "relu"


@pytest.mark.parametrize("make", [lambda: RNN(H), lambda: LSTM(H), lambda: LSTM(H, outseq=False),
                                  lambda: GRU(H), lambda: GRU(H, reset_after=False, outseq=False)])
def test_float32_end_to_end(make):
    rng = np.random.default_rng(7)
    layer = build(make(), SeqShape((T, F)), dtype=np.float32)
    x = Sequences(rng.standard_normal((4, T, F)).astype(np.float32), LENGTHS)
    y = layer.forward(x, True)
    assert _data(y).dtype == np.float32
    dx = layer.backward(np.ones_like(_data(y)))
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_no_input_grad_for_first_layer():
    layer = build(LSTM(H), SeqShape((T, F)))
    layer.needs_input_grad = False
    y = layer.forward(Sequences(np.ones((4, T, F)), LENGTHS))
    assert layer.backward(np.ones_like(y.data)) is None
    assert set(layer.grads) == {"w", "b"}


# --- spec ---------------------------------------------------------------------------------
def test_spec_options_and_errors():
    layer = parse_layer(["rnn", {"recur_size": 8, "outseq": False}], "layers[0]")
    assert isinstance(layer, RNN) and layer.actfunc == "relu" and layer.inseq
    layer = parse_layer(["lstm", {"recur_size": 8, "use_state": True}], "layers[0]")
    assert build(layer, SeqShape((T, F))).output_shape == SeqShape((T, 8))
    with pytest.raises(SpecError, match="needs 'recur_size'"):
        parse_layer(["rnn", {}], "layers[0]")
    with pytest.raises(SpecError, match="actfunc"):
        parse_layer(["rnn", {"recur_size": 4, "actfunc": "swish"}], "layers[0]")
    with pytest.raises(SpecError, match="timesteps"):
        build(parse_layer(["rnn", {"recur_size": 4, "inseq": False}], "layers[0]"), (F,))
    with pytest.raises(SpecError, match="inseq: false"):
        build(parse_layer(["lstm", {"recur_size": 4}], "layers[0]"), (F,))
    with pytest.raises(SpecError, match="inseq: true"):
        build(parse_layer(["lstm", {"recur_size": 4, "inseq": False, "timesteps": 3}], "layers[0]"),
              SeqShape((T, F)))


# --- seqwrap ------------------------------------------------------------------------------
def test_seqwrap_full_gradients_and_padding():
    layer = parse_layer(["seqwrap", {}, ["full", {"width": 3, "actfunc": "tanh"}], 2], "layers[0]")
    x = np.random.default_rng(8).standard_normal((4, T, F))
    errors, dx = grad_errors(layer, SeqShape((T, F)), x, LENGTHS)
    assert_small(errors)
    assert layer.output_shape == SeqShape((T, 2))
    y = layer.forward(Sequences(x, LENGTHS))
    assert list(y.lengths) == list(LENGTHS)
    for n, length in enumerate(LENGTHS):
        assert not np.any(y.data[n, length:]) and not np.any(dx[n, length:])


def test_seqwrap_conv_pool_gradients():
    layer = parse_layer(["seqwrap", {}, ["conv", {"ksize": 3, "chn": 2, "actfunc": "tanh"}],
                         ["avg", {"stride": 2}], ["full", {"width": 3, "actfunc": "tanh"}]], "layers[0]")
    x = np.random.default_rng(9).standard_normal((3, 3, 4, 4, 2))
    # training=True: conv keeps its im2col columns for backward only in training
    errors, dx = grad_errors(layer, SeqShape((3, 4, 4, 2)), x, np.array([3, 1, 2]), training=True)
    assert_small(errors)
    assert layer.output_shape == SeqShape((3, 3))
    assert not np.any(dx[1, 1:]) and not np.any(dx[2, 2:])


def test_seqwrap_batch_norm_sees_real_steps_only():
    layer = build(parse_layer(["seqwrap", {}, ["batch_normal", {}]], "layers[0]"), SeqShape((T, F)))
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, T, F))
    y1 = layer.forward(Sequences(x.copy(), LENGTHS), True)
    noisy = x.copy()
    noisy[1, 2:] = 1e3
    y2 = layer.forward(Sequences(noisy, LENGTHS), True)
    np.testing.assert_allclose(y1.data, y2.data)
    real = y1.data[Sequences(x, LENGTHS).mask(bool)]
    np.testing.assert_allclose(real.mean(axis=0), 0, atol=1e-7)


# --- PyTorch parity -----------------------------------------------------------------------
torch = pytest.importorskip("torch", reason="torch not installed: parity tests need it")


def _to_torch(a, dtype):
    return torch.tensor(np.asarray(a), dtype=dtype)


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rnn_matches_torch(act, dtype):
    rng = np.random.default_rng(11)
    n, t, f, h = 3, 6, 5, 4
    layer = build(RNN(h, actfunc=act), SeqShape((t, f)), dtype=dtype)
    layer.params["b"][...] = rng.standard_normal(h) * 0.1
    x = rng.standard_normal((n, t, f)).astype(dtype)
    r = rng.standard_normal((n, t, h)).astype(dtype)
    y = layer.forward(Sequences(x))
    dx = layer.backward(r.copy())

    tdt = torch.float64 if dtype == np.float64 else torch.float32
    ref = torch.nn.RNN(f, h, nonlinearity=act, batch_first=True).to(tdt)
    w = layer.params["w"]
    with torch.no_grad():
        ref.weight_ih_l0.copy_(_to_torch(w[:f].T, tdt))
        ref.weight_hh_l0.copy_(_to_torch(w[f:].T, tdt))
        ref.bias_ih_l0.copy_(_to_torch(layer.params["b"], tdt))
        ref.bias_hh_l0.zero_()
    tx = _to_torch(x, tdt).requires_grad_(True)
    out, last = ref(tx)
    (out * _to_torch(r, tdt)).sum().backward()
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    assert y.data.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(y.data, out.detach().numpy(), **tol)
    np.testing.assert_allclose(y.data[:, -1], last[0].detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["w"][:f], ref.weight_ih_l0.grad.numpy().T, **tol)
    np.testing.assert_allclose(layer.grads["w"][f:], ref.weight_hh_l0.grad.numpy().T, **tol)
    np.testing.assert_allclose(layer.grads["b"], ref.bias_ih_l0.grad.numpy(), **tol)


def _lstm_to_torch_order(m, h):
    """Our gate columns are (f, i, o, g); torch's rows are (i, f, g, o)."""
    f_, i_, o_, g_ = (m[..., k * h:(k + 1) * h] for k in range(4))
    return np.concatenate([i_, f_, g_, o_], axis=-1)


@pytest.mark.parametrize("use_state", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_matches_torch(use_state, dtype):
    rng = np.random.default_rng(12)
    n, t, f, h = 3, 6, 5, 4
    layer = build(LSTM(h, use_state=use_state), SeqShape((t, f)), dtype=dtype)
    layer.params["b"][...] += rng.standard_normal(4 * h) * 0.1
    x = rng.standard_normal((n, t, f)).astype(dtype)
    r = rng.standard_normal((n, t, h)).astype(dtype)
    y = layer.forward(Sequences(x))
    dx = layer.backward(r.copy())

    tdt = torch.float64 if dtype == np.float64 else torch.float32
    ref = torch.nn.LSTM(f, h, batch_first=True).to(tdt)
    w, b = layer.params["w"], layer.params["b"]
    with torch.no_grad():
        ref.weight_ih_l0.copy_(_to_torch(_lstm_to_torch_order(w[:f], h).T, tdt))
        ref.weight_hh_l0.copy_(_to_torch(_lstm_to_torch_order(w[f:], h).T, tdt))
        ref.bias_ih_l0.copy_(_to_torch(_lstm_to_torch_order(b, h), tdt))
        ref.bias_hh_l0.zero_()
    tx = _to_torch(x, tdt).requires_grad_(True)
    if use_state:   # torch emits c only at the end: run step by step to get every c_t
        state, cs = None, []
        for k in range(t):
            _, state = ref(tx[:, k:k + 1], state)
            cs.append(state[1][0])
        out = torch.stack(cs, dim=1)
        last = state[1][0]
    else:
        out, (hn, _) = ref(tx)
        last = hn[0]
    (out * _to_torch(r, tdt)).sum().backward()
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    assert y.data.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(y.data, out.detach().numpy(), **tol)
    np.testing.assert_allclose(y.data[:, -1], last.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    gi = _lstm_to_torch_order(layer.grads["w"][:f], h)
    gh = _lstm_to_torch_order(layer.grads["w"][f:], h)
    np.testing.assert_allclose(gi, ref.weight_ih_l0.grad.numpy().T, **tol)
    np.testing.assert_allclose(gh, ref.weight_hh_l0.grad.numpy().T, **tol)
    np.testing.assert_allclose(_lstm_to_torch_order(layer.grads["b"], h), ref.bias_ih_l0.grad.numpy(), **tol)
