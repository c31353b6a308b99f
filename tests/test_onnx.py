"""ONNX export of every layer type and option: the graph passes onnx.checker and
onnxruntime's output equals alzza's ``predict`` within 1e-4 (float32) on random inputs,
variable-length sequences included. Weights, biases and batch-norm statistics are
randomised first so that every parameter (and every gate block of an LSTM) matters.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import alzza  # noqa: E402
from alzza.cli import main  # noqa: E402
from alzza.export import OPSET, ExportError, export_all, graph_names, to_onnx  # noqa: E402
from alzza.export.plans import plans_of  # noqa: E402
from alzza.export.verify import compare, random_inputs, session  # noqa: E402
from alzza.export.windows import axis_plan  # noqa: E402
from alzza.layers import Layer  # noqa: E402
from alzza.sequences import Sequences  # noqa: E402

TOL = 1e-4


def randomise(model, seed=0):
    """Every parameter ~ N(0, 0.5); batch-norm means ~ N(0, 0.5) and variances in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    for layer in model.network.walk():
        for value in layer.params.values():
            value[...] = rng.normal(0.0, 0.5, value.shape)
        for key, value in layer.state.items():
            value[...] = rng.uniform(0.5, 1.5, value.shape) if key == "var" else rng.normal(0.0, 0.5, value.shape)
    return model


def net(layers, input_shape, output_shape, mode="select", **kw):
    return randomise(alzza.Model(None, layers, input_shape=input_shape, output_shape=output_shape, mode=mode,
                                 seed=1, **kw))


def assert_matches(model, part=None, count=6, seed=0):
    """Export, check, run in onnxruntime and compare with alzza; returns the proto."""
    proto = to_onnx(model, part=part)
    onnx.checker.check_model(proto, full_check=True)
    plan = plans_of(model)[part or graph_names(model)[0]]
    diff, got, want = compare(model, proto, plan, count=count, seed=seed)
    assert got.shape == want.shape
    assert np.isfinite(got).all()
    assert diff <= TOL, f"onnxruntime differs from alzza by {diff}"
    return proto


# --------------------------------------------------------------------------- geometry
def test_axis_plan_reproduces_every_window():
    """For any size, kernel, stride, window count and pad-before (negative: leading cells
    skipped, as the book's sampling offset does), cropping + padding gives ONNX's size
    rule exactly ``out`` windows starting where alzza's start."""
    for size in range(1, 12):
        for k in range(1, 5):
            for s in range(1, 5):
                for pad in range(-3, k):
                    for out in range(1, 6):
                        if (out - 1) * s - pad >= size or -pad + (out - 1) * s + k <= 0:
                            continue  # a window wholly outside the input: no layer builds that
                        p = axis_plan(size, k, s, out, pad)
                        length = p.end - p.begin + p.before + p.after
                        assert (length - k) // s + 1 == out
                        # the first window starts at −pad in input coordinates
                        assert p.begin - p.before == -pad
                        assert 0 <= p.begin <= p.end <= size


# --------------------------------------------------------------------------- plain layers
def test_full_layers_and_every_activation():
    model = net([8, ["full", {"width": 6, "actfunc": "tanh"}], ["full", {"width": 5, "actfunc": "sigmoid"}],
                 ["full", {"width": 4, "actfunc": "none"}]], [10], [3])
    assert_matches(model)


@pytest.mark.parametrize("actions", ["LA", "AL", "L", "LB", "BL", "LAB", "LBA", "ALB", "ABL", "BLA", "BAL"])
def test_conv_with_every_actions_order(actions):
    model = net([["conv", {"ksize": 3, "chn": 4, "actions": actions, "actfunc": "tanh"}]], [7, 6, 3], [2])
    assert_matches(model)


