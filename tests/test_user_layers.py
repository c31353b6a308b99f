"""A user's own layer, everywhere: ``--import`` for run / summary / gradcheck, ``alzza.load``
of a model that uses it, ``alzza gradcheck`` catching a wrong backward, and
``alzza.testing.check_layer``, the contract test a user runs on their layer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _user_code import load_error_without, write_user_files

import alzza
from alzza.cli import main
from alzza.errors import LayerContractError
from alzza.layers import LAYER_TYPES, Dense, Layer, register_layer
from alzza.layers.composite import Add, Loop, Parallel
from alzza.layers.conv import Conv2D
from alzza.layers.gru import GRU
from alzza.layers.layernorm import LayerNorm
from alzza.layers.norm import BatchNorm
from alzza.layers.pool import AvgPool, MaxPool
from alzza.layers.recurrent import LSTM, RNN
from alzza.layers.regularize import Dropout, Noise
from alzza.layers.seqwrap import SeqWrap
from alzza.options import Option
from alzza.sequences import SeqShape
from alzza.testing import check_layer
from alzza.user_code import import_user_code

SRC = Path(alzza.__file__).resolve().parents[1]

#: a paper's layer as a user writes it: y = x·a + b per feature (a learnt affine scaling)
LAYER_FILE = '''
import numpy as np
from alzza.layers import Layer, register_layer
from alzza.options import Option


@register_layer("{name}")
class FeatureScale(Layer):
    """y = x ⊙ a + b, a and b of shape (F,); da = Σ_n dy ⊙ x, db = Σ_n dy, dx = dy ⊙ a."""

    OPTIONS = {{"start": Option((float,), 1.0, doc="initial scale")}}

    def __init__(self, start=1.0):
        super().__init__()
        self.start = float(start)

    def build(self, input_shape, ctx):
        self.params["a"] = np.full(input_shape, self.start, dtype=ctx.dtype)
        self.params["b"] = np.zeros(input_shape, dtype=ctx.dtype)
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["a"] + self.params["b"]

    def backward(self, dy):
        self.grads["a"] = (dy * self._x).sum(axis=0)
        self.grads["b"] = dy.sum(axis=0)
        if not self.needs_input_grad:
            return None
        return dy * {dx_factor}self.params["a"]
'''

EXPERIMENT = """\
name: user-{name}
dataset: abalone
model:
  layers: [8, ['{name}', {{start: 0.5}}], 4]
