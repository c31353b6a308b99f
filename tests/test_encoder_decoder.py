"""Chapter 14: the encoder-decoder — gradients in each training mode, what each mode
trains, the schedules, save/load, on tiny mnist-eng / mnist-kor files."""

from __future__ import annotations

import numpy as np
import pytest
from _family_data import write_tiny_mnist

import alzza
from alzza import EncoderDecoder
from alzza.data import make_dataset
from alzza.device import to_host
from alzza.sequences import SeqShape
from alzza.testing import check_model_gradients

TOL = 1e-6
QUIET = dict(printer=lambda *a: None)
DEC_ENG = [["lstm", {"recur_size": 5, "inseq": False, "outseq": True, "timesteps": 6}]]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def eng(root):
    return make_dataset({"name": "mnist-eng", "scale": True}, data_dir=root, seed=1)


@pytest.fixture(scope="module")
def kor(root):
    return make_dataset({"name": "mnist-kor", "digits": 2, "count": 200, "scale": True}, data_dir=root, seed=1)


def small(mode_dataset=None):
    """A float64 encoder-decoder with mnist-eng's shapes but 8 input features."""
    return EncoderDecoder(None, [4], [["lstm", {"recur_size": 3, "inseq": False, "outseq": True,
                                                 "timesteps": 6}]],
                          input_shape=(8,), output_shape=SeqShape((6, 5)), mode="seqselect", encoder_shape=(3,),
                          encoder_mode="select", dtype="float64", seed=0, init={"scheme": "glorot"}, **QUIET)


@pytest.mark.parametrize("mode", ["both", "encoder", "decoder"])
def test_gradients_in_each_mode(mode):
    model = small()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 8))
    t = np.eye(3)[[0, 2, 1]]
    y = np.eye(5)[rng.integers(0, 5, size=(3, 6))]
    inputs, targets = {"both": (x, y), "encoder": (x, t), "decoder": (t, y)}[mode]
    errors = check_model_gradients(model.chain(mode), inputs, targets, tol=TOL)
    parts = {"both": ("encoder", "decoder"), "encoder": ("encoder",), "decoder": ("decoder",)}[mode]
    assert set(errors) == {s.name for p in parts for s in model.parts[p].slots}


def test_regression_encoder_gradients_with_sequence_input():
    model = EncoderDecoder(None, [["seqwrap", {}, 4], ["rnn", {"recur_size": 3, "outseq": False,
                                                                "actfunc": "tanh"}]],
                           [["rnn", {"recur_size": 3, "inseq": False, "outseq": True, "timesteps": 4,
                                     "actfunc": "tanh"}]],
                           input_shape=SeqShape((2, 6)), output_shape=SeqShape((4, 5)), mode="seqselect",
                           encoder_shape=(1,), encoder_mode="regression", dtype="float64", seed=0,
                           init={"scheme": "glorot"}, **QUIET)
    from alzza.sequences import Sequences

    rng = np.random.default_rng(1)
    x = Sequences(rng.standard_normal((3, 2, 6)))
    y = np.eye(5)[rng.integers(0, 5, size=(3, 4))]
    t = rng.standard_normal((3, 1))
    check_model_gradients(model.chain("both"), x, y, tol=TOL)
    check_model_gradients(model.chain("encoder"), x, t, tol=TOL)


@pytest.mark.parametrize("mode", ["encoder", "decoder"])
def test_a_one_part_mode_leaves_the_other_part_alone(eng, mode):
    model = EncoderDecoder(eng, [8], DEC_ENG, seed=1, **QUIET)
    before = {s.name: to_host(s.value).copy() for s in model.slots}
    model.train(1, 10, 0.01, 0, progress=False, max_batches=3, mode=mode)
    other = "decoder" if mode == "encoder" else "encoder"
    assert all(np.array_equal(to_host(s.value), before[s.name]) for s in model.parts[other].slots)
    assert not all(np.array_equal(to_host(s.value), before[s.name]) for s in model.parts[mode].slots)


