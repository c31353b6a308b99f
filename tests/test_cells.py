"""The textbook step functions (layers/cells.py): numerical gradient checks of every step,
and the fused rnn / lstm / gru layers held to a plain time loop over those steps —
forward and backward, with variable lengths, outseq true and false, inseq false."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.layers.initializers import Initializer
from alzza.layers import BuildContext
from alzza.layers.cells import (
    gru_reset_before_step,
    gru_reset_before_step_backward,
    gru_step,
    gru_step_backward,
    lstm_step,
    lstm_step_backward,
    rnn_step,
    rnn_step_backward,
    sigmoid,
)
from alzza.layers.gru import GRU
from alzza.layers.recurrent import LSTM, RNN
from alzza.sequences import SeqShape, Sequences
from alzza.testing import numerical_grad, relative_error

N, F, H = 3, 4, 5
TOL = 1e-7


def _arrays(rng, gates):
    return {
        "x": rng.standard_normal((N, F)),
        "h_prev": rng.standard_normal((N, H)) * 0.5,
        "c_prev": rng.standard_normal((N, H)) * 0.5,
        "w_x": rng.standard_normal((F, gates * H)) * 0.4,
        "w_h": rng.standard_normal((H, gates * H)) * 0.4,
        "b": rng.standard_normal(gates * H) * 0.2,
        "b_hn": rng.standard_normal(H) * 0.2,
    }


# --- every step function passes a numerical gradient check ---------------------------------
def _check_step(forward, backward, arrays, names, out_grads):
    """L = Σ_k out_k ⊙ R_k; the step's backward must match central differences for ``names``."""
    outs = forward()
    analytic = backward(*[r.copy() for r in out_grads])

    def loss():
        return sum(float(np.sum(o * r)) for o, r in zip(forward(), out_grads, strict=False))

    for name, grad in zip(names, analytic, strict=False):
        err = relative_error(grad, numerical_grad(loss, arrays[name]))
        assert err < TOL, (name, err)
    assert all(o.shape == r.shape for o, r in zip(outs, out_grads, strict=False))


@pytest.mark.parametrize("actfunc", ["tanh", "relu", "sigmoid", "none"])
def test_rnn_step_gradients(actfunc):
    rng = np.random.default_rng(1)
    a = _arrays(rng, 1)
    if actfunc == "relu":   # keep pre-activations away from the kink at 0
        a["b"] += np.sign(a["b"]) * 0.5

    def forward():
        h, _ = rnn_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"], actfunc)
        return [h]

    def backward(dh):
        _, cache = rnn_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"], actfunc)
        return rnn_step_backward(dh, cache)

    _check_step(forward, backward, a, ["x", "h_prev", "w_x", "w_h", "b"], [rng.standard_normal((N, H))])


def test_lstm_step_gradients_through_h_and_c():
    rng = np.random.default_rng(2)
    a = _arrays(rng, 4)

    def forward():
        h, c, _ = lstm_step(a["x"], a["h_prev"], a["c_prev"], a["w_x"], a["w_h"], a["b"])
        return [h, c]

    def backward(dh, dc):
        _, _, cache = lstm_step(a["x"], a["h_prev"], a["c_prev"], a["w_x"], a["w_h"], a["b"])
        return lstm_step_backward(dh, dc, cache)

    _check_step(forward, backward, a, ["x", "h_prev", "c_prev", "w_x", "w_h", "b"],
                [rng.standard_normal((N, H)), rng.standard_normal((N, H))])


def test_gru_step_gradients():
    rng = np.random.default_rng(3)
    a = _arrays(rng, 3)

    def forward():
        h, _ = gru_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"], a["b_hn"])
        return [h]

    def backward(dh):
        _, cache = gru_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"], a["b_hn"])
        return gru_step_backward(dh, cache)

    _check_step(forward, backward, a, ["x", "h_prev", "w_x", "w_h", "b", "b_hn"], [rng.standard_normal((N, H))])


def test_gru_reset_before_step_gradients():
    rng = np.random.default_rng(13)
    a = _arrays(rng, 3)

    def forward():
        h, _ = gru_reset_before_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"])
        return [h]

    def backward(dh):
        _, cache = gru_reset_before_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"])
        return gru_reset_before_step_backward(dh, cache)

    _check_step(forward, backward, a, ["x", "h_prev", "w_x", "w_h", "b"], [rng.standard_normal((N, H))])


def test_the_two_gru_forms_differ_only_in_where_the_reset_acts():
    rng = np.random.default_rng(14)
    a = _arrays(rng, 3)
    after, _ = gru_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"], np.zeros(H))
    before, _ = gru_reset_before_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], a["b"])
    assert np.abs(after - before).max() > 1e-3
    # with the reset gate saturated open (r = 1) they are the same function
    b = a["b"].copy()
    b[:H] = 50.0
    after, _ = gru_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], b, np.zeros(H))
    before, _ = gru_reset_before_step(a["x"], a["h_prev"], a["w_x"], a["w_h"], b)
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-12)


