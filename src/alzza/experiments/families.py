"""Running the experiments of the model families (chapters 13–15): autoencoder,
encoder_decoder, gan. The runner hands an experiment whose ``model.kind`` is not
``network`` to :func:`run_family`.

The ``model`` mapping of such an experiment::

    kind: autoencoder
    encoder: [64, [full, {width: 10, actfunc: sigmoid}]]   # ends in the code layer
    decoder: [64]                    # + a full layer sized to the input (identity)
    supervised: []                   # + the data set's output layer
    fix_encoder: false               # freeze the encoder in supervised training
    autoencode: {epochs: 10, batch_size: 10, learning_rate: 0.001}   # defaults: train's
    hashing: {show_cnt: 3, max_rank: 5}   # semantic hashing after training (hashing.png)

    kind: encoder_decoder
    encoder: [...]                   # + a full layer sized to the intermediate target
    decoder: [...]                   # + the output layer (per step)
    schedule: 1                      # 1: both; 2: encoder, decoder; 3: encoder, decoder, both
    encoder_output: true             # false: append nothing, the decoder reads the encoder's
                                     # last layer (the book's form; schedules 2, 3 then need it t-shaped)

    kind: translator                 # a Transformer encoder-decoder (models/translator.py)
    encoder: [...]                   # source → memory (S, D); no output layer appended
    decoder: [...]                   # teacher-forced, cross-attention reads 'memory'; + the output layer
    beam: 4                          # also test by beam search of this width (default 1: greedy only)

    kind: gan
    seed_shape: [16]
    generator: [...]                 # + a full layer sized to x (tanh / sigmoid by value range)
    discriminator: [...]             # (or the book's 'discriminor') + one logit

Everything else (``init``, ``head``) is as for plain networks. Files written:
``history.csv`` (every epoch of every stage, a ``stage`` column first),
``training.png`` (the curves of every stage, one row per stage), ``visualize.png``; the
autoencoder's ``hashing.png``; the GAN's ``gan-epoch-<n>.png`` at each report.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..device import experiment_device
from ..errors import ExperimentError
from ..models.kinds import model_class as registered_class
from ..training.loop import format_accuracy
from ..viz.plots import training_curves

FAMILY_KEYS = {
    "autoencoder": {"encoder", "decoder", "supervised", "fix_encoder", "autoencode", "hashing", "decoder_actfunc"},
    "encoder_decoder": {"encoder", "decoder", "schedule", "encoder_output"},
    "gan": {"seed_shape", "generator", "discriminator", "discriminor"},
    "translator": {"encoder", "decoder", "beam"},
}
#: the parts a family can't do without ("a|b": either spelling)
REQUIRED_PARTS = {
    "autoencoder": ("encoder",),
    "encoder_decoder": ("encoder", "decoder"),
    "gan": ("generator", "discriminator|discriminor"),
    "translator": ("encoder", "decoder"),
}
#: keys every model mapping may hold
COMMON_KEYS = {"kind", "init", "head", "layers"}
SCHEDULES = {1: "exec_1_step", 2: "exec_2_steps", 3: "exec_3_steps"}
STAGE_KEYS = {"epochs", "batch_size", "learning_rate", "report"}


def model_mapping(exp) -> dict:
    """The experiment's ``model`` mapping (kept whole by the catalogue for the families)."""
    spec = getattr(exp, "model", None)
    if not isinstance(spec, dict):
        raise ExperimentError(f"{exp.source or exp.name}: a '{exp.kind}' experiment needs its model mapping")
    known = COMMON_KEYS | FAMILY_KEYS.get(exp.kind, set())
    for key in spec:
        if key not in known:
            raise ExperimentError(f"{exp.source or exp.name}: model.{key}: unknown key for kind {exp.kind!r}; "
                                  f"known: {', '.join(sorted(known))}")
    for key in REQUIRED_PARTS.get(exp.kind, ()):
        names = key.split("|")
        given = next((spec[name] for name in names if name in spec), None)
        if not isinstance(given, list) or (key == "encoder" and not given):
            what = "a non-empty list of layer specs (it ends in the code layer)" if key == "encoder" \
                else "a list of layer specs"
            raise ExperimentError(f"{exp.source or exp.name}: model.{names[0]}: a {exp.kind} needs {what}, "
                                  f"got {given!r}")
    return spec


