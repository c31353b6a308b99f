"""``alzza run NAME --lang ko`` prints in the form of the row's own chapter, and the
runner's own lines in Korean (book/run_forms.py).

The book's forms read from its saved outputs:
chap01/abalone_test.ipynb cell 1 — ``Epoch 1: loss=33.875, accuracy=0.557/0.812``, a
blank line, ``Final Test: final accuracy = 0.810`` (no "train started", no indent, no secs);
chap02/pulsar_test.ipynb cell 1 — the same form for chapter 2;
chap05/mlp_model_test.ipynb — ``    Epoch N: cost=…`` inside "train started/ended" (kept for chapter 5 rows).
Chapters 1–4's notebooks print no visualisation; from chapter 5 on "Model NAME Visualization"
heads it. Around those forms a Korean run prints no English (the heading, the data set, the
data sets' notes, the comparison, the files written).
"""

from __future__ import annotations

import re

import pytest
from _family_data import tiny_data_dir

from alzza.book.run_forms import korean_heading, korean_line
from alzza.cli import main
from alzza.experiments.catalogue import list_experiments

N = r"-?\d+\.\d{3}"
#: the English lines alzza's runner prints around a report
ENGLISH = ("== ", "dataset ", "Result of ", "Wrote ", "warning:", "  accuracy", "  train time")


def korean_run(name, data_dir, out, capsys):
    args = ["run", name, "--data-dir", str(data_dir), "--epochs", "2", "--report", "1", "--no-progress",
            "--out", str(out), "--lang", "ko"]
    assert main(args) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("name, chapter", [("abalone-slp", 1), ("pulsar-slp", 2), ("steel-slp", 3)])
def test_chapters_1_to_3_rows_print_their_own_chapters_form(name, chapter, tabular_data_dir, tmp_path, capsys):
    lines = korean_run(name, tabular_data_dir, tmp_path / "o", capsys)
    epochs = [line for line in lines if "Epoch" in line]
    assert len(epochs) == 2
    assert all(re.fullmatch(rf"Epoch \d+: loss={N}, accuracy={N}/{N}", line) for line in epochs), epochs
    final = next(i for i, line in enumerate(lines) if line.startswith("Final Test: "))
    assert re.fullmatch(rf"Final Test: final accuracy = {N}", lines[final]) and lines[final - 1] == ""
    assert not any("train started" in line or "test report" in line or "cost=" in line for line in lines)
    assert re.fullmatch(rf"== {name} \({chapter}장, \w+ 셀 \d+\)", lines[0])


@pytest.mark.parametrize("name", ["abalone-slp", "steel-ch5"])
def test_no_english_runner_lines_in_korean(name, tabular_data_dir, tmp_path, capsys):
    lines = korean_run(name, tabular_data_dir, tmp_path / "o", capsys)
    assert not [line for line in lines if line.startswith(ENGLISH) and not line.startswith("== ")]
    assert re.fullmatch(rf"== {name} \(\d+장, \w+ 셀 \d+\)", lines[0])  # the book's cell, not the English title
    assert any(line.startswith("데이터셋 ") for line in lines)
    assert any(line == f"{name}의 평가 데이터 결과:" for line in lines)
    assert any(re.fullmatch(rf"  정확도\s+알짜 {N}\s+책 ({N}|—)", line) for line in lines)
    assert any(line.startswith("파일 기록 ") and " and " not in line for line in lines)


def test_pulsar_labels_are_the_books_words(tabular_data_dir, tmp_path, capsys):
    lines = korean_run("pulsar-ch5", tabular_data_dir, tmp_path / "o", capsys)
    shown = [line for line in lines if "=> 추정 " in line]
    assert shown
    for line in shown:  # chap05/mlp_model_test: "추정 별(확률 0.00) : 정답 별 => O"
        match = re.search(r"추정 (\S+)\(확률 \d\.\d\d\) : 정답 (\S+) => [OX]$", line)
        assert match and {match[1], match[2]} <= {"별", "펄서"}, line


def test_the_divergence_warning_in_korean():
    line = ("warning: training diverged (mean loss 1.2e+08 in the last epoch, 1.3e+08 in the first); the results "
            "are not meaningful. Try a lower learning rate or standardised inputs.")
    assert korean_line(line).startswith("경고: 학습이 발산했습니다 (마지막 에폭의 평균 손실 1.2e+08, 첫 에폭 1.3e+08)")
    assert korean_line("Epoch 1: loss=1.000, accuracy=0.5/0.5") == "Epoch 1: loss=1.000, accuracy=0.5/0.5"


