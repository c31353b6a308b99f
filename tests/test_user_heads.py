"""Output modes through the registry: every shipped head is a registered class, and a
user's own head (``@register_head`` in a module given with ``--import``) is chosen by an
experiment's ``model: {head: {mode: NAME, ...}}`` for summary, run, gradcheck and load."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _user_code import load_error_without, write_user_files

import alzza
from alzza.cli import main
from alzza.data import make_dataset
from alzza.errors import SpecError
from alzza.heads import (
    HEADS,
    BinaryHead,
    Head,
    MultiSelectHead,
    RegressionHead,
    SelectHead,
    SeqBinaryHead,
    SeqSelectHead,
    make_head,
    register_head,
)

#: a paper's loss as a user writes it: Huber's, quadratic within ``delta``, linear beyond
HEAD_FILE = '''
import numpy as np
from alzza.heads import Head, register_head
from alzza.options import Option


@register_head("{name}")
class HuberHead(Head):
    """L = (1/(N·K)) Σ h(o − y), h(d) = d²/2 for |d| ≤ δ else δ(|d| − δ/2); dL/do = clip(d, −δ, δ)/(N·K)."""

    OPTIONS = {{"delta": Option((float,), 1.0, doc="where the loss turns linear")}}

    def __init__(self, delta=1.0):
        self.delta = float(delta)

    def loss(self, output, y):
        d = output - y
        self._d = d
        small = np.abs(d) <= self.delta
        return float(np.mean(np.where(small, 0.5 * d * d, self.delta * (np.abs(d) - 0.5 * self.delta))))

    def backward(self):
        return np.clip(self._d, -self.delta, self.delta) * {dx_factor}(1.0 / self._d.size)

    def accuracy(self, output, y):
        return float(np.mean(np.abs(output - y) <= self.delta))
'''

EXPERIMENT = """\
name: user-{name}
dataset: abalone
model:
  layers: [6]
  head: {{mode: {name}, delta: 2}}
