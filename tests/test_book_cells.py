"""Every shipped experiment names the book's cell it reproduces; faithful rows are that cell.

The facts checked here are the book's settings for its cells (read from its notebooks:
layers, epochs, optimiser of the book's class, data options), written out by hand.
"""

from __future__ import annotations

import pytest

from alzza.cli import main
from alzza.errors import ExperimentError
from alzza.experiments import find_experiment, list_experiments
from alzza.experiments.catalogue import parse_experiment

ROWS = [exp for exp in list_experiments() if not exp.beyond]  # the rows beyond the book have no cell


def test_every_shipped_row_names_a_cell_of_its_own_chapter():
    assert len(ROWS) == 103
    for exp in ROWS:
        assert exp.book_cell, exp.name
        assert int(exp.book_cell[4:6]) == exp.chapter, (exp.name, exp.book_cell)


def test_book_cell_is_checked():
    base = {"name": "x", "dataset": "steel", "model": {"layers": []}}
    assert parse_experiment({**base, "book_cell": "chap07/cnn_basic_test#5"}, "x.yaml").book_cell == \
        "chap07/cnn_basic_test#5"
    for bad in ("chap7/cnn_basic_test#5", "chap07/cnn_basic_test", "chap16/x_test#1", 5):
        with pytest.raises(ExperimentError, match="book_cell"):
            parse_experiment({**base, "book_cell": bad}, "x.yaml")
    assert parse_experiment(base, "mine.yaml").book_cell is None  # a user's own file needs none


# name → what the book's cell does (model parts, epochs, optimiser, data options)
FAITHFUL = {
    "gan-gogh": ({"generator": [64], "discriminator": [64]}, 100, "adam", {"file": "gogh"}),
    "gan-jungsun": ({"generator": [64], "discriminator": [64]}, 100, "adam", {"file": "jungsun"}),
    "gan-mnist-68": ({"generator": [64], "discriminator": [64]}, 100, "adam", {"nums": [6, 8], "max_cnt": 2000}),
    "gan-mnist-8": ({"generator": [64], "discriminator": [64]}, 100, "sgd", {"nums": [8], "max_cnt": 1000}),
    "gan-mnist-8-adam": ({"generator": [64], "discriminator": [64]}, 100, "adam", {"nums": [8], "max_cnt": 1000}),
    "gan-mnist-all": ({"generator": [64], "discriminator": [64]}, 100, "adam", {"max_cnt": 4000}),
    "mnist-autoencoder": ({"encoder": [10], "decoder": [], "decoder_actfunc": "relu", "supervised": [10]}, 10,
                          "adam", {"train_ratio": 0.01}),
    "mnist-autoencoder-64-10": ({"encoder": [64, 10], "decoder": [64], "decoder_actfunc": "relu",
                                 "supervised": [10]}, 10, "adam", {}),
    "mnist-kor-4": ({"schedule": 1, "decoder": [["lstm", {"recur_size": 64, "inseq": False, "outseq": True,
                                                         "timesteps": 8}]]}, 50, "adam", {"digits": 4}),
    "pulsar-mlp-6": ({"layers": [6]}, 50, "sgd", {}),
    "steel-mlp-10": ({"layers": [10]}, 50, "sgd", {}),
    "steel-mlp-12-6-4": ({"layers": [12, 6, 4]}, 50, "sgd", {}),
    "office31-mlp-64-32-10-adam": ({"layers": [64, 32, 10]}, 50, "sgd", {}),  # the cell's om3 kept use_adam False
    "urban-lstm-20-10ms": ({}, 110, "adam", {"window": 10, "interval": 10}),   # 10 epochs, then 100 more
    "videoshot-lstm-5": ({}, 10, "adam", {"timesteps": 5}),
    "videoshot-lstm-5-50ep": ({}, 50, "adam", {"timesteps": 5}),                # the same model, 40 more
}


@pytest.mark.parametrize("name", list(FAITHFUL))
def test_faithful_rows_are_the_books_cells(name):
    model, epochs, optimizer, data = FAITHFUL[name]
    exp = find_experiment(name)
    assert not exp.variant
    for key, value in model.items():
        assert (exp.layers if key == "layers" else exp.model[key]) == value, key
    assert exp.train["epochs"] == epochs and exp.train["optimizer"] == optimizer
    assert exp.train["batch_size"] == 10 and exp.train["learning_rate"] == (0.0001 if "office31" in name else 0.001)
    for key, value in data.items():
        assert exp.dataset[key] == value, key


def test_count_matching_and_improved_rows_are_named_variants():
    assert find_experiment("mnist-autoencoder-480").dataset["train_ratio"] * 8000 == 480
    assert find_experiment("mnist-autoencoder-480").variant
    assert find_experiment("office31-mlp-64-32-10-with-adam").train["optimizer"] == "adam"
    assert find_experiment("gan-mnist-8-tuned").variant and find_experiment("steel-std").variant


def test_alzza_list_marks_variants_and_other_data(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "ch", "dataset", "row"]
    row = {line.split()[0]: line for line in lines[1:]}
    assert " book " in row["abalone-slp"] and "≠" not in row["abalone-slp"]
    assert "≠" in row["mnist-autoencoder"] and " book " in row["mnist-autoencoder"]
    assert " variant " in row["mnist-autoencoder-480"] and "≠" in row["office31-cnn-relu"]