def build_family_model(exp, dataset, seed: int, printer=print, allocate: bool = True, dtype=None, lang="en"):
    """The family model of an experiment, built for ``dataset`` (``allocate=False``: no weights drawn;
    ``dtype``: another than the default float32; ``lang="ko"``: reporting in the book's printed
    forms, :mod:`alzza.book.family_forms`)."""
    from ..layers.initializers import ShapeOnly

    def model_class(kind):
        cls = registered_class(kind)
        if lang == "ko":
            from ..book.family_forms import book_family_class

            return book_family_class(cls)
        return cls

    spec = model_mapping(exp)
    train = exp.train
    init = spec.get("init") if allocate else ShapeOnly(spec.get("init"))
    common = dict(name=exp.name, optimizer=train["optimizer"], l2_decay=train["l2_decay"],
                  l1_decay=train["l1_decay"], init=init, seed=seed, macros=exp.macros, printer=printer, dtype=dtype,
                  device=experiment_device(train) if allocate else "cpu")
    kind = exp.kind
    if kind == "autoencoder":
        return model_class(kind)(dataset, spec.get("encoder", []), spec.get("decoder", []), spec.get("supervised", []),
                               fix_encoder=bool(spec.get("fix_encoder", False)), head=spec.get("head"),
                               decoder_actfunc=spec.get("decoder_actfunc", "none"), **common)
    if kind == "encoder_decoder":
        encoder_output = spec.get("encoder_output", True)
        if not isinstance(encoder_output, bool):
            raise ExperimentError(f"{exp.source or exp.name}: model.encoder_output is true (alzza appends the "
                                  f"encoder's output layer, sized by the intermediate target) or false (the "
                                  f"decoder reads the encoder's last layer), got {encoder_output!r}")
        return model_class(kind)(dataset, spec.get("encoder", []), spec.get("decoder", []), head=spec.get("head"),
                                 encoder_output=encoder_output, **common)
    if kind == "gan":
        if getattr(dataset, "mode", None) != "gan":
            raise ExperimentError(f"{exp.source or exp.name}: a gan needs a data set of mode 'gan' "
                                  f"(gan-mnist, gan-picture), got {dataset.name} ({dataset.mode})")
        return model_class(kind)(dataset, spec.get("seed_shape", [16]), spec.get("generator", []),
                              spec.get("discriminator"), discriminor=spec.get("discriminor"), **common)
    if kind == "translator":
        beam = spec.get("beam", 1)
        if not isinstance(beam, int) or isinstance(beam, bool) or not 1 <= beam <= 32:
            raise ExperimentError(f"{exp.source or exp.name}: model.beam is the beam-search width of the test, "
                                  f"an integer from 1 (greedy only) to 32, got {beam!r}")
        return model_class(kind)(dataset, spec.get("encoder", []), spec.get("decoder", []), head=spec.get("head"),
                                 **common)
    raise ExperimentError(f"{exp.source or exp.name}: model.kind {kind!r} is not a model family")


def _stage_settings(given, settings, exp, key):
    if given is None:
        return dict(settings)
    if not isinstance(given, dict) or set(given) - STAGE_KEYS:
        raise ExperimentError(f"{exp.source or exp.name}: model.{key}: a mapping of {', '.join(sorted(STAGE_KEYS))}")
    merged = dict(settings)
    merged.update(given)
    return merged


