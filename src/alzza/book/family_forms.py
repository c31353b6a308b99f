"""The book's printed forms for the model families (chapters 13–15).

Mixins placed before an alzza family class (after :class:`~alzza.book.models.BookMethods`,
which says ``Model NAME train started:``), used by the book's classes
(:mod:`alzza.book.families`) and by ``alzza run --lang ko`` (:func:`book_family_class`).
What the book prints, per family (the numbers are ours):

chapter 13, autoencoder::

    Model NAME autoencode started:
        Epoch 2: cost=2556.567, accuracy=-0.526/-0.526 (9/9 secs)
    Model NAME autoencode ended in 55 secs:
    Model NAME train started:
        Epoch 2: cost=1.375, accuracy=0.552/0.540 (0/0 secs)
    Model NAME train ended in 1 secs:
    Model NAME test report: accuracy = 0.746, (0 secs)
    <blank>
    Model NAME Visualization
    정답 [6 9 9]  vs.  추정 [6 9 9]

  and semantic hashing prints no text (its index is silent, its search draws pictures).

chapter 14, encoder-decoder: one ``train started`` … ``train ended`` block per stage
(encoder, decoder, both; no test between stages), then the test line, a blank line,
``Model NAME Visualization`` and ``answer : estimate`` captions (mnist-eng adds
``(code: n)``).

chapter 15, GAN: ``train started``, ``    Epoch 20: cost=0.509/0.994 acc=0.500/0.389 (9/9 secs)``,
``train ended``, ``test report: accuracy = 0.917/0.000, (0 secs)``, a blank line, and
pictures only (its visualisation prints no text).

The epoch and ended lines are translated by :class:`~alzza.book.printed_forms.BookPrinter`;
the mixins print the started lines, time the test, and silence alzza's own extra lines
(per-stage tests, ``training mode``, hashing and GAN verdict lines).
"""

from __future__ import annotations

import re
import time

import numpy as np

from ..training.loop import format_accuracy


class _Silenced:
    """Runs a call with the model's printer replaced by a list (restored after); ``lines`` holds what it printed."""

    def __init__(self, model):
        self.model = model
        self.lines: list[str] = []

    def __enter__(self):
        self.printer = self.model.printer
        self.model.printer = lambda line="", *more, **options: self.lines.append(str(line))
        return self

    def __exit__(self, *exc):
        self.model.printer = self.printer
        return False


class FamilyForms:
    """What every family prints in the book's forms: the timed test line."""

    def _book_test_line(self, accuracy: str, seconds: float) -> None:
        # (the BookPrinter adds the book's blank line after it)
        self.printer(f"Model {self.name} test report: accuracy = {accuracy}, ({seconds:.0f} secs)")

    def _timed_quietly(self, call, *args, **kwargs):
        """(result, seconds) of ``call`` with alzza's own lines silenced."""
        start = time.perf_counter()
        with _Silenced(self):
            result = call(*args, **kwargs)
        return result, time.perf_counter() - start


class AutoencoderForms(FamilyForms):
    """Chapter 13: ``autoencode started`` / ``ended``, the one-line visualisation, silent hashing."""

    def autoencode(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, *more, **options):
        if report:
            self.printer(f"Model {self.name} autoencode started:")
        phase = getattr(self.printer, "phase", None)
        if phase is not None:  # the BookPrinter writes this stage's ended line as "autoencode ended"
            self.printer.phase = "autoencode"
        try:
            return super().autoencode(epoch_count, batch_size, learning_rate, report, *more, **options)
        finally:
            if phase is not None:
                self.printer.phase = phase

    def test(self):
        metrics, seconds = self._timed_quietly(super().test)
        self._book_test_line(format_accuracy(metrics["accuracy"]), seconds)
        return metrics

    def visualize(self, num=3, path=None, **options):
        """alzza's pictures (originals, reconstructions); the book's one line
        ``정답 [6 9 9]  vs.  추정 [6 9 9]`` in place of alzza's per-example lines."""
        with _Silenced(self) as shown:
            lines = super().visualize(num, path=path, **options)
        pairs = [re.search(r"estimate (\S+?)\([^)]*\) : answer (\S+) =>", line) for line in lines or []]
        if not pairs or not all(pairs):  # not a classifier's lines: alzza's own
            for line in shown.lines:
                self.printer(line)
            return lines
        self.printer(f"Model {self.name} Visualization")
        self.printer(f"정답 [{' '.join(p.group(2) for p in pairs)}]  vs.  추정 [{' '.join(p.group(1) for p in pairs)}]")
        return lines

    def semantic_hashing_index(self, *args, **kwargs):
        with _Silenced(self):  # the book's index prints nothing
            return super().semantic_hashing_index(*args, **kwargs)

    def semantic_hashing_search(self, *args, **kwargs):
        with _Silenced(self):  # the book's search draws its pictures only
            return super().semantic_hashing_search(*args, **kwargs)


