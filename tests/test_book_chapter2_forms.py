"""Chapter 2's two printed forms and chapters 1–4's 80 / 20 split in alzza.book.

The book's pulsar_test#1 (``%run pulsar.ipynb``) prints ``Epoch n: loss=…, accuracy=a/b``
and ``Final Test: final accuracy = …``; pulsar_ext_test#1–2 (``%run pulsar_ext.ipynb``)
print ``Epoch n: loss=…, result=acc,prec,rec,f1`` and ``Final Test: final result = …``.
chap01/abalone.ipynb's arrange_data: ``int(n * 0.8) // mb_size * mb_size`` examples train,
the rest test (4,177 abalone → 3,340 / 837 with mb_size 10).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import alzza.book as book


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("ALZZA_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(book.chapters, "_hidden_config", [])
    monkeypatch.setattr(book.chapters, "_hidden_info", None)
    (tmp_path / "data").mkdir()


def _run(script: str, star: str, capsys) -> tuple[str, dict]:
    namespace: dict = {"__name__": "__book_script__"}
    exec(f"from {star} import *\n" + script, namespace)  # noqa: S102 (the reader's script)
    return capsys.readouterr().out, namespace


def test_pulsar_ext_prints_the_result_form(tabular_files, tmp_path, capsys):
    tabular_files.pulsar(tmp_path / "data")
    out, _ = _run("pulsar_exec(2, 10, 1)\npulsar_exec(2, 10, 1, adjust_ratio=True)\n", "alzza.book.pulsar_ext", capsys)
    shown = out.splitlines()
    assert sum(bool(re.fullmatch(r"Epoch 2: loss=\d+\.\d{3}, result=(\d\.\d{3},){3}\d\.\d{3}", line))
               for line in shown) == 2, out
    finals = [line for line in shown if line.startswith("Final Test")]
    assert len(finals) == 2 and all(re.fullmatch(r"Final Test: final result = (\d\.\d{3},){3}\d\.\d{3}", f)
                                    for f in finals), finals
    assert "accuracy=" not in out


def test_plain_pulsar_prints_the_accuracy_form(tabular_files, tmp_path, capsys):
    tabular_files.pulsar(tmp_path / "data")
    out, _ = _run("pulsar_exec(2, 10, 1)\n", "alzza.book", capsys)
    assert re.search(r"^Epoch 2: loss=\d+\.\d{3}, accuracy=\d\.\d{3}/\d\.\d{3}$", out, re.M), out
    assert re.search(r"^Final Test: final accuracy = \d\.\d{3}$", out, re.M), out
    assert "result=" not in out


def test_chapter_1_to_4_split_is_80_20():
    """The split of chap01/abalone.ipynb's arrange_data, on data of the book's sizes."""
    from alzza.data.sets.tabular import TabularDataset

    class Sized(TabularDataset):
        def __init__(self, count, multiple):
            super().__init__("x", "regression", input_shape=(1,), output_shape=(1,))
            xs = np.arange(count, dtype=np.float32)[:, None]
            self._finish(xs, xs, np.random.default_rng(0), False, "80/20", multiple)

    for count, multiple, train, test in ((4177, 10, 3340, 837), (4177, 100, 3300, 877), (1941, 10, 1550, 391),
                                         (17898, 10, 14310, 3588)):
        data = Sized(count, multiple)
        assert (data.train_count, data.test_count, data.validate_count) == (train, test, test)
        # each epoch's figure is the test split's: the validation examples are the test examples
        np.testing.assert_array_equal(data.validate_data()[0], data.test_data()[0])
        assert not set(data.train_data()[0][:, 0]) & set(data.test_data()[0][:, 0])

