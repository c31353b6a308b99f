"""Numerical gradient checks (central differences in float64) of Dense, the heads, decay
and whole models, through the reusable checker in ``alzza.testing``."""

from __future__ import annotations

import numpy as np
import pytest

from alzza import Model
from alzza.layers import Dense
from alzza.ops.activations import get_activation
from alzza.testing import check_layer_gradients, check_model_gradients, numerical_grad, relative_error

TOL = 1e-6
ACTS = ["relu", "sigmoid", "tanh", "none"]


# --- the checker itself --------------------------------------------------------------
def test_numerical_grad_of_known_function_and_restores_array():
    a = np.array([[0.3, -1.2], [2.0, 0.5]])
    original = a.copy()
    g = numerical_grad(lambda: float(np.sum(a ** 3) + a[0, 1] * a[1, 0]), a)
    expected = 3 * original ** 2
    expected[0, 1] += original[1, 0]
    expected[1, 0] += original[0, 1]
    np.testing.assert_allclose(g, expected, rtol=1e-8, atol=1e-8)
    assert np.array_equal(a, original)  # bitwise restored


def test_numerical_grad_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_grad(lambda: 0.0, np.zeros(3, dtype=np.float32))


def test_checker_detects_a_wrong_backward():
    class Broken(Dense):
        def backward(self, dy):
            dx = super().backward(dy)
            self.grads["w"] = self.grads["w"] * 1.01  # 1 % off
            return dx * -1.0  # wrong sign

    errors = check_layer_gradients(Broken(4, "tanh"), (3,))
    assert errors["x"] > 0.5
    w_err = [v for k, v in errors.items() if k.endswith("/w")]
    assert w_err and w_err[0] > 1e-3
    with pytest.raises(AssertionError, match="gradient check failed"):
        check_layer_gradients(Broken(4, "tanh"), (3,), tol=TOL)


def test_relative_error_is_zero_for_equal_and_large_for_different():
    a = np.array([1.0, -2.0, 0.0])
    assert relative_error(a, a.copy()) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


# --- Dense -----------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("input_shape", [(5,), (2, 3, 2)], ids=["1d", "3d"])
def test_dense_gradients(act, input_shape):
    errors = check_layer_gradients(Dense(4, act), input_shape, batch=3, rng=7)
    assert set(errors) == {"x", "full#0/w", "full#0/b"}
    assert max(errors.values()) < TOL, errors


def test_dense_input_gradient_keeps_input_shape():
    layer = Dense(4, "tanh")
    check_layer_gradients(layer, (2, 3, 2))
    x = np.random.default_rng(1).standard_normal((5, 2, 3, 2))
    y = layer.forward(x)
    assert y.shape == (5, 4)
    assert layer.backward(np.ones_like(y)).shape == x.shape


@pytest.mark.parametrize("act", ACTS)
def test_dense_as_first_layer_returns_no_input_gradient(act):
    layer = Dense(3, act)
    layer.needs_input_grad = False
    errors = check_layer_gradients(layer, (4,), rng=3)
    assert errors["x"] is None
    assert max(v for v in errors.values() if v is not None) < TOL
    assert layer.backward(np.ones((3, 3))) is None
    assert layer.grads["w"].shape == (4, 3) and layer.grads["b"].shape == (3,)


def test_relu_derivative_at_exactly_zero():
    relu = get_activation("relu")
    z = np.array([-1.0, 0.0, 2.0])
    y = relu.forward(z.copy())
    np.testing.assert_array_equal(relu.backward(np.ones(3), y), [0.0, 0.0, 1.0])
    # a layer whose pre-activations are exactly 0 (zero input, zero bias): finite zero grads
    layer = Dense(3, "relu")
    check_layer_gradients(layer, (4,), rng=0)
    layer.params["b"][...] = 0.0
    y = layer.forward(np.zeros((2, 4)))
    assert np.all(y == 0.0)
    dx = layer.backward(np.ones_like(y))
    for g in (dx, layer.grads["w"], layer.grads["b"]):
        assert np.all(np.isfinite(g)) and np.all(g == 0.0)
    # and a model fed an all-zero batch trains without NaN
    model = Model(None, [4], input_shape=(3,), output_shape=(2,), mode="select", seed=0, dtype="float64")
    loss, _ = model.train_step(np.zeros((4, 3)), np.eye(2)[[0, 1, 0, 1]], 0.1)
    assert np.isfinite(loss)
    assert all(np.all(np.isfinite(s.value)) for s in model.slots)


# --- heads through a small model -------------------------------------------------------
def _model(mode, out, layers=(5,), head=None, head_sizes=None, **kw):
    return Model(None, list(layers), input_shape=(4,), output_shape=(out,), mode=mode, seed=3,
                 dtype="float64", head=head, head_sizes=head_sizes, init={"scheme": "normal", "std": 0.5}, **kw)


def _onehot(rng, n, k):
    return np.eye(k)[rng.integers(0, k, size=n)]