def test_shapes_follow_the_book(eng, kor):
    model = EncoderDecoder(eng, [8], DEC_ENG, seed=1, **QUIET)
    assert model.parts["encoder"].output_shape == (10,)  # the intermediate target: a digit
    assert model.encoder_head.mode == "select" and model.head.mode == "seqselect"
    model = EncoderDecoder(kor, [["seqwrap", {}, 8], ["lstm", {"recur_size": 6, "outseq": False}]],
                           [["lstm", {"recur_size": 6, "inseq": False, "outseq": True, "timesteps": 4}]], seed=1,
                           **QUIET)
    assert model.parts["encoder"].output_shape == (1,)  # the number itself
    assert model.encoder_head.mode == "regression"


@pytest.mark.parametrize("schedule", ["exec_1_step", "exec_2_steps", "exec_3_steps"])
def test_schedules(eng, tmp_path, schedule):
    model = EncoderDecoder(eng, [8], DEC_ENG, seed=1, **QUIET)
    metrics = getattr(model, schedule)(1, 10, 0.01, 1, 3, progress=False, max_batches=2,
                                       path=tmp_path / "v.png")
    stages = {"exec_1_step": ["both"], "exec_2_steps": ["encoder", "decoder"],
              "exec_3_steps": ["encoder", "decoder", "both"]}[schedule]
    assert [name.split("(")[-1].rstrip(")") if "(" in name else "both" for name, _ in model.histories] == stages
    assert len(metrics["accuracy"]) == 2 and model.train_mode == "both"
    assert (tmp_path / "v.png").is_file()


def test_save_load_predict_identical(kor, tmp_path):
    model = EncoderDecoder(kor, [["seqwrap", {}, [["batch_normal", {}]][0], 8],
                                 ["lstm", {"recur_size": 6, "outseq": False}]],
                           [["lstm", {"recur_size": 6, "inseq": False, "outseq": True, "timesteps": 4}]], seed=1,
                           optimizer="adam", **QUIET)
    model.exec_3_steps(1, 10, 0.001, 0, 0, progress=False, max_batches=2)
    model.save(tmp_path / "ed.npz")
    again = alzza.load(tmp_path / "ed.npz", **QUIET)
    x, _ = kor.test_data()
    np.testing.assert_array_equal(model.predict(x).data, again.predict(x).data)
    np.testing.assert_array_equal(model.encode(x), again.encode(x))


# --- encoder_output: false (the book's form: the decoder reads the encoder's last layer) -------
KOR_ENC = [["seqwrap", {}, 8], ["batch_normal"], ["full", {"width": 5}]]
KOR_DEC = [["lstm", {"recur_size": 6, "inseq": False, "outseq": True, "timesteps": 4}]]


def test_no_encoder_output_decoder_reads_the_last_encoder_layer(kor):
    model = EncoderDecoder(kor, KOR_ENC, KOR_DEC, seed=1, encoder_output=False, **QUIET)
    enc = model.parts["encoder"]
    assert len(enc.network.layers) == 3 and enc.network.layers[-1].path == "encoder[2]"  # nothing appended
    assert model.code_shape == (5,) and model.encoder_shape == (1,)
    assert model.parts["decoder"].input_shape == (5,)
    assert model.parts["decoder"].network.layers[0].params["w"].shape[0] == 5 + 6  # the LSTM reads the 5 units
    assert model.modes == ("both",) and not model.code_is_target
    x, _ = kor.test_data()
    assert model.encode(x[:4]).shape == (4, 5)
    assert model.predict(x[:4]).data.shape == (4, 4, 14)
    default = EncoderDecoder(kor, KOR_ENC, KOR_DEC, seed=1, **QUIET)
    assert default.parts["encoder"].network.layers[-1].path == "encoder.output" and default.code_shape == (1,)
    assert default.modes == ("both", "encoder", "decoder")


