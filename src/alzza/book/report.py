"""The book's printed forms, for reports made through ``alzza.book`` (and ``alzza run --lang ko``).

alzza's own reports are English; the book's readers expect the lines its notebooks
print. The numbers are alzza's, the shapes of the lines are the book's:

    Model NAME train started:
        Epoch 2: cost=8.191, accuracy=0.733/0.711 (0/0 secs)
    Model NAME train ended in 0 secs:
    Model NAME test report: accuracy = 0.727, (0 secs)

    Model NAME Visualization
    [0.00,0.00,1.00,0.70,...] => 추정 12.9 : 정답 10.0                       (regression)
    [121.8, 48.0,  0.2,...] => 추정 별(확률 0.01) : 정답 별 => O            (binary)
    추정확률분포 [ 9,10,17, 8, 7,18,30] => 추정 Other_Faults : 정답 Bumps => X   (select)
    [ 도메인 추정결과 ] / [ 상품 추정결과 ] sections                        (office31)

:class:`BookPrinter` turns the lines alzza's loop and ``test`` print into those forms
(``Epoch ...`` indented with ``cost=``; the test line keeps the accuracy only);
:func:`estimate_lines` writes the visualisation lines from the estimates themselves.
"""

from __future__ import annotations

import re

import numpy as np

from ..sequences import Sequences

#: alzza's epoch line (training.fit) and test line (Model.test)
EPOCH = re.compile(r"^Epoch (\d+): loss=(\S+), accuracy=(\S+) \((\d+)/(\d+) secs\)$")
TEST = re.compile(r"^Model (.+) test report: accuracy = ([^,]+)(?:, \w+=[^,]+)*, \((\d+) secs\)$")

#: the book's Korean class names where its data sets print Korean
KOREAN_NAMES = {"pulsar": ["별", "펄서"], "pulsar-select": ["별", "펄서"]}
#: section titles of the book's office31 visualisation, per head
SECTION_TITLES = {"domain": "[ 도메인 추정결과 ]", "object": "[ 상품 추정결과 ]"}
#: at most this many probabilities are printed per example (then ",...")
SHOWN_PROBS = 8


class BookPrinter:
    """A printer that writes alzza's report lines in the book's forms.

    ``style`` "model" (chapters 5–15): ``    Epoch N: cost=…, accuracy=…/… (s/t secs)``.
    ``style`` "chapter" (chapters 1–4's functions): ``Epoch N: loss=…, accuracy=…/…``
    and no train-ended line. Other lines pass through unchanged.
    """

    def __init__(self, style: str = "model", out=print):
        self.style = style
        self.out = out
        #: "train", or "autoencode" while chapter 13's autoencode runs (its ended line says so)
        self.phase = "train"

    def __call__(self, line="", *more, **options):
        text = str(line)
        epoch = EPOCH.match(text)
        if epoch:
            n, loss, acc, step, total = epoch.groups()
            if self.style == "chapter":
                text = f"Epoch {n}: loss={loss}, accuracy={acc}"
            else:
                text = f"    Epoch {n}: cost={loss}, accuracy={acc} ({step}/{total} secs)"
        elif " train ended in " in text and text.startswith("Model "):
            if self.style == "chapter":
                return
            text = text.replace(" train ended in ", f" {self.phase} ended in ", 1)
        else:
            test = TEST.match(text)
            if test:
                name, acc, secs = test.groups()
                text = f"Model {name} test report: accuracy = {acc}, ({secs} secs)"
        self.out(text, *more, **options)


def _values(row, count=None, fmt="{:4.2f}") -> str:
    row = np.asarray(row, dtype=np.float64).reshape(-1)
    shown = row if count is None else row[:count]
    text = ",".join(fmt.format(v) for v in shown)
    return "[" + text + (",...]" if count is not None and len(row) > count else "]")


def _probs(p) -> str:
    """``추정확률분포 [ 9,10,17,...]``: percentages, the first SHOWN_PROBS of them."""
    return "추정확률분포 " + _values(np.asarray(p) * 100, SHOWN_PROBS if len(p) > SHOWN_PROBS else None, "{:2.0f}")


def _name(names, index) -> str:
    return str(names[index]) if names and index < len(names) else str(index)


def _select(p, t, names) -> str:
    est, ans = int(np.argmax(p)), int(np.argmax(t))
    return f"{_probs(p)} => 추정 {_name(names, est)} : 정답 {_name(names, ans)} => {'O' if est == ans else 'X'}"


def estimate_lines(dataset, head, x, estimate, y) -> list[str] | None:
    """The book's visualisation lines, or None where the book has no single form here
    (sequences: alzza's own lines are used)."""
    if isinstance(x, Sequences) or isinstance(estimate, Sequences) or getattr(head, "sequence", False):
        return None
    names = KOREAN_NAMES.get(getattr(dataset, "name", "").split("(")[0], getattr(dataset, "target_names", None))
    images = getattr(dataset, "input_images", None) is not None
    original = getattr(dataset, "original_input", None)
    lines: list[str] = []
    if head.mode == "multi-select":
        heads = getattr(dataset, "head_names", None) or [f"head {g}" for g in range(len(head.bounds) - 1)]
        for g, (lo, hi) in enumerate(zip(head.bounds[:-1], head.bounds[1:])):
            lines.append(SECTION_TITLES.get(heads[g], f"[ {heads[g]} ]"))
            group = names[g] if names else None
            lines += [_select(estimate[i][lo:hi], np.asarray(y[i])[lo:hi], group) for i in range(len(x))]
        return lines
    for i in range(len(x)):
        row = original(x[i]) if original is not None else np.asarray(x[i])
        est, ans = np.asarray(estimate[i]).reshape(-1), np.asarray(y[i]).reshape(-1)
        if head.mode == "regression":
            lines.append(f"{_values(row)} => 추정 {est[0]:4.1f} : 정답 {ans[0]:4.1f}")
        elif head.mode == "binary":
            e, a = int(est[0] > 0.5), int(ans[0] > 0.5)
            shown = "" if images else _values(row, 3, "{:5.1f}") + " => "
            lines.append(f"{shown}추정 {_name(names, e)}(확률 {est[0]:4.2f}) : 정답 {_name(names, a)} => "
                         f"{'O' if e == a else 'X'}")
        elif head.mode == "select":
            lines.append(_select(est, ans, names))
        else:
            return None
    return lines
