"""The GPU path without a GPU: every layer type, head, optimiser and model family on the strict
stand-in device (:mod:`alzza.standin`), step for step equal to the CPU, and each of the five kinds
of leak of issue 25 planted once and refused.

The stand-in computes with NumPy inside, so a model on it must match the same model on the CPU
bit for bit; any host array meeting a device array, NumPy function given a device array, device
scalar used as an int / index / bool, or function CuPy lacks raises StandinLeak instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from alzza import Autoencoder, EncoderDecoder, Gan, Model
from alzza.device import DeviceError, get_device, to_host
from alzza.sequences import Sequences, SeqShape
from alzza.standin import DeviceArray, StandinLeak, xp

QUIET = dict(printer=lambda *a: None)
RNG = np.random.default_rng(0)

#: (name, layers, input shape, output shape, mode): every layer type and every head
NETWORKS = [
    ("full-regression", [8, ["full", {"width": 6, "actfunc": "sigmoid"}]], (5,), (2,), "regression"),
    ("dropout-noise-binary", [8, ["dropout", {"keep_prob": 0.7}], ["noise", {"std": 0.1, "ratio": 0.5}]],
     (5,), (1,), "binary"),
    ("conv-max-select", [["conv", {"ksize": 3, "chn": 4}], ["max", {"stride": 2}], ["conv", {"ksize": 3, "chn": 3,
                                                                                            "actions": "LB"}]],
     (8, 8, 2), (4,), "select"),
    ("conv-avg-stride", [["conv", {"ksize": 3, "chn": 4, "stride": 2}], ["avg", {"stride": 2, "ksize": 3}],
                         ["batch_normal", {}]], (9, 9, 3), (3,), "select"),
    ("composites", [["parallel", {}, 4, 3], ["add", {}, ["serial", {}, 7]], ["loop", {"repeat": 2}, 7]],
     (6,), (3,), "select"),
    ("rnn-lstm-gru", [["rnn", {"recur_size": 4, "actfunc": "tanh"}], ["lstm", {"recur_size": 4}],
                      ["gru", {"recur_size": 3, "outseq": False}]], SeqShape((5, 3)), (3,), "select"),
    ("seqwrap-layernorm", [["seqwrap", {}, 4], ["layer_normal", {}], ["lstm", {"recur_size": 4, "outseq": True}]],
     SeqShape((4, 3)), SeqShape((4, 3)), "seqselect"),
    ("gru-seqbinary", [["gru", {"recur_size": 4, "outseq": True}]], SeqShape((4, 2)), SeqShape((4, 1)),
     "seqbinary"),
]


def _data(input_shape, output_shape, mode, n=6, ragged=True):
    rng = np.random.default_rng(1)
    if isinstance(input_shape, SeqShape):
        lengths = rng.integers(1, input_shape[0] + 1, size=n) if ragged else None
        x = Sequences(rng.standard_normal((n,) + tuple(input_shape)).astype(np.float32), lengths)
    else:
        x = rng.standard_normal((n,) + tuple(input_shape)).astype(np.float32)
    if mode in ("select", "seqselect"):
        k = output_shape[-1]
        y = np.eye(k)[rng.integers(0, k, size=(n,) + tuple(output_shape[:-1]))]
    elif mode in ("binary", "seqbinary"):
        y = (rng.random((n,) + tuple(output_shape)) > 0.5).astype(float)
    else:
        y = rng.random((n,) + tuple(output_shape)) + 0.5
    return x, y


def _pair(layers, input_shape, output_shape, mode, **options):
    models = [Model(None, layers, input_shape=input_shape, output_shape=output_shape, mode=mode, seed=3,
                    device=device, **QUIET, **options) for device in ("cpu", "standin")]
    return models


def _weights(model):
    return {s.name: to_host(s.value) for s in model.slots}


@pytest.mark.parametrize("name, layers, input_shape, output_shape, mode", NETWORKS, ids=[n[0] for n in NETWORKS])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_every_layer_and_head_steps_on_the_standin_as_on_the_cpu(name, layers, input_shape, output_shape, mode,
                                                               optimizer):
    cpu, dev = _pair(layers, input_shape, output_shape, mode, optimizer=optimizer, l2_decay=0.01, l1_decay=0.001)
    assert all(isinstance(s.value, DeviceArray) for s in dev.slots)
    x, y = _data(input_shape, output_shape, mode)
    random = "dropout" in name  # dropout/noise draw from the device generator there: other masks
    for _ in range(3):
        cpu_step, dev_step = cpu.train_step(x, y, 0.01), dev.train_step(x, y, 0.01)
        assert cpu_step == dev_step or random and np.isfinite(dev_step[0])
    cpu_w, dev_w = _weights(cpu), _weights(dev)
    if not random:
        assert all(np.array_equal(cpu_w[k], dev_w[k]) for k in cpu_w)
        assert cpu.evaluate(x, y) == dev.evaluate(x, y)
    out = dev.predict(x)
    assert isinstance(out.data if isinstance(out, Sequences) else out, np.ndarray)  # predictions come home


def _families(dtype=None):
    ae = dict(input_shape=(6,), output_shape=(3,), mode="select", seed=0, dtype=dtype, **QUIET)
    ed = dict(input_shape=(8,), output_shape=SeqShape((6, 5)), mode="seqselect", encoder_shape=(3,),
              encoder_mode="select", seed=0, dtype=dtype, **QUIET)
    gan = dict(input_shape=(2, 2, 3), value_range=(-1, 1), seed=0, dtype=dtype, **QUIET)
    rng = np.random.default_rng(5)
    return [
        ("autoencoder", lambda d: Autoencoder(None, [5, 3], [4], [4], device=d, **ae),
         rng.standard_normal((4, 6)), np.eye(3)[[0, 2, 1, 1]]),
        ("encoder-decoder", lambda d: EncoderDecoder(None, [4], [["lstm", {"recur_size": 3, "inseq": False,
                                                                             "outseq": True, "timesteps": 6}]],
                                                      device=d, **ed),
         rng.standard_normal((4, 8)), np.eye(5)[rng.integers(0, 5, size=(4, 6))]),
        ("gan", lambda d: Gan(None, [4], [6], [5], device=d, **gan), rng.uniform(-1, 1, (4, 2, 2, 3)), None),
    ]


@pytest.mark.parametrize("name, make, x, y", _families(), ids=[f[0] for f in _families()])
def test_every_model_family_trains_on_the_standin_as_on_the_cpu(name, make, x, y):
    cpu, dev = make("cpu"), make("standin")
    for _ in range(2):
        assert cpu.train_step(x, y, 0.05) == dev.train_step(x, y, 0.05)
    cpu_w, dev_w = _weights(cpu), _weights(dev)
    assert all(np.array_equal(cpu_w[k], dev_w[k]) for k in cpu_w)
    assert cpu.evaluate(x, y) == dev.evaluate(x, y)


def test_a_device_model_file_loads_on_the_cpu_and_resumes_either_way(tmp_path):
    import alzza

    layers, shape = [["conv", {"ksize": 3, "chn": 3, "actions": "LB"}], 6], (6, 6, 2)
    cpu, dev = _pair(layers, shape, (3,), "select", optimizer="adam")
    x, y = _data(shape, (3,), "select")
    for model in (cpu, dev):
        model.train_step(x, y, 0.01)
    dev.save(tmp_path / "dev.npz")
    loaded = alzza.load(tmp_path / "dev.npz", **QUIET)
    assert loaded.device.name == "cpu" and isinstance(loaded.slots[0].value, np.ndarray)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(loaded).values(), _weights(cpu).values(), strict=True))
    again = loaded.to("standin")  # resume on the device from the CPU file: Adam's moments move along
    assert cpu.train_step(x, y, 0.01) == again.train_step(x, y, 0.01)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(again).values(), _weights(cpu).values(), strict=True))


def test_onnx_export_of_a_device_model(tmp_path):
    pytest.importorskip("onnxruntime")
    _, dev = _pair([["conv", {"ksize": 3, "chn": 3}], 5], (6, 6, 2), (3,), "select")
    dev.to_onnx(tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").stat().st_size > 0
    assert isinstance(dev.slots[0].value, DeviceArray)  # back on its device after the export


def test_cuda_without_cupy_is_one_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cupy", None)  # as on a machine without CuPy
    with pytest.raises(DeviceError, match=r"alzza\[gpu\]"):
        get_device("cuda")
    with pytest.raises(DeviceError, match=r"alzza\[gpu\]"):
        Model(None, [4], input_shape=(3,), output_shape=(1,), mode="regression", device="cuda", **QUIET)


# --- the five kinds of leak of issue 25, each planted and refused -------------------------
def test_leak_1_an_optimiser_holding_parameters_of_its_own_is_refused():
    _, dev = _pair([6], (4,), (2,), "regression", optimizer="adam")
    x, y = _data((4,), (2,), "regression")
    dev.train_step(x, y, 0.01)
    slot = dev.slots[0]
    stale = type(slot)(slot.name, {slot.key: to_host(slot.value)}, slot.grads, slot.key, slot.decayed)
    with pytest.raises(StandinLeak, match="host ndarray"):  # a slot owning a host copy of its array
        dev.optimizer.step([stale], 0.01)
    dev.optimizer.m[slot.name] = to_host(dev.optimizer.m[slot.name])  # a moment left behind by a move
    with pytest.raises(StandinLeak):
        dev.train_step(x, y, 0.01)


def test_leak_2_as_strided_writeable_is_refused_and_the_window_view_avoids_it():
    from alzza.ops.windows import window_view

    a = xp.asarray(np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3))
    with pytest.raises(StandinLeak, match="writeable"):
        xp.lib.stride_tricks.as_strided(a, (2, 3, 3, 3, 3, 3), a.strides + a.strides[1:3], writeable=False)
    view = window_view(a, 3, 3, 1, 1, 3, 3)
    host = window_view(to_host(a), 3, 3, 1, 1, 3, 3)
    assert np.array_equal(to_host(view.copy()), host)


def test_leak_3_step_counts_on_the_device_are_refused(monkeypatch):
    from alzza.layers.recurrent import RecurrentBase

    _, dev = _pair([["lstm", {"recur_size": 3, "outseq": False}]], SeqShape((4, 2)), (2,), "select")
    x, y = _data(SeqShape((4, 2)), (2,), "select")
    dev.train_step(x, y, 0.01)  # the host bookkeeping runs
    project = RecurrentBase._project

    def counts_on_device(self, *args):
        z = project(self, *args)
        self._counts = xp.asarray(self._counts)  # counts[t] computed with the array module
        return z

    monkeypatch.setattr(RecurrentBase, "_project", counts_on_device)
    with pytest.raises(StandinLeak, match="index"):
        dev.train_step(x, y, 0.01)


def test_leak_4_a_cached_host_array_meeting_device_data_is_refused(monkeypatch):
    from alzza.ops import windows

    a2 = xp.asarray(np.ones((7, 3), dtype=np.float32))
    assert np.array_equal(to_host(windows.channel_sum(a2)), np.full(3, 7, np.float32))
    windows.channel_sum(np.ones((7, 3), dtype=np.float32))  # the host entry of the same shape
    monkeypatch.setitem(windows._ONES, (xp.__name__, 7, np.dtype(np.float32)), np.ones(7, np.float32))
    with pytest.raises(StandinLeak):  # a cache keyed without the array module would hand this back
        windows.channel_sum(a2)


def test_leak_5_batch_norm_state_and_gan_seeds_stay_where_they_belong():
    _, dev = _pair([["conv", {"ksize": 3, "chn": 3, "actions": "LB"}]], (5, 5, 2), (2,), "select")
    conv = dev.layers[0]
    assert all(isinstance(v, DeviceArray) for v in conv.state.values())  # moved with the parameters
    x, y = _data((5, 5, 2), (2,), "select")
    dev.predict(x)
    conv.state["mean"] = to_host(conv.state["mean"])  # running statistics left on the host
    with pytest.raises(StandinLeak):
        dev.predict(x)
    gan = Gan(None, [4], [6], [5], input_shape=(2, 2, 3), value_range=(-1, 1), seed=0, device="standin", **QUIET)
    seeds = gan.draw_seeds(3)
    assert isinstance(seeds, np.ndarray)  # drawn by the host generator: the same on every device
    with pytest.raises(StandinLeak):  # fed to the device network without the one copy in
        gan.parts["generator"].network.forward(seeds, False)
    assert isinstance(gan.generate(3, seeds=seeds), np.ndarray)


@pytest.mark.parametrize("command", [["run", "abalone-slp"], ["bench", "--quick"], ["reproduce", "abalone-slp"]])
def test_device_cuda_on_the_command_line_without_cupy_is_one_line(command, monkeypatch, capsys):
    import sys

    from alzza import device
    from alzza.cli import main

    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(device, "DEFAULT_DEVICE", "cpu")
    monkeypatch.setattr(device, "COMMAND_LINE_DEVICE", None)
    assert main([*command, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "alzza[gpu]" in err and "Traceback" not in err
