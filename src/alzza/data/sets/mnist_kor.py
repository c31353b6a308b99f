"""``mnist-kor``: images of several digits → the number read in Sino-Korean words (chapter 14)."""

from __future__ import annotations

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ...sequences import SeqShape, Sequences
from .encoder_decoder import EncoderDecoderDataset, Triple, check_split
from ..generators.korean_numerals import read_korean
from ..generators.korean_numerals import SYMBOLS as KOREAN_SYMBOLS
from ..dataset import declared
from ..registry import checked_option, register_dataset
from .mnist_files import image_shape, pixel_range, scaled_name
from .mnist_files import (
    FLATTEN,
    KOREAN_COUNT,
    load_mnist,
    _MnistPixels,
    _note,
    _one_hot_words,
    SCALE,
    SIDE,
    VALIDATE_RATIO,
)


def korean_targets(digits: int) -> np.ndarray:
    """``(10**digits, 2·digits, 14)``: the one-hot reading of every number of ``digits`` digits."""
    words = [read_korean(n) for n in range(10 ** digits)]
    return _one_hot_words(words, KOREAN_SYMBOLS, 2 * digits)




DIGITS = Option(int, 3, doc="digit images per example: 1–4 (the book: 2, 3, 4)", check=lambda v: 1 <= v <= 4,
                expects="1, 2, 3 or 4 (the book uses 2, 3 and 4)")
COUNT = Option(int, KOREAN_COUNT, doc="examples in all: 80% an epoch of fresh training examples, 5% validate, "
                                      "the rest test", check=lambda v: v >= 20, expects="at least 20")


def mnist_kor_shapes(digits: int = 3, flatten: bool = True, scale: bool = False, **_count) -> dict:
    """mnist-kor's name, mode, shapes, symbols, encoder target and pixel range from its options (the constructor
    and summaries read these)."""
    digits = int(digits)
    return {"name": scaled_name(f"mnist-kor{digits}", scale), "mode": "seqselect",
            "input_shape": SeqShape((digits, *image_shape(flatten))),
            "output_shape": SeqShape((2 * digits, len(KOREAN_SYMBOLS))), "target_names": list(KOREAN_SYMBOLS),
            "encoder_mode": "regression", "encoder_shape": (1,), "encoder_target_names": None,
            "value_range": pixel_range(scale)}


