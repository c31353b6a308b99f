"""Numerical gradient checks for layers and models (NumPy only; part of the library).

Use them to verify a layer you wrote yourself::

    from alzza.testing import check_layer
    check_layer(MyLayer, {"width": 4}, input_shape=(5, 5, 3))   # the whole layer contract

    from alzza.testing import check_layer_gradients
    errors = check_layer_gradients(MyLayer(width=4), input_shape=(5, 5, 3))
    assert max(e for e in errors.values() if e is not None) < 1e-6

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

from .device import get_device, to_host
from .layers.initializers import Initializer
from .errors import LayerContractError
from .layers.base import BuildContext, check_gradients
from .sequences import Sequences

__all__ = ["numerical_grad", "relative_error", "check_layer", "check_layer_gradients", "check_built_layer_gradients",
           "check_model_gradients"]


def relative_error(analytic, numerical, floor: float = 1e-8) -> float:
    """‖a − n‖₂ / max(floor, ‖a‖₂ + ‖n‖₂) (see the module docstring for why a norm, and
    :func:`case_floor` for the floor a check of several arrays uses)."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"gradient shapes differ: analytic {a.shape}, numerical {n.shape}")
    diff = float(np.linalg.norm((a - n).ravel()))
    scale = float(np.linalg.norm(a.ravel()) + np.linalg.norm(n.ravel()))
    return diff / max(floor, scale)


def case_floor(numericals, size: int) -> float:
    """The scale an array of ``size`` compared entries is judged against, in a check whose
    arrays have the numerical gradients ``numericals``: the largest RMS entry among them
    times √size (at least 1e-8).

    An array whose true gradient is exactly zero (the bias of a conv before batch norm)
    gets only round-off from the central differences; against its own size (0) that is
    an error of ~1, against the scale of the case it is ~1e-10 — as the torch parity
    tests judge with an absolute tolerance besides the relative one.
    """
    rms = max((float(np.sqrt(np.mean(np.square(n)))) for n in numericals if np.size(n)), default=0.0)
    return max(1e-8, rms * float(np.sqrt(max(1, size))))


def _judged(compared: dict) -> dict:
    """{name: (analytic, numerical)} → {name: relative error against the case's scale}."""
    numericals = [n for _, n in compared.values()]
    return {name: relative_error(a, n, case_floor(numericals, np.size(n))) for name, (a, n) in compared.items()}


