"""The layer contract (layers/base.py): naming by place in the tree, options declared once,
parameter dtypes, gradient keys, and gradients that belong to the caller."""

from __future__ import annotations

import numpy as np
import pytest

import alzza
from alzza import Model, SpecError
from alzza.errors import LayerContractError
from alzza.layers import LAYER_TYPES, Dense, Layer, Serial
from alzza.layers.composite import Add, Loop, Parallel
from alzza.layers.conv import Conv2D
from alzza.layers.pool import MaxPool
from alzza.layers.recurrent import LSTM
from alzza.spec import parse_layer

from _build import build_layer
from test_model_core import TinyDataset


def quiet(*_):
    pass


# --- item 1a: a model built from Python objects is the same thing as one built from a spec ---
def test_object_built_model_names_summarises_saves_and_trains_like_its_spec(tmp_path):
    data = TinyDataset()
    objects = Model(data, [Dense(8, "tanh"), Dense(8, "tanh")], optimizer="adam", seed=3, printer=quiet)
    spec = Model(data, [["full", {"width": 8, "actfunc": "tanh"}]] * 2, optimizer="adam", seed=3, printer=quiet)
    names = [s.name for s in objects.slots]
    assert names == ["layers[0]/w", "layers[0]/b", "layers[1]/w", "layers[1]/b", "output/w", "output/b"]
    assert names == [s.name for s in spec.slots]

    text = objects.summary(print_it=False)
    rows = [line.split()[0] for line in text.splitlines()[4:-2]]
    assert rows == ["layers[0]", "layers[1]", "output"]
    assert "network" not in text

    objects.train(epochs=2, batch_size=10, learning_rate=0.01)
    spec.train(epochs=2, batch_size=10, learning_rate=0.01)
    for a, b in zip(objects.slots, spec.slots, strict=False):
        np.testing.assert_array_equal(a.value, b.value)  # bit-identical, Adam moments unshared

    path = tmp_path / "objects.npz"
    objects.save(path)
    loaded = alzza.load(path, printer=quiet)
    assert loaded.config()["layers"] == objects.config()["layers"] == [["full", {"width": 8, "actfunc": "tanh"}]] * 2
    x = data.test_data()[0]
    np.testing.assert_array_equal(loaded.forward(x), objects.forward(x))
    # training goes on identically after the round trip (optimiser state saved under unique names)
    loaded.dataset = data
    loaded.rng = np.random.default_rng(5)
    objects.rng = np.random.default_rng(5)
    loaded.train(epochs=1, batch_size=10, learning_rate=0.01)
    objects.train(epochs=1, batch_size=10, learning_rate=0.01)
    for a, b in zip(objects.slots, loaded.slots, strict=False):
        np.testing.assert_array_equal(a.value, b.value)


def test_adam_trains_object_layers_of_different_shapes():
    model = Model(TinyDataset(), [Dense(8, "tanh"), Dense(5)], optimizer="adam", seed=0, printer=quiet)
    model.train(epochs=1, batch_size=10, learning_rate=0.01)
    assert sorted(model.optimizer.m) == sorted(s.name for s in model.slots)


def test_object_composites_are_named_like_their_spec():
    block = Add([Loop([Dense(4)], repeat=2), Parallel([Dense(2, "tanh"), Dense(2)])], x=True, actions="AB")
    objects = Model(TinyDataset(), [Serial([Dense(4), Dense(4)]), block], seed=2, printer=quiet)
    spec_layers = [layer.to_spec() for layer in objects.network.layers[:-1]]
    spec = Model(TinyDataset(), spec_layers, seed=2, printer=quiet)
    assert [s.name for s in objects.slots] == [s.name for s in spec.slots]
    assert "layers[1].children[0].children[0]#1/w" in [s.name for s in objects.slots]
    assert "layers[1].bn/gamma" in [s.name for s in objects.slots]
    for a, b in zip(objects.slots, spec.slots, strict=False):
        np.testing.assert_array_equal(a.value, b.value)


