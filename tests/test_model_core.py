"""The Model's core contracts: spec errors with paths, macros, JSON round trip, dtype
policy, seeding, backward without updates, save/load (atomic, never pickle), the NaN
guard and the summary."""

from __future__ import annotations

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import alzza
from alzza import Model, ModelFileError, SpecError, TrainingError
from alzza.data.dataset import Dataset
from alzza.device import to_host
from alzza.saving.model_files import META_KEY, load_model
from alzza.spec import parse_layers, substitute


# --- a tiny data set -----------------------------------------------------------------------
class TinyDataset(Dataset):
    """Random inputs with a learnable target, split by the book's rule."""

    def __init__(self, mode="select", count=60, features=4, seed=0, scale=1.0):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((count, features)) * scale
        head_sizes = None
        if mode == "regression":
            y = x @ rng.standard_normal((features, 1)) + 5.0
        elif mode == "binary":
            y = (x[:, :1] > 0).astype(float)
        elif mode == "select":
            y = np.eye(3)[np.argmax(x[:, :3], axis=1)]
        else:  # multi-select
            head_sizes = (3, 2)
            y = np.concatenate([np.eye(3)[np.argmax(x[:, :3], axis=1)], np.eye(2)[(x[:, 3] > 0).astype(int)]], axis=1)
        super().__init__("tiny", mode, head_sizes=head_sizes)
        self._split(x, y, rng)


def _model(dataset=None, layers=(8,), **kw):
    dataset = dataset if dataset is not None else TinyDataset()
    kw.setdefault("seed", 1)
    kw.setdefault("printer", lambda *a: None)
    return Model(dataset, list(layers), **kw)


def _spec_error(layers, **kw) -> SpecError:
    with pytest.raises(SpecError) as info:
        _model(layers=layers, **kw)
    return info.value


# --- spec errors ----------------------------------------------------------------------------
def test_unknown_type_names_path_and_suggests():
    err = _spec_error([8, ["ful", {"width": 3}]])
    assert "layers[1]" in str(err) and err.path == "layers[1]"
    assert "'ful'" in str(err) and "did you mean 'full'" in str(err)


def test_unknown_option_names_path_and_suggests():
    err = _spec_error([8, ["full", {"width": 3, "actfun": "tanh"}]])
    assert str(err).startswith("layers[1]") and "'actfun'" in str(err) and "actfunc" in str(err)


def test_missing_required_option():
    err = _spec_error([["full", {"actfunc": "tanh"}]])
    assert str(err).startswith("layers[0]") and "'width'" in str(err)


@pytest.mark.parametrize("bad", ["8", 2.5, True, None])
def test_bad_value_type(bad):
    err = _spec_error([4, ["full", {"width": bad}]])
    assert "layers[1]" in str(err) and "width" in str(err)


def test_bad_choice_suggests():
    err = _spec_error([["full", {"width": 3, "actfunc": "tanhh"}]])
    assert "layers[0]" in str(err) and "did you mean 'tanh'" in str(err)


@pytest.mark.parametrize("spec", [[4, -3], [4, 0], [4, ["full", {"width": -3}]]])
def test_non_positive_width(spec):
    err = _spec_error(spec)
    assert "layers[1]" in str(err) and ("-3" in str(err) or "0" in str(err))


def test_children_given_to_a_leaf():
    err = _spec_error([["full", {"width": 3}, 4]])
    assert str(err).startswith("layers[0]") and "children" in str(err)


def test_nested_path_in_a_composite():
    err = _spec_error([["serial", 4, ["full", {"width": 3, "bogus": 1}]]])
    assert str(err).startswith("layers[0].children[1]")


def test_non_plain_values_are_rejected():
    err = _spec_error([np.int64(4)])
    assert "layers[0]" in str(err) and "plain data" in str(err)


@pytest.mark.parametrize("spec", ["full", [["full", {"width": 3}], "x"], [[]]])
def test_malformed_specs_give_spec_errors(spec):
    with pytest.raises(SpecError):
        parse_layers(spec)


