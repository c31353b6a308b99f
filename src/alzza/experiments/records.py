"""What both runners share: the result record and the files beside it, the printed
comparison with the book, the divergence warning and the options of each training stage.

:mod:`.runner` runs a plain network experiment, :mod:`.families` the staged model families;
both write result.json, history.csv and the rest through these functions, so neither
imports the other for them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

from ..saving.atomic import write_text_atomic
from ..errors import ExperimentError
from ..threads import current_blas_threads
from .fingerprint import fingerprint
from ..training.loop import format_accuracy
from ..version import __version__
from .catalogue import Experiment


COMPARED = ("accuracy", "precision", "recall", "f1")


def _plain(value):
    """Metrics as JSON-friendly values (tuples → lists, NumPy scalars → floats)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return value


def strict_json(value):
    """``value`` with every non-finite float replaced by None, and whether any was.

    result.json is strict JSON (``allow_nan=False``): a bare NaN is not JSON and breaks
    other readers. The record then says ``"non_finite": true``.
    """
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else (None, True)
    if isinstance(value, (list, tuple)):
        items = [strict_json(v) for v in value]
        return [v for v, _ in items], any(f for _, f in items)
    if isinstance(value, dict):
        items = {k: strict_json(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(f for _, f in items.values())
    return value, False


def write_json_atomic(path: Path, data) -> None:
    """Write ``data`` as strict JSON to a temp file beside ``path`` and rename it into place.

    Non-finite numbers become null, and a top-level record then gets ``"non_finite": true``.
    """
    data, replaced = strict_json(data)
    if replaced and isinstance(data, dict):
        data["non_finite"] = True
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def seconds_text(seconds: float) -> str:
    """'218 s', or '0.4 s' for a run too short for whole seconds to say anything."""
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def comparison_lines(metrics: dict, book: dict, train_seconds: float | None = None) -> list[str]:
    """'accuracy   0.812   book 0.810' rows for every metric the book reports too."""
    lines = []
    for key in COMPARED:
        if key not in metrics:
            continue
        ours = format_accuracy(metrics[key])
        theirs = book.get(key)
        theirs_text = format_accuracy(theirs) if theirs is not None else "—"
        lines.append(f"  {key:<10} ours {ours:<14} book {theirs_text}")
    if train_seconds is not None or book.get("train_seconds") is not None:
        ours = f"ours {seconds_text(train_seconds)}" if train_seconds is not None else "ours —"
        theirs = f"book {book['train_seconds']} s" if book.get("train_seconds") is not None else "book —"
        lines.append(f"  train time: {ours}, {theirs}")
    return lines


def result_record(exp, dataset, model, metrics, settings, seed, history, pictures, *, max_batches,
                  train_seconds, **extra) -> dict:
    """The contents of result.json (SPEC §7: experiment, dataset, metrics, book, epochs,
    train_seconds, seed, version — and the settings, pictures and per-epoch history; the
    ``fingerprint`` of code, settings and seed, and where the data came from)."""
    return {
        "experiment": exp.name,
        "chapter": exp.chapter,
        "title": exp.title,
        "kind": exp.kind,
        "dataset": str(dataset),
        "dataset_spec": exp.dataset,
        "metrics": _plain(metrics),
        "book": _plain(exp.book),
        "epochs": settings["epochs"],
        "batch_size": settings["batch_size"],
        "learning_rate": settings["learning_rate"],
        "optimizer": settings["optimizer"],
        "max_batches": max_batches,
        "train_seconds": train_seconds,
        "seed": seed,
        "blas_threads": current_blas_threads(),  # the summation order depends on it (alzza/threads.py)
        "version": __version__,
        # what made this record (code hash, settings, seed): alzza reproduce --resume compares it
        "fingerprint": fingerprint(exp, settings, seed, max_batches),
        "data_source": getattr(dataset, "source", ""),
        "parameters": model.parameter_count(),
        "pictures": pictures,
        "model_file": "model.npz",
        "history": _plain(history.to_dict()),
        "epochs_run": history.epochs_run,
        "stop_reason": history.stop_reason,
        **extra,
    }


@contextlib.contextmanager
def keep_model_safe(model, exp: Experiment, out_dir: Path, printer=print):
    """When writing the results fails late (full disk, folder removed), keep the trained
    model in a fresh temporary folder and say where — hours of training are not lost."""
    try:
        yield
    except OSError as exc:
        try:
            safe = Path(tempfile.mkdtemp(prefix=f"alzza-{exp.name}-"))
            model.save(safe / "model.npz")
        except Exception as second:  # noqa: BLE001 — nowhere left to write: say so, keep the first error
            raise ExperimentError(f"could not write the results to {out_dir} ({exc.strerror or exc}), nor keep the "
                                  f"trained model in a temporary folder ({second})") from None
        raise ExperimentError(f"could not write the results to {out_dir} ({exc.strerror or exc}); the trained "
                              f"model is kept in {safe / 'model.npz'} (alzza.load reads it)") from None



#: a mean classification loss above this is no longer learning (a fresh K-class model starts near ln K)
DIVERGED_LOSS = 1e3



#: ...nor is any loss that grew this many times over the first epoch's
DIVERGED_GROWTH = 1e3


def diverged(model, history, book_rate: bool = False) -> bool:
    """Whether training ran away: a non-finite loss, or any loss DIVERGED_GROWTH times the
    first epoch's (regression losses have the targets' scale, so growth tells), or — only
    when the learning rate was raised above the run's own (``book_rate`` False) — a
    classification loss over DIVERGED_LOSS (logits in the thousands, e.g. ``--lr 1e6``).

    Why the rate matters: at their own settings some of the book's rows have logits that
    large and still learn as the book shows (steel's unstandardised inputs: an exact loss
    of ≈ 2e9 where the book prints 15.984 with the same accuracy, chap03/steel_test cell 1),
    so a large finite loss alone is no runaway there."""
    losses = [loss for loss in history.loss if loss is not None]
    if not losses:
        return False
    last = losses[-1]
    if not all(math.isfinite(loss) for loss in losses):
        return True
    classification = getattr(getattr(model, "head", None), "mode", "regression") != "regression"
    if classification and not book_rate and last > DIVERGED_LOSS:
        return True
    return len(losses) > 1 and losses[0] > 0 and last > DIVERGED_GROWTH * losses[0]


def warn_if_diverged(model, history, printer=print, book_rate: bool = False) -> bool:
    """Print one warning line when training diverged; result.json then says ``"diverged": true``
    (the results are still written, and ``alzza run`` still exits 0 after a warning on stderr:
    some of the book's own experiments run away like this and still print its comparison)."""
    if not diverged(model, history, book_rate):
        return False
    printer(f"warning: training diverged (mean loss {history.loss[-1]:.3g} in the last epoch, "
            f"{history.loss[0]:.3g} in the first); the results are not meaningful. "
            "Try a lower learning rate or standardised inputs.")
    return True



#: the train: keys that are options of alzza.training.loop.fit as they are
FIT_OPTIONS = ("validate", "lr_schedule", "early_stopping")


#: the run's settings a checkpoint records, so that ``--resume`` continues the same run
RESUMED_SETTINGS = ("epochs", "batch_size", "learning_rate", "max_batches")


def fit_options(settings: dict, out_dir: Path, exp, seed, resume=None, stage="train") -> dict:
    """The keyword options of :func:`alzza.training.loop.fit` for one training stage of a run."""
    options = {key: settings[key] for key in FIT_OPTIONS if settings.get(key) is not None}
    if settings.get("checkpoint_every"):
        options.update(checkpoint_every=settings["checkpoint_every"], checkpoint_dir=out_dir,
                       checkpoint_info={"experiment": exp.name, "seed": seed,
                                        # what a resume takes over (W2 of issue 23)
                                        "settings": {key: settings.get(key) for key in RESUMED_SETTINGS}})
    if resume is not None and resume.get("stage", "train") == stage:
        options["resume"] = resume
    return options


def train_options(settings: dict) -> dict:
    """The steering options of a run as result.json records them."""
    return {key: settings.get(key) for key in (*FIT_OPTIONS, "checkpoint_every")}


@contextlib.contextmanager
def resume_hint(exp, settings: dict, out_dir: Path, printer=print):
    """On Ctrl-C during training with checkpoints, say how to continue (then stop as asked)."""
    try:
        yield
    except KeyboardInterrupt:
        if settings.get("checkpoint_every") and (out_dir / "checkpoint.json").is_file():
            name = exp.name if not exp.source or exp.source.startswith("alzza/") else exp.source
            printer(f"Interrupted. Continue from the last checkpoint with: alzza run {name} --resume {out_dir}")
        raise


def write_history(out_dir: Path, histories) -> str:
    """history.csv: one row per epoch of every training stage (see alzza.training.loop.history_csv)."""
    from ..training.callbacks import write_text_atomic
    from ..training.loop import history_csv

    write_text_atomic(out_dir / "history.csv", history_csv(histories))
    return "history.csv"


def written_line(out_dir: Path, names) -> str:
    """'Wrote DIR/: a, b and c' — every file the run wrote, in one line."""
    names = list(dict.fromkeys(names))
    listed = ", ".join(names[:-1]) + (f" and {names[-1]}" if len(names) > 1 else names[0])
    return f"Wrote {out_dir}{os.sep}: {listed}"
