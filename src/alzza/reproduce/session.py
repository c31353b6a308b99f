"""A reproduction session: choose experiments, plan tasks, skip up-to-date ones, run, report.

Layout of ``--out``::

    report.md  report.html  thumbs/NAME.png  session.json
    runs/NAME/  result.json log.txt task.json and the run's pictures and model

``session.json`` lists every session that wrote into the folder (date, machine, commit,
code hash, command, settings, executor), so a report says where its figures came from.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..version import __version__
from ..errors import AlzzaError, ExperimentError
from ..experiments.catalogue import shipped_file
from ..experiments.fingerprint import code_hash, fingerprint
from ..saving.atomic import target_problem
from .progress import Progress, format_duration
from .rows import SEED_MARK, read_row
from .tasks import Task, allow_tasks, stop_all

RUNS = "runs"
SESSION_FILE = "session.json"


@dataclass
class Options:
    names: list = field(default_factory=list)
    chapters: list = field(default_factory=list)
    everything: bool = False
    epochs: int | None = None
    max_batches: int | None = None
    workers: int | None = None
    scheduler: str | None = None
    out: str = "runs/reproduce"
    resume: bool = False
    data_dir: str | None = None
    threads: int | None = None
    task_timeout: float | None = None
    report_only: bool = False
    seeds: list = field(default_factory=list)  # extra seeds: each experiment once more per seed
    budget: float | None = None  # seconds: after this, no further task starts
    cheapest_first: bool = False  # run in order of the book's train time
    argv: list = field(default_factory=list)


def select_experiments(names, chapters, everything) -> list:
    """The experiments asked for, in catalogue order (chapter, then name); names may be files."""
    from ..experiments import find_experiment, list_experiments
    if not (names or chapters or everything):
        raise ExperimentError("alzza reproduce: name experiments, choose chapters (--chapter N ...) or --all")
    catalogue = list_experiments()
    chosen = {}
    if everything:
        chosen.update((e.name, e) for e in catalogue)
    for chapter in chapters:
        found = [e for e in catalogue if e.chapter == chapter]
        if not found:
            known = sorted({e.chapter for e in catalogue if e.chapter is not None})
            raise ExperimentError(f"alzza reproduce: no experiment in chapter {chapter}; chapters: "
                                  f"{', '.join(map(str, known))}")
        chosen.update((e.name, e) for e in found)
    for name in names:
        exp = find_experiment(name)
        other = chosen.get(exp.name)
        if other is not None and other.source != exp.source:
            raise ExperimentError(f"alzza reproduce: two experiments are named {exp.name!r} "
                                  f"({other.source} and {exp.source}); each needs its own run folder")
        chosen[exp.name] = exp
    order = {e.name: i for i, e in enumerate(catalogue)}
    return sorted(chosen.values(), key=lambda e: (e.chapter is None, e.chapter or 0, order.get(e.name, 1 << 30),
                                                  e.name))


def task_kind(exp) -> str:
    """Shapes-only experiments (the dummy data set) are counted, not trained."""
    return "count" if exp.shapes_only else "run"


def default_seed(exp) -> int:
    from ..experiments.runner import DEFAULT_SEED

    return exp.seed if exp.seed is not None else DEFAULT_SEED


def seed_folder(name: str, seed: int) -> str:
    """The run folder name of an extra-seed run: ``NAME@seedN``."""
    return f"{name}{SEED_MARK}{seed}"


def expected_fingerprint(exp, epochs=None, max_batches=None, seed=None) -> dict:
    """The fingerprint a run of ``exp`` with these overrides writes into result.json."""
    seed = default_seed(exp) if seed is None else seed
    if task_kind(exp) == "count":
        return fingerprint(exp, exp.train, seed, None)
    settings = dict(exp.train)
    if epochs is not None:
        settings["epochs"] = epochs
    return fingerprint(exp, settings, seed, max_batches)


def plan_tasks(experiments, options: Options, root: Path) -> list[Task]:
    threads = options.threads
    if threads is None:
        cores = os.cpu_count() or 1
        threads = 1 if options.scheduler else max(1, cores // max(1, local_workers(options)))
    tasks = []
    for exp in experiments:
        kind = task_kind(exp)
        # a shipped experiment goes by its name; a user's file by its path
        experiment = exp.name if shipped_file(exp.source) is not None else str(Path(exp.source).resolve())
        # the extra seeds train again; a parameter count does not depend on a seed
        seeds = [None] + ([s for s in options.seeds if s != default_seed(exp)] if kind == "run" else [])
        for seed in dict.fromkeys(seeds):
            name = exp.name if seed is None else seed_folder(exp.name, seed)
            tasks.append(Task(name=name, chapter=exp.chapter, experiment=experiment,
                              out_dir=str((root / RUNS / name).resolve()), kind=kind,
                              epochs=options.epochs if kind == "run" else None,
                              max_batches=options.max_batches if kind == "run" else None, seed=seed, row=exp.name,
                              data_dir=str(Path(options.data_dir).resolve()) if options.data_dir else None,
                              threads=threads, timeout=options.task_timeout))
    return tasks


def book_cost(exp) -> float:
    """The book's train time of ``exp`` (the low end of a range); 0 where the book gives none,
    as it timed only its longer runs."""
    from .rows import book_seconds_low

    return book_seconds_low((exp.book or {}).get("train_seconds")) or 0.0


def cheapest_first(tasks: list[Task], by_name: dict) -> list[Task]:
    """``tasks`` by the book's train time of their experiment; ties keep their order."""
    return sorted(tasks, key=lambda task: book_cost(by_name[task.row]))