# --- macros --------------------------------------------------------------------------------
def test_unknown_macro_suggests():
    err = _spec_error([["custom", {"name": "blok"}]], macros={"block": [4]})
    assert "layers[0]" in str(err) and "'blok'" in str(err) and "did you mean 'block'" in str(err)


def test_missing_macro_argument():
    err = _spec_error([["custom", {"name": "block", "args": {"#x": 2}}]],
                      macros={"block": ["full", {"width": "#w"}]})
    assert "layers[0]" in str(err) and "'#w'" in str(err)


def test_double_hash_escape_is_literal():
    assert substitute(["##x", {"k": "#a", "j": ["##"]}], {"#a": 5}, "p") == ["#x", {"k": 5, "j": ["#"]}]
    # through a model: '##relu' reaches the layer as the literal '#relu' (a bad choice),
    # not as a missing argument
    err = _spec_error([["custom", {"name": "m", "args": {"#w": 3}}]],
                      macros={"m": ["full", {"width": "#w", "actfunc": "##relu"}]})
    assert "'#relu'" in str(err) and "not given" not in str(err)


def test_macro_argument_substitution_is_a_deep_copy():
    macros = {"m": ["serial", "#block", "#block"]}
    model = _model(layers=[["custom", {"name": "m", "args": {"#block": ["full", {"width": 5}]}}]], macros=macros)
    assert macros == {"m": ["serial", "#block", "#block"]}  # the macro itself untouched
    a, b = model.layers[0].layers
    assert a is not b and a.width == b.width == 5


def test_nested_macros_expand():
    macros = {
        "inner": ["full", {"width": "#w", "actfunc": "#act"}],
        "outer": ["serial",
                  ["custom", {"name": "inner", "args": {"#w": "#w", "#act": "tanh"}}],
                  ["custom", {"name": "inner", "args": {"#w": 5, "#act": "none"}}]],
    }
    model = _model(layers=[["custom", {"name": "outer", "args": {"#w": 7}}]], macros=macros)
    first, second = model.layers[0].layers
    assert (first.width, first.actfunc, second.width, second.actfunc) == (7, "tanh", 5, "none")
    assert model.parameter_count() == (4 * 7 + 7) + (7 * 5 + 5) + (5 * 3 + 3)


@pytest.mark.parametrize("macros", [
    {"loop": ["custom", {"name": "loop"}]},
    {"a": ["serial", 3, ["custom", {"name": "b"}]], "b": ["serial", ["custom", {"name": "a"}]]},
])
def test_self_recursive_macro_gives_depth_error(macros):
    name = next(iter(macros))
    err = _spec_error([["custom", {"name": name}]], macros=macros)
    assert str(err).startswith("layers[0]") and "deeper" in str(err)


# --- JSON round trip ---------------------------------------------------------------------------
def test_spec_round_trips_through_json():
    macros = {"blk": ["serial", ["full", {"width": "#w", "actfunc": "tanh"}], 4]}
    layers = [6, ["custom", {"name": "blk", "args": {"#w": 5}}], ["full", {"width": 3, "actfunc": "sigmoid"}]]
    model = _model(layers=layers, macros=macros, optimizer="adam", l2_decay=0.01, init="he")
    config = json.loads(json.dumps(model.config()))
    assert config["layers"] == layers and config["macros"] == macros
    again = Model(None, config["layers"], macros=config["macros"], init=config["init"], seed=1,
                  optimizer=config["optimizer"], input_shape=config["input_shape"],
                  output_shape=config["output_shape"], mode=config["mode"], dtype=config["dtype"])
    assert again.parameter_count() == model.parameter_count()
    assert [s.name for s in again.slots] == [s.name for s in model.slots]
    for a, b in zip(again.slots, model.slots, strict=False):
        np.testing.assert_array_equal(to_host(a.value), to_host(b.value))
    assert again.optimizer.to_spec() == model.optimizer.to_spec()


