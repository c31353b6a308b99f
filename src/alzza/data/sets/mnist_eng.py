"""``mnist-eng``: a digit image → its English word, letter by letter (chapter 14)."""

from __future__ import annotations

import numpy as np

from ...backend import make_rng
from ...sequences import SeqShape
from .encoder_decoder import EncoderDecoderDataset, check_split
from ..generators.korean_numerals import read_korean
from ..generators.korean_numerals import SYMBOLS as KOREAN_SYMBOLS
from ..dataset import declared
from ..registry import register_dataset
from .mnist_files import image_shape, pixel_range, scaled_name
from .mnist_files import (
    DIGIT_NAMES,
    ENGLISH_STEPS,
    ENGLISH_SYMBOLS,
    ENGLISH_WORDS,
    FLATTEN,
    load_mnist,
    _MnistPixels,
    _one_hot_words,
    SCALE,
)


def english_targets() -> np.ndarray:
    """``(10, 6, 27)``: the one-hot word of each digit (row d = the word of d)."""
    return _one_hot_words([list(w) for w in ENGLISH_WORDS], ENGLISH_SYMBOLS, ENGLISH_STEPS)


def korean_targets(digits: int) -> np.ndarray:
    """``(10**digits, 2·digits, 14)``: the one-hot reading of every number of ``digits`` digits."""
    words = [read_korean(n) for n in range(10 ** digits)]
    return _one_hot_words(words, KOREAN_SYMBOLS, 2 * digits)


def mnist_eng_shapes(flatten: bool = True, scale: bool = False) -> dict:
    """mnist-eng's name, mode, shapes, symbols, encoder target and pixel range from its options (the constructor
    and summaries read these)."""
    return {"name": scaled_name("mnist-eng", scale), "mode": "seqselect", "input_shape": image_shape(flatten),
            "output_shape": SeqShape((ENGLISH_STEPS, len(ENGLISH_SYMBOLS))),  # per-step targets
            "target_names": list(ENGLISH_SYMBOLS), "encoder_mode": "select", "encoder_shape": (10,),
            "encoder_target_names": list(DIGIT_NAMES), "value_range": pixel_range(scale)}


@register_dataset("mnist-eng", options={"flatten": FLATTEN, "scale": SCALE}, shapes=declared(mnist_eng_shapes),
                  summary="MNIST digit → its English word, a letter per step (select → seqselect)")
class MnistEngDataset(_MnistPixels, EncoderDecoderDataset):
    """mnist-eng: a digit image → its English word, one letter per step (seqselect).

    ``x``: the image (784,) or (28, 28, 1); ``t``: the digit one-hot (10,) (select);
    ``y``: the word (6, 27) one-hot over ``'#'`` + a–z, padded with ``'#'``;
    ``output_shape`` is ``SeqShape((6, 27))`` (per-step targets, plain arrays).
    """

    def __init__(self, data_dir=None, rng=None, flatten: bool = True, scale: bool = False,
                 printer=print):
        self._set_pixels(flatten, scale)
        splits = load_mnist(data_dir, make_rng(rng), "mnist-eng", printer)
        super().__init__(**mnist_eng_shapes(self.flatten, self.scale), source=splits.source)
        self.words = list(ENGLISH_WORDS)
        eye, table = np.eye(10, dtype=np.float32), english_targets()
        self._triples = {}
        for name in ("train", "validate", "test"):
            images, labels = splits.split(name)
            self._triples[name] = (np.ascontiguousarray(self._pixels(images)),
                                   eye[labels], table[labels])
        self._train = (self._triples["train"][0], self._triples["train"][2])
        self._validate = (self._triples["validate"][0], self._triples["validate"][2])
        self._test = (self._triples["test"][0], self._triples["test"][2])
        self.train_count, self.validate_count, self.test_count = (
            len(self._triples[s][0]) for s in ("train", "validate", "test"))

    def split_triples(self, split):
        return self._triples[check_split(split)]

    def train_triples(self, batch_size, rng):
        x, t, y = self._triples["train"]
        for index in self._epoch_order(self.train_count, batch_size, rng):
            yield x[index], t[index], y[index]


