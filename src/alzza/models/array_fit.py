"""A Keras user's habits on a Model's own arrays: what ``fit``, ``evaluate`` and ``predict`` share.

- **inputs and targets**: x as (N, ...input_shape) or flattened rows (N, prod);
  targets as the model's output shape, one-hot rows, or class indices (N,) for
  ``select`` (a 1-wide ``binary`` output takes 0/1 as they are) — :func:`checked_arrays`,
  the rule :class:`~alzza.data.sets.arrays.ArrayDataset` applies to ``fit``'s arrays;
- ``batch_size`` on ``evaluate`` / ``predict``: examples per forward pass (memory only;
  the numbers do not depend on it) — :func:`outputs_by`;
- ``validation_split=s``: the last ⌊s·N⌋ examples, before any shuffling, as Keras —
  :func:`split_validation`;
- ``verbose``: 0 silent, 1 a progress bar and a line per epoch, 2 a line per epoch —
  :func:`verbosity`;
- ``class_weight={class: weight}``: the training loss of an example of class c is
  multiplied by w_c, as Keras (the mean stays over the batch's N examples:
  L = (1/N) Σ_n w_{c_n} l_n, dL/do_n = w_{c_n} dl_n/do_n / N); validation and the
  reported accuracy stay unweighted — :class:`ClassWeightedHead`.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

from ..errors import DataError, TrainingError
from ..sequences import Sequences, is_sequence_shape
from .step import plain_metrics

__all__ = ["ClassWeightedHead", "checked_arrays", "class_weighting", "evaluate_arrays", "optimizer_line", "outputs_by",
           "split_validation", "verbosity"]


def checked_arrays(model, x, y=None, what: str = "x, y"):
    """``(x, y)`` in the model's shapes, as ``fit`` reads them (y may be None: predict)."""
    from ..data.sets.arrays import as_inputs, as_targets

    if not is_sequence_shape(model.input_shape):  # Sequences inputs are taken as they are
        x = as_inputs(x, model.input_shape, what)
    if y is None:
        return x, None
    if not is_sequence_shape(model.output_shape):  # per-step targets: (N, T, K) as they are
        y = as_targets(y, model.output_shape, what)
    if len(x) != len(y):
        raise DataError(f"{what}: {len(x)} inputs but {len(y)} targets")
    return x, y


def optimizer_line(model, learning_rate, batch_size, train_count, validate_count) -> str:
    """What ``fit`` says first: the optimiser it trains with (the model's own, chosen at
    construction: no compile step) and the settings."""
    optimizer = model.optimizer
    decay = "".join(f", {name} {value:g}" for name, value in (("l2_decay", getattr(optimizer, "l2_decay", 0)),
                                                           ("l1_decay", getattr(optimizer, "l1_decay", 0))) if value)
    return (f"Model {model.name} fit: optimizer {optimizer.name}{decay} (the model's own: "
            f"Model(..., optimizer='adam' or 'sgd') chooses it), learning rate {learning_rate:g}, batch size "
            f"{batch_size}, {train_count} training examples, {validate_count or 'no'} validation examples")


def _batch_size(batch_size) -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise TrainingError(f"batch_size must be a positive integer (examples per forward pass), got {batch_size!r}")
    return int(batch_size)


