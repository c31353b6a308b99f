"""The record of a training run: one row per epoch, as history.csv and result.json keep it."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["History", "history_csv"]


def _plain(value):
    """NumPy scalars → Python floats, tuples of them → tuples of floats."""
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (np.generic, np.ndarray)) and np.size(value) == 1:
        return value.item()
    return value


@dataclass
class History:
    """Per-epoch record of a training run (every epoch, whatever the report interval).

    ``seconds`` is the time since the run began at each epoch's end; ``validate_metrics``
    every metric of the head on the validation examples. ``accuracy_names`` names the
    components of a per-head accuracy (e.g. discriminator / generator, step / sequence).
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    validate_accuracy: list = field(default_factory=list)
    validate_loss: list = field(default_factory=list)
    validate_metrics: list = field(default_factory=list)
    learning_rate: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    train_seconds: float = 0.0
    stage: str = "train"
    stop_reason: str = ""
    accuracy_names: list | None = None
    accuracy_label: str = "accuracy"
    #: the epoch whose weights early stopping restored at the end (None: the last epoch's)
    restored_epoch: int | None = None
    #: how many validation examples each epoch was scored on, and whether that is the whole split
    validate_count: int = 0
    validate_full: bool = True

    @property
    def epochs_run(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict:
        """Plain data for JSON (result.json, checkpoint.json): a missing figure (NaN, e.g. no
        validation examples) is None, so the JSON stays strict."""
        return _no_nan({
            "stage": self.stage,
            "epoch": self.epoch,
            "loss": self.loss,
            "train_accuracy": self.train_accuracy,
            "validate_accuracy": self.validate_accuracy,
            "validate_loss": self.validate_loss,
            "validate_metrics": self.validate_metrics,
            "learning_rate": self.learning_rate,
            "seconds": self.seconds,
            "train_seconds": self.train_seconds,
            "epochs_run": self.epochs_run,
            "stop_reason": self.stop_reason,
            "accuracy_names": self.accuracy_names,
            "accuracy_label": self.accuracy_label,
            "restored_epoch": self.restored_epoch,
            "validate_count": self.validate_count,
            "validate_full": self.validate_full,
        })

    @classmethod
    def from_dict(cls, data: dict) -> History:
        def tuples(values):
            return [tuple(v) if isinstance(v, list) else v for v in values]

        history = cls(stage=data.get("stage", "train"), stop_reason=data.get("stop_reason", ""),
                      accuracy_names=data.get("accuracy_names"), accuracy_label=data.get("accuracy_label", "accuracy"))
        history.epoch = list(data.get("epoch", []))
        history.loss = list(data.get("loss", []))
        history.train_accuracy = tuples(data.get("train_accuracy", []))
        history.validate_accuracy = tuples(data.get("validate_accuracy", []))
        history.validate_loss = [float("nan") if v is None else v for v in data.get("validate_loss", [])]
        history.validate_metrics = [{k: tuple(v) if isinstance(v, list) else v for k, v in m.items()}
                                    for m in data.get("validate_metrics", [])]
        history.learning_rate = list(data.get("learning_rate", []))
        history.seconds = list(data.get("seconds", []))
        history.train_seconds = float(data.get("train_seconds", 0.0))
        history.restored_epoch = data.get("restored_epoch")
        history.validate_count = int(data.get("validate_count") or 0)
        history.validate_full = bool(data.get("validate_full", True))
        return history

    # --- one epoch's figures: the callbacks' logs, History.history, history.csv -----------
    def epoch_logs(self, i: int) -> dict:
        """The figures of the ``i``-th recorded epoch under the names every consumer uses:
        the callbacks' ``logs``, :attr:`history` (Keras's ``History.history``) and the
        columns of history.csv (where a per-head tuple is split into ``<key>_<name>``).

        ``epoch``; ``loss``, ``accuracy`` (the epoch's training means); ``val_loss``,
        ``val_accuracy``, ``val_<metric>`` (the head's other metrics on the validation
        examples, per-head accuracies not repeated); ``learning_rate``; ``epoch_seconds``,
        ``elapsed_seconds``.
        """
        i = range(len(self.epoch))[i]
        metrics = self.validate_metrics[i] if i < len(self.validate_metrics) else {}
        # the components of a per-head accuracy are already in val_accuracy
        repeated = {"accuracy", "loss", *(f"{name}_accuracy" for name in self.accuracy_names or ())}
        previous = self.seconds[i - 1] if i else 0.0
        return {
            "epoch": self.epoch[i],
            "loss": self.loss[i],
            "accuracy": self.train_accuracy[i],
            "val_loss": self.validate_loss[i] if i < len(self.validate_loss) else float("nan"),
            "val_accuracy": self.validate_accuracy[i] if i < len(self.validate_accuracy) else float("nan"),
            **{f"val_{key}": value for key, value in metrics.items() if key not in repeated},
            "learning_rate": self.learning_rate[i] if i < len(self.learning_rate) else float("nan"),
            "epoch_seconds": self.seconds[i] - previous if i < len(self.seconds) else float("nan"),
            "elapsed_seconds": self.seconds[i] if i < len(self.seconds) else float("nan"),
        }

    @property
    def history(self) -> dict:
        """Keras's shape: figure name → one value per epoch (``history.history["val_loss"]``),
        the names of the callbacks' logs (:meth:`epoch_logs`) but ``epoch``, which is
        :attr:`epoch` itself, as in Keras."""
        columns: dict = {}
        for i in range(len(self.epoch)):
            for key, value in self.epoch_logs(i).items():
                if key != "epoch":
                    columns.setdefault(key, []).append(value)
        return columns

    def rows(self) -> list[dict]:
        """One dict per epoch: the columns of history.csv — ``stage``, then the epoch logs,
        a per-head accuracy split into ``accuracy_<name>``."""
        rows = []
        for i in range(len(self.epoch)):
            row = {"stage": self.stage}
            for key, value in self.epoch_logs(i).items():
                if key.endswith("_seconds"):
                    value = round(value, 4)
                _put(row, key, value, self.accuracy_names if key in ("accuracy", "val_accuracy") else None)
            rows.append(row)
        return rows


def _no_nan(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_no_nan(v) for v in value)
    return value


def _put(row: dict, key: str, value, names):
    if isinstance(value, (tuple, list)):
        for j, v in enumerate(value):
            name = names[j] if names and j < len(names) else str(j + 1)
            row[f"{key}_{name}"] = v
    else:
        row[key] = value


def history_csv(histories) -> str:
    """The CSV text of one or more histories (the stages of a family, in order): a header
    with the union of their columns, one row per epoch, empty cells where a stage has no
    such figure."""
    rows = [row for history in histories for row in history.rows()]
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    if not columns:
        columns = ["stage", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                   "epoch_seconds", "elapsed_seconds"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value):
    """A CSV cell: 6 significant digits; a missing figure (None, NaN) is left empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}" if isinstance(value, float) else value
