"""Callbacks: small objects the training loop calls at fixed points of a run.

The protocol (every hook optional; subclass :class:`Callback` or write any object
with some of these methods)::

    on_train_begin(run, logs)    before the first epoch        logs: {"epoch": first epoch - 1}
    on_epoch_begin(run, logs)    before each epoch             logs: {"epoch": e}
    on_batch_begin(run, logs)    before each optimiser step    logs: {"step": s, "total_steps": S}
                                 (s counts from 1 over the whole run; only callbacks that
                                 have this method are called per step: warmup schedules)
    on_epoch_end(run, logs)      after each epoch's validation logs: the epoch's figures (below)
    on_train_end(run, logs)      after the last epoch          logs: the last epoch's figures

``run`` is the :class:`Run` — the model, the data set, the settings and the history
so far. A callback steers training through it: ``run.learning_rate = ...`` changes the
rate from the next step on; ``run.stop(reason)`` ends the run after this epoch.

The epoch logs (plain Python numbers; a per-head accuracy is a tuple)::

    epoch, loss, accuracy                  mean training loss and accuracy of the epoch
    val_loss, val_accuracy, val_<metric>   the head's metrics on the validation examples
    learning_rate                          the rate used during the epoch (its last step's)
    epoch_seconds, elapsed_seconds         this epoch, and the run so far

Callbacks run in the order given; the loop's own ones (learning-rate schedule, early
stopping, the report printer, the checkpoint writer) come in that order, so the printer
sees a stop decided in the same epoch and the checkpoint holds everything after it.

Shipped here: :class:`ReportPrinter` (the per-epoch report line; subclass it and
override :meth:`ReportPrinter.epoch_line` / :meth:`ReportPrinter.end_lines` for
another format — the book's Korean report is one), :class:`EarlyStopping` and
:class:`Checkpoint`. Learning-rate schedules live in :mod:`alzza.training.schedules`.

A callback that must survive ``--resume`` gives ``state() -> dict`` (plain data) and
``load_state(dict)``; the checkpoint stores them by position.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import TrainingError
from ..options import checked, positive_int

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "ReportPrinter", "Run", "monitored_value"]


class Callback:
    """Base class with every hook a no-op."""

    def on_train_begin(self, run, logs):
        pass

    def on_epoch_begin(self, run, logs):
        pass

    def on_epoch_end(self, run, logs):
        pass

    def on_train_end(self, run, logs):
        pass


class Run:
    """What a callback sees of the training run in progress (see the module docstring)."""

    def __init__(self, model, dataset, *, epochs, batch_size, learning_rate, report, printer, history,
                 first_epoch=1, owner=None):
        #: what trains (a Model, or one chain of a family's model)
        self.model = model
        #: the whole model ``model`` belongs to: what checkpoints save and early stopping restores
        self.owner = model if owner is None else owner
        self.dataset = dataset
        self.epochs = epochs
        self.batch_size = batch_size
        #: the rate the run started with (schedules are relative to it)
        self.base_learning_rate = learning_rate
        #: the rate used from the next step on (callbacks may change it)
        self.learning_rate = learning_rate
        self.report = report
        self.printer = printer
        self.history = history
        self.first_epoch = first_epoch
        self.epoch = first_epoch - 1
        self.stop_requested = False
        self.stop_reason = ""
        #: the epoch whose weights a callback restored at the end (early stopping's best)
        self.restored_epoch = None

    def stop(self, reason: str) -> None:
        """End training after the current epoch; ``reason`` goes to the report and result.json."""
        self.stop_requested = True
        self.stop_reason = reason


def call(callbacks, hook: str, run: Run, logs: dict) -> None:
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(run, logs)


def monitored_value(logs: dict, metric: str) -> float:
    """The value of ``metric`` in the epoch logs; a per-head tuple counts as its mean."""
    if metric not in logs:
        known = ", ".join(k for k in logs if k not in ("epoch",))
        raise TrainingError(f"the monitored metric {metric!r} is not among this run's figures ({known})")
    value = logs[metric]
    if isinstance(value, (tuple, list)):
        value = sum(value) / len(value)
    return float(value)


def better_mode(metric: str, mode: str) -> str:
    """'min' or 'max'; 'auto' is min for losses and max for everything else."""
    if mode not in ("auto", "min", "max"):
        raise TrainingError(f"mode must be auto, min or max, got {mode!r}")
    if mode == "auto":
        return "min" if metric.endswith("loss") else "max"
    return mode


def format_accuracy(acc) -> str:
    """0.812 → '0.812'; a per-head tuple (0.661, 0.048) → '0.661+0.048' (the book's style)."""
    if isinstance(acc, (tuple, list)):
        return "+".join(f"{a:5.3f}" for a in acc)
    return f"{acc:5.3f}"


class ReportPrinter(Callback):
    """Prints a report line every ``report`` epochs — and the last epoch, always (0: none).

    ``on_report(epoch)``, when given, runs after each line (the GAN adds its loss pair and
    a picture there). Override :meth:`epoch_line` and :meth:`end_lines` for another
    format; pass the instance as ``reporter=`` to ``fit`` / ``Model.train``.
    """

    def __init__(self, report: int | None = None, on_report=None):
        self.report = report
        self.on_report = on_report
        self._last_report_time = 0.0

    def on_train_begin(self, run, logs):
        if self.report is None:
            self.report = run.report
        self._last_report_time = run.history.seconds[-1] if run.history.seconds else 0.0

    def epoch_line(self, run, logs, since_last: float) -> str:
        """The book's line: ``Epoch 2: loss=0.123, accuracy=0.950/0.962 (1/3 secs)``."""
        label = getattr(run.model, "accuracy_label", "accuracy")
        line = (f"Epoch {logs['epoch']}: loss={logs['loss']:5.3f}, {label}="
                f"{format_accuracy(logs['accuracy'])}/{format_accuracy(logs['val_accuracy'])} "
                f"({since_last:.0f}/{logs['elapsed_seconds']:.0f} secs)")
        if run.learning_rate != run.base_learning_rate or logs["learning_rate"] != run.base_learning_rate:
            line += f", lr={logs['learning_rate']:.3g}"
        return line

    def end_lines(self, run, logs) -> list[str]:
        """The closing lines: why training stopped (when early) and the book's 'train ended' line."""
        lines = []
        if run.stop_reason:
            lines.append(f"Model {run.model.name} stopped after epoch {run.epoch} of {run.epochs}: "
                         f"{run.stop_reason}")
        lines.append(f"Model {run.model.name} train ended in {run.history.train_seconds:.0f} secs:")
        return lines

    def due(self, run, epoch: int) -> bool:
        return bool(self.report) and (epoch % self.report == 0 or epoch == run.epochs or run.stop_requested)

    def on_epoch_end(self, run, logs):
        epoch = logs["epoch"]
        if not self.due(run, epoch):
            return
        now = logs["elapsed_seconds"]
        run.printer(self.epoch_line(run, logs, now - self._last_report_time))
        self._last_report_time = now
        if self.on_report is not None:
            self.on_report(epoch)

    def on_train_end(self, run, logs):
        for line in self.end_lines(run, logs):
            run.printer(line)


def weight_arrays(model) -> list:
    """Every array that defines the model's function: parameters and layer state (batch-norm
    statistics) — of a whole model (a run's ``owner``)."""
    arrays = [slot.value for slot in model.slots]
    arrays += [value for layer in model.network.walk() for value in layer.state.values()]
    return arrays


class EarlyStopping(Callback):
    """Stop when ``metric`` has not improved for ``patience`` epochs.

    ``mode`` 'min', 'max' or 'auto' (min for losses). An improvement must beat the best
    so far by more than ``min_delta``. With ``restore_best`` the weights of the best epoch
    are copied back when training ends (early or not).
    """

    def __init__(self, patience: int = 5, metric: str = "val_loss", mode: str = "auto", restore_best: bool = True,
                 min_delta: float = 0.0):
        self.patience = checked(patience, positive_int(), "early_stopping.patience", TrainingError)
        self.metric = metric
        self.mode = better_mode(metric, mode)
        self.restore_best = bool(restore_best)
        self.min_delta = float(min_delta)
        self.best = None
        self.best_epoch = 0
        self.wait = 0
        self._best_weights = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, run, logs):
        value = monitored_value(logs, self.metric)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best:
                self._best_weights = [a.copy() for a in weight_arrays(run.owner)]
            return
        self.wait += 1
        if self.wait >= self.patience:
            run.stop(f"early stopping: {self.metric} did not improve for {self.patience} epochs "
                     f"(best {self.best:.4g} at epoch {self.best_epoch})")

    def on_train_end(self, run, logs):
        if self.restore_best and self._best_weights is not None and self.best_epoch != run.epoch:
            for target, saved in zip(weight_arrays(run.owner), self._best_weights, strict=False):
                target[...] = saved
            run.restored_epoch = self.best_epoch
            run.printer(f"Model {run.model.name}: weights restored from epoch {self.best_epoch} "
                        f"(best {self.metric} {self.best:.4g})")

    def state(self) -> dict:
        # the best weights themselves are not kept across a resume: after one, the best
        # epoch before it is remembered by value, and restore_best restores only a later best
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state.get("best"), state.get("best_epoch", 0), state.get("wait", 0)


