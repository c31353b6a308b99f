"""``alzza run``: train, test and visualise one experiment; result.json, pictures and the model go to --out."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from ..device import add_device_option
from ..user_code import add_import_option
from .argtypes import non_negative_int, positive_float, positive_int


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="train, test and visualise an experiment", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train, test and visualise an experiment; write result.json, pictures and the model to --out.",
        epilog="examples:\n  alzza run pulsar-slp-balanced\n  alzza run steel-std --epochs 100 --lr 0.0005\n"
               "  alzza run my.yaml --out runs/mine --seed 7\n"
               "  alzza run automata-lstm-64 --threads 1     the figure docs/reproduction.md records\n")
    p.add_argument("experiment", metavar="NAME-or-FILE", help="a name from 'alzza list' or an experiment .yaml file")
    p.add_argument("--epochs", type=positive_int, help="number of epochs (default: the experiment's)")
    p.add_argument("--batch-size", type=positive_int, help="minibatch size (default: the experiment's)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: the experiment's)")
    p.add_argument("--seed", type=non_negative_int,
                   help="random seed for split, init and shuffling (default: the experiment's, else 1234)")
    p.add_argument("--report", type=non_negative_int, help="print a report every N epochs")
    p.add_argument("--data-dir", help="folder holding the data files (else $ALZZA_DATA, else the per-user cache)")
    p.add_argument("--out", help="output folder (default: runs/NAME)")
    p.add_argument("--max-batches", type=positive_int, help="cut every epoch to N minibatches (quick smoke runs)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="BLAS threads for this run (default: the library's own, usually one per core); the "
                        "figures of docs/reproduction.md were made with --threads 1, and another count sums in "
                        "another order, which moves a float32 run as another seed does")
    p.add_argument("--checkpoint-every", type=positive_int, metavar="N",
                       help="write model.npz and checkpoint.json to --out every N epochs")
    p.add_argument("--resume", metavar="DIR",
                       help="continue the run in DIR from its last checkpoint (weights, optimiser, epoch, and its "
                            "settings: --epochs, --batch-size, --lr, --max-batches given again must agree; "
                            "--epochs may be raised)")
    p.add_argument("--lang", choices=("en", "ko"), default="en",
                       help="report language: en (alzza's) or ko (the book's printed forms, in Korean)")
    add_import_option(p)
    add_device_option(p)


class Terminated(KeyboardInterrupt):
    """SIGTERM during a run: handled as Ctrl-C is (the resume hint is printed), exit status 143."""


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While training, SIGTERM (a scheduler or ``kill`` stopping the run) stops it as Ctrl-C
    does: the checkpoint stays, and the same "Continue ... --resume" line is printed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args, out=print) -> int:
    from ..experiments import run_experiment

    from ..threads import blas_threads

    with sigterm_as_interrupt(), blas_threads(args.threads):
        result = _run(args, out, run_experiment)
    if result.get("diverged"):  # results written and marked; the status stays 0 (README: Limits and hostile input)
        if args.lang == "ko":
            print(f"alzza: 경고: {result['experiment']}의 학습이 발산했습니다; result.json에 \"diverged\": true",
                  file=sys.stderr)
        else:
            print(f"alzza: warning: training of {result['experiment']} diverged; result.json says \"diverged\": "
                  "true", file=sys.stderr)
    return 0


def _run(args, out, run_experiment):
    return run_experiment(args.experiment, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                          seed=args.seed, report=args.report, data_dir=args.data_dir, out=args.out,
                          max_batches=args.max_batches, progress=False if args.no_progress else None,
                          printer=out, resume=args.resume, checkpoint_every=args.checkpoint_every,
                          lang=args.lang)

