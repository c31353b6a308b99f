"""Numerical gradient checks for layers and models (NumPy only; part of the library).

Use them to verify a layer you wrote yourself::

    from alzza.testing import check_layer_gradients
    errors = check_layer_gradients(MyLayer(...), input_shape=(5, 5, 3))
    assert max(errors.values()) < 1e-6

How the check works
-------------------
Everything runs in float64. For a layer, a fixed random array ``R`` of the output's
shape defines the scalar loss

    L(x, θ) = Σ (y ⊙ R),   y = layer.forward(x)

so dL/dy = R. ``layer.backward(R)`` gives the analytic dL/dx and fills ``grads``; the
numerical gradient of every entry is the central difference

    ∂L/∂a ≈ (L(a + ε) − L(a − ε)) / 2ε        (error O(ε²), ε = 1e-6 by default)

taken by perturbing the array in place and restoring it.

Relative error (norm based)
---------------------------
For the analytic gradient ``a`` and the numerical one ``n`` of one array we report

    err = ‖a − n‖₂ / max(1e-8, ‖a‖₂ + ‖n‖₂)

A norm-based error is used rather than the elementwise maximum of
``|a−n| / (|a|+|n|)``: entries whose true gradient is (almost) zero — a ReLU that is
off, a bias of an unused unit — carry ~1e-10 of round-off noise in the central
difference, which makes the elementwise ratio ~1 although nothing is wrong. The norm
version weighs each entry by its size and stays ~1e-9 for a correct float64 backward,
while a wrong formula (a missing factor, a transposed product, a wrong sign) gives
errors of order 0.1–1. A good float64 check is below ~1e-6.

Randomness: layers whose forward is random in training mode (dropout, noise) must be
checked with ``training=False`` or with their randomness fixed, since the loss is
evaluated many times.
"""

from __future__ import annotations

import numpy as np

from .init import Initializer
from .layers.base import BuildContext
from .sequences import Sequences

__all__ = ["numerical_grad", "relative_error", "check_layer_gradients", "check_model_gradients"]


def relative_error(analytic, numerical) -> float:
    """‖a − n‖₂ / max(1e-8, ‖a‖₂ + ‖n‖₂) (see the module docstring for why a norm)."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"gradient shapes differ: analytic {a.shape}, numerical {n.shape}")
    diff = float(np.linalg.norm((a - n).ravel()))
    scale = float(np.linalg.norm(a.ravel()) + np.linalg.norm(n.ravel()))
    return diff / max(1e-8, scale)


def numerical_grad(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``.

    ``array`` (float64) is perturbed in place one entry at a time — ``f`` must read it
    (e.g. it is a layer's parameter or the input it is called with) — and restored to
    its exact original value afterwards. Returns a float64 array of ``array``'s shape:
    g[i] = (f(a + ε·e_i) − f(a − ε·e_i)) / 2ε.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(f"numerical_grad needs a float64 ndarray (float32 round-off swamps ε), got {got}")
    grad = np.zeros(array.shape, dtype=np.float64)
    it = np.nditer(array, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        idx = it.multi_index
        old = array[idx]
        array[idx] = old + eps
        f_plus = float(f())
        array[idx] = old - eps
        f_minus = float(f())
        array[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def _param_name(layer, index: int, key: str) -> str:
    where = layer.path or f"{layer.type_name}#{index}"
    return f"{where}/{key}"


def _check(errors: dict, tol):
    if tol is not None:
        bad = {k: v for k, v in errors.items() if v is not None and not v < tol}
        if bad:
            raise AssertionError(f"gradient check failed (tolerance {tol}): {bad}")
    return errors


def _float64_copy(x):
    """A float64 copy of an array or of a Sequences' data (lengths kept)."""
    if isinstance(x, Sequences):
        return Sequences(np.array(x.data, dtype=np.float64), x.lengths.copy())
    return np.array(x, dtype=np.float64)


def _copy(x):
    return Sequences(x.data.copy(), x.lengths) if isinstance(x, Sequences) else x.copy()


