"""The float32 policy: the hot layers compute in float32 end to end and make no float64.

How this is checked — tracemalloc sees allocations but not their dtype, so instead:

1. Every array reachable after a training step — outputs, gradients, parameters, the
   layers' caches and buffers, the optimiser's state — is inspected: no float64 anywhere.
2. Transient arrays (temporaries that die inside the step) are caught while they are
   made: the step runs on :class:`Watched` arrays, an ndarray subclass whose
   ``__array_ufunc__`` / ``__array_function__`` look at the dtype of every result (and
   ``out=`` target) of every NumPy operation with a watched operand and re-wrap the
   results, so everything computed from the data or the parameters stays watched. A
   float64 result anywhere (``x * np.float64(0.5)``, a ``np.zeros(shape)`` buffer mixed
   in, an ``astype(float)``) is recorded with the operation that made it.

Arrays that never meet data or parameters (a fresh ``np.empty(..., x.dtype)``) are not
seen by 2, but any float64 among them that is used in the computation shows up in a
result, and any that is kept shows up in 1.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from alzza import Model
from alzza.layers.registry import LAYER_TYPES


class Watched(np.ndarray):
    """An ndarray view that records every float64 a NumPy operation on it produces."""

    seen: ClassVar[list] = []

    @classmethod
    def _check(cls, what, arrays):
        for a in arrays:
            if isinstance(a, np.ndarray) and a.dtype == np.float64:
                cls.seen.append(f"{what} → float64 {a.shape}")

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        inputs = tuple(a.view(np.ndarray) if isinstance(a, Watched) else a for a in inputs)
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Watched) else o for o in out)
            Watched._check(f"{ufunc.__name__}.{method} out=", kwargs["out"])
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        results = result if isinstance(result, tuple) else (result,)
        Watched._check(f"{ufunc.__name__}.{method}", results)
        return _watch(result)

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, types, args, kwargs)
        results = result if isinstance(result, tuple) else (result,)
        Watched._check(getattr(func, "__name__", str(func)), results)
        return _watch(result)

    def astype(self, dtype, *args, **kwargs):
        result = super().astype(dtype, *args, **kwargs)
        Watched._check("astype", (result,))
        return result


def _watch(result):
    if type(result) is np.ndarray:
        return result.view(Watched)
    if isinstance(result, tuple):
        return tuple(_watch(r) for r in result)
    return result


def _arrays(obj, seen=None, depth=0):
    """Every ndarray reachable from obj through attributes, dicts, lists and tuples."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        yield obj
        return
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple)):
        items = obj
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(("alzza", __name__)):
        items = vars(obj).values()
    else:
        return
    for item in items:
        yield from _arrays(item, seen, depth + 1)


IMAGE_LAYERS = [
    ["conv", {"ksize": 3, "chn": 6, "actions": "LAB"}],
    ["max", {"stride": 2}],                                              # tiled max pool (argmax stages)
    ["add", {"x": True, "actions": "AB"}, ["conv", {"ksize": 3, "chn": 6}]],
    ["max", {"ksize": 3, "stride": 2}],                                  # overlapping, padded max pool
    ["batch_normal"],
    ["conv", {"ksize": 3, "chn": 12, "actfunc": "sigmoid"}],
    ["avg", {"stride": 2}],
    ["dropout", {"keep_prob": 0.8}],
    ["full", {"width": 8, "actfunc": "tanh"}],
]


def _image_model(optimizer, decay):
    return Model(None, IMAGE_LAYERS, optimizer=optimizer, l2_decay=decay, seed=3, input_shape=(12, 12, 3),
                 output_shape=(4,), mode="select", printer=lambda *a: None)


def _sequence_model(kind):
    return Model(None, [[kind, {"recur_size": 6, "outseq": False}], ["dropout", {"keep_prob": 0.9}]],
                 optimizer="adam", seed=3, input_shape=(5, 4), output_shape=(1,), mode="binary",
                 printer=lambda *a: None)


