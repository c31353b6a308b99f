"""evaluate() gives plain Python floats (a per-head accuracy: a tuple of them) for
every model kind, so results print, compare and go to JSON as they are."""

from __future__ import annotations

import pytest
from _family_data import tiny_data_dir

from alzza.data import make_dataset
from alzza.experiments.catalogue import find_experiment
from alzza.experiments.runner import build_model


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tiny_data_dir(tmp_path_factory.mktemp("data"))


def _plain(value):
    if isinstance(value, tuple):
        return all(type(v) is float for v in value)
    return type(value) is float


@pytest.mark.parametrize("name", ["mnist-mlp-10", "mnist-autoencoder", "mnist-eng-1step", "gan-mnist-8"])
def test_evaluate_returns_plain_floats(name, data_dir):
    exp = find_experiment(name)
    dataset = make_dataset(exp.dataset, data_dir=data_dir, seed=1)
    model = build_model(exp, dataset, 1, printer=lambda *a: None)
    x, y = dataset.test_data()
    metrics = model.evaluate(x, y)
    assert metrics and all(_plain(v) for v in metrics.values()), metrics