# --- dtype policy ----------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("mode", ["regression", "binary", "select", "multi-select"])
def test_float32_is_kept_end_to_end(optimizer, mode):
    data = TinyDataset(mode)
    model = _model(data, layers=[6, ["full", {"width": 5, "actfunc": "sigmoid"}]], optimizer=optimizer,
                   l2_decay=0.01, l1_decay=0.01)
    x, y = data.train_data()
    x64, y64 = x[:10].astype(np.float64), y[:10].astype(np.float64)  # float64 data is cast, not spread
    for _ in range(2):
        loss, _ = model.train_step(x64, y64, 0.01)
        assert isinstance(loss, float)
    for slot in model.slots:
        assert slot.value.dtype == np.float32, slot.name
        assert slot.grad.dtype == np.float32, slot.name
    for layer in model.network.walk():
        for arr in list(layer.params.values()) + list(layer.grads.values()):
            assert arr.dtype == np.float32
    for name, arr in model.optimizer.state_arrays().items():
        if not name.endswith("/t"):
            assert arr.dtype == np.float32, name
    assert model.forward(x64).dtype == np.float32
    assert model.predict(x64).dtype == np.float32
    assert model.head.backward().dtype == np.float32
    dx = model.layers[1].backward(model.device.asarray(np.ones((10, 5), dtype=np.float32)))
    assert dx.dtype == np.float32


def test_float64_on_request():
    model = _model(dtype="float64")
    assert all(s.value.dtype == np.float64 for s in model.slots)
    with pytest.raises(SpecError):
        _model(dtype="float16")


# --- reproducibility ---------------------------------------------------------------------------
def _losses(seed):
    model = _model(TinyDataset(seed=0), layers=[6], seed=seed, optimizer="adam")
    weights = [to_host(s.value).copy() for s in model.slots]
    history = model.train(epochs=3, batch_size=10, learning_rate=0.01)
    return weights, history.loss, [to_host(s.value).copy() for s in model.slots]


def test_same_seed_same_weights_and_losses():
    w1, l1, f1 = _losses(5)
    w2, l2, f2 = _losses(5)
    assert l1 == l2
    for a, b in zip(w1 + f1, w2 + f2, strict=False):
        np.testing.assert_array_equal(a, b)
    w3, l3, _ = _losses(6)
    assert not np.array_equal(w1[0], w3[0])
    assert l1 != l3


def test_training_does_not_touch_global_numpy_random_state():
    state = np.random.get_state()[1].copy()
    _losses(5)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# --- backward never updates ------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_loss_and_backward_leaves_params_unchanged(optimizer):
    data = TinyDataset()
    model = _model(data, layers=[6, 5], optimizer=optimizer, l2_decay=0.1)
    x, y = data.train_data()
    before = [to_host(s.value).copy() for s in model.slots]
    ids = [id(s.value) for s in model.slots]
    for _ in range(2):
        model.loss_and_backward(x[:10], y[:10])
    for b, s in zip(before, model.slots, strict=False):
        np.testing.assert_array_equal(b, to_host(s.value))
        assert np.any(to_host(s.grad) != 0)
    model.train_step(x[:10], y[:10], 0.1)
    assert any(not np.array_equal(b, to_host(s.value)) for b, s in zip(before, model.slots, strict=False))
    assert [id(s.value) for s in model.slots] == ids  # updated in place
    assert model.optimizer.state_arrays() or optimizer == "sgd"


# --- save / load -------------------------------------------------------------------------------
def _trained(mode="select", optimizer="adam", **kw):
    data = TinyDataset(mode)
    model = _model(data, layers=[6, ["full", {"width": 4, "actfunc": "tanh"}]], optimizer=optimizer, **kw)
    model.train(epochs=2, batch_size=10, learning_rate=0.01)
    return data, model


