"""The training loop: epochs of shuffled minibatches, validation, callbacks, history.

The loop knows a model only through ``train_step(x, y, learning_rate) -> (loss, acc)``
and ``evaluate(x, y)``, and a data set only through ``train_batches`` and
``validate_sample`` — it never knows a layer type. Everything else a run does at an
epoch's edge (the report line, learning-rate schedules, early stopping, checkpoints,
your own hooks) is a callback (:mod:`alzza.training.loop.callbacks`).

Validation (``validate``): ``"full"`` scores the whole validation split every epoch;
an integer N a fixed sample of N validation examples drawn once at the start (so the
curve moves only when the model does); ``"auto"`` (the default) is full up to
:data:`FULL_VALIDATION_LIMIT` examples, else a fixed sample of that many.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .callbacks import (  # noqa: F401  (format_accuracy is re-exported: callers import it from here)
    Checkpoint,
    EarlyStopping,
    ReportPrinter,
    Run,
    call,
    format_accuracy,
    read_checkpoint,
)
from .diagnose import explain_non_finite
from ..errors import TrainingError
from ..memory import check_training
from ..options import checked, non_negative_int, positive_float, positive_int
from .history import History, _plain, history_csv  # noqa: F401  (History and history_csv are used from here too)
from ..progress import PROGRESS_DELAY, progress_bar  # noqa: F401  (PROGRESS_DELAY: read from here too)
from .schedules import make_schedule

#: validation splits up to this size are scored whole each epoch by default
FULL_VALIDATION_LIMIT = 1000
#: why a run stopped, as result.json says it
STOP_COMPLETED = "completed"


def _mean_accuracy(values):
    if values and isinstance(values[0], tuple):
        return tuple(sum(col) / len(col) for col in zip(*values, strict=False))
    return sum(values) / len(values) if values else float("nan")


def accuracy_names(model, dataset):
    """Names for the components of a per-head accuracy, or None for a single one."""
    names = getattr(model, "accuracy_names", None)
    if names:
        return list(names)
    names = getattr(dataset, "head_names", None)
    if names:
        return list(names)
    head = getattr(model, "head", None)
    if head is not None and "step_accuracy" in getattr(head, "metric_names", ()):
        return ["step", "sequence"]
    return None


def validation_set(dataset, validate, rng):
    """The (x, y) scored at each epoch's end: see the module docstring for ``validate``."""
    count = getattr(dataset, "validate_count", 0)
    if validate in (None, "auto"):
        validate = "full" if count <= FULL_VALIDATION_LIMIT else FULL_VALIDATION_LIMIT
    if validate == "full":
        return dataset.validate_sample(None, rng)
    checked(validate, positive_int(), "validate ('full', 'auto' or a number of examples)", TrainingError)
    return dataset.validate_sample(validate, rng)