train: {{epochs: 1, batch_size: 10, learning_rate: 0.001, optimizer: sgd}}
"""


def _user_files(tmp_path, name, dx_factor=""):
    return write_user_files(tmp_path, name, HEAD_FILE, EXPERIMENT, dx_factor=dx_factor)


def test_every_shipped_mode_is_a_registered_head_class():
    assert dict(HEADS) == {"regression": RegressionHead, "binary": BinaryHead, "select": SelectHead,
                           "multi-select": MultiSelectHead, "seqselect": SeqSelectHead,
                           "seqbinary": SeqBinaryHead}
    for mode, cls in HEADS.items():
        assert cls.mode == mode
    assert type(make_head("select", None, 3)) is SelectHead
    assert make_head("multi-select", (3, 4), 7).sizes == (3, 4)


def test_unknown_modes_and_options_are_one_spec_error_listing_the_registered_ones():
    with pytest.raises(SpecError) as info:
        make_head("selct")
    assert info.value.path == "head.mode"
    assert "unknown output mode 'selct'; known: regression, binary, select, multi-select" in str(info.value)
    assert "--import" in str(info.value)
    with pytest.raises(SpecError, match="takes only metric"):
        make_head("regression", metrc="rmse")
    with pytest.raises(SpecError, match="mode 'binary' takes no options"):
        make_head("binary", sizes=3)
    with pytest.raises(SpecError, match="mode 'select' takes only label_smoothing"):
        make_head("select", sizes=3)
    with pytest.raises(SpecError, match="head.metric: must be text"):
        make_head("regression", metric=1)
    with pytest.raises(SpecError, match="add up to 7"):
        make_head("multi-select", (3, 4), 8)


def test_a_head_mode_in_the_options_overrides_the_data_sets():
    head = make_head("regression", None, 1, mode="binary")
    assert type(head) is BinaryHead
    with pytest.raises(SpecError, match="takes only metric"):
        make_head("select", None, 1, mode="regression", skip_steps=1)


def test_a_head_must_derive_from_head_and_a_mode_is_not_silently_replaced():
    with pytest.raises(TypeError, match="must derive from"):
        register_head("not-a-head")(object)
    with pytest.raises(ValueError, match="'select' is already"):
        @register_head("select")
        class MySelect(Head):
            pass
    assert HEADS["select"] is SelectHead


def test_summary_run_and_load_use_a_user_head_from_import(tmp_path, tabular_data_dir, capsys):
    head, experiment = _user_files(tmp_path, "huber_run")
    data = ["--data-dir", str(tabular_data_dir)]
    assert main(["summary", str(experiment), "--import", str(head)] + data) == 0
    assert "mode regression (scored by head 'huber_run')" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", str(experiment), "--import", str(head), "--out", str(out), "--no-progress"] + data) == 0
    saved = sorted(out.glob("*.npz"))
    assert saved, list(out.iterdir())
    model = alzza.load(saved[0], printer=lambda *a: None)  # the head is registered in this process now
    assert type(model.head).__name__ == "HuberHead" and model.head.mode == "huber_run"
    assert "regression (scored by head 'huber_run')" in repr(model)  # repr says which head scores
    assert model.head.delta == 2.0 and isinstance(model.head.delta, float)
    # the loaded model scores with the user's loss: Huber with δ = 2 on its own predictions
    x, y = make_dataset("abalone", data_dir=tabular_data_dir, seed=0).test_data()
    d = model.predict(x) - y
    expected = np.mean(np.where(np.abs(d) <= 2, 0.5 * d * d, 2 * (np.abs(d) - 1)))
    assert model.head.loss(model.predict(x), y) == pytest.approx(float(expected), rel=1e-6)


def test_without_import_the_unknown_mode_names_the_fix(tmp_path, tabular_data_dir, capsys):
    _, experiment = _user_files(tmp_path, "huber_missing")
    assert main(["summary", str(experiment), "--data-dir", str(tabular_data_dir)]) == 2
    err = capsys.readouterr().err
    assert "unknown output mode 'huber_missing'" in err and "--import" in err and "Traceback" not in err


def test_a_bad_option_of_a_user_head_is_one_error(tmp_path, tabular_data_dir, capsys):
    head, experiment = _user_files(tmp_path, "huber_options")
    experiment.write_text(experiment.read_text().replace("delta: 2", "delta: wide"))
    assert main(["summary", str(experiment), "--import", str(head), "--data-dir", str(tabular_data_dir)]) == 2
    err = capsys.readouterr().err
    assert "head.delta" in err and "a number" in err and "Traceback" not in err


@pytest.mark.parametrize("dx_factor, verdict", [("", 0), ("3 * ", 1)])
def test_gradcheck_checks_a_user_heads_backward(tmp_path, tabular_data_dir, capsys, dx_factor, verdict):
    name = "huber_ok" if not dx_factor else "huber_wrong"
    head, experiment = _user_files(tmp_path, name, dx_factor)
    code = main(["gradcheck", str(experiment), "--import", str(head), "--data-dir", str(tabular_data_dir)])
    out = capsys.readouterr().out
    assert code == verdict, out
    model_rows = [line.split() for line in out.splitlines() if line.startswith("model")]
    assert model_rows and all(row[-1] == ("FAIL" if verdict else "ok") for row in model_rows)


def test_load_without_the_heads_module_names_the_mode_and_the_import_fix(tmp_path):
    from alzza.user_code import import_user_code

    head, _ = _user_files(tmp_path, "huber_gone")
    module = import_user_code(str(head))
    model = alzza.Model(None, [4], input_shape=(3,), output_shape=(1,), mode="regression", seed=0,
                        head={"mode": "huber_gone", "delta": 0.5}, printer=lambda *a: None)
    assert isinstance(model.head, module.HuberHead) and model.head.delta == 0.5
    path = tmp_path / "gone.npz"
    model.save(path)
    error = load_error_without(HEADS, "huber_gone", path)
    assert re.search(r"unknown output mode 'huber_gone'.*--import", str(error))
    again = alzza.load(path, printer=lambda *a: None)
    assert isinstance(again.head, module.HuberHead) and again.head.delta == 0.5
