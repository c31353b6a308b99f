"""Run an experiment: data set → model → train → test → visualise → files.

Writes to the output folder:

* ``result.json`` — experiment, dataset, metrics, book, epochs, epochs_run, stop_reason,
  train_seconds, seed, version, the training settings and the per-epoch history;
* ``history.csv`` — one row per epoch (of every stage): loss, accuracy, validation loss
  and metrics, learning rate, seconds;
* ``report.html`` — the whole run on one self-contained page (:mod:`alzza.viz.run_page`);
* ``checkpoint.json`` (with ``checkpoint_every``) — what ``resume`` needs besides model.npz;
* ``training.png`` — loss and accuracy curves;
* ``model.npz`` — the trained model (``alzza.load`` reads it back);
* ``visualize.txt`` — the visualised examples as text;
* ``visualize.png`` — the visualised examples as captioned pictures (image data sets);
* the experiment's extra ``pictures``: ``maps.png`` (``maps``: conv kernels and the
  feature maps of a few test examples, :func:`alzza.viz.maps.show_maps`) and
  ``weights.png`` (``weights``: weight histograms, :func:`alzza.viz.weights.weight_histograms`;
  their mean / std / near-zero share also go to ``result.json`` under ``weights``) and
  ``attention.png`` (``attention``: every attention layer's weights, layer × head, for a
  few test examples over their tokens, :func:`alzza.viz.attention.attention_figure`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from ..device import experiment_device
from ..saving.atomic import write_text_atomic
from ..data import describe_dataset, make_dataset
from ..errors import ExperimentError
from ..layers.initializers import ShapeOnly
from ..models import Model
from ..progress import progress_setting
from ..options import checked, non_negative_int, positive_float, positive_int
from ..viz.plots import training_curves
from .catalogue import PICTURES, Experiment, check_run_name, find_experiment
from .records import (  # noqa: F401  (shared with the families runner; importable from here as before)
    COMPARED,
    _plain,
    strict_json,
    write_json_atomic,
    seconds_text,
    comparison_lines,
    result_record,
    keep_model_safe,
    DIVERGED_LOSS,
    DIVERGED_GROWTH,
    diverged,
    warn_if_diverged,
    FIT_OPTIONS,
    fit_options,
    resume_hint,
    train_options,
    write_history,
    written_line,
)

DEFAULT_SEED = 1234
#: examples whose feature maps the ``maps`` picture shows
MAP_EXAMPLES = 3
#: examples whose attention weights the ``attention`` picture shows (each a block of layers × heads)
ATTENTION_EXAMPLES = 2


def build_model(exp: Experiment, dataset, seed: int, printer=print, allocate: bool = True, dtype=None) -> Model:
    """The experiment's model for ``dataset``; ``allocate=False``: shapes and counts only (no weights drawn);
    ``dtype``: another than the default float32 (gradcheck builds in float64)."""
    if exp.kind != "network":  # autoencoder, encoder_decoder, gan (chapters 13–15)
        from .families import build_family_model

        return build_family_model(exp, dataset, seed, printer, allocate=allocate, dtype=dtype)
    train = exp.train
    return Model(dataset, exp.layers, name=exp.name, optimizer=train["optimizer"], l2_decay=train["l2_decay"],
                 l1_decay=train["l1_decay"], init=exp.init if allocate else ShapeOnly(exp.init), seed=seed,
                 macros=exp.macros, head=exp.head, printer=printer, dtype=dtype,
                 device=experiment_device(train) if allocate else "cpu")


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
    if "attention" in exp.pictures:
        from ..viz.attention import attention_layers

        if not attention_layers(model):
            raise ExperimentError(f"{exp.source or exp.name}: pictures: 'attention' draws the weights of the "
                                  "attention layers, but the network has none; remove 'attention' from "
                                  "pictures or add an 'attention' layer")


def draw_pictures(exp: Experiment, model: Model, dataset, out_dir: Path, printer=print) -> tuple[dict, dict]:
    """The experiment's extra pictures: ({name: file}, extra result.json entries)."""
    files, extra = {}, {}
    for name in PICTURES:
        (out_dir / f"{name}.png").unlink(missing_ok=True)  # never leave a stale picture behind
    for name in exp.pictures:
        path = out_dir / f"{name}.png"
        if name == "maps":
            from ..viz.maps import show_maps

            show_maps(model, _examples(dataset, model, MAP_EXAMPLES), path, examples=MAP_EXAMPLES)
        elif name == "attention":
            from ..viz.attention import attention_figure

            attention_figure(model, _examples(dataset, model, ATTENTION_EXAMPLES), path,
                             examples=ATTENTION_EXAMPLES)
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