def outputs_by(chain, x, batch_size=None):
    """The chain's inference output for ``x``, ``batch_size`` examples per forward pass
    (None: the chain's own chunking)."""
    batch_size = _batch_size(batch_size)
    if batch_size is None or len(x) <= batch_size:
        return chain.output_in_chunks(x)
    outputs = [chain.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    if isinstance(outputs[0], Sequences):
        return Sequences.concatenate(outputs)
    return np.concatenate(outputs)


def evaluate_arrays(chain, x, y, batch_size=None) -> dict:
    """Every metric of the chain's head on (x, y), in inference mode (plain floats)."""
    output = outputs_by(chain, x, batch_size)
    return plain_metrics(chain.head.metrics(output, chain._target(y, output)))


def split_validation(x, y, validation_split, validation_data):
    """``(x, y, validation_data)`` with the last ⌊s·N⌋ examples held out when ``validation_split=s``."""
    if not validation_split:
        return x, y, validation_data
    if validation_data is not None:
        raise TrainingError("give validation_data or validation_split, not both")
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
            or not 0 < validation_split < 1:
        raise TrainingError(f"validation_split must be a fraction between 0 and 1, got {validation_split!r}")
    if len(x) != len(y):
        raise TrainingError(f"x, y: {len(x)} inputs but {len(y)} targets")
    held = int(len(x) * float(validation_split))
    if held < 1 or held >= len(x):
        raise TrainingError(f"validation_split={validation_split} of {len(x)} examples leaves "
                            f"{held} for validation and {len(x) - held} for training; both need at least one")
    cut = len(x) - held
    return x[:cut], y[:cut], (x[cut:], y[cut:])


def verbosity(verbose, report, progress) -> tuple[int, object, bool]:
    """``(report, progress, silent)`` for Keras's ``verbose`` (None: alzza's own ``report`` / ``progress``)."""
    if verbose is None:
        return (0 if report is None else report), progress, False
    if verbose == "auto":
        verbose = 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise TrainingError(f"verbose must be 0 (silent), 1 (progress bar and a line per epoch), "
                            f"2 (a line per epoch) or 'auto', got {verbose!r}")
    if verbose == 0:
        return 0, False, True
    return (1 if report is None else report), (progress if verbose == 1 else False), False


class ClassWeightedHead:
    """A select or 1-wide binary head whose training loss weighs each example by its class
    (module docstring). Everything else — metrics, estimates — is the wrapped head's."""

    def __init__(self, head, class_weight: dict, classes: int):
        mode = getattr(head, "mode", "")
        if mode not in ("select", "binary") or (mode == "binary" and classes != 1):
            raise TrainingError(f"class_weight works for mode 'select' and a one-output 'binary' model; this "
                                f"model's mode is {mode!r} with {classes} outputs (weigh its examples yourself)")
        count = 2 if mode == "binary" else classes
        if not isinstance(class_weight, dict) or not class_weight:
            raise TrainingError("class_weight must be a dict {class index: weight}")
        weights = np.ones(count, dtype=np.float64)
        for key, value in class_weight.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key < count:
                raise TrainingError(f"class_weight: class {key!r} is not one of 0..{count - 1}")
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < float("inf"):
                raise TrainingError(f"class_weight[{key}] must be a finite number >= 0, got {value!r}")
            weights[int(key)] = float(value)
        self.inner = head
        self.weights = weights
        self._w = None

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _classes(self, y):
        y = np.asarray(y)
        if self.inner.mode == "binary":
            return (y.reshape(len(y), -1)[:, 0] > 0.5).astype(np.int64)
        return y.reshape(len(y), -1).argmax(axis=1)

    def loss(self, output, y) -> float:
        classes = self._classes(y)
        total = 0.0
        for c in np.unique(classes):  # (1/N) Σ_c w_c Σ_{n∈c} l_n, one mean per class present
            rows = classes == c
            total += self.weights[c] * rows.sum() / len(classes) * self.inner.loss(output[rows], y[rows])
        self.inner.loss(output, y)  # last: the cache backward reads is the whole batch's
        self._w = self.weights[classes]
        return float(total)

    def backward(self):
        d = self.inner.backward()
        return d * self._w.astype(d.dtype).reshape((-1,) + (1,) * (d.ndim - 1))


@contextlib.contextmanager
def class_weighting(chain, class_weight, classes: int):
    """Within the block, ``chain`` trains with :class:`ClassWeightedHead` (nothing when None)."""
    if class_weight is None:
        yield
        return
    plain = chain.head
    chain.head = ClassWeightedHead(plain, class_weight, classes)
    try:
        yield
    finally:
        chain.head = plain