def run_family(exp, dataset, settings: dict, seed: int, out_dir: Path, *, max_batches=None, progress=None,
               printer=print, overridden=(), resume=None, resume_dir=None, lang="en") -> dict:
    """Train, test and draw a family experiment; write result.json; return the result.

    The ``train:`` options (validate, lr_schedule, early_stopping, checkpoint_every)
    apply to every stage. ``resume`` (a checkpoint record, its weights in ``resume_dir``)
    skips the stages finished before the checkpoint and continues the one it was in
    (:meth:`~alzza.models.family.FamilyModel.resume_from`). ``lang="ko"``: the model reports in the
    book's forms (``printer`` is then a :class:`~alzza.book.printed_forms.BookPrinter`)."""
    from .records import (_plain, comparison_lines, fit_options, keep_model_safe, result_record, resume_hint,
                          seconds_text, train_options, warn_if_diverged, write_history, write_json_atomic)

    spec = model_mapping(exp)
    model = build_family_model(exp, dataset, seed, printer, lang=lang)
    if resume is not None:
        from ..saving.model_files import load_weights

        load_weights(model, Path(resume_dir) / "model.npz")
        model.resume_from(resume)
        printer(f"Resuming from {resume_dir}: stage {resume.get('stage')}, epoch {resume['epoch']} done")

    def options(stage):
        return fit_options(settings, out_dir, exp, seed, None, stage)

    epochs, batch, lr = settings["epochs"], settings["batch_size"], settings["learning_rate"]
    report = min(settings["report"] or max(1, epochs // 5), epochs)
    pictures: dict = {}
    extra: dict = {}
    for stale in [*out_dir.glob("gan-epoch-*.png"), out_dir / "hashing.png", out_dir / "visualize.png"]:
        stale.unlink(missing_ok=True)
    picture = out_dir / "visualize.png"
    start = time.perf_counter()
    with resume_hint(exp, settings, out_dir, printer):  # Ctrl-C: say how to continue
        if exp.kind == "autoencoder":
            auto = _stage_settings(spec.get("autoencode"), settings, exp, "autoencode")
            for key in overridden:  # a command-line override applies to both stages
                auto[key] = settings[key]
            model.autoencode(auto["epochs"], auto["batch_size"], auto["learning_rate"],
                             auto["report"] or max(1, auto["epochs"] // 5), progress=progress, max_batches=max_batches,
                             **options("autoencode"))
            model.train(epochs, batch, lr, report, progress=progress, max_batches=max_batches, **options("supervised"))
            metrics = model.test()
            if exp.show:
                model.visualize(exp.show, path=picture)
            hashing = spec.get("hashing")
            if hashing:
                hash_options = hashing if isinstance(hashing, dict) else {}
                model.semantic_hashing_index()
                matches = model.semantic_hashing_search(None, int(hash_options.get("show_cnt", 3)),
                                                        int(hash_options.get("max_rank", 5)),
                                                        path=out_dir / "hashing.png")
                pictures["hashing"] = "hashing.png"
                extra["hashing"] = {"buckets": len(model.hash_index.buckets), "note": model.hashing_note,
                                    "bits": int(model.code_shape[0]),
                                    "queries": [{"bits": m.bits, "bucket_size": m.bucket_size,
                                                 "matches": [int(i) for i in m.indices],
                                                 "distances": [float(d) for d in m.distances]} for m in matches]}
        elif exp.kind == "encoder_decoder":
            schedule = spec.get("schedule", 1)
            if schedule not in SCHEDULES:
                raise ExperimentError(f"{exp.source or exp.name}: model.schedule must be 1, 2 or 3, got {schedule!r}")
            stage_options = options("both")
            metrics = getattr(model, SCHEDULES[schedule])(epochs, batch, lr, report, exp.show, progress=progress,
                                                          max_batches=max_batches, path=picture, **stage_options)
            extra["stages"] = {mode: _plain(m) for mode, m in model.stage_metrics.items()}
            extra["schedule"] = [name for name, _ in model.histories]
        elif exp.kind == "translator":
            beam = spec.get("beam", 1)   # checked when the model was built
            model.train(epochs, batch, lr, report, progress=progress, max_batches=max_batches, **options("train"))
            metrics = model.test(beam=beam)
            if exp.show:
                model.visualize(exp.show)
            (out_dir / "attention.png").unlink(missing_ok=True)
            if "attention" in exp.pictures:
                x_test, _ = dataset.test_data()
                model.attention_picture(x_test, out_dir / "attention.png")
                pictures["attention"] = "attention.png"
        else:
            model.train(epochs, batch, lr, report, progress=progress, max_batches=max_batches, picture_dir=out_dir,
                        show_cnt=max(exp.show, 8), **options("train"))
            metrics = model.test()
            model.visualize(max(exp.show, 8), path=picture)
            pictures.update({p.stem: p.name for p in sorted(out_dir.glob("gan-epoch-*.png"))})
    train_seconds = sum(h.train_seconds for _, h in model.histories)
    total = time.perf_counter() - start
    if picture.is_file():
        pictures["visualize"] = picture.name

    printer(f"Result of {exp.name} on the test split:")
    if exp.kind == "gan":
        ours = f"{metrics['discriminator_accuracy']:5.3f}/{metrics['generator_accuracy']:5.3f}"
        book = exp.book.get("accuracy")
        theirs = "/".join(f"{v:5.3f}" for v in book) if isinstance(book, (list, tuple)) else "—"
        printer(f"  {'accuracy':<10} ours {ours:<14} book {theirs}   (discriminator/generator)")
        printer(f"  train time: ours {seconds_text(train_seconds)}, book "
                f"{str(exp.book['train_seconds']) + ' s' if exp.book.get('train_seconds') is not None else '—'}")
    else:
        for line in comparison_lines(metrics, exp.book, train_seconds):
            printer(line)
    history = model.history
    # the rule of plain runs: a large finite loss counts only when --lr raised the row's own rate
    ran_away = exp.kind != "gan" and warn_if_diverged(model, history, printer,
                                                      book_rate=lr <= exp.train.get("learning_rate", lr))
    with keep_model_safe(model, exp, out_dir, printer):
        model.save(out_dir / "model.npz")  # the trained model first: it is what a late failure would lose
        training_curves([h for _, h in model.histories], title=f"{exp.name} — {dataset}",
                        path=out_dir / "training.png")
        pictures = {"training": "training.png", **pictures}
        history_file = write_history(out_dir, [h for _, h in model.histories])
        run_settings = {**settings, "epochs": epochs, "batch_size": batch, "learning_rate": lr}
        result = result_record(exp, dataset, model, metrics, run_settings, seed, history, pictures,
                               max_batches=max_batches, train_seconds=train_seconds, seconds=total,
                               train_options=train_options(settings),
                               histories=[{**_plain(h.to_dict()), "stage": h.stage, "chain": name}
                                          for name, h in model.histories],
                               diverged=ran_away, **extra)
        result["epochs_run"] = sum(h.epochs_run for _, h in model.histories)
        stopped = [h.stop_reason for _, h in model.histories if h.stop_reason not in ("", "completed")]
        result["stop_reason"] = "; ".join(f"{h.stage}: {h.stop_reason}" for _, h in model.histories
                                          if h.stop_reason not in ("", "completed")) if stopped else "completed"
        write_json_atomic(out_dir / "result.json", result)
        from ..viz.run_page import write_report
        from .records import written_line

        report_file = write_report(out_dir, result, model=model, notes=exp.notes)
    files = ["result.json", history_file, report_file, *pictures.values(), "model.npz"]
    if settings.get("checkpoint_every") and (out_dir / "checkpoint.json").is_file():
        files.append("checkpoint.json")
    printer(written_line(out_dir, files) + f" (test accuracy {format_accuracy(metrics['accuracy'])})")
    return result