CHECKPOINT_FILE = "checkpoint.json"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path``, then rename it into place
    (:mod:`alzza.saving.atomic`: mode 0644 under the usual umask, killed saves' temp files cleaned)."""
    from ..saving.atomic import write_text_atomic as write

    write(path, text)


class Checkpoint(Callback):
    """Every ``every`` epochs (and at the last one) write ``model.npz`` and ``checkpoint.json``
    into ``folder``, both atomically.

    model.npz holds the weights and the optimiser state (:func:`alzza.saving.model_files.save_model`);
    checkpoint.json the epoch counter, the learning rate, the random generator's state,
    the history so far and the states of the other callbacks — all that
    :func:`alzza.training.loop.fit` needs (``resume=``) to continue exactly where it stopped.
    ``stage`` names the training stage of a family model (one checkpoint per stage).
    """

    def __init__(self, folder, every: int = 1, stage: str = "train", callbacks=(), rng=None, extra=None):
        checked(every, positive_int(), "checkpoint_every", TrainingError)
        self.folder = Path(folder)
        self.every = every
        self.stage = stage
        self.callbacks = list(callbacks)
        self.rng = rng
        self.extra = dict(extra or {})

    def on_epoch_end(self, run, logs):
        epoch = logs["epoch"]
        if epoch % self.every == 0 or epoch == run.epochs or run.stop_requested:
            self.write(run, epoch)

    def write(self, run, epoch: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        owner = run.owner
        owner.save(self.folder / "model.npz")
        record = {
            "format": "alzza-checkpoint",
            "stage": self.stage,
            "epoch": epoch,
            "epochs": run.epochs,
            "learning_rate": run.learning_rate,
            "stop_reason": run.stop_reason,
            "rng": self.rng.bit_generator.state if self.rng is not None else None,
            "callbacks": [c.state() if hasattr(c, "state") else None for c in self.callbacks],
            "history": run.history.to_dict(),
            # a family model's stages finished before this one (resuming skips them)
            "previous_stages": [h.to_dict() for _, h in getattr(owner, "histories", [])],
            "stage_metrics": getattr(owner, "stage_metrics", None) or {},
            **self.extra,
        }
        write_text_atomic(self.folder / CHECKPOINT_FILE, json.dumps(record, indent=1))


def read_checkpoint(folder) -> dict:
    """The checkpoint.json of ``folder``, checked (a clear error when absent or damaged)."""
    path = Path(folder) / CHECKPOINT_FILE
    if not path.is_file():
        raise TrainingError(f"{folder}: no {CHECKPOINT_FILE} to resume from; a run writes one when its "
                            f"experiment sets train: checkpoint_every: N (or --checkpoint-every N)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise TrainingError(f"{path} is not a readable checkpoint (it nests too deeply); "
                            "start the run afresh") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, or too many digits
        raise TrainingError(f"{path} is not a readable checkpoint ({exc}); start the run afresh") from None
    if not isinstance(record, dict) or record.get("format") != "alzza-checkpoint" or "epoch" not in record:
        raise TrainingError(f"{path} is not an alzza checkpoint; start the run afresh")
    if not (Path(folder) / "model.npz").is_file():
        raise TrainingError(f"{folder}: {CHECKPOINT_FILE} is there but model.npz is missing; start afresh")
    from .checkpoint_check import check_checkpoint

    return check_checkpoint(record, path)
