"""``alzza reproduce``: many experiments as one report, on local processes or a Dask cluster."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..device import add_device_option
from .argtypes import non_negative_int as _non_negative_int
from .argtypes import positive_float as _positive_float
from .argtypes import positive_int as _positive_int

EPILOG = """\
examples:
  alzza reproduce --chapter 2 --epochs 1 --workers 2     chapter 2 in smoke form, two processes
  alzza reproduce --chapter 1 2 3 --workers 1 --resume   the book's settings, skipping up-to-date runs
  alzza reproduce pulsar-slp my.yaml --out runs/mine     named experiments and your own file
  alzza reproduce --all --scheduler tcp://10.0.0.5:8786  every experiment on a Dask cluster
  alzza reproduce --all --report-only                    rebuild the report from the run folders
  alzza reproduce --markdown-doc docs/reproduction.md --ledger docs/reproduction.json
                                                         the checked-in table, from the committed results
  alzza reproduce --check                                rows whose settings or code changed since their run,
                                                         notes written for other runs than their row's
  alzza reproduce steel-slp --record docs/reproduction.json   run, then record the runs in the ledger
  alzza reproduce --all --threads 1 --compare docs/reproduction.json
                                                         rerun every row: do the recorded figures come back?

Each experiment runs as its own 'alzza run' process with its own seed and run folder
(OUT/runs/NAME). A task that fails, is killed or times out is reported; the others go
on. The report (OUT/report.md, OUT/report.html) puts ours beside the book's per chapter.
--scheduler needs the optional extra: pip install 'alzza[cluster]'. The workers read the
data at --data-dir (or their $ALZZA_DATA); a worker that does not share this machine's
disk sends each run folder's small files (result.json, log, pictures) back.
"""




def add_parser(subparsers):
    parser = subparsers.add_parser(
        "reproduce", help="run many experiments as one report (local processes or a Dask cluster)",
        description="Run the book's experiments (or some) as independent tasks and write one report of "
                    "our results beside the book's.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME-or-FILE", help="experiments by name or file")
    parser.add_argument("--chapter", type=int, nargs="+", action="extend", default=[], metavar="N",
                        help="every experiment of these chapters")
    parser.add_argument("--all", dest="everything", action="store_true", help="every shipped experiment")
    parser.add_argument("--epochs", type=_positive_int, help="train every experiment this many epochs "
                                                             "(default: each experiment's, the book's)")
    parser.add_argument("--max-batches", type=_positive_int, help="cut every epoch to N minibatches (smoke runs)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="K",
                       help="run K experiments at once on this machine (default: the number of cores)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at tcp://HOST:PORT")
    parser.add_argument("--seeds", type=_non_negative_int, nargs="+", action="extend", default=[], metavar="N",
                        help="also run every experiment with these seeds (run folders NAME@seedN): the report "
                             "shows how far one run moves with its seed")
    parser.add_argument("--threads", type=_positive_int,
                        help="BLAS threads per experiment (default: cores / workers; 1 on a cluster)")
    parser.add_argument("--task-timeout", type=_positive_float, metavar="SECONDS",
                        help="stop an experiment still running after this long (reported as timed out)")
    parser.add_argument("--budget", type=_positive_float, metavar="SECONDS",
                        help="start no further experiment after this long (the rest: 'not started')")
    parser.add_argument("--cheapest-first", action="store_true",
                        help="run in order of the book's train time (none given counts as quick)")
    parser.add_argument("--out", default="runs/reproduce", help="report and run folders (default: runs/reproduce)")
    parser.add_argument("--data-dir", help="folder holding the data files (else $ALZZA_DATA, else the per-user cache)")
    parser.add_argument("--resume", action="store_true",
                        help="skip experiments whose result.json was made by the same code, settings and seed")
    add_device_option(parser)
    parser.add_argument("--report-only", action="store_true", help="run nothing; rebuild the report from --out")
    parser.add_argument("--markdown-doc", metavar="PATH",
                        help="run nothing; write the reproduction document (every shipped experiment) to PATH, "
                             "from the ledger given with --ledger, else from the run folders in --out")
    parser.add_argument("--ledger", metavar="JSON",
                        help="the committed results (docs/reproduction.json) that --markdown-doc and --check read")
    parser.add_argument("--check", action="store_true",
                        help="run nothing; list the rows whose settings (or code) changed since their recorded run "
                             "(--ledger, default docs/reproduction.json) and the notes beside it "
                             "(reproduction-notes.yaml) written for other runs than their row's; exit 1 when a "
                             "row's settings changed or a note is stale")
    parser.add_argument("--compare", metavar="JSON",
                        help="after the runs (or with --report-only, from --out's run folders), compare every "
                             "finished run with the ledger's run at the same seed: same figures, or which moved; "
                             "exit 1 when a figure moved")
    parser.add_argument("--record", metavar="JSON",
                        help="after the runs, put every finished run of --out into this ledger (the row's old "
                             "record, stale or not, is replaced)")
    return parser


def command_words(args) -> list[str]:
    """The options of ``args`` as words after 'alzza reproduce' (recorded in session.json)."""
    words = list(args.names)
    if args.chapter:
        words += ["--chapter", *map(str, args.chapter)]
    if args.everything:
        words.append("--all")
    if args.seeds:
        words += ["--seeds", *map(str, args.seeds)]
    for key in ("epochs", "max_batches", "workers", "scheduler", "threads", "task_timeout", "budget", "out",
                "data_dir"):
        value = getattr(args, key)
        if value is not None:
            words += ["--" + key.replace("_", "-"), str(value)]
    return words + (["--cheapest-first"] if args.cheapest_first else []) + (["--resume"] if args.resume else [])


DEFAULT_LEDGER = "docs/reproduction.json"


def _check(args, out) -> int:
    from ..reproduce.ledger import check_lines, read_ledger, staleness
    from ..reproduce.notes import read_notes

    ledger_path = args.ledger or DEFAULT_LEDGER
    lines, status = check_lines(staleness(read_ledger(ledger_path), read_notes(ledger_path)))
    for line in lines:
        out(line)
    return status


def _record(args, out) -> None:
    from ..reproduce.ledger import read_ledger, record_runs, write_ledger
    from ..reproduce.session import _git, read_sessions, session_lines

    ledger = read_ledger(args.record)
    commit = _git("rev-parse", "HEAD") or "0000000"
    sessions = session_lines(read_sessions(Path(args.out)))
    recorded = record_runs(ledger, args.out, commit, names=None, session_line=sessions[-1] if sessions else None)
    write_ledger(args.record, ledger)
    out(f"Recorded {len(recorded)} rows in {args.record}" + (f": {', '.join(recorded)}" if recorded else ""))


def run(args, out=print) -> int:
    if args.check:
        return _check(args, out)
    if args.markdown_doc and args.ledger:
        from ..reproduce.ledger import write_document_from_ledger

        path, missing = write_document_from_ledger(args.ledger, args.markdown_doc, printer=out)
        out(f"Wrote {path}" + (f" ({missing} rows never run)" if missing else ""))
        return 0
    if args.markdown_doc:
        from ..reproduce.document import write_document

        path, missing = write_document(args.out, args.markdown_doc, printer=out)
        out(f"Wrote {path}" + (f" ({missing} rows not run in --out)" if missing else ""))
        return 0
    from ..reproduce.session import Options, reproduce

    options = Options(names=list(args.names), chapters=list(args.chapter), everything=args.everything,
                      epochs=args.epochs, max_batches=args.max_batches, workers=args.workers,
                      scheduler=args.scheduler, out=args.out, resume=args.resume, data_dir=args.data_dir,
                      threads=args.threads, task_timeout=args.task_timeout, report_only=args.report_only,
                      seeds=list(args.seeds), budget=args.budget, cheapest_first=args.cheapest_first,
                      argv=command_words(args))
    status = reproduce(options, printer=out)
    if args.compare:
        from ..reproduce.ledger import read_ledger
        from ..reproduce.verify import compare_runs

        found = compare_runs(read_ledger(args.compare), args.out)
        for line in found.lines():
            out(line)
        status = status or found.status
    if args.record:
        _record(args, out)
    return status
