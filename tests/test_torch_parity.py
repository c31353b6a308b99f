"""Parity with PyTorch: the same weights in the equivalent torch module give the same
outputs, gradients, losses and optimiser steps."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed: parity tests need it")
F = torch.nn.functional

from alzza import Model  # noqa: E402
from alzza.heads import make_head  # noqa: E402
from alzza.layers.initializers import Initializer  # noqa: E402
from alzza.layers import BuildContext, Dense  # noqa: E402
from alzza.training.optimizers import SGD, Adam, Slot  # noqa: E402

ACTS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "none": lambda z: z}
TORCH_ACT = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "none": torch.nn.Identity}


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def close(ours, theirs, rtol=1e-10, atol=1e-12):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# --- Dense --------------------------------------------------------------------------------
@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_forward_and_gradients(act, dtype):
    rng = np.random.default_rng(4)
    layer = Dense(5, act)
    layer.build((2, 3), BuildContext(rng, np.dtype(dtype), Initializer("glorot")))
    layer.params["b"][...] = rng.standard_normal(5)
    x = rng.standard_normal((4, 2, 3)).astype(dtype)
    r = rng.standard_normal((4, 5)).astype(dtype)

    y = layer.forward(x.copy())
    dx = layer.backward(r.copy())
    assert y.dtype == dtype and dx.dtype == dtype

    lin = torch.nn.Linear(6, 5).double()
    with torch.no_grad():
        lin.weight.copy_(t64(layer.params["w"].T))
        lin.bias.copy_(t64(layer.params["b"]))
    tx = t64(x, grad=True)
    ty = ACTS[act](lin(tx.reshape(4, -1)))
    (ty * t64(r)).sum().backward()

    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    close(y, ty, **tol)
    close(dx, tx.grad, **tol)
    close(layer.grads["w"], lin.weight.grad.T, **tol)
    close(layer.grads["b"], lin.bias.grad, **tol)


# --- heads ---------------------------------------------------------------------------------
def _onehot(idx, k):
    return np.eye(k)[idx]


def _head_case(mode, rng, n=6):
    if mode == "regression":
        out, y = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
        return make_head("regression"), out, y, lambda o: F.mse_loss(o, t64(y))
    if mode == "binary":
        out, y = rng.standard_normal((n, 1)) * 4, rng.integers(0, 2, (n, 1)).astype(float)
        return make_head("binary"), out, y, lambda o: F.binary_cross_entropy_with_logits(o, t64(y))
    if mode == "select":
        idx = rng.integers(0, 4, n)
        out = rng.standard_normal((n, 4)) * 4
        return make_head("select"), out, _onehot(idx, 4), lambda o: F.cross_entropy(o, torch.tensor(idx))
    i1, i2 = rng.integers(0, 3, n), rng.integers(0, 4, n)
    out = rng.standard_normal((n, 7)) * 4
    y = np.concatenate([_onehot(i1, 3), _onehot(i2, 4)], axis=1)
    return (make_head("multi-select", (3, 4)), out, y,
            lambda o: F.cross_entropy(o[:, :3], torch.tensor(i1)) + F.cross_entropy(o[:, 3:], torch.tensor(i2)))


@pytest.mark.parametrize("mode", ["regression", "binary", "select", "multi-select"])
def test_head_loss_and_output_gradient(mode):
    head, out, y, torch_loss = _head_case(mode, np.random.default_rng(8))
    loss = head.loss(out, y)
    dout = head.backward()
    to = t64(out, grad=True)
    tl = torch_loss(to)
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12, abs=1e-14)
    close(dout, to.grad)


def test_binary_and_select_losses_stay_finite_on_huge_logits():
    out = np.array([[800.0], [-800.0]])
    y = np.array([[0.0], [1.0]])
    head = make_head("binary")
    loss = head.loss(out, y)
    tl = F.binary_cross_entropy_with_logits(t64(out), t64(y))
    assert np.isfinite(loss) and loss == pytest.approx(tl.item())
    head = make_head("select")
    out = np.array([[1000.0, -1000.0, 0.0]])
    loss = head.loss(out, np.array([[0.0, 1.0, 0.0]]))
    assert loss == pytest.approx(F.cross_entropy(t64(out), torch.tensor([1])).item())


# --- optimisers on one parameter with given gradients ----------------------------------------
def _run_ours(opt, p0, grads, lr):
    w = p0.copy()
    holder = {}
    slot = Slot("layers[0]/w", w, holder, "w", True)
    for g in grads:
        holder["w"] = g.copy()
        opt.step([slot], lr)
    return w


def _run_torch(make_opt, p0, grads):
    p = torch.nn.Parameter(t64(p0))
    opt = make_opt([p])
    for g in grads:
        p.grad = t64(g)
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("steps", [1, 3])
def test_adam_steps_match_torch(steps):
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) * s for s in (1.0, 0.01, 5.0)][:steps]
    ours = _run_ours(Adam(beta1=0.8, beta2=0.95, epsilon=1e-6), p0, grads, 0.01)
    theirs = _run_torch(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-6), p0, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours, p0)


def test_adam_bias_correction_uses_beta_to_the_power_t():
    """The pitfall: 1−β instead of 1−βᵗ. At t=1 both agree, so compare at t=2 and 3
    against a written-out reference, and show the wrong variant would differ."""
    rng = np.random.default_rng(2)
    p0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(3)]
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1

    def reference(power):
        p, m, v = p0.copy(), np.zeros(5), np.zeros(5)
        for t, g in enumerate(grads, start=1):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            k = t if power else 1
            p = p - lr * (m / (1 - b1 ** k)) / (np.sqrt(v / (1 - b2 ** k)) + eps)
        return p

    ours = _run_ours(Adam(), p0, grads, lr)
    np.testing.assert_allclose(ours, reference(True), rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours, reference(False), rtol=1e-3)
    # first step: m̂ = g, v̂ = g², so every entry moves by lr (up to ε)
    one = _run_ours(Adam(), p0, grads[:1], lr)
    np.testing.assert_allclose(np.abs(one - p0), lr, rtol=1e-6)


@pytest.mark.parametrize("steps", [1, 3])
def test_sgd_steps_match_torch(steps):
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((2, 3))
    grads = [rng.standard_normal((2, 3)) for _ in range(steps)]
    ours = _run_ours(SGD(), p0, grads, 0.05)
    theirs = _run_torch(lambda ps: torch.optim.SGD(ps, lr=0.05), p0, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


# --- whole models ----------------------------------------------------------------------------
def _torch_twin(model):
    """A torch Sequential with the same weights as ``model`` (Dense layers only)."""
    mods = []
    for layer in model.layers:
        lin = torch.nn.Linear(*layer.params["w"].shape).double()
        with torch.no_grad():
            lin.weight.copy_(t64(layer.params["w"].T))
            lin.bias.copy_(t64(layer.params["b"]))
        mods += [lin, TORCH_ACT[layer.actfunc]()]
    return torch.nn.Sequential(*mods)


def _linears(net):
    return [m for m in net if isinstance(m, torch.nn.Linear)]


def _compare_params(model, net, rtol=1e-10, atol=1e-12):
    for layer, lin in zip(model.layers, _linears(net), strict=False):
        close(layer.params["w"], lin.weight.T, rtol=rtol, atol=atol)
        close(layer.params["b"], lin.bias, rtol=rtol, atol=atol)


def _select_problem(rng, n=8, features=4, classes=3):
    x = rng.standard_normal((n, features))
    idx = rng.integers(0, classes, n)
    return x, idx, np.eye(classes)[idx]


def test_sgd_l2_decay_matches_torch_weight_decay_on_weights_only():
    rng = np.random.default_rng(5)
    lam, lr = 0.2, 0.1
    model = Model(None, [5], input_shape=(4,), output_shape=(3,), mode="select", seed=1, dtype="float64",
                  optimizer="sgd", l2_decay=lam, init={"scheme": "normal", "std": 0.5})
    for layer in model.layers:
        layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape)
    net = _torch_twin(model)
    lins = _linears(net)
    opt = torch.optim.SGD([
        {"params": [m.weight for m in lins], "weight_decay": lam},
        {"params": [m.bias for m in lins], "weight_decay": 0.0},
    ], lr=lr)
    for _ in range(3):
        x, idx, y = _select_problem(rng)
        loss, _ = model.train_step(x, y, lr)
        opt.zero_grad()
        decay_before = lam / 2 * sum(float((m.weight.detach() ** 2).sum()) for m in lins)
        tl = F.cross_entropy(net(t64(x)), torch.tensor(idx))
        tl.backward()
        # our loss is taken before the step: torch's loss + λ/2·Σw² before its step
        assert loss == pytest.approx(tl.item() + decay_before, rel=1e-12)
        opt.step()
        _compare_params(model, net)
    # the loss includes λ/2·Σw² (on the stepped weights, now identical in both)
    x, idx, y = _select_problem(rng)
    loss, _, _ = model.loss_and_backward(x, y)
    tl = F.cross_entropy(net(t64(x)), torch.tensor(idx)).item()
    decay = lam / 2 * sum(float((m.weight.detach() ** 2).sum()) for m in lins)
    assert loss == pytest.approx(tl + decay, rel=1e-12)


def test_adam_l2_decay_matches_torch_adam_weight_decay():
    rng = np.random.default_rng(6)
    lam, lr = 0.05, 0.01
    model = Model(None, [5], input_shape=(4,), output_shape=(3,), mode="select", seed=2, dtype="float64",
                  optimizer="adam", l2_decay=lam)
    net = _torch_twin(model)
    lins = _linears(net)
    opt = torch.optim.Adam([
        {"params": [m.weight for m in lins], "weight_decay": lam},
        {"params": [m.bias for m in lins], "weight_decay": 0.0},
    ], lr=lr)
    for _ in range(3):
        x, idx, y = _select_problem(rng)
        model.train_step(x, y, lr)
        opt.zero_grad()
        F.cross_entropy(net(t64(x)), torch.tensor(idx)).backward()
        opt.step()
    _compare_params(model, net, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_whole_model_training_steps_match_torch(optimizer, dtype):
    rng = np.random.default_rng(7)
    lr = 0.05
    model = Model(None, [6, ["full", {"width": 5, "actfunc": "tanh"}], ["full", {"width": 4, "actfunc": "sigmoid"}]],
                  input_shape=(2, 2), output_shape=(3,), mode="select", seed=3, dtype=dtype,
                  optimizer=optimizer, init={"scheme": "normal", "std": 0.4})
    net = _torch_twin(model)
    make = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = make(net.parameters(), lr=lr)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    for _ in range(3):
        x, idx, y = _select_problem(rng, features=4)
        x = x.reshape(-1, 2, 2)
        loss, acc = model.train_step(x, y, lr)
        opt.zero_grad()
        out = net(t64(x).reshape(len(x), -1))
        tl = F.cross_entropy(out, torch.tensor(idx))
        tl.backward()
        opt.step()
        assert loss == pytest.approx(tl.item(), rel=tol["rtol"] * 10)
        assert acc == pytest.approx(float((out.argmax(1).numpy() == idx).mean()))
        _compare_params(model, net, **tol)
    assert all(s.value.dtype == np.dtype(dtype) for s in model.slots)


def test_regression_and_binary_model_steps_match_torch():
    rng = np.random.default_rng(8)
    for mode, loss_fn in (("regression", F.mse_loss), ("binary", F.binary_cross_entropy_with_logits)):
        model = Model(None, [5], input_shape=(3,), output_shape=(1,), mode=mode, seed=4, dtype="float64",
                      optimizer="adam", init={"scheme": "normal", "std": 0.5})
        net = _torch_twin(model)
        opt = torch.optim.Adam(net.parameters(), lr=0.02)
        for _ in range(2):
            x = rng.standard_normal((6, 3))
            y = rng.integers(0, 2, (6, 1)).astype(float) if mode == "binary" else rng.standard_normal((6, 1))
            loss, _ = model.train_step(x, y, 0.02)
            opt.zero_grad()
            tl = loss_fn(net(t64(x)), t64(y))
            tl.backward()
            opt.step()
            assert loss == pytest.approx(tl.item(), rel=1e-10)
            _compare_params(model, net)