@pytest.mark.parametrize("ksize,stride,padding", [
    (3, 1, "SAME"), ([3, 2], 2, "SAME"), ([1, 4], [2, 3], "SAME"), (2, 3, "SAME"), (5, 2, "SAME"),
    (3, 1, "VALID"), ([2, 3], 2, "VALID"), ([4, 1], [3, 2], "VALID"),
])
@pytest.mark.parametrize("rule", ["book", "ceil"])
def test_conv_strides_rectangular_kernels_and_padding(ksize, stride, padding, rule):
    model = net([["conv", {"ksize": ksize, "chn": 3, "stride": stride, "padding": padding, "stride_rule": rule}]],
                [9, 8, 2], [2])
    assert_matches(model)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("opts", [
    {"stride": 2}, {"stride": 3}, {"stride": 2, "ksize": 3}, {"stride": 1, "ksize": 3},
    {"stride": [2, 3], "ksize": [3, 2]}, {"stride": 2, "ksize": 3, "padding": "VALID"}, {"stride": 4, "ksize": 5},
])
@pytest.mark.parametrize("rule", ["book", "ceil"])
def test_pooling_windows(kind, opts, rule):
    # 7×10 does not divide by most strides: padded windows, where avg divides by the real cells only
    model = net([[kind, {**opts, "stride_rule": rule}]], [7, 10, 3], [2])
    assert_matches(model)


@pytest.mark.parametrize("kind", ["conv", "max", "avg"])
def test_both_stride_rules_export_their_own_geometry(kind):
    """The book's rule (H // s, from offset (s − 1) // 2) and TensorFlow's ceil rule give
    different maps; each graph follows its own layer (read from the layer's geometry)."""
    opts = {"ksize": 3, "chn": 2} if kind == "conv" else {"ksize": 3}
    shapes = {}
    for rule in ("book", "ceil"):
        model = net([[kind, {**opts, "stride": 2, "stride_rule": rule}]], [9, 7, 2], [3])
        shapes[rule] = model.layers[0].output_shape[:2]
        assert_matches(model)
    assert shapes == {"book": (4, 3), "ceil": (5, 4)}


def test_avg_pool_divides_by_the_real_cells():
    """On an all-ones image every window's mean is 1 — not 4/9 at a corner, where a 3×3
    window holds 4 real cells and 5 padded ones (the output layer is set to the identity)."""
    pool_only = alzza.Model(None, [["avg", {"stride": 1, "ksize": 3}]], input_shape=[3, 3, 1], output_shape=[9],
                            mode="regression", seed=0)
    dense = pool_only.layers[-1]
    dense.params["w"][...] = np.eye(9, dtype=np.float32)
    dense.params["b"][...] = 0
    x = np.ones((1, 3, 3, 1), np.float32)
    got = session(to_onnx(pool_only)).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, np.ones((1, 9)), atol=1e-6)
    np.testing.assert_allclose(got, pool_only.predict(x), atol=1e-6)


def test_batch_norm_dropout_and_noise():
    model = net([["batch_normal", {}], ["dropout", {"keep_prob": 0.5}], ["noise", {"std": 0.3}], 6,
                 ["batch_normal", {"rescale": False, "epsilon": 0.01}]], [4, 5, 2], [3])
    proto = assert_matches(model)
    ops = {node.op_type for node in proto.graph.node}
    assert not ops & {"Dropout", "RandomNormal", "RandomNormalLike"}   # identity at inference


def test_serial_parallel_add_with_tiling_and_actions_and_loop():
    model = net([
        ["serial", {}, ["conv", {"ksize": 3, "chn": 4}], ["max", {"stride": 1, "ksize": 3}]],
        ["parallel", {}, ["conv", {"ksize": 1, "chn": 2}], ["avg", {"stride": 1, "ksize": 3}],
         ["serial", {}, ["conv", {"ksize": [1, 3], "chn": 3}], ["conv", {"ksize": [3, 1], "chn": 3}]]],
        ["add", {"actions": "AB", "actfunc": "tanh"},
         ["conv", {"ksize": 1, "chn": 18}], ["conv", {"ksize": 3, "chn": 3}]],
        ["add", {"x": False, "actions": "BA"}, ["conv", {"ksize": 1, "chn": 6}], ["conv", {"ksize": 1, "chn": 2}]],
        ["loop", {"repeat": 3}, ["add", {}, ["conv", {"ksize": 3, "chn": 6}]]],
    ], [6, 6, 2], [4])
    assert_matches(model)


