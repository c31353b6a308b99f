"""The book's model classes (chapters 5–12) as thin subclasses of :class:`alzza.Model`.

Each maps the book's constructor onto ``Model(dataset, layers, name=..., optimizer=...,
l2_decay=..., l1_decay=..., macros=..., seed=...)`` and keeps alzza's ``train`` /
``test`` / ``visualize`` / ``exec_all``; the book's extras (``use_adam``, ``show_maps``,
``show_params``, ``dump_structure``, ``set_macro``) call alzza's optimiser factory,
summary and pictures. The class tree is the book's:

MlpModel (SGD) → AdamModel (``use_adam``, False) → CnnBasicModel (Adam) → CnnRegModel
(L2/L1) → CnnExtModel (macros, structure dump) → RnnBasicModel → RnnLstmModel → RnnExtModel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..device import to_host
from ..models import Model
from ..training.optimizers import make_optimizer
from .datasets import settings
from .printed_forms import BookPrinter, book_visualize
from .report_loss import book_report_loss
from .session import next_seed


def book_layers(hconfigs):
    """The book's hconfigs as a layer list: a single bare spec (``['custom', {...}]``) is wrapped,
    as its CnnBasicModel does."""
    if isinstance(hconfigs, (list, tuple)) and hconfigs and not isinstance(hconfigs[0], (list, tuple, int)):
        return [list(hconfigs)]
    return list(hconfigs)


def figure_path(model, kind: str):
    """``<FIGURES>/<model name>-<kind>.png`` when ``alzza.book.FIGURES`` names a folder, else None."""
    folder = settings().FIGURES
    if folder is None:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / f"{model.name}-{kind}.png"


class BookMethods:
    """What every book class adds to an alzza model: the book's keyword names, its
    printed forms (:mod:`alzza.book.printed_forms`) and ``use_adam``."""

    def train(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, *more, **options):
        if report:
            self.printer(f"Model {self.name} train started:")
        return super().train(epoch_count, batch_size, learning_rate, report, *more, **options)

    def visualize(self, num=3, path=None, **options):
        path = path or figure_path(self, "visualize")
        if not isinstance(self, Model) or options:
            return super().visualize(num, path=path, **options)
        lines = book_visualize(self, num, path)
        return lines if lines is not None else super().visualize(num, path=path)

    def exec_all(self, *args, **options) -> None:
        """train, test, visualize, as the book's: it returns nothing (a notebook cell that ends
        with it shows no ``Out[]`` dict); the test metrics stay on ``self.test_metrics``."""
        self.test_metrics = super().exec_all(*args, **options)

    @property
    def use_adam(self) -> bool:
        return self.optimizer.name == "adam"

    @use_adam.setter
    def use_adam(self, value):
        """Switch the optimiser (set it before training, as the book does)."""
        self.optimizer = make_optimizer("adam" if value else "sgd", l2_decay=self.optimizer.l2_decay,
                                        l1_decay=self.optimizer.l1_decay)


class MlpModel(BookMethods, Model):
    """Chapter 5: ``MlpModel(name, dataset, hconfigs)`` — plain SGD, weights ~ N(0, 0.03)."""

    optimizer_name = "sgd"

    def __init__(self, name, dataset, hconfigs, **options):
        options.setdefault("optimizer", self.optimizer_name)
        options.setdefault("seed", next_seed())
        options.setdefault("printer", BookPrinter())
        super().__init__(dataset, book_layers(hconfigs), name=name, macros=getattr(type(self), "macros", None),
                         **options)
        if type(self) is MlpModel:  # chapter 5 reports −Σ y·log(p + 1e-10) (book/report_loss.py)
            book_report_loss(self)


class AdamModel(MlpModel):
    """Chapter 6: set ``model.use_adam = True`` before training to use Adam (the book's default is False)."""


class CnnBasicModel(AdamModel):
    """Chapter 7: Adam; ``show_maps=True`` adds conv kernels and feature maps to ``visualize``."""

    optimizer_name = "adam"

    def __init__(self, name, dataset, hconfigs, show_maps=False, **options):
        self.show_maps = show_maps
        super().__init__(name, dataset, hconfigs, **options)

    def visualize(self, num=3, path=None):
        lines = super().visualize(num, path)
        from ..viz.maps import conv_layers, show_maps

        if self.show_maps and conv_layers(self):
            x, _ = self.dataset.validate_sample(num, self.rng)
            x = x if len(x) else self.dataset.test_data()[0][:num]
            self.maps_figure = show_maps(self, x, figure_path(self, "maps"), examples=num)
            self.printer(f"Model {self.name}: kernels and feature maps of {len(conv_layers(self))} conv layer(s)")
        return lines


class CnnRegModel(CnnBasicModel):
    """Chapter 8: ``l2_decay`` / ``l1_decay``; ``exec_all(..., show_params=True)`` draws the weight histograms."""

    def __init__(self, name, dataset, hconfigs, show_maps=False, l2_decay=0, l1_decay=0, **options):
        super().__init__(name, dataset, hconfigs, show_maps, l2_decay=l2_decay, l1_decay=l1_decay, **options)

    def exec_all(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=3,
                 show_params=False, **options):
        """The book's call; ``options`` are alzza's training options (max_batches, validate, ...)."""
        super().exec_all(epoch_count, batch_size, learning_rate, report, show_cnt, **options)  # returns nothing
        if show_params:
            self.show_param_dist()

    def show_param_dist(self):
        """The weight histograms (:func:`alzza.viz.weights.weight_histograms`) and their numbers."""
        from ..viz.weights import weight_histograms

        self.params_figure, stats = weight_histograms(self, figure_path(self, "weights"))
        # the book's one line over every weight and kernel: |w| ≤ 1e-5 counts as near 0
        weights = [to_host(slot.value).ravel() for slot in self.slots if slot.decayed]
        values = np.concatenate(weights) if weights else np.zeros(0)
        near = int(np.count_nonzero(np.abs(values) <= 1e-5))
        share = 100.0 * near / max(1, len(values))
        self.printer(f"Near 0 parameters = {share:4.1f}%({near}/{len(values)})")
        return stats


class CnnExtModel(CnnRegModel):
    """Chapter 9: macros set on the class (``CnnExtModel.set_macro``); ``dump_structure=True`` prints the
    book's numbered structure dump (:mod:`alzza.book.structure`); ``summary()`` is alzza's table."""

    macros: dict = {}

    def __init__(self, name, dataset, hconfigs, show_maps=False, l2_decay=0, l1_decay=0, dump_structure=False,
                 **options):
        self.dump_structure = dump_structure
        super().__init__(name, dataset, hconfigs, show_maps, l2_decay, l1_decay, **options)
        if dump_structure:
            from .structure import dump_structure as dump

            dump(self, self.printer)

    @staticmethod
    def set_macro(name, config):
        CnnExtModel.macros[name] = config


class RnnBasicModel(CnnExtModel):
    """Chapter 10: ``['rnn', {...}]`` layers."""


class RnnLstmModel(RnnBasicModel):
    """Chapter 11: ``['lstm', {...}]`` layers."""


class RnnExtModel(RnnLstmModel):
    """Chapter 12: ``['seqwrap', ...]`` layers."""
