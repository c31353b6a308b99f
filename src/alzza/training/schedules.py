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
warmup_cosine      per optimiser step s = 1, 2, ... (S steps in the run, W = ``warmup``):
                   η₀·s/W for s ≤ W, then η_min + (η₀ − η_min)·(1 + cos(π (s − W)/(S − W)))/2
warmup_rsqrt       η₀·s/W for s ≤ W, then η₀·√(W/s)  (the Transformer's inverse square root,
                   Vaswani et al. 2017 §5.3, peaking at η₀ after W steps)
=================  =====================================================================

The two warmup schedules change the rate every step (minibatch), not every epoch: the
trainer asks them through ``on_batch_begin(run, logs)`` with ``logs["step"]`` the run's
step count (the same on a resumed run). The first three are functions of the epoch alone, so a resumed run gets the same
rates; ``plateau`` keeps a little state (:meth:`ReduceOnPlateau.state`) that the
checkpoint stores. In an experiment file: ``lr_schedule: {type: step, step_size: 10,
gamma: 0.5}`` (or just ``lr_schedule: cosine``).
"""

from __future__ import annotations

import math

from .callbacks import Callback, better_mode, monitored_value
from ..errors import TrainingError
from ..options import Option, check_arguments, non_negative_float, positive_float, positive_int, probability
from ..registries import Registry

__all__ = ["CosineDecay", "ExponentialDecay", "ReduceOnPlateau", "StepDecay", "WarmupCosine", "WarmupInverseSqrt",
           "make_schedule", "register_schedule", "SCHEDULES"]

#: schedule type → class, filled by @register_schedule (``lr_schedule: {type: NAME, ...}``)
SCHEDULES = Registry("learning-rate schedule", "type_name")


def register_schedule(name: str):
    """Class decorator: ``lr_schedule: {type: name, ...}`` makes this schedule; its
    ``OPTIONS`` declare what the mapping may hold."""
    return SCHEDULES.register(name, Callback)


def _checked(cls, **values) -> dict:
    return check_arguments(cls.OPTIONS, values, "lr_schedule.", TrainingError)


class EpochSchedule(Callback):
    """A rate that is a function of the epoch: ``rate(base, epoch, epochs)``."""

    def rate(self, base: float, epoch: int, epochs: int) -> float:
        raise NotImplementedError

    def on_epoch_begin(self, run, logs):
        run.learning_rate = self.rate(run.base_learning_rate, logs["epoch"], run.epochs)


@register_schedule("step")
class StepDecay(EpochSchedule):
    OPTIONS: dict[str, Option] = {
        "step_size": positive_int("epochs between two decays", 10),
        "gamma": positive_float("factor γ of each decay", 0.1),
    }

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        values = _checked(self, step_size=step_size, gamma=gamma)
        self.step_size = values["step_size"]
        self.gamma = float(values["gamma"])

    def rate(self, base, epoch, epochs):
        return base * self.gamma ** ((epoch - 1) // self.step_size)


@register_schedule("exponential")
class ExponentialDecay(EpochSchedule):
    OPTIONS: dict[str, Option] = {"gamma": positive_float("factor γ per epoch", 0.9)}

    def __init__(self, gamma: float = 0.9):
        self.gamma = float(_checked(self, gamma=gamma)["gamma"])

    def rate(self, base, epoch, epochs):
        return base * self.gamma ** (epoch - 1)


@register_schedule("cosine")
class CosineDecay(EpochSchedule):
    OPTIONS: dict[str, Option] = {
        "epochs": positive_int("epochs E of the half cosine (default: the run's)", None),
        "min_lr": Option((float,), 0.0, doc="the rate η_min it ends at"),
    }

    def __init__(self, epochs: int | None = None, min_lr: float = 0.0):
        values = _checked(self, epochs=epochs, min_lr=min_lr)
        self.epochs = values["epochs"]
        self.min_lr = float(values["min_lr"])

    def rate(self, base, epoch, epochs):
        span = self.epochs or epochs
        progress = min(epoch - 1, span) / span
        return self.min_lr + (base - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


@register_schedule("plateau")
class ReduceOnPlateau(Callback):
    OPTIONS: dict[str, Option] = {
        "metric": Option((str,), "val_loss", doc="the logged value watched"),
        "factor": probability("the rate's factor after a plateau", 0.5, low_open=True, high_open=True),
        "patience": positive_int("epochs without improvement before the rate drops", 2),
        "min_lr": non_negative_float("the rate never drops below this", 0.0),
        "mode": Option((str,), "auto", ("auto", "min", "max"), "min or max is better (auto: by the metric's name)"),
    }

    def __init__(self, metric: str = "val_loss", factor: float = 0.5, patience: int = 2, min_lr: float = 0.0,
                 mode: str = "auto"):
        values = _checked(self, metric=metric, factor=factor, patience=patience, min_lr=min_lr, mode=mode)
        self.metric = values["metric"]
        self.factor = float(values["factor"])
        self.patience = values["patience"]
        self.min_lr = float(values["min_lr"])
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


class StepSchedule(Callback):
    """A rate that is a function of the optimiser step: ``rate(base, step, total_steps)``."""

    def rate(self, base: float, step: int, total: int) -> float:
        raise NotImplementedError

    def on_batch_begin(self, run, logs):
        run.learning_rate = self.rate(run.base_learning_rate, logs["step"], logs["total_steps"])


@register_schedule("warmup_cosine")
class WarmupCosine(StepSchedule):
    """Linear warmup over ``warmup`` steps to η₀, then a cosine down to ``min_lr`` at the last step."""

    OPTIONS: dict[str, Option] = {
        "warmup": positive_int("optimiser steps of the linear warmup", 100),
        "min_lr": non_negative_float("the rate η_min it ends at", 0.0),
    }

    def __init__(self, warmup: int = 100, min_lr: float = 0.0):
        values = _checked(self, warmup=warmup, min_lr=min_lr)
        self.warmup = values["warmup"]
        self.min_lr = float(values["min_lr"])

    def rate(self, base, step, total):
        if step <= self.warmup:
            return base * step / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, total - self.warmup))
        return self.min_lr + (base - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


@register_schedule("warmup_rsqrt")
class WarmupInverseSqrt(StepSchedule):
    """Linear warmup over ``warmup`` steps to η₀, then η₀·√(warmup / step)."""

    OPTIONS: dict[str, Option] = {"warmup": positive_int("optimiser steps of the linear warmup", 100)}

    def __init__(self, warmup: int = 100):
        self.warmup = _checked(self, warmup=warmup)["warmup"]

    def rate(self, base, step, total):
        return base * min(step / self.warmup, math.sqrt(self.warmup / step))


SCHEDULES["reduce_on_plateau"] = ReduceOnPlateau  # another name for the same schedule


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