def _examples(dataset, model, count: int):
    """The first ``count`` test examples (a validation sample when there is no test set)."""
    x, _ = dataset.test_data()
    if len(x) == 0:
        x, _ = dataset.validate_sample(count, model.rng)
    return x[:count]


def check_settings(settings: dict, seed, exp: Experiment) -> None:
    """Every setting checked before anything is loaded or trained (overrides included)."""
    where = exp.source or exp.name
    for key, option in (("epochs", positive_int()), ("batch_size", positive_int()), ("report", non_negative_int()),
                        ("learning_rate", positive_float())):
        checked(settings[key], option, key, ExperimentError, where)
    checked(seed, non_negative_int(), "the seed", ExperimentError, where)
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


def read_resume(folder, exp, seed):
    """The checkpoint of ``folder`` for a run of ``exp``: checked to belong to it."""
    from ..training.loop import read_checkpoint

    record = read_checkpoint(folder)
    if record.get("experiment") not in (None, exp.name):
        raise ExperimentError(f"{folder}: the checkpoint is of experiment {record['experiment']!r}, not {exp.name!r}")
    if seed is not None and record.get("seed") not in (None, seed):
        raise ExperimentError(f"{folder}: the checkpoint was trained with seed {record['seed']}, not {seed}; "
                              f"resume without --seed (or with --seed {record['seed']})")
    return record


#: the settings a checkpoint records and a resume takes over (with the flags' names)
RESUMED = (("epochs", "--epochs"), ("batch_size", "--batch-size"), ("learning_rate", "--lr"),
           ("max_batches", "--max-batches"))


def resumed_settings(record: dict, settings: dict, folder, **given):
    """Take the interrupted run's settings from its checkpoint into ``settings``; returns
    its ``max_batches``. A flag given again must agree — except ``--epochs``, which may be
    raised to train on past the run's end."""
    saved = record.get("settings")
    if saved is None:  # a checkpoint of an older alzza: the flags as given
        return given["max_batches"]
    for key, flag in RESUMED:
        value, was = given[key], saved[key]
        if value is None or value == was:
            if key != "max_batches":
                settings[key] = was
            continue
        if key == "epochs" and value > was:
            settings[key] = value
            continue
        shown = "not given" if was is None else was
        raise ExperimentError(f"{folder}: the run being resumed was started with {flag} {shown}, not {value}; "
                              f"resume without {flag} (the checkpoint's settings are used)"
                              + (" or with a larger --epochs to train further" if key == "epochs" else ""))
    return saved["max_batches"]


def run_experiment(experiment, *, epochs=None, batch_size=None, learning_rate=None, seed=None, report=None,
                   data_dir=None, out=None, max_batches=None, progress=None, printer=print, resume=None,
                   checkpoint_every=None, lang="en") -> dict:
    """Run a shipped experiment (by name), a file (by path) or an :class:`Experiment`.

    Keyword overrides replace the experiment's settings. ``resume`` names the folder
    of an earlier run of the same experiment that wrote checkpoints
    (``checkpoint_every``): training continues after its last checkpointed epoch, with
    its weights, optimiser state and random state (and its folder is the default
    ``out``). ``lang="ko"``: the model reports in the book's Korean forms
    (:mod:`alzza.book.printed_forms`). Returns the result dict that is also written to
    ``<out>/result.json``.
    """
    from ..viz.hangul import NOTICE_LANGUAGE

    token = NOTICE_LANGUAGE.set(lang)  # the pictures' font notice in the report's language
    try:
        return _run_experiment(experiment, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                               seed=seed, report=report, data_dir=data_dir, out=out, max_batches=max_batches,
                               progress=progress, printer=printer, resume=resume,
                               checkpoint_every=checkpoint_every, lang=lang)
    finally:
        NOTICE_LANGUAGE.reset(token)


