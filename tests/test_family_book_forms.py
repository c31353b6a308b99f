"""``alzza run --lang ko`` for the model families (chapters 13–15): the book's printed
forms line for line (the kinds of line, in order, as its notebooks print them), the
same numbers as the English run, and the English report as it was."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _family_data import tiny_data_dir

from alzza.cli import main
from alzza.experiments.catalogue import list_experiments

#: the kinds of line the book prints (the rest are alzza's English ones)
BOOK_KINDS = {"autoencode started", "autoencode ended", "started", "epoch", "gan epoch", "ended", "test", "gan test",
              "blank", "visualization", "digits", "caption", "korean caption"}

N = r"-?\d+\.\d{3}"  # a number as the book prints it (5.3f)
ACC = rf"{N}(?:\+{N})*"  # one head's accuracy, or "a+b" for two
SECS = r"\(\d+/\d+ secs\)"


def kinds(name):
    """Every kind of line the reports print, book's and alzza's, as (kind, regex)."""
    m = re.escape(name)
    return [
        # the book's (chapters 13-15 notebooks)
        ("autoencode started", rf"Model {m} autoencode started:"),
        ("autoencode ended", rf"Model {m} autoencode ended in \d+ secs:"),
        ("started", rf"Model {m} train started:"),
        ("epoch", rf"    Epoch \d+: cost={N}, accuracy={ACC}/{ACC} {SECS}"),
        ("gan epoch", rf"    Epoch \d+: cost={N}/{N} acc={N}/{N} {SECS}"),
        ("ended", rf"Model {m} train ended in \d+ secs:"),
        # chapter 14's test line names the data set (mnist_eng / mnist_kor), the others the model
        ("test", rf"Model (?:{m}|mnist_eng|mnist_kor) test report: accuracy = {ACC}, \(\d+ secs\)"),
        ("gan test", rf"Model {m} test report: accuracy = {N}/{N}, \(\d+ secs\)"),
        ("blank", r""),
        ("visualization", rf"Model {m} Visualization"),
        ("digits", r"정답 \[\d( \d)*\]  vs\.  추정 \[\d( \d)*\]"),
        ("caption", r"[a-z#]+ : [a-z#]+\(code: \d\)"),
        ("korean caption", r"[가-힣#]+ : [가-힣#]+"),
        # alzza's own (--lang en)
        ("en mode", rf"Model {m}: training mode '(encoder|decoder|both)'"),
        ("en epoch", rf"Epoch \d+: loss={N}, (accuracy|reconstruction score \(1-RMSE/mean\))={ACC}/{ACC} {SECS}"),
        ("en gan epoch", rf"Epoch \d+: discriminator loss={N}, generator loss={N}, accuracy={N}/{N}, "
                         rf"validation {N}/{N} \(discriminator/generator\) {SECS}"),
        ("en ended", rf"Model {m} \((autoencode|encoder|decoder)\) train ended in \d+ secs:"),
        ("en test", rf"Model {m}( \((encoder|decoder)\))? test report: accuracy = {ACC}"
                    rf"(, reconstruction loss = {N} \(reconstruction score \(1-RMSE/mean\) {N}\))?"),
        ("en gan test", rf"Model {m} test report: accuracy = {N}/{N} \(discriminator/generator\), loss = {N}/{N}"),
        ("en visualization", rf"Model {m} Visualization \(both\)"),
        ("en estimate", r"image 28×28 => estimate \S*( ?\(\d\.\d\d\))? : answer \S+ => [OX]( \(\d+/\d+ steps\))?"),
        ("en hashing", rf"Model {m} semantic hashing: \d+ examples in \d+ buckets of \d+ bits \(largest \d+\)"),
        ("en query", r"query \d+: bucket [01]+ holds \d+; nearest: .*"),
        ("en verdict", r"(real|generated): D says real with p=\d\.\d{3}"),
    ]


def shapes(name, lines):
    """The kind of each report line (between the data set's line and 'Result of'), in order."""
    # --lang ko writes the runner's lines in Korean too (book/run_forms.py)
    start = next(i for i, line in enumerate(lines) if line.startswith(("dataset ", "데이터셋 "))) + 1
    ends = (f"Result of {name} ", f"{name}의 평가 데이터 결과:")
    end = next(i for i, line in enumerate(lines) if line.startswith(ends))
    found = []
    for line in lines[start:end]:
        kind = next((k for k, regex in kinds(name) if re.fullmatch(regex, line)), None)
        assert kind is not None, f"a line of no known form: {line!r}"
        found.append(kind)
    return found


def numbers(lines, prefix):
    """The numbers of the epoch lines (book's or alzza's), the elapsed times left out."""
    # (the GAN's English line also gives the validation pair, which the book's leaves out)
    return [re.findall(r"-?\d+\.\d{3}", re.sub(r"\(\d+/\d+ secs\)|validation \S+", "", line))
            for line in lines if line.lstrip().startswith("Epoch ") and line.startswith(prefix)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tiny_data_dir(tmp_path_factory.mktemp("data"))


def both_languages(name, data_dir, tmp_path, capsys):
    args = ["run", name, "--epochs", "1", "--max-batches", "2", "--data-dir", str(data_dir), "--no-progress"]
    assert main(args + ["--out", str(tmp_path / "en")]) == 0
    english = capsys.readouterr().out.splitlines()
    assert main(args + ["--out", str(tmp_path / "ko"), "--lang", "ko"]) == 0
    korean = capsys.readouterr().out.splitlines()
    # the same run in either language: the numbers of the epoch lines agree
    assert numbers(korean, "    ") == numbers(english, "E") and numbers(english, "E")
    # ... and only the printed report differs: the results and the trained weights are the same
    results = [json.loads((tmp_path / folder / "result.json").read_text(encoding="utf-8")) for folder in ("en", "ko")]
    assert results[0]["metrics"] == results[1]["metrics"] and results[0]["parameters"] == results[1]["parameters"]
    weights = [np.load(tmp_path / folder / "model.npz") for folder in ("en", "ko")]
    assert sorted(weights[0].files) == sorted(weights[1].files)
    assert all(np.array_equal(weights[0][key], weights[1][key]) for key in weights[0].files)
    return english, korean


def test_autoencoder_with_semantic_hashing_prints_chapter_13s_forms(data_dir, tmp_path, capsys):
    name = "mnist-semantic-hash"
    english, korean = both_languages(name, data_dir, tmp_path, capsys)
    # the book: autoencode block, train block, test line, blank, visualisation; its hashing prints no text
    assert shapes(name, korean) == ["autoencode started", "epoch", "autoencode ended", "started", "epoch", "ended",
                                    "test", "blank", "visualization", "digits"]
    assert shapes(name, english) == ["en epoch", "en ended", "en epoch", "ended", "en test",
                                     "visualization", "en estimate", "en estimate", "en estimate",
                                     "en hashing"] + ["en query"] * 5
    assert (tmp_path / "ko" / "hashing.png").stat().st_size > 1000  # the search still draws its pictures


def test_encoder_decoder_stages_print_chapter_14s_forms(data_dir, tmp_path, capsys):
    name = "mnist-eng-3steps"
    english, korean = both_languages(name, data_dir, tmp_path, capsys)
    # the book: one started/ended block per stage (encoder, decoder, both), one test, the captions
    assert shapes(name, korean) == ["started", "epoch", "ended"] * 3 + ["test", "blank", "visualization"] \
        + ["caption"] * 3
    assert shapes(name, english) == ["en mode", "en epoch", "en ended", "en test"] * 2 \
        + ["en mode", "en epoch", "ended", "en test", "en visualization"] + ["en estimate"] * 3
    # the encoder's stage has one head's accuracy, the decoder's two (the book's 0.903/0.940 and a+b/c+d)
    epochs = [line for line in korean if line.startswith("    Epoch ")]
    assert "+" not in epochs[0] and epochs[1].count("+") == 2


def test_gan_prints_chapter_15s_forms(data_dir, tmp_path, capsys):
    name = "gan-gogh"
    english, korean = both_languages(name, data_dir, tmp_path, capsys)
    # the book: train block with cost=d/g acc=d/g, the d/g test line, a blank line, pictures only
    assert shapes(name, korean) == ["started", "gan epoch", "ended", "gan test", "blank"]
    assert shapes(name, english) == ["en gan epoch", "ended", "en gan test", "visualization"] \
        + ["en verdict"] * 2
    assert (tmp_path / "ko" / "visualize.png").stat().st_size > 1000


# --------------------------------------------------------------------------- the book's own calls
def book_shapes(name, out):
    """The kinds of the lines from the model's first one on (``from alzza.book import *`` scripts)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"Model {name} "))
    found = []
    for line in lines[start:]:
        kind = next((k for k, regex in kinds(name) if re.fullmatch(regex, line)), None)
        assert kind is not None, f"a line of no known form: {line!r}"
        found.append(kind)
    return found


def run_book(script, data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALZZA_DATA", str(data_dir))
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    namespace: dict = {"__name__": "__book_script__"}
    exec("from alzza.book import *\n" + script, namespace)  # noqa: S102 (the reader's script)
    return capsys.readouterr().out


def test_the_books_autoencoder_cell_prints_its_forms(data_dir, tmp_path, monkeypatch, capsys):
    out = run_book("mset_1p = MnistAutoDataset(train_ratio=0.1)\n"
                   "conf_auto = {'encoder': [['full', {'width':10}]], 'decoder': [['full', {'width':784}]],\n"
                   "             'supervised': [['full', {'width':10}]]}\n"
                   "mnist_auto_1 = Autoencoder('mnist_auto_1', mset_1p, conf_auto)\n"
                   "mnist_auto_1.autoencode(epoch_count=2, report=1)\n"
                   "mnist_auto_1.exec_all(epoch_count=1, report=1)\n"
                   "conf_hash_1 = {'encoder': [['full', {'width':10, 'actfunc':'sigmoid'}]],\n"
                   "               'decoder': [['full', {'width':784}]], 'supervised': []}\n"
                   "mnist_hash_1 = Autoencoder('mnist_hash_1', mset_1p, conf_hash_1)\n"
                   "mnist_hash_1.autoencode(epoch_count=1, report=1)\n"
                   "mnist_hash_1.semantic_hasing_index()\n"
                   "mnist_hash_1.semantic_hasing_search()\n", data_dir, tmp_path, monkeypatch, capsys)
    auto, hashing = out.split("Model mnist_hash_1 autoencode started:")
    assert book_shapes("mnist_auto_1", auto) == ["autoencode started", "epoch", "epoch", "autoencode ended",
                                                 "started", "epoch", "ended", "test", "blank", "visualization",
                                                 "digits"]
    # the book's semantic hashing (index, search) prints no text after the autoencode block
    assert book_shapes("mnist_hash_1", "Model mnist_hash_1 autoencode started:" + hashing) == [
        "autoencode started", "epoch", "autoencode ended"]


def test_the_books_encoder_decoder_cell_prints_its_forms(data_dir, tmp_path, monkeypatch, capsys):
    out = run_book("mnist_eng = MnistEngDataset()\n"
                   "conf_eng1 = {'encoder': [['full', {'width':10}]],\n"
                   "             'decoder': [['lstm', {'recur_size':32, 'inseq':False, 'outseq':True,\n"
                   "                                   'timesteps':6}],\n"
                   "                         ['seqwrap', ['full', {'width':27, 'actfunc':'none'}]]]}\n"
                   "encdec_eng2_3 = EncoderDecoder('encdec_eng2_3', mnist_eng, conf_eng1)\n"
                   "encdec_eng2_3.exec_3_steps(epoch_count=1, report=1)\n", data_dir, tmp_path, monkeypatch, capsys)
    assert book_shapes("encdec_eng2_3", out) == ["started", "epoch", "ended"] * 3 + ["test", "blank",
                                                                                    "visualization"] + ["caption"] * 3
    # encoder_decoder_test#5: "Model mnist_eng test report: accuracy = ..." (the data set's name)
    assert re.search(r"^Model mnist_eng test report: accuracy = ", out, re.M)


def test_the_books_gan_cell_prints_its_forms(data_dir, tmp_path, monkeypatch, capsys):
    out = run_book("dset_pic_gogh = GanDatasetPicture('gogh.jpg')\n"
                   "conf_pic = {'seed_shape': [16],\n"
                   "    'generator': [['full', {'width': 64}], ['full', {'width': 32*32*3, 'actfunc': 'sigmoid'}]],\n"
                   "    'discriminor': [['full', {'width': 64}], ['full', {'width': 1, 'actfunc': 'none'}]]}\n"
                   "gan_pic_gogh = Gan('gan_pic_gogh', dset_pic_gogh, conf_pic)\n"
                   "gan_pic_gogh.exec_all(epoch_count=2, report=1)\n", data_dir, tmp_path, monkeypatch, capsys)
    assert book_shapes("gan_pic_gogh", out) == ["started", "gan epoch", "gan epoch", "ended", "gan test", "blank"]


@pytest.mark.parametrize("name", [e.name for e in list_experiments() if e.chapter in (13, 14, 15)])
def test_every_chapter_13_to_15_experiment_reports_in_the_books_forms(name, data_dir, tmp_path, capsys):
    args = ["run", name, "--epochs", "1", "--max-batches", "2", "--data-dir", str(data_dir), "--no-progress",
            "--out", str(tmp_path), "--lang", "ko"]
    assert main(args) == 0
    found = shapes(name, capsys.readouterr().out.splitlines())
    assert set(found) <= BOOK_KINDS, found
    # a started line opens every block, an ended line closes it; the test line and its blank line follow them
    assert found.count("started") + found.count("autoencode started") == found.count("ended") + found.count(
        "autoencode ended") >= 1
    test = next(i for i, kind in enumerate(found) if kind in ("test", "gan test"))
    assert found[test + 1] == "blank" and "ended" in found[:test] and "started" not in found[test:]


def test_mnist_kor_shows_one_picture_per_example(data_dir, tmp_path, monkeypatch, capsys):
    """chap14/encoder_decoder_test.ipynb cells 6–8 (mnist_kor): after 'Visualization' each
    example is a picture of its digits (one panel per digit), then its line — three
    pictures for three lines; mnist_eng (cell 2) draws one picture before its lines."""
    import matplotlib.pyplot as plt

    from alzza import book

    monkeypatch.setenv("ALZZA_DATA", str(data_dir))
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(1))
    lines = []
    model = book.EncoderDecoder("encdec_kor2", book.MnistKorDataset(2),
                                {"encoder": [["seqwrap", ["full", {"width": 8}]],
                                             ["lstm", {"recur_size": 8, "outseq": False}]],
                                 "decoder": [["lstm", {"recur_size": 8, "inseq": False, "outseq": True,
                                                        "timesteps": 4}],
                                             ["seqwrap", ["full", {"width": 4, "actfunc": "none"}]]]},
                                printer=lines.append)
    model.set_train_mode("both")
    del lines[:]
    text = model.visualize(3, mode="both")
    assert len(text) == 3 and lines == ["Model encdec_kor2 Visualization", *text]
    assert len(model.example_figures) == 3
    assert all(len(figure.axes) == 2 for figure in model.example_figures)  # two digits, a panel each
