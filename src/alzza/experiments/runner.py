"""Run an experiment: data set → model → train → test → visualise → files.

Writes to the output folder:

* ``result.json`` — experiment, dataset, metrics, book, epochs, epochs_run, stop_reason,
  train_seconds, seed, version, the training settings and the per-epoch history;
* ``history.csv`` — one row per epoch (of every stage): loss, accuracy, validation loss
  and metrics, learning rate, seconds;
* ``report.html`` — the whole run on one self-contained page (:mod:`alzza.report`);
* ``checkpoint.json`` (with ``checkpoint_every``) — what ``resume`` needs besides model.npz;
* ``training.png`` — loss and accuracy curves;
* ``model.npz`` — the trained model (``alzza.load`` reads it back);
* ``visualize.txt`` — the visualised examples as text;
* ``visualize.png`` — the visualised examples as captioned pictures (image data sets);
* the experiment's extra ``pictures``: ``maps.png`` (``maps``: conv kernels and the
  feature maps of a few test examples, :func:`alzza.viz.maps.show_maps`) and
  ``weights.png`` (``weights``: weight histograms, :func:`alzza.viz.weights.weight_histograms`;
  their mean / std / near-zero share also go to ``result.json`` under ``weights``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from pathlib import Path

from .. import __version__
from ..atomic import write_text_atomic
from ..data import describe_dataset, make_dataset
from ..errors import ExperimentError
from ..init import ShapeOnly
from ..models import Model
from ..reproduce.fingerprint import fingerprint
from ..training import format_accuracy
from ..viz.plots import training_curves
from .catalogue import PICTURES, Experiment, check_run_name, find_experiment

DEFAULT_SEED = 1234
COMPARED = ("accuracy", "precision", "recall", "f1")
#: examples whose feature maps the ``maps`` picture shows
MAP_EXAMPLES = 3


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


def build_model(exp: Experiment, dataset, seed: int, printer=print, allocate: bool = True) -> Model:
    """The experiment's model for ``dataset``; ``allocate=False``: shapes and counts only (no weights drawn)."""
    if exp.kind != "network":  # autoencoder, encoder_decoder, gan (chapters 13–15)
        from .families import build_family_model

        return build_family_model(exp, dataset, seed, printer, allocate=allocate)
    train = exp.train
    return Model(dataset, exp.layers, name=exp.name, optimizer=train["optimizer"], l2_decay=train["l2_decay"],
                 l1_decay=train["l1_decay"], init=exp.init if allocate else ShapeOnly(exp.init), seed=seed,
                 macros=exp.macros, head=exp.head, printer=printer)


def check_spec(exp: Experiment, data_dir=None) -> None:
    """Build the model on the data set's declared shapes, without weights: spec errors, no data read."""
    declared = describe_dataset(exp.dataset, data_dir=data_dir, declared_only=True)
    if declared is not None:
        model = build_model(exp, declared, seed=0, printer=lambda *args: None, allocate=False)
        if exp.kind == "network":
            check_pictures(exp, model)


def check_pictures(exp: Experiment, model: Model) -> None:
    """Fail before training when a requested picture can't be drawn for this model."""
    if "maps" in exp.pictures:
        from ..viz.maps import conv_layers

        if not conv_layers(model):
            raise ExperimentError(f"{exp.source or exp.name}: pictures: 'maps' draws conv kernels and feature "
                                  f"maps, but the network has no top-level 'conv' layer")


def draw_pictures(exp: Experiment, model: Model, dataset, out_dir: Path, printer=print) -> tuple[dict, dict]:
    """The experiment's extra pictures: ({name: file}, extra result.json entries)."""
    files, extra = {}, {}
    for name in PICTURES:
        (out_dir / f"{name}.png").unlink(missing_ok=True)  # never leave a stale picture behind
    for name in exp.pictures:
        path = out_dir / f"{name}.png"
        if name == "maps":
            from ..viz.maps import show_maps

            x, _ = dataset.test_data()
            if len(x) == 0:
                x, _ = dataset.validate_sample(MAP_EXAMPLES, model.rng)
            show_maps(model, x[:MAP_EXAMPLES], path, examples=MAP_EXAMPLES)
        elif name == "weights":
            from ..viz.weights import NEAR_ZERO, weight_histograms

            _, stats = weight_histograms(model, path)
            extra["weights"] = stats
            printer(f"Weights (near zero: |w| < {NEAR_ZERO:g}):")
            for slot, s in stats.items():
                printer(f"  {slot:<24} mean {s['mean']:+.3e}  std {s['std']:.3e}  "
                        f"near zero {100 * s['near_zero']:5.1f}%")
        files[name] = path.name
    return files, extra