@pytest.mark.parametrize("call", ["set_train_mode", "train", "test", "exec_2_steps", "exec_3_steps"])
def test_no_encoder_output_refuses_the_one_part_modes_when_the_code_is_not_t(kor, call):
    model = EncoderDecoder(kor, KOR_ENC, KOR_DEC, seed=1, encoder_output=False, **QUIET)
    before = {s.name: to_host(s.value).copy() for s in model.slots}
    run = {"set_train_mode": lambda: model.set_train_mode("encoder"),
           "train": lambda: model.train(1, 10, 0.01, 0, progress=False, max_batches=1, mode="decoder"),
           "test": lambda: model.test("encoder"),
           "exec_2_steps": lambda: model.exec_2_steps(1, 10, 0.01, 0, 0, progress=False, max_batches=1),
           "exec_3_steps": lambda: model.exec_3_steps(1, 10, 0.01, 0, 0, progress=False, max_batches=1)}[call]
    with pytest.raises(alzza.AlzzaError, match=r"ends in \(5,\) and t is \(1,\).*'both' only.*encoder_output true"):
        run()
    assert model.train_mode == "both" and model.histories == []
    assert all(np.array_equal(to_host(s.value), before[s.name]) for s in model.slots)  # refused before any step


def test_no_encoder_output_with_a_t_shaped_code_trains_every_mode(eng):
    model = EncoderDecoder(eng, [8, ["full", {"width": 10}]], DEC_ENG, seed=1, encoder_output=False, **QUIET)
    assert model.code_is_target and model.modes == ("both", "encoder", "decoder")
    assert model.parts["encoder"].network.layers[-1].path == "encoder[1]"
    model.exec_3_steps(1, 10, 0.01, 0, 0, progress=False, max_batches=2)
    assert set(model.stage_metrics) == {"encoder", "decoder"}


def test_no_encoder_output_checks_its_value_and_needs_encoder_layers(kor):
    with pytest.raises(alzza.SpecError, match="encoder_output: .*true .* or false .*got 'no'"):
        EncoderDecoder(kor, KOR_ENC, KOR_DEC, encoder_output="no", **QUIET)
    with pytest.raises(alzza.SpecError, match="encoder: .*needs at least one layer"):
        EncoderDecoder(kor, [], KOR_DEC, encoder_output=False, **QUIET)


def test_no_encoder_output_gradients():
    from alzza.sequences import Sequences

    model = EncoderDecoder(None, KOR_ENC, [["rnn", {"recur_size": 3, "inseq": False, "outseq": True,
                                                     "timesteps": 4, "actfunc": "tanh"}]],
                           input_shape=SeqShape((2, 6)), output_shape=SeqShape((4, 5)), mode="seqselect",
                           encoder_shape=(1,), encoder_mode="regression", encoder_output=False, dtype="float64",
                           seed=0, init={"scheme": "glorot"}, **QUIET)
    rng = np.random.default_rng(2)
    x = Sequences(rng.standard_normal((3, 2, 6)))
    y = np.eye(5)[rng.integers(0, 5, size=(3, 4))]
    errors = check_model_gradients(model.chain("both"), x, y, tol=TOL)
    assert set(errors) == {s.name for s in model.slots}
    assert not any(name.startswith("encoder.output") for name in errors)


def test_no_encoder_output_gradcheck_command_checks_both_only(kor):
    model = EncoderDecoder(kor, KOR_ENC, KOR_DEC, seed=1, encoder_output=False, dtype="float64", **QUIET)
    checks = model.gradient_checks(3)
    assert [chain.name for chain, _, _ in checks] == [model.name]
    chain, x, y = checks[0]
    check_model_gradients(chain, x, y, tol=1e-5)


def test_no_encoder_output_save_load(kor, tmp_path):
    model = EncoderDecoder(kor, KOR_ENC, KOR_DEC, seed=1, optimizer="adam", encoder_output=False, **QUIET)
    model.exec_1_step(1, 10, 0.001, 0, 0, progress=False, max_batches=2)
    assert model.config()["encoder_output"] is False
    assert "encoder_output" not in EncoderDecoder(kor, KOR_ENC, KOR_DEC, seed=1, **QUIET).config()
    model.save(tmp_path / "ed.npz")
    again = alzza.load(tmp_path / "ed.npz", **QUIET)
    assert again.encoder_output is False and again.code_shape == (5,)
    assert [s.name for s in again.slots] == [s.name for s in model.slots]
    x, _ = kor.test_data()
    np.testing.assert_array_equal(model.predict(x).data, again.predict(x).data)
    np.testing.assert_array_equal(model.encode(x), again.encode(x))