train: {{epochs: 1, batch_size: 10, learning_rate: 0.001, optimizer: sgd}}
"""


def _user_files(tmp_path, name, dx_factor=""):
    return write_user_files(tmp_path, name, LAYER_FILE, EXPERIMENT, dx_factor=dx_factor)


def test_summary_and_run_import_a_user_layer_file(tmp_path, tabular_data_dir, capsys):
    layer, experiment = _user_files(tmp_path, "feature_scale_run")
    data = ["--data-dir", str(tabular_data_dir)]
    assert main(["summary", str(experiment), "--import", str(layer)] + data) == 0
    text = capsys.readouterr().out
    assert "feature_scale_run(start=0.5)" in text and "layers[1]" in text
    out = tmp_path / "out"
    assert main(["run", str(experiment), "--import", str(layer), "--out", str(out), "--no-progress"] + data) == 0
    saved = sorted(out.glob("*.npz"))
    assert saved, list(out.iterdir())
    model = alzza.load(saved[0], printer=lambda *a: None)  # the type is registered in this process now
    assert [s.name for s in model.slots][2:4] == ["layers[1]/a", "layers[1]/b"]


def test_without_import_the_unknown_type_names_the_fix(tmp_path, tabular_data_dir, capsys):
    _, experiment = _user_files(tmp_path, "feature_scale_missing")
    assert main(["summary", str(experiment), "--data-dir", str(tabular_data_dir)]) == 2
    err = capsys.readouterr().err
    assert "feature_scale_missing" in err and "--import" in err and "Traceback" not in err


def test_import_errors_are_one_message(tmp_path, capsys):
    assert main(["summary", "abalone-slp", "--import", str(tmp_path / "nothing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["summary", "abalone-slp", "--import", "no_such_module_anywhere"]) == 2
    assert "no module named 'no_such_module_anywhere'" in capsys.readouterr().err
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise RuntimeError('bad layer file')\n")
    assert main(["summary", "abalone-slp", "--import", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "bad layer file" in err and "line 2" in err


def test_importing_a_file_twice_registers_its_types_once(tmp_path):
    layer, _ = _user_files(tmp_path, "feature_scale_twice")
    first = import_user_code(str(layer))
    assert import_user_code(str(layer)) is first
    assert LAYER_TYPES["feature_scale_twice"] is first.FeatureScale


def test_a_registered_name_is_not_silently_replaced():
    with pytest.raises(ValueError, match="'full' is already"):
        @register_layer("full")
        class MyFull(Layer):
            pass
    assert LAYER_TYPES["full"] is Dense


def test_load_names_the_missing_type_and_the_import_fix(tmp_path):
    layer, _ = _user_files(tmp_path, "feature_scale_load")
    module = import_user_code(str(layer))
    model = alzza.Model(None, [Dense(3), module.FeatureScale(0.5)], input_shape=(4,), output_shape=(2,),
                        mode="regression", seed=0, printer=lambda *a: None)
    path = tmp_path / "user.npz"
    model.save(path)
    # a fresh process has not imported the layer module: the file must not import it either
    code = f"import alzza\nalzza.load({str(path)!r})\n"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "ModelFileError" in result.stderr and "'feature_scale_load'" in result.stderr
    assert "--import" in result.stderr and "never imports" in result.stderr
    code = f"import alzza\nfrom alzza.user_code import import_user_code\nimport_user_code({str(layer)!r})\n" \
           f"m = alzza.load({str(path)!r})\nprint(m.slots[2].name)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "layers[1]/a"


def test_load_error_in_process_is_a_model_file_error(tmp_path):
    layer, _ = _user_files(tmp_path, "feature_scale_gone")
    module = import_user_code(str(layer))
    model = alzza.Model(None, [module.FeatureScale()], input_shape=(4,), output_shape=(2,), mode="regression",
                        seed=0, printer=lambda *a: None)
    path = tmp_path / "gone.npz"
    model.save(path)
    error = load_error_without(LAYER_TYPES, "feature_scale_gone", path)
    assert re.search(r"'feature_scale_gone' \(at layers\[0\]\).*--import", str(error))


@pytest.mark.parametrize("dx_factor, verdict", [("", 0), ("2 * ", 1)])
def test_gradcheck_passes_a_right_backward_and_fails_a_wrong_one(tmp_path, tabular_data_dir, capsys,
                                                                  dx_factor, verdict):
    name = "feature_scale_ok" if not dx_factor else "feature_scale_wrong"
    layer, experiment = _user_files(tmp_path, name, dx_factor)
    code = main(["gradcheck", str(experiment), "--import", str(layer), "--data-dir", str(tabular_data_dir)])
    out = capsys.readouterr().out
    assert code == verdict, out
    rows = [line.split() for line in out.splitlines()[2:-1]]
    assert {row[0] for row in rows} == {"layers[0]", "layers[1]", "layers[2]", "output", "model"}
    assert ["layers[1]", "layers[1]/a"] in [row[:2] for row in rows]
    if verdict:
        failed = [row for row in rows if row[-1] == "FAIL"]
        assert ["layers[1]", "dL/dx"] in [row[:2] for row in failed]
        assert all(row[0] in ("layers[1]", "model") for row in failed)
        assert "the backward of layers[1] disagrees" in out
    else:
        assert all(row[-1] == "ok" for row in rows) and "all" in out.splitlines()[-1]


FAMILY_EXPERIMENT = """\
name: user-family-{name}
dataset: {{name: mnist, train_ratio: 0.1}}
model:
  kind: autoencoder
  encoder: [16, ['{name}', {{start: 0.5}}]]
  decoder: [8]
  supervised: []
train: {{epochs: 1, batch_size: 10, learning_rate: 0.001, optimizer: sgd}}
"""


def _table_of_each_chain(out: str) -> dict[str, list[list[str]]]:
    """{chain heading: its rows (check, parameter, error, verdict)} from gradcheck's output."""
    tables, rows = {}, None
    for line in out.splitlines()[1:-1]:
        if line.startswith("chain ") and "(trains " in line:
            rows = tables[line.split(":")[0]] = []
        elif rows is not None and not line.startswith("check "):
            rows.append(line.split())
    return tables


