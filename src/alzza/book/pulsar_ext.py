"""Chapter 2's extended code: ``%run ../chap02/pulsar_ext.ipynb`` becomes
``from alzza.book.pulsar_ext import *``.

Everything of :mod:`alzza.book`, except that ``pulsar_exec`` reports as the extended
notebook does: ``Epoch n: loss=..., result=accuracy,precision,recall,f1`` on the test split
and ``Final Test: final result = ...``. ``from alzza.book import *`` (the book's
``pulsar.ipynb``, and chapter 4) keeps the plain ``accuracy=train/test`` form.
"""

from __future__ import annotations

import sys

from . import *  # noqa: F401,F403 — the whole book interface, as the notebook's %run gives it
from . import __all__ as _BOOK_ALL
from .chapters import pulsar_ext_exec


def pulsar_exec(epoch_count=10, mb_size=10, report=1, adjust_ratio=False):
    """Chapter 2's extended pulsar_exec: the ``result=`` form (see :func:`alzza.book.chapters.pulsar_ext_exec`)."""
    pulsar_ext_exec(epoch_count, mb_size, report, adjust_ratio, caller=sys._getframe(1).f_globals)


__all__ = list(_BOOK_ALL)
