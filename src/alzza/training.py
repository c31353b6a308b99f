"""The training loop: epochs of shuffled minibatches, reports, history, timing.

The loop knows a model only through ``train_step(x, y, learning_rate) -> (loss, acc)``
and ``evaluate(x, y)``, and a data set only through ``train_batches`` and
``validate_sample`` — it never knows a layer type.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .errors import TrainingError
from .diagnose import explain_non_finite
from .memory import check_training

#: validation examples drawn at each epoch's end (the book samples 100)
VALIDATE_SAMPLE = 100
#: seconds before an automatic progress bar appears
PROGRESS_DELAY = 2.0


def format_accuracy(acc) -> str:
    """0.812 → '0.812'; a per-head tuple (0.661, 0.048) → '0.661+0.048' (the book's style)."""
    if isinstance(acc, (tuple, list)):
        return "+".join(f"{a:5.3f}" for a in acc)
    return f"{acc:5.3f}"


def _mean_accuracy(values):
    if values and isinstance(values[0], tuple):
        return tuple(sum(col) / len(col) for col in zip(*values))
    return sum(values) / len(values) if values else float("nan")


@dataclass
class History:
    """Per-epoch record of a training run (every epoch, whatever the report interval)."""

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    validate_accuracy: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    train_seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "train_accuracy": self.train_accuracy,
            "validate_accuracy": self.validate_accuracy,
            "seconds": self.seconds,
            "train_seconds": self.train_seconds,
        }


def fit(model, dataset, *, epochs: int, batch_size: int, learning_rate: float, report: int,
        rng, printer=print, progress=None, max_batches: int | None = None, on_report=None) -> History:
    """Train ``model`` on ``dataset``; print every ``report`` epochs (0: only the end).

    ``on_report(epoch)``, when given, is called after each report line (model families
    add their own lines and pictures there, e.g. the GAN's loss pair and samples).

    Each epoch reshuffles the training split, runs ``train_count // batch_size`` steps
    and samples the validation split (``max_batches`` cuts epochs short: smoke runs).
    A non-finite loss stops training with a
    :class:`TrainingError` that says where and what to try.
    """
    if epochs < 1 or batch_size < 1:
        raise TrainingError(f"epochs and batch size must be at least 1 (got {epochs}, {batch_size})")
    if not 0 < learning_rate < math.inf:
        raise TrainingError(f"learning rate must be a finite number > 0 (got {learning_rate})")
    if isinstance(report, bool) or not isinstance(report, numbers.Integral) or report < 0:
        raise TrainingError(f"report must be an integer >= 0 (every N epochs; 0: only the end), got {report!r}")
    check_training(model, batch_size)  # refuse before allocating, not with a MemoryError mid-epoch
    steps = dataset.batches_per_epoch(batch_size)
    if steps < 1:
        raise TrainingError(f"{dataset}: no full batch of {batch_size} in {dataset.train_count} training examples")
    if max_batches:
        steps = min(steps, max_batches)
    history = History()
    # progress=None: automatic — only on a terminal, and only once the run has taken a
    # couple of seconds (short runs stay quiet); True/False force it on or off.
    bar = tqdm(total=epochs * steps, disable=None if progress is None else not progress,
               delay=PROGRESS_DELAY if progress is None else 0, unit="batch", leave=False, desc=model.name)
    start = last_report = time.perf_counter()
    # Overflow inside a step shows up as a non-finite loss, which stops the run with one
    # clear message below; NumPy's own RuntimeWarnings would only bury it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for epoch in range(1, epochs + 1):
                losses, accs = [], []
                for n, (x, y) in enumerate(dataset.train_batches(batch_size, rng)):
                    loss, acc = model.train_step(x, y, learning_rate)
                    if not math.isfinite(loss):
                        raise TrainingError(
                            f"{model.name}: the loss became {loss} at epoch {epoch}, batch {n + 1}: "
                            f"{explain_non_finite(model, x, y)} (learning rate {learning_rate})."
                        )
                    losses.append(loss)
                    accs.append(acc)
                    bar.update(1)
                    if n + 1 >= steps:
                        break
                vx, vy = dataset.validate_sample(VALIDATE_SAMPLE, rng)
                val_acc = model.evaluate(vx, vy)["accuracy"] if len(vx) else float("nan")
                now = time.perf_counter()
                history.epoch.append(epoch)
                history.loss.append(sum(losses) / len(losses))
                history.train_accuracy.append(_mean_accuracy(accs))
                history.validate_accuracy.append(val_acc)
                history.seconds.append(now - start)
                if report and epoch % report == 0:
                    bar.clear()
                    printer(
                        f"Epoch {epoch}: loss={history.loss[-1]:5.3f}, accuracy="
                        f"{format_accuracy(history.train_accuracy[-1])}/{format_accuracy(val_acc)} "
                        f"({now - last_report:.0f}/{now - start:.0f} secs)"
                    )
                    last_report = now
                    if on_report is not None:
                        on_report(epoch)
        finally:
            bar.close()
    history.train_seconds = time.perf_counter() - start
    printer(f"Model {model.name} train ended in {history.train_seconds:.0f} secs:")
    return history
