"""Smoke runs of every chapter 13–15 experiment on tiny files (a few batches each):
result.json with the metrics, and the pictures."""

from __future__ import annotations

import json

import pytest
from _family_data import tiny_data_dir

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