# --------------------------------------------------------------------------- heads
@pytest.mark.parametrize("mode,out,extra", [
    ("regression", [3], {}), ("regression", [2, 3], {}), ("binary", [1], {}), ("select", [5], {}),
    ("multi-select", [5], {"head_sizes": [3, 2]}),
])
def test_the_output_is_the_estimate_of_predict(mode, out, extra):
    model = net([6], [4], out, mode=mode, **extra)
    proto = assert_matches(model)
    x = np.random.default_rng(3).standard_normal((4, 4)).astype(np.float32)
    got = session(proto).run(None, {"x": x})[0]
    if mode == "select":
        np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)
    if mode == "multi-select":
        np.testing.assert_allclose(got[:, :3].sum(axis=1), 1, atol=1e-6)
        np.testing.assert_allclose(got[:, 3:].sum(axis=1), 1, atol=1e-6)
    if mode == "binary":
        assert ((got > 0) & (got < 1)).all()


def test_dynamic_batch_and_float64_models_export_float32():
    model = randomise(alzza.Model(None, [5], input_shape=[3], output_shape=[2], mode="select", seed=0,
                                  dtype="float64"))
    proto = to_onnx(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    run = session(proto)
    for n in (1, 7, 0):
        x = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
        got = run.run(None, {"x": x})[0]
        assert got.shape == (n, 2)
        if n:
            np.testing.assert_allclose(got, model.predict(x), atol=TOL)


# --------------------------------------------------------------------------- sequences
SEQ = {"seq": [7, 3]}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("opts,out,mode", [
    ({"outseq": False}, [4], "select"),
    ({"outseq": True}, {"seq": [7, 2]}, "select"),
    ({"outseq": True}, {"seq": [7, 1]}, "binary"),
    ({"outseq": False, "inseq": False, "timesteps": 5}, [2], "regression"),
    ({"outseq": True, "inseq": False, "timesteps": 5}, {"seq": [5, 3]}, "select"),
])
def test_recurrent_layers(kind, opts, out, mode):
    inp = [6] if opts.get("inseq") is False else SEQ
    model = net([[kind, {"recur_size": 5, **opts}]], inp, out, mode=mode)
    assert_matches(model, count=9)


@pytest.mark.parametrize("actfunc", ["relu", "tanh", "sigmoid", "none"])
def test_rnn_activations(actfunc):
    model = net([["rnn", {"recur_size": 4, "actfunc": actfunc}]], SEQ, {"seq": [7, 2]})
    assert_matches(model, count=9)


@pytest.mark.parametrize("outseq", [False, True])
def test_lstm_use_state(outseq):
    out, mode = ({"seq": [7, 2]}, "binary") if outseq else ([2], "regression")
    model = net([["lstm", {"recur_size": 5, "use_state": True, "outseq": outseq}]], SEQ, out, mode=mode)
    assert_matches(model, count=9)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("outseq", [True, False])
def test_gru_both_forms(reset_after, outseq):
    out = {"seq": [7, 2]} if outseq else [2]
    model = net([["gru", {"recur_size": 5, "reset_after": reset_after, "outseq": outseq}]], SEQ, out)
    assert_matches(model, count=9)


@pytest.mark.parametrize("spec,inp,out", [
    ([4, ["layer_normal", {}], 3], [5], [2]),
    ([["conv", {"ksize": 3, "chn": 4}], ["layer_normal", {"epsilon": 0.01}]], [5, 4, 2], [3]),
    ([["layer_normal", {}], ["lstm", {"recur_size": 4}], ["layer_normal", {"rescale": False}]], SEQ,
     {"seq": [7, 2]}),
    ([["seqwrap", {}, ["layer_normal", {}], 4], ["gru", {"recur_size": 3, "outseq": False}]], SEQ, [2]),
])
def test_layer_normal(spec, inp, out):
    """Per example, per pixel, per real step of a sequence (padded steps stay zero)."""
    assert_matches(net(spec, inp, out), count=9)


def test_variable_lengths_are_honoured():
    """The same examples, padded with garbage beyond their lengths, give the same
    estimates as alzza and the padded steps of a sequence output are zero."""
    model = net([["lstm", {"recur_size": 4}], ["gru", {"recur_size": 4}],
                 ["rnn", {"recur_size": 3, "actfunc": "tanh"}]],
                SEQ, {"seq": [7, 2]})
    run = session(to_onnx(model))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 7, 3)).astype(np.float32)
    lengths = np.array([7, 1, 3, 5, 2], np.int64)
    garbage = x.copy()
    for i, n in enumerate(lengths):
        garbage[i, n:] = 1e3
    got = run.run(None, {"x": garbage, "lengths": lengths})[0]
    want = model.predict(Sequences(x, lengths)).data
    np.testing.assert_allclose(got, want, atol=TOL)
    for i, n in enumerate(lengths):
        assert not got[i, n:].any() and got[i, :n].any()


