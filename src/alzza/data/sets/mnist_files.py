"""The MNIST files and pixels that the data sets of chapters 13–15 share (mnist, mnist-eng,
mnist-kor and gan-mnist: one module each beside this one).

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ..readers.idx import read_idx
from ..generators.korean_numerals import PAD
from ..store.locate import find_data_file, missing_file_message, resolve_data_root
from ..registry import checked_option

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
FLATTEN = Option(bool, True, doc="one row of 784 values (MLPs); false keeps (28, 28, 1) for CNNs")
SCALE = Option(bool, False, doc="divide pixels by 255 into [0, 1] (alzza variant; the book feeds raw 0–255 values)")


def image_shape(flatten: bool) -> tuple:
    """The shape of one MNIST image as an input: (784,) or (28, 28, 1)."""
    return (PIXELS,) if flatten else (SIDE, SIDE, 1)


def pixel_range(scale: bool) -> tuple:
    """The values a 0 and a 255 pixel become: (0, 1) scaled, else (0, 255)."""
    return (0.0, 1.0) if scale else (0.0, 255.0)


def scaled_name(name: str, scale: bool) -> str:
    return name + ("-scaled" if scale else "")


class _MnistPixels:
    """Shared by the MNIST data sets: uint8 images → inputs and back."""

    scale: bool = False
    flatten: bool = True
    #: the value a 0 pixel and a 255 pixel become in the inputs
    value_range: tuple = (0.0, 255.0)

    def _set_pixels(self, flatten, scale, value_range=None) -> None:
        self.flatten = checked_option(flatten, FLATTEN, "flatten")
        self.scale = checked_option(scale, SCALE, "scale")
        self.value_range = value_range or pixel_range(self.scale)

    @property
    def image_shape(self) -> tuple:
        """The shape of one image as an input: (784,) or (28, 28, 1)."""
        return image_shape(self.flatten)

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