def check_settings(settings: dict, seed, exp: Experiment) -> None:
    """Every setting checked before anything is loaded or trained (overrides included)."""
    where = exp.source or exp.name
    for key in ("epochs", "batch_size"):
        if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
            raise ExperimentError(f"{where}: {key} must be an integer >= 1, got {settings[key]!r}")
    if isinstance(settings["report"], bool) or not isinstance(settings["report"], int) or settings["report"] < 0:
        raise ExperimentError(f"{where}: report must be an integer >= 0, got {settings['report']!r}")
    lr = settings["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ExperimentError(f"{where}: the learning rate must be a finite number > 0, got {lr!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExperimentError(f"{where}: the seed must be an integer >= 0, got {seed!r}")
    check_run_name(exp.name, where)


def prepare_out_dir(out, exp: Experiment) -> Path:
    """The output folder, created and proven writable BEFORE training (so no work is lost).

    By default ``runs/<name>``, where the name is one safe folder name (see
    :func:`~alzza.experiments.catalogue.check_run_name`): an experiment file can't choose
    to write, or delete pictures, anywhere else.
    """
    out_dir = Path(out) if out is not None else Path("runs") / check_run_name(exp.name, exp.source or exp.name)
    label = f"--out {out_dir}" if out is not None else f"output folder {out_dir}"
    if out_dir.exists() and not out_dir.is_dir():
        raise ExperimentError(f"{label}: is a file (or device), not a folder; give a folder for the results")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".alzza-write-test.", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise ExperimentError(f"{label}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise ExperimentError(f"{label}: cannot write there ({exc.strerror or exc}); "
                              "give a writable folder with --out") from None
    return out_dir


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


def diverged(model, history) -> bool:
    """Whether training ran away: a classification loss over DIVERGED_LOSS at the end (logits
    in the thousands: a cross-entropy that large means the weights blew up — e.g. ``--lr 1e6``,
    or the book's unstandardised steel inputs), or any loss DIVERGED_GROWTH times the first
    epoch's (regression losses have the targets' scale, so only growth tells)."""
    losses = [loss for loss in history.loss if loss is not None]
    if not losses:
        return False
    last = losses[-1]
    if not math.isfinite(last):
        return True
    if getattr(getattr(model, "head", None), "mode", "regression") != "regression" and last > DIVERGED_LOSS:
        return True
    return len(losses) > 1 and losses[0] > 0 and last > DIVERGED_GROWTH * losses[0]


def warn_if_diverged(model, history, printer=print) -> bool:
    """Print one warning line when training diverged; result.json then says ``"diverged": true``
    (the results are still written, and ``alzza run`` still exits 0 after a warning on stderr:
    some of the book's own experiments run away like this and still print its comparison)."""
    if not diverged(model, history):
        return False
    printer(f"warning: training diverged (mean loss {history.loss[-1]:.3g} in the last epoch, "
            f"{history.loss[0]:.3g} in the first); the results are not meaningful. "
            "Try a lower learning rate or standardised inputs.")
    return True


#: the train: keys that are options of alzza.training.fit as they are
FIT_OPTIONS = ("validate", "lr_schedule", "early_stopping")


def fit_options(settings: dict, out_dir: Path, exp, seed, resume=None, stage="train") -> dict:
    """The keyword options of :func:`alzza.training.fit` for one training stage of a run."""
    options = {key: settings[key] for key in FIT_OPTIONS if settings.get(key) is not None}
    if settings.get("checkpoint_every"):
        options.update(checkpoint_every=settings["checkpoint_every"], checkpoint_dir=out_dir,
                       checkpoint_info={"experiment": exp.name, "seed": seed})
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


def read_resume(folder, exp, seed):
    """The checkpoint of ``folder`` for a run of ``exp``: checked to belong to it."""
    from ..training import read_checkpoint

    record = read_checkpoint(folder)
    if record.get("experiment") not in (None, exp.name):
        raise ExperimentError(f"{folder}: the checkpoint is of experiment {record['experiment']!r}, not {exp.name!r}")
    if seed is not None and record.get("seed") not in (None, seed):
        raise ExperimentError(f"{folder}: the checkpoint was trained with seed {record['seed']}, not {seed}; "
                              f"resume without --seed (or with --seed {record['seed']})")
    return record


def write_history(out_dir: Path, histories) -> str:
    """history.csv: one row per epoch of every training stage (see alzza.training.history_csv)."""
    from ..callbacks import write_text_atomic
    from ..training import history_csv

    write_text_atomic(out_dir / "history.csv", history_csv(histories))
    return "history.csv"


def written_line(out_dir: Path, names) -> str:
    """'Wrote DIR/: a, b and c' — every file the run wrote, in one line."""
    names = list(dict.fromkeys(names))
    listed = ", ".join(names[:-1]) + (f" and {names[-1]}" if len(names) > 1 else names[0])
    return f"Wrote {out_dir}{os.sep}: {listed}"


def run_experiment(experiment, *, epochs=None, batch_size=None, learning_rate=None, seed=None, report=None,
                   data_dir=None, out=None, max_batches=None, progress=None, printer=print, resume=None,
                   checkpoint_every=None) -> dict:
    """Run a shipped experiment (by name), a file (by path) or an :class:`Experiment`.

    Keyword overrides replace the experiment's settings. ``resume`` names the folder
    of an earlier run of the same experiment that wrote checkpoints
    (``checkpoint_every``): training continues after its last checkpointed epoch, with
    its weights, optimiser state and random state (and its folder is the default
    ``out``). Returns the result dict that is also written to ``<out>/result.json``.
    """
    exp = experiment if isinstance(experiment, Experiment) else find_experiment(experiment)
    settings = dict(exp.train)
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("learning_rate", learning_rate),
                       ("report", report), ("checkpoint_every", checkpoint_every)):
        if value is not None:
            settings[key] = value
    resume_record = read_resume(resume, exp, seed) if resume is not None else None
    if resume_record is not None:
        seed = seed if seed is not None else resume_record.get("seed")
        if out is None:
            out = resume
    seed = seed if seed is not None else (exp.seed if exp.seed is not None else DEFAULT_SEED)
    check_settings(settings, seed, exp)
    out_dir = prepare_out_dir(out, exp)

    printer(f"== {exp.name} (chapter {exp.chapter}): {exp.title}")
    check_spec(exp, data_dir)  # a typo in the model fails now, before the data loads
    start = time.perf_counter()
    dataset = make_dataset(exp.dataset, data_dir=data_dir, seed=seed)
    printer(f"dataset {dataset}: {dataset.train_count} train / {dataset.validate_count} validate / "
            f"{dataset.test_count} test  (loaded in {time.perf_counter() - start:.1f} s)")
    if exp.kind != "network":  # the model families train in stages: see experiments/families.py
        from .families import run_family

        overridden = [k for k, v in (("epochs", epochs), ("batch_size", batch_size),
                                     ("learning_rate", learning_rate), ("report", report)) if v is not None]
        return run_family(exp, dataset, settings, seed, out_dir, max_batches=max_batches, progress=progress,
                          printer=printer, overridden=overridden, resume=resume_record, resume_dir=resume)
    model = build_model(exp, dataset, seed, printer)
    check_pictures(exp, model)
    if resume_record is not None:
        from ..io import load_weights

        load_weights(model, Path(resume) / "model.npz")
        printer(f"Resuming from {resume}: epoch {resume_record['epoch']} done, training to {settings['epochs']}")
    report_every = settings["report"] or max(1, settings["epochs"] // 5)
    with resume_hint(exp, settings, out_dir, printer):
        history = model.train(settings["epochs"], settings["batch_size"], settings["learning_rate"], report_every,
                              progress=progress, max_batches=max_batches,
                              **fit_options(settings, out_dir, exp, seed, resume_record))
    metrics = model.test()
    printer(f"Result of {exp.name} on the test split:")
    for line in comparison_lines(metrics, exp.book, history.train_seconds):
        printer(line)
    ran_away = warn_if_diverged(model, history, printer)
    with keep_model_safe(model, exp, out_dir, printer):
        model.save(out_dir / "model.npz")  # the trained model first: it is what a late failure would lose
        picture = out_dir / "visualize.png"
        picture.unlink(missing_ok=True)  # never list a stale picture from an earlier run here
        lines = model.visualize(exp.show, path=picture) if exp.show else []
        return _write_outputs(exp, dataset, model, metrics, settings, seed, history, out_dir, picture, lines,
                              max_batches, printer, ran_away)


def _write_outputs(exp, dataset, model, metrics, settings, seed, history, out_dir, picture, lines, max_batches,
                   printer, ran_away):

    pictures = {"training": "training.png"}
    training_curves(history, title=f"{exp.name} — {dataset}", head_names=getattr(dataset, "head_names", None),
                    path=out_dir / pictures["training"])
    history_file = write_history(out_dir, [history])
    if exp.show and getattr(model, "last_figure", None) is not None and picture.is_file():
        pictures["visualize"] = picture.name
    extra_pictures, extra = draw_pictures(exp, model, dataset, out_dir, printer)
    pictures.update(extra_pictures)
    write_text_atomic(out_dir / "visualize.txt", "\n".join(lines) + "\n")
    result = result_record(exp, dataset, model, metrics, settings, seed, history, pictures,
                           max_batches=max_batches, train_seconds=history.train_seconds, diverged=ran_away,
                           train_options=train_options(settings), **extra)
    write_json_atomic(out_dir / "result.json", result)
    from ..report import write_report

    report_file = write_report(out_dir, result, model=model, notes=exp.notes)
    files = ["result.json", history_file, report_file, *pictures.values(), "model.npz", "visualize.txt"]
    if (out_dir / "checkpoint.json").is_file() and settings.get("checkpoint_every"):
        files.append("checkpoint.json")
    printer(written_line(out_dir, files))
    return result
