"""UCI's own files — abalone.data, HTRU_2.csv, Faults.NNA — read like the book's copies.

UCI serves them without a header row: abalone.data and HTRU_2.csv comma-separated,
Faults.NNA tab-separated (its column names are in the separate Faults27x7_var). The
tests write the book-format files with the shared writers, turn them into UCI's format,
and check the data sets come out identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alzza.data.store import locate
from alzza.data import make_dataset
from alzza.data.readers.csv_reader import read_csv
from alzza.errors import DataError


@pytest.fixture(autouse=True)
def _no_ambient_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    monkeypatch.setattr(locate, "default_data_root", lambda: tmp_path / "user-cache" / "data")


def uci_copy(book_file: Path, target: Path, separator: str = ",") -> Path:
    """The book's CSV without its header row, fields joined by ``separator``, LF line ends."""
    lines = book_file.read_text().splitlines()[1:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(separator.join(f.strip() for f in line.split(",")) + "\n" for line in lines))
    return target


def same_dataset(a, b) -> bool:
    return (str(a) == str(b) and a.target_names == b.target_names and a.input_names == b.input_names
            and all(np.array_equal(x, y) for x, y in zip(a.train_data() + a.test_data(),
                                                           b.train_data() + b.test_data(), strict=False)))


@pytest.mark.parametrize("name, book, uci, separator", [
    ("abalone", "abalone.csv", "abalone.data", ","),
    ("pulsar", "pulsar_stars.csv", "HTRU_2.csv", ","),
    ({"name": "pulsar", "balanced": True}, "pulsar_stars.csv", "HTRU_2.csv", ","),
    ("steel", "faults.csv", "Faults.NNA", "\t"),
    ("steel", "faults.csv", "Faults.NNA", "   "),  # some copies pad with spaces
])
def test_uci_files_give_the_same_data_set(tabular_data_dir, tmp_path, name, book, uci, separator):
    uci_dir = tmp_path / "uci"
    uci_copy(tabular_data_dir / book, uci_dir / uci, separator)
    from_book = make_dataset(name, data_dir=tabular_data_dir, seed=3)
    from_uci = make_dataset(name, data_dir=uci_dir, seed=3)
    assert same_dataset(from_book, from_uci)


def test_the_book_file_wins_when_both_are_there(tabular_data_dir):
    (tabular_data_dir / "abalone.data").write_text("not even numbers\n")
    assert make_dataset("abalone", data_dir=tabular_data_dir).train_count > 0


def test_a_uci_file_with_a_missing_field_names_file_row_and_count(tabular_data_dir, tmp_path):
    path = uci_copy(tabular_data_dir / "faults.csv", tmp_path / "uci" / "Faults.NNA", "\t")
    lines = path.read_text().splitlines()
    lines[4] = "\t".join(lines[4].split("\t")[:-1])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"Faults.NNA: data row 5 \(line 5\) has 33 values; expected 34 columns"):
        make_dataset("steel", data_dir=tmp_path / "uci")


def test_a_uci_file_given_a_header_row_is_reported_at_line_1(tabular_data_dir, tmp_path):
    folder = tmp_path / "uci"
    folder.mkdir()
    (folder / "abalone.data").write_text((tabular_data_dir / "abalone.csv").read_text())  # header kept
    with pytest.raises(DataError, match=r"abalone.data: data row 1 \(line 1\), column 'Sex': "
                                        r"cannot read 'Sex'.*looks like a header row"):
        make_dataset("abalone", data_dir=folder)


def test_neither_file_names_both(tmp_path):
    with pytest.raises(DataError) as missing:
        make_dataset("pulsar", data_dir=tmp_path)
    text = str(missing.value)
    assert "needs 'pulsar_stars.csv'" in text and "UCI's own file HTRU_2.csv" in text
    assert "alzza fetch pulsar" in text


def test_read_csv_without_header_and_whitespace(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("1 2\t3\n\n4   5 6\n")
    table = read_csv(path, names=["a", "b", "c"], delimiter=None)
    assert table.header == ["a", "b", "c"]
    assert table.values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert table.line_numbers.tolist() == [1, 3]
    (tmp_path / "e.txt").write_text("\n")
    with pytest.raises(DataError, match="has no data rows"):
        read_csv(tmp_path / "e.txt", names=["a"], delimiter=None)