@pytest.mark.parametrize("mode", ["regression", "binary", "select", "multi-select"])
def test_save_load_predict_identical_and_adam_continues(tmp_path, mode):
    data, model = _trained(mode, l2_decay=0.001)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_model(path, data, printer=lambda *a: None)
    x, y = data.test_data()
    assert np.array_equal(model.predict(x), loaded.predict(x))
    assert loaded.optimizer.to_spec() == model.optimizer.to_spec()
    assert loaded.mode == mode and loaded.config() == model.config()
    for _ in range(2):
        l1 = model.train_step(x[:10], y[:10], 0.01)
        l2 = loaded.train_step(x[:10], y[:10], 0.01)
        assert l1 == l2
    for a, b in zip(model.slots, loaded.slots, strict=False):
        assert a.name == b.name
        np.testing.assert_array_equal(to_host(a.value), to_host(b.value))
    for k, v in model.optimizer.state_arrays().items():
        np.testing.assert_array_equal(to_host(v), to_host(loaded.optimizer.state_arrays()[k]))


def test_save_appends_npz_and_load_via_package(tmp_path):
    _, model = _trained(optimizer="sgd")
    model.save(tmp_path / "plain")
    loaded = alzza.load(tmp_path / "plain.npz", printer=lambda *a: None)
    assert loaded.parameter_count() == model.parameter_count()


def test_saved_arrays_keep_float32_not_float16(tmp_path):
    _, model = _trained()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        for name in archive.files:
            if name.startswith("param:"):
                assert archive[name].dtype == np.float32


# corrupted files ------------------------------------------------------------------------
UNPICKLED = []


def _mark_unpickled():
    UNPICKLED.append(True)
    return np.zeros((4, 6), dtype=np.float32)


class _Evil:
    def __reduce__(self):
        return (_mark_unpickled, ())


@pytest.fixture
def saved(tmp_path):
    _, model = _trained()
    path = tmp_path / "good.npz"
    model.save(path)
    return path