def test_step_functions_are_pure():
    rng = np.random.default_rng(4)
    a = _arrays(rng, 4)
    before = {k: v.copy() for k, v in a.items()}
    _, _, cache = lstm_step(a["x"], a["h_prev"], a["c_prev"], a["w_x"], a["w_h"], a["b"])
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dh0, dc0 = dh.copy(), dc.copy()
    lstm_step_backward(dh, dc, cache)
    g = _arrays(rng, 3)
    _, gcache = gru_step(g["x"], g["h_prev"], g["w_x"], g["w_h"], g["b"], g["b_hn"])
    gru_step_backward(dh, gcache)
    for key, value in before.items():
        np.testing.assert_array_equal(a[key], value)
    np.testing.assert_array_equal(dh, dh0)
    np.testing.assert_array_equal(dc, dc0)


def test_textbook_equations_by_hand():
    """One unit, numbers small enough to follow on paper."""
    one = np.ones((1, 1))
    h, _ = rnn_step(one, 0.5 * one, 2 * one, -one, np.zeros(1), "tanh")
    np.testing.assert_allclose(h, np.tanh(1.5))
    # LSTM: a = [0, ln 3, 0, 0.5] → f = ½, i = ¾, o = ½, g = tanh ½
    b = np.array([0.0, np.log(3.0), 0.0, 0.5])
    h, c, _ = lstm_step(np.zeros((1, 1)), np.zeros((1, 1)), 2 * one, np.zeros((1, 4)), np.zeros((1, 4)), b)
    np.testing.assert_allclose(c, 0.5 * 2 + 0.75 * np.tanh(0.5))
    np.testing.assert_allclose(h, 0.5 * np.tanh(c))
    # GRU: x-side [0, 0, 0.3], h-side 0, b_hn 0.4, h_prev 1 → r = z = ½, n = tanh(0.3 + 0.2)
    h, _ = gru_step(one, one, np.array([[0.0, 0.0, 0.3]]), np.zeros((1, 3)), np.zeros(3), np.array([0.4]))
    n = np.tanh(0.5)
    np.testing.assert_allclose(h, 0.5 * n + 0.5 * 1.0)
    np.testing.assert_allclose(sigmoid(np.array([-800.0, 0.0, 800.0])), [0.0, 0.5, 1.0])


# --- the fused layers equal a time loop over the step functions -----------------------------
def _rnn_cell(actfunc):
    def forward(x, state, p):
        h, cache = rnn_step(x, state[0], p["w_x"], p["w_h"], p["b"], actfunc)
        return (h,), cache

    def backward(dstate, cache):
        dx, dh_prev, dw_x, dw_h, db = rnn_step_backward(dstate[0], cache)
        return dx, (dh_prev,), {"w_x": dw_x, "w_h": dw_h, "b": db}

    return forward, backward, 1


def _lstm_cell():
    def forward(x, state, p):
        h, c, cache = lstm_step(x, state[0], state[1], p["w_x"], p["w_h"], p["b"])
        return (h, c), cache

    def backward(dstate, cache):
        dx, dh_prev, dc_prev, dw_x, dw_h, db = lstm_step_backward(dstate[0], dstate[1], cache)
        return dx, (dh_prev, dc_prev), {"w_x": dw_x, "w_h": dw_h, "b": db}

    return forward, backward, 2


def _gru_cell():
    def forward(x, state, p):
        h, cache = gru_step(x, state[0], p["w_x"], p["w_h"], p["b"], p["b_hn"])
        return (h,), cache

    def backward(dstate, cache):
        dx, dh_prev, dw_x, dw_h, db, db_hn = gru_step_backward(dstate[0], cache)
        return dx, (dh_prev,), {"w_x": dw_x, "w_h": dw_h, "b": db, "b_hn": db_hn}

    return forward, backward, 1


def _gru_reset_before_cell():
    def forward(x, state, p):
        h, cache = gru_reset_before_step(x, state[0], p["w_x"], p["w_h"], p["b"])
        return (h,), cache

    def backward(dstate, cache):
        dx, dh_prev, dw_x, dw_h, db = gru_reset_before_step_backward(dstate[0], cache)
        return dx, (dh_prev,), {"w_x": dw_x, "w_h": dw_h, "b": db}

    return forward, backward, 1


def time_loop(cell, params, x, lengths, outseq, dy, emit=0, inseq=True, timesteps=None):
    """The reference: every example alone, step by step through its own length.

    Returns (y, dx, grads) with y and dx laid out like the layer's (padded steps zero)
    and grads summed over examples and steps.
    """
    forward, backward, n_states = cell
    n = len(x)
    hidden = params["w_h"].shape[0]
    steps = x.shape[1] if inseq else timesteps
    y = np.zeros((n, steps, hidden)) if outseq else np.zeros((n, hidden))
    dx = np.zeros_like(x)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for i in range(n):
        length = int(lengths[i]) if inseq else timesteps
        state = tuple(np.zeros((1, hidden)) for _ in range(n_states))
        caches = []
        for t in range(length):
            x_t = x[i:i + 1, t] if inseq else x[i:i + 1]
            state, cache = forward(x_t.reshape(1, -1), state, params)
            caches.append(cache)
            if outseq:
                y[i, t] = state[emit][0]
        if not outseq:
            y[i] = state[emit][0]
        dstate = [np.zeros((1, hidden)) for _ in range(n_states)]
        for t in range(length - 1, -1, -1):
            if outseq:
                dstate[emit] = dstate[emit] + dy[i:i + 1, t]
            elif t == length - 1:
                dstate[emit] = dstate[emit] + dy[i:i + 1]
            dx_t, dstate, step_grads = backward(tuple(dstate), caches[t])
            dstate = list(dstate)
            if inseq:
                dx[i, t] += dx_t.reshape(x.shape[2:])
            else:
                dx[i] += dx_t.reshape(x.shape[1:])
            for key, g in step_grads.items():
                grads[key] += g
    return y, dx, grads


