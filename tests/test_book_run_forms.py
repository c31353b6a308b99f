"""``alzza run NAME --lang ko`` prints in the form of the row's own chapter, and the
runner's own lines in Korean (book/run_forms.py).

The book's forms read from its saved outputs:
chap01/abalone_test.ipynb cell 1 — ``Epoch 1: loss=33.875, accuracy=0.557/0.812``, a
blank line, ``Final Test: final accuracy = 0.810`` (no "train started", no indent, no secs);
chap02/pulsar_test.ipynb cell 1 — the same form for chapter 2;
chap05/mlp_model_test.ipynb — ``    Epoch N: cost=…`` inside "train started/ended" (kept for chapter 5 rows).
"""

from __future__ import annotations

import re

import pytest

from alzza.book.run_forms import korean_line
from alzza.cli import main

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
    assert lines[0].startswith(f"== {name} ({chapter}장): ")


@pytest.mark.parametrize("name", ["abalone-slp", "steel-ch5"])
def test_no_english_runner_lines_in_korean(name, tabular_data_dir, tmp_path, capsys):
    lines = korean_run(name, tabular_data_dir, tmp_path / "o", capsys)
    assert not [line for line in lines if line.startswith(ENGLISH) and not line.startswith("== ")]
    assert re.match(rf"== {name} \(\d+장\): ", lines[0])  # the row's title stays as the row gives it
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
