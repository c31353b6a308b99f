"""``alzza run NAME --lang ko``: the runner's own English lines in Korean.

The runner (experiments/runner.py) prints a heading, the data set, the comparison with the
book, the divergence warning and the files it wrote; :class:`KoreanRunLines` rewrites
those lines (and the data sets' and the training loop's notes, :mod:`alzza.book.notice_forms`),
and hands every other line on unchanged (the model's lines are already in the
book's forms through :class:`~alzza.book.printed_forms.BookPrinter`):

    == abalone-slp (1장, abalone_test 셀 1)
    데이터셋 abalone(회귀 분석): 학습 3340개 / 검증 837개 / 평가 837개  (읽기 0.0초)
    abalone-slp의 평가 데이터 결과:
      정확도     알짜 0.815          책 0.810
      학습 시간: 알짜 0.0초, 책 —
    파일 기록 /tmp/o/: result.json, history.csv, ...

No English is left around the book's own forms: the heading names the book's cell, not the
row's English title (``alzza list`` shows that), and the data set's kind is the book's word.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys

from .notice_forms import notice_line

#: chapters whose notebooks print the plain ``Epoch N: loss=…`` form and ``Final Test:`` (1–4)
CHAPTER_FORM = (1, 2, 3, 4)

#: chap04/mlp_test's cells that call set_hidden with an int (the sentence then says "하나", cells 1–3 and 6);
#: its other cells pass a list and say how many ("1개", cell 4)
INT_HIDDEN_CELLS = {"chap04/mlp_test#1", "chap04/mlp_test#2", "chap04/mlp_test#3", "chap04/mlp_test#6"}

METRIC_NAMES = {"accuracy": "정확도", "precision": "정밀도", "recall": "재현율", "f1": "F1"}
#: a data set's kind in the book's words (chapters 1–3 are named after them); other kinds are left out
KIND_NAMES = {"regression": "회귀 분석", "binary": "이진 판단", "select": "선택 분류", "multi-select": "복수 선택 분류",
              "seqbinary": "시계열 이진 판단", "seqselect": "시계열 선택 분류"}

HEADING = re.compile(r"^== (\S+) \(chapter (\d+)\): (.*)$")
DATASET = re.compile(r"^dataset (.+): (\d+) train / (\d+) validate / (\d+) test  \(loaded in (\S+) s\)$")
#: a data set's own text, ``name(mode, 3340+837+837)`` (data/dataset.py)
DATASET_TEXT = re.compile(r"^(\S+?)\((\S+), \d+\+\d+\+\d+\)$")
RESULT = re.compile(r"^Result of (\S+) on the test split:$")
COMPARED = re.compile(r"^  (\S+)(\s+)ours (\S+)(\s+)book (.*)$")
TIME = re.compile(r"^  train time: ours (.*), book (.*)$")
DIVERGED = re.compile(r"^warning: training diverged \(mean loss (\S+) in the last epoch, (\S+) in the first\)")
WROTE = re.compile(r"^Wrote (.+?): (.*?)(?: \(test accuracy (\S+)\))?$")
RESUMING = re.compile(r"^Resuming from (.+): (?:stage (\S+), )?epoch (\d+) done(?:, training to (\d+))?$")
INTERRUPTED = re.compile(r"^Interrupted\. Continue from the last checkpoint with: (.+)$")
WEIGHTS = re.compile(r"^Weights \(near zero: \|w\| < (\S+)\):$")
WEIGHT_ROW = re.compile(r"^  (\S+)(\s+)mean (\S+)  std (\S+)  near zero (.*)$")


def korean_heading(exp) -> str:
    """``== NAME (N장, NOTEBOOK 셀 K)``: the book's cell the row reproduces (``(N장)`` alone for
    a row without one); a variant says it changes that cell (``… 셀 K의 변형``)."""
    if not exp.book_cell:
        return f"== {exp.name} ({exp.chapter}장)"
    notebook, _, cell = exp.book_cell.partition("#")
    where = f"{notebook.rpartition('/')[2]} 셀 {cell}" if cell else notebook.rpartition("/")[2]
    return f"== {exp.name} ({exp.chapter}장, {where}{'의 변형' if exp.variant else ''})"


def korean_dataset(text: str) -> str:
    """``abalone(회귀 분석)`` for ``abalone(regression, 3340+837+837)``: the counts follow on
    the line in Korean, the kind in the book's words (left out where the book has none)."""
    m = DATASET_TEXT.match(text)
    if not m:
        return text
    kind = KIND_NAMES.get(m[2])
    return f"{m[1]}({kind})" if kind else m[1]


