"""``alzza run NAME --lang ko``: the runner's own English lines in Korean.

The runner (experiments/runner.py) prints a heading, the data set, the comparison with the
book, the divergence warning and the files it wrote; :class:`KoreanRunLines` rewrites
those lines, and hands every other line on unchanged (the model's lines are already in the
book's forms through :class:`~alzza.book.printed_forms.BookPrinter`):

    == abalone-slp (1장): abalone, single-layer perceptron
    데이터셋 abalone(regression, ...): 학습 3340개 / 검증 837개 / 평가 837개  (읽기 0.0초)
    abalone-slp의 평가 데이터 결과:
      정확도     알짜 0.815          책 0.810
      학습 시간: 알짜 0.0 s, 책 —
    파일 기록 /tmp/o/: result.json, history.csv, ...
"""

from __future__ import annotations

import re

#: chapters whose notebooks print the plain ``Epoch N: loss=…`` form and ``Final Test:`` (1–4)
CHAPTER_FORM = (1, 2, 3, 4)

#: chap04/mlp_test's cells that call set_hidden with an int (the sentence then says "하나", cells 1–3 and 6);
#: its other cells pass a list and say how many ("1개", cell 4)
INT_HIDDEN_CELLS = {"chap04/mlp_test#1", "chap04/mlp_test#2", "chap04/mlp_test#3", "chap04/mlp_test#6"}

METRIC_NAMES = {"accuracy": "정확도", "precision": "정밀도", "recall": "재현율", "f1": "F1"}

HEADING = re.compile(r"^== (\S+) \(chapter (\d+)\): (.*)$")
DATASET = re.compile(r"^dataset (.+): (\d+) train / (\d+) validate / (\d+) test  \(loaded in (\S+) s\)$")
RESULT = re.compile(r"^Result of (\S+) on the test split:$")
COMPARED = re.compile(r"^  (\S+)(\s+)ours (\S+)(\s+)book (.*)$")
TIME = re.compile(r"^  train time: ours (.*), book (.*)$")
DIVERGED = re.compile(r"^warning: training diverged \(mean loss (\S+) in the last epoch, (\S+) in the first\)")
WROTE = re.compile(r"^Wrote (.+?): (.*)$")


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
    if m := HEADING.match(text):
        return f"== {m[1]} ({m[2]}장): {m[3]}"
    if m := DATASET.match(text):
        return f"데이터셋 {m[1]}: 학습 {m[2]}개 / 검증 {m[3]}개 / 평가 {m[4]}개  (읽기 {m[5]}초)"
    if m := RESULT.match(text):
        return f"{m[1]}의 평가 데이터 결과:"
    if m := COMPARED.match(text):
        name = METRIC_NAMES.get(m[1], m[1])
        return f"  {name:<8} 알짜 {m[3]:<14} 책 {m[5]}"
    if m := TIME.match(text):
        return f"  학습 시간: 알짜 {m[1]}, 책 {m[2].removeprefix('book ')}"
    if m := DIVERGED.match(text):
        return (f"경고: 학습이 발산했습니다 (마지막 에폭의 평균 손실 {m[1]}, 첫 에폭 {m[2]}). 결과에 의미가 없으니 "
                "학습률을 낮추거나 입력을 표준화해 보세요.")
    if m := WROTE.match(text):
        return f"파일 기록 {m[1]}: {m[2].replace(' and ', ', ')}"
    return text


class KoreanRunLines:
    """A printer: the runner's English lines in Korean, then on to ``out``."""

    def __init__(self, out=print):
        self.out = out

    def __call__(self, line="", *more, **options):
        self.out(korean_line(str(line)), *more, **options)