def _watched_step(model, x, y, steps=2):
    """Training steps with parameters and data watched; returns the float64s seen."""
    originals = {}
    for layer in model.network.walk():
        for key, value in list(layer.params.items()):
            originals[(id(layer), key)] = value
            layer.params[key] = value.view(Watched)  # same memory: the optimiser still updates it
    Watched.seen = []
    try:
        for _ in range(steps):
            loss, _ = model.train_step(x.view(Watched), y, 0.01)
            model.forward(x.view(Watched))  # inference path too
    finally:
        for layer in model.network.walk():
            for key in list(layer.params):
                layer.params[key] = originals[(id(layer), key)]
    assert np.isfinite(loss)
    return list(Watched.seen)


def _check_model(model, x, y):
    assert model.dtype == np.float32
    seen = _watched_step(model, x, y)
    assert not seen, "float64 made during a training step:\n" + "\n".join(sorted(set(seen)))
    kept = [a for a in _arrays(model) if a.dtype == np.float64]
    assert not kept, f"float64 arrays kept by the model after a step: {[a.shape for a in kept]}"
    out = model.forward(x)
    assert out.dtype == np.float32
    for slot in model.slots:
        assert slot.value.dtype == np.float32, slot.name
        assert slot.grad.dtype == np.float32, slot.name
    for name, a in model.optimizer.state_arrays().items():
        if not name.endswith("/t"):
            assert a.dtype == np.float32, name


@pytest.mark.parametrize("optimizer,decay", [("sgd", 0.0), ("sgd", 0.01), ("adam", 0.0), ("adam", 0.01)])
def test_image_layers_stay_float32(optimizer, decay):
    rng = np.random.default_rng(0)
    model = _image_model(optimizer, decay)
    x = rng.standard_normal((5, 12, 12, 3), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 5)]
    _check_model(model, x, y)


def test_mlp_stays_float32():
    rng = np.random.default_rng(1)
    model = Model(None, [6, ["full", {"width": 4, "actfunc": "sigmoid"}]], seed=1, input_shape=(8,),
                  output_shape=(1,), mode="binary", printer=lambda *a: None)
    x = rng.standard_normal((7, 8), dtype=np.float32)
    y = rng.integers(0, 2, (7, 1)).astype(np.float32)
    _check_model(model, x, y)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_layers_stay_float32(kind):
    if kind not in LAYER_TYPES:
        pytest.skip(f"layer type {kind!r} not written yet")
    rng = np.random.default_rng(2)
    model = _sequence_model(kind)
    x = rng.standard_normal((3, 5, 4), dtype=np.float32)
    y = rng.integers(0, 2, (3, 1)).astype(np.float32)
    _check_model(model, x, y)


@pytest.mark.parametrize("layers,input_shape", [
    ([6, ["layer_normal"], ["full", {"width": 4, "actfunc": "tanh"}], ["layer_normal", {"rescale": False}]], (8,)),
    ([["gru", {"recur_size": 6, "reset_after": False}], ["layer_normal"], ["gru", {"recur_size": 5, "outseq": False}]],
     (5, 4)),
], ids=["rows", "sequences"])
def test_layer_norm_and_the_paper_gru_stay_float32(layers, input_shape):
    rng = np.random.default_rng(3)
    model = Model(None, layers, optimizer="adam", seed=3, input_shape=input_shape, output_shape=(1,),
                  mode="binary", printer=lambda *a: None)
    x = rng.standard_normal((3,) + input_shape, dtype=np.float32)
    y = rng.integers(0, 2, (3, 1)).astype(np.float32)
    _check_model(model, x, y)


def test_the_watcher_catches_an_upcast():
    """The check itself works: a float64 scalar or buffer mixed in is reported."""
    a = np.ones(3, np.float32).view(Watched)
    Watched.seen = []
    _ = a * np.float64(2.0)
    _ = a + np.zeros(3)
    b = a * 2.0  # a Python float is weak: stays float32
    assert b.dtype == np.float32
    assert len(Watched.seen) == 2
