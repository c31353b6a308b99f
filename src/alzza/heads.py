"""Output modes: how the network's last output is scored, differentiated and read.

A head turns the raw output ``o`` of the network (shape (N, K)) and the targets ``y``
into a loss averaged over the batch, the gradient dL/do, metrics and estimates:

==============  ==========================================  =====================
mode            loss L                                       dL/do
==============  ==========================================  =====================
regression      (1/(N·K)) Σ (o − y)²                          2 (o − y) / (N·K)
binary          (1/N) Σ H(y, o), H the sigmoid cross-entropy   (σ(o) − y) / N
select          (1/N) Σ −Σ_k y_k log softmax(o)_k              (softmax(o) − y) / N
multi-select    Σ_groups of the select loss per group          per group as select
==============  ==========================================  =====================

``loss`` caches what ``backward`` needs, so the pair costs one pass.
"""

from __future__ import annotations

import numpy as np

from .errors import SpecError
from .ops.losses import sigmoid, sigmoid_cross_entropy, softmax, softmax_cross_entropy

MODES = ("regression", "binary", "select", "multi-select")


class Head:
    """Base class of the output modes."""

    mode = ""
    #: metric names this head reports, the first one being "the" accuracy
    metric_names: tuple[str, ...] = ("accuracy",)

    def loss(self, output: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def accuracy(self, output: np.ndarray, y: np.ndarray):
        """The headline accuracy (a float; a tuple of floats for multi-select)."""
        raise NotImplementedError

    def metrics(self, output: np.ndarray, y: np.ndarray) -> dict:
        """All metrics of this mode on a batch (loss included)."""
        return {"accuracy": self.accuracy(output, y), "loss": self.loss(output, y)}

    def estimate(self, output: np.ndarray) -> np.ndarray:
        """What the model says: the raw value, a probability, or class probabilities."""
        return output

    def to_spec(self) -> dict:
        return {"mode": self.mode}


class RegressionHead(Head):
    """Mean squared error. Accuracy is the book's: 1 − √MSE / mean(y) (``metric: rmse``),
    or chapter 1's 1 − mean(|o − y| / |y|) (``metric: relative``)."""

    mode = "regression"
    METRICS = ("rmse", "relative")

    def __init__(self, metric: str = "rmse"):
        if metric not in self.METRICS:
            raise SpecError("head.metric", f"regression accuracy is 'rmse' or 'relative', got {metric!r}")
        self.metric = metric

    def loss(self, output, y):
        diff = output - y
        self._diff = diff
        return float(np.mean(diff * diff))

    def backward(self):
        diff = self._diff
        return diff * (2.0 / diff.size)

    def accuracy(self, output, y):
        if self.metric == "relative":
            return float(1.0 - np.mean(np.abs((output - y) / y)))
        mse = np.mean(np.square(output - y))
        return float(1.0 - np.sqrt(mse) / np.mean(y))

    def to_spec(self):
        return {"mode": self.mode, "metric": self.metric}


class BinaryHead(Head):
    """Sigmoid cross-entropy on one logit; estimate σ(o); the answer is o > 0.

    Metrics: accuracy (tp+tn)/N, precision tp/(tp+fp), recall tp/(tp+fn),
    F1 = 2·P·R/(P+R) (each 0 where its denominator is 0).
    """

    mode = "binary"
    metric_names = ("accuracy", "precision", "recall", "f1")

    def loss(self, output, y):
        self._output, self._y = output, y
        return float(np.mean(sigmoid_cross_entropy(output, y)))

    def backward(self):
        return (sigmoid(self._output) - self._y) * (1.0 / self._output.size)

    def accuracy(self, output, y):
        return float(np.mean((output > 0) == (y > 0.5)))

    def metrics(self, output, y):
        est, ans = output > 0, y > 0.5
        tp = int(np.sum(est & ans))
        fp = int(np.sum(est & ~ans))
        fn = int(np.sum(~est & ans))
        tn = int(est.size - tp - fp - fn)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "accuracy": (tp + tn) / est.size,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "loss": self.loss(output, y),
        }

    def estimate(self, output):
        return sigmoid(output)


class SelectHead(Head):
    """Softmax cross-entropy over K logits; the answer is the argmax."""

    mode = "select"

    def loss(self, output, y):
        losses, probs = softmax_cross_entropy(output, y)
        self._probs, self._y = probs, y
        return float(np.mean(losses))

    def backward(self):
        return (self._probs - self._y) * (1.0 / len(self._y))

    def accuracy(self, output, y):
        return float(np.mean(output.argmax(axis=1) == y.argmax(axis=1)))

    def estimate(self, output):
        return softmax(output)


class MultiSelectHead(Head):
    """Several select heads side by side (the book's dual_select): the output's columns
    are cut into groups of ``sizes``; the loss is the sum of the groups' select losses,
    and each group reports its own accuracy."""

    mode = "multi-select"

    def __init__(self, sizes):
        if not sizes or any(int(s) <= 0 for s in sizes):
            raise SpecError("head.sizes", f"multi-select needs positive group sizes, got {sizes!r}")
        self.sizes = tuple(int(s) for s in sizes)
        self.bounds = np.cumsum((0,) + self.sizes)
        self.groups = [SelectHead() for _ in self.sizes]

    def _cut(self, a):
        return [a[:, lo:hi] for lo, hi in zip(self.bounds[:-1], self.bounds[1:])]

    def loss(self, output, y):
        return float(sum(g.loss(o, t) for g, o, t in zip(self.groups, self._cut(output), self._cut(y))))

    def backward(self):
        return np.concatenate([g.backward() for g in self.groups], axis=1)

    def accuracy(self, output, y):
        return tuple(g.accuracy(o, t) for g, o, t in zip(self.groups, self._cut(output), self._cut(y)))

    def estimate(self, output):
        return np.concatenate([softmax(o) for o in self._cut(output)], axis=1)

    def to_spec(self):
        return {"mode": self.mode, "sizes": list(self.sizes)}


def make_head(mode: str, head_sizes=None, output_width: int | None = None, **options) -> Head:
    """The head for an output mode (``options`` e.g. ``metric='relative'`` for regression)."""
    if mode == "regression":
        return RegressionHead(**options)
    if options:
        raise SpecError("head", f"mode {mode!r} takes no options, got {sorted(options)}")
    if mode == "binary":
        return BinaryHead()
    if mode == "select":
        return SelectHead()
    if mode == "multi-select":
        head = MultiSelectHead(head_sizes)
        if output_width is not None and sum(head.sizes) != output_width:
            raise SpecError("head.sizes", f"multi-select groups {list(head.sizes)} add up to {sum(head.sizes)}, "
                                          f"but the output has {output_width} values")
        return head
    raise SpecError("head.mode", f"unknown output mode {mode!r}; known: {', '.join(MODES)}")
