"""Chapters 1–4 as the book's functions: ``abalone_exec``, ``pulsar_exec``, ``steel_exec``, ``set_hidden``.

The book ``%run``s these notebooks, so their globals live in the reader's own
namespace: ``LEARNING_RATE = 0.1`` changes the next run, and after a run the trained
``weight`` and ``bias`` (chapter 4: ``pm_output``, ``pm_hiddens``) are names the reader
can print. Here the functions do the same with the namespace of the code that calls
them (``sys._getframe(1).f_globals``: a script's module, ``__main__``, or the notebook's
user namespace in Jupyter): the settings ``LEARNING_RATE``, ``RND_STD`` and
``hidden_config`` are read from it when the caller assigned them (else ``alzza.book``'s
own), and the trained parameters are written into it, as ``%run`` would.

Each run is one :class:`alzza.Model` — no hidden layer unless :func:`set_hidden` says
so, SGD, weights ~ N(0, RND_STD), chapter 1's relative regression accuracy for abalone
— trained with alzza's loop on the split of chapters 1–4 (``int(n * 0.8) // mb_size *
mb_size`` examples to train, the rest to test, each epoch's figure on the test split:
abalone 3,340 / 837) and reported in the book's forms: ``Epoch n: loss=...,
accuracy=train/test``, then ``Final Test: final accuracy = ...``. Chapter 2's extended
code (``%run pulsar_ext.ipynb`` in the book: ``from alzza.book.pulsar_ext import *``
here) reports ``result=accuracy,precision,recall,f1`` on the test split instead. Once :func:`set_hidden`
was called (chapter 4), each run first says how many hidden layers it has.
"""

from __future__ import annotations

import sys

from ..device import to_host
from ..data import make_dataset
from ..models import Model
from .datasets import settings
from .printed_forms import BookPrinter
from .report_loss import book_report_loss
from .session import next_seed

DEFAULTS = {"LEARNING_RATE": 0.001, "RND_STD": 0.0030}
_hidden_config: list = []
#: set_hidden's argument as given (an int: "하나", a list: its length), None before chapter 4
_hidden_info = None


def set_hidden(info):
    """Chapter 4: an int is one hidden layer of that width; a list gives every hidden width."""
    global _hidden_config, _hidden_info
    _hidden_config = [info] if isinstance(info, int) else list(info)
    _hidden_info = info
    caller = sys._getframe(1).f_globals
    caller["hidden_config"] = None if isinstance(info, int) else list(info)


def _setting(name: str, caller: dict):
    if caller.get(name, DEFAULTS[name]) != DEFAULTS[name]:
        return caller[name]
    return getattr(settings(), name)


def _hidden(caller: dict) -> list:
    """The hidden widths: the caller's ``hidden_config`` when it set one itself, else set_hidden's."""
    own = caller.get("hidden_config")
    if isinstance(own, (list, tuple)) and list(own) != _hidden_config:
        return list(own)
    return list(_hidden_config)


def _hidden_sentence(hidden: list) -> str | None:
    if _hidden_info is None:
        return None
    count = "하나" if isinstance(_hidden_info, int) and hidden == _hidden_config else f"{len(hidden)}개"
    return f"은닉 계층 {count}를 갖는 다층 퍼셉트론이 작동되었습니다."


def _publish(model: Model, caller: dict) -> None:
    """The trained parameters as the book's global names, in the caller's namespace."""
    denses = [layer for layer in model.network.walk() if "w" in layer.params]
    pairs = [{"w": to_host(layer.params["w"]), "b": to_host(layer.params["b"])} for layer in denses]
    caller["weight"], caller["bias"] = pairs[-1]["w"], pairs[-1]["b"]
    caller["pm_output"], caller["pm_hiddens"] = pairs[-1], pairs[:-1]


def _result(metrics) -> str:
    return ",".join(f"{metrics[key]:5.3f}" for key in ("accuracy", "precision", "recall", "f1"))


def _exec(spec, epoch_count, mb_size, report, caller, head=None, result_form=False):
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    spec.update(split="80/20", split_multiple=int(mb_size))  # chapters 1–4: 80 % train, the rest test
    hidden = _hidden(caller)
    sentence = _hidden_sentence(hidden)
    if sentence:
        print(sentence)
    result_form = result_form and _hidden_info is None  # chapter 4 runs chapter 2's plain form
    dataset = make_dataset(spec, seed=next_seed())
    model = Model(dataset, hidden, name=dataset.name, optimizer="sgd", head=head, seed=next_seed(),
                  init={"scheme": "normal", "std": _setting("RND_STD", caller)}, printer=BookPrinter("chapter"))
    book_report_loss(model)  # steel (chapter 3) prints −Σ y·log(p + 1e-10), as the book computes it
    if result_form:
        # chapter 2's extended report: the four figures on the test split at every report
        def printer(line, *more, **options):
            if line.startswith("Epoch "):
                loss = line.split("loss=", 1)[1].split(",", 1)[0]
                line = f"{line.split(':', 1)[0]}: loss={loss}, result={_result(model.evaluate(*dataset.test_data()))}"
            print(line, *more, **options)

        model.printer = BookPrinter("chapter", printer)
    model.train(epoch_count, mb_size, _setting("LEARNING_RATE", caller), report)
    metrics = model.evaluate(*dataset.test_data())
    _publish(model, caller)
    if result_form:
        print(f"\nFinal Test: final result = {_result(metrics)}")
    else:
        print(f"\nFinal Test: final accuracy = {metrics['accuracy']:5.3f}")
    return None


def abalone_exec(epoch_count=10, mb_size=10, report=1):
    """Chapter 1: abalone ring counts (regression, accuracy 1 − mean relative error)."""
    _exec("abalone", epoch_count, mb_size, report, sys._getframe(1).f_globals, head={"metric": "relative"})


def pulsar_exec(epoch_count=10, mb_size=10, report=1, adjust_ratio=False):
    """Chapter 2 (``pulsar.ipynb``): pulsar or not (binary), reported as ``accuracy=train/test``
    and ``final accuracy``; ``adjust_ratio`` oversamples the pulsars to balance the classes."""
    _exec({"name": "pulsar", "balanced": bool(adjust_ratio)}, epoch_count, mb_size, report,
          sys._getframe(1).f_globals)


def pulsar_ext_exec(epoch_count=10, mb_size=10, report=1, adjust_ratio=False, caller=None):
    """Chapter 2's extended code (``pulsar_ext.ipynb``): the same run reported as
    ``result=accuracy,precision,recall,f1`` on the test split (:mod:`alzza.book.pulsar_ext`
    names it ``pulsar_exec``)."""
    _exec({"name": "pulsar", "balanced": bool(adjust_ratio)}, epoch_count, mb_size, report,
          caller if caller is not None else sys._getframe(1).f_globals, result_form=True)


def steel_exec(epoch_count=10, mb_size=10, report=1):
    """Chapter 3: steel plate faults, one of 7 (select)."""
    _exec("steel", epoch_count, mb_size, report, sys._getframe(1).f_globals)