def seconds(text: str) -> str:
    """``0.4 s`` → ``0.4초`` (also ``387–1569 s``); ``—`` as it is."""
    return re.sub(r" s$", "초", text.strip())


def chapter_preamble(exp) -> str | None:
    """Chapter 4's first line, ``은닉 계층 N개를 갖는 다층 퍼셉트론이 작동되었습니다.``
    (chap04/mlp_test, every cell), for a chapter 4 row; None for other chapters."""
    if exp.chapter != 4:
        return None
    hidden = [item for item in (exp.layers or []) if isinstance(item, int)]  # widths, not the variant's norms
    count = "하나" if exp.book_cell in INT_HIDDEN_CELLS and len(hidden) == 1 else f"{len(hidden)}개"
    return f"은닉 계층 {count}를 갖는 다층 퍼셉트론이 작동되었습니다."


def korean_line(text: str) -> str:
    """One runner line in Korean (other lines as they are)."""
    if m := HEADING.match(text):  # the runner says korean_heading(exp) itself; a bare line loses its title
        return f"== {m[1]} ({m[2]}장)"
    if m := DATASET.match(text):
        return (f"데이터셋 {korean_dataset(m[1])}: 학습 {m[2]}개 / 검증 {m[3]}개 / 평가 {m[4]}개  "
                f"(읽기 {m[5]}초)")
    if m := RESULT.match(text):
        return f"{m[1]}의 평가 데이터 결과:"
    if m := COMPARED.match(text):
        name = METRIC_NAMES.get(m[1], m[1])
        return f"  {name:<8} 알짜 {m[3]:<14} 책 {m[5].replace('(discriminator/generator)', '(판별기/생성기)')}"
    if m := TIME.match(text):
        return f"  학습 시간: 알짜 {seconds(m[1])}, 책 {seconds(m[2].removeprefix('book '))}"
    if m := DIVERGED.match(text):
        return (f"경고: 학습이 발산했습니다 (마지막 에폭의 평균 손실 {m[1]}, 첫 에폭 {m[2]}). 결과에 의미가 없으니 "
                "학습률을 낮추거나 입력을 표준화해 보세요.")
    if m := WROTE.match(text):
        files = m[2].replace(" and ", ", ")
        return f"파일 기록 {m[1]}: {files}" + (f" (평가 정확도 {m[3]})" if m[3] else "")
    if m := RESUMING.match(text):
        stage = f"{m[2]} 단계 " if m[2] else ""
        until = f", 에폭 {m[4]}까지 학습합니다" if m[4] else ""
        return f"{m[1]}에서 이어 갑니다: {stage}에폭 {m[3]}까지 끝남{until}"
    if m := INTERRUPTED.match(text):
        return f"중단되었습니다. 마지막 체크포인트에서 이어 가려면: {m[1]}"
    if m := WEIGHTS.match(text):
        return f"가중치 (0에 가까운 값: |w| < {m[1]}):"
    if m := WEIGHT_ROW.match(text):
        return f"  {m[1]}{m[2]}평균 {m[3]}  표준편차 {m[4]}  0에 가까운 값 {m[5]}"
    return notice_line(text)


class KoreanRunLines:
    """A printer: the runner's English lines in Korean, then on to ``out``."""

    def __init__(self, out=print):
        self.out = out

    def __call__(self, line="", *more, **options):
        self.out(korean_line(str(line)), *more, **options)


class _LineWriter(io.TextIOBase):
    """A text stream that hands each whole line written to it to ``printer``, which writes
    to ``stream`` (the stdout this one stands in for: a printer that ``print``-s must not
    come back here)."""

    def __init__(self, printer, stream):
        self.printer, self.stream, self.pending = printer, stream, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        with contextlib.redirect_stdout(self.stream):
            for line in lines:
                self.printer(line)
        return len(text)

    def flush(self) -> None:  # a partial line stays until its end comes (or the block ends)
        pass


@contextlib.contextmanager
def printed_through(printer):
    """Within the block, what is ``print``-ed to stdout goes through ``printer`` line by line.

    The data sets say which data they read with ``print`` (they know no run's printer);
    under ``--lang ko`` those notes must be Korean too, so the runner loads the data set in
    this block with :class:`KoreanRunLines` as ``printer``."""
    writer = _LineWriter(printer, sys.stdout)
    try:
        with contextlib.redirect_stdout(writer):
            yield
    finally:
        if writer.pending:
            printer(writer.pending)
