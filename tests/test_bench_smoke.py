"""The benchmark suite runs in its short form and writes its JSON.

It fails only when the suite cannot run — never on the times it measures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from alzza.bench.harness import add_arguments, load_warning, run_suite
from alzza.bench.rows import ROWS


def _args(*words):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(words))


def test_quick_suite_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    lines = []
    args = _args("--quick", "--repeats", "1", "--target", "0.0005", "--batch", "4", "--json", str(out))
    run_suite(args, log=lines.append)
    data = json.loads(out.read_text())
    assert data["machine"]["numpy"] and "OPENBLAS_CORETYPE" in data["machine"]["env"]
    names = {r["row"] for r in data["results"]}
    assert names == {row.name for row in ROWS}
    for res in data["results"]:
        if "skipped" in res:
            continue
        assert res["train"]["alzza"]["median"] > 0
        assert res["peak_bytes"] >= 0 and "gemm" in res
    assert any(line.startswith("row") for line in lines)  # the table was printed
    # the chapter 12, 14 and 15 rows ran against their torch twins, the same models: the GAN's
    # weights match; torch's LSTM has a second bias of 4H per layer
    results = {r["row"]: r for r in data["results"]}
    for name in ("seqwrap-videoshot", "encdec-mnist-eng", "gan-mnist"):
        assert results[name]["train"]["torch"]["median"] > 0 and results[name]["gemm"]["gemm_calls_per_step"] > 0
    assert results["gan-mnist"]["torch_parameters"] == results["gan-mnist"]["parameters"]
    assert results["encdec-mnist-eng"]["torch_parameters"] - results["encdec-mnist-eng"]["parameters"] == 4 * 32
    assert results["seqwrap-videoshot"]["torch_parameters"] - results["seqwrap-videoshot"]["parameters"] == 4 * 8


def test_alzza_bench_command_runs(tmp_path):
    """`alzza bench` (through the child process that sets the BLAS threads) writes the JSON too."""
    out = tmp_path / "cli.json"
    proc = subprocess.run([sys.executable, "-m", "alzza.cli", "bench", "--quick", "--rows", "mlp-pulsar",
                           "--repeats", "1", "--target", "0.0005", "--no-profile", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["results"][0]["row"] == "mlp-pulsar"
    assert data["machine"]["env"]["OPENBLAS_NUM_THREADS"] == "2"


def test_size_and_steps_resize_the_cnn_and_rnn_rows(tmp_path):
    out = tmp_path / "sized.json"
    args = _args("--rows", "cnn-flowers96", "lstm-automata", "mlp-pulsar", "--size", "40", "--steps", "7",
                 "--repeats", "1", "--target", "0.0005", "--batch", "2", "--no-profile", "--json", str(out))
    run_suite(args, log=lambda *a: None)
    data = json.loads(out.read_text())
    shapes = {r["row"]: r["input_shape"] for r in data["results"]}
    assert shapes == {"cnn-flowers96": [40, 40, 3], "lstm-automata": [7, 45], "mlp-pulsar": [8]}
    assert data["size"] == 40 and data["steps"] == 7
    resized = {r["row"]: r["resized"] for r in data["results"]}
    assert resized == {"cnn-flowers96": [96, 96, 3], "lstm-automata": [40, 45], "mlp-pulsar": None}


def test_json_goes_to_the_run_folder_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = _args("--rows", "mlp-pulsar", "--repeats", "1", "--target", "0.0005", "--batch", "2", "--no-torch",
                 "--no-profile", "--out", str(tmp_path / "myrun"))
    run_suite(args, log=lambda *a: None)
    assert not (tmp_path / "benchmarks").exists()
    written = list((tmp_path / "myrun").glob("bench-*.json"))
    assert len(written) == 1 and json.loads(written[0].read_text())["results"][0]["row"] == "mlp-pulsar"


def test_load_warning_compares_the_load_with_the_cores():
    assert load_warning({"loadavg": [0.5, 0, 0], "cpus": 4}, 2) is None
    text = load_warning({"loadavg": [9.0, 0, 0], "cpus": 2}, 1)
    assert "9.0" in text and "2 cores" in text
    assert load_warning({"cpus": 2}, 1) is None  # no load average on this platform: nothing to say


def test_op_split_accounts_for_the_step_and_leaves_the_model_alone():
    import numpy as np

    from alzza.bench.rows import LEARNING_RATE, Row, build_alzza, make_batch
    from alzza.bench.opsplit import op_split, split_lines
    from alzza.layers import conv as conv_module
    from alzza.ops import windows
    from alzza.ops.activations import ACTIVATIONS

    row = Row("tiny-cnn", "cnn", (12, 12, 3), "select", 3,
              [["conv", {"ksize": 3, "chn": 4, "actions": "LAB"}], ["max", {"stride": 2}],
               ["conv", {"ksize": 3, "chn": 5, "actfunc": "tanh"}]])
    model = build_alzza(row)
    x, y, _ = make_batch(row, 4, np.random.default_rng(0))
    before = {key: value.copy() for key, value in model.network.layers[0].params.items()}
    result = op_split(model, x, y, LEARNING_RATE, steps=2)
    shares = result["shares"]
    # exclusive times: the labels add up to the step (less the loop around it)
    assert 0.9 < sum(shares.values()) <= 1 + 1e-9, shares
    assert list(shares.values()) == sorted(shares.values(), reverse=True)
    for label in ("GEMM in Conv2D._linear_forward", "GEMM in Conv2D._linear_backward", "BatchNorm.normalize",
                  "MaxPool.forward", "Tanh.backward", "other (loss, update, glue)"):
        assert label in shares, sorted(shares)
    assert any(label.startswith(("im2col", "pad_channels")) for label in shares)
    assert 0 < result["gemm_share"] < 1 and result["step_cpu_seconds"] > 0
    assert split_lines(result, top=3)[1].strip().startswith(next(iter(shares)))
    # the split ran on a copy: weights, layer methods, conv's window ops and the shared
    # activation objects are the originals again
    for key, value in model.network.layers[0].params.items():
        np.testing.assert_array_equal(value, before[key])
        assert type(value) is np.ndarray
    conv = model.network.layers[0]
    assert "forward" not in vars(conv) and "_linear_backward" not in vars(conv)
    assert conv_module.im2col is windows.im2col and conv_module.channel_sum is windows.channel_sum
    assert "backward" not in vars(ACTIVATIONS["tanh"])


def test_ops_flag_reaches_the_child_process():
    from alzza.cli import build_parser
    from alzza.commands.bench import bench_argv as _bench_argv

    args = build_parser().parse_args(["bench", "--ops", "--threads", "1"])
    assert "--ops" in _bench_argv(args) and args.ops


def test_gemm_timing_reaches_the_conv_behind_its_batch_norm():
    # the conv's linear part gets its gradient from its own batch norm, not through a layer
    # boundary: time_layer_inputs must still hand it a timed array, or its GEMMs go uncounted
    import copy

    import numpy as np

    from alzza.bench.gemmtime import _GemmTimed, time_layer_inputs
    from alzza.bench.rows import LEARNING_RATE, Row, build_alzza, make_batch

    row = Row("tiny-lab", "cnn", (8, 8, 3), "select", 3, [["conv", {"ksize": 3, "chn": 4, "actions": "LAB"}]])
    twin = copy.deepcopy(build_alzza(row))
    x, y, _ = make_batch(row, 2, np.random.default_rng(0))
    conv = twin.network.layers[0]
    seen = []

    def spy(dz, need_dx, _method=conv._linear_backward):
        seen.append(type(dz))
        return _method(dz, need_dx)

    conv._linear_backward = spy
    time_layer_inputs(twin)
    twin.train_step(x.view(_GemmTimed), y, LEARNING_RATE)
    assert seen == [_GemmTimed]