def local_workers(options: Options) -> int:
    return options.workers or os.cpu_count() or 1


def up_to_date(task: Task, expected: dict) -> bool:
    """True when the run folder holds a result.json made by the same code, settings and seed."""
    path = Path(task.out_dir) / "result.json"
    problem = target_problem(path)
    if problem:  # a folder (or device) where result.json belongs: the run could never write it
        raise AlzzaError(f"{path}: {problem}; remove it so that the experiment can run again")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, damaged or nested too deeply: run it again
        return False
    if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict):
        return False  # not a result this session can report: run it again (the file is replaced)
    stamp = record.get("fingerprint")
    return isinstance(stamp, dict) and stamp.get("digest") == expected["digest"]


def _git(*words) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run([git, *words], cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_record() -> dict:
    import numpy

    memory = None
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"host": platform.node(), "platform": platform.platform(), "cpu": _cpu_model(),
            "cores": os.cpu_count(), "memory_gib": memory, "python": platform.python_version(),
            "numpy": numpy.__version__}


def session_record(options: Options, executor: str) -> dict:
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "version": __version__,
            "code": code_hash(), "commit": commit, "commit_dirty": bool(dirty) if commit else None,
            "machine": machine_record(), "command": ["alzza", "reproduce", *options.argv], "executor": executor,
            "epochs": options.epochs, "max_batches": options.max_batches}


