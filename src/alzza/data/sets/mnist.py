"""``mnist``: the ten digits as a select problem (chapter 13); files and pixels in :mod:`.mnist_files`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ..dataset import Dataset, declared
from ..registry import checked_option, register_dataset
from .mnist_files import DIGIT_NAMES, FLATTEN, image_shape, load_mnist, _MnistPixels, pixel_range, SCALE, scaled_name


TRAIN_RATIO = Option(float, 1.0, doc="share of the training split that keeps its labels (the autoencoder "
                                      "pre-trains on all inputs)",
                     check=lambda v: 0 < v <= 1, expects="a number in (0, 1]")


def mnist_shapes(flatten: bool = True, scale: bool = False, **_ratio) -> dict:
    """mnist's name, mode, shapes, class names and pixel range from its options (the constructor and summaries
    read these)."""
    return {"name": scaled_name("mnist", scale), "mode": "select", "input_shape": image_shape(flatten),
            "output_shape": (10,), "target_names": list(DIGIT_NAMES), "value_range": pixel_range(scale)}


@register_dataset("mnist", shapes=declared(mnist_shapes), options={
    "flatten": FLATTEN, "scale": SCALE,
    "train_ratio": TRAIN_RATIO,
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
        train_ratio = checked_option(train_ratio, TRAIN_RATIO, "train_ratio")
        rng = make_rng(rng)
        splits = load_mnist(data_dir, rng, "mnist", printer)
        super().__init__(**mnist_shapes(self.flatten, self.scale), source=splits.source)
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