def test_seqwrap_of_images_then_lstm():
    model = net([["seqwrap", {}, ["conv", {"ksize": 3, "chn": 3, "actions": "LAB"}], ["max", {"stride": 2}],
                  ["dropout", {"keep_prob": 0.5}], 6],
                 ["lstm", {"recur_size": 4}],
                 ["seqwrap", {}, ["batch_normal", {}], 5]], {"seq": [4, 6, 5, 2]}, {"seq": [4, 3]})
    assert_matches(model, count=7)


def test_lengths_input_is_int64_and_documented():
    model = net([["rnn", {"recur_size": 3, "outseq": False}]], SEQ, [2])
    proto = to_onnx(model)
    names = [i.name for i in proto.graph.input]
    assert names == ["x", "lengths"]
    assert proto.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    meta = {p.key: p.value for p in proto.metadata_props}
    assert "lengths" in meta["inputs"] and "batch-major" in meta["inputs"]


# --------------------------------------------------------------------------- families
def test_autoencoder_parts():
    ae = alzza.Autoencoder(None, [12, ["full", {"width": 4, "actfunc": "sigmoid"}]], [10], [8],
                           input_shape=[5, 5, 1], output_shape=[3], mode="select", seed=2)
    randomise(ae)
    assert graph_names(ae) == ["predict", "encoder", "decoder"]
    for part in graph_names(ae):
        assert_matches(ae, part=part)
    x = np.random.default_rng(1).standard_normal((3, 5, 5, 1)).astype(np.float32)
    code = session(to_onnx(ae, part="encoder")).run(None, {"x": x})[0]
    recon = session(to_onnx(ae, part="decoder")).run(None, {"code": code})[0]
    np.testing.assert_allclose(recon, ae.reconstruct(x), atol=TOL)   # the two graphs chain into reconstruct


def test_encoder_decoder_parts():
    ed = alzza.EncoderDecoder(None, [8], [["lstm", {"recur_size": 6, "inseq": False, "timesteps": 4}]],
                              input_shape=[6, 6, 1], output_shape={"seq": [4, 5]}, mode="select",
                              encoder_shape=[3], encoder_mode="select", seed=4)
    randomise(ed)
    assert graph_names(ed) == ["predict", "encoder", "decoder"]
    for part in graph_names(ed):
        assert_matches(ed, part=part)


def test_encoder_decoder_without_encoder_output_parts():
    """encoder_output false (the book's mnist-kor form): the decoder reads the encoder's 5 units, t is 1 wide."""
    ed = alzza.EncoderDecoder(None, [["seqwrap", {}, 8], ["batch_normal"], ["full", {"width": 5}]],
                              [["lstm", {"recur_size": 6, "inseq": False, "outseq": True, "timesteps": 4}]],
                              input_shape={"seq": [2, 6]}, output_shape={"seq": [4, 5]}, mode="seqselect",
                              encoder_shape=[1], encoder_mode="regression", encoder_output=False, seed=4)
    randomise(ed)
    assert graph_names(ed) == ["predict", "encoder", "decoder"]
    code = assert_matches(ed, part="encoder")
    assert [d.dim_value for d in code.graph.output[0].type.tensor_type.shape.dim][1:] == [5]
    for part in ("predict", "decoder"):
        assert_matches(ed, part=part)


def test_gan_generator_and_discriminator():
    gan = alzza.Gan(None, [6], [16], [["conv", {"ksize": 3, "chn": 2}], 8], input_shape=[4, 4, 1],
                    value_range=(-1, 1), seed=5)
    randomise(gan)
    assert graph_names(gan) == ["generator", "discriminator"]
    proto = assert_matches(gan, part="generator")
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim][1:] == [4, 4, 1]
    assert_matches(gan, part="discriminator")


def test_export_all_writes_one_file_per_graph(tmp_path):
    gan = alzza.Gan(None, [6], [8], [8], input_shape=[3, 3, 1], seed=5)
    written = export_all(gan, tmp_path / "gan.onnx")
    assert written == {"generator": tmp_path / "gan.onnx", "discriminator": tmp_path / "gan.discriminator.onnx"}
    for path in written.values():
        onnx.checker.check_model(onnx.load(str(path)))
    with pytest.raises(ExportError, match="no graph 'encoder'.*generator, discriminator"):
        to_onnx(gan, part="encoder")


