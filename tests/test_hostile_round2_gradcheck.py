"""Hostile input, round 2 (issue 23): ``alzza gradcheck`` and ``check_layer``.

T2: the user-layer bugs gradcheck exists to catch — a backward that returns the wrong
shape, the transpose, None, text, or raises; a forward of the wrong shape — are each a
FAIL row naming that layer (never the one before it) and one line saying what is wrong,
exit 1, no traceback. W4: a correct conv with actions LB / LBA (its bias gradient is
exactly zero before batch norm) passes: errors are judged against the scale of the case."""

from __future__ import annotations

import pytest
from _user_code import write_user_files

from alzza.cli import main
from alzza.layers.conv import Conv2D
from alzza.testing import check_layer

LAYER = '''
import numpy as np
from alzza.layers import Layer, register_layer


@register_layer("{name}")
class Broken(Layer):
    """y = x ⊙ a (a per feature); a planted bug in forward or backward."""

    def build(self, input_shape, ctx):
        self.params["a"] = np.full(input_shape, 0.5, dtype=ctx.dtype)
        return super().build(input_shape, ctx)

    def forward(self, x, training=False):
        self._x = x
        y = x * self.params["a"]
        return {forward}

    def backward(self, dy):
        self.grads["a"] = (dy * self._x).sum(axis=0)
        dx = dy * self.params["a"]
        {backward}
'''

EXPERIMENT = """\
name: user-{name}
dataset: abalone
model:
  layers: [8, ['{name}'], 4]
train: {{epochs: 1, batch_size: 10, learning_rate: 0.001, optimizer: sgd}}
"""

BUGS = {
    "wrong shape": ("y", "return dx[:, :3]", "shape"),
    "transpose": ("y", "return dx.T", "shape"),
    "none": ("y", "return None", "None"),
    "text": ("y", "return 'dx'", "str"),
    "raises": ("y", "raise RuntimeError('oops in backward')", "oops in backward"),
    "forward shape": ("y[:, :3]", "return dx", "forward returned shape"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_T2_a_broken_user_layer_is_a_fail_row_naming_it(bug, tmp_path, tabular_data_dir, capsys):
    forward, backward, what = BUGS[bug]
    name = "broken_" + bug.replace(" ", "_")
    layer, experiment = write_user_files(tmp_path, name, LAYER, EXPERIMENT, forward=forward, backward=backward)
    code = main(["gradcheck", str(experiment), "--import", str(layer), "--data-dir", str(tabular_data_dir)])
    captured = capsys.readouterr()
    assert code == 1, captured.out + captured.err
    assert "Traceback" not in captured.err
    rows = [line.split() for line in captured.out.splitlines() if line.startswith("layers[")]
    failed = {row[0] for row in rows if row[-1] == "FAIL"}
    assert failed == {"layers[1]"}, captured.out
    assert all(row[-1] == "ok" for row in rows if row[0] == "layers[0]")
    problem = [line for line in captured.out.splitlines() if line.startswith("FAIL layers[1]")]
    assert len(problem) == 1 and what in problem[0], captured.out


@pytest.mark.parametrize("actions", ["LB", "LBA"])
def test_W4_a_conv_before_batch_norm_passes_check_layer(actions):
    """The bias gradient is exactly zero (batch norm removes any constant): round-off of the
    central differences is no reason to call a correct layer broken."""
    errors = check_layer(Conv2D, {"ksize": 3, "chn": 4, "actions": actions}, input_shape=(6, 6, 2), batch=4)
    assert all(e is None or e < 1e-6 for e in errors.values()), errors


def test_W4_gradcheck_passes_a_correct_conv_with_batch_norm(tmp_path, capsys):
    from alzza.testing import check_layer_gradients

    layer = Conv2D(ksize=3, chn=4, actions="LBA")
    layer.attach("layers[0]")
    errors = check_layer_gradients(layer, (6, 6, 2), batch=4, training=True)
    assert all(e is None or e < 1e-6 for e in errors.values()), errors


def test_W4_a_wrong_bias_gradient_is_still_caught():
    """Judging against the case's scale must not hide a wrong gradient of the case's size."""
    from alzza.layers import Dense
    from alzza.testing import check_layer_gradients

    class WrongBias(Dense):
        def backward(self, dy):
            dx = super().backward(dy)
            self.grads["b"] = self.grads["b"] * 1.5
            return dx

    layer = WrongBias(3)
    layer.attach("layers[0]")
    errors = check_layer_gradients(layer, (4,), batch=5)
    assert errors["layers[0]/b"] > 0.1 and errors["layers[0]/w"] < 1e-6