def _copy_rng(state: dict):
    """A Generator positioned at a saved bit-generator ``state`` (for a resumed run's
    validation sample: drawn as the first run drew it, without moving the run's own)."""
    import numpy.random as npr

    bit_generator = getattr(npr, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def default_callbacks(*, report, on_report=None, reporter=None, lr_schedule=None, early_stopping=None,
                      callbacks=()) -> list:
    """The run's callbacks in their order: schedule, early stopping, yours, report, (checkpoint)."""
    chain = []
    schedule = make_schedule(lr_schedule)
    if schedule is not None:
        chain.append(schedule)
    if early_stopping:
        options = early_stopping if isinstance(early_stopping, dict) else {}
        chain.append(early_stopping if hasattr(early_stopping, "on_epoch_end") else _early_stopping(options))
    chain.extend(callbacks or ())
    if reporter is None:
        reporter = ReportPrinter(report, on_report=on_report)
    elif on_report is not None and getattr(reporter, "on_report", None) is None:
        reporter.on_report = on_report
    chain.append(reporter)
    return chain


EARLY_STOPPING_KEYS = {"patience", "metric", "mode", "restore_best", "min_delta"}


def _early_stopping(options: dict) -> EarlyStopping:
    unknown = set(options) - EARLY_STOPPING_KEYS
    if unknown:
        raise TrainingError(f"early_stopping: unknown option {sorted(unknown)[0]!r}; known: "
                            f"{', '.join(sorted(EARLY_STOPPING_KEYS))}")
    return EarlyStopping(**options)


def fit(model, dataset, *, epochs: int, batch_size: int, learning_rate: float, report: int, rng,
        printer=print, progress=None, max_batches: int | None = None, on_report=None, validate="auto",
        callbacks=(), reporter=None, lr_schedule=None, early_stopping=None, checkpoint_every: int = 0,
        checkpoint_dir=None, checkpoint_info=None, resume=None, stage: str = "train", owner=None) -> History:
    """Train ``model`` on ``dataset`` for up to ``epochs`` epochs; returns the :class:`History`.

    - ``report``: print a line every ``report`` epochs and at the last (0: only the end);
      ``reporter`` replaces the line printer (a :class:`~alzza.training.loop.callbacks.ReportPrinter`;
      default: the model's ``report_printer`` class attribute, else ReportPrinter);
      ``on_report(epoch)`` runs after each line.
    - ``validate``: ``'auto'``, ``'full'`` or N (module docstring).
    - ``lr_schedule``: a :mod:`alzza.training.loop.schedules` spec or object; ``early_stopping``: a
      mapping ``{patience, metric, mode, restore_best, min_delta}`` or an EarlyStopping.
    - ``callbacks``: your own (:mod:`alzza.training.loop.callbacks`), run before the report printer.
    - ``checkpoint_every`` N with ``checkpoint_dir``: model.npz + checkpoint.json every N
      epochs; ``resume``: a checkpoint record (:func:`~alzza.training.loop.callbacks.read_checkpoint`)
      whose weights are already in the model — training continues after its epoch.
    - ``owner``: the model ``model`` is a chain of (a family's, when training one stage):
      what checkpoints save and early stopping restores; default ``model`` itself.

    Each epoch reshuffles the training split and runs ``train_count // batch_size``
    steps (``max_batches`` cuts epochs short: smoke runs). A non-finite loss stops
    training with a :class:`TrainingError` that says where and what to try.
    """
    checked(epochs, positive_int(), "epochs", TrainingError)
    checked(batch_size, positive_int(), "batch_size", TrainingError)
    checked(learning_rate, positive_float(), "learning_rate", TrainingError)
    checked(report, non_negative_int(), "report (every N epochs; 0: only the end)", TrainingError)
    check_training(model, batch_size)  # refuse before allocating, not with a MemoryError mid-epoch
    steps = dataset.batches_per_epoch(batch_size)
    if steps < 1:
        raise TrainingError(f"{dataset}: no full batch of {batch_size} in {dataset.train_count} training examples")
    if max_batches:
        steps = min(steps, max_batches)
    if reporter is None:
        # a model class may name its own printer (e.g. the book's report format) once for all its runs
        factory = getattr(model, "report_printer", None)
        if factory is not None:
            reporter = factory(report)
    chain = default_callbacks(report=report, on_report=on_report, reporter=reporter, lr_schedule=lr_schedule,
                              early_stopping=early_stopping, callbacks=callbacks)
    validate_rng_state = rng.bit_generator.state
    first = 1
    if resume is not None:
        history = History.from_dict(resume["history"])
        first = int(resume["epoch"]) + 1
        validate_rng_state = resume.get("validate_rng") or validate_rng_state
        saved = resume.get("callbacks") or []
        for callback, state in zip(chain, saved, strict=False):
            if state is not None and hasattr(callback, "load_state"):
                callback.load_state(state)
        if resume.get("rng"):
            rng.bit_generator.state = resume["rng"]
    else:
        history = History(stage=stage)
    history.accuracy_names = accuracy_names(model, dataset)
    history.accuracy_label = getattr(model, "accuracy_label", "accuracy")
    if checkpoint_every:
        if checkpoint_dir is None:
            raise TrainingError("checkpoint_every needs a folder to write to (checkpoint_dir)")
        chain.append(Checkpoint(checkpoint_dir, checkpoint_every, stage=stage, callbacks=chain, rng=rng,
                                extra={"validate_rng": validate_rng_state, **(checkpoint_info or {})}))
    if resume is None:
        vx, vy = validation_set(dataset, validate, rng)
    else:  # the same sample as the first run drew, without moving the restored stream
        vx, vy = validation_set(dataset, validate, _copy_rng(validate_rng_state))
    history.validate_count = len(vy)
    history.validate_full = len(vy) >= getattr(dataset, "validate_count", len(vy))
    run = Run(model, dataset, owner=owner, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
              report=report, printer=printer, history=history, first_epoch=first)
    if resume is not None and resume.get("stop_reason"):
        run.stop(resume["stop_reason"])  # that run had ended (early stopping): nothing to continue
    offset = history.seconds[-1] if history.seconds else 0.0
    logs: dict = {"epoch": first - 1}
    bar = progress_bar(max(0, epochs - first + 1) * steps, progress, f"{getattr(model, 'name', '')} {stage}".strip())
    start = time.perf_counter()
    call(chain, "on_train_begin", run, logs)
    per_step = [callback for callback in chain if hasattr(callback, "on_batch_begin")]
    step_logs = {"step": 0, "total_steps": epochs * steps}
    # Overflow inside a step shows up as a non-finite loss, which stops the run with one
    # clear message below; NumPy's own RuntimeWarnings would only bury it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            epoch = first
            while epoch <= epochs and not run.stop_requested:
                run.epoch = epoch
                call(chain, "on_epoch_begin", run, {"epoch": epoch})
                lr = run.learning_rate
                losses, accs = [], []
                for n, (x, y) in enumerate(dataset.train_batches(batch_size, rng)):
                    if per_step:  # warmup schedules: a rate for every optimiser step
                        step_logs["step"] = (epoch - 1) * steps + n + 1
                        call(per_step, "on_batch_begin", run, step_logs)
                        lr = run.learning_rate
                    loss, acc = model.train_step(x, y, lr)
                    if not math.isfinite(loss):
                        raise TrainingError(
                            f"{model.name}: the loss became {loss} at epoch {epoch}, batch {n + 1}: "
                            f"{explain_non_finite(model, x, y)} (learning rate {lr})."
                        )
                    losses.append(loss)
                    accs.append(acc)
                    bar.update(1)
                    if n + 1 >= steps:
                        break
                metrics = {k: _plain(v) for k, v in model.evaluate(vx, vy).items()} if len(vy) else {}
                val_acc = metrics.get("accuracy", float("nan"))
                now = time.perf_counter() - start + offset
                history.epoch.append(epoch)
                history.loss.append(float(sum(losses) / len(losses)))
                history.train_accuracy.append(_plain(_mean_accuracy(accs)))
                history.validate_accuracy.append(val_acc)
                history.validate_loss.append(metrics.get("loss", float("nan")))
                history.validate_metrics.append(metrics)
                history.learning_rate.append(lr)
                history.seconds.append(now)
                history.train_seconds = now
                logs = history.epoch_logs(-1)  # the same names as History.history and history.csv
                bar.clear()
                call(chain, "on_epoch_end", run, logs)
                epoch += 1
        finally:
            bar.close()
    history.train_seconds = time.perf_counter() - start + offset
    history.stop_reason = run.stop_reason or STOP_COMPLETED
    call(chain, "on_train_end", run, logs)
    history.restored_epoch = run.restored_epoch
    return history


def show_curves_inline(history, title: str = "") -> bool:
    """In a Jupyter kernel, show the training curves under the cell; elsewhere nothing."""
    from ..viz.images import in_notebook, show_inline

    if not in_notebook() or not history.epoch:
        return False
    from ..viz.plots import training_curves

    return show_inline(training_curves(history, title=title))
