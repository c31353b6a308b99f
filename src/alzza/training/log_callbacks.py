"""Callbacks that log each epoch to a file: a CSV table and TensorBoard event files.

Both write the epoch figures under the names of the callbacks' logs, History.history and
history.csv (:meth:`alzza.training.history.History.epoch_logs`)::

    model.fit(x, y, validation_split=0.1, epochs=20,
              callbacks=[CSVLogger("log.csv"), TensorBoard("runs/tb")])

:class:`CSVLogger` writes history.csv's columns, one row per epoch, the whole file
rewritten atomically at each epoch's end (a killed run leaves the epochs it finished).
:class:`TensorBoard` needs the optional ``tensorboard`` package (``pip install
"alzza[tensorboard]"``); it writes what Keras's callback writes — scalars ``epoch_loss``,
``epoch_accuracy``, ... with the epoch as step, the training figures under
``<log_dir>/train`` and the validation ones (``val_`` dropped) under
``<log_dir>/validation``, so TensorBoard draws the two curves of a figure together —
then ``tensorboard --logdir <log_dir>``. A family's later stages (``autoencode``, then
``supervised``...) go under ``<log_dir>/<stage>/train`` and ``.../validation``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from .callbacks import Callback
from ..errors import TrainingError
from .history import history_csv

__all__ = ["CSVLogger", "TensorBoard"]


class CSVLogger(Callback):
    """history.csv's columns, one row per finished epoch, to ``filename``.

    ``append=True`` keeps the rows already in the file (a continued run adds its epochs
    below) — the file must then have the same columns.
    """

    def __init__(self, filename, append: bool = False):
        self.path = Path(filename)
        self.append = bool(append)
        self._before = ""

    def on_train_begin(self, run, logs):
        self._before = ""
        if self.append and self.path.is_file():
            self._before = self.path.read_text(encoding="utf-8")

    def on_epoch_end(self, run, logs):
        from ..saving.atomic import write_text_atomic

        text = history_csv([run.history])
        if self._before:
            header, _, rows = text.partition("\n")
            if self._before.partition("\n")[0] != header:
                raise TrainingError(f"{self.path}: its columns ({self._before.partition(chr(10))[0]}) are not this "
                                    f"run's ({header}); log to another file, or pass append=False")
            text = self._before + ("" if self._before.endswith("\n") else "\n") + rows
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path, text)


def _event_writer(folder: Path):
    try:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise TrainingError("the TensorBoard callback needs the tensorboard package: "
                            'pip install "alzza[tensorboard]"') from None
    folder.mkdir(parents=True, exist_ok=True)
    return EventFileWriter(str(folder))


def _scalars(logs: dict, names) -> tuple[dict, dict]:
    """(training scalars, validation scalars): tag → float; a per-head tuple becomes one
    scalar per component (``epoch_accuracy_<name>``); a missing figure (NaN) is left out."""
    train, validation = {}, {}
    for key, value in logs.items():
        if key in ("epoch", "epoch_seconds", "elapsed_seconds"):
            continue
        target, name = (validation, key[4:]) if key.startswith("val_") else (train, key)
        values = value if isinstance(value, (tuple, list)) else (value,)
        for j, v in enumerate(values):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v):
                continue
            suffix = "" if len(values) == 1 else "_" + (names[j] if names and j < len(names) else str(j + 1))
            target[f"epoch_{name}{suffix}"] = float(v)
    return train, validation


class TensorBoard(Callback):
    """Scalars per epoch as TensorBoard event files under ``log_dir`` (module docstring)."""

    def __init__(self, log_dir="logs"):
        self.log_dir = Path(log_dir)
        self._writers: dict = {}

    def _writer(self, stage: str, part: str):
        folder = self.log_dir / part if stage == "train" else self.log_dir / stage / part
        if folder not in self._writers:
            self._writers[folder] = _event_writer(folder)
        return self._writers[folder]

    def on_train_begin(self, run, logs):
        self._writer(run.history.stage, "train")  # fails now, not after the first epoch, without tensorboard

    def on_epoch_end(self, run, logs):
        from tensorboard.compat.proto import event_pb2, summary_pb2

        train, validation = _scalars(logs, run.history.accuracy_names)
        for part, scalars in (("train", train), ("validation", validation)):
            if not scalars:
                continue
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)
                                                 for tag, value in scalars.items()])
            self._writer(run.history.stage, part).add_event(
                event_pb2.Event(wall_time=time.time(), step=int(logs["epoch"]), summary=summary))

    def on_train_end(self, run, logs):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
