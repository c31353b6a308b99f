"""The MNIST data sets of chapters 13–15: mnist, mnist-eng, mnist-kor and gan-mnist.

Files
-----
``<data>/mnist/`` holds MNIST's IDX files, raw or gzip (see :mod:`alzza.data.readers.idx`):
``train-images-idx3-ubyte`` + ``train-labels-idx1-ubyte`` (60,000 digits) and/or
``t10k-images-idx3-ubyte`` + ``t10k-labels-idx1-ubyte`` (10,000), each name optionally
ending in ``.gz`` (the ``train-images.idx3-ubyte`` spelling of some downloads is
accepted too). Whichever sets are present are used (:func:`load_mnist`):

- both: the training file is shuffled with the run's generator, 5 % of it (the book's
  validation share) becomes the validation split and the rest the training split; the
  t10k file is the test split (60,000 → 57,000 / 3,000 / 10,000);
- only one of them: it is split by the book's rule, 80 % (a multiple of 10) / 5 % /
  the rest (10,000 t10k digits → 8,000 / 500 / 1,500). This is said once per process
  (printed) and in every data set's ``source``: the book trained on the 60,000-digit
  training file, so its figures are not strictly comparable.

Pixels
------
The book feeds MNIST's raw 0–255 pixel values to its networks (chapters 13 and 14), and
so do we by default; option ``scale: true`` divides them by 255 (into [0, 1]) and adds
``-scaled`` to the name — the same convention as the image data sets. ``flatten``
(default true) gives one row of 784 values per image; false keeps ``(28, 28, 1)``
(NHWC) for CNNs. gan-mnist always scales to [−1, 1] as the book does (for a tanh
generator).

Data sets
---------
``mnist`` (select, 10 classes ``'0'``–``'9'``)
    option ``train_ratio`` [1.0]: only the first ``int(train_count · ratio)`` examples of
    the (shuffled) training split keep their labels, as the book's autoencoder chapter
    does. ``train_batches`` / ``train_count`` / ``train_data`` see that labelled subset
    only; :meth:`MnistDataset.unlabelled_train_inputs` (and
    :meth:`~MnistDataset.autoencode_batches`, ``autoencode_count``) give ALL training
    inputs for unsupervised pre-training.

``mnist-eng`` and ``mnist-kor`` (encoder-decoder data, final mode ``seqselect``)
    Each example is a triple ``(x, t, y)``: the input, the *intermediate* target the
    encoder is trained on alone, and the final target. See
    :class:`EncoderDecoderDataset`: the plain Dataset API serves ``x → y`` (training
    mode ``both``), :meth:`~EncoderDecoderDataset.stage` gives a Dataset for
    ``'encoder'`` (``x → t``) or ``'decoder'`` (``t → y``), and
    :meth:`~EncoderDecoderDataset.encoder_targets` / ``split_triples`` /
    ``train_triples`` give the intermediate targets directly.

    - mnist-eng: one digit image → its English word, a letter per step. Symbols: the
      pad ``'#'`` then a–z (27). ``T = 6``: the longest words (three, seven, eight)
      have 5 letters and every word is followed by at least one pad, the end mark — the
      book's layout (``words[:, 1:, 0] = 1`` over 6 steps). All steps count; the pad
      is a real target. ``output_shape`` is ``SeqShape((6, 27))`` and ``y`` a plain
      ``(N, 6, 27)`` float32 one-hot array. ``t`` = the digit one-hot (10,), mode
      ``select``.
    - mnist-kor: ``digits`` images (option, 1–4; the book's ``cnt`` is 2, 3 or 4) → the
      Korean reading of the number they spell (:mod:`alzza.data.generators.korean_numerals`).
      Digits are drawn uniformly, leading zeros included, and read as the number they
      form, as the book does: 0 5 → 5 → 오, 0 0 → 0 → 영. Symbols: ``'#'`` 영 일 이 삼
      사 오 육 칠 팔 구 십 백 천 (14). ``T = 2 · digits``: the longest reading
      (``2 · digits − 1``, e.g. 구천구백구십구) plus the end mark, the book's layout;
      ``output_shape`` is ``SeqShape((2·digits, 14))``, ``y`` a plain array; every
      step, pads included, holds one 1 (the book left the steps after the end mark
      all-zero — a slip we do not copy).
      The input is a :class:`~alzza.sequences.Sequences` of ``digits`` steps (all
      lengths = ``digits``), each step one image: ``(N, digits, 784)`` or
      ``(N, digits, 28, 28, 1)``; ``input_shape`` is the matching SeqShape. ``t`` = the number itself, ``(1,)``, mode
      ``regression`` (the book's encoder target, unscaled). Option ``count`` [100000]
      (the book's) sets the size: 80 % (a multiple of 10) is one training epoch,
      generated fresh for every batch from the training split's images (SPEC §3:
      captioned digit strings are generated on demand); 5 % validation and the rest
      test are drawn once, from the validation / test images, with the run's generator.
      No image is shared between splits.

``gan-mnist`` (mode ``gan``)
    The book's GanDatasetMnist: the training file's digits (the t10k file when only it
    is here), scaled to [−1, 1], optionally only the classes in ``nums`` (e.g. [6, 8])
    and only the first ``max_cnt`` of them in file order (0 = all), then split by the
    book's rule. ``x`` is the real image; ``y`` is a column of ones ``(N, 1)``: "real",
    the discriminator's target for these examples (the generator's examples get 0).
    ``output_shape == (1,)`` (one discriminator logit). ``value_range == (-1.0, 1.0)``;
    :meth:`~GanMnistDataset.input_images` turns real or generated rows into pictures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ...sequences import SeqShape, Sequences
from ..dataset import Dataset
from .encoder_decoder import EncoderDecoderDataset, EncoderDecoderStage, Triple, check_split
from ..readers.idx import read_idx
from ..generators.korean_numerals import PAD, read_korean
from ..generators.korean_numerals import SYMBOLS as KOREAN_SYMBOLS
from ..store.locate import find_data_file, missing_file_message, resolve_data_root
from ..registry import register_dataset

__all__ = [
    "DIGIT_NAMES",
    "ENGLISH_STEPS",
    "ENGLISH_SYMBOLS",
    "ENGLISH_WORDS",
    "MNIST_SOURCE",
    "EncoderDecoderDataset",
    "EncoderDecoderStage",
    "GanMnistDataset",
    "MnistDataset",
    "MnistEngDataset",
    "MnistKorDataset",
    "MnistSplits",
    "english_targets",
    "find_mnist_files",
    "korean_targets",
    "load_mnist",
    "read_mnist_set",
]

MNIST_DIR = "mnist"
MNIST_SOURCE = ("MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) — IDX files train-images-idx3-ubyte, "
                "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte "
                "(optionally .gz)")
SIDE = 28
PIXELS = SIDE * SIDE
DIGIT_NAMES = [str(d) for d in range(10)]
ENGLISH_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ENGLISH_SYMBOLS = (PAD, *"abcdefghijklmnopqrstuvwxyz")
#: the longest word (5 letters) plus at least one pad as the end mark (the book's layout)
ENGLISH_STEPS = max(len(w) for w in ENGLISH_WORDS) + 1
#: the book's validation share, used when the training and test files are both present
VALIDATE_RATIO = 0.05
#: mnist-kor: the book's number of examples (``np.arange(0, 100000) % 10**cnt``)
KOREAN_COUNT = 100_000

# notes already printed in this process (the t10k-only split is said once, not per data set)
_NOTED: set[str] = set()


def _note(text: str, printer=print) -> None:
    if text not in _NOTED:
        _NOTED.add(text)
        printer(text)


# =========================================================================== files
def _names(kind: str, what: str, idx: str) -> list[str]:
    """The file names accepted for one file, preferred first: ``t10k-images-idx3-ubyte.gz``…"""
    plain = [f"{kind}-{what}-{idx}-ubyte", f"{kind}-{what}.{idx}-ubyte"]
    return [name + suffix for name in plain for suffix in (".gz", "")]


def _find(folder: Path, names: list[str]) -> Path | None:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


def find_mnist_files(data_dir=None, dataset: str = "mnist") -> dict[str, tuple[Path, Path]]:
    """The MNIST sets present in ``<data>/mnist``: ``{'train': (images, labels), 't10k': ...}``.

    At least one complete set (images and labels) must be there; a set with only one of
    its two files is an error naming the missing one. Raises :class:`DataError` with
    the folder searched and how to fix it.
    """
    folder = find_data_file(MNIST_DIR, data_dir, dataset=dataset, source=MNIST_SOURCE)
    root, rule = resolve_data_root(data_dir)
    found = {}
    for kind in ("train", "t10k"):
        images = _find(folder, _names(kind, "images", "idx3"))
        labels = _find(folder, _names(kind, "labels", "idx1"))
        if images and labels:
            found[kind] = (images, labels)
        elif images or labels:
            have, need = (images, "labels") if images else (labels, "images")
            idx = "idx1" if need == "labels" else "idx3"
            raise DataError(
                f"data set '{dataset}': found {have} but not its {need} file "
                f"({kind}-{need}-{idx}-ubyte or .gz) in {folder}; MNIST's images and labels "
                "come in pairs — put the missing file beside it")
    if not found:
        relative = f"{MNIST_DIR}/t10k-images-idx3-ubyte.gz"
        message = missing_file_message(relative, folder / "t10k-images-idx3-ubyte.gz", root,
                                       rule, dataset, MNIST_SOURCE)
        raise DataError(message + f"\n  {folder} holds neither the training files "
                        "(train-images-idx3-ubyte + train-labels-idx1-ubyte) nor the test "
                        "files (t10k-images-idx3-ubyte + t10k-labels-idx1-ubyte), raw or .gz")
    return found


def read_mnist_set(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """One MNIST set: images uint8 ``(n, 28, 28)`` and labels uint8 ``(n,)`` (0–9).

    Beyond the IDX checks of :func:`~alzza.data.readers.idx.read_idx`: labels must be 1-D,
    images 3-D of 28×28, the counts must agree and every label must be a digit.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: a label file holds one dimension (magic 0x00000801), "
                        f"this one has {labels.ndim} ({' × '.join(map(str, labels.shape))}); "
                        "is it an image file?")
    if images.ndim != 3:
        raise DataError(f"{images_path}: an image file holds three dimensions (magic "
                        f"0x00000803), this one has {images.ndim}; is it a label file?")
    if images.shape[1:] != (SIDE, SIDE):
        raise DataError(f"{images_path}: MNIST images are {SIDE}×{SIDE}, these are "
                        f"{images.shape[1]}×{images.shape[2]}")
    if len(images) != len(labels):
        raise DataError(f"count mismatch: {images_path} holds {len(images)} images but "
                        f"{labels_path} holds {len(labels)} labels")
    if len(labels) and labels.max() > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise DataError(f"{labels_path}: label {int(labels[bad])} at position {bad} is not a "
                        "digit 0–9")
    return images, labels