def test_the_same_layer_object_twice_is_refused_by_name():
    shared = Dense(4)
    with pytest.raises(LayerContractError, match=r"layers\[1\].*named 'layers\[1\]/w'.*same Layer object"):
        Model(TinyDataset(), [shared, shared], seed=0, printer=quiet)


def test_a_mix_of_objects_and_specs_is_one_error():
    with pytest.raises(SpecError, match="not a mix"):
        Model(TinyDataset(), [Dense(4), 4], seed=0, printer=quiet)


# --- item 1b: every returned gradient belongs to the caller ----------------------------------
@pytest.mark.parametrize("channels, padding", [(1, "VALID"), (1, "SAME"), (3, "VALID")])
def test_conv_input_gradient_is_not_overwritten_by_the_next_backward(channels, padding):
    layer = build_layer(Conv2D(ksize=3, chn=2, padding=padding, actfunc="none"), (6, 6, channels), np.float32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, channels)).astype(np.float32)
    layer.forward(x, training=True)
    dx1 = layer.backward(rng.standard_normal((2,) + layer.output_shape).astype(np.float32))
    kept = dx1.copy()
    layer.forward(x, training=True)
    layer.backward(rng.standard_normal((2,) + layer.output_shape).astype(np.float32))
    np.testing.assert_array_equal(dx1, kept)


# --- item 2: the contract, declared once ------------------------------------------------------
def test_every_layer_type_declares_its_contract_in_the_base_attributes():
    for name, cls in LAYER_TYPES.items():
        assert issubclass(cls, Layer), name
        assert isinstance(cls.OPTIONS, dict) and isinstance(cls.accepts_children, bool), name
        assert isinstance(cls.accepts_sequences, bool), name
        assert "options" not in vars(cls), f"{name} writes options() again instead of deriving it from OPTIONS"


@pytest.mark.parametrize("spec", [
    ["full", {"width": 3, "actfunc": "tanh"}],
    ["conv", {"ksize": [1, 3], "chn": 2, "stride": 2, "padding": "VALID", "actions": "LAB"}],
    ["max", {"stride": 2, "ksize": 3}],
    ["avg", {"stride": [1, 2]}],
    ["dropout", {"keep_prob": 0.5}],
    ["noise", {"std": 0.5, "ratio": 0.25}],
    ["batch_normal", {"rescale": False, "epsilon": 0.01}],
    ["add", {"x": False, "actions": "BA", "actfunc": "tanh"}, ["full", {"width": 3}], ["max", {"stride": 1}]],
    ["loop", {"repeat": 3}, ["serial", ["full", {"width": 4}], ["dropout", {"keep_prob": 0.9}]]],
    ["rnn", {"recur_size": 4, "inseq": False, "timesteps": 3, "actfunc": "tanh"}],
    ["lstm", {"recur_size": 4, "outseq": False, "use_state": True}],
    ["seqwrap", ["full", {"width": 2}]],
    ["gru", {"recur_size": 4, "reset_after": False}],
    ["layer_normal", {"rescale": False, "epsilon": 0.001}],
])
def test_options_and_spec_are_read_back_from_the_declaration(spec):
    layer = parse_layer(spec, "layers[0]")
    written = layer.to_spec()
    assert written == spec
    again = parse_layer(written, "layers[0]")
    assert again.to_spec() == spec and again.describe() == layer.describe()


def test_defaults_are_left_out_of_the_summary_line():
    assert Dense(3).describe() == "full(width=3)"
    assert MaxPool(2).describe() == "max(stride=2)"
    assert LSTM(4).describe() == "lstm(recur_size=4)"


