"""Data sets whose examples are triples ``(x, t, y)`` — input, intermediate target, final
target — for the encoder-decoder model (chapter 14), and the plain Dataset of one of its
training modes. The MNIST word data sets (:mod:`alzza.data.sets.mnist`) are the shipped ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...errors import DataError
from ..dataset import Dataset
from ..generators.korean_numerals import PAD

#: the training modes: x → y, x → t, t → y
STAGES = ("both", "encoder", "decoder")

Triple = tuple  # (x, t, y): input, intermediate (encoder) target, final target


class EncoderDecoderDataset(Dataset):
    """Examples that are triples ``(x, t, y)``: input, intermediate target, final target.

    The encoder-decoder model trains in three modes (SPEC §4):

    - ``both``: ``x → y`` — the plain Dataset API of this object (``train_batches``,
      ``validate_sample``, ``test_data``…), ``mode`` / ``input_shape`` /
      ``output_shape`` / ``target_names`` describe it;
    - ``encoder``: ``x → t`` — ``encoder_mode``, ``encoder_shape``,
      ``encoder_target_names`` describe ``t``;
    - ``decoder``: ``t → y``.

    :meth:`stage` returns, for each mode, a :class:`Dataset` serving exactly that pair,
    so each stage trains with the ordinary trainer. The triples themselves come from
    :meth:`split_triples` (a whole split), :meth:`train_triples` (an epoch of batches)
    and :meth:`validate_triples`; :meth:`encoder_targets` is ``t`` of a split, in the
    same order as ``train_data()`` / ``validate_data()`` / ``test_data()``.

    ``target_names`` are the per-step symbols (index = class of one step);
    :meth:`decode` and :meth:`describe_output` turn per-step scores or one-hots back
    into text.
    """

    encoder_mode: str = "select"
    encoder_shape: tuple = ()
    encoder_target_names: list | None = None
    #: the symbol of class 0, used to pad words to T steps and to end them
    pad_symbol: str = PAD

    # ---------------------------------------------------------- subclasses provide
    def split_triples(self, split: str) -> Triple:
        """All ``(x, t, y)`` of ``'train'``, ``'validate'`` or ``'test'``."""
        raise NotImplementedError

    def train_triples(self, batch_size: int, rng: np.random.Generator) -> Iterator[Triple]:
        """One epoch: :meth:`batches_per_epoch` batches of ``(x, t, y)``."""
        raise NotImplementedError

    def validate_triples(self, count: int, rng: np.random.Generator) -> Triple:
        """``count`` validation triples at random (all when fewer)."""
        x, t, y = self.split_triples("validate")
        if count is None or count >= len(t):
            return x, t, y
        index = rng.permutation(len(t))[:max(0, int(count))]
        return x[index], t[index], y[index]

    # ---------------------------------------------------------- derived API
    def encoder_targets(self, split: str) -> np.ndarray:
        """``t`` of a split (aligned with that split's ``x`` and ``y``)."""
        return self.split_triples(check_split(split))[1]

    def stage(self, mode: str) -> EncoderDecoderStage:
        """A Dataset for one training mode: ``'both'`` (x → y), ``'encoder'`` (x → t) or
        ``'decoder'`` (t → y)."""
        return EncoderDecoderStage(self, mode)

    def train_batches(self, batch_size, rng):
        for x, _, y in self.train_triples(batch_size, rng):
            yield x, y

    def validate_sample(self, count, rng):
        x, _, y = self.validate_triples(count, rng)
        return x, y

    def train_data(self):
        x, _, y = self.split_triples("train")
        return x, y

    def validate_data(self):
        x, _, y = self.split_triples("validate")
        return x, y

    def test_data(self):
        x, _, y = self.split_triples("test")
        return x, y

    def decode(self, y) -> list[str]:
        """Per-step scores or one-hots ``(N, T, K)`` (or one ``(T, K)``) → texts.

        Each step reads as the symbol of its largest score; trailing pads (the end
        mark and the padding after it) are dropped, a pad inside is shown as ``'#'``.
        """
        y = np.asarray(y)
        single = y.ndim == 2
        index = np.argmax(y[None] if single else y, axis=-1)
        names = self.target_names
        texts = ["".join(names[k] for k in row).rstrip(self.pad_symbol) for row in index]
        return texts[0] if single else texts

    def describe_output(self, y_row) -> str:
        """One target or estimate ``(T, K)`` — or its per-step class indices ``(T,)``, as the
        text reports pass them — as its text, e.g. ``'seven'``, ``'삼백이십일'``."""
        row = np.asarray(y_row)
        if row.ndim == 1 and row.size == self.output_shape[0] and row.dtype.kind in "iu":
            return "".join(self.target_names[k] for k in row).rstrip(self.pad_symbol)
        return self.decode(row.reshape(self.output_shape))

    def describe_encoder_output(self, t_row) -> str:
        """One intermediate target or estimate as text (a digit class or a number)."""
        t_row = np.asarray(t_row).reshape(-1)
        if self.encoder_mode == "select":
            names = self.encoder_target_names or [str(i) for i in range(len(t_row))]
            return names[int(np.argmax(t_row))]
        return ", ".join(f"{v:.1f}" for v in t_row)

    def _epoch_order(self, count: int, batch_size: int, rng) -> Iterator[np.ndarray]:
        steps = self.batches_per_epoch(batch_size)
        order = rng.permutation(count)
        for k in range(steps):
            yield order[k * batch_size:(k + 1) * batch_size]


def check_split(split: str) -> str:
    if split not in ("train", "validate", "test"):
        raise DataError(f"split must be 'train', 'validate' or 'test', got {split!r}")
    return split


class EncoderDecoderStage(Dataset):
    """One training mode of an :class:`EncoderDecoderDataset`, as a plain Dataset.

    ``'both'``: x → y; ``'encoder'``: x → t (mode ``encoder_mode``); ``'decoder'``:
    t → y. Shares the parent's arrays (and its generator for fresh batches); the
    counts are the parent's. ``parent`` and ``stage_mode`` say where it came from.
    """

    def __init__(self, parent: EncoderDecoderDataset, mode: str):
        if mode not in STAGES:
            raise DataError(f"an encoder-decoder training mode is one of {', '.join(STAGES)}, "
                            f"got {mode!r}")
        self.parent, self.stage_mode = parent, mode
        self._pick = {"both": (0, 2), "encoder": (0, 1), "decoder": (1, 2)}[mode]
        takes_x, gives_t = self._pick[0] == 0, self._pick[1] == 1
        super().__init__(
            f"{parent.name}-{mode}", parent.encoder_mode if gives_t else parent.mode,
            source=parent.source,
            input_shape=parent.input_shape if takes_x else parent.encoder_shape,
            output_shape=parent.encoder_shape if gives_t else parent.output_shape,
            target_names=parent.encoder_target_names if gives_t else parent.target_names)
        # keep SeqShape markers (Dataset.__init__ stores plain tuples)
        self.input_shape = parent.input_shape if takes_x else parent.encoder_shape
        self.output_shape = parent.encoder_shape if gives_t else parent.output_shape
        self.train_count = parent.train_count
        self.validate_count = parent.validate_count
        self.test_count = parent.test_count
        if takes_x and hasattr(parent, "input_images"):
            self.input_images = parent.input_images
        self.describe_input = parent.describe_input if takes_x else parent.describe_encoder_output
        self.describe_output = parent.describe_encoder_output if gives_t else parent.describe_output

    def _pair(self, triple: Triple):
        return triple[self._pick[0]], triple[self._pick[1]]

    def train_batches(self, batch_size, rng):
        for triple in self.parent.train_triples(batch_size, rng):
            yield self._pair(triple)

    def validate_sample(self, count, rng):
        return self._pair(self.parent.validate_triples(count, rng))

    def train_data(self):
        return self._pair(self.parent.split_triples("train"))

    def validate_data(self):
        return self._pair(self.parent.split_triples("validate"))

    def test_data(self):
        return self._pair(self.parent.split_triples("test"))
