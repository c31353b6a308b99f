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
seqselect       (1/S) Σ_real steps −Σ_k y_k log softmax(o)_k   (softmax(o) − y) ⊙ m / S
seqbinary       (1/(S·K)) Σ_real steps H(y, o)                 (σ(o) − y) ⊙ m / (S·K)
==============  ==========================================  =====================

For the per-step modes the output is a :class:`~alzza.sequences.Sequences` (N, T, K)
(or an array with ``lengths`` given), y is (N, T, K), m (N, T) is 1 on the real steps
t < length and 0 on padding, and S = Σ m is the number of real steps in the batch:
padded steps add nothing to the loss, the gradient or the metrics.

``select`` and ``seqselect`` take ``label_smoothing`` ε (Szegedy et al. 2016; 0 by
default): the one-hot y is replaced by y' = (1 − ε)·y + ε/K in the loss and its
gradient (softmax(o) − y'), torch's ``CrossEntropyLoss(label_smoothing=ε)``; accuracy
still compares argmaxes with the true y.

``loss`` caches what ``backward`` needs, so the pair costs one pass.

Every mode is a :class:`Head` class registered in :data:`HEADS` with ``@register_head``
(the same :class:`~alzza.registries.Registry` as layer types and optimisers), its spec
options declared once in ``OPTIONS``. A user's own head registers the same way, from a
module the command line imports (``--import``); an experiment picks it with
``model: {head: {mode: NAME, ...}}``, which overrides the data set's mode.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .backend import array_module

from .errors import SpecError
from .ops.losses import sigmoid, sigmoid_cross_entropy, softmax, softmax_cross_entropy
from .options import Option, checked, non_negative_int, one_of, option_problem
from .registries import Registry
from .sequences import Sequences, length_mask

#: mode name → Head class (filled by ``@register_head``)
HEADS = Registry("output mode", "mode")


def _host(value):
    """A device or NumPy scalar as a Python number (the explicit sync point of a metric)."""
    return value.item() if hasattr(value, "item") else value


def _mean(a: np.ndarray) -> float:
    """The mean of all elements as a Python float: one reduction, without np.mean's
    Python-level wrapper (≈3 µs, twice per step — a real share of a tiny MLP's step)."""
    xp = array_module(a)
    return float(xp.add.reduce(a, axis=None)) / a.size


class Head:
    """Base class of the output modes.

    A subclass implements ``loss`` (caching what ``backward`` needs), ``backward``
    (dL/doutput, the output's shape) and ``accuracy``; ``metrics`` and ``estimate`` have
    defaults. ``OPTIONS`` declares what ``head: {...}`` may pass to the constructor.
    """

    mode = ""
    #: spec options (name → :class:`~alzza.options.Option`), given to the constructor
    OPTIONS: dict[str, Option] = {}
    #: metric names this head reports, the first one being "the" accuracy
    metric_names: tuple[str, ...] = ("accuracy",)
    #: True for the per-step heads (their output is a sequence)
    sequence = False

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

    @classmethod
    def make(cls, options: dict, head_sizes=None, output_width: int | None = None) -> Head:
        """The head for checked spec ``options``; ``head_sizes`` (the data set's groups) and
        ``output_width`` (values per example) are there for heads that need them."""
        return cls(**options)


def register_head(name: str):
    """Class decorator: make the Head subclass the output mode ``name``."""
    return HEADS.register(name, Head)


@register_head("regression")
class RegressionHead(Head):
    """Mean squared error. Accuracy is the book's: 1 − √MSE / mean(y) (``metric: rmse``),
    or chapter 1's 1 − mean(|o − y| / |y|) (``metric: relative``)."""

    METRICS = ("rmse", "relative")
    OPTIONS = {"metric": one_of(METRICS, "accuracy: 'rmse' (the book's) or 'relative' (chapter 1)", "rmse")}

    def __init__(self, metric: str = "rmse"):
        metric = checked(metric, self.OPTIONS["metric"], "metric", partial(SpecError, "head"))
        self.metric = metric

    def loss(self, output, y):
        diff = output - y
        self._diff = diff
        return _mean(diff * diff)

    def backward(self):
        diff = self._diff
        return diff * (2.0 / diff.size)

    def accuracy(self, output, y):
        xp = array_module(output)
        if self.metric == "relative":
            return float(1.0 - xp.mean(xp.abs((output - y) / y)))
        mse = xp.mean(xp.square(output - y))
        return float(1.0 - xp.sqrt(mse) / xp.mean(y))

    def to_spec(self):
        return {"mode": self.mode, "metric": self.metric}


@register_head("binary")
class BinaryHead(Head):
    """Sigmoid cross-entropy on one logit; estimate σ(o); the answer is o > 0.

    Metrics: accuracy (tp+tn)/N, precision tp/(tp+fp), recall tp/(tp+fn),
    F1 = 2·P·R/(P+R) (each 0 where its denominator is 0).
    """

    metric_names = ("accuracy", "precision", "recall", "f1")

    def loss(self, output, y):
        self._output, self._y = output, y
        return _mean(sigmoid_cross_entropy(output, y))

    def backward(self):
        return (sigmoid(self._output) - self._y) * (1.0 / self._output.size)

    def accuracy(self, output, y):
        xp = array_module(output)
        return _host(xp.count_nonzero((output > 0) == (y > 0.5))) / output.size

    def metrics(self, output, y):
        xp = array_module(output)
        est, ans = output > 0, y > 0.5
        tp = int(_host(xp.sum(est & ans)))
        fp = int(_host(xp.sum(est & ~ans)))
        fn = int(_host(xp.sum(~est & ans)))
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


def _smoothing(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise SpecError("head.label_smoothing", f"must be a number in [0, 1) (the share of each target spread "
                                                f"evenly over all classes), got {value!r}")
    return float(value)


#: the label-smoothing option of select and seqselect
SMOOTHING = {"label_smoothing": Option((float,), 0.0, doc="ε: targets (1 − ε)·y + ε/K (0: none)",
                                       check=lambda v: 0 <= v < 1, expects="a number in [0, 1)")}


def smoothed(y, epsilon: float):
    """y' = (1 − ε)·y + ε/K over the last axis (y itself when ε = 0)."""
    if not epsilon:
        return y
    return y * (1.0 - epsilon) + epsilon / y.shape[-1]


@register_head("select")
class SelectHead(Head):
    """Softmax cross-entropy over K logits; the answer is the argmax."""

    OPTIONS = SMOOTHING

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = _smoothing(label_smoothing)

    def to_spec(self):
        spec = {"mode": self.mode}
        if self.label_smoothing:
            spec["label_smoothing"] = self.label_smoothing
        return spec

    def loss(self, output, y):
        y = smoothed(y, self.label_smoothing)
        losses, probs = softmax_cross_entropy(output, y)
        self._probs, self._y = probs, y
        return _mean(losses)

    def backward(self):
        return (self._probs - self._y) * (1.0 / len(self._y))

    def accuracy(self, output, y):
        xp = array_module(output)
        return _host(xp.count_nonzero(output.argmax(axis=1) == y.argmax(axis=1))) / len(output)

    def estimate(self, output):
        return softmax(output)


@register_head("multi-select")
class MultiSelectHead(Head):
    """Several select heads side by side (the book's dual_select): the output's columns
    are cut into groups of ``sizes``; the loss is the sum of the groups' select losses,
    and each group reports its own accuracy."""

    def __init__(self, sizes):
        if not sizes or any(int(s) <= 0 for s in sizes):
            raise SpecError("head.sizes", f"multi-select needs positive group sizes, got {sizes!r}")
        self.sizes = tuple(int(s) for s in sizes)
        self.bounds = np.cumsum((0,) + self.sizes)
        self.groups = [SelectHead() for _ in self.sizes]

    def _cut(self, a):
        return [a[:, lo:hi] for lo, hi in zip(self.bounds[:-1], self.bounds[1:], strict=False)]

    def loss(self, output, y):
        return float(sum(g.loss(o, t) for g, o, t in zip(self.groups, self._cut(output), self._cut(y), strict=False)))

    def backward(self):
        grads = [g.backward() for g in self.groups]
        return array_module(*grads).concatenate(grads, axis=1)  # on the groups' device

    def accuracy(self, output, y):
        return tuple(g.accuracy(o, t) for g, o, t in zip(self.groups, self._cut(output), self._cut(y), strict=False))

    def estimate(self, output):
        xp = array_module(output)
        return xp.concatenate([softmax(o) for o in self._cut(output)], axis=1)

    def to_spec(self):
        return {"mode": self.mode, "sizes": list(self.sizes)}

    @classmethod
    def make(cls, options, head_sizes=None, output_width=None):
        head = cls(head_sizes, **options)
        if output_width is not None and sum(head.sizes) != output_width:
            raise SpecError("head.sizes", f"multi-select groups {list(head.sizes)} add up to {sum(head.sizes)}, "
                                          f"but the output has {output_width} values")
        return head


def _steps(output, y, lengths=None):
    """(o (N, T, K), y shaped like o, mask (N, T) of o's dtype, lengths) for a per-step head."""
    xp = array_module(output)
    if isinstance(output, Sequences):
        o, lengths = output.data, output.lengths
    else:
        o = xp.asarray(output)
        if o.ndim == 2:
            o = o[:, :, None]
        if lengths is None:
            lengths = np.full(len(o), o.shape[1], dtype=np.int64)
    if y is not None:
        y = xp.asarray(y.data if isinstance(y, Sequences) else y).reshape(o.shape)
    # the mask is built from the host lengths, then copied to the output's device once
    lengths = np.asarray(lengths)
    return o, y, xp.asarray(length_mask(lengths, o.shape[1], o.dtype)), lengths


@register_head("seqselect")
class SeqSelectHead(Head):
    """Softmax cross-entropy at every real step; the answer at a step is its argmax.

    Loss: the mean over the real steps of all sequences in the batch (padding masked).
    Accuracy: the tuple (per-step accuracy over real steps, whole-sequence accuracy —
    the share of sequences whose real steps are all right), printed 'step+sequence'.
    Estimate: per-step softmax, a Sequences with zeros at padded steps.
    """

    sequence = True
    metric_names = ("accuracy", "step_accuracy", "sequence_accuracy")
    OPTIONS = SMOOTHING
    __init__ = SelectHead.__init__
    to_spec = SelectHead.to_spec

    def loss(self, output, y, lengths=None):
        xp = array_module(output)
        o, y, mask, _ = _steps(output, y, lengths)
        y = smoothed(y, self.label_smoothing)
        losses, probs = softmax_cross_entropy(o, y)
        count = float(mask.sum())
        self._probs, self._y, self._weight = probs, y, mask[..., None] * (1.0 / count)
        return float(xp.sum(losses * mask) / count)

    def backward(self):
        return (self._probs - self._y) * self._weight

    def accuracy(self, output, y, lengths=None):
        xp = array_module(output)
        o, y, mask, _ = _steps(output, y, lengths)
        real = mask > 0
        right = o.argmax(axis=-1) == y.argmax(axis=-1)
        step = float(xp.sum(right & real)) / max(1, int(_host(real.sum())))
        sequence = float(xp.mean(xp.all(right | ~real, axis=1))) if len(o) else 0.0
        return (step, sequence)

    def metrics(self, output, y, lengths=None):
        step, sequence = self.accuracy(output, y, lengths)
        return {"accuracy": (step, sequence), "step_accuracy": step, "sequence_accuracy": sequence,
                "loss": self.loss(output, y, lengths)}

    def estimate(self, output, lengths=None):
        o, _, mask, lengths = _steps(output, None, lengths)
        return Sequences(softmax(o) * mask[..., None], lengths)


@register_head("seqbinary")
class SeqBinaryHead(Head):
    """Sigmoid cross-entropy on K logits at every real step (K = 1: "does something happen here?").

    Loss: the mean over the real steps' K values (padding masked). Metrics over the real
    steps' values: accuracy (threshold 0 on the logit), precision, recall, F1.
    Estimate: σ per step, a Sequences with zeros at padded steps.
    """

    sequence = True
    metric_names = ("accuracy", "precision", "recall", "f1")
    OPTIONS = {"skip_steps": non_negative_int("leading steps left out of loss and metrics", 0)}

    def __init__(self, skip_steps: int = 0):
        # the video chapter scores from step 1 on: step 0 always starts a shot, so its
        # target carries no information (``model: {head: {skip_steps: 1}}``)
        self.skip_steps = checked(skip_steps, self.OPTIONS["skip_steps"], "skip_steps", partial(SpecError, "head"))

    def _steps(self, output, y, lengths):
        o, y, mask, lengths = _steps(output, y, lengths)
        if self.skip_steps:
            mask = mask.copy()
            mask[:, :self.skip_steps] = 0
        return o, y, mask, lengths

    def to_spec(self):
        return {"mode": self.mode, "skip_steps": self.skip_steps}

    def loss(self, output, y, lengths=None):
        xp = array_module(output)
        o, y, mask, _ = self._steps(output, y, lengths)
        count = float(mask.sum()) * o.shape[-1]
        self._o, self._y, self._weight = o, y, mask[..., None] * (1.0 / count)
        self._shape = (output.data if isinstance(output, Sequences) else output).shape
        return float(xp.sum(sigmoid_cross_entropy(o, y) * mask[..., None]) / count)

    def backward(self):
        return ((sigmoid(self._o) - self._y) * self._weight).reshape(self._shape)

    def _counts(self, output, y, lengths):
        xp = array_module(output)
        o, y, mask, _ = self._steps(output, y, lengths)
        real = xp.broadcast_to(mask[..., None] > 0, o.shape)
        est, ans = (o > 0)[real], (y > 0.5)[real]
        tp = int(_host(xp.sum(est & ans)))
        fp = int(_host(xp.sum(est & ~ans)))
        fn = int(_host(xp.sum(~est & ans)))
        return tp, fp, fn, int(est.size - tp - fp - fn)

    def accuracy(self, output, y, lengths=None):
        tp, fp, fn, tn = self._counts(output, y, lengths)
        return (tp + tn) / max(1, tp + fp + fn + tn)

    def metrics(self, output, y, lengths=None):
        tp, fp, fn, tn = self._counts(output, y, lengths)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"accuracy": (tp + tn) / max(1, tp + fp + fn + tn), "precision": precision, "recall": recall,
                "f1": f1, "loss": self.loss(output, y, lengths)}

    def estimate(self, output, lengths=None):
        o, _, mask, lengths = _steps(output, None, lengths)
        return Sequences(sigmoid(o) * mask[..., None], lengths)


def make_head(mode: str, head_sizes=None, output_width: int | None = None, /, **options) -> Head:
    """The head for an output mode (``options`` e.g. ``metric='relative'`` for regression).

    ``options`` may hold ``mode`` (a spec's ``head: {mode: ...}``): it overrides ``mode``.
    """
    mode = options.pop("mode", mode)
    cls = HEADS.get(mode) if isinstance(mode, str) else None
    if cls is None:
        raise SpecError("head.mode", f"unknown output mode {mode!r}; known: {', '.join(HEADS)} (a head of your "
                                     "own: @register_head in a module given with --import MODULE_OR_PATH)")
    unknown = sorted(set(options) - set(cls.OPTIONS))
    if unknown:
        takes = f"takes only {', '.join(cls.OPTIONS)}" if cls.OPTIONS else "takes no options"
        raise SpecError("head", f"mode {mode!r} {takes}, got {unknown}")
    for key, value in options.items():
        options[key], problem = option_problem(cls.OPTIONS[key], value)
        if problem:
            raise SpecError(f"head.{key}", problem)
    return cls.make(options, head_sizes, output_width)