LAYERS = [
    ("rnn-tanh", lambda **kw: RNN(H, actfunc="tanh", **kw), lambda: _rnn_cell("tanh"), 0),
    ("rnn-relu", lambda **kw: RNN(H, actfunc="relu", **kw), lambda: _rnn_cell("relu"), 0),
    ("lstm", lambda **kw: LSTM(H, **kw), _lstm_cell, 0),
    ("lstm-state", lambda **kw: LSTM(H, use_state=True, **kw), _lstm_cell, 1),
    ("gru", lambda **kw: GRU(H, **kw), _gru_cell, 0),
    ("gru-reset-before", lambda **kw: GRU(H, reset_after=False, **kw), _gru_reset_before_cell, 0),
]
LENGTHS = np.array([6, 2, 5, 1, 6])
T = 6


def _build(layer, shape, seed=0):
    layer.build(shape, BuildContext(np.random.default_rng(seed), np.dtype(np.float64), Initializer("glorot")))
    rng = np.random.default_rng(seed + 100)
    for key, value in layer.params.items():   # non-zero biases, so they are tested too
        if key != "w":
            value += rng.standard_normal(value.shape) * 0.3
    return layer


def _step_params(layer):
    w = layer.params["w"]
    params = {"w_x": w[:layer.features], "w_h": w[layer.features:], "b": layer.params["b"]}
    if "b_hn" in layer.params:
        params["b_hn"] = layer.params["b_hn"]
    return params


def _assert_layer_equals_loop(layer, make_cell, emit, x, lengths, outseq, dy, **loop_kw):
    y = layer.forward(Sequences(x.copy(), lengths) if lengths is not None else x.copy())
    dx = layer.backward(dy.copy())
    ref_y, ref_dx, ref_grads = time_loop(make_cell(), _step_params(layer), x,
                                         lengths if lengths is not None else None, outseq, dy, emit, **loop_kw)
    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y.data if isinstance(y, Sequences) else y, ref_y, **tol)
    np.testing.assert_allclose(dx, ref_dx, **tol)
    np.testing.assert_allclose(layer.grads["w"], np.vstack([ref_grads["w_x"], ref_grads["w_h"]]), **tol)
    np.testing.assert_allclose(layer.grads["b"], ref_grads["b"], **tol)
    if "b_hn" in layer.params:
        np.testing.assert_allclose(layer.grads["b_hn"], ref_grads["b_hn"], **tol)
    assert set(layer.grads) == set(layer.params)


@pytest.mark.parametrize("name,make,make_cell,emit", LAYERS, ids=[c[0] for c in LAYERS])
@pytest.mark.parametrize("outseq", [True, False])
def test_fused_layer_equals_time_loop_of_steps(name, make, make_cell, emit, outseq):
    rng = np.random.default_rng(5)
    layer = _build(make(outseq=outseq), SeqShape((T, F)))
    x = rng.standard_normal((len(LENGTHS), T, F))
    dy = rng.standard_normal((len(LENGTHS), T, H) if outseq else (len(LENGTHS), H))
    _assert_layer_equals_loop(layer, make_cell, emit, x, LENGTHS, outseq, dy)


@pytest.mark.parametrize("name,make,make_cell,emit", LAYERS, ids=[c[0] for c in LAYERS])
def test_fused_layer_equals_time_loop_equal_lengths(name, make, make_cell, emit):
    rng = np.random.default_rng(6)
    layer = _build(make(), SeqShape((4, F)))
    x = rng.standard_normal((3, 4, F))
    dy = rng.standard_normal((3, 4, H))
    _assert_layer_equals_loop(layer, make_cell, emit, x, np.array([4, 4, 4]), True, dy)


@pytest.mark.parametrize("name,make,make_cell,emit", LAYERS, ids=[c[0] for c in LAYERS])
@pytest.mark.parametrize("outseq", [True, False])
def test_fused_layer_equals_time_loop_vector_fed_every_step(name, make, make_cell, emit, outseq):
    rng = np.random.default_rng(7)
    layer = _build(make(outseq=outseq, inseq=False, timesteps=4), (F,))
    x = rng.standard_normal((3, F))
    dy = rng.standard_normal((3, 4, H) if outseq else (3, H))
    _assert_layer_equals_loop(layer, make_cell, emit, x, None, outseq, dy, inseq=False, timesteps=4)
