"""``korean-numbers``: a number's digits → its Korean reading, a small translation task.

No files: the examples are every number 0 … 10ᵈ − 1 (``digits`` d, 1–4, default 4),
written as its decimal digits without leading zeros (``2019``) and read aloud by
chapter 14's rules (:mod:`alzza.data.generators.korean_numerals`: ``이천십구``). The two sides have
different lengths and orders (``10`` → ``십``, ``2019`` → four symbols, ``9999`` → seven),
so this is the smallest honest sequence-to-sequence task alzza can make itself.

- input: a :class:`~alzza.sequences.Sequences` of one-hot digits, shape ``seq(d, 10)``
  with each number's length (1–d) beside it;
- target: the reading as per-step one-hots over :data:`SYMBOLS` (``#`` — class 0, the
  end mark and the padding after it — then 영 … 구 십 백 천), padded to ``2d`` steps
  (the longest reading, 2d − 1 symbols, plus its end mark); mode ``seqselect``. The
  sequence accuracy of seqselect is the exact-match accuracy of whole readings.

The split is fixed (seed :data:`SPLIT_SEED`, not the run's): 80 % of the numbers train,
10 % validate, 10 % test, so every model and every run is scored on the same numbers,
none of which it saw in training.
"""

from __future__ import annotations

import numpy as np

from ...options import Option
from ...sequences import SeqShape, Sequences
from ..dataset import Dataset, declared
from ..generators.korean_numerals import SYMBOLS, read_korean
from ..registry import register_dataset

__all__ = ["SPLIT_SEED", "SYMBOLS", "KoreanNumbersDataset", "number_inputs", "reading_targets"]

#: seed of the fixed train / validate / test split of the numbers
SPLIT_SEED = 20_260_414
DIGIT_SYMBOLS = tuple("0123456789")


def number_inputs(numbers, digits: int) -> Sequences:
    """Numbers → ``Sequences (n, digits, 10)`` of one-hot decimal digits, most significant first."""
    texts = [str(int(n)) for n in numbers]
    data = np.zeros((len(texts), digits, 10), dtype=np.float32)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    for i, text in enumerate(texts):
        data[i, np.arange(len(text)), [int(c) for c in text]] = 1.0
    return Sequences(data, lengths)


def reading_targets(numbers, digits: int) -> np.ndarray:
    """Numbers → ``(n, 2·digits, 14)`` one-hot readings, the rest of each row ``#`` (class 0)."""
    index = {s: k for k, s in enumerate(SYMBOLS)}
    steps = 2 * digits
    out = np.zeros((len(numbers), steps, len(SYMBOLS)), dtype=np.float32)
    out[:, :, 0] = 1.0
    for i, n in enumerate(numbers):
        for m, symbol in enumerate(read_korean(int(n))):
            out[i, m, 0] = 0.0
            out[i, m, index[symbol]] = 1.0
    return out


def korean_numbers_shapes(digits: int = 4) -> dict:
    """The name, mode, shapes and symbols of ``digits``-digit numbers (the constructor and summaries read these)."""
    return {"name": "korean-numbers" if digits == 4 else f"korean-numbers{digits}", "mode": "seqselect",
            "input_shape": SeqShape((digits, 10)), "output_shape": SeqShape((2 * digits, len(SYMBOLS))),
            "target_names": list(SYMBOLS)}


class KoreanNumbersDataset(Dataset):
    """Digits → Korean reading (see the module docstring)."""

    def __init__(self, data_dir=None, rng=None, digits: int = 4):
        del data_dir, rng  # no files; the split has its own fixed seed
        self.digits = digits
        super().__init__(**korean_numbers_shapes(digits), source="generated: chapter 14's reading rules")
        self.input_symbols = DIGIT_SYMBOLS
        numbers = np.random.default_rng(SPLIT_SEED).permutation(10 ** digits)
        train, validate = int(len(numbers) * 0.8), int(len(numbers) * 0.1)
        parts = numbers[:train], numbers[train:train + validate], numbers[train + validate:]
        self._set_splits(*[(number_inputs(p, digits), reading_targets(p, digits)) for p in parts])
        self.numbers = dict(zip(("train", "validate", "test"), parts, strict=True))

    def describe_input(self, x_row) -> str:
        """A one-example Sequences (or a (d, 10) row) → its digits, e.g. ``'2019'``."""
        if isinstance(x_row, Sequences):
            data, length = np.asarray(x_row.data)[0], int(x_row.lengths[0])
        else:
            data = np.asarray(x_row).reshape(-1, 10)
            length = int(np.count_nonzero(data.max(axis=-1) > 0.5))
        return "".join(DIGIT_SYMBOLS[k] for k in data[:length].argmax(axis=-1))

    def describe_output(self, y_row) -> str:
        """Per-step scores or one-hots (T, 14), or class indices (T,) → the reading up to its end mark."""
        row = np.asarray(y_row)
        index = row if row.ndim == 1 and row.dtype.kind in "iu" else row.reshape(-1, len(SYMBOLS)).argmax(axis=-1)
        text = "".join(SYMBOLS[k] for k in index)
        return text.split(SYMBOLS[0], 1)[0]


OPTIONS = {"digits": Option(int, 4, doc="numbers of up to this many digits (1–4): 0 … 10^digits − 1",
                            check=lambda v: 1 <= v <= 4, expects="an integer from 1 to 4")}


@register_dataset("korean-numbers", options=OPTIONS, shapes=declared(korean_numbers_shapes),
                  summary="generated: a number's digits → its Korean reading (seqselect, beyond the book)")
def make_korean_numbers(data_dir=None, rng=None, *, digits=4) -> KoreanNumbersDataset:
    """The registry factory."""
    return KoreanNumbersDataset(data_dir, rng, digits=digits)