def test_python_built_layers_check_their_options_like_a_spec():
    with pytest.raises(SpecError, match="chn"):
        Conv2D(ksize=3, chn=0)
    with pytest.raises(SpecError, match="keep_prob"):
        alzza.layers.regularize.Dropout(1.5)
    with pytest.raises(SpecError, match="'width' must be a positive integer, got 0"):
        Dense(0)
    with pytest.raises(SpecError, match=r"'actfunc' must be one of \['relu'.*got 'nope'"):
        Dense(3, "nope")
    with pytest.raises(SpecError, match="'recur_size' must be a positive integer, got -2"):
        LSTM(-2)  # refused at construction, not at build
    with pytest.raises(SpecError, match="'width' must be an integer, got True"):
        Dense(True)


# one working example of every shipped layer type: (options, input shape, children)
def _examples():
    from alzza.sequences import SeqShape
    return {
        "full": ({"width": 3, "actfunc": "tanh"}, (4,), None),
        "conv": ({"ksize": [1, 3], "chn": 2, "stride": 2, "actions": "LAB"}, (5, 6, 2), None),
        "max": ({"stride": 2}, (4, 4, 2), None),
        "avg": ({"stride": 2, "ksize": 3}, (5, 5, 2), None),
        "batch_normal": ({}, (4,), None),
        "layer_normal": ({}, (5,), None),
        "dropout": ({"keep_prob": 0.5}, (4,), None),
        "noise": ({"std": 0.5}, (4,), None),
        "rnn": ({"recur_size": 3, "outseq": False, "actfunc": "tanh"}, SeqShape((4, 2)), None),
        "lstm": ({"recur_size": 3}, SeqShape((4, 2)), None),
        "gru": ({"recur_size": 3, "reset_after": False}, SeqShape((4, 2)), None),
        "serial": ({}, (4,), [Dense(4, "tanh"), Dense(2)]),
        "parallel": ({}, (4,), [Dense(4, "tanh"), Dense(2)]),
        "add": ({"actions": "A", "actfunc": "tanh"}, (4,), [Dense(4, "tanh")]),
        "loop": ({"repeat": 2}, (4,), [Dense(4, "tanh")]),
        "seqwrap": ({}, SeqShape((3, 4)), [Dense(4, "tanh")]),
        "attention": ({"heads": 2, "causal": True}, SeqShape((4, 6)), None),
        "embed": ({"vocab": 5, "width": 3, "padding_id": 0}, SeqShape((4, 1)), None),
        "posenc": ({"kind": "learned", "max_len": 6}, SeqShape((4, 3)), None),
        "rms_normal": ({}, (5,), None),
        "seqpool": ({"how": "mean"}, SeqShape((4, 3)), None),
    }


#: types whose contract needs a network around them, and where that is checked
IN_A_NETWORK = {"unembed": "ties to a named embed before it: tests/test_attention.py::"
                           "test_tied_projection_gradient_reaches_the_table"}


def _token_ids(rng, dtype, batch):
    """Inputs of the ``embed`` example: ids 0..4 (0 the padding id) in (batch, 4, 1) with lengths."""
    from alzza.sequences import Sequences
    lengths = np.full(batch, 4, dtype=np.int64)
    lengths[0] = 3
    return Sequences(rng.integers(0, 5, (batch, 4, 1)).astype(dtype), lengths)


_INPUTS = {"embed": _token_ids}


def _shipped_types():
    return sorted(name for name, cls in LAYER_TYPES.items() if cls.__module__.startswith("alzza."))


def test_every_shipped_layer_type_has_a_contract_example():
    assert sorted([*_examples(), *IN_A_NETWORK]) == _shipped_types()


@pytest.mark.parametrize("type_name", sorted(set(_shipped_types()) - set(IN_A_NETWORK)))
def test_every_registered_layer_type_passes_the_contract(type_name):
    from alzza.testing import check_layer
    options, shape, children = _examples()[type_name]
    errors = check_layer(LAYER_TYPES[type_name], options, shape, children=children, inputs=_INPUTS.get(type_name))
    assert all(e is None or e < 1e-6 for e in errors.values())