@pytest.mark.parametrize("name, book_line", [
    # chap04/mlp_test.ipynb: cell 0 set_hidden([]), cell 1 set_hidden(4), cell 4 set_hidden([6]),
    # cell 5 set_hidden([12,6]), cell 6 set_hidden(10) — each cell's first printed line
    ("abalone-mlp-none", "은닉 계층 0개를 갖는 다층 퍼셉트론이 작동되었습니다."),
    ("abalone-mlp-4", "은닉 계층 하나를 갖는 다층 퍼셉트론이 작동되었습니다."),
    ("pulsar-mlp-6", "은닉 계층 1개를 갖는 다층 퍼셉트론이 작동되었습니다."),
    ("pulsar-mlp-12-6", "은닉 계층 2개를 갖는 다층 퍼셉트론이 작동되었습니다."),
    ("steel-mlp-10", "은닉 계층 하나를 갖는 다층 퍼셉트론이 작동되었습니다."),
])
def test_chapter_4_rows_open_with_the_books_sentence(name, book_line, tabular_data_dir, tmp_path, capsys):
    lines = korean_run(name, tabular_data_dir, tmp_path / "o", capsys)
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("Epoch "))
    assert lines[first_epoch - 1] == book_line
    assert lines.count(book_line) == 1


# --------------------------------------------------------------------------- no English around the book's forms
#: the English of the book's own printed forms (its notebooks' outputs, chapters 1–15): the epoch,
#: test and train lines, "Model NAME Visualization" (chapter 5 on), chapter 12's Est/Ans,
#: chapter 13's "vs.", chapter 14's "(code: n)" — whole forms, so that a word of them elsewhere is caught
BOOK_FORMS = re.compile(r"Epoch \d+: (?:loss|cost)=\S+,? (?:accuracy|acc)=\S+|Final Test: final accuracy = "
                        r"|Model \S+ (?:train|autoencode) (?:started:|ended in \d+ secs:)"
                        r"|Model \S+ test report: accuracy = \S+|\(\d+(?:/\d+)? secs\)"
                        r"|^Model \S+ Visualization$|^(?:Est|Ans): |  vs\.  |\(code: \d+\)")
#: names, not words: the data sets the notes name
PROPER_NAMES = {"MNIST", "FSDD"}
#: what a line names rather than says: paths, file names, the classes after 추정/정답, a note's source,
#: the book's notebook in the heading ("abalone_test 셀 1"), a data set's name ("office31-standin")
NAMED = re.compile(r"\S*/\S*|\S+\.(?:json|csv|html|png|npz|txt|mp4)\b|(?:추정|정답) [^\s(]+|^[\w-]+: |\w+ 셀"
                   r"|\w+(?:-\w+)+")


def english_words(line: str, names=()) -> list[str]:
    """The English words of ``line`` outside the book's forms and names."""
    line = BOOK_FORMS.sub(" ", line)
    for name in names:
        line = line.replace(name, " ")
    words = re.findall(r"[A-Za-z]{2,}|(?<=\d )s\b", NAMED.sub(" ", line))  # "s": seconds, "0.4 s"
    return [word for word in words if word not in PROPER_NAMES]


def foreign_lines(lines, name) -> list[str]:
    dataset = next(re.match(r"데이터셋 ([^(:]+)", line)[1] for line in lines if line.startswith("데이터셋 "))
    return [line for line in lines if english_words(line, (name, dataset))]


def smoke_run(name, data_dir, out, capsys):
    args = ["run", name, "--data-dir", str(data_dir), "--epochs", "1", "--max-batches", "2", "--report", "1",
            "--no-progress", "--out", str(out), "--lang", "ko"]
    assert main(args) == 0
    return capsys.readouterr().out.splitlines()