class EncoderDecoderForms(FamilyForms):
    """Chapter 14: a started/ended block per stage, one test (in 'both'), the book's captions."""

    def train(self, *args, **kwargs):
        printer = self.printer
        mode_line = f"Model {self.name}: training mode "

        def without_mode_line(line="", *more, **options):  # the book names no mode
            if not str(line).startswith(mode_line):
                printer(line, *more, **options)

        self.printer = without_mode_line
        try:
            return super().train(*args, **kwargs)
        finally:
            self.printer = printer

    def test(self, mode=None):
        mode = self._check_mode(mode)
        metrics, seconds = self._timed_quietly(super().test, mode)
        if mode == "both":  # the book tests once, after its last stage
            self._book_test_line(format_accuracy(metrics["accuracy"]), seconds)
        return metrics

    def visualize(self, num=3, path=None, mode=None):
        """The book's lines (``answer : estimate``, mnist-eng also ``(code: n)``) in 'both' mode."""
        from .printed_forms import print_visualization, sequence_lines

        mode = self._check_mode(mode)
        if mode != "both":
            return super().visualize(num, path, mode)
        dataset = self.stage_dataset(mode)
        x, y = dataset.show_sample(num, self.rng)
        chain = self.chain(mode)
        estimate = chain.predict(x)
        lines = sequence_lines(dataset, chain.head, x, estimate, y, codes=self.encode(x))
        if lines is None:
            return super().visualize(num, path, mode)
        if str(getattr(dataset, "name", "")).startswith("mnist-kor"):
            return self._picture_per_example(dataset, chain.head, x, estimate, y, lines, path)
        return print_visualization(self, dataset, chain.head, x, estimate, y, lines, path)

    def _picture_per_example(self, dataset, head, x, estimate, y, lines, path):
        """mnist-kor as the book shows it (chap14/encoder_decoder_test, cells 6–8): the
        heading, then per example one picture of its digits side by side (a panel each)
        and that example's ``answer : estimate`` line. ``path`` (``alzza run``'s
        visualize.png) gets alzza's one grid of all examples, so a run still writes one file."""
        from ..viz.images import estimate_captions, image_grid

        self.printer(f"Model {self.name} Visualization")
        strips = dataset.input_images(x)  # (n, 28, 28·digits)
        figures = []
        for strip, line in zip(strips, lines, strict=True):
            digits = np.split(strip, strip.shape[1] // strip.shape[0], axis=1)
            figures.append(image_grid(np.stack(digits), [""] * len(digits), columns=len(digits),
                                      panel_size=1.6, show=True))
            self.printer(line)
        self.example_figures = figures
        self.last_figure = figures[0] if figures else None
        if path is not None and len(strips):
            captions, colors = estimate_captions(dataset, head, estimate, y)
            self.last_figure = image_grid(strips, captions, colors=colors, path=path,
                                          title=f"{self.name}: {len(strips)} validation examples")
        return lines


class GanForms(FamilyForms):
    """Chapter 15: the ``d/g`` test line; the visualisation draws and prints nothing."""

    def test(self):
        metrics, seconds = self._timed_quietly(super().test)
        self._book_test_line(f"{metrics['discriminator_accuracy']:5.3f}/{metrics['generator_accuracy']:5.3f}",
                             seconds)
        return metrics

    def visualize(self, num=8, path=None, *more, **options):
        with _Silenced(self):  # the book shows its real and generated pictures without a word
            return super().visualize(num, path, *more, **options)


#: the forms of each family kind
FAMILY_FORMS = {"autoencoder": AutoencoderForms, "encoder_decoder": EncoderDecoderForms, "gan": GanForms}
_CLASSES: dict = {}


def book_family_class(cls: type) -> type:
    """``cls`` (an alzza family class) reporting in the book's forms: BookMethods (the
    started line, ``use_adam``), the family's forms, then ``cls``. Made once per class."""
    from .models import BookMethods

    if cls not in _CLASSES:
        forms = FAMILY_FORMS.get(getattr(cls, "kind", ""))
        if forms is None:
            raise ValueError(f"{cls.__name__}: no book forms for model kind {getattr(cls, 'kind', '')!r}")
        # the same name as cls: repr(model) and the saved files read as for --lang en
        _CLASSES[cls] = type(cls.__name__, (BookMethods, forms, cls), {"__module__": __name__})
    return _CLASSES[cls]
