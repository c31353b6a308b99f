"""``dummy``: a data set that only declares shapes (the book's ``DummyDataset``, ch. 9).

It holds no examples — train, validation and test splits are all empty — and reads no
files. It exists so that models far too big to train here (Inception v3, VGG-19,
ResNet-152 on ImageNet-sized inputs) can still be built and summarised::

    dataset: {name: dummy, input_shape: [224, 224, 3], classes: 1000}

Options:

- ``input_shape`` (required): the shape of one example, e.g. ``[299, 299, 3]``.
- ``classes`` (default 1000 for ``select``): the number of classes; the output shape
  is ``(classes,)``.
- ``output_shape``: the shape of one target, instead of ``classes``.
- ``mode`` (default ``select``): ``select``, ``binary`` or ``regression``.

Printed the book's way: ``dummy(select, 0+0+0)``. Training on it stops at once with a
message saying it has no examples.
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ...options import Option
from ..dataset import Dataset
from ..registry import register_dataset

MODES = ("select", "binary", "regression")
DEFAULT_CLASSES = 1000


def _positive_ints(value, what: str) -> str | None:
    if not isinstance(value, (list, tuple)) or not value:
        return f"{what} must be a non-empty list of positive integers, got {value!r}"
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            return f"{what} must be a list of positive integers, got {list(value)!r}"
    return None


def _check_classes(value) -> str | None:
    return None if value > 0 else f"classes must be a positive integer, got {value!r}"


def _check_mode(value) -> str | None:
    return None if value in MODES else f"mode must be one of {', '.join(MODES)}, got {value!r}"


OPTIONS = {
    "input_shape": Option((list, tuple), None, doc="shape of one example, e.g. [224, 224, 3] (required)",
                          check=lambda v: _positive_ints(v, "input_shape")),
    "classes": Option(int, None, doc=f"number of classes (default {DEFAULT_CLASSES} for select)",
                      check=_check_classes),
    "output_shape": Option((list, tuple), None, doc="shape of one target, instead of classes",
                           check=lambda v: _positive_ints(v, "output_shape")),
    "mode": Option(str, "select", doc=f"output mode: {', '.join(MODES)}", check=_check_mode),
}


class DummyDataset(Dataset):
    """Shapes and an output mode, no examples."""

    def __init__(self, input_shape, output_shape, mode: str = "select", name: str = "dummy"):
        super().__init__(name, mode, source="no data: shapes only (for building and summarising models)",
                         input_shape=tuple(int(d) for d in input_shape),
                         output_shape=tuple(int(d) for d in output_shape))
        if mode == "binary":
            self.target_names = ["no", "yes"]
        # empty splits that still have the declared shapes: (0, *input_shape), (0, *output_shape)
        empty = (np.zeros((0,) + self.input_shape, np.float32), np.zeros((0,) + self.output_shape, np.float32))
        self._set_splits(empty, empty, empty)


def make_dummy(data_dir=None, rng=None, *, input_shape=None, classes=None, output_shape=None,
               mode: str = "select") -> DummyDataset:
    """The registry factory: check the options and return a :class:`DummyDataset`."""
    del data_dir, rng  # nothing to read, nothing to shuffle
    if input_shape is None:
        raise SpecError("dataset.input_shape", "data set 'dummy' needs 'input_shape', "
                                               "e.g. [224, 224, 3]")
    if classes is not None and output_shape is not None:
        raise SpecError("dataset", "give data set 'dummy' either 'classes' or 'output_shape', not both")
    if output_shape is None:
        if classes is not None:
            output_shape = [classes]
        else:
            output_shape = [DEFAULT_CLASSES] if mode == "select" else [1]
    if mode == "binary" and list(output_shape) != [1]:
        raise SpecError("dataset.output_shape", f"mode 'binary' has one output, got {list(output_shape)}")
    return DummyDataset(input_shape, output_shape, mode)


# registered after its definition: the factory is its own declaration (it reads nothing already)
register_dataset("dummy", make_dummy, OPTIONS, shapes=make_dummy,
                 summary="no data, shapes only: for building and summarising big models (book ch. 9)")