def _run_experiment(experiment, *, epochs, batch_size, learning_rate, seed, report, data_dir, out, max_batches,
                    progress, printer, resume, checkpoint_every, lang) -> dict:
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
        max_batches = resumed_settings(resume_record, settings, resume, epochs=epochs, batch_size=batch_size,
                                       learning_rate=learning_rate, max_batches=max_batches)
    settings["max_batches"] = max_batches  # recorded in the checkpoints (a resume uses it)
    seed = seed if seed is not None else (exp.seed if exp.seed is not None else DEFAULT_SEED)
    check_settings(settings, seed, exp)
    if exp.shapes_only:  # chapter 9's parameter-count rows: the book only counts their parameters
        raise ExperimentError(f"{exp.name}: its data set 'dummy' has shapes only, no examples, so there is nothing "
                              f"to train; 'alzza summary {exp.name}' builds the model and counts its parameters "
                              f"(what the book prints for it), as 'alzza reproduce {exp.name}' does")
    out_dir = prepare_out_dir(out, exp)

    notes = contextlib.nullcontext()  # the data sets' notes are print-ed: as they are in English
    if lang == "ko":  # the runner's own lines in Korean too (book/run_forms.py)
        from ..book.run_forms import KoreanRunLines, chapter_preamble, korean_heading, printed_through

        printer = KoreanRunLines(printer)
        notes = printed_through(printer)  # and the data sets' notes ("… not found; using the stand-in")
    printer(korean_heading(exp) if lang == "ko" else f"== {exp.name} (chapter {exp.chapter}): {exp.title}")
    check_spec(exp, data_dir)  # a typo in the model fails now, before the data loads
    start = time.perf_counter()
    with progress_setting(progress), notes:  # --no-progress: the image-decoding bar too
        dataset = make_dataset(exp.dataset, data_dir=data_dir, seed=seed)
    printer(f"dataset {dataset}: {dataset.train_count} train / {dataset.validate_count} validate / "
            f"{dataset.test_count} test  (loaded in {time.perf_counter() - start:.1f} s)")
    if lang == "ko" and (preamble := chapter_preamble(exp)):  # chapter 4's "은닉 계층 …" line
        printer(preamble)
    if exp.kind != "network":  # the model families train in stages: see experiments/families.py
        from .families import run_family

        overridden = [k for k, v in (("epochs", epochs), ("batch_size", batch_size),
                                     ("learning_rate", learning_rate), ("report", report)) if v is not None]
        if lang == "ko":  # the families' lines in the book's forms (book/family_forms.py)
            from ..book.printed_forms import BookPrinter

            printer = BookPrinter(out=printer)
        return run_family(exp, dataset, settings, seed, out_dir, max_batches=max_batches, progress=progress,
                          printer=printer, overridden=overridden, resume=resume_record, resume_dir=resume, lang=lang)
    model = build_model(exp, dataset, seed, printer)
    if lang == "ko":
        from ..book.printed_forms import korean_model
        from ..book.run_forms import CHAPTER_FORM

        korean_model(model, "chapter" if exp.chapter in CHAPTER_FORM else "model")  # the row's own chapter's form
        if exp.chapter in (3, 4, 5):  # those chapters print −Σ y·log(p + 1e-10): a reporting form only
            from ..book.report_loss import book_report_loss

            book_report_loss(model)
    check_pictures(exp, model)
    if resume_record is not None:
        from ..saving.model_files import load_weights

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
    ran_away = warn_if_diverged(model, history, printer, book_rate=learning_rate is None
                                or learning_rate <= exp.train.get("learning_rate", learning_rate))
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
    from ..viz.run_page import write_report

    report_file = write_report(out_dir, result, model=model, notes=exp.notes)
    files = ["result.json", history_file, report_file, *pictures.values(), "model.npz", "visualize.txt"]
    if (out_dir / "checkpoint.json").is_file() and settings.get("checkpoint_every"):
        files.append("checkpoint.json")
    printer(written_line(out_dir, files))
    return result
