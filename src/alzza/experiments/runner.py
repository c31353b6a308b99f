"""Run an experiment: data set → model → train → test → visualise → files.

Writes to the output folder:

* ``result.json`` — experiment, dataset, metrics, book, epochs, train_seconds, seed,
  version, the training settings and the per-epoch history;
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

import json
import os
import tempfile
import time
from pathlib import Path

from ..version import __version__
from ..data import make_dataset
from ..errors import ExperimentError
from ..models import Model
from ..training import format_accuracy
from ..viz.plots import training_curves
from .catalogue import PICTURES, Experiment, find_experiment

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


def write_json_atomic(path: Path, data) -> None:
    """Write JSON to a temp file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def comparison_lines(metrics: dict, book: dict) -> list[str]:
    """'accuracy   0.812   book 0.810' rows for every metric the book reports too."""
    lines = []
    for key in COMPARED:
        if key not in metrics:
            continue
        ours = format_accuracy(metrics[key])
        theirs = book.get(key)
        theirs_text = format_accuracy(theirs) if theirs is not None else "—"
        lines.append(f"  {key:<10} ours {ours:<14} book {theirs_text}")
    if book.get("train_seconds") is not None:
        lines.append(f"  {'train time':<10} (book {book['train_seconds']} s on the author's machine)")
    return lines


def result_record(exp, dataset, model, metrics, settings, seed, history, pictures, *, max_batches,
                  train_seconds, **extra) -> dict:
    """The contents of result.json (SPEC §7: experiment, dataset, metrics, book, epochs,
    train_seconds, seed, version — and the settings, pictures and per-epoch history)."""
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
        "parameters": model.parameter_count(),
        "pictures": pictures,
        "model_file": "model.npz",
        "history": _plain(history.to_dict()),
        **extra,
    }


def build_model(exp: Experiment, dataset, seed: int, printer=print) -> Model:
    if exp.kind != "network":  # autoencoder, encoder_decoder, gan (chapters 13–15)
        from .families import build_family_model

        return build_family_model(exp, dataset, seed, printer)
    train = exp.train
    return Model(dataset, exp.layers, name=exp.name, optimizer=train["optimizer"], l2_decay=train["l2_decay"],
                 l1_decay=train["l1_decay"], init=exp.init, seed=seed, macros=exp.macros, head=exp.head,
                 printer=printer)


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


def run_experiment(experiment, *, epochs=None, batch_size=None, learning_rate=None, seed=None, report=None,
                   data_dir=None, out=None, max_batches=None, progress=None, printer=print) -> dict:
    """Run a shipped experiment (by name), a file (by path) or an :class:`Experiment`.

    Keyword overrides replace the experiment's settings. Returns the result dict that
    is also written to ``<out>/result.json``.
    """
    exp = experiment if isinstance(experiment, Experiment) else find_experiment(experiment)
    settings = dict(exp.train)
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("learning_rate", learning_rate),
                       ("report", report)):
        if value is not None:
            settings[key] = value
    seed = seed if seed is not None else (exp.seed if exp.seed is not None else DEFAULT_SEED)
    out_dir = Path(out) if out is not None else Path("runs") / exp.name
    out_dir.mkdir(parents=True, exist_ok=True)

    printer(f"== {exp.name} (chapter {exp.chapter}): {exp.title}")
    start = time.perf_counter()
    dataset = make_dataset(exp.dataset, data_dir=data_dir, seed=seed)
    printer(f"dataset {dataset}  (loaded in {time.perf_counter() - start:.1f} s)")
    if exp.kind != "network":  # the model families train in stages: see experiments/families.py
        from .families import run_family

        overridden = [k for k, v in (("epochs", epochs), ("batch_size", batch_size),
                                     ("learning_rate", learning_rate), ("report", report)) if v is not None]
        return run_family(exp, dataset, settings, seed, out_dir, max_batches=max_batches, progress=progress,
                          printer=printer, overridden=overridden)
    model = build_model(exp, dataset, seed, printer)
    check_pictures(exp, model)
    report_every = settings["report"] or max(1, settings["epochs"] // 5)
    history = model.train(settings["epochs"], settings["batch_size"], settings["learning_rate"], report_every,
                          progress=progress, max_batches=max_batches)
    metrics = model.test()
    picture = out_dir / "visualize.png"
    picture.unlink(missing_ok=True)  # never list a stale picture from an earlier run here
    lines = model.visualize(exp.show, path=picture) if exp.show else []

    printer(f"Result of {exp.name} on the test split:")
    for line in comparison_lines(metrics, exp.book):
        printer(line)

    pictures = {"training": "training.png"}
    training_curves(history, title=f"{exp.name} — {dataset}", head_names=getattr(dataset, "head_names", None),
                    path=out_dir / pictures["training"])
    if exp.show and getattr(model, "last_figure", None) is not None and picture.is_file():
        pictures["visualize"] = picture.name
    extra_pictures, extra = draw_pictures(exp, model, dataset, out_dir, printer)
    pictures.update(extra_pictures)
    model.save(out_dir / "model.npz")
    (out_dir / "visualize.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = result_record(exp, dataset, model, metrics, settings, seed, history, pictures,
                           max_batches=max_batches, train_seconds=history.train_seconds, **extra)
    write_json_atomic(out_dir / "result.json", result)
    written = ", ".join(str(out_dir / name) for name in pictures.values())
    printer(f"Wrote {out_dir / 'result.json'}, {written} and {out_dir / 'model.npz'}")
    return result