@pytest.fixture
def no_pickle(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used while loading a model file")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    UNPICKLED.clear()
    yield
    assert not UNPICKLED


def _arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def _meta(arrays):
    return json.loads(arrays[META_KEY].tobytes().decode("utf-8"))


def _with_meta(arrays, meta):
    arrays = dict(arrays)
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return arrays


def _corrupt(kind, good, tmp_path):
    bad = tmp_path / f"bad-{kind}.npz"
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    if kind == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "truncated-tail":
        bad.write_bytes(data[:-10])
    elif kind == "flipped-middle":
        b = bytearray(data)
        mid = len(b) // 2
        for i in range(mid, mid + 16):
            b[i] ^= 0xFF
        bad.write_bytes(bytes(b))
    elif kind == "flipped-meta":
        # flip bytes inside the JSON description itself
        b = bytearray(data)
        at = data.index(b'"format"')
        for i in range(at, at + 8):
            b[i] ^= 0x55
        bad.write_bytes(bytes(b))
    elif kind == "random":
        bad.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "npy-not-npz":
        np.save(bad.with_suffix(".tmp.npy"), np.arange(5.0))
        os.replace(bad.with_suffix(".tmp.npy"), bad)
    elif kind == "pickle-file":
        bad.write_bytes(pickle.dumps({"x": _Evil()}))
    elif kind == "plain-npz":
        np.savez(bad, w=np.ones(3))
    elif kind == "pickled-object-array":
        arrays = _arrays(good)
        name = next(k for k in arrays if k.startswith("param:"))
        arrays[name] = np.array([_Evil()], dtype=object)
        np.savez(bad, **arrays)
    elif kind == "pickled-meta":
        arrays = _arrays(good)
        arrays[META_KEY] = np.array([_Evil()], dtype=object)
        np.savez(bad, **arrays)
    elif kind == "wrong-shape":
        arrays = _arrays(good)
        name = next(k for k in arrays if k.startswith("param:") and k.endswith("/w"))
        arrays[name] = np.zeros(arrays[name].shape[:1] + (arrays[name].shape[1] + 1,), np.float32)
        np.savez(bad, **arrays)
    elif kind == "meta-shape-mismatch":
        arrays = _arrays(good)
        meta = _meta(arrays)
        meta["config"]["input_shape"] = [5]  # the first weight in the file is (4, 6)
        np.savez(bad, **_with_meta(arrays, meta))
    elif kind == "missing-param":
        arrays = _arrays(good)
        del arrays[next(k for k in arrays if k.startswith("param:"))]
        np.savez(bad, **arrays)
    elif kind == "extra-array":
        arrays = _arrays(good)
        arrays["param:nowhere/w"] = np.zeros(3, np.float32)
        np.savez(bad, **arrays)
    elif kind == "integer-param":
        arrays = _arrays(good)
        name = next(k for k in arrays if k.startswith("param:"))
        arrays[name] = arrays[name].astype(np.int32)
        np.savez(bad, **arrays)
    elif kind == "bad-json":
        arrays = _arrays(good)
        arrays[META_KEY] = np.frombuffer(b"{not json", dtype=np.uint8)
        np.savez(bad, **arrays)
    elif kind == "wrong-format":
        arrays = _arrays(good)
        meta = _meta(arrays)
        meta["format"] = "other"
        np.savez(bad, **_with_meta(arrays, meta))
    elif kind == "bad-spec":
        arrays = _arrays(good)
        meta = _meta(arrays)
        meta["config"]["layers"] = [["nope", {}]]
        np.savez(bad, **_with_meta(arrays, meta))
    elif kind == "config-missing-key":
        arrays = _arrays(good)
        meta = _meta(arrays)
        del meta["config"]["input_shape"]
        np.savez(bad, **_with_meta(arrays, meta))
    elif kind == "meta-not-object":
        arrays = _arrays(good)
        arrays[META_KEY] = np.frombuffer(b"[1, 2]", dtype=np.uint8)
        np.savez(bad, **arrays)
    else:
        raise ValueError(kind)
    return bad


CORRUPTIONS = ["truncated", "truncated-tail", "flipped-middle", "flipped-meta", "random", "empty",
               "npy-not-npz", "pickle-file", "plain-npz", "pickled-object-array", "pickled-meta",
               "wrong-shape", "meta-shape-mismatch", "missing-param", "extra-array", "integer-param",
               "bad-json", "wrong-format", "bad-spec", "config-missing-key", "meta-not-object"]


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupted_file_raises_model_file_error_and_never_unpickles(kind, saved, tmp_path, no_pickle):
    bad = _corrupt(kind, saved, tmp_path)
    with pytest.raises(ModelFileError) as info:
        load_model(bad, printer=lambda *a: None)
    assert str(bad) in str(info.value) or bad.name in str(info.value)


def _tamper_optim(suffix, change):
    def apply(arrays, meta):
        key = next(k for k in arrays if k.startswith("optim:") and k.endswith(suffix))
        change(arrays, key)
    return apply


TAMPERED = {
    # a description whose values have the wrong types
    "optimizer-beta-not-number": lambda a, m: m["config"]["optimizer"].update(beta1="x"),
    "macros-not-mapping": lambda a, m: m["config"].update(macros=[1]),
    "input-shape-not-list": lambda a, m: m["config"].update(input_shape=5),
    "layers-not-list": lambda a, m: m["config"].update(layers=5),
    "head-not-mapping": lambda a, m: m["config"].update(head=[1]),
    # Adam's state not matching the parameters
    "adam-moment-wrong-shape": _tamper_optim("/m", lambda a, k: a.__setitem__(k, np.zeros((2, 2), np.float32))),
    "adam-step-count-not-scalar": _tamper_optim("/t", lambda a, k: a.__setitem__(k, np.arange(3))),
    "adam-second-moment-missing": _tamper_optim("/v", lambda a, k: a.__delitem__(k)),
}


@pytest.mark.parametrize("kind", list(TAMPERED))
def test_tampered_description_or_optimizer_state_raises_model_file_error(kind, saved, tmp_path, no_pickle):
    """Expected behaviour (see the report): any malformed content is a ModelFileError,
    not a raw TypeError/ValueError/KeyError, and Adam state is checked against the
    parameters at load time instead of failing at the next training step."""
    arrays = _arrays(saved)
    meta = _meta(arrays)
    TAMPERED[kind](arrays, meta)
    bad = tmp_path / f"bad-{kind}.npz"
    np.savez(bad, **_with_meta(arrays, meta))
    with pytest.raises(ModelFileError):
        load_model(bad, printer=lambda *a: None)


def test_missing_file_raises_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nothing.npz")


def test_saved_file_is_a_plain_zip_of_npy(saved):
    with zipfile.ZipFile(saved) as z:
        names = z.namelist()
    assert f"{META_KEY}.npy" in names and all(n.endswith(".npy") for n in names)
    meta = _meta(_arrays(saved))
    assert meta["format"] == "alzza-model" and meta["config"]["layers"]


# atomic save ---------------------------------------------------------------------------------
def test_save_leaves_no_temp_files_and_replaces_existing(tmp_path):
    _, a = _trained(seed=1)
    _, b = _trained(seed=2)
    path = tmp_path / "model.npz"
    a.save(path)
    b.save(path)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]
    loaded = load_model(path, printer=lambda *x: None)
    for s, t in zip(loaded.slots, b.slots, strict=False):
        np.testing.assert_array_equal(to_host(s.value), to_host(t.value))