class _NotAnOption:
    def __repr__(self):
        return "<not an option>"


@pytest.mark.parametrize("type_name", _shipped_types())
def test_every_registered_layer_type_refuses_a_bad_option_at_construction(type_name):
    """Each declared option, given a value of no accepted kind, is one SpecError naming it."""
    import copy
    options, _, children = {**_examples(), "unembed": ({"tie": "tokens"}, None, None)}[type_name]
    cls = LAYER_TYPES[type_name]
    for key in cls.OPTIONS:
        bad = dict(options, **{key: _NotAnOption()})
        args = (copy.deepcopy(children),) if children is not None else ()
        with pytest.raises(SpecError, match=f"option '{key}' must be"):
            cls(*args, **bad)


def test_a_users_layer_gets_its_options_checked_without_writing_a_check():
    from alzza.options import positive_float

    class Scale(Layer):
        OPTIONS = {"start": positive_float("the starting scale")}

        def __init__(self, start):
            super().__init__()
            self.start = start

    assert Scale(2).start == 2.0 and isinstance(Scale(2).start, float)  # an int for a float option
    with pytest.raises(SpecError, match="option 'start' must be a positive number, got -1"):
        Scale(-1)
    with pytest.raises(SpecError, match="option 'start' must be a number, got 'big'"):
        Scale(start="big")


class WrongDtype(Layer):
    def build(self, input_shape, ctx):
        self.params["w"] = np.ones(input_shape, dtype=np.float64)
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        return x * self.params["w"].astype(x.dtype)

    def backward(self, dy):
        self.grads["w"] = dy.sum(axis=0)
        return dy


class ForgetsGradient(Layer):
    def build(self, input_shape, ctx):
        self.params["w"] = np.ones(input_shape, dtype=ctx.dtype)
        self.params["b"] = np.zeros(input_shape, dtype=ctx.dtype)
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["w"] + self.params["b"]

    def backward(self, dy):
        self.grads["w"] = (dy * self._x).sum(axis=0)  # grads["b"] forgotten
        return dy * self.params["w"]


def test_a_parameter_of_the_wrong_dtype_is_one_error_at_build():
    with pytest.raises(LayerContractError, match=r"layers\[0\].*'w' is float64, the model is float32.*ctx\.dtype"):
        Model(TinyDataset(), [WrongDtype()], seed=0, printer=quiet)


def test_missing_gradients_are_one_error_after_the_first_backward():
    model = Model(TinyDataset(), [ForgetsGradient()], seed=0, printer=quiet)
    with pytest.raises(LayerContractError, match=r"layers\[0\].*missing \['b'\]"):
        model.train(epochs=1, batch_size=10)


def test_layer_types_model_kinds_and_optimisers_register_one_way():
    from alzza.models.kinds import MODEL_KINDS
    from alzza.training.optimizers import OPTIMIZERS
    from alzza.registries import Registry

    for registry, attr in ((LAYER_TYPES, "type_name"), (MODEL_KINDS, "kind"), (OPTIMIZERS, "name")):
        assert isinstance(registry, Registry)
        assert registry and all(getattr(cls, attr) == name for name, cls in registry.items()), registry.what
    assert {"network", "autoencoder", "encoder_decoder", "gan"} <= set(MODEL_KINDS)
    with pytest.raises(ValueError, match="optimizer 'sgd' is already"):
        @OPTIMIZERS.register("sgd")
        class Other:
            pass


def test_the_layer_table_names_every_shipped_type_with_its_class_and_file():
    import alzza.layers as package
    rows = {line.split()[0]: line.split()[1:3] for line in package.__doc__.splitlines()
            if line and not line.startswith(("=", " ")) and len(line.split()) > 3}
    for name in _shipped_types():
        cls = LAYER_TYPES[name]
        assert rows.get(name) == [cls.__name__, cls.__module__.rsplit(".", 1)[-1] + ".py"], name
