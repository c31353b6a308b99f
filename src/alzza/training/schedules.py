"""Learning-rate schedules: callbacks that set ``run.learning_rate`` for each epoch.

With η₀ the run's learning rate and e = 1, 2, ... the epoch:

=================  =====================================================================
type               rate of epoch e
=================  =====================================================================
step               η₀ · γ^⌊(e − 1) / step_size⌋                  (γ = ``gamma``, 0.1)
exponential        η₀ · γ^(e − 1)                                 (γ = ``gamma``, 0.9)
cosine             η_min + (η₀ − η_min) · (1 + cos(π (e − 1) / E)) / 2   (E = ``epochs``,
                   default the run's epoch count; η_min = ``min_lr``, 0)
plateau            η multiplied by ``factor`` (0.5) whenever ``metric`` (val_loss) has not
                   improved for ``patience`` (2) epochs, never below ``min_lr``
=================  =====================================================================

The first three are functions of the epoch alone, so a resumed run gets the same
rates; ``plateau`` keeps a little state (:meth:`ReduceOnPlateau.state`) that the
checkpoint stores. In an experiment file: ``lr_schedule: {type: step, step_size: 10,
gamma: 0.5}`` (or just ``lr_schedule: cosine``).
"""

from __future__ import annotations

import math

from .callbacks import Callback, better_mode, monitored_value
from ..errors import TrainingError

__all__ = ["CosineDecay", "ExponentialDecay", "ReduceOnPlateau", "StepDecay", "make_schedule", "SCHEDULES"]


class EpochSchedule(Callback):
    """A rate that is a function of the epoch: ``rate(base, epoch, epochs)``."""

    def rate(self, base: float, epoch: int, epochs: int) -> float:
        raise NotImplementedError

    def on_epoch_begin(self, run, logs):
        run.learning_rate = self.rate(run.base_learning_rate, logs["epoch"], run.epochs)


class StepDecay(EpochSchedule):
    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        self.step_size = _positive_int(step_size, "step_size")
        self.gamma = _positive(gamma, "gamma")

    def rate(self, base, epoch, epochs):
        return base * self.gamma ** ((epoch - 1) // self.step_size)


class ExponentialDecay(EpochSchedule):
    def __init__(self, gamma: float = 0.9):
        self.gamma = _positive(gamma, "gamma")

    def rate(self, base, epoch, epochs):
        return base * self.gamma ** (epoch - 1)


class CosineDecay(EpochSchedule):
    def __init__(self, epochs: int | None = None, min_lr: float = 0.0):
        self.epochs = None if epochs is None else _positive_int(epochs, "epochs")
        self.min_lr = float(min_lr)

    def rate(self, base, epoch, epochs):
        span = self.epochs or epochs
        progress = min(epoch - 1, span) / span
        return self.min_lr + (base - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class ReduceOnPlateau(Callback):
    def __init__(self, metric: str = "val_loss", factor: float = 0.5, patience: int = 2, min_lr: float = 0.0,
                 mode: str = "auto"):
        self.metric = metric
        self.factor = _positive(factor, "factor")
        if self.factor >= 1:
            raise TrainingError(f"lr_schedule.factor must be below 1, got {factor!r}")
        self.patience = _positive_int(patience, "patience")
        self.min_lr = float(min_lr)
        self.mode = better_mode(metric, mode)
        self.best = None
        self.wait = 0
        self.rate = None

    def on_train_begin(self, run, logs):
        if self.rate is None:
            self.rate = run.learning_rate

    def on_epoch_begin(self, run, logs):
        run.learning_rate = self.rate

    def on_epoch_end(self, run, logs):
        value = monitored_value(logs, self.metric)
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.rate = max(self.min_lr, self.rate * self.factor)
            self.wait = 0

    def state(self) -> dict:
        return {"best": self.best, "wait": self.wait, "rate": self.rate}

    def load_state(self, state: dict) -> None:
        self.best, self.wait, self.rate = state.get("best"), state.get("wait", 0), state.get("rate")


SCHEDULES = {"step": StepDecay, "exponential": ExponentialDecay, "cosine": CosineDecay, "plateau": ReduceOnPlateau,
             "reduce_on_plateau": ReduceOnPlateau}


def make_schedule(spec):
    """A schedule from its spec: a name, a mapping ``{type: ..., options}``, or a Callback (as is)."""
    if spec is None or hasattr(spec, "on_epoch_begin"):
        return spec
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or "type" not in spec:
        raise TrainingError(f"lr_schedule must be a name ({', '.join(SCHEDULES)}) or a mapping with 'type', "
                            f"got {spec!r}")
    options = dict(spec)
    kind = options.pop("type")
    if kind not in SCHEDULES:
        raise TrainingError(f"lr_schedule.type {kind!r} is not known; known: {', '.join(SCHEDULES)}")
    try:
        return SCHEDULES[kind](**options)
    except TypeError as exc:
        raise TrainingError(f"lr_schedule ({kind}): {exc}") from None


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise TrainingError(f"lr_schedule.{name} must be a positive number, got {value!r}")
    return float(value)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TrainingError(f"lr_schedule.{name} must be a positive integer, got {value!r}")
    return value
