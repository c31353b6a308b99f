"""Data sets through the registry: ``@register_dataset`` on a class or a factory, options
declared once, a user's own data set from an ``--import`` module used by ``alzza run``,
and names never silently taken over."""

from __future__ import annotations

import numpy as np
import pytest
from _user_code import write_user_files

from alzza.cli import main
from alzza.data import DATASETS, Dataset, dataset_entry, make_dataset, register_dataset
from alzza.data.sets.automata import make_automata
from alzza.data.sets.tabular import AbaloneDataset
from alzza.errors import SpecError
from alzza.options import Option
from alzza.user_code import import_user_code

#: a user's data set: y = x·w on generated inputs, its size an option
DATA_FILE = '''
import numpy as np
from alzza.data import Dataset, register_dataset
from alzza.options import Option

BUILT = []


@register_dataset("{name}", options={{
    "count": Option(int, 60, doc="examples in all",
                    check=lambda v: None if v >= 20 else f"count must be at least 20, got {{v!r}}"),
}}, summary="generated: 3 inputs → their weighted sum (regression)")
class Line(Dataset):
    """y = x · (1, −2, 0.5) on standard normal x."""

    def __init__(self, data_dir=None, rng=None, count=60):
        super().__init__("{name}", "regression", source="generated", input_shape=(3,), output_shape=(1,))
        BUILT.append(count)
        x = rng.normal(size=(count, 3))
        self._split(x, x @ np.array([[1.0], [-2.0], [0.5]]), rng)
'''

EXPERIMENT = """\
name: user-{name}
dataset: {{name: {name}, count: {count}}}
model:
  layers: [4]
train: {{epochs: 1, batch_size: 10, learning_rate: 0.001, optimizer: sgd}}
"""


def _user_files(tmp_path, name, count=40):
    return write_user_files(tmp_path, name, DATA_FILE, EXPERIMENT, count=count)


def test_the_shipped_data_sets_are_registered_by_decorator_with_their_options():
    assert DATASETS["abalone"] is AbaloneDataset and AbaloneDataset.dataset_name == "abalone"
    assert DATASETS["automata"] is make_automata and make_automata.dataset_name == "automata"
    entry = dataset_entry("pulsar")
    assert sorted(entry.options) == ["balanced", "split", "split_multiple", "standardize"]
    assert all(isinstance(option, Option) for option in entry.options.values())
    assert entry.summary.startswith("pulsar_stars.csv")
    assert dataset_entry("automata").options["train_count"].default == 10000


def test_run_uses_a_user_data_set_from_import(tmp_path, capsys):
    module_path, experiment = _user_files(tmp_path, "line_run")
    assert main(["summary", str(experiment), "--import", str(module_path)]) == 0
    assert "input (3), output (1), mode regression" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", str(experiment), "--import", str(module_path), "--out", str(out), "--no-progress"]) == 0
    module = import_user_code(str(module_path))  # the module the command line imported
    assert module.BUILT and set(module.BUILT) == {40}  # the experiment's option reached the class
    assert sorted(out.glob("*.npz")), list(out.iterdir())
    data = make_dataset({"name": "line_run", "count": 50}, seed=1)
    assert isinstance(data, module.Line) and data.train_count + data.validate_count + data.test_count == 50


def test_a_user_data_sets_options_are_checked_before_it_is_built(tmp_path, capsys):
    module_path, experiment = _user_files(tmp_path, "line_checked", count=5)
    assert main(["run", str(experiment), "--import", str(module_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "count must be at least 20, got 5" in err and "Traceback" not in err
    assert import_user_code(str(module_path)).BUILT == []
    with pytest.raises(SpecError, match="known options: count"):
        make_dataset({"name": "line_checked", "size": 5})


def test_without_import_the_unknown_data_set_names_the_fix(tmp_path, capsys):
    _, experiment = _user_files(tmp_path, "line_missing")
    assert main(["summary", str(experiment)]) == 2
    err = capsys.readouterr().err
    assert "unknown data set 'line_missing'" in err and "--import" in err and "Traceback" not in err


def test_a_name_is_not_silently_taken_over_and_a_factory_has_one_name():
    def other_abalone(data_dir=None, rng=None):
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="'abalone' is already"):
        register_dataset("abalone", other_abalone)
    assert DATASETS["abalone"] is AbaloneDataset
    with pytest.raises(ValueError, match="is already data set 'abalone'"):
        register_dataset("abalone-again", AbaloneDataset)
    assert "abalone-again" not in DATASETS
    with pytest.raises(TypeError, match="a Dataset class or a factory function"):
        register_dataset("bad-options-position", {"count": Option(int, 1)})(Dataset)


def test_the_decorator_returns_the_factory_and_the_call_form_registers_at_once():
    try:
        @register_dataset("decorated-test", options={"size": Option(int, 12)})
        def decorated(data_dir=None, rng=None, size=12):
            data = Dataset("decorated-test", "regression", input_shape=(1,), output_shape=(1,))
            data._split(np.arange(size, dtype=float)[:, None], np.zeros((size, 1)), rng)
            return data

        assert callable(decorated) and decorated.dataset_name == "decorated-test"
        assert make_dataset({"name": "decorated-test", "size": 20}, seed=0).train_count == 10
        register_dataset("called-test", lambda data_dir=None, rng=None: decorated(data_dir, rng, 30))
        assert make_dataset("called-test", seed=0).train_count == 20
    finally:
        DATASETS.pop("decorated-test", None)
        DATASETS.pop("called-test", None)