@register_dataset("mnist-kor", shapes=declared(mnist_kor_shapes), options={
    "digits": DIGITS,
    "flatten": FLATTEN, "scale": SCALE,
    "count": COUNT,
}, summary="2–4 MNIST digit images → the Korean reading of the number (regression → seqselect)")
class MnistKorDataset(_MnistPixels, EncoderDecoderDataset):
    """mnist-kor: ``digits`` digit images → the Korean reading of their number (seqselect).

    ``x``: :class:`~alzza.sequences.Sequences` ``(N, digits, 784)`` or
    ``(N, digits, 28, 28, 1)``, every length ``digits``; ``t``: the number ``(N, 1)``
    (regression); ``y``: the reading ``(N, 2·digits, 14)`` one-hot, padded with ``'#'``.
    ``input_shape`` / ``output_shape`` are SeqShapes ``(digits, 784)`` / ``(2·digits, 14)``.
    Training batches are drawn fresh (numbers uniform over 0 … 10**digits − 1, each
    digit a random training image of that digit); validation and test are fixed.
    ``numbers(split)`` gives the numbers of the fixed splits.
    """

    def __init__(self, data_dir=None, rng=None, digits: int = 3, flatten: bool = True,
                 scale: bool = False, count: int = KOREAN_COUNT, printer=print):
        digits, count = checked_option(digits, DIGITS, "digits"), checked_option(count, COUNT, "count")
        self._set_pixels(flatten, scale)
        self._printer = printer
        rng = make_rng(rng)
        splits = load_mnist(data_dir, rng, "mnist-kor", printer)
        self.digits = int(digits)
        super().__init__(**mnist_kor_shapes(self.digits, self.flatten, self.scale), source=splits.source)
        self._table = korean_targets(self.digits)
        self._pools = {}
        for name in ("train", "validate", "test"):
            images, labels = splits.split(name)
            self._pools[name] = (images, [np.flatnonzero(labels == d) for d in range(10)])
        self._fill_missing_digits()
        self.train_count = int(count * 0.8 / 10) * 10
        self.validate_count = int(count * VALIDATE_RATIO)
        self.test_count = count - self.train_count - self.validate_count
        self.source += (f"; {self.digits}-digit numbers: {self.train_count} training examples an "
                        f"epoch drawn fresh, {self.validate_count} validate and "
                        f"{self.test_count} test drawn once")
        # fixed splits: the numbers and the images chosen for their digits (not the pixels)
        self._fixed = {name: self._draw(name, n, rng) for name, n in
                       (("validate", self.validate_count), ("test", self.test_count))}

    def _fill_missing_digits(self) -> None:
        """A split without any image of some digit (only tiny files) borrows that digit's
        images from the other splits, with a note."""
        for name, (images, by_digit) in self._pools.items():
            for d in range(10):
                if len(by_digit[d]):
                    continue
                donors = [other for other in ("train", "validate", "test")
                          if other != name and len(self._pools[other][1][d])]
                if not donors:
                    raise DataError(f"mnist-kor: no image of the digit {d} in any MNIST file")
                _note(f"mnist-kor: the {name} split has no image of the digit {d}; "
                      f"using those of the {donors[0]} split", self._printer)
                donor_images, donor_index = self._pools[donors[0]]
                extra = donor_images[donor_index[d]]
                by_digit[d] = np.arange(len(images), len(images) + len(extra))
                images = np.concatenate([images, extra])
            self._pools[name] = (images, by_digit)

    def _draw(self, split: str, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """``count`` random numbers and, for each digit, a random image index of the split."""
        numbers = rng.integers(0, 10 ** self.digits, size=count)
        places = 10 ** np.arange(self.digits - 1, -1, -1)
        digit_of = numbers[:, None] // places % 10
        chosen = np.empty(digit_of.shape, dtype=np.int64)
        by_digit = self._pools[split][1]
        for d in range(10):
            where = digit_of == d
            hits = int(where.sum())
            if hits:
                chosen[where] = by_digit[d][rng.integers(0, len(by_digit[d]), size=hits)]
        return numbers, chosen

    def _materialise(self, split: str, numbers, chosen) -> Triple:
        images = self._pools[split][0]
        x = Sequences(np.ascontiguousarray(self._pixels(images[chosen])))
        t = numbers.astype(np.float32)[:, None]
        return x, t, self._table[numbers]

    def numbers(self, split: str) -> np.ndarray:
        """The numbers of the fixed ``'validate'`` or ``'test'`` examples."""
        if split == "train":
            raise DataError("mnist-kor draws its training numbers fresh for every batch")
        return self._fixed[check_split(split)][0]

    def split_triples(self, split):
        if check_split(split) == "train":
            raise DataError(f"{self.name} generates its training examples fresh for every batch; "
                            "use train_batches() / train_triples() (there is no fixed training split)")
        return self._materialise(split, *self._fixed[split])

    def train_triples(self, batch_size, rng):
        for _ in range(self.batches_per_epoch(batch_size)):
            yield self._materialise("train", *self._draw("train", batch_size, rng))

    def validate_triples(self, count, rng):
        numbers, chosen = self._fixed["validate"]
        if count is not None and count < len(numbers):
            index = rng.permutation(len(numbers))[:max(0, int(count))]
            numbers, chosen = numbers[index], chosen[index]
        return self._materialise("validate", numbers, chosen)

    def input_images(self, x) -> np.ndarray:
        """Inputs (Sequences or ``(n, digits, ...)``; or one example) → uint8 pictures
        ``(n, 28, 28·digits)``: the digit images side by side."""
        data = x.data if isinstance(x, Sequences) else np.asarray(x, dtype=np.float32)
        if data.shape == tuple(self.input_shape):
            data = data[None]
        pixels = self._to_uint8(data)  # (n, digits, 28, 28)
        return np.ascontiguousarray(pixels.transpose(0, 2, 1, 3).reshape(len(pixels), SIDE, -1))

    def describe_input(self, x_row) -> str:
        return f"{self.digits} digit images {SIDE}×{SIDE}"


# =========================================================================== gan-mnist
