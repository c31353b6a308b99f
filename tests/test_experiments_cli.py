"""The experiments and the command line: smoke runs, result.json, errors a user sees."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from alzza import load
from alzza.cli import main
from alzza.experiments import list_experiments, run_experiment

TABULAR = {"abalone", "pulsar", "pulsar-select", "steel"}
REAL_DATA = os.environ.get("ALZZA_DATA")


def _data_dir(tabular_data_dir):
    """The real data when ALZZA_DATA points at it, else the small files of the fixture."""
    if REAL_DATA and Path(REAL_DATA, "faults.csv").exists():
        return Path(REAL_DATA)
    return tabular_data_dir


def tabular_experiments():
    return [e for e in list_experiments() if e.dataset_name in TABULAR]


def test_every_tabular_row_of_the_book_is_shipped():
    names = {e.name for e in tabular_experiments()}
    chapters = {e.chapter for e in tabular_experiments()}
    assert chapters == {1, 2, 3, 4, 5}
    # one experiment per chapter 1-5 tabular row of SPEC §6 (24 with the -std variants)
    assert len(names) >= 20
    assert {"abalone-slp", "pulsar-slp-balanced", "steel-mlp-12-6-4-lr0.0001", "pulsar-select-ch5",
            "steel-std", "pulsar-std"} <= names
    for exp in tabular_experiments():
        assert exp.book.get("accuracy") is not None, exp.name


@pytest.mark.parametrize("experiment", tabular_experiments(), ids=lambda e: e.name)
def test_smoke_run(experiment, tabular_data_dir, tmp_path):
    out = tmp_path / "out"
    lines = []
    result = run_experiment(experiment, epochs=1, max_batches=3, data_dir=_data_dir(tabular_data_dir), out=out,
                            printer=lines.append)
    saved = json.loads((out / "result.json").read_text())
    assert saved["experiment"] == experiment.name == result["experiment"]
    for key in ("dataset", "metrics", "book", "epochs", "train_seconds", "seed", "version"):
        assert key in saved
    assert 0.0 <= saved["metrics"]["accuracy"] <= 1.0 or experiment.dataset_name == "abalone"
    assert saved["epochs"] == 1
    with Image.open(out / "training.png") as picture:
        assert picture.format == "PNG" and picture.size[0] > 100
    assert any("book" in line for line in lines)  # our result printed beside the book's
    model = load(out / "model.npz")
    assert model.parameter_count() == saved["parameters"]


def test_cli_run_user_file(tabular_data_dir, tmp_path, capsys):
    spec = tmp_path / "mine.yaml"
    spec.write_text(
        "name: my-steel\nchapter: 4\ndataset: {name: steel, standardize: true}\n"
        "model:\n  layers: [8, ['full', {width: 6, actfunc: tanh}]]\n"
        "train: {epochs: 2, batch_size: 5, learning_rate: 0.01, report: 1, optimizer: adam}\n"
        "book: {accuracy: 0.350}\n"
    )
    out = tmp_path / "run"
    code = main(["run", str(spec), "--data-dir", str(tabular_data_dir), "--out", str(out), "--seed", "3"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Epoch 2" in printed and "book 0.350" in printed
    result = json.loads((out / "result.json").read_text())
    assert result["seed"] == 3 and result["epochs"] == 2 and result["optimizer"] == "adam"


def test_cli_overrides(tabular_data_dir, tmp_path):
    out = tmp_path / "o"
    assert main(["run", "steel-ch5", "--data-dir", str(tabular_data_dir), "--out", str(out), "--epochs", "2",
                 "--batch-size", "4", "--lr", "0.0005", "--no-progress"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert (result["epochs"], result["batch_size"], result["learning_rate"]) == (2, 4, 0.0005)
    assert len(result["history"]["loss"]) == 2


def test_cli_threads_sets_the_blas_thread_count_for_the_run(tabular_data_dir, tmp_path):
    """--threads N: the run's matrix products use N BLAS threads (result.json says so), and
    the count is restored after it."""
    from alzza.threads import current_blas_threads

    before = current_blas_threads()
    out = tmp_path / "t"
    assert main(["run", "steel-ch5", "--data-dir", str(tabular_data_dir), "--out", str(out), "--epochs", "1",
                 "--no-progress", "--threads", "1"]) == 0
    assert json.loads((out / "result.json").read_text())["blas_threads"] == 1
    assert current_blas_threads() == before
    with pytest.raises(SystemExit):
        main(["run", "steel-ch5", "--threads", "0"])


def test_cli_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "abalone-slp" in out and "0.810" in out and "steel" in out


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    assert "--data-dir" in capsys.readouterr().out


def test_cli_summary(tabular_data_dir, capsys):
    assert main(["summary", "steel-mlp-12-6-4", "--data-dir", str(tabular_data_dir)]) == 0
    out = capsys.readouterr().out
    # 27·12+12 + 12·6+6 + 6·4+4 + 4·7+7
    assert f"Total parameters: {27 * 12 + 12 + 12 * 6 + 6 + 6 * 4 + 4 + 4 * 7 + 7:,}" in out


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "steel-mlp-12-6-5"], "did you mean"),
        (["run", "abalone-slp", "--data-dir", "/nonexistent/place"], "/nonexistent/place"),
    ],
)
def test_cli_user_errors_are_one_message(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("alzza: error:") and expected in err.lower() or expected in err
    assert "Traceback" not in err


def test_cli_run_of_a_shapes_only_row_points_to_summary(tmp_path, capsys):
    """Chapter 9's parameter-count rows have no examples: one clear error naming the command that counts them."""
    assert main(["run", "vgg-19", "--out", str(tmp_path / "vgg")]) == 2
    err = capsys.readouterr().err
    assert "'alzza summary vgg-19' builds the model and counts its parameters" in err and "Traceback" not in err
    assert not (tmp_path / "vgg").exists()  # refused before anything is written


@pytest.mark.parametrize(
    "body, expected",
    [
        ("name: x\ndataset: steel\nmodel: {layers: [['ful', {width: 3}]]}\n", "layers[0]: unknown layer type 'ful'"),
        ("name: x\ndataset: steel\nmodel: {layers: [5, ['full', {widht: 3}]]}\n", "layers[1]"),
        ("name: x\ndataset: steel\nmodel: {layers: []}\ntrain: {epoch: 3}\n", "train.epoch"),
        ("name: x\ndataset: {name: steel, standardise: true}\nmodel: {layers: []}\n", "dataset.standardise"),
        ("name: x\ndataset: steel\nmodel: {layers: [\n", "not valid YAML"),
    ],
)
def test_cli_spec_typos(body, expected, tabular_data_dir, tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(body)
    code = main(["run", str(spec), "--data-dir", str(tabular_data_dir), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err
    assert "Traceback" not in err


def test_nan_loss_is_one_message(tabular_data_dir, tmp_path, capsys):
    code = main(["run", "abalone-slp", "--lr", "1e6", "--data-dir", str(tabular_data_dir), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "loss became" in err and "learning rate" in err