def test_english_words_are_found():  # the check below can fail: alzza's English lines are caught
    for line in ["== abalone-slp (chapter 1): abalone, single-layer perceptron",
                 "데이터셋 abalone(regression, 3340+837+837): 학습 3340개",
                 "office31-or-standin: /d/office31 not found; using the stand-in built from the flower photos (x)",
                 "파일 기록 /tmp/o/: model.npz (test accuracy 0.084)", "  학습 시간: 알짜 0.0 s, 책 2 s"]:
        assert english_words(line, ("abalone-slp",)), line
    assert not english_words("Model steel-ch5 test report: accuracy = 0.214, (0 secs)", ("steel-ch5",))
    assert not english_words("추정확률분포 [ 9,10] => 추정 Other_Faults : 정답 Bumps => X")


@pytest.mark.parametrize("name, chapter", [("abalone-slp", 1), ("pulsar-slp-f1", 2), ("steel-mlp-10", 4),
                                           ("steel-ch5", 5), ("pulsar-std-early", 5)])
def test_no_english_outside_the_books_forms(name, chapter, tabular_data_dir, tmp_path, capsys):
    lines = smoke_run(name, tabular_data_dir, tmp_path / "o", capsys)
    assert not foreign_lines(lines, name)
    # chap01/abalone_test … chap04/mlp_test print no visualisation; chapter 5 on print the book's block
    shown = [line for line in lines if line.startswith("Model ") and line.endswith(" Visualization")]
    assert shown == ([] if chapter <= 4 else [f"Model {name} Visualization"])
    assert len((tmp_path / "o" / "visualize.txt").read_text(encoding="utf-8").splitlines()) == 3  # still written


def test_the_families_print_no_english_outside_the_books_forms(tmp_path, capsys):
    data_dir = tiny_data_dir(tmp_path / "data")  # its own folder: the MNIST note is said once per folder
    said = {name: smoke_run(name, data_dir, tmp_path / name, capsys) for name in ("mnist-autoencoder", "gan-gogh")}
    for name, lines in said.items():
        assert not foreign_lines(lines, name), name
    # the data set's note (only the t10k file is here), in Korean
    assert any(line.startswith("mnist: ") and "평가(t10k) 파일만" in line for line in said["mnist-autoencoder"])
    assert any(line.endswith("(판별기/생성기)") for line in said["gan-gogh"])


def test_the_heading_names_the_books_cell():
    heading = {exp.name: korean_heading(exp) for exp in list_experiments()}
    assert heading["abalone-slp"] == "== abalone-slp (1장, abalone_test 셀 1)"
    assert heading["steel-std"] == "== steel-std (5장, mlp_model_test 셀 4의 변형)"  # an alzza variant of the cell
    assert heading["automata-transformer"] == "== automata-transformer (16장)"  # beyond the book: no cell


class Said(Exception):
    """Raised by a printer once the data set has said which data it reads (nothing is loaded)."""


def first_note(make, tmp_path, **options) -> str:
    said = []

    def printer(line):
        said.append(line)
        raise Said

    with pytest.raises(Said):
        make(data_dir=tmp_path, printer=printer, **options)
    return said[0]


def test_the_data_sets_notes_in_korean(tmp_path):
    from alzza.data.sets.audio import urban_sound_or_fsdd
    from alzza.data.sets.images import office31_or_standin
    from alzza.data.sets.videoshot import make_videoshot_or_standin

    notes = [first_note(office31_or_standin, tmp_path), first_note(urban_sound_or_fsdd, tmp_path),
             first_note(make_videoshot_or_standin, tmp_path),
             first_note(make_videoshot_or_standin, tmp_path, file=str(tmp_path / "movie.mp4"))]
    for english in notes:
        korean = korean_line(english)
        assert english_words(english) and not english_words(korean), (english, korean)
        assert korean.split(":")[0] == english.split(":")[0]  # the data set's name stays as it was


def test_the_font_notice_is_korean_within_a_korean_run(tabular_data_dir, tmp_path, monkeypatch):
    from alzza.experiments.runner import run_experiment
    from alzza.viz import hangul

    monkeypatch.setattr(hangul, "hangul_font_files", lambda: [])  # no Hangul font: captions are romanised
    said = []

    def printer(line="", *more, **options):
        said.append(hangul.romanised_notice())

    run_experiment("abalone-slp", epochs=1, max_batches=2, data_dir=tabular_data_dir, out=tmp_path / "o",
                   printer=printer, progress=False, lang="ko")
    assert said and all(note.startswith("알림: 한글 글꼴이 없어") for note in said)
    assert hangul.romanised_notice().startswith("note: ")  # after the run: English again