# --------------------------------------------------------------------------- metadata and errors
def test_metadata_names_the_experiment_version_opset_and_classes(tmp_path):
    model = net([4], [3], [3])
    model.name = "steel-test"
    model.target_names = ["a", "b", "c"]
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = alzza.load(path)
    assert loaded.target_names == ["a", "b", "c"]     # kept in the model file
    proto = loaded.to_onnx(tmp_path / "m.onnx")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["experiment"] == "steel-test" and meta["alzza_version"] == alzza.__version__
    assert json.loads(meta["class_names"]) == ["a", "b", "c"]
    assert meta["opset"] == str(OPSET) and proto.opset_import[0].version == OPSET
    assert "softmax" in meta["outputs"] and meta["inputs"].startswith("x: float32 (batch, 3)")
    assert meta["mode"] == "select" and meta["reference"] == "model.predict(x)"
    again = onnx.load(str(tmp_path / "m.onnx"))
    assert {p.key: p.value for p in again.metadata_props} == meta
    custom = to_onnx(model, class_names=["x", "y", "z"])
    assert json.loads({p.key: p.value for p in custom.metadata_props}["class_names"]) == ["x", "y", "z"]


def test_without_onnx_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)   # import onnx now raises ImportError
    with pytest.raises(ExportError, match=r"pip install 'alzza\[onnx\]'"):
        to_onnx(net([3], [2], [2]))


class Mystery(Layer):
    """A user's layer type the exporter knows nothing about."""

    type_name = "mystery"

    def forward(self, x, training=False):
        return x


def test_an_unexportable_layer_is_one_error_naming_it():
    model = alzza.Model(None, [alzza.layers.Dense(4), Mystery()], input_shape=[3], output_shape=[2],
                        mode="select", seed=0)
    model.layers[1].path = "layers[1]"
    with pytest.raises(ExportError, match=r"layers\[1\]: layer type 'mystery' cannot be exported to ONNX.*conv"):
        to_onnx(model)


def test_an_unexportable_activation_is_one_error_naming_the_layer():
    model = net([4, 3], [3], [2])

    class Swish(alzza.ops.activations.Activation):
        name = "swish"

    model.layers[1].activation = Swish()
    with pytest.raises(ExportError, match=r"layers\[1\]: activation 'swish' cannot be exported"):
        to_onnx(model)


# --------------------------------------------------------------------------- the command
def test_cli_export_and_verify(tmp_path, capsys):
    ae = alzza.Autoencoder(None, [6, 3], [6], [], input_shape=[4], output_shape=[2], mode="select", seed=2)
    ae.save(tmp_path / "ae.npz")
    assert main(["export", str(tmp_path / "ae.npz"), str(tmp_path / "ae.onnx"), "--verify"]) == 0
    out = capsys.readouterr().out
    for name in ("ae.onnx", "ae.encoder.onnx", "ae.decoder.onnx"):
        assert (tmp_path / name).is_file() and name in out
    assert out.count("max |difference|") == 3
    assert main(["export", str(tmp_path / "ae.npz"), str(tmp_path / "only.onnx"), "--part", "decoder",
                 "--class-names", "yes,no"]) == 0
    proto = onnx.load(str(tmp_path / "only.onnx"))
    assert [i.name for i in proto.graph.input] == ["code"]
    assert json.loads({p.key: p.value for p in proto.metadata_props}["class_names"]) == ["yes", "no"]


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.npz"), str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alzza: error:") and "does not exist" in err and "Traceback" not in err
    model = net([3], [2], [2])
    model.save(tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "x.onnx"), "--part", "decoder"]) == 2
    assert "no graph 'decoder'" in capsys.readouterr().err


def test_random_inputs_cover_full_and_short_sequences():
    model = net([["rnn", {"recur_size": 2, "outseq": False}]], SEQ, [2])
    x, feeds = random_inputs(plans_of(model)["predict"], 20, np.random.default_rng(0))
    assert feeds["lengths"][0] == 7 and feeds["lengths"].min() < 7 and feeds["lengths"].min() >= 1
