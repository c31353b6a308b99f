"""The Transformer bench rows (issue 24): they build, one training step runs, and the torch twin
is the same model — the same parameter count, and in float64 with alzza's weights copied in,
the same outputs. Nothing here is timed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from alzza.bench.rows import LEARNING_RATE, ROWS, Row, build_alzza, make_batch, transformer_layers

NAMES = ("transformer-encoder", "transformer-decoder")


def _row(name):
    return next(row for row in ROWS if row.name == name)


def _reference():
    pytest.importorskip("torch")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "torch_models.py"
    spec = importlib.util.spec_from_file_location("bench_torch_models_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_transformer_row_builds_and_one_step_runs(name):
    row = _row(name)
    model = build_alzza(row)
    x, y, labels = make_batch(row, 2, np.random.default_rng(0))
    assert x.shape == (2, 64) and y.shape == (2, 64, 64) and labels.shape == (2, 64)
    assert np.array_equal(x, np.rint(x)) and x.min() >= 0 and x.max() < 64   # token ids
    attention = [layer for layer in model.network.walk() if layer.type_name == "attention"]
    assert [layer.causal for layer in attention] == [name.endswith("decoder")] * 2
    assert attention[0].heads == 4 and attention[0].width == 128
    before = model.network.layers[0].params["table"].copy()
    model.train_step(x, y, LEARNING_RATE)
    assert not np.array_equal(before, model.network.layers[0].params["table"])   # the step updated weights


def _copy_weights(model, net):
    """alzza's weights into the torch twin, module by module in the order both walk the layers."""
    import torch

    from alzza.layers.attention import MultiHeadAttention

    alzza_layers = [layer for layer in model.network.walk() if layer.params]
    torch_modules = [m for m in net.modules()
                     if isinstance(m, (torch.nn.Embedding, torch.nn.LayerNorm, torch.nn.Linear,
                                       torch.nn.MultiheadAttention))
                     and not isinstance(m, torch.nn.modules.linear.NonDynamicallyQuantizableLinear)]
    assert len(alzza_layers) == len(torch_modules)
    with torch.no_grad():
        for layer, module in zip(alzza_layers, torch_modules, strict=True):
            p = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in layer.params.items()}
            if isinstance(layer, MultiHeadAttention):
                module.in_proj_weight.copy_(p["w_qkv"].T)
                module.in_proj_bias.copy_(p["b_qkv"])
                module.out_proj.weight.copy_(p["w_o"].T)
                module.out_proj.bias.copy_(p["b_o"])
            elif isinstance(module, torch.nn.Embedding):
                module.weight.copy_(p["table"])
            elif isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(p["gamma"])
                module.bias.copy_(p["beta"])
            else:
                module.weight.copy_(p["w"].T)
                module.bias.copy_(p["b"])


@pytest.mark.parametrize("name", NAMES)
def test_torch_twin_is_the_same_model(name):
    import torch

    reference = _reference()
    row = _row(name)
    model = build_alzza(row)
    x, y, labels = make_batch(row, 3, np.random.default_rng(1))
    twin = reference.TorchTwin(model, row.mode, LEARNING_RATE, x, y, labels)
    assert twin.parameter_count() == model.parameter_count()
    twin.train_step()                                   # the twin's step runs

    # the same function: float64 twin with alzza's (scrambled) weights gives alzza's scores
    row64 = Row("t64", "transformer", (8,), "seqselect", 64, transformer_layers(row.layers[2][1]["name"]), steps=8)
    small = build_alzza(row64)
    rng = np.random.default_rng(2)
    for layer in small.network.walk():
        for value in layer.params.values():
            value += rng.standard_normal(value.shape).astype(value.dtype) * 0.1
    net = reference.translate(small.network).double().eval()
    _copy_weights(small, net)
    ids = rng.integers(0, 64, (2, 8)).astype(np.float32)
    ours = np.asarray(getattr(small.forward(ids), "data", small.forward(ids)), dtype=np.float64)
    with torch.no_grad():
        theirs = net(torch.from_numpy(ids.astype(np.float64))).numpy()
    assert np.max(np.abs(ours - theirs)) < 1e-3, np.max(np.abs(ours - theirs))
    # and the causal mask matters: the decoder's step 0 ignores later tokens, the encoder's does not
    changed = ids.copy()
    changed[:, -1] = (changed[:, -1] + 1) % 64
    after = np.asarray(getattr(small.forward(changed), "data", None))
    assert np.allclose(after[:, 0], ours[:, 0], atol=1e-5) == name.endswith("decoder")


def test_bench_refuses_a_twin_of_another_size(monkeypatch, tmp_path):
    """The harness stops when the twin's parameter count differs (a wrong translation)."""
    from alzza.bench import harness
    from alzza.errors import AlzzaError

    reference = _reference()

    class Smaller(reference.TorchTwin):
        def parameter_count(self):
            return super().parameter_count() - 1

    monkeypatch.setattr(reference, "TorchTwin", Smaller)
    with pytest.raises(AlzzaError, match="parameters"):
        harness.run_row(_row("transformer-decoder"), 2, reference, repeats=1, target=0.0005, profile=False)
