"""Every field of a ``checkpoint.json`` checked before a resumed run trusts it.

A checkpoint is a file a user may have edited, copied between runs or received: an epoch
of −5, 1e30 or ``true``, a history whose columns disagree, a random state of another
generator — each would train the wrong epochs or crash deep inside the loop. The checks
here are on types, ranges and consistency (the history holds exactly epochs 1…epoch);
whether the checkpoint belongs to this experiment and this model's shapes is checked by
the runner (experiment name, seed) and by :func:`alzza.saving.model_files.load_weights`.

A failure is one :class:`~alzza.errors.TrainingError` naming ``checkpoint.json`` and the
field, ending "start the run afresh".
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import TrainingError

#: the columns of a stage's history: one entry per epoch each
HISTORY_COLUMNS = ("loss", "train_accuracy", "validate_accuracy", "validate_loss", "validate_metrics",
                   "learning_rate", "seconds")
#: an epoch count no run reaches (a bound on what a file may ask for)
MAX_EPOCHS = 10_000_000


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _figure(value) -> bool:
    """A per-epoch figure: a number, a per-head list of numbers, or null (no validation)."""
    if value is None or _number(value):
        return True
    return isinstance(value, list) and all(v is None or _number(v) for v in value)


def check_rng_state(state, field: str, bad) -> None:
    """A numpy bit-generator state that loads into a generator of the run's kind (PCG64)."""
    if not isinstance(state, dict) or not isinstance(state.get("bit_generator"), str):
        bad(field, "is not a random generator state")
    if state["bit_generator"] != "PCG64":
        bad(field, f"is the state of a {state['bit_generator']!r} generator; alzza's runs use PCG64")
    try:
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        bad(field, f"is not a valid PCG64 state ({exc})")


def check_history(history, field: str, epoch: int, bad) -> None:
    """A stage's history: a mapping whose epochs are 1…``epoch`` and whose columns all have that length."""
    if not isinstance(history, dict):
        bad(field, f"must be a mapping, got {type(history).__name__}")
    epochs = history.get("epoch")
    if not isinstance(epochs, list) or epochs != list(range(1, epoch + 1)):
        bad(f"{field}.epoch", f"must list the epochs 1…{epoch} the checkpoint has done")
    for column in HISTORY_COLUMNS:
        values = history.get(column)
        if not isinstance(values, list) or len(values) != epoch:
            bad(f"{field}.{column}", f"must be a list of {epoch} entries, one per epoch")
        if column == "validate_metrics":
            if not all(isinstance(m, dict) and all(_figure(v) for v in m.values()) for m in values):
                bad(f"{field}.{column}", "must hold one mapping of numbers per epoch")
        elif column in ("loss", "learning_rate", "seconds"):
            if not all(_number(v) and math.isfinite(v) for v in values):
                bad(f"{field}.{column}", "must hold finite numbers")
        elif not all(_figure(v) for v in values):
            bad(f"{field}.{column}", "must hold numbers (or null)")
    for key in ("train_seconds",):
        if key in history and not (_number(history[key]) and math.isfinite(history[key])):
            bad(f"{field}.{key}", "must be a finite number")
    for key in ("stage", "stop_reason", "accuracy_label"):
        if key in history and history[key] is not None and not isinstance(history[key], str):
            bad(f"{field}.{key}", "must be text")
    names = history.get("accuracy_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        bad(f"{field}.accuracy_names", "must be a list of names")
    if history.get("validate_count") is not None and not _int(history["validate_count"]):
        bad(f"{field}.validate_count", "must be an integer")


def check_settings(settings, bad) -> None:
    """The run's settings a resume takes over: epochs, batch_size, learning_rate, max_batches."""
    if not isinstance(settings, dict):
        bad("settings", "must be a mapping of the run's settings")
    for key in ("epochs", "batch_size", "max_batches"):
        value = settings.get(key)
        if value is None and key == "max_batches":
            continue
        if not (_int(value) and 1 <= value <= MAX_EPOCHS):
            bad(f"settings.{key}", f"must be an integer >= 1, got {value!r}")
    rate = settings.get("learning_rate")
    if not (_number(rate) and 0 < rate < math.inf):
        bad("settings.learning_rate", f"must be a finite number > 0, got {rate!r}")


def check_checkpoint(record: dict, path) -> dict:
    """``record`` (the parsed checkpoint.json at ``path``) when every field is sound; else one TrainingError."""
    def bad(field, problem):
        raise TrainingError(f"{path}: field {field!r} {problem}; the checkpoint is damaged or was edited — "
                            "start the run afresh")

    epoch = record.get("epoch")
    if not _int(epoch) or not 1 <= epoch <= MAX_EPOCHS:
        bad("epoch", f"must be a whole number of epochs done (1 or more), got {epoch!r}")
    epochs = record.get("epochs", epoch)
    if not _int(epochs) or not epoch <= epochs <= MAX_EPOCHS:
        bad("epochs", f"must be a whole number of epochs, at least 'epoch' ({epoch}), got {epochs!r}")
    if not isinstance(record.get("stage", "train"), str):
        bad("stage", "must be text")
    rate = record.get("learning_rate")
    if rate is not None and not (_number(rate) and 0 < rate < math.inf):
        bad("learning_rate", f"must be a finite number > 0, got {rate!r}")
    if not isinstance(record.get("stop_reason", ""), str):
        bad("stop_reason", f"must be text (empty while training goes on), got {record.get('stop_reason')!r}")
    for field in ("rng", "validate_rng"):
        if record.get(field) is not None:
            check_rng_state(record[field], field, bad)
    callbacks = record.get("callbacks", [])
    if not isinstance(callbacks, list) or not all(c is None or isinstance(c, dict) for c in callbacks):
        bad("callbacks", "must be a list of callback states (mappings or null)")
    check_history(record.get("history"), "history", epoch, bad)
    previous = record.get("previous_stages", [])
    if not isinstance(previous, list):
        bad("previous_stages", "must be a list of histories")
    for i, stage in enumerate(previous):
        done = stage.get("epoch") if isinstance(stage, dict) else None
        check_history(stage, f"previous_stages[{i}]", len(done) if isinstance(done, list) else 0, bad)
    if not isinstance(record.get("stage_metrics", {}), dict):
        bad("stage_metrics", "must be a mapping")
    if "experiment" in record and not isinstance(record["experiment"], str):
        bad("experiment", "must be the experiment's name")
    settings = record.get("settings")
    if settings is not None:
        check_settings(settings, bad)
    seed = record.get("seed")
    if seed is not None and not (_int(seed) and seed >= 0):
        bad("seed", f"must be an integer >= 0, got {seed!r}")
    return record
