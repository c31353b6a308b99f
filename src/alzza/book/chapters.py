"""Chapters 1–4 as the book's functions: ``abalone_exec``, ``pulsar_exec``, ``steel_exec``, ``set_hidden``.

The book keeps its settings in module globals (``LEARNING_RATE``, ``RND_STD``) of the
file it runs with ``%run``, so a reader changes them by assigning the global. Here they
are read when a function runs: the caller's own global when the caller changed it
(``LEARNING_RATE = 0.1`` at the top of a script or notebook), else ``alzza.book``'s.

Each run is one :class:`alzza.Model` — no hidden layer unless :func:`set_hidden` says
so, SGD, weights ~ N(0, RND_STD), chapter 1's relative regression accuracy for abalone
— trained with alzza's loop (its per-epoch ``Epoch n: loss=..., accuracy=train/validate``
lines), then the book's closing line ``Final Test: final accuracy = ...``.
"""

from __future__ import annotations

import sys

from ..data import make_dataset
from ..models import Model
from .datasets import settings

DEFAULTS = {"LEARNING_RATE": 0.001, "RND_STD": 0.0030}
_hidden_config: list = []


def set_hidden(info):
    """Chapter 4: an int is one hidden layer of that width; a list gives every hidden width."""
    global _hidden_config
    _hidden_config = [info] if isinstance(info, int) else list(info)


def _setting(name: str, caller: dict):
    if caller.get(name, DEFAULTS[name]) != DEFAULTS[name]:
        return caller[name]
    return getattr(settings(), name)


def _exec(spec, epoch_count, mb_size, report, caller, head=None):
    seed = settings().SEED
    dataset = make_dataset(spec, seed=seed)
    model = Model(dataset, list(_hidden_config), name=dataset.name, optimizer="sgd", head=head, seed=seed,
                  init={"scheme": "normal", "std": _setting("RND_STD", caller)})
    model.train(epoch_count, mb_size, _setting("LEARNING_RATE", caller), report)
    metrics = model.evaluate(*dataset.test_data())
    extra = "".join(f", {key} = {metrics[key]:5.3f}" for key in ("precision", "recall", "f1") if key in metrics)
    print(f"\nFinal Test: final accuracy = {metrics['accuracy']:5.3f}{extra}")


def abalone_exec(epoch_count=10, mb_size=10, report=1):
    """Chapter 1: abalone ring counts (regression, accuracy 1 − mean relative error)."""
    _exec("abalone", epoch_count, mb_size, report, sys._getframe(1).f_globals, head={"metric": "relative"})


def pulsar_exec(epoch_count=10, mb_size=10, report=1, adjust_ratio=False):
    """Chapter 2: pulsar or not (binary); ``adjust_ratio`` oversamples the pulsars to balance the classes."""
    _exec({"name": "pulsar", "balanced": bool(adjust_ratio)}, epoch_count, mb_size, report,
          sys._getframe(1).f_globals)


def steel_exec(epoch_count=10, mb_size=10, report=1):
    """Chapter 3: steel plate faults, one of 7 (select)."""
    _exec("steel", epoch_count, mb_size, report, sys._getframe(1).f_globals)
