"""Smoke runs of every chapter 13–15 experiment on tiny files (a few batches each):
result.json with the metrics, and the pictures."""

from __future__ import annotations

import json

import pytest
from _family_data import tiny_data_dir

import alzza
from alzza.data import make_dataset
from alzza.experiments import run_experiment
from alzza.experiments.catalogue import list_experiments

NAMES = [e.name for e in list_experiments() if e.chapter in (13, 14, 15)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tiny_data_dir(tmp_path_factory.mktemp("data"))


def test_every_chapter_13_to_15_row_is_shipped():
    for name in ["mnist-mlp-10", "mnist-mlp-10-1pct", "mnist-autoencoder", "mnist-autoencoder-fixed",
                 "mnist-autoencoder-64-10", "mnist-autoencoder-64-1", "mnist-semantic-hash", "mnist-eng-1step",
                 "mnist-eng-batchnorm", "mnist-eng-2steps", "mnist-eng-3steps", "mnist-kor-2", "mnist-kor-3",
                 "mnist-kor-4", "gan-gogh", "gan-jungsun", "gan-mnist-68", "gan-mnist-8", "gan-mnist-8-adam",
                 "gan-mnist-all"]:
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_smoke(name, data_dir, tmp_path):
    result = run_experiment(name, epochs=1, max_batches=2, data_dir=data_dir, out=tmp_path, progress=False,
                            printer=lambda *a: None)
    stored = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert stored["experiment"] == name and "accuracy" in stored["metrics"]
    for picture in stored["pictures"].values():
        assert (tmp_path / picture).stat().st_size > 1000
    assert "visualize" in stored["pictures"] and (tmp_path / "model.npz").is_file()
    if name.startswith("gan-"):
        assert "gan-epoch-1" in stored["pictures"]
        assert len(result["metrics"]["accuracy"]) == 2
    if name == "mnist-semantic-hash":
        assert "hashing" in stored["pictures"] and stored["hashing"]["queries"]


@pytest.mark.parametrize("name", ["mnist-kor-2", "mnist-kor-3", "mnist-kor-4"])
def test_mnist_kor_decoder_reads_the_books_code(name, data_dir):
    """As the book's cells: no layer appended to the encoder; the LSTM reads its full 10 (relu)."""
    from alzza.experiments import find_experiment
    from alzza.experiments.families import build_family_model

    exp = find_experiment(name)
    assert exp.model["encoder_output"] is False
    model = build_family_model(exp, make_dataset(exp.dataset, data_dir=data_dir, seed=1), 1,
                               printer=lambda *a: None)
    last = model.parts["encoder"].network.layers[-1]
    assert last.path == "encoder[2]" and last.inner.actfunc == "relu"
    assert model.code_shape == (10,) and model.parts["decoder"].input_shape == (10,)


def test_mnist_kor_2_smoke_run_from_the_command_line(data_dir, tmp_path, capsys):
    from alzza.cli import main

    out = tmp_path / "kor2"
    assert main(["run", "mnist-kor-2", "--data-dir", str(data_dir), "--out", str(out), "--epochs", "1",
                 "--max-batches", "3", "--no-progress"]) == 0
    stored = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert len(stored["metrics"]["accuracy"]) == 2
    model = alzza.load(out / "model.npz", printer=lambda *a: None)
    assert model.encoder_output is False and model.code_shape == (10,)
    assert "Model mnist-kor-2: training mode 'both'" in capsys.readouterr().out
