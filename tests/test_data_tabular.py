"""The Dataset base, the data-folder rule, the CSV reader and the tabular data sets.

Everything runs on small files written into tmp_path in the real formats (fixtures in
conftest.py). The last tests read the real files from the folder named by ALZZA_DATA
and are skipped, with the reason shown, when it is unset or lacks them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from alzza.data import (
    Dataset,
    DatasetOption,
    dataset_names,
    make_dataset,
    register_dataset,
)
from alzza.data.readers.csv_reader import read_csv
from alzza.data.store import locate
from alzza.data.store.locate import data_root, find_data_file, resolve_data_root
from alzza.data.sets.tabular import (
    AbaloneDataset,
    PulsarDataset,
    PulsarSelectDataset,
    SteelDataset,
)
from alzza.errors import DataError, SpecError

REAL_DATA = os.environ.get("ALZZA_DATA", "")


@pytest.fixture(autouse=True)
def _no_ambient_data_folder(monkeypatch, tmp_path):
    """Tests choose their data folder explicitly: no ALZZA_DATA, no user cache."""
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    monkeypatch.setattr(locate, "default_data_root", lambda: tmp_path / "user-cache" / "data")


class ArrayDataset(Dataset):
    """A data set over given arrays, to test the base class alone."""

    def __init__(self, xs, ys, rng, name="arrays", mode="regression"):
        super().__init__(name, mode, source="test arrays")
        self._split(xs, ys, rng)


def numbered(count, features=3):
    """Inputs whose first column is the row number, so rows can be traced."""
    xs = np.zeros((count, features), dtype=np.float32)
    xs[:, 0] = np.arange(count)
    xs[:, 1:] = np.arange(count)[:, None] * 0.5
    ys = np.arange(count, dtype=np.float32)[:, None] * 2.0
    return xs, ys


# ----------------------------------------------------------------------------- splits
@pytest.mark.parametrize("count, train, validate, test", [
    (4177, 3340, 208, 629),      # abalone
    (17898, 14310, 894, 2694),   # pulsar
    (1941, 1550, 97, 294),       # steel
    (60, 40, 3, 17),
    (13, 10, 0, 3),
])
def test_split_counts_follow_the_book_rule(count, train, validate, test):
    data = ArrayDataset(*numbered(count), np.random.default_rng(0))
    assert (data.train_count, data.validate_count, data.test_count) == (train, validate, test)
    assert str(data) == f"arrays(regression, {train}+{test}+{validate})"
    assert data.input_shape == (3,) and data.output_shape == (1,)


def test_split_is_a_permutation_stored_as_float32():
    xs, ys = numbered(200)
    data = ArrayDataset(xs.astype(np.float64), ys, np.random.default_rng(3))
    parts = [data.train_data(), data.validate_data(), data.test_data()]
    for x, y in parts:
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.flags.c_contiguous and y.flags.c_contiguous
        np.testing.assert_array_equal(y[:, 0], x[:, 0] * 2.0)  # pairs stay together
    ids = np.concatenate([x[:, 0] for x, _ in parts])
    assert sorted(ids.tolist()) == list(range(200))
    assert not np.array_equal(ids, np.arange(200))  # actually shuffled


def test_same_seed_same_split_different_seed_different(tabular_data_dir):
    a = make_dataset("abalone", data_dir=tabular_data_dir, seed=7)
    b = make_dataset("abalone", data_dir=tabular_data_dir, seed=7)
    c = make_dataset("abalone", data_dir=tabular_data_dir, seed=8)
    np.testing.assert_array_equal(a.train_data()[0], b.train_data()[0])
    np.testing.assert_array_equal(a.test_data()[1], b.test_data()[1])
    assert not np.array_equal(a.train_data()[0], c.train_data()[0])


def test_mismatched_or_empty_arrays_are_data_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="5 inputs but 4 targets"):
        ArrayDataset(np.zeros((5, 2)), np.zeros((4, 1)), rng)
    with pytest.raises(DataError, match="no examples"):
        ArrayDataset(np.zeros((0, 2)), np.zeros((0, 1)), rng)


# ----------------------------------------------------------------------------- batches
def test_train_batches_are_full_reshuffled_and_from_train_only():
    data = ArrayDataset(*numbered(100), np.random.default_rng(1))  # 80 train
    train_ids = set(data.train_data()[0][:, 0].tolist())
    assert data.batches_per_epoch(10) == 8
    assert data.batches_per_epoch(30) == 2  # remainder of 20 left out
    rng = np.random.default_rng(5)
    first = list(data.train_batches(30, rng))
    second = list(data.train_batches(30, rng))
    assert len(first) == 2 and all(x.shape == (30, 3) and y.shape == (30, 1) for x, y in first)
    for x, y in first:
        np.testing.assert_array_equal(y[:, 0], x[:, 0] * 2.0)
        assert set(x[:, 0].tolist()) <= train_ids
    ids_first = np.concatenate([x[:, 0] for x, _ in first])
    assert len(set(ids_first.tolist())) == 60  # no example twice in one epoch
    ids_second = np.concatenate([x[:, 0] for x, _ in second])
    assert not np.array_equal(ids_first, ids_second)  # reshuffled each call


def test_train_batches_use_only_the_given_generator():
    data = ArrayDataset(*numbered(100), np.random.default_rng(1))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    one = [x for x, _ in data.train_batches(10, np.random.default_rng(9))]
    two = [x for x, _ in data.train_batches(10, np.random.default_rng(9))]
    np.testing.assert_array_equal(np.concatenate(one), np.concatenate(two))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_small_train_split_gives_one_partial_batch_and_bad_sizes_fail():
    data = ArrayDataset(*numbered(20), np.random.default_rng(1))  # 10 train
    assert data.batches_per_epoch(64) == 1
    (x, _), = list(data.train_batches(64, np.random.default_rng(0)))
    assert x.shape == (10, 3)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(DataError, match="batch_size"):
            data.batches_per_epoch(bad)


def test_validate_sample_is_random_and_all_when_fewer():
    data = ArrayDataset(*numbered(400), np.random.default_rng(2))  # 20 validation
    x, y = data.validate_sample(5, np.random.default_rng(0))
    assert x.shape == (5, 3) and y.shape == (5, 1)
    valid_ids = set(data.validate_data()[0][:, 0].tolist())
    assert set(x[:, 0].tolist()) <= valid_ids
    other, _ = data.validate_sample(5, np.random.default_rng(1))
    assert not np.array_equal(x, other)
    everything, _ = data.validate_sample(50, np.random.default_rng(0))
    assert everything.shape == (20, 3)


# ----------------------------------------------------------------------------- standardize
def test_standardize_uses_train_statistics_only(tabular_data_dir):
    plain = make_dataset("steel", data_dir=tabular_data_dir, seed=4)
    std = make_dataset({"name": "steel", "standardize": True}, data_dir=tabular_data_dir,
                       seed=4)
    assert std.name == "steel-std" and plain.name == "steel"
    train_x = std.train_data()[0]
    np.testing.assert_allclose(train_x.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(train_x.std(axis=0), 1.0, atol=1e-3)
    test_x = std.test_data()[0]
    assert not np.allclose(test_x.mean(axis=0), 0.0, atol=1e-4)
    # statistics are the train split's, applied unchanged to the test split
    raw_train, raw_test = plain.train_data()[0], plain.test_data()[0]
    mean, sd = raw_train.mean(axis=0, dtype=np.float64), raw_train.std(axis=0, dtype=np.float64)
    np.testing.assert_allclose(test_x, (raw_test - mean) / sd, rtol=1e-4, atol=1e-4)
    # targets untouched, same split
    np.testing.assert_array_equal(std.train_data()[1], plain.train_data()[1])
    np.testing.assert_array_equal(std.test_data()[1], plain.test_data()[1])
    assert train_x.dtype == np.float32 and train_x.flags.c_contiguous


def test_standardize_constant_column_divides_by_one(tabular_files, tmp_path):
    rows = [["I", 0.5, 0.1 * n, 0.2, 0.3, 0.4, 0.5, 0.6, n % 7 + 1] for n in range(30)]
    tabular_files.write(tmp_path / "abalone.csv", tabular_files.abalone_header, rows)
    data = AbaloneDataset(data_dir=tmp_path, rng=np.random.default_rng(0), standardize=True)
    x = np.concatenate([data.train_data()[0], data.test_data()[0]])
    assert np.all(np.isfinite(x))
    assert np.all(x[:, 0] == 0.0) and np.all(x[:, 3] == 0.0)  # constant sex I and Length
    assert data.input_std[0] == 1.0 and data.input_std[3] == 1.0
    assert data.describe_input(data.test_data()[0][0]).startswith("I 0.5 ")


# ----------------------------------------------------------------------------- abalone
def test_abalone_encoding_on_a_handwritten_file(tabular_files, tmp_path):
    sexes = "IMF" * 6 + "M"
    rows = [[sex, f"0.{n + 10}", 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15, n + 1]
            for n, sex in enumerate(sexes)]
    rows[0] = " I , 0.10 ,0.365,0.095,0.514,0.2245,0.101,0.15, 1 "  # spaces are stripped
    tabular_files.write(tmp_path / "abalone.csv", tabular_files.abalone_header, rows)
    data = make_dataset("abalone", data_dir=tmp_path, seed=0)
    assert (data.name, data.mode) == ("abalone", "regression")
    assert data.input_shape == (10,) and data.output_shape == (1,)
    assert "Abalone" in data.source and "archive.ics.uci.edu" in data.source
    xs = np.concatenate([data.train_data()[0], data.validate_data()[0], data.test_data()[0]])
    ys = np.concatenate([data.train_data()[1], data.validate_data()[1], data.test_data()[1]])
    assert xs.shape == (19, 10)
    one_hot = {"I": [1, 0, 0], "M": [0, 1, 0], "F": [0, 0, 1]}
    for n, sex in enumerate(sexes):
        (at,) = np.flatnonzero(np.isclose(ys[:, 0], n + 1))
        np.testing.assert_array_equal(xs[at, :3], one_hot[sex])
        np.testing.assert_allclose(xs[at, 3:], [float(f"0.{n + 10}"), 0.365, 0.095, 0.514,
                                                0.2245, 0.101, 0.15], rtol=1e-6)
    (first,) = np.flatnonzero(ys[:, 0] == 1)
    assert data.describe_input(xs[first]) == "I 0.1 0.365 0.095 0.514 0.2245 0.101 0.15"


def test_abalone_unknown_sex_names_row_and_column(tabular_files, tmp_path):
    rows = [["M", 0.4, 0.3, 0.1, 0.5, 0.2, 0.1, 0.15, 9]] * 5
    rows[3] = ["X", 0.4, 0.3, 0.1, 0.5, 0.2, 0.1, 0.15, 9]
    tabular_files.write(tmp_path / "abalone.csv", tabular_files.abalone_header, rows)
    with pytest.raises(DataError) as info:
        make_dataset("abalone", data_dir=tmp_path)
    text = str(info.value)
    assert "data row 4" in text and "line 5" in text and "'Sex'" in text and "'X'" in text
    assert "I, M, F" in text and "abalone.csv" in text


# ----------------------------------------------------------------------------- pulsar
def test_pulsar_binary_and_select_targets(tabular_data_dir):
    binary = make_dataset("pulsar", data_dir=tabular_data_dir, seed=1)
    select = make_dataset("pulsar-select", data_dir=tabular_data_dir, seed=1)
    assert (binary.mode, binary.output_shape, binary.input_shape) == ("binary", (1,), (8,))
    assert (select.mode, select.output_shape) == ("select", (2,))
    assert select.target_names == ["star", "pulsar"]
    assert binary.train_count + binary.validate_count + binary.test_count == 80
    yb = np.concatenate([binary.train_data()[1], binary.test_data()[1],
                         binary.validate_data()[1]])
    ys = np.concatenate([select.train_data()[1], select.test_data()[1],
                         select.validate_data()[1]])
    assert set(np.unique(yb).tolist()) == {0.0, 1.0} and yb.sum() == 12
    np.testing.assert_array_equal(ys.sum(axis=1), 1.0)
    assert ys[:, 1].sum() == 12
    # same seed, same split: the select targets are the binary ones made one-hot
    np.testing.assert_array_equal(select.train_data()[1][:, 1], binary.train_data()[1][:, 0])
    np.testing.assert_array_equal(select.train_data()[0], binary.train_data()[0])


def test_pulsar_balanced_repeats_pulsars_cyclically(tabular_files, tmp_path):
    rows = [[float(10 + n)] * 8 + [0] for n in range(9)]              # stars 10..18
    rows[2:2] = [[float(-1)] * 8 + [1], [float(-2)] * 8 + [1]]        # pulsars -1, -2
    tabular_files.write(tmp_path / "pulsar_stars.csv", tabular_files.pulsar_header,
                        rows, "\r\n")
    data = make_dataset({"name": "pulsar", "balanced": True}, data_dir=tmp_path, seed=0)
    assert data.name == "pulsar-balanced"
    parts = [data.train_data(), data.validate_data(), data.test_data()]
    xs = np.concatenate([x for x, _ in parts])
    ys = np.concatenate([y for _, y in parts])
    assert len(xs) == 18 and ys.sum() == 9                  # as many pulsars as stars
    assert (data.train_count, data.validate_count, data.test_count) == (10, 0, 8)
    pulsar_values = sorted(xs[ys[:, 0] == 1, 0].tolist())
    assert pulsar_values == [-2.0] * 4 + [-1.0] * 5          # p0 p1 p0 p1 ... (9 stars)
    assert sorted(xs[ys[:, 0] == 0, 0].tolist()) == [float(10 + n) for n in range(9)]


def test_pulsar_balanced_counts_on_the_fixture(tabular_data_dir):
    data = PulsarSelectDataset(data_dir=tabular_data_dir, rng=np.random.default_rng(0),
                               balanced=True)
    total = data.train_count + data.validate_count + data.test_count
    assert total == 2 * 68 and data.name == "pulsar-select-balanced"
    assert str(data) == "pulsar-select-balanced(select, 100+30+6)"


def test_pulsar_class_must_be_zero_or_one(tabular_files, tmp_path):
    rows = [[1.0] * 8 + [0]] * 4 + [[1.0] * 8 + [2]]
    tabular_files.write(tmp_path / "pulsar_stars.csv", tabular_files.pulsar_header, rows)
    with pytest.raises(DataError, match=r"data row 5 \(line 6\), column 'target_class'"):
        PulsarDataset(data_dir=tmp_path, rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- steel
def test_steel_encoding_and_names_on_a_handwritten_file(tabular_files, tmp_path):
    rows = []
    for n in range(21):
        fault = [0] * 7
        fault[n % 7] = 1
        rows.append([n, *([0.5] * 26), *fault])
    tabular_files.write(tmp_path / "faults.csv", tabular_files.steel_header, rows)
    data = make_dataset("steel", data_dir=tmp_path, seed=0)
    assert (data.mode, data.input_shape, data.output_shape) == ("select", (27,), (7,))
    assert data.target_names == ["Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness",
                                 "Bumps", "Other_Faults"]
    assert "Steel Plates Faults" in data.source
    for x, y in (data.train_data(), data.test_data()):
        np.testing.assert_array_equal(np.argmax(y, axis=1), x[:, 0].astype(int) % 7)
        np.testing.assert_array_equal(x[:, 1:], 0.5)


def test_steel_row_without_exactly_one_fault_is_an_error(tabular_files, tmp_path):
    good = [*([1] * 27), 0, 0, 1, 0, 0, 0, 0]
    bad = [*([1] * 27), 0, 1, 1, 0, 0, 0, 0]
    tabular_files.write(tmp_path / "faults.csv", tabular_files.steel_header,
                        [good] * 6 + [bad] + [good] * 5)
    with pytest.raises(DataError) as info:
        SteelDataset(data_dir=tmp_path, rng=np.random.default_rng(0))
    assert "data row 7 (line 8)" in str(info.value) and "exactly one 1" in str(info.value)


# ----------------------------------------------------------------------------- locating
def test_data_root_rule_order(monkeypatch, tmp_path):
    assert resolve_data_root(tmp_path / "cli") == (tmp_path / "cli", "--data-dir")
    monkeypatch.setenv("ALZZA_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "cli") == (tmp_path / "cli", "--data-dir")
    assert resolve_data_root() == (tmp_path / "env", "ALZZA_DATA")
    monkeypatch.setenv("ALZZA_DATA", "  ")
    assert resolve_data_root() == (tmp_path / "user-cache" / "data", "default cache")
    assert data_root("relative/dir").is_absolute()


def test_real_default_cache_folder_is_per_user(monkeypatch):
    monkeypatch.undo()  # the real rule, not this file's stand-in
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    root, rule = resolve_data_root()
    assert rule == "default cache" and root.name == "data" and "alzza" in str(root)


@pytest.mark.parametrize("how", ["--data-dir", "ALZZA_DATA", "default cache"])
def test_missing_file_error_says_path_rule_source_and_fix(how, monkeypatch, tmp_path):
    folder = tmp_path / "user-cache" / "data"
    data_dir = None
    if how == "--data-dir":
        folder = data_dir = tmp_path / "cli"
    elif how == "ALZZA_DATA":
        folder = tmp_path / "env"
        monkeypatch.setenv("ALZZA_DATA", str(folder))
    with pytest.raises(DataError) as info:
        make_dataset("abalone", data_dir=data_dir)
    text = str(info.value)
    assert str(folder / "abalone.csv") in text
    assert how in text
    assert "https://archive.ics.uci.edu/dataset/1/abalone" in text
    assert "ALZZA_DATA" in text and "--data-dir" in text  # how to fix
    assert "abalone" in text


def test_find_data_file_returns_existing_path(tmp_path):
    (tmp_path / "x.csv").write_text("a\n1\n")
    assert find_data_file("x.csv", tmp_path) == tmp_path / "x.csv"


# ----------------------------------------------------------------------------- CSV reader
def test_csv_reader_strips_whitespace_and_skips_blank_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf a , b \r\n 1 , 2.5 \r\n\r\n3,-4e1\r\n")
    table = read_csv(path)
    assert table.header == ["a", "b"]
    assert table.values.dtype == np.float32
    np.testing.assert_array_equal(table.values, [[1, 2.5], [3, -40]])
    np.testing.assert_array_equal(table.line_numbers, [2, 4])


def test_csv_bad_value_names_file_row_line_column_and_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,3\n\n4,x5,6\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    text = str(info.value)
    assert str(path) in text and "data row 2 (line 4)" in text
    assert "column 'b'" in text and "'x5'" in text


def test_csv_wrong_column_count(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match=r"data row 2 \(line 3\) has 2 values; the header has 3"):
        read_csv(path)
    with pytest.raises(DataError, match="header has 3 columns, expected 9"):
        read_csv(path, expected_columns=9)


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("\n\n", "empty"),
    ("a,b\n", "no data rows"),
    ("M,0.4,0.3,0.1\nF,0.5,0.2,0.2\n", "looks like data, not a header"),
])
def test_csv_empty_header_only_and_headerless(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_csv(path)


def test_csv_converter_by_name_or_index_and_its_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("kind,v\nyes,1\nno,2\n")
    codes = {"yes": 1.0, "no": 0.0}
    by_name = read_csv(path, converters={"kind": lambda t: codes[t]})
    by_index = read_csv(path, converters={0: lambda t: codes[t]})
    np.testing.assert_array_equal(by_name.values, [[1, 1], [0, 2]])
    np.testing.assert_array_equal(by_index.values, by_name.values)
    path.write_text("kind,v\nyes,1\nmaybe,2\n")
    with pytest.raises(DataError, match=r"data row 2 \(line 3\), column 'kind'.*'maybe'"):
        read_csv(path, converters={"kind": lambda t: codes[t]})
    with pytest.raises(DataError, match="no column 'nope'"):
        read_csv(path, converters={"nope": float})


# ----------------------------------------------------------------------------- make_dataset
def test_known_names_are_registered():
    assert {"abalone", "pulsar", "pulsar-select", "steel"} <= set(dataset_names())


def test_unknown_dataset_name_lists_known_names():
    with pytest.raises(SpecError) as info:
        make_dataset("abalonee")
    assert info.value.path == "dataset"
    assert "abalonee" in str(info.value) and "abalone, " in str(info.value)
    assert "steel" in str(info.value)


@pytest.mark.parametrize("spec, path, words", [
    ({"name": "pulsar", "balance": True}, "dataset.balance", ["balanced, split, split_multiple, standardize"]),
    ({"name": "steel", "balanced": True}, "dataset.balanced", ["known options: split, split_multiple, standardize"]),
    ({"name": "pulsar", "balanced": "yes"}, "dataset.balanced", ["true or false", "'yes'"]),
    ({"name": "pulsar", "balanced": 1}, "dataset.balanced", ["true or false"]),
    ({"name": "abalone", "standardize": None}, "dataset.standardize", ["true or false"]),
    ({"balanced": True}, "dataset", ["needs 'name'", "pulsar"]),
    ({"name": 3}, "dataset.name", ["name"]),
    (42, "dataset", ["name or a mapping"]),
])
def test_bad_dataset_specs_name_the_path(spec, path, words, tabular_data_dir):
    with pytest.raises(SpecError) as info:
        make_dataset(spec, data_dir=tabular_data_dir)
    assert info.value.path == path
    for word in words:
        assert word in str(info.value)


@pytest.fixture
def forget_toy_dataset():
    """The registry is global: a data set registered by a test is removed after it."""
    yield
    from alzza.data.registry import DATASETS

    DATASETS.pop("toy-test", None)


def test_registered_factory_gets_defaults_and_rng(forget_toy_dataset):
    seen = {}

    def factory(data_dir, rng, size, scale):
        seen.update(data_dir=data_dir, size=size, scale=scale)
        xs = rng.normal(size=(size, 2))
        return ArrayDataset(xs * scale, xs[:, :1], rng, name="toy")

    register_dataset("toy-test", factory, {"size": DatasetOption(int, 40),
                                           "scale": DatasetOption(float, 1.0)})
    a = make_dataset({"name": "toy-test", "scale": 2}, data_dir="somewhere", seed=3)
    assert seen == {"data_dir": "somewhere", "size": 40, "scale": 2.0}
    assert isinstance(seen["scale"], float)
    b = make_dataset({"name": "toy-test", "scale": 2}, seed=3)
    np.testing.assert_array_equal(a.train_data()[0], b.train_data()[0])
    assert make_dataset(a) is a
    with pytest.raises(SpecError, match="an integer"):
        make_dataset({"name": "toy-test", "size": 2.5})


def test_direct_construction_checks_option_types(tabular_data_dir):
    with pytest.raises(DataError, match="balanced"):
        PulsarDataset(data_dir=tabular_data_dir, balanced="no")


# ----------------------------------------------------------------------------- real files
def real_file(name: str) -> Path:
    if not REAL_DATA:
        pytest.skip("ALZZA_DATA is not set: real-data checks skipped")
    path = Path(REAL_DATA) / name
    if not path.exists():
        pytest.skip(f"{path} is absent: real-data check skipped")
    return path


def test_real_abalone_counts():
    folder = real_file("abalone.csv").parent
    data = make_dataset("abalone", data_dir=folder, seed=0)
    assert str(data) == "abalone(regression, 3340+629+208)"
    x = data.train_data()[0]
    np.testing.assert_array_equal(x[:, :3].sum(axis=1), 1.0)


def test_real_pulsar_counts():
    folder = real_file("pulsar_stars.csv").parent
    data = make_dataset("pulsar", data_dir=folder, seed=0)
    assert str(data) == "pulsar(binary, 14310+2694+894)"
    ys = np.concatenate([data.train_data()[1], data.validate_data()[1], data.test_data()[1]])
    assert ys.sum() == 1639
    balanced = make_dataset({"name": "pulsar", "balanced": True}, data_dir=folder, seed=0)
    stars = 17898 - 1639
    assert balanced.train_count + balanced.validate_count + balanced.test_count == 2 * stars


def test_real_steel_counts():
    folder = real_file("faults.csv").parent
    data = make_dataset({"name": "steel", "standardize": True}, data_dir=folder, seed=0)
    assert str(data) == "steel-std(select, 1550+294+97)"
    assert data.target_names[0] == "Pastry" and data.target_names[-1] == "Other_Faults"