Pool = tuple[np.ndarray, np.ndarray]  # images uint8 (n, 28, 28), labels uint8 (n,)


@dataclass
class MnistSplits:
    """MNIST's digits split into train / validate / test, each ``(images, labels)``."""

    train: Pool
    validate: Pool
    test: Pool
    #: where the digits come from and how they were split (for ``Dataset.source``)
    source: str
    #: the sets read: ('train', 't10k'), ('t10k',) or ('train',)
    sets: tuple

    def split(self, name: str) -> Pool:
        return {"train": self.train, "validate": self.validate, "test": self.test}[name]


def _take(pool: Pool, index) -> Pool:
    return pool[0][index], pool[1][index]


def load_mnist(data_dir=None, rng=None, dataset: str = "mnist", printer=print) -> MnistSplits:
    """Read the MNIST files present and split them (see the module text for the rule)."""
    rng = make_rng(rng)
    files = find_mnist_files(data_dir, dataset)
    sets = {kind: read_mnist_set(*paths) for kind, paths in files.items()}
    folder = files[next(iter(files))][0].parent
    if "train" in sets and "t10k" in sets:
        train = sets["train"]
        count = len(train[0])
        validate = int(count * VALIDATE_RATIO)
        order = rng.permutation(count)
        source = (f"MNIST from {folder}: the training file (shuffled; {count - validate} train, "
                  f"{validate} validate) and the t10k file ({len(sets['t10k'][0])} test)")
        return MnistSplits(_take(train, order[validate:]), _take(train, order[:validate]),
                           sets["t10k"], source, ("train", "t10k"))
    (kind, pool), = sets.items()
    count = len(pool[0])
    if count == 0:
        raise DataError(f"{files[kind][0]}: the file holds no images")
    train = int(count * 0.8 / 10) * 10
    validate = int(count * VALIDATE_RATIO)
    order = rng.permutation(count)
    which = "test (t10k)" if kind == "t10k" else "training"
    other = "training" if kind == "t10k" else "test (t10k)"
    source = (f"MNIST from {folder}: only the {which} files are here ({count} digits), split by "
              f"the book's rule into {train} train / {validate} validate / "
              f"{count - train - validate} test")
    if kind == "t10k":
        source += "; the book trained on the 60,000 digits of the training file"
    _note(f"{dataset}: {source} (no {other} files found)", printer)
    return MnistSplits(_take(pool, order[:train]), _take(pool, order[train:train + validate]),
                       _take(pool, order[train + validate:]), source, (kind,))


