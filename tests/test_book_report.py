"""The book's printed forms: the line translator, the structure dump, ``alzza run --lang ko``."""

from __future__ import annotations

import re

import numpy as np

import alzza.book as book
from alzza.book.printed_forms import BookPrinter
from alzza.book.structure import dump_structure
from alzza.cli import main
from alzza.experiments.catalogue import load_macro_file


def _printed(style="model"):
    lines = []
    return lines, BookPrinter(style, lines.append)


def test_epoch_test_and_ended_lines_take_the_books_shape():
    lines, printer = _printed()
    printer("Epoch 2: loss=8.191, accuracy=0.733/0.711 (0/3 secs)")
    printer("Model m test report: accuracy = 0.961, precision=0.928, recall=0.628, f1=0.749, (1 secs)")
    printer("Model m train ended in 4 secs:")
    printer.phase = "autoencode"
    printer("Model m train ended in 5 secs:")
    printer("something else")
    assert lines == ["    Epoch 2: cost=8.191, accuracy=0.733/0.711 (0/3 secs)",
                     "Model m test report: accuracy = 0.961, (1 secs)", "",
                     "Model m train ended in 4 secs:", "Model m autoencode ended in 5 secs:", "something else"]
    lines, printer = _printed()
    printer("Epoch 20: discriminator loss=0.509, generator loss=0.994, accuracy=0.500/0.389, validation "
            "0.479/0.042 (discriminator/generator) (9/9 secs)")
    printer("Model g test report: accuracy = 0.917/0.000 (discriminator/generator), loss = 0.697/0.729")
    assert lines == ["    Epoch 20: cost=0.509/0.994 acc=0.500/0.389 (9/9 secs)",
                     "Model g test report: accuracy = 0.917/0.000", ""]
    lines, printer = _printed("chapter")
    printer("Epoch 10: loss=7.135, accuracy=0.809/0.810 (0/0 secs)")
    printer("Model abalone train ended in 0 secs:")
    assert lines == ["Epoch 10: loss=7.135, accuracy=0.809/0.810"]


def _macros():
    for name, spec in load_macro_file("book9").items():
        book.CnnExtModel.set_macro(name, spec)


def test_structure_dump_numbers_layers_under_their_macros(monkeypatch):
    """The book's residual_flower dump: numbered layers, 'custom NAME' and composite lines,
    the output layer unindented, then the total."""
    monkeypatch.setattr(book.CnnExtModel, "macros", {})
    _macros()
    lines, printer = _printed()
    data = book.DummyDataset("flowers", "select", [64, 64, 3], 5)
    model = book.CnnExtModel("residual_flower", data, ["custom", {"name": "residual_flower", "args": {"#act": "LAB"}}],
                             printer=printer)
    dump = dump_structure(model, printer)
    assert dump[:4] == ["custom residual_flower", "  serial",
                        "    1: conv, [64, 64, 3]=>[32, 32, 16] pm:7x7x3x16+16=2368",
                        "    2: max, [32, 32, 16]=>[16, 16, 16]"]
    assert "    custom rfull" in dump and "        loop" in dump and "          custom rf" in dump
    assert dump[-2:] == ["18: full, [1, 1, 64]=>[5] pm:64x5+5=325", "Total parameter count: 173637"]
    numbers = [int(m.group(1)) for line in dump if (m := re.match(r"\s*(\d+): ", line))]
    assert numbers == list(range(1, 19))
    assert lines == dump


