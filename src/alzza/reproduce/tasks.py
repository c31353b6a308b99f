"""One experiment as one task: its own ``alzza run`` process, seed and run folder.

A task is plain data (it travels to Dask workers by pickle of this dataclass, never of
results read back from disk). :func:`run_task` runs it as a child process and says how it
ended, so a crash, a kill or a hang of one experiment never takes the others down:

- ``done``: exit status 0 and a fresh ``result.json`` in the run folder;
- ``failed``: a non-zero exit status (a user error exits 2 with one message), or no
  result.json written;
- ``killed``: ended by a signal (out of memory, ``kill``);
- ``timed out``: still running after the task's time limit, then killed;
- ``interrupted``: stopped because the whole session was (Ctrl-C, SIGTERM);
- ``not started``: still waiting when the session's time budget ran out (the executors).

The child's output goes to ``log.txt`` in the run folder. A shapes-only experiment (the
chapter 9 ``dummy`` data set: nothing to train) runs :mod:`alzza.reproduce.count`, which
builds the model and records its parameter count instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

#: thread-count variables of the BLAS libraries NumPy may use
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: files of a run folder small enough to send back from a Dask worker (the model is not)
SHIPPED_SUFFIXES = (".json", ".png", ".txt")
SHIPPED_LIMIT = 8 << 20
LOG_NAME = "log.txt"
NOT_STARTED = "not started"
#: the task processes now running (a Ctrl-C in the waiting thread stops them all)
_LIVE: set = set()
_STOPPED: set = set()  # the ones stop_all ended
_LIVE_LOCK = threading.Lock()
#: set by stop_all: no task starts any more, a task starting now is stopped at once
STOP = threading.Event()
RESULT_NAME = "result.json"


@dataclass
class Task:
    """What one worker runs: an experiment (name or file), where, and with which overrides."""

    name: str
    chapter: int | None
    experiment: str  # a shipped name or an experiment file path
    out_dir: str  # absolute path of the run folder
    kind: str = "run"  # "run" (train and test) or "count" (build and count parameters)
    epochs: int | None = None
    max_batches: int | None = None
    seed: int | None = None  # None: the experiment's own seed
    row: str = ""  # the experiment (report row) it belongs to; its name for the default seed
    data_dir: str | None = None
    threads: int | None = None
    timeout: float | None = None
    #: extra words for the child (tests use it); appended to the command line
    extra_args: list = field(default_factory=list)

    def __post_init__(self):
        self.row = self.row or self.name

    def command(self) -> list[str]:
        """The child's command line, with the Python of the process that runs it."""
        if self.kind == "count":
            words = [sys.executable, "-m", "alzza.reproduce.count", self.experiment, "--out", self.out_dir]
        else:
            words = [sys.executable, "-m", "alzza.cli", "run", self.experiment, "--out", self.out_dir,
                     "--no-progress"]
            if self.epochs is not None:
                words += ["--epochs", str(self.epochs)]
            if self.max_batches is not None:
                words += ["--max-batches", str(self.max_batches)]
            if self.seed is not None:
                words += ["--seed", str(self.seed)]
        if self.data_dir is not None:
            words += ["--data-dir", self.data_dir]
        return words + [str(word) for word in self.extra_args]


def child_environment(threads: int | None) -> dict:
    """The environment of a task's process: this alzza first on the path, a BLAS thread
    count (unless the user set one), pictures without a display."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent.parent)  # the folder holding alzza/
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    if threads is not None:
        for name in THREAD_VARIABLES:
            env.setdefault(name, str(threads))
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def last_message(log_text: str) -> str:
    """The line that says why a run ended: its 'alzza: error:' line, else the last line."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("alzza: error:"):
            return line[len("alzza: error:"):].strip()
    return lines[-1] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def run_task(task: Task, ship_files: bool = False) -> dict:
    """Run ``task`` as a child process and return how it ended (see the module doc).

    With ``ship_files`` (Dask workers), the small files of the run folder come back in
    ``files`` (name → bytes), for a client that does not share the worker's disk.
    """
    out_dir = Path(task.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result_path = out_dir / RESULT_NAME
    result_path.unlink(missing_ok=True)  # a crash must not leave an earlier result standing
    command = task.command()
    start = time.time()
    status, returncode = "done", 0
    with open(out_dir / LOG_NAME, "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=child_environment(task.threads))
        with _LIVE_LOCK:  # the same lock as stop_all: a process is either seen by it or sees STOP
            _LIVE.add(process)
            if STOP.is_set():
                _STOPPED.add(process)
                process.kill()
        try:
            returncode = process.wait(timeout=task.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
            status = "timed out"
        except BaseException:  # interrupted: never leave an orphan training behind
            process.kill()
            process.wait()
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(process)
                stopped = process in _STOPPED
                _STOPPED.discard(process)
    seconds = time.time() - start
    log_text = (out_dir / LOG_NAME).read_text(encoding="utf-8", errors="replace")
    if stopped:
        status, message = "interrupted", "stopped when the session was interrupted (Ctrl-C or SIGTERM)"
    elif status == "timed out":
        message = f"still running after {task.timeout:g} s; stopped"
    elif returncode < 0:
        status, message = "killed", f"killed by {_signal_name(-returncode)}"
    elif returncode != 0:
        status, message = "failed", last_message(log_text) or f"exit status {returncode}"
    elif not result_path.is_file():
        status, message = "failed", "exited 0 but wrote no result.json"
    else:
        message = ""
    outcome = {"name": task.name, "status": status, "returncode": returncode, "seconds": round(seconds, 3),
               "message": message, "host": socket.gethostname(), "command": command,
               "started": start}
    if result_path.is_file():
        try:
            outcome["result"] = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError as error:
            outcome.update(status="failed", message=f"result.json is not valid JSON ({error})")
    if ship_files:
        outcome["worker"] = _dask_worker_address()
        outcome["files"] = {path.name: path.read_bytes() for path in sorted(out_dir.iterdir())
                            if path.suffix in SHIPPED_SUFFIXES and path.is_file()
                            and path.stat().st_size <= SHIPPED_LIMIT}
    return outcome


def _dask_worker_address() -> str | None:
    """The address of the Dask worker running this task (None outside a worker)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def stop_all() -> int:
    """Stop the session's tasks: kill every task process still running and let no further
    one start (until :func:`allow_tasks`); returns how many were killed. Safe to call from a
    signal handler."""
    with _LIVE_LOCK:
        STOP.set()
        live = [process for process in _LIVE if process.poll() is None]
        _STOPPED.update(live)
    for process in live:
        process.kill()
    return len(live)


def allow_tasks() -> None:
    """A new session: tasks may start again."""
    STOP.clear()