def numerical_grad(f, array: np.ndarray, eps: float = 1e-6, indices=None) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``.

    ``array`` (float64) is perturbed in place one entry at a time — ``f`` must read it
    (e.g. it is a layer's parameter or the input it is called with) — and restored to
    its exact original value afterwards. Returns a float64 array of ``array``'s shape:
    g[i] = (f(a + ε·e_i) − f(a − ε·e_i)) / 2ε. With ``indices`` (flat indices) only
    those entries are computed and returned, in that order (for big arrays).
    """
    if not hasattr(array, "shape") or array.dtype != np.float64:  # a host or device array
        got = array.dtype if hasattr(array, "dtype") else type(array).__name__
        raise TypeError(f"numerical_grad needs a float64 ndarray (float32 round-off swamps ε), got {got}")
    if indices is not None:
        positions = [np.unravel_index(int(i), array.shape) for i in indices]
        grad = np.zeros(len(positions), dtype=np.float64)
        for k, idx in enumerate(positions):
            grad[k] = _central_difference(f, array, idx, eps)
        return grad
    grad = np.zeros(array.shape, dtype=np.float64)
    for idx in np.ndindex(array.shape):
        grad[idx] = _central_difference(f, array, idx, eps)
    return grad


def _central_difference(f, array, idx, eps):
    """(f(a + ε·e_idx) − f(a − ε·e_idx)) / 2ε, leaving ``array`` exactly as it was."""
    old = array[idx]
    array[idx] = old + eps
    f_plus = float(f())
    array[idx] = old - eps
    f_minus = float(f())
    array[idx] = old
    return (f_plus - f_minus) / (2.0 * eps)


def _check_input_gradient(layer, dx, x) -> None:
    """LayerContractError unless ``dx`` is dL/dx of ``x``'s shape (None only without needs_input_grad)."""
    where = layer.path or layer.type_name
    if dx is None:
        if layer.needs_input_grad:
            raise LayerContractError(f"{where}: backward returned None, but needs_input_grad is True: it must "
                                     "return dL/dx")
        return
    values = _values(dx)
    if not isinstance(values, np.ndarray) and type(values) is not type(_values(x)):
        raise LayerContractError(f"{where}: backward returned {type(dx).__name__}, not dL/dx as an array")
    if values.shape != _values(x).shape:
        raise LayerContractError(f"{where}: backward returned dL/dx of shape {values.shape}, but the input has "
                                 f"shape {_values(x).shape}")


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


def _on_device(layer, x, device):
    """``layer`` (built on the host) and ``x`` moved to ``device``, as a model moves its layers;
    the default device is what $ALZZA_DEVICE says, so the stand-in suite checks layers there."""
    if device.is_host:
        return x
    for sub in layer.walk():
        for store in (sub.params, sub.state):
            for key, value in store.items():
                store[key] = device.asarray(value)
        if hasattr(sub, "to_device"):
            sub.to_device(device)
        if hasattr(sub, "array_rng"):
            sub.array_rng = device.generator(0)
    if isinstance(x, Sequences):
        return Sequences(device.asarray(x.data), x.lengths)
    return device.asarray(x)


def _copy(x):
    return Sequences(x.data.copy(), x.lengths) if isinstance(x, Sequences) else x.copy()


def _values(v):
    """The array inside a layer's output or input (a Sequences' padded data)."""
    return v.data if isinstance(v, Sequences) else v


def _sampled(rng, array, entries):
    """Flat indices of at most ``entries`` entries of ``array`` (None: every entry)."""
    if entries is None or array.size <= entries:
        return None
    return np.sort(rng.choice(array.size, size=entries, replace=False))


def _compare(analytic, loss, array, eps, indices, good=1e-7):
    """(analytic, numerical): ``analytic`` (the compared entries) and the central
    differences of ``loss`` over ``array`` at the step that agrees best with it.

    ``eps`` may be a sequence of steps: the smallest error among them is kept. Round-off
    swamps small steps when activations are large (unscaled inputs), truncation large
    steps near kinks; a wrong backward is wrong at every step. The error itself is judged
    by :func:`_judged`, against the scale of the whole check.
    """
    analytic = np.asarray(to_host(analytic), dtype=np.float64)
    if indices is not None:
        analytic = analytic.ravel()[indices]
    best, chosen = np.inf, None
    for step in (eps if isinstance(eps, (tuple, list)) else (eps,)):
        numerical = numerical_grad(loss, array, step, indices)
        error = relative_error(analytic, numerical)
        if chosen is None or error < best:
            best, chosen = error, numerical
        if best < good:
            break  # good enough: further steps could only lower it
    return analytic, chosen


class _FixedRandomness:
    """Every call re-seeds the generators of the layers that draw (dropout, noise), so a
    random training forward gives the same output each time it is evaluated; ``restore``
    puts the original generators back. On a device, the layers' device generators
    (``array_rng``) are re-seeded the same way, from ``device``'s generator."""

    def __init__(self, layers, seed: int = 0, device=None):
        walked = [layer for top in layers for layer in top.walk()]
        self.owners = [layer for layer in walked if isinstance(getattr(layer, "rng", None), np.random.Generator)]
        self.original = [layer.rng for layer in self.owners]
        self.device_owners = [layer for layer in walked if getattr(layer, "array_rng", None) is not None]
        self.device_original = [layer.array_rng for layer in self.device_owners]
        self.device = get_device(device) if self.device_owners else None
        self.seed = seed

    def __call__(self):
        for i, layer in enumerate(self.owners):
            layer.rng = np.random.default_rng(self.seed + i)
        for i, layer in enumerate(self.device_owners):
            layer.array_rng = self.device.generator(self.seed + i)

    def restore(self):
        for layer, rng in zip(self.owners, self.original, strict=False):
            layer.rng = rng
        for layer, rng in zip(self.device_owners, self.device_original, strict=False):
            layer.array_rng = rng


def check_layer_gradients(layer, input_shape, batch: int = 3, rng=None, *, x=None, init=None,
                          eps: float = 1e-6, tol: float | None = None, entries: int | None = None,
                          **forward_kwargs) -> dict:
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
    is not below it. ``entries`` limits the check to that many random entries per array.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    init = init if init is not None else Initializer("glorot")
    layer.build(tuple(input_shape), BuildContext(rng, np.dtype(np.float64), init))
    if x is None:
        x = rng.standard_normal((batch,) + tuple(input_shape))
    return check_built_layer_gradients(layer, x, rng=rng, eps=eps, tol=tol, entries=entries, **forward_kwargs)


def check_built_layer_gradients(layer, x, *, rng=None, eps: float = 1e-6, tol: float | None = None,
                                entries: int | None = None, device=None, **forward_kwargs) -> dict:
    """:func:`check_layer_gradients` for a layer already built in float64, at its own
    weights, on the input ``x`` (e.g. the activations a model feeds it). A host-built layer
    is moved to ``device`` first (None: the default device, ``$ALZZA_DEVICE``)."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    x = _on_device(layer, _float64_copy(to_host(x)), get_device(device))  # our own copy: perturbed in place
    fixed = _FixedRandomness([layer], device=device)

    def forward():
        fixed()
        return _values(layer.forward(_copy(x), **forward_kwargs))

    try:
        out = forward()
        if not isinstance(out, np.ndarray) and type(out) is not type(_values(x)):
            raise LayerContractError(f"{layer.path or layer.type_name}: forward returned {type(out).__name__}, "
                                     "not an array")
        declared = getattr(layer, "output_shape", None)
        if declared is not None and not isinstance(x, Sequences) and tuple(out.shape[1:]) != tuple(declared):
            raise LayerContractError(f"{layer.path or layer.type_name}: forward returned shape {out.shape}, "
                                     f"but the layer declared {tuple(declared)} per example when it was built")
        r = rng.standard_normal(out.shape)
        r = r if isinstance(out, np.ndarray) else get_device(device).asarray(r)  # the weights on out's device

        def loss():
            return float((forward() * r).sum())

        # analytic gradients first: the numerical passes overwrite the forward caches
        forward()
        dx = layer.backward(r.copy())
        _check_input_gradient(layer, dx, x)
        check_gradients(list(layer.walk()))  # one clear error for missing or extra gradients
        params = []
        for i, sub in enumerate(layer.walk()):
            for key, value in sub.params.items():
                params.append((_param_name(sub, i, key), value, np.array(to_host(sub.grads[key]), dtype=np.float64)))

        compared = {}
        if dx is not None:
            xv = _values(x)
            compared["x"] = _compare(_values(dx), loss, xv, eps, _sampled(rng, xv, entries))
        for name, value, analytic in params:
            if value.dtype != np.float64:
                raise TypeError(f"{name} is {value.dtype}; the layer must create parameters in ctx.dtype")
            compared[name] = _compare(analytic, loss, value, eps, _sampled(rng, value, entries))
        errors = {"x": None, **_judged(compared)}
        # leave caches and grads as they are for the unperturbed input
        forward()
        layer.backward(r.copy())
    finally:
        fixed.restore()
    return _check(errors, tol)


def check_model_gradients(model, x, y, *, eps: float = 1e-6, tol: float | None = None,
                          entries: int | None = None, rng=None) -> dict:
    """Compare ``model.loss_and_backward`` gradients with numerical ones, for every slot.

    The model must be float64 (``Model(..., dtype='float64')``). The loss is the
    model's whole loss — the head's loss plus any L1/L2 decay terms — so decay
    gradients are checked too: the analytic gradient of slot s is taken as
    ``optimizer.decayed_grad(s)``, i.e. the gradient the optimiser would apply.
    Layers that draw random numbers in training (dropout, noise) draw the same ones at
    every evaluation. ``entries`` limits the check to that many random entries per slot.
    Returns ``{slot name: relative error}``; with ``tol``, raise if any is not below it.
    Afterwards the layers' ``grads`` hold the gradients at the unperturbed parameters.
    """
    if np.dtype(model.dtype) != np.float64:
        raise TypeError(f"check_model_gradients needs a float64 model (dtype='float64'), got {model.dtype}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    x = _float64_copy(to_host(x))
    y = np.array(y, dtype=np.float64)
    fixed = _FixedRandomness(model.network.layers if hasattr(model, "network") else
                             [part.network for part in model.route],
                             device=getattr(getattr(model, "runtime", None), "device", None))

    def loss():
        fixed()
        return model.training_loss(x, y)[0]  # forward only: the numerical side needs no backward

    try:
        fixed()
        model.loss_and_backward(x, y)
        analytic = {s.name: np.array(to_host(model.optimizer.decayed_grad(s)), dtype=np.float64) for s in model.slots}
        compared = {}
        for slot in model.slots:
            compared[slot.name] = _compare(analytic[slot.name], loss, slot.value, eps,
                                           _sampled(rng, slot.value, entries))
        errors = _judged(compared)
        fixed()
        model.loss_and_backward(x, y)  # leave every grads dict as it is for the unperturbed parameters
    finally:
        fixed.restore()
    return _check(errors, tol)


def check_layer(layer_class, options: dict | None = None, input_shape=(4,), *, batch: int = 3, seed: int = 0,
                tol: float = 1e-6, children=None, inputs=None) -> dict:
    """The contract test for a layer class of your own (or a shipped one).

    ``layer_class(**options)`` (``children`` first when the class takes children) must:

    * give gradients (dL/dx and every parameter's) that match central differences in
      float64 below ``tol`` (:func:`check_layer_gradients`);
    * keep float32 float32: built with float32, its output, dL/dx and every gradient are
      float32;
    * return None from backward when ``needs_input_grad`` is False, and still fill grads;
    * leave ``dy`` untouched, and return a dL/dx the caller owns (a second backward does
      not change the first result);
    * have exactly the keys of ``params`` in ``grads`` after backward;
    * write a spec that the spec front end reads back to the same layer (it must be
      registered with ``@register_layer``), and survive a save / load round trip inside
      a model with the same output.

    ``inputs(rng, dtype, batch)``, when given, makes the inputs instead of standard normal
    data (token ids for an embedding).

    Raises AssertionError naming the first broken rule; returns the gradient errors.
    """
    import copy
    import tempfile
    from pathlib import Path

    from .errors import AlzzaError
    from .layers import LAYER_TYPES
    from .sequences import SeqShape, is_sequence_shape

    options = dict(options or {})
    name = getattr(layer_class, "__name__", repr(layer_class))

    def make():
        if children is not None:
            return layer_class(copy.deepcopy(children), **options)
        return layer_class(**options)

    def sample(rng, dtype):
        if inputs is not None:
            return inputs(rng, dtype, batch)
        if is_sequence_shape(input_shape):
            t = input_shape[0]
            lengths = np.full(batch, t, dtype=np.int64)
            lengths[0] = max(1, t - 1)
            data = rng.standard_normal((batch,) + tuple(input_shape)).astype(dtype)
            return Sequences(data, lengths)
        return rng.standard_normal((batch,) + tuple(input_shape)).astype(dtype)

    def fail(rule, detail=""):
        raise AssertionError(f"check_layer({name}, {options}): {rule}" + (f" — {detail}" if detail else ""))

    shape = SeqShape(input_shape) if isinstance(input_shape, SeqShape) else tuple(input_shape)
    # 1. gradients in float64
    rng = np.random.default_rng(seed)
    layer = make()
    layer.attach("layer")
    try:
        errors = check_layer_gradients(layer, shape, batch, rng, x=sample(rng, np.float64), training=True)
    except LayerContractError as exc:
        fail("grads has exactly the keys of params, shapes and dtypes kept", str(exc))
    bad = {k: v for k, v in errors.items() if v is not None and not v < tol}
    if bad:
        fail(f"gradients differ from central differences (tolerance {tol})", str(bad))

    # 2.-5. float32, dy untouched, caller-owned dx, grads keys, needs_input_grad=False
    rng = np.random.default_rng(seed)
    layer = make()
    layer.attach("layer")
    out_shape = layer.build(shape, BuildContext(rng, np.dtype(np.float32), Initializer("glorot")))
    for sub in layer.walk():
        for key, value in sub.params.items():
            if value.dtype != np.float32:
                fail("parameters are created in ctx.dtype", f"{sub.path}/{key} is {value.dtype} in a float32 build")
    x = sample(rng, np.float32)
    y = layer.forward(x, training=True)
    if _values(y).dtype != np.float32:
        fail("float32 stays float32", f"forward returned {_values(y).dtype}")
    dy = rng.standard_normal(_values(y).shape).astype(np.float32)
    dy_before = dy.copy()
    dx = layer.backward(dy)
    if not np.array_equal(dy, dy_before):
        fail("backward leaves dy untouched", "dy was modified in place")
    if dx is None:
        fail("backward returns dL/dx when needs_input_grad is True")
    if _values(dx).dtype != np.float32:
        fail("float32 stays float32", f"backward returned dL/dx of {_values(dx).dtype}")
    try:
        check_gradients(list(layer.walk()))
    except AlzzaError as exc:
        fail("grads has exactly the keys of params, shapes and dtypes kept", str(exc))
    kept = np.array(_values(dx), copy=True)
    layer.forward(sample(rng, np.float32), training=True)
    layer.backward(rng.standard_normal(_values(y).shape).astype(np.float32))
    if not np.array_equal(_values(dx), kept):
        fail("a returned gradient belongs to the caller", "the next backward overwrote the first dL/dx "
             "(it is a view of a buffer the layer reuses: return a copy)")
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    if layer.backward(dy) is not None:
        fail("backward returns None when needs_input_grad is False")
    try:
        check_gradients(list(layer.walk()))
    except AlzzaError as exc:
        fail("grads are filled when needs_input_grad is False", str(exc))

    # 6. the spec round trip
    from .spec import parse_layer

    spec = make().to_spec()
    if LAYER_TYPES.get(layer_class.type_name) is not layer_class:
        fail("the class is registered",
             f"decorate it with @register_layer('name') (type_name is {layer_class.type_name!r})")
    again = parse_layer(spec, "layers[0]")
    if type(again) is not layer_class or again.to_spec() != spec:
        fail("the spec reads back to the same layer", f"{spec} became {again.to_spec()}")

    # 7. save / load inside a model
    from .saving.model_files import load_model
    from .models import Model

    sequence_out = is_sequence_shape(out_shape)
    model = Model(None, [make()], input_shape=shape, output_shape=(out_shape[0], 2) if sequence_out else (2,),
                  mode="seqselect" if sequence_out else "regression", seed=seed, printer=lambda *a: None)
    x = sample(np.random.default_rng(seed + 1), np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layer.npz"
        model.save(path)
        loaded = load_model(path, printer=lambda *a: None)
    if not np.array_equal(to_host(_values(model.forward(x))), to_host(_values(loaded.forward(x)))):
        fail("a model using the layer saves and loads to the same outputs")
    return errors
