"""A data set over arrays the user already has (``Model.fit(x, y, validation_data=...)``)."""

from __future__ import annotations

import numpy as np

from ...errors import DataError
from ...sequences import Sequences
from ..dataset import Dataset


class ArrayDataset(Dataset):
    """Training examples ``(x, y)`` and optional validation ``(vx, vy)``; no test split.

    Shapes are checked against the model's so a wrong array fails here, with both
    shapes named, rather than deep inside a layer.
    """

    def __init__(self, x, y, validation_data=None, *, input_shape, output_shape, mode, name="arrays"):
        super().__init__(name, mode, source="arrays", input_shape=tuple(input_shape),
                         output_shape=tuple(output_shape))
        train = self._checked(x, y, "x, y")
        if validation_data is None:
            empty_x = np.zeros((0,) + tuple(input_shape), dtype=np.float32)
            validate = (empty_x, np.zeros((0,) + tuple(output_shape), dtype=np.float32))
        else:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise DataError("validation_data must be a pair (x, y) of arrays")
            validate = self._checked(*validation_data, "validation_data")
        empty = (validate[0][:0], validate[1][:0])
        self._set_splits(train, validate, empty)

    def _checked(self, x, y, what):
        x, y = as_inputs(x, self.input_shape, what), as_targets(y, self.output_shape, what)
        if len(x) != len(y):
            raise DataError(f"{what}: {len(x)} inputs but {len(y)} targets")
        return x, y


def as_inputs(x, input_shape, what: str = "x"):
    """Inputs (N, ...input_shape) as float32; flattened rows (N, prod) are reshaped.
    Sequences pass as they are."""
    if isinstance(x, Sequences):
        return x
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 1 or tuple(x.shape[1:]) != tuple(input_shape):
        if x.ndim < 1 or int(np.prod(x.shape[1:])) != int(np.prod(input_shape)):
            raise DataError(f"{what}: inputs of shape {tuple(x.shape[1:])} do not fit the model's input shape "
                            f"{tuple(input_shape)}")
        x = x.reshape((len(x),) + tuple(input_shape))
    return x


def as_targets(y, output_shape, what: str = "y"):
    """Targets as float32 in the output's shape: one-hot rows or the output's own values
    as they are; 1-D class indices (N,) become one-hot rows for a K-wide output (K > 1),
    a column for a 1-wide one (binary 0/1, regression)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1 and len(output_shape) == 1:
        y = y.reshape(-1, 1) if output_shape[0] == 1 else _one_hot(y, output_shape[0], what)
    if y.ndim < 1 or int(np.prod(y.shape[1:])) != int(np.prod(output_shape)):
        raise DataError(f"{what}: targets of shape {tuple(y.shape[1:])} do not fit the model's output shape "
                        f"{tuple(output_shape)}")
    return y


def _one_hot(labels, classes, what):
    """Integer class labels (N,) → one-hot (N, classes), as Keras' sparse labels."""
    index = labels.astype(np.int64)
    if not np.array_equal(index, labels) or index.min(initial=0) < 0 or index.max(initial=0) >= classes:
        raise DataError(f"{what}: 1-D targets are read as class labels 0..{classes - 1}; got other values")
    out = np.zeros((len(labels), classes), dtype=np.float32)
    out[np.arange(len(labels)), index] = 1
    return out