def read_sessions(root: Path) -> list[dict]:
    try:
        data = json.loads((root / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data.get("sessions", []) if isinstance(data, dict) else []


def _save_sessions(root: Path, sessions: list[dict]) -> None:
    from ..experiments.runner import write_json_atomic

    write_json_atomic(root / SESSION_FILE, {"sessions": sessions})


def session_lines(sessions: list[dict]) -> list[str]:
    """One line per session for the report's head."""
    lines = []
    for s in sessions:
        machine = s.get("machine") or {}
        commit = (s.get("commit") or "no git")[:12] + (" (uncommitted changes)" if s.get("commit_dirty") else "")
        settings = "the book's settings" if s.get("epochs") is None and s.get("max_batches") is None else \
            ", ".join(f"{k.replace('_', '-')} {s[k]}" for k in ("epochs", "max_batches") if s.get(k) is not None)
        took = f", {format_duration(s['seconds'])}" if s.get("seconds") is not None else ""
        lines.append(f"{s.get('started', '?')}: alzza {s.get('version')} (code {s.get('code')}, commit {commit}) "
                     f"on {machine.get('host')} ({machine.get('cpu')}, {machine.get('cores')} cores), "
                     f"{s.get('executor')}, {settings}{took}: {' '.join(s.get('command') or [])}")
    return lines


def _task_record(task: Task, outcome: dict, expected: dict) -> dict:
    record = {key: value for key, value in outcome.items() if key not in ("result", "files")}
    return {**record, "kind": task.kind, "experiment": task.experiment, "chapter": task.chapter,
            "expected_digest": expected["digest"]}


def write_rows_report(experiments, root: Path, sessions: list[dict]):
    from .table_report import write_report

    rows = [read_row(exp, root / RUNS / exp.name) for exp in experiments]
    return rows, write_report(rows, root, session_lines(sessions))


@contextlib.contextmanager
def stop_on_signals():
    """Within: Ctrl-C (SIGINT) and SIGTERM stop the session's tasks (see ``tasks.stop_all``)
    instead of raising wherever the main thread happens to be; yields the list of signals
    received, so the caller raises KeyboardInterrupt at a safe point, after the report."""
    received: list = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(signum, frame):
        received.append(signum)
        stop_all()

    names = [name for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)]
    previous = {name: signal.signal(getattr(signal, name), stop) for name in names}
    try:
        yield received
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def prepare_root(root: Path) -> Path:
    """The --out folder, created: one clear error when it is a file, under a file or unwritable."""
    if root.exists() and not root.is_dir():
        raise AlzzaError(f"--out {root}: is a file (or device), not a folder; give a folder for the report and "
                         "the run folders")
    if not root.exists() and target_problem(root):  # a part of the path is a file
        raise AlzzaError(f"--out {root}: {target_problem(root)}")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise AlzzaError(f"--out {root}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise AlzzaError(f"--out {root}: cannot write there ({exc.strerror or exc})") from None
    return root


def reproduce(options: Options, printer=print) -> int:
    """Run the session; 0 when every task succeeded, 1 when some failed (the report says which)."""
    from ..experiments.runner import write_json_atomic

    if options.workers is not None and options.scheduler:
        raise AlzzaError("alzza reproduce: --workers runs locally, --scheduler on a Dask cluster: give one of them")
    experiments = select_experiments(options.names, options.chapters, options.everything)
    root = prepare_root(Path(options.out))
    sessions = read_sessions(root)
    if options.report_only:
        rows, (md, page) = write_rows_report(experiments, root, sessions)
        printer(f"Report of {len(rows)} rows (nothing run): {md} and {page}")
        return 0

    tasks = plan_tasks(experiments, options, root)
    by_name = {exp.name: exp for exp in experiments}
    if options.cheapest_first:
        tasks = cheapest_first(tasks, by_name)
    client = None
    if options.scheduler:  # before anything is written: an unreachable cluster changes nothing
        from .executors import connect

        client = connect(options.scheduler)
    expected = {task.name: expected_fingerprint(by_name[task.row], options.epochs,
                                                options.max_batches, task.seed) for task in tasks}
    executor = (f"Dask cluster at {options.scheduler}" if options.scheduler
                else f"{local_workers(options)} local worker process(es)")
    session = session_record(options, executor)
    sessions.append(session)
    _save_sessions(root, sessions)
    start = time.time()
    deadline = time.monotonic() + options.budget if options.budget else None

    to_run = []
    progress_lines = []  # 'skip' lines wait until the tracker exists

    failures = []

    def record(task: Task, outcome: dict) -> None:
        if outcome["status"] != "done":
            failures.append(f"{task.name} ({outcome['status']})")
        folder = Path(task.out_dir)
        folder.mkdir(parents=True, exist_ok=True)  # a task that never started has no folder yet
        write_json_atomic(folder / "task.json", _task_record(task, outcome, expected[task.name]))
        tracker.finished_task(task.name, outcome)

    for task in tasks:
        if options.resume and up_to_date(task, expected[task.name]):
            progress_lines.append(task.name)
        else:
            (Path(task.out_dir) / "result.json").unlink(missing_ok=True)
            to_run.append(task)
    printer(f"alzza reproduce: {len(tasks)} task(s) ({len(to_run)} to run, {len(progress_lines)} up to date) "
            f"on {executor}; run folders in {root / RUNS}")

    def make_tracker(slots: int) -> Progress:
        tracker = Progress(len(tasks), slots, printer)
        for name in progress_lines:
            tracker.skip(name, "result.json made by the same code, settings and seed (--resume)")
        return tracker

    tracker = None

    def factory(slots: int) -> Progress:
        nonlocal tracker
        tracker = make_tracker(slots)
        return tracker

    allow_tasks()
    try:
        with stop_on_signals() as received:
            if client is not None:
                from .executors import run_on_dask

                run_on_dask(to_run, client, factory, record, deadline)
            else:
                from .executors import run_local

                run_local(to_run, local_workers(options), factory(local_workers(options)), record, deadline)
        if received:  # every task has ended and is recorded; the report follows below
            raise KeyboardInterrupt(f"signal {received[0]}")
        if not to_run:  # everything was up to date: still say so
            printer("  " + tracker.status_line())
    finally:
        session["seconds"] = round(time.time() - start, 1)
        _save_sessions(root, sessions)
        rows, (md, page) = write_rows_report(experiments, root, sessions)
    printer(f"Report: {md} and {page}")
    if failures:
        printer(f"{len(failures)} of {len(tasks)} tasks did not finish: {', '.join(failures)}")
        return 1
    return 0