def _values(v):
    """The array inside a layer's output or input (a Sequences' padded data)."""
    return v.data if isinstance(v, Sequences) else v


def check_layer_gradients(layer, input_shape, batch: int = 3, rng=None, *, x=None, init=None,
                          eps: float = 1e-6, tol: float | None = None, **forward_kwargs) -> dict:
    """Build ``layer`` in float64 and compare its backward with numerical gradients.

    The layer is built for ``input_shape`` (batch axis excluded) with
    ``BuildContext(rng, float64, init)`` — ``init`` defaults to Glorot, so weights are
    well scaled; ``rng`` is a Generator or a seed (default 0). The input is ``x`` if
    given, else standard normal of shape ``(batch,) + input_shape``. ``forward_kwargs``
    go to every ``layer.forward`` call (e.g. ``training=True``).

    Returns ``{'x': err, '<path>/<key>': err, ...}``: the relative error (see
    :func:`relative_error`) of dL/dx and of every parameter's gradient in the layer and
    its sub-layers. ``'x'`` is ``None`` when the layer returns no input gradient
    (``needs_input_grad`` False). With ``tol`` given, raise AssertionError if any error
    is not below it.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    init = init if init is not None else Initializer("glorot")
    layer.build(tuple(input_shape), BuildContext(rng, np.dtype(np.float64), init))
    if x is None:
        x = rng.standard_normal((batch,) + tuple(input_shape))
    x = _float64_copy(x)  # our own copy: it is perturbed in place

    y = _values(layer.forward(_copy(x), **forward_kwargs))
    r = rng.standard_normal(y.shape)

    def loss():
        return float(np.sum(_values(layer.forward(_copy(x), **forward_kwargs)) * r))

    # analytic gradients first: the numerical passes overwrite the forward caches
    layer.forward(_copy(x), **forward_kwargs)
    dx = layer.backward(r.copy())
    params = []
    for i, sub in enumerate(layer.walk()):
        for key, value in sub.params.items():
            params.append((_param_name(sub, i, key), value, np.array(sub.grads[key], dtype=np.float64)))

    errors = {"x": None if dx is None else relative_error(dx, numerical_grad(loss, _values(x), eps))}
    for name, value, analytic in params:
        if value.dtype != np.float64:
            raise TypeError(f"{name} is {value.dtype}; the layer must create parameters in ctx.dtype")
        errors[name] = relative_error(analytic, numerical_grad(loss, value, eps))
    # leave caches and grads as they are for the unperturbed input
    layer.forward(_copy(x), **forward_kwargs)
    layer.backward(r.copy())
    return _check(errors, tol)


def check_model_gradients(model, x, y, *, eps: float = 1e-6, tol: float | None = None) -> dict:
    """Compare ``model.loss_and_backward`` gradients with numerical ones, for every slot.

    The model must be float64 (``Model(..., dtype='float64')``). The loss is the
    model's whole loss — the head's loss plus any L1/L2 decay terms — so decay
    gradients are checked too: the analytic gradient of slot s is taken as
    ``optimizer.decayed_grad(s)``, i.e. the gradient the optimiser would apply.
    Returns ``{slot name: relative error}``; with ``tol``, raise if any is not below it.
    Afterwards the layers' ``grads`` hold the gradients at the unperturbed parameters.
    """
    if np.dtype(model.dtype) != np.float64:
        raise TypeError(f"check_model_gradients needs a float64 model (dtype='float64'), got {model.dtype}")
    x = _float64_copy(x)
    y = np.array(y, dtype=np.float64)

    def loss():
        return model.loss_and_backward(x, y)[0]

    model.loss_and_backward(x, y)
    analytic = {s.name: np.array(model.optimizer.decayed_grad(s), dtype=np.float64) for s in model.slots}
    errors = {}
    for slot in model.slots:
        errors[slot.name] = relative_error(analytic[slot.name], numerical_grad(loss, slot.value, eps))
    loss()  # leave every grads dict as it is for the unperturbed parameters
    return _check(errors, tol)