@pytest.fixture(scope="module")
def family_data_dir(tmp_path_factory):
    from _family_data import tiny_data_dir

    return tiny_data_dir(tmp_path_factory.mktemp("family-data"))


@pytest.mark.parametrize("name, chains", [
    ("mnist-autoencoder", ["mnist-autoencoder (autoencode)", "mnist-autoencoder"]),
    ("mnist-eng-1step", ["mnist-eng-1step", "mnist-eng-1step (encoder)", "mnist-eng-1step (decoder)"]),
    ("gan-mnist-8", ["gan-mnist-8 (discriminator)", "gan-mnist-8 (generator)"]),
    ("mnist-kor-2", ["mnist-kor-2"]),  # encoder_output false: its code is not t, so 'both' is its one chain
])
def test_gradcheck_checks_every_chain_of_a_family(name, chains, family_data_dir, capsys):
    code = main(["gradcheck", name, "--data-dir", str(family_data_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    tables = _table_of_each_chain(out)
    assert list(tables) == [f"chain {chain}" for chain in chains]
    for heading, rows in tables.items():
        assert rows and all(row[-1] == "ok" for row in rows), heading
        assert any(row[0] == "chain" for row in rows) and any(row[0] != "chain" for row in rows), heading
    if name == "gan-mnist-8":  # G(z) through the frozen D: D's layers are checked, only G's weights stepped
        generator = tables["chain gan-mnist-8 (generator)"]
        assert {row[0] for row in generator} >= {"generator.output", "discriminator.output", "chain"}
        assert all(row[1].startswith("generator") for row in generator if row[0] == "chain")
    if name == "mnist-kor-2":  # the decoder reads the encoder's last layer: no encoder.output is checked
        layers = {row[0] for row in tables["chain mnist-kor-2"]}
        assert "encoder[2]" in layers and not any(layer.startswith("encoder.output") for layer in layers)
    assert out.splitlines()[-1].startswith(f"all {sum(map(len, tables.values()))} gradients agree")


@pytest.mark.parametrize("dx_factor, verdict", [("", 0), ("2 * ", 1)])
def test_gradcheck_fails_a_wrong_backward_inside_a_family(tmp_path, family_data_dir, capsys, dx_factor, verdict):
    name = "feature_scale_family_ok" if not dx_factor else "feature_scale_family_wrong"
    layer = tmp_path / f"{name}.py"
    layer.write_text(LAYER_FILE.format(name=name, dx_factor=dx_factor))
    experiment = tmp_path / f"{name}.yaml"
    experiment.write_text(FAMILY_EXPERIMENT.format(name=name))
    code = main(["gradcheck", str(experiment), "--import", str(layer), "--data-dir", str(family_data_dir)])
    out = capsys.readouterr().out
    assert code == verdict, out
    tables = _table_of_each_chain(out)
    assert len(tables) == 2  # reconstruction and supervised: the encoder is on both
    for rows in tables.values():
        assert ["encoder[1]", "encoder[1]/a"] in [row[:2] for row in rows]
        if verdict:
            failed = [row for row in rows if row[-1] == "FAIL"]
            assert ["encoder[1]", "dL/dx"] in [row[:2] for row in failed]
            assert all(row[0] in ("encoder[1]", "chain") for row in failed)
        else:
            assert all(row[-1] == "ok" for row in rows)
    if verdict:
        assert "the backward of encoder[1] disagrees" in out


# --- check_layer: the contract test -----------------------------------------------------------
@pytest.mark.parametrize("cls, options, shape, children", [
    (Dense, {"width": 3, "actfunc": "tanh"}, (4,), None),
    (Conv2D, {"ksize": 3, "chn": 2, "padding": "VALID"}, (5, 5, 1), None),
    (Conv2D, {"ksize": [1, 3], "chn": 2, "stride": 2, "actions": "LAB"}, (5, 6, 2), None),
    (MaxPool, {"stride": 2}, (4, 4, 2), None),
    (AvgPool, {"stride": 2, "ksize": 3}, (5, 5, 2), None),
    (BatchNorm, {}, (4,), None),
    (Dropout, {"keep_prob": 0.5}, (4,), None),
    (Noise, {"std": 0.5}, (4,), None),
    (RNN, {"recur_size": 3, "outseq": False, "actfunc": "tanh"}, SeqShape((4, 2)), None),
    (LSTM, {"recur_size": 3}, SeqShape((4, 2)), None),
    (Add, {"actions": "A", "actfunc": "tanh"}, (4,), [Dense(4, "tanh")]),
    (Parallel, {}, (4,), [Dense(4, "tanh"), Dense(2)]),
    (Loop, {"repeat": 2}, (4,), [Dense(4, "tanh")]),
    (SeqWrap, {}, SeqShape((3, 4)), [Dense(4, "tanh")]),
    (GRU, {"recur_size": 3}, SeqShape((4, 2)), None),
    (GRU, {"recur_size": 3, "outseq": False, "reset_after": False}, SeqShape((4, 2)), None),
    (LayerNorm, {}, (5,), None),
])
def test_check_layer_passes_every_shipped_layer(cls, options, shape, children):
    errors = check_layer(cls, options, shape, children=children)
    assert errors and all(e is None or e < 1e-6 for e in errors.values())


class _Scale(Layer):
    """y = x ⊙ a (per feature); the subclasses below each break one rule."""

    def build(self, input_shape, ctx):
        self.params["a"] = np.full(input_shape, 1.5, dtype=ctx.dtype)
        self.buffer = None
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        self._x = x
        return x * self.params["a"]

    def backward(self, dy):
        self.grads["a"] = (dy * self._x).sum(axis=0)
        return None if not self.needs_input_grad else dy * self.params["a"]


def _registered(name, cls):
    LAYER_TYPES.pop(name, None)
    return register_layer(name)(cls)


class WrongGradient(_Scale):
    def backward(self, dy):
        super().backward(dy)
        return None if not self.needs_input_grad else dy * 2 * self.params["a"]


class Float64Param(_Scale):
    def build(self, input_shape, ctx):
        shape = super().build(input_shape, ctx)
        self.params["a"] = self.params["a"].astype(np.float64)
        return shape


class ChangesDy(_Scale):
    def backward(self, dy):
        self.grads["a"] = (dy * self._x).sum(axis=0)
        dy *= self.params["a"]
        return dy


class ReusesItsBuffer(_Scale):
    def backward(self, dy):
        self.grads["a"] = (dy * self._x).sum(axis=0)
        if self.buffer is None or self.buffer.shape != dy.shape:
            self.buffer = np.empty_like(dy)
        np.multiply(dy, self.params["a"], out=self.buffer)
        return self.buffer


class IgnoresNeedsInputGrad(_Scale):
    def backward(self, dy):
        self.grads["a"] = (dy * self._x).sum(axis=0)
        return dy * self.params["a"]


class ForgetsGrad(_Scale):
    def backward(self, dy):
        return dy * self.params["a"]


class WritesOptionTwice(_Scale):
    OPTIONS = {"factor": Option((float,), 1.0)}

    def __init__(self, factor=1.0):
        super().__init__()
        self.scale = factor  # stored under another name: the spec cannot be written back


@pytest.mark.parametrize("cls, rule", [
    (WrongGradient, "gradients differ"),
    (Float64Param, "ctx.dtype"),
    (ChangesDy, "dy untouched"),
    (ReusesItsBuffer, "belongs to the caller"),
    (IgnoresNeedsInputGrad, "returns None when needs_input_grad is False"),
    (ForgetsGrad, "grads"),
])
def test_check_layer_names_the_broken_rule(cls, rule):
    _registered(f"test_{cls.__name__.lower()}", cls)
    with pytest.raises(AssertionError, match=rule):
        check_layer(cls, {}, (4,))


def test_check_layer_needs_a_registered_class_and_options_it_can_read_back():
    class Unregistered(_Scale):
        pass

    with pytest.raises(AssertionError, match="register_layer"):
        check_layer(Unregistered, {}, (4,))
    _registered("test_writes_option_twice", WritesOptionTwice)
    with pytest.raises(LayerContractError, match="option 'factor' is declared in OPTIONS.*no attribute 'factor'"):
        check_layer(WritesOptionTwice, {"factor": 2.0}, (4,))
