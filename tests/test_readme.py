"""The README's Python tour runs as written (on small files in the real formats): a model
built from Python objects trains, saves and reloads to the same predictions."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A short tour of the Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_tour_builds_from_objects_trains_saves_and_reloads(tmp_path, tabular_data_dir, monkeypatch, capsys):
    code = _tour()
    assert "Dense(12" in code and "model.save" in code and "alzza.load" in code
    assert 'data_dir="../shared/data"' in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code.replace('data_dir="../shared/data"', f"data_dir={str(tabular_data_dir)!r}"),
                 str(README), "exec"), namespace)
    model, same, data = namespace["model"], namespace["same"], namespace["data"]
    assert (tmp_path / "pulsar-mlp.npz").is_file()
    assert model.history is not None and len(model.history.to_dict()["loss"]) == 10
    x = data.test_data()[0]
    np.testing.assert_array_equal(namespace["probabilities"], model.predict(x))
    assert same.config()["layers"] == [["full", {"width": 12, "actfunc": "tanh"}],
                                       ["full", {"width": 6, "actfunc": "tanh"}]]
    out = capsys.readouterr().out
    assert "layers[0]" in out and "layers[1]" in out and "network" not in out.split("Total parameters")[0]


@contextmanager
def _readme_example(title: str, registry, name: str):
    """Run the first Python block of the README section ``title``; yield its namespace.
    The ``name`` it registers in ``registry`` is removed afterwards (a name held before is restored)."""
    text = README.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text[text.index(title):], re.S).group(1)
    namespace: dict = {}
    old = registry.pop(name, None)
    try:
        exec(compile(code, str(README), "exec"), namespace)
        yield namespace
    finally:
        registry.pop(name, None)
        if old is not None:
            registry[name] = old


def test_the_readme_layer_passes_check_layer():
    from alzza.layers import LAYER_TYPES
    from alzza.testing import check_layer

    with _readme_example("### Your own layer", LAYER_TYPES, "scale") as namespace:
        errors = check_layer(namespace["Scale"], {"start": 0.5}, input_shape=(4,))
        assert set(errors) == {"x", "layer/a", "layer/b"} and all(e < 1e-6 for e in errors.values())


def test_the_readme_head_is_registered_and_its_backward_is_its_losss_gradient():
    from alzza.heads import HEADS, make_head

    with _readme_example("### Your own output mode", HEADS, "huber"):
        head = make_head("select", None, 3, mode="huber", delta=0.5)
        assert type(head).__name__ == "Huber" and head.delta == 0.5
        rng = np.random.default_rng(0)
        output, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
        head.loss(output, y)
        analytic = head.backward()
        numeric = np.zeros_like(output)
        for index in np.ndindex(output.shape):
            step = np.zeros_like(output)
            step[index] = 1e-6
            numeric[index] = (head.loss(output + step, y) - head.loss(output - step, y)) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)
        assert 0 < head.accuracy(output, y) < 1


def test_the_readme_data_set_registers_and_builds_with_its_options():
    from alzza.data import DATASETS, make_dataset

    with _readme_example("### Your own data set", DATASETS, "line"):
        data = make_dataset({"name": "line", "count": 200}, seed=0)
        assert (data.train_count, data.validate_count, data.test_count) == (160, 10, 30)
        x, y = data.train_data()
        np.testing.assert_allclose(y, x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32), rtol=1e-5, atol=1e-5)
