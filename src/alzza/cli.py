"""The ``alzza`` command: list, run and summarise experiments.

User errors (a wrong spec, a missing file, a NaN loss) print one message and exit 2;
nothing else is caught, so a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import AlzzaError
from .user_code import add_import_option, import_all
from .commands.argtypes import non_negative_int as _non_negative_int
from .commands.argtypes import positive_float as _positive_float
from .commands.argtypes import positive_int as _positive_int

EPILOG = """\
examples:
  alzza list                                  the book's experiments and its results
  alzza run abalone-slp                       chapter 1's single-layer abalone model
  alzza run steel-std --epochs 100 --out runs/steel
  alzza run my-experiment.yaml                your own experiment file
  alzza summary steel-mlp-12-6-4              layers, shapes and parameter counts
  alzza gradcheck my.yaml --import mylayer.py  check your own layer's gradients inside its model
  alzza fetch pulsar abalone steel            download data sets (checked) into the data folder
  alzza data                                  which data sets are there, and the cache
  alzza export runs/steel-std/model.npz steel.onnx   the trained model as ONNX

data: --data-dir, else $ALZZA_DATA, else the per-user cache folder.
"""





def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alzza", description="alzza — deep learning on NumPy alone, the book's experiments by name.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"alzza {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_list = commands.add_parser("list", help="list the shipped experiments",
                                 description="One line per shipped experiment: name, chapter, data set, the book's result.")
    p_list.add_argument("--chapter", type=int, help="only this chapter")

    p_run = commands.add_parser(
        "run", help="train, test and visualise an experiment", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train, test and visualise an experiment; write result.json, pictures and the model to --out.",
        epilog="examples:\n  alzza run pulsar-slp-balanced\n  alzza run steel-std --epochs 100 --lr 0.0005\n"
               "  alzza run my.yaml --out runs/mine --seed 7\n")
    p_run.add_argument("experiment", metavar="NAME-or-FILE", help="a name from 'alzza list' or an experiment .yaml file")
    p_run.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the experiment's)")
    p_run.add_argument("--batch-size", type=_positive_int, help="minibatch size (default: the experiment's)")
    p_run.add_argument("--lr", type=_positive_float, help="learning rate (default: the experiment's)")
    p_run.add_argument("--seed", type=_non_negative_int, help="random seed for split, init and shuffling (default: the experiment's, else 1234)")
    p_run.add_argument("--report", type=_non_negative_int, help="print a report every N epochs")
    p_run.add_argument("--data-dir", help="folder holding the data files (else $ALZZA_DATA, else the per-user cache)")
    p_run.add_argument("--out", help="output folder (default: runs/NAME)")
    p_run.add_argument("--max-batches", type=_positive_int, help="cut every epoch to N minibatches (quick smoke runs)")
    p_run.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p_run.add_argument("--checkpoint-every", type=_positive_int, metavar="N",
                       help="write model.npz and checkpoint.json to --out every N epochs")
    p_run.add_argument("--resume", metavar="DIR",
                       help="continue the run in DIR from its last checkpoint (weights, optimiser, epoch)")
    p_run.add_argument("--lang", choices=("en", "ko"), default="en",
                       help="report language: en (alzza's) or ko (the book's printed forms, in Korean)")
    add_import_option(p_run)

    p_sum = commands.add_parser(
        "summary", help="print a model's structure",
        description="The structure dump: nested layers, input -> output shapes, parameter counts, total.")
    p_sum.add_argument("experiment", metavar="NAME-or-FILE", help="a name from 'alzza list' or an experiment .yaml file")
    p_sum.add_argument("--data-dir", help="folder holding the data files (else $ALZZA_DATA, else the per-user cache)")
    add_import_option(p_sum)
    p_bench = commands.add_parser(
        "bench", help="time training steps against PyTorch (the benchmark suite)",
        description="Time one training step per example, alzza against the same model in PyTorch (CPU), "
                    "and print the ratio per row; results go to a JSON file. Same code as benchmarks/run.py.")
    from .bench.harness import add_arguments

    add_arguments(p_bench)
    from .commands import COMMAND_MODULES

    for module in COMMAND_MODULES.values():
        module.add_parser(commands)
    return parser


def cmd_bench(args, out=print):
    from .bench.harness import run

    return run(args, _bench_argv(args), out)


def _bench_argv(args) -> list[str]:
    """The bench options of ``args`` as command-line words (for the child process that sets the BLAS env)."""
    words = []
    for flag in ("quick", "no_torch", "no_profile", "ops", "unset_openblas_env"):
        if getattr(args, flag):
            words.append("--" + flag.replace("_", "-"))
    for key in ("threads", "repeats", "target", "json", "torch_models", "out", "size", "steps"):
        value = getattr(args, key)
        if value is not None:
            words += ["--" + key.replace("_", "-"), str(value)]
    for key in ("rows", "batch"):
        values = getattr(args, key)
        if values:
            words += ["--" + key, *map(str, values)]
    return words


def cmd_list(args, out=print):
    from .experiments import list_experiments
    from .training.loop import format_accuracy

    rows = []
    for exp in list_experiments():
        if args.chapter is not None and exp.chapter != args.chapter:
            continue
        book = " / ".join(f"{k} {format_accuracy(v)}" for k, v in exp.book.items()
                          if k in ("accuracy", "precision", "recall", "f1") and v is not None)
        # row: "book" = the book's cell as printed, "variant" = settings changed on purpose;
        # data: "≠" = run on other data than the book's (stand-ins, MNIST's 10k test digits)
        kind = "variant" if exp.variant else "book"
        rows.append((exp.name, str(exp.chapter or ""), exp.dataset_name + (" ≠" if exp.data_differs else ""),
                     kind, book or "—", exp.title))
    headers = ("name", "ch", "dataset", "row", "book's result", "what")
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        out("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    out("row: book = the book's cell as printed, variant = its settings changed on purpose; "
        "≠ = run on other data than the book's (see the experiment's data_differs)")
    return 0


def cmd_run(args, out=print):
    from .experiments import run_experiment

    result = run_experiment(args.experiment, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                            seed=args.seed, report=args.report, data_dir=args.data_dir, out=args.out,
                            max_batches=args.max_batches, progress=False if args.no_progress else None,
                            printer=out, resume=args.resume, checkpoint_every=args.checkpoint_every,
                            lang=args.lang)
    if result.get("diverged"):  # results written and marked; the status stays 0 (README: Limits and hostile input)
        print(f"alzza: warning: training of {result['experiment']} diverged; result.json says \"diverged\": true",
              file=sys.stderr)
    return 0


def cmd_summary(args, out=print):
    """Declared shapes, no weights drawn: no data file is read, VGG-19's 143 M weights are never allocated."""
    from .data import describe_dataset
    from .experiments import find_experiment
    from .experiments.runner import build_model

    exp = find_experiment(args.experiment)
    dataset = describe_dataset(exp.dataset, data_dir=args.data_dir, seed=exp.seed or 0)
    build_model(exp, dataset, seed=0, printer=out, allocate=False).summary(print_it=True)
    return 0


COMMANDS = {"list": cmd_list, "run": cmd_run, "summary": cmd_summary, "bench": cmd_bench}


def _command(name):
    """The function that runs command ``name``: one of the above, else a module of alzza.commands."""
    if name in COMMANDS:
        return COMMANDS[name]
    from .commands import COMMAND_MODULES

    return COMMAND_MODULES[name].run


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        import_all(getattr(args, "imports", None))  # before any spec is read: user layer types register
        return _command(args.command)(args)
    except AlzzaError as exc:
        print(f"alzza: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alzza: interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # the estimates of alzza.limits missed something: still one line, not a traceback
        print("alzza: error: out of memory; use a smaller model or batch, or lower ALZZA_MAX_MEMORY so that "
              "alzza refuses such models before allocating", file=sys.stderr)
        return 2
    except RecursionError:
        print("alzza: error: the input nests too deeply (see ALZZA_MAX_SPEC_DEPTH)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
