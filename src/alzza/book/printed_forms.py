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
(``Epoch ...`` indented with ``cost=``; the test line keeps the accuracy only, and a blank
line follows it as in the book);
:func:`estimate_lines` writes the visualisation lines from the estimates themselves.
"""

from __future__ import annotations

import re

import numpy as np

from ..models.autoencoder import RECONSTRUCTION_LABEL
from ..sequences import Sequences

#: alzza's epoch line (training.fit) and test line (Model.test)
#: (the autoencode stage of chapter 13 says "reconstruction score (1-RMSE/mean)" where the book says accuracy)
EPOCH = re.compile(r"^Epoch (\d+): loss=(\S+), (?:accuracy|" + re.escape(RECONSTRUCTION_LABEL)
                   + r")=(\S+) \((\d+)/(\d+) secs\)$")
TEST = re.compile(r"^Model (.+?) test report: accuracy = ([^ ,]+)(.*)$")
SECS = re.compile(r"\((\d+) secs\)$")
#: the GAN's epoch line (models/gan.py), chapter 15's "cost=d/g acc=d/g" in the book
GAN = re.compile(r"^Epoch (\d+): discriminator loss=(\S+), generator loss=(\S+), accuracy=(\S+)/(\S+),"
                 r"(?: validation \S+)? \(discriminator/generator\) \((\d+)/(\d+) secs\)(.*)$")
#: a stage's chain is named "NAME (encoder)" (chapter 14's stages) or "NAME (autoencode)"; the book says NAME
ENDED = re.compile(r"^Model (.+?)(?: \((?:autoencode|encoder|decoder|both)\))? train ended in (\d+) secs:$")

#: the book's Korean class names where its data sets print Korean (by the data set's name before
#: its first "-" or "(": pulsar, pulsar-select and alzza's pulsar-std are the book's star/pulsar)
KOREAN_NAMES = {"pulsar": ["별", "펄서"]}
#: section titles of the book's office31 visualisation, per head
SECTION_TITLES = {"domain": "[ 도메인 추정결과 ]", "object": "[ 상품 추정결과 ]"}
#: at most this many probabilities are printed per example (then ",...")
SHOWN_PROBS = 8


class BookPrinter:
    """A printer that writes alzza's report lines in the book's forms.

    ``style`` "model" (chapters 5–15): ``    Epoch N: cost=…, accuracy=…/… (s/t secs)``.
    ``style`` "chapter" (chapters 1–4's functions): ``Epoch N: loss=…, accuracy=…/…``,
    no train-ended line, and the test line as ``Final Test: final accuracy = …`` after a
    blank line (chap01/abalone_test.ipynb, cell 1). In "model" style a blank line follows the test line. A GAN's epoch
    line (chapter 15) becomes
    ``    Epoch N: cost=d/g acc=d/g (s/t secs)`` in any style. Other lines pass through
    unchanged.
    """

    def __init__(self, style: str = "model", out=print, test_name: str | None = None):
        self.style = style
        self.out = out
        #: the name the test line gives instead of the model's (chapter 14 names the data set: mnist_eng)
        self.test_name = test_name
        #: "train", or "autoencode" while chapter 13's autoencode runs (its ended line says so)
        self.phase = "train"

    def __call__(self, line="", *more, **options):
        text = str(line)
        gan = GAN.match(text)
        if gan:
            n, d_loss, g_loss, d_acc, g_acc, step, total, rest = gan.groups()
            self.out(f"    Epoch {n}: cost={d_loss}/{g_loss} acc={d_acc}/{g_acc} ({step}/{total} secs){rest}")
            return
        epoch = EPOCH.match(text)
        if epoch:
            n, loss, acc, step, total = epoch.groups()
            if self.style == "chapter":
                text = f"Epoch {n}: loss={loss}, accuracy={acc}"
            else:
                text = f"    Epoch {n}: cost={loss}, accuracy={acc} ({step}/{total} secs)"
        elif ENDED.match(text):
            if self.style == "chapter":
                return
            name, secs = ENDED.match(text).groups()
            text = f"Model {name} {self.phase} ended in {secs} secs:"
        else:
            test = TEST.match(text)
            if test and self.style == "chapter":  # chapters 1–4: a blank line, then their closing line
                self.out("")
                text = f"Final Test: final accuracy = {test.group(2)}"
            elif test:  # the accuracy only (the book's line), and the time where alzza measured it
                name, acc, rest = test.groups()
                name = self.test_name or name
                secs = SECS.search(rest)
                text = f"Model {name} test report: accuracy = {acc}" + (f", ({secs.group(1)} secs)" if secs else "")
                if self.style == "model":  # the book's test line ends in "\n" inside its print: a blank line
                    self.out(text, *more, **options)
                    text = ""
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


def _data(v):
    return np.asarray(v.data if isinstance(v, Sequences) else v)


def caption(steps, names) -> str:
    """The symbols of one per-step estimate or answer (T, K), pads (symbol 0) as '#'."""
    return "".join(_name(names, int(k)) for k in np.asarray(steps).argmax(axis=-1))


def sequence_lines(dataset, head, x, estimate, y, codes=None) -> list[str] | None:
    """The book's lines for chapters 11, 12 and 14, or None for other data.

    urban sound (ch. 11): ``siren: correct`` / ``siren: wrong(jackhammer)`` (the estimate,
    then the answer when wrong); videoshot (ch. 12): ``Est: 0.49,0.47,...`` and ``Ans: ...``
    over the steps after the first; mnist-eng / mnist-kor (ch. 14): ``answer : estimate``
    captions with ``#`` pads, and ``(code: n)`` — the encoder's digit — for mnist-eng.
    """
    name = str(getattr(dataset, "name", ""))
    names = getattr(dataset, "target_names", None)
    est, ans = _data(estimate), _data(y)
    if name.startswith(("urban", "fsdd")) and head.mode == "select":
        lines = []
        for e, a in zip(est.argmax(axis=-1), ans.argmax(axis=-1), strict=True):
            lines.append(f"{_name(names, e)}: correct" if e == a else f"{_name(names, e)}: wrong({_name(names, a)})")
        return lines
    if name.startswith("videoshot") and head.mode == "seqbinary":
        lines = []
        for e, a in zip(est.reshape(len(est), est.shape[1], -1), ans.reshape(len(ans), ans.shape[1], -1), strict=True):
            lines.append("Est: " + ",".join(f"{v:4.2f}" for v in e[1:, 0]))
            lines.append("Ans: " + ",".join(f"{v:4.2f}" for v in a[1:, 0]))
        return lines
    if name.startswith(("mnist-eng", "mnist-kor")) and head.mode == "seqselect" and names:
        lines = []
        for i in range(len(est)):
            text = f"{caption(ans[i], names)} : {caption(est[i], names)}"
            if codes is not None and name.startswith("mnist-eng"):
                text += f"(code: {int(np.argmax(codes[i]))})"
            lines.append(text)
        return lines
    return None


def estimate_lines(dataset, head, x, estimate, y) -> list[str] | None:
    """The book's visualisation lines, or None where the book has no single form here
    (sequences: alzza's own lines are used)."""
    if head.mode == "binary" and str(getattr(dataset, "name", "")).startswith("automata"):
        # chapter 10: "<expression>: 올바른 패턴 => 합격추정(0.88) : O"
        lines = []
        for i in range(len(x)):
            right, said = bool(np.asarray(y[i]).reshape(-1)[0] > 0.5), float(np.asarray(estimate[i]).reshape(-1)[0])
            text = dataset.describe_input(x[i:i + 1])
            lines.append(f"{text}: {'올바른' if right else '잘못된'} 패턴 => {'합격' if said > 0.5 else '탈락'}추정"
                         f"({said:4.2f}) : {'O' if (said > 0.5) == right else 'X'}")
        return lines
    seq = sequence_lines(dataset, head, x, estimate, y)
    if seq is not None:
        return seq
    if isinstance(x, Sequences) or isinstance(estimate, Sequences) or getattr(head, "sequence", False):
        return None
    family = re.split(r"[-(]", str(getattr(dataset, "name", "")))[0]
    names = KOREAN_NAMES.get(family, getattr(dataset, "target_names", None))
    images = getattr(dataset, "input_images", None) is not None
    original = getattr(dataset, "original_input", None)
    lines: list[str] = []
    if head.mode == "multi-select":
        heads = getattr(dataset, "head_names", None) or [f"head {g}" for g in range(len(head.bounds) - 1)]
        for g, (lo, hi) in enumerate(zip(head.bounds[:-1], head.bounds[1:], strict=True)):
            lines.append(SECTION_TITLES.get(heads[g], f"[ {heads[g]} ]"))
            group = names[g] if names else None
            lines += [_select(estimate[i][lo:hi], np.asarray(y[i])[lo:hi], group) for i in range(len(x))]
        return lines
    if head.mode == "select" and str(getattr(dataset, "name", "")).startswith("mnist"):
        # chapter 13's one line for a few digits: 정답 [4 4 9]  vs.  추정 [4 4 9]
        answers = " ".join(str(int(np.argmax(t))) for t in y)
        estimates = " ".join(str(int(np.argmax(e))) for e in estimate)
        return [f"정답 [{answers}]  vs.  추정 [{estimates}]"]
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


def book_visualize(model, num: int = 3, path=None) -> list[str] | None:
    """``model.visualize`` in the book's forms: the heading, the picture grid for image
    data (as alzza's), then :func:`estimate_lines`. None (nothing printed) where the book
    has no single form (sequences): the caller falls back to alzza's own."""
    dataset = getattr(model, "dataset", None)
    if dataset is None or not hasattr(dataset, "show_sample"):
        return None
    x, y = dataset.show_sample(num, model.rng)
    estimate = model.predict(x)
    lines = estimate_lines(dataset, model.head, x, estimate, y)
    if lines is None:
        return None
    return print_visualization(model, dataset, model.head, x, estimate, y, lines, path)


def print_visualization(model, dataset, head, x, estimate, y, lines: list[str], path=None) -> list[str]:
    """The book's visualisation block: the heading, the picture grid for image data (as
    alzza's, kept in ``model.last_figure``), then ``lines``; returns ``lines``."""
    model.printer(f"Model {model.name} Visualization")
    to_images = getattr(dataset, "input_images", None)
    model.last_figure = None
    if to_images is not None and len(y):  # len(y): x may be a Sequences batch
        from ..viz.images import estimate_captions, image_grid

        captions, colors = estimate_captions(dataset, head, estimate, y)
        model.last_figure = image_grid(to_images(x), captions, colors=colors,
                                       title=f"{model.name}: {len(y)} validation examples", path=path, show=True)
    for line in lines:
        model.printer(line)
    return lines


def quiet(*lines, **options) -> None:
    """A printer that prints nothing."""


def korean_model(model, style: str = "model") -> None:
    """Give a built alzza model the book's report (``alzza run --lang ko``): its printer
    writes the book's forms (``style`` as :class:`BookPrinter`'s: "chapter" for chapters
    1–4's rows), ``train`` says it started (chapter 5 on), ``visualize`` writes Korean lines
    (and prints them from chapter 5 on: chap01/abalone_test to chap04/mlp_test print none)."""
    if not isinstance(model.printer, BookPrinter):
        model.printer = BookPrinter(style, out=model.printer)
    plain_train, plain_visualize = model.train, model.visualize

    def train(epochs=10, batch_size=10, learning_rate=0.001, report=0, *more, **options):
        if report and model.printer.style != "chapter":
            model.printer(f"Model {model.name} train started:")
        return plain_train(epochs, batch_size, learning_rate, report, *more, **options)

    def visualize(num=3, path=None, *more, **options):
        printer = model.printer
        if style == "chapter":  # chapters 1–4 print no visualisation: the lines go to visualize.txt only
            model.printer = quiet
        try:
            lines = None if more or options else book_visualize(model, num, path)
            return lines if lines is not None else plain_visualize(num, path, *more, **options)
        finally:
            model.printer = printer

    model.train, model.visualize = train, visualize
