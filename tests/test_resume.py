"""A run cut short resumes from its last checkpoint and ends exactly as an uninterrupted
run: plain networks and the stages of the model families."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from _family_data import tiny_data_dir

import alzza.training.callbacks
from alzza.device import to_host
from alzza.experiments import run_experiment
from alzza.saving.model_files import load_model

QUIET = dict(printer=lambda *a: None, progress=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tiny_data_dir(tmp_path_factory.mktemp("data"))


def cut_after(monkeypatch, writes: int):
    """Interrupt the run (as Ctrl-C would) right after its ``writes``-th checkpoint."""
    real = alzza.training.callbacks.Checkpoint.write
    count = {"n": 0}

    def write(self, run, epoch):
        real(self, run, epoch)
        count["n"] += 1
        if count["n"] == writes:
            raise KeyboardInterrupt

    monkeypatch.setattr(alzza.training.callbacks.Checkpoint, "write", write)
    return lambda: monkeypatch.setattr(alzza.training.callbacks.Checkpoint, "write", real)


def losses(folder):
    rows = list(csv.DictReader(io.StringIO((folder / "history.csv").read_text())))
    return [(r["stage"], r["epoch"], r["loss"], r["val_loss"]) for r in rows]


@pytest.mark.parametrize("name, cut", [
    ("mnist-autoencoder", 1),   # inside the autoencode stage
    ("mnist-autoencoder", 3),   # inside the supervised stage: autoencode is not trained again
    ("mnist-eng-3steps", 3),    # inside the decoder stage of encoder, decoder, both
    ("gan-mnist-8", 1),
])
def test_a_family_resumes_to_the_uninterrupted_result(name, cut, data_dir, tmp_path, monkeypatch):
    settings = dict(epochs=2, max_batches=3, checkpoint_every=1, data_dir=data_dir, **QUIET)
    whole, part = tmp_path / "whole", tmp_path / "part"
    expected = run_experiment(name, out=whole, **settings)
    restore = cut_after(monkeypatch, cut)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(name, out=part, **settings)
    restore()
    result = run_experiment(name, resume=part, **{k: v for k, v in settings.items() if k != "checkpoint_every"},
                            checkpoint_every=1)
    a, b = load_model(whole / "model.npz"), load_model(part / "model.npz")
    for x, y in zip(a.slots, b.slots, strict=False):
        assert np.array_equal(to_host(x.value), to_host(y.value)), x.name
    assert losses(whole) == losses(part)
    assert result["metrics"] == expected["metrics"]
    assert result["epochs_run"] == expected["epochs_run"]
    if "stages" in expected:
        assert result["stages"] == expected["stages"]


def test_an_interrupted_run_says_how_to_continue(data_dir, tmp_path, monkeypatch):
    lines = []
    cut_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("mnist-mlp-10", epochs=3, max_batches=2, checkpoint_every=1, data_dir=data_dir,
                       out=tmp_path / "run", printer=lines.append, progress=False)
    assert lines[-1] == ("Interrupted. Continue from the last checkpoint with: "
                         f"alzza run mnist-mlp-10 --resume {tmp_path / 'run'}")