@pytest.mark.parametrize("case", ["regression-rmse", "regression-relative", "binary", "select", "multi-select"])
def test_head_loss_gradients_through_model(case):
    rng = np.random.default_rng(11)
    n = 6
    x = rng.standard_normal((n, 4))
    if case.startswith("regression"):
        model = _model("regression", 2, head={"metric": case.split("-")[1]})
        y = rng.standard_normal((n, 2)) + 3.0
    elif case == "binary":
        model = _model("binary", 1)
        y = rng.integers(0, 2, size=(n, 1)).astype(float)
    elif case == "select":
        model = _model("select", 3)
        y = _onehot(rng, n, 3)
    else:
        model = _model("multi-select", 7, head_sizes=(3, 4))
        y = np.concatenate([_onehot(rng, n, 3), _onehot(rng, n, 4)], axis=1)
    errors = check_model_gradients(model, x, y)
    assert set(errors) == {s.name for s in model.slots} and len(errors) == 4
    assert max(errors.values()) < TOL, errors


def test_head_backward_matches_numerical_dloss_doutput():
    """dL/do of each head alone, against central differences of head.loss."""
    from alzza.heads import make_head

    rng = np.random.default_rng(5)
    cases = [
        (make_head("regression"), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))),
        (make_head("binary"), rng.standard_normal((4, 1)) * 3, rng.integers(0, 2, (4, 1)).astype(float)),
        (make_head("select"), rng.standard_normal((4, 3)) * 3, _onehot(rng, 4, 3)),
        (make_head("multi-select", (3, 4)), rng.standard_normal((4, 7)) * 3,
         np.concatenate([_onehot(rng, 4, 3), _onehot(rng, 4, 4)], axis=1)),
    ]
    for head, out, y in cases:
        head.loss(out, y)
        analytic = head.backward().copy()
        numeric = numerical_grad(lambda: head.loss(out, y), out)
        assert relative_error(analytic, numeric) < TOL, head.mode


# --- decay -------------------------------------------------------------------------------
def _away_from_zero(model, margin=0.05):
    for s in model.slots:
        if s.decayed:
            s.value[...] = np.where(s.value >= 0, 1, -1) * np.maximum(np.abs(s.value), margin)


@pytest.mark.parametrize("decay", [{"l2_decay": 0.3}, {"l1_decay": 0.2}, {"l2_decay": 0.1, "l1_decay": 0.05}],
                         ids=["l2", "l1", "l1+l2"])
def test_decay_gradients_match_total_loss(decay):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4))
    y = _onehot(rng, 5, 3)
    model = _model("select", 3, layers=(6,), **decay)
    _away_from_zero(model)
    plain = _model("select", 3, layers=(6,))
    for a, b in zip(plain.slots, model.slots, strict=False):
        a.value[...] = b.value
    loss, _, _ = model.loss_and_backward(x, y)
    base, _, _ = plain.loss_and_backward(x, y)
    weights = [s.value for s in model.slots if s.decayed]
    assert len(weights) == 2  # the two w's, never the biases
    expected = decay.get("l2_decay", 0) / 2 * sum(float(np.sum(w * w)) for w in weights) \
        + decay.get("l1_decay", 0) * sum(float(np.sum(np.abs(w))) for w in weights)
    assert loss - base == pytest.approx(expected, rel=1e-12)
    errors = check_model_gradients(model, x, y)
    assert max(errors.values()) < TOL, errors
    # the decay really contributes (so the check above could fail without it)
    for s_plain, s in zip(plain.slots, model.slots, strict=False):
        if s.decayed:
            assert not np.allclose(model.optimizer.decayed_grad(s), s_plain.grad)
        else:
            np.testing.assert_array_equal(model.optimizer.decayed_grad(s), s_plain.grad)


# --- whole model -------------------------------------------------------------------------
@pytest.mark.parametrize("mode,out", [("regression", 2), ("select", 3)])
def test_two_hidden_layer_model_end_to_end(mode, out):
    rng = np.random.default_rng(9)
    layers = [6, ["full", {"width": 5, "actfunc": "tanh"}]]
    model = _model(mode, out, layers=layers)
    x = rng.standard_normal((4, 4))
    y = rng.standard_normal((4, out)) if mode == "regression" else _onehot(rng, 4, out)
    errors = check_model_gradients(model, x, y)
    assert len(errors) == 6
    assert max(errors.values()) < TOL, errors


def test_model_checker_refuses_float32_model():
    model = Model(None, [3], input_shape=(2,), output_shape=(1,), mode="regression", seed=0)
    with pytest.raises(TypeError, match="float64"):
        check_model_gradients(model, np.zeros((2, 2)), np.zeros((2, 1)))


def test_layer_checker_takes_sequences_with_mixed_lengths():
    """The library's checker works on sequence layers: padded steps carry no gradient."""
    from alzza.layers import LAYER_TYPES
    from alzza.sequences import Sequences, SeqShape

    rng = np.random.default_rng(3)
    x = Sequences(rng.normal(size=(3, 5, 2)), [5, 2, 1])
    layer = LAYER_TYPES["lstm"](recur_size=3)
    errors = check_layer_gradients(layer, SeqShape((5, 2)), x=x, training=True)
    assert max(e for e in errors.values() if e is not None) < 1e-6