def test_failing_save_keeps_old_file(tmp_path, monkeypatch):
    _, a = _trained(seed=1)
    _, b = _trained(seed=2)
    path = tmp_path / "model.npz"
    a.save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        b.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch):
    """A crash after part of the archive was written (KeyboardInterrupt mid-write)."""
    _, a = _trained(seed=1)
    _, b = _trained(seed=2)
    path = tmp_path / "model.npz"
    a.save(path)
    before = path.read_bytes()
    real = np.savez

    def half(file, **arrays):
        real(file, **dict(list(arrays.items())[:1]))
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half)
    with pytest.raises(KeyboardInterrupt):
        b.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


# --- NaN guard --------------------------------------------------------------------------------
def test_nan_loss_raises_training_error_naming_the_epoch():
    data = TinyDataset("regression", count=40, scale=10.0)
    model = _model(data, layers=[8], optimizer="sgd")
    with np.errstate(all="ignore"), pytest.raises(TrainingError) as info:
        model.train(epochs=50, batch_size=10, learning_rate=1e6)
    msg = str(info.value)
    assert "epoch" in msg and "learning rate" in msg


# --- summary ------------------------------------------------------------------------------------
def test_summary_lists_paths_shapes_and_exact_total():
    printed = []
    data = TinyDataset()
    model = Model(data, [40, ["full", {"width": 30, "actfunc": "tanh"}]], seed=0, printer=printed.append)
    text = model.summary()
    assert printed == [text]
    total = (4 * 40 + 40) + (40 * 30 + 30) + (30 * 3 + 3)
    assert model.parameter_count() == total
    assert f"{total:,}" in text and "1,523" in text
    for path in ("layers[0]", "layers[1]", "output"):
        assert path in text
    assert "(4) -> (40)" in text and "(40) -> (30)" in text and "(30) -> (3)" in text
    assert "tanh" in text
    assert model.summary(print_it=False) == text and len(printed) == 1


# --- heads vs output shape ------------------------------------------------------------------------
def test_multi_select_sizes_must_add_up_to_the_output_width():
    """Expected behaviour (see the report): sizes (3, 4) on a 5-wide output is a spec
    error at build time, not a silently truncated second group."""
    with pytest.raises(SpecError, match="head"):
        Model(None, [4], input_shape=(3,), output_shape=(5,), mode="multi-select", head_sizes=(3, 4), seed=0)
    model = Model(None, [4], input_shape=(3,), output_shape=(7,), mode="multi-select", head_sizes=(3, 4), seed=0)
    assert model.head.sizes == (3, 4)
