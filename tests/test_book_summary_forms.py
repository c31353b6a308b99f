"""``alzza summary NAME --lang ko``: chapter 9's numbered structure dump, with the input
shape printed as the book prints it (book/structure.py).

The book's dump of the small Inception for flowers: chap09/cnn_inception_test.ipynb,
cell 13 (``model_flower_LA``, ``dump_structure=True``) — its first lines, last lines and
total are written out below; the first layer's input is the flowers data set's tuple
``(96, 96, 3)``, every later shape a list. Its DummyDataset keeps the list it was given
(cell 9: ``1: conv, [299, 299, 3]=>...``).
"""

from __future__ import annotations

import re

from alzza import book
from alzza.book.structure import dump_structure
from alzza.cli import main

BOOK_FIRST = ["custom inception_flower",
              "  serial",
              "    custom flower_preproc",
              "      serial",
              "        1: conv, (96, 96, 3)=>[48, 48, 6] pm:3x3x3x6+6=168",
              "    custom flower_inception1",
              "      parallel",
              "        2: conv, [48, 48, 6]=>[48, 48, 4] pm:1x1x6x4+4=28",
              "        3: conv, [48, 48, 6]=>[48, 48, 6] pm:3x3x6x6+6=330"]
BOOK_LAST = ["48: full, [1, 1, 48]=>[5] pm:48x5+5=245", "Total parameter count: 43885"]


def test_summary_in_korean_is_the_books_numbered_dump(capsys, tmp_path):
    assert main(["summary", "inception-flower-la", "--lang", "ko", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:len(BOOK_FIRST)] == BOOK_FIRST
    assert lines[-2:] == BOOK_LAST
    numbers = [int(m.group(1)) for line in lines if (m := re.match(r"\s*(\d+): ", line))]
    assert numbers == list(range(1, 49))
    assert sum("(" in line.split("=>")[0] for line in lines if "=>" in line) == 1  # the data set's tuple, once


def test_summary_in_english_stays_alzzas(capsys, tmp_path):
    assert main(["summary", "inception-flower-la", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "custom inception_flower" not in out and "Total parameter count: 43885" not in out


def test_a_dummy_data_sets_shape_stays_a_list():
    data = book.DummyDataset("imagenet", "select", [32, 32, 3], 10)
    lines = []
    dump_structure(book.CnnBasicModel("m", data, [["conv", {"ksize": 3, "chn": 4}]], printer=lines.append),
                   lines.append)
    first = next(line for line in lines if line.lstrip().startswith("1: "))
    assert first.lstrip().startswith("1: conv, [32, 32, 3]=>")


def test_inception_v3_on_the_dummy_set_prints_the_books_list(capsys, tmp_path):
    assert main(["summary", "inception-v3", "--lang", "ko", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # chap09/cnn_inception_test.ipynb cell 9
    assert lines[:5] == ["custom inception_v3", "  serial", "    custom v3_preproc", "      serial",
                         "        1: conv, [299, 299, 3]=>[148, 148, 32] pm:3x3x3x32+32=896"]
