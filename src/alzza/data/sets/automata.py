"""``automata``: is a string a sentence of the expression grammar? (book ch. 10–11)

No files: every example is generated (:mod:`alzza.data.generators.expression_grammar`). An
example is a string of 11–39 symbols (lengths distributed as the book's generator makes
them, mean 20.8; option ``lengths: uniform`` for uniform 10–40) over a 43-symbol alphabet (a–z, 0–9,
``+ - * /``, ``( )``, ``.``), given as a :class:`~alzza.sequences.Sequences` of one-hot
vectors padded to 40 steps, with the string's length beside it; the target is 1 for a
valid sentence and 0 for a corrupted one (a valid sentence with 1–3 symbols replaced at
random, kept only if the parser rejects it). Mode ``binary``; input shape
``seq(40, 43)``, output shape ``(1,)``.

- **Training batches are fresh**: :meth:`AutomataDataset.train_batches` generates new
  sentences from the run's generator on demand — half valid, half invalid in every
  batch (the odd one out of an odd batch is valid), in random order. An epoch is
  ``train_count`` examples (option, default 10000 as in the book). Sentences are
  generated a few hundred at a time, so the NumPy work is shared by many batches.
- **Validation and test sets are fixed**: generated once from a fixed seed
  (:data:`FIXED_SEED`), independent of the run's seed, so every run — and every model
  — is measured on the same strings. Options ``validate_count`` (default 200) and
  ``test_count`` (default 1000), each half valid, half not.

Printed the book's way, ``automata(binary, 10000+1000+200)``; ``describe_input`` shows
an example as its string.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...options import Option
from ...sequences import SeqShape, Sequences
from ..generators import expression_grammar as grammar
from ..dataset import Dataset, declared, generated_batches, _positive
from ..registry import register_dataset

#: seed of the fixed validation and test sets (never the run's seed)
FIXED_SEED = 20_201_011
TIMESTEPS = grammar.MAX_LENGTH


def generate_examples(rng: np.random.Generator, batch_size: int, batches: int = 1, length_dist: str = "book"):
    """``batches`` consecutive batches of ``batch_size`` examples, each half valid, half not.

    Returns ``(Sequences (n, 40, 43) float32, targets (n, 1) float32)`` with
    ``n = batch_size * batches``; within each batch the order is random. ``length_dist``:
    the string lengths, ``'book'`` (the book's distribution) or ``'uniform'`` (10–40).
    """
    invalid_per_batch = batch_size // 2
    labels = np.zeros((batches, batch_size), dtype=bool)
    labels[:, :batch_size - invalid_per_batch] = True
    labels = rng.permuted(labels, axis=1).reshape(-1)
    valid_count = int(labels.sum())
    codes = np.empty((len(labels), TIMESTEPS), dtype=np.int64)
    lengths = np.empty(len(labels), dtype=np.int64)
    codes[labels], lengths[labels] = grammar.generate_valid(rng, valid_count, width=TIMESTEPS,
                                                            length_dist=length_dist)
    codes[~labels], lengths[~labels] = grammar.generate_invalid(rng, len(labels) - valid_count,
                                                                width=TIMESTEPS, length_dist=length_dist)
    x = Sequences(grammar.one_hot(codes, lengths), lengths)
    return x, labels.astype(np.float32)[:, None]


def describe_sequence(data_row, length: int | None = None) -> str:
    """One example's one-hot steps (T, 43) → its string (up to ``length``, else the
    first all-zero step)."""
    data_row = np.asarray(data_row)
    present = data_row.max(axis=-1) > 0.5
    if length is None:
        length = int(np.argmin(present)) if not present.all() else len(present)
    return grammar.decode(np.argmax(data_row, axis=-1), int(length))


def automata_shapes(**_options) -> dict:
    """The name, mode, shapes and class names (the same for any options; the constructor and summaries read these)."""
    return {"name": "automata", "mode": "binary", "input_shape": SeqShape((TIMESTEPS, grammar.ALPHABET_SIZE)),
            "output_shape": (1,), "target_names": ["invalid", "valid"]}


class AutomataDataset(Dataset):
    """Generated strings of the expression grammar → valid sentence (1) or not (0)."""

    def __init__(self, data_dir=None, rng=None, train_count: int = 10000,
                 validate_count: int = 200, test_count: int = 1000, lengths: str = "book"):
        del data_dir, rng  # no files; training data come from the rng given to train_batches
        super().__init__(**automata_shapes(), source="generated: expression grammar (book ch. 10)")
        self.alphabet = grammar.ALPHABET
        self.train_count = _positive(train_count, "train_count")
        if lengths not in grammar.LENGTH_CHOICES:
            raise ValueError(f"automata: lengths must be one of {', '.join(grammar.LENGTH_CHOICES)}, got {lengths!r}")
        self.lengths = lengths
        fixed = np.random.SeedSequence(FIXED_SEED).spawn(2)
        validate_count = _positive(validate_count, "validate_count")
        test_count = _positive(test_count, "test_count")
        self._validate = generate_examples(np.random.default_rng(fixed[0]), validate_count, length_dist=lengths)
        self._test = generate_examples(np.random.default_rng(fixed[1]), test_count, length_dist=lengths)
        self.validate_count, self.test_count = validate_count, test_count

    def train_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator:
        """One epoch of freshly generated batches (``train_count // batch_size`` of them)."""
        return generated_batches(self.batches_per_epoch(batch_size), batch_size,
                                 lambda count: generate_examples(rng, batch_size, count, self.lengths))

    def train_data(self):
        """``train_count`` training-like examples, from the fixed seed (training itself uses fresh ones)."""
        return generate_examples(np.random.default_rng(np.random.SeedSequence(FIXED_SEED).spawn(3)[2]),
                                 self.train_count, length_dist=self.lengths)

    def describe_input(self, x_row) -> str:
        """The example's string: ``x_row`` is a one-example :class:`Sequences` or a (40, 43) row."""
        if isinstance(x_row, Sequences):
            return describe_sequence(x_row.data[0], int(x_row.lengths[0]))
        x_row = np.asarray(x_row)
        if x_row.ndim == 3:
            x_row = x_row[0]
        return describe_sequence(x_row)


def _check_count(value) -> str | None:
    return None if value > 0 else f"must be a positive integer, got {value!r}"


def _check_lengths(value) -> str | None:
    if value in grammar.LENGTH_CHOICES:
        return None
    return f"must be one of {', '.join(grammar.LENGTH_CHOICES)}, got {value!r}"


OPTIONS = {
    "train_count": Option(int, 10000, doc="generated training examples per epoch (book: 10000)", check=_check_count),
    "validate_count": Option(int, 200, doc="fixed validation examples (half valid)", check=_check_count),
    "test_count": Option(int, 1000, doc="fixed test examples (half valid)", check=_check_count),
    "lengths": Option(str, "book", doc="string lengths: book (the book's generator, 11–39, mean 20.8) or "
                                       "uniform (10–40)", check=_check_lengths),
}


@register_dataset("automata", options=OPTIONS, shapes=declared(automata_shapes),
                  summary="generated strings of an expression grammar → valid sentence or not (binary, ch. 10–11)")
def make_automata(data_dir=None, rng=None, *, train_count=10000, validate_count=200,
                  test_count=1000, lengths="book") -> AutomataDataset:
    """The registry factory."""
    return AutomataDataset(data_dir, rng, train_count=train_count, validate_count=validate_count,
                           test_count=test_count, lengths=lengths)
