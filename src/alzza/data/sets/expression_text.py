"""``expressions``: valid chapter-10 expressions as text, for a next-symbol language model.

No files: the sentences come from :func:`alzza.data.generators.expression_grammar.generate_valid`
(lengths as the book's generator makes them, 11–39 symbols). A sentence s₁ … s_L is
framed by the end mark ``$`` (:data:`END`, class 0) on both sides, and the model learns
to continue it one symbol at a time::

    input   $  s₁ s₂ … s_L          (L + 1 steps, one-hot over the 44 symbols)
    target  s₁ s₂ … s_L $           (the next symbol at every step; mode seqselect)

Inputs are :class:`~alzza.sequences.Sequences` ``seq(41, 44)`` with each sentence's
length L + 1; the padded steps count for nothing. A trained model writes a new
expression by starting from ``$`` and sampling until it emits ``$``
(:mod:`alzza.decoding`); :func:`alzza.data.generators.expression_grammar.is_sentence` says whether
it is one. Validation loss per symbol gives the perplexity e^loss.

As in ``automata``, training batches are fresh sentences from the run's generator and
the validation and test sets are fixed (:data:`FIXED_SEED`), ``validate_count`` (500)
and ``test_count`` (1000) sentences.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...options import Option
from ...sequences import SeqShape, Sequences
from ..generators import expression_grammar as grammar
from ..dataset import Dataset, declared, generated_batches, _positive
from ..registry import register_dataset

__all__ = ["END", "SYMBOLS", "TIMESTEPS", "ExpressionsDataset", "decode_symbols", "sentence_examples"]

END = "$"
#: the language model's symbols: the end mark, then the grammar's 43 in its order
SYMBOLS = (END, *grammar.ALPHABET)
#: the longest sentence and its end mark
TIMESTEPS = grammar.MAX_LENGTH + 1
#: seed of the fixed validation and test sentences (never the run's seed)
FIXED_SEED = 20_261_016


def sentence_examples(codes: np.ndarray, lengths: np.ndarray):
    """Grammar codes (n, ≥ L) and lengths → (inputs Sequences (n, 41, 44), targets (n, 41, 44))."""
    n, width = len(lengths), min(codes.shape[1], TIMESTEPS)
    tokens = np.zeros((n, TIMESTEPS + 1), dtype=np.int64)          # $ s₁ … s_L $ (then 0s)
    inside = np.arange(width)[None, :] < lengths[:, None]
    tokens[:, 1:width + 1] = np.where(inside, codes[:, :width] + 1, 0)  # symbol k of the grammar is class k + 1
    real = np.arange(TIMESTEPS)[None, :] <= lengths[:, None]          # L + 1 real steps
    eye = np.eye(len(SYMBOLS), dtype=np.float32)
    x = eye[tokens[:, :TIMESTEPS]] * real[..., None]
    y = eye[tokens[:, 1:]] * real[..., None]
    return Sequences(x, lengths.astype(np.int64) + 1), y


def generate_examples(rng: np.random.Generator, count: int):
    """``count`` fresh valid sentences as language-model examples."""
    codes, lengths = grammar.generate_valid(rng, count, width=grammar.MAX_LENGTH)
    return sentence_examples(codes, lengths)


def decode_symbols(ids) -> str:
    """Symbol ids (a model's output, after the first ``$``) → text, up to the next ``$``."""
    text = []
    for k in ids:
        if int(k) == 0:
            break
        text.append(SYMBOLS[int(k)])
    return "".join(text)


def expressions_shapes(**_counts) -> dict:
    """The name, mode, shapes and symbols (the same for any counts; the constructor and summaries read these)."""
    return {"name": "expressions", "mode": "seqselect", "input_shape": SeqShape((TIMESTEPS, len(SYMBOLS))),
            "output_shape": SeqShape((TIMESTEPS, len(SYMBOLS))), "target_names": list(SYMBOLS)}


class ExpressionsDataset(Dataset):
    """Valid expressions, framed by ``$``, as next-symbol examples (see the module docstring)."""

    def __init__(self, data_dir=None, rng=None, train_count: int = 10000, validate_count: int = 500,
                 test_count: int = 1000):
        del data_dir, rng
        super().__init__(**expressions_shapes(), source="generated: expression grammar (book ch. 10)")
        self.input_symbols = SYMBOLS
        self.train_count = _positive(train_count, "train_count")
        fixed = np.random.SeedSequence(FIXED_SEED).spawn(3)
        self._validate = generate_examples(np.random.default_rng(fixed[0]), _positive(validate_count, "validate_count"))
        self._test = generate_examples(np.random.default_rng(fixed[1]), _positive(test_count, "test_count"))
        self._fixed_train = fixed[2]
        self.validate_count, self.test_count = validate_count, test_count

    def train_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator:
        """One epoch of fresh sentences (``train_count // batch_size`` batches)."""
        return generated_batches(self.batches_per_epoch(batch_size), batch_size,
                                 lambda count: generate_examples(rng, batch_size * count))

    def train_data(self):
        """``train_count`` training-like sentences from a fixed seed (training uses fresh ones)."""
        return generate_examples(np.random.default_rng(self._fixed_train), self.train_count)

    def describe_input(self, x_row) -> str:
        """A one-example Sequences (or a (41, 44) row) → its sentence (without the ``$``)."""
        if isinstance(x_row, Sequences):
            data, length = np.asarray(x_row.data)[0], int(x_row.lengths[0])
        else:
            data = np.asarray(x_row).reshape(-1, len(SYMBOLS))
            length = int(np.count_nonzero(data.max(axis=-1) > 0.5))
        return decode_symbols(data[1:length].argmax(axis=-1))

    def describe_output(self, y_row) -> str:
        """Per-step scores (41, 44) or ids → the text up to the first ``$``."""
        row = np.asarray(y_row)
        index = row if row.ndim == 1 and row.dtype.kind in "iu" else row.reshape(-1, len(SYMBOLS)).argmax(axis=-1)
        return decode_symbols(index)


def _count(value):
    return None if value > 0 else f"must be a positive integer, got {value!r}"


OPTIONS = {
    "train_count": Option(int, 10000, doc="fresh training sentences per epoch", check=_count),
    "validate_count": Option(int, 500, doc="fixed validation sentences", check=_count),
    "test_count": Option(int, 1000, doc="fixed test sentences", check=_count),
}


@register_dataset("expressions", options=OPTIONS, shapes=declared(expressions_shapes),
                  summary="generated: valid expressions of chapter 10, next symbol at every step (seqselect, "
                          "beyond the book)")
def make_expressions(data_dir=None, rng=None, *, train_count=10000, validate_count=500,
                     test_count=1000) -> ExpressionsDataset:
    """The registry factory."""
    return ExpressionsDataset(data_dir, rng, train_count=train_count, validate_count=validate_count,
                              test_count=test_count)
