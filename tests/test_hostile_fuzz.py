"""Property-based fuzzing (hypothesis) of the two front doors hostile input comes through:
the spec front end (experiment YAML → specs → built model) and the model loader.

The property is the same for both: whatever the input, the result is a model or ONE
:class:`~alzza.errors.AlzzaError` — never another exception (a traceback for a user),
never a hang. Bounded in time: derandomised (the same examples on every run, so CI is
not flaky), a fixed number of examples each, small limits so no example allocates much.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alzza import Model, load
from alzza.errors import AlzzaError
from alzza.experiments.catalogue import load_yaml, parse_experiment
from alzza.spec import parse_layers

FUZZ = settings(max_examples=100, deadline=5000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True, scope="module")
def _small_limits():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALZZA_MAX_MEMORY", "32M")  # no fuzzed model may allocate more
        patch.setenv("ALZZA_MAX_LAYERS", "300")
        patch.setenv("ALZZA_MAX_SPEC_NODES", "20000")
        yield


LAYER_TYPES = ["full", "conv", "max", "avg", "dropout", "noise", "batch_normal", "serial", "parallel", "add",
               "loop", "custom", "rnn", "lstm", "seqwrap", "bogus"]
OPTION_NAMES = ["width", "chn", "ksize", "stride", "padding", "actfunc", "actions", "keep_prob", "std", "mean",
                "ratio", "epsilon", "exp_ratio", "rescale", "x", "repeat", "name", "args", "recur_size", "inseq",
                "outseq", "timesteps", "use_state", "type", "bogus"]
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-3, max_value=40), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["relu", "sigmoid", "tanh", "none", "SAME", "VALID", "LAB", "BLA", "#chn", "##x", "m", ""]),
    st.text(max_size=6),
)
options = st.dictionaries(st.sampled_from(OPTION_NAMES), scalars, max_size=4)


#: each layer type with its own options, so hypothesis reaches the values, not just the names
TYPED_OPTIONS = {
    "full": ["width", "actfunc"], "conv": ["ksize", "chn", "stride", "padding", "actions"],
    "max": ["stride", "ksize", "padding"], "avg": ["stride", "ksize"], "dropout": ["keep_prob"],
    "noise": ["std", "mean", "ratio"], "batch_normal": ["epsilon", "exp_ratio", "rescale"],
    "loop": ["repeat"], "rnn": ["recur_size", "outseq", "inseq", "timesteps"], "lstm": ["recur_size", "use_state"],
    "custom": ["name", "args"],
}
hostile_values = st.one_of(
    st.integers(min_value=-2, max_value=8), st.sampled_from([0, 10**6, 10**9, 10**12, 10**30, 2**63]),
    st.sampled_from([0.0, -1.0, 1e-30, 1e38, 1e300, float("nan"), float("inf"), -float("inf")]),
    st.sampled_from(["m", "n", "#chn", "relu", "LBA", "", "x" * 3]), st.booleans(), st.none(),
    st.lists(st.integers(-2, 10**6), max_size=3),
)
typed_layers = st.sampled_from(sorted(TYPED_OPTIONS)).flatmap(
    lambda kind: st.dictionaries(st.sampled_from(TYPED_OPTIONS[kind]), hostile_values, max_size=3).map(
        lambda opts: [kind, opts]))


def nested(depth: int):
    """``depth`` serials around a 4: deep specs (thousands of levels) in one example."""
    spec = 4
    for _ in range(depth):
        spec = ["serial", spec]
    return spec


def layer_specs():
    return st.recursive(
        st.one_of(st.integers(min_value=-2, max_value=12), scalars, typed_layers,
                  st.integers(min_value=0, max_value=3000).map(nested)),
        lambda children: st.one_of(
            st.tuples(st.sampled_from(LAYER_TYPES), options).map(list),
            st.tuples(st.sampled_from(LAYER_TYPES), options, children).map(list),
            st.tuples(st.sampled_from(LAYER_TYPES), children, children).map(list),
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=4), children, max_size=3),
        ),
        max_leaves=12,
    )


@FUZZ
@given(spec=st.lists(layer_specs(), max_size=4),
       macros=st.dictionaries(st.sampled_from(["m", "n"]), layer_specs(), max_size=2),
       input_shape=st.sampled_from([(6,), (6, 6, 2), {"seq": [5, 3]}]))
def test_fuzz_spec_front_end_builds_or_raises_one_alzza_error(spec, macros, input_shape):
    try:
        parse_layers(spec, "layers", macros)
    except AlzzaError:
        pass
    try:
        model = Model(None, spec, macros=macros, input_shape=input_shape, output_shape=[3], mode="select", seed=0)
    except AlzzaError:
        return
    x = np.zeros((2,) + tuple(model.input_shape), dtype=np.float32) if not isinstance(input_shape, dict) else None
    if x is not None:
        assert model.predict(x).shape == (2, 3)


yaml_pieces = st.sampled_from([
    "name: f\n", "name: ../x\n", "dataset: steel\n", "dataset: {name: dummy, input_shape: [4]}\n",
    "model:\n  layers: [4]\n", "model: {layers: &l [4, *l]}\n", "model: {layers: [[loop, {repeat: 1000000}, 4]]}\n",
    "model: {kind: gan}\n", "model: {kind: autoencoder}\n",
    "train: {epochs: -1}\n", "train: {optimizer: adamx}\n", "train: {learning_rate: .nan}\n", "seed: -3\n",
    "book: {accuracy: high}\n", "show: 2\n", "pictures: [maps]\n", "macros: {m: [serial, 4]}\n",
    "macro_files: [nope]\n", "a: &a [1, 1]\nb: [*a, *a]\n", "[", "{", "- - -", ": :", "\t", "%YAML 1.1\n",
    "!!python/object:os.system ls\n", "name: !!binary aGk=\n", "? [a]\n: b\n",
])


@FUZZ
@given(pieces=st.lists(st.one_of(yaml_pieces, st.text(max_size=20)), max_size=8))
def test_fuzz_experiment_files_parse_or_raise_one_alzza_error(pieces):
    text = "".join(pieces)
    try:
        data = load_yaml(text, "fuzz.yaml")
        exp = parse_experiment(data, "fuzz.yaml")
        parse_layers(exp.layers, "layers", exp.macros)
    except AlzzaError:
        pass
    except Exception as exc:  # noqa: BLE001 — YAML syntax errors are reported by load_experiment_file
        import yaml

        assert isinstance(exc, yaml.YAMLError), repr(exc)


# ------------------------------------------------------------------ the model loader
def _model_bytes() -> bytes:
    model = Model(None, [3, ["batch_normal"]], input_shape=[4], output_shape=[2], mode="select",
                  optimizer="adam", seed=0)
    buffer = io.BytesIO()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        model.save(path)
        buffer.write(path.read_bytes())
    return buffer.getvalue()


MODEL = _model_bytes()
#: where the zip's central directory starts (its entries say how to read each member)
DIRECTORY = MODEL.find(b"PK\x01\x02")


@FUZZ
@given(edits=st.lists(st.tuples(st.one_of(st.integers(min_value=0, max_value=len(MODEL) - 1),  # anywhere, or
                                           st.integers(min_value=DIRECTORY, max_value=len(MODEL) - 1)),  # the directory
                                 st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(min_value=0, max_value=len(MODEL))))
def test_fuzz_damaged_model_files_load_or_raise_model_file_error(edits, cut, tmp_path_factory):
    data = bytearray(MODEL)
    for offset, value in edits:
        data[offset] = value
    if cut is not None:
        data = data[:cut]
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(bytes(data))
    try:
        model = load(path)
    except AlzzaError:
        return
    assert all(np.isfinite(slot.value).all() for slot in model.slots)


@FUZZ
@given(member=st.sampled_from(["param:layers[0]/w", "param:layers[0]/b", "state:layers[1]/mean", "param:output/w"]),
       value=st.sampled_from([np.nan, np.inf, -np.inf, 1e38, 0.0]), index=st.integers(0, 5))
def test_fuzz_special_values_in_the_weights(member, value, index, tmp_path_factory):
    with zipfile.ZipFile(io.BytesIO(MODEL)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members:
            if name == member + ".npy":
                array = np.load(io.BytesIO(content))
                array.flat[index % array.size] = value
                buffer = io.BytesIO()
                np.save(buffer, array)
                content = buffer.getvalue()
            archive.writestr(name, content)
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(out.getvalue())
    try:
        model = load(path)
    except AlzzaError:
        assert not np.isfinite(value)
        return
    assert np.isfinite(value) and all(np.isfinite(slot.value).all() for slot in model.slots)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=False),
              st.text(max_size=5)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children,
                                                                                max_size=3)),
    max_leaves=10,
)
CONFIG_KEYS = ["layers", "macros", "input_shape", "output_shape", "mode", "head_sizes", "head", "init", "dtype",
               "optimizer", "kind", "name", "parts"]


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(CONFIG_KEYS), json_values, min_size=1, max_size=3))
def test_fuzz_model_descriptions_load_or_raise_model_file_error(changes, tmp_path_factory):
    import json

    with zipfile.ZipFile(io.BytesIO(MODEL)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members:
            if name == "__alzza__.npy":
                meta = json.loads(np.load(io.BytesIO(content)).tobytes())
                meta["config"].update(changes)
                buffer = io.BytesIO()
                np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
                content = buffer.getvalue()
            archive.writestr(name, content)
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(out.getvalue())
    try:
        load(path)
    except AlzzaError:
        pass
