"""ONNX export of Transformer networks (encoder-only and decoder-only), verified in onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import alzza  # noqa: E402
from alzza.experiments.catalogue import load_macro_file  # noqa: E402
from alzza.export import ExportError, graph_names, to_onnx  # noqa: E402
from alzza.export.plans import plans_of  # noqa: E402
from alzza.export.verify import compare  # noqa: E402
from alzza.sequences import SeqShape  # noqa: E402

ARGS = {"#heads": 2, "#width": 8, "#ffn": 16, "#act": "gelu", "#keep": 1.0}


def model(layers, output_shape, mode):
    m = alzza.Model(None, layers, input_shape=SeqShape((6,)), output_shape=output_shape, mode=mode, seed=1,
                    macros=load_macro_file("transformer"), printer=lambda *a: None)
    rng = np.random.default_rng(0)
    for layer in m.network.walk():
        for key, value in layer.params.items():
            if key != "table" or layer.type_name != "embed":
                value[...] = rng.normal(0.0, 0.3, value.shape)
    return m


def check(m):
    proto = to_onnx(m)
    onnx.checker.check_model(proto, full_check=True)
    diff, got, want = compare(m, proto, plans_of(m)[graph_names(m)[0]], count=6, seed=2)
    assert got.shape == want.shape and np.isfinite(got).all()
    return diff


@pytest.mark.parametrize("block", ["encoder_pre", "encoder_post"])
@pytest.mark.parametrize("pool", ["mean", "first"])
def test_encoder_classifier_exports(block, pool):
    m = model([["embed", {"vocab": 7, "width": 8, "padding_id": 0, "scale": True}], ["posenc"],
               ["custom", {"name": block, "args": ARGS}], ["rms_normal"], ["seqpool", {"how": pool}]], (3,), "select")
    assert check(m) < 1e-4


@pytest.mark.parametrize("block", ["decoder_pre", "decoder_post"])
def test_decoder_only_exports(block):
    args = dict(ARGS, **{"#act": "gelu_tanh"})
    m = model([["embed", {"vocab": 7, "width": 8, "name": "tok"}], ["posenc", {"kind": "learned"}],
               ["custom", {"name": block, "args": args}], ["unembed", {"tie": "tok"}]], SeqShape((6, 5)),
              "seqselect")
    assert check(m) < 1e-4


def test_rotary_is_refused_naming_the_layer():
    m = model([["embed", {"vocab": 7, "width": 8}], ["attention", {"heads": 2, "rotary": True}], ["seqpool"]],
              (3,), "select")
    with pytest.raises(ExportError, match=r"layers\[1\].*rotary"):
        to_onnx(m)