def mnist_pool(data_dir=None, dataset: str = "mnist") -> tuple[Pool, str]:
    """One pool of digits, unsplit: the training file if present, else the t10k file."""
    files = find_mnist_files(data_dir, dataset)
    kind = "train" if "train" in files else "t10k"
    pool = read_mnist_set(*files[kind])
    name = files[kind][0].name
    return pool, f"MNIST {kind} file {files[kind][0].parent / name} ({len(pool[0])} digits)"


# =========================================================================== pixels
def _check_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise DataError(f"option '{name}' must be true or false, got {value!r}")
    return bool(value)


FLATTEN = Option(bool, True, doc="one row of 784 values (MLPs); false keeps (28, 28, 1) for CNNs")
SCALE = Option(bool, False, doc="divide pixels by 255 into [0, 1] (alzza variant; the book feeds raw 0–255 values)")


class _MnistPixels:
    """Shared by the MNIST data sets: uint8 images → inputs and back."""

    scale: bool = False
    flatten: bool = True
    #: the value a 0 pixel and a 255 pixel become in the inputs
    value_range: tuple = (0.0, 255.0)

    def _set_pixels(self, flatten, scale, value_range=None) -> None:
        self.flatten = _check_flag("flatten", flatten)
        self.scale = _check_flag("scale", scale)
        self.value_range = value_range or ((0.0, 1.0) if self.scale else (0.0, 255.0))

    @property
    def image_shape(self) -> tuple:
        """The shape of one image as an input: (784,) or (28, 28, 1)."""
        return (PIXELS,) if self.flatten else (SIDE, SIDE, 1)

    def _pixels(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (..., 28, 28) → float32 inputs (..., 784) or (..., 28, 28, 1)."""
        low, high = self.value_range
        lead = images.shape[:-2]
        x = images.astype(np.float32)
        if (low, high) != (0.0, 255.0):
            x *= np.float32((high - low) / 255.0)
            x += np.float32(low)
        return x.reshape(*lead, *self.image_shape)

    def _to_uint8(self, x) -> np.ndarray:
        """Inputs (any leading axes) → uint8 pixels (..., 28, 28)."""
        low, high = self.value_range
        x = np.asarray(x, dtype=np.float32)
        x = x.reshape(*x.shape[:len(x.shape) - len(self.image_shape)], SIDE, SIDE)
        pixels = (x - low) * (255.0 / (high - low))
        return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)

    def input_images(self, x) -> np.ndarray:
        """Input rows (or one row) back as uint8 grayscale pictures ``(n, 28, 28)``."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape == tuple(self.image_shape):
            x = x[None]
        return self._to_uint8(x)

    def describe_input(self, x_row) -> str:
        return f"image {SIDE}×{SIDE}"


# =========================================================================== mnist
def _check_ratio(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        return f"train_ratio must be a number in (0, 1], got {value!r}"
    return None


@register_dataset("mnist", options={
    "flatten": FLATTEN, "scale": SCALE,
    "train_ratio": Option(float, 1.0, doc="share of the training split that keeps its labels (the autoencoder "
                                          "pre-trains on all inputs)", check=_check_ratio),
}, summary="MNIST IDX files: 28×28 digit → class (select)")
class MnistDataset(_MnistPixels, Dataset):
    """mnist: a 28×28 digit → its class (select, 10 classes).

    With ``train_ratio`` < 1 only the first ``int(n · train_ratio)`` training examples
    keep their labels: ``train_count``, ``train_batches`` and ``train_data`` cover that
    labelled subset; :meth:`unlabelled_train_inputs` / :meth:`autoencode_batches` /
    ``autoencode_count`` cover all ``n`` training inputs (labels unused).
    """

    def __init__(self, data_dir=None, rng=None, flatten: bool = True, scale: bool = False,
                 train_ratio: float = 1.0, printer=print):
        self._set_pixels(flatten, scale)
        problem = _check_ratio(train_ratio)
        if problem:
            raise DataError(problem)
        rng = make_rng(rng)
        splits = load_mnist(data_dir, rng, "mnist", printer)
        super().__init__("mnist" + ("-scaled" if self.scale else ""), "select",
                         input_shape=self.image_shape, output_shape=(10,),
                         target_names=list(DIGIT_NAMES), source=splits.source)
        self.splits = splits
        eye = np.eye(10, dtype=np.float32)
        pairs = [(self._pixels(images), eye[labels]) for images, labels in
                 (splits.train, splits.validate, splits.test)]
        self._set_splits(*pairs)
        self._all_train = self._train
        self.train_ratio = float(train_ratio)
        self.autoencode_count = self.train_count
        labelled = int(self.autoencode_count * self.train_ratio)
        if labelled < 1:
            raise DataError(f"mnist: train_ratio {train_ratio} keeps no labels of the "
                            f"{self.autoencode_count} training examples; raise it")
        if labelled < self.autoencode_count:
            self._train = (self._train[0][:labelled], self._train[1][:labelled])
            self.train_count = labelled
            self.source += (f"; labels kept for {labelled} of the {self.autoencode_count} "
                            f"training examples (train_ratio {self.train_ratio:g})")
        #: how many training examples keep their labels (== train_count)
        self.labelled_count = self.train_count

    def unlabelled_train_inputs(self) -> np.ndarray:
        """ALL training inputs (labelled or not), for unsupervised (autoencoder) training."""
        return self._all_train[0]

    def all_train_targets(self) -> np.ndarray:
        """The targets of ALL training inputs, hidden ones included — for reports only
        (e.g. whether semantic-hash neighbours share a digit); never train on them."""
        return self._all_train[1]

    def autoencode_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """One epoch over ALL training inputs in a fresh random order: input batches only.

        ``autoencode_count // batch_size`` batches of exactly ``batch_size`` (one batch
        of all of them when there are fewer).
        """
        x = self._all_train[0]
        count = max(1, self.autoencode_count // batch_size) if self.autoencode_count else 0
        order = rng.permutation(self.autoencode_count)
        for k in range(count):
            yield x[order[k * batch_size:(k + 1) * batch_size]]


def _one_hot_words(words, symbols, steps: int) -> np.ndarray:
    """Words (lists of symbols) → ``(n, steps, len(symbols))`` one-hots, padded with the
    pad symbol (class 0) — every step, pads included, holds exactly one 1."""
    index = {s: k for k, s in enumerate(symbols)}
    out = np.zeros((len(words), steps, len(symbols)), dtype=np.float32)
    out[:, :, 0] = 1.0
    for n, word in enumerate(words):
        if len(word) >= steps:
            raise ValueError(f"{''.join(word)!r} needs {len(word)} steps + an end mark, "
                             f"only {steps} steps")
        for m, symbol in enumerate(word):
            out[n, m, 0] = 0.0
            out[n, m, index[symbol]] = 1.0
    return out


def english_targets() -> np.ndarray:
    """``(10, 6, 27)``: the one-hot word of each digit (row d = the word of d)."""
    return _one_hot_words([list(w) for w in ENGLISH_WORDS], ENGLISH_SYMBOLS, ENGLISH_STEPS)


def korean_targets(digits: int) -> np.ndarray:
    """``(10**digits, 2·digits, 14)``: the one-hot reading of every number of ``digits`` digits."""
    words = [read_korean(n) for n in range(10 ** digits)]
    return _one_hot_words(words, KOREAN_SYMBOLS, 2 * digits)


@register_dataset("mnist-eng", options={"flatten": FLATTEN, "scale": SCALE},
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
        super().__init__("mnist-eng" + ("-scaled" if self.scale else ""), "seqselect",
                         input_shape=self.image_shape,
                         output_shape=(ENGLISH_STEPS, len(ENGLISH_SYMBOLS)),
                         target_names=list(ENGLISH_SYMBOLS), source=splits.source)
        self.output_shape = SeqShape(self.output_shape)  # per-step targets
        self.encoder_mode, self.encoder_shape = "select", (10,)
        self.encoder_target_names = list(DIGIT_NAMES)
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


def _check_digits(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        return f"digits must be 1, 2, 3 or 4 (the book uses 2, 3 and 4), got {value!r}"
    return None


def _check_count(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 20:
        return f"count must be an integer of at least 20, got {value!r}"
    return None


@register_dataset("mnist-kor", options={
    "digits": Option(int, 3, doc="digit images per example: 1–4 (the book: 2, 3, 4)", check=_check_digits),
    "flatten": FLATTEN, "scale": SCALE,
    "count": Option(int, KOREAN_COUNT, doc="examples in all: 80% an epoch of fresh training examples, 5% validate, "
                                           "the rest test", check=_check_count),
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
        problem = _check_digits(digits) or _check_count(count)
        if problem:
            raise DataError(problem)
        self._set_pixels(flatten, scale)
        self._printer = printer
        rng = make_rng(rng)
        splits = load_mnist(data_dir, rng, "mnist-kor", printer)
        self.digits = int(digits)
        steps = 2 * self.digits
        super().__init__(f"mnist-kor{self.digits}" + ("-scaled" if self.scale else ""),
                         "seqselect", input_shape=SeqShape((self.digits, *self.image_shape)),
                         output_shape=(steps, len(KOREAN_SYMBOLS)),
                         target_names=list(KOREAN_SYMBOLS), source=splits.source)
        # Dataset.__init__ stores plain tuples: mark the sequence shapes again
        self.input_shape = SeqShape((self.digits, *self.image_shape))
        self.output_shape = SeqShape((steps, len(KOREAN_SYMBOLS)))
        self.encoder_mode, self.encoder_shape, self.encoder_target_names = "regression", (1,), None
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
def _check_nums(value) -> str | None:
    if value is None:
        return None
    if (not isinstance(value, (list, tuple))
            or any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 9 for v in value)):
        return f"nums must be a list of digits 0–9 (e.g. [6, 8]), got {value!r}"
    return None


def _check_max_cnt(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"max_cnt must be a whole number ≥ 0 (0 = all), got {value!r}"
    return None


@register_dataset("gan-mnist", options={
    "nums": Option((list, tuple), None, doc="only these digits, e.g. [6, 8] (default all)", check=_check_nums),
    "max_cnt": Option(int, 0, doc="at most this many images, first in file order (0 = all)", check=_check_max_cnt),
    "flatten": FLATTEN,
}, summary="MNIST digits in [-1, 1] for a GAN, optionally some classes and a max count (gan)")
class GanMnistDataset(_MnistPixels, Dataset):
    """gan-mnist: real digits in [−1, 1] for a GAN (mode ``gan``); ``y`` = 1 ("real")."""

    def __init__(self, data_dir=None, rng=None, nums=None, max_cnt: int = 0,
                 flatten: bool = True):
        problem = _check_nums(nums) or _check_max_cnt(max_cnt)
        if problem:
            raise DataError(problem)
        self._set_pixels(flatten, False, value_range=(-1.0, 1.0))
        (images, labels), source = mnist_pool(data_dir, "gan-mnist")
        nums = sorted({int(n) for n in nums}) if nums else []
        keep = np.isin(labels, nums) if nums else np.ones(len(labels), dtype=bool)
        index = np.flatnonzero(keep)
        if max_cnt:
            index = index[:max_cnt]
        if len(index) == 0:
            raise DataError(f"gan-mnist: {source} holds no image of the digits {nums}")
        name = "gan-mnist" + ("-" + "".join(map(str, nums)) if nums else "")
        what = f"digits {', '.join(map(str, nums))}" if nums else "all digits"
        super().__init__(name, "gan", input_shape=self.image_shape, output_shape=(1,),
                         source=f"{source}: {what}, {len(index)} images"
                                + (f" (max_cnt {max_cnt}, first in file order)" if max_cnt else "")
                                + ", scaled to [-1, 1]")
        self.nums, self.max_cnt = nums, int(max_cnt)
        x = self._pixels(images[index])
        self._split(x, np.ones((len(index), 1), dtype=np.float32), make_rng(rng))

    def describe_input(self, x_row) -> str:
        return f"image {SIDE}×{SIDE} in [-1, 1]"