def test_gan_dump_numbers_through_both_parts(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("ALZZA_DATA", str(tmp_path))
    (tmp_path / "pictures").mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(
        tmp_path / "pictures" / "gogh.jpg")
    lines, printer = _printed()
    conf = {"seed_shape": [16], "generator": [["full", {"width": 64}], ["full", {"width": 3072, "actfunc": "sigmoid"}]],
            "discriminor": [["full", {"width": 64}], ["full", {"width": 1, "actfunc": "none"}]]}
    book.Gan("g", book.GanDatasetPicture("gogh.jpg"), conf, dump_structure=True, printer=printer)
    assert lines == ["1: full, [16]=>[64] pm:16x64+64=1088", "2: full, [64]=>[3072] pm:64x3072+3072=199680",
                     "3: full, [3072]=>[64] pm:3072x64+64=196672", "4: full, [64]=>[1] pm:64x1+1=65",
                     "Total parameter count: 397505"]


def test_alzza_run_lang_ko_prints_the_books_forms(tabular_data_dir, tmp_path, capsys):
    args = ["run", "steel-ch5", "--data-dir", str(tabular_data_dir), "--epochs", "2", "--report", "1",
            "--no-progress"]
    assert main(args + ["--out", str(tmp_path / "en")]) == 0
    english = capsys.readouterr().out.splitlines()
    assert main(args + ["--out", str(tmp_path / "ko"), "--lang", "ko"]) == 0
    korean = capsys.readouterr().out.splitlines()
    assert any(line.startswith("Epoch 1: loss=") for line in english) and not any("추정" in line for line in english)
    assert "Model steel-ch5 train started:" in korean
    assert any(re.fullmatch(r"    Epoch 2: cost=\d+\.\d{3}, accuracy=\d\.\d{3}/\d\.\d{3} \(\d+/\d+ secs\)", line)
               for line in korean)
    assert any(re.fullmatch(r"추정확률분포 \[( ?\d{1,3},){6} ?\d{1,3}\] => 추정 \S+ : 정답 \S+ => [OX]", line)
               for line in korean)
    assert (tmp_path / "ko" / "result.json").is_file()
    # the book's test line, then a blank line (its print ends in "\n")
    test = next(i for i, line in enumerate(korean) if line.startswith("Model steel-ch5 test report: "))
    assert re.fullmatch(r"Model steel-ch5 test report: accuracy = \d\.\d{3}, \(\d+ secs\)", korean[test])
    assert korean[test + 1] == "" and "Model steel-ch5 Visualization" in korean[test + 2:]


def test_automata_lines_say_valid_or_not_in_the_books_words():
    lines, printer = _printed()
    model = book.RnnBasicModel("am", book.AutomataDataset(train_count=40, test_count=20, validate_count=10),
                               ["rnn", {"recur_size": 4, "outseq": False}], printer=printer)
    model.visualize(3)
    assert lines[0] == "Model am Visualization" and len(lines) == 4
    for line in lines[1:]:
        assert re.fullmatch(r"\S+: (올바른|잘못된) 패턴 => (합격|탈락)추정\(\d\.\d\d\) : [OX]", line), line


def test_sequence_lines_of_chapters_11_12_and_14():
    from types import SimpleNamespace as NS

    from alzza.book.printed_forms import sequence_lines
    from alzza.sequences import Sequences

    eye = np.eye(4)
    urban = NS(name="fsdd-standin-for-urban-sound", target_names=["siren", "drill", "dog", "jackhammer"])
    est, ans = eye[[0, 1]], eye[[0, 3]]
    x = Sequences(np.zeros((2, 3, 5)), np.array([3, 2]))
    assert sequence_lines(urban, NS(mode="select"), x, est, ans) == ["siren: correct", "drill: wrong(jackhammer)"]
    video = NS(name="videoshot-standin", target_names=None)
    steps = np.array([[[0.1], [0.49], [0.78], [0.82], [0.3]]])
    truth = np.array([[[0.0], [0.0], [1.0], [1.0], [0.0]]])
    assert sequence_lines(video, NS(mode="seqbinary"), x, Sequences(steps, np.array([5])), truth) == [
        "Est: 0.49,0.78,0.82,0.30", "Ans: 0.00,1.00,1.00,0.00"]  # the steps after the first, as the book
    eng = NS(name="mnist-eng", target_names=["#", "f", "o", "u", "r"])
    word = np.eye(5)[[1, 2, 3, 4, 0, 0]][None]           # "four##"
    guess = np.eye(5)[[1, 2, 2, 4, 0, 0]][None]          # "foor##"
    codes = np.eye(10)[[4]]
    assert sequence_lines(eng, NS(mode="seqselect"), np.zeros((1, 784)), guess, word, codes=codes) == [
        "four## : foor##(code: 4)"]
    assert sequence_lines(NS(name="steel", target_names=None), NS(mode="select"), x, est, ans) is None
