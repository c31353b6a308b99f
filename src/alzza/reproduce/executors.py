"""Where the tasks run: K local worker processes, or an existing Dask cluster.

Both call :func:`alzza.reproduce.tasks.run_task`, so a task is an ``alzza run`` child
process either way; they only differ in who starts it.

- :func:`run_local`: a pool of K threads, each waiting on one child process at a time
  (the children do the work; the threads only wait, so K children run side by side).
- :func:`run_on_dask`: ``dask.distributed`` (the optional extra ``alzza[cluster]``)
  submits every task to the scheduler at ``--scheduler tcp://HOST:PORT``; a worker runs
  it and sends back the outcome and the run folder's small files, which are written here
  when this machine does not share the worker's disk.

Each calls ``on_outcome(task, outcome)`` as tasks finish, in the order they finish.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from pathlib import Path

from ..saving.atomic import write_bytes_atomic
from ..errors import AlzzaError
from .tasks import NOT_STARTED, STOP, Task, run_task, stop_all

#: seconds between the progress lines printed while tasks run
TICK_SECONDS = 30.0
POLL_SECONDS = 0.5


def _crashed(task: Task, error: BaseException, where: str) -> dict:
    """The outcome of a task whose runner itself failed (could not start, worker lost)."""
    return {"name": task.name, "status": "failed", "returncode": None, "seconds": None,
            "message": f"{where}: {type(error).__name__}: {error}", "host": None, "command": task.command()}


def not_started(task: Task, why: str = "the session's time budget (--budget) ran out first") -> dict:
    """The outcome of a task left waiting (time budget spent, or the session interrupted)."""
    return {"name": task.name, "status": NOT_STARTED, "returncode": None, "seconds": None,
            "message": f"not started: {why}", "host": None, "command": task.command()}


def run_local(tasks: list[Task], workers: int, progress, on_outcome, deadline: float | None = None) -> None:
    """Run ``tasks`` on ``workers`` parallel child processes; after ``deadline`` (a
    ``time.monotonic()`` value) no further task starts."""

    def one(task: Task) -> None:
        if STOP.is_set():
            on_outcome(task, not_started(task, "the session was interrupted first"))
            return
        if deadline is not None and time.monotonic() >= deadline:
            on_outcome(task, not_started(task))
            return
        progress.started(task.name)
        try:
            outcome = run_task(task)
        except Exception as error:  # could not even start the child: report it, go on
            outcome = _crashed(task, error, "could not run the task")
        on_outcome(task, outcome)  # from this thread, so 'done' shows as soon as it is

    pool = cf.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="alzza-task")
    futures = {}
    try:
        futures = {pool.submit(one, task): task for task in tasks}
        pending = set(futures)
        while pending:
            # short waits: a signal (Ctrl-C, SIGTERM) is handled between them, at once
            finished, pending = cf.wait(pending, timeout=POLL_SECONDS, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                future.result()  # re-raises only a failure of the reporting itself
            progress.tick(TICK_SECONDS)
    except BaseException:
        # Ctrl-C: start no waiting task, stop the running ones (a terminal's SIGINT reached
        # them too; a signal sent to this process alone did not)
        for future in futures:
            future.cancel()
        stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: seconds to wait for the scheduler to answer (ALZZA_SCHEDULER_TIMEOUT overrides)
CONNECT_TIMEOUT = 20.0
#: a Dask handshake frame is small; a first frame claiming more is not a scheduler talking
HANDSHAKE_LIMIT = 1 << 20


def connect_timeout() -> float:
    """ALZZA_SCHEDULER_TIMEOUT (seconds, > 0), else CONNECT_TIMEOUT."""
    import math
    import os

    text = os.environ.get("ALZZA_SCHEDULER_TIMEOUT", "").strip()
    if not text:
        return CONNECT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise AlzzaError(f"ALZZA_SCHEDULER_TIMEOUT={text!r} is not a positive number of seconds")
    return value


def probe_scheduler(address: str, timeout: float) -> None:
    """Check that ``address`` (tcp://HOST:PORT) answers like a Dask scheduler within ``timeout``
    seconds: a Dask server sends its handshake frame as soon as it accepts a connection. A
    server that stays silent (dask.distributed would wait for it forever) or whose first
    frame is nonsense (a length it would try to allocate) is one clear error."""
    import socket
    import time as clock
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return  # tls:// and others: left to dask.distributed
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        port = None
    if not host or port is None:
        raise AlzzaError(f"--scheduler {address!r}: give the address as tcp://HOST:PORT")
    hint = "start one with 'dask scheduler', or run locally with --workers K"
    end = clock.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            head = b""
            while len(head) < 8:
                sock.settimeout(max(0.01, end - clock.monotonic()))
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    raise AlzzaError(f"the server at {address!r} closed the connection without answering; it is "
                                     f"not a Dask scheduler ({hint})")
                head += chunk
    except TimeoutError:
        raise AlzzaError(f"the server at {address!r} accepted the connection but did not answer as a Dask "
                         f"scheduler within {timeout:g} s (ALZZA_SCHEDULER_TIMEOUT); {hint}") from None
    except OSError as error:
        raise AlzzaError(f"cannot reach the Dask scheduler at {address!r} ({error.strerror or error}); "
                         f"{hint}") from None
    if int.from_bytes(head, "little") > HANDSHAKE_LIMIT:
        raise AlzzaError(f"the server at {address!r} answered with something that is not a Dask scheduler's "
                         f"handshake (a first frame of {int.from_bytes(head, 'little')} bytes); {hint}")


def connect(address: str):
    """A dask.distributed Client of the scheduler at ``address``, or one clear error."""
    timeout = connect_timeout()
    try:
        from distributed import Client
    except ImportError:
        raise AlzzaError("--scheduler needs dask.distributed, which is not installed: "
                         "pip install 'alzza[cluster]' (or run locally with --workers K)") from None
    probe_scheduler(address, timeout)
    try:
        return Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as error:
        raise AlzzaError(f"cannot reach the Dask scheduler at {address!r} ({type(error).__name__}: {error}); "
                         f"start one with 'dask scheduler' and workers with 'dask worker {address}', "
                         f"or run locally with --workers K") from None
    except MemoryError:
        raise AlzzaError(f"the Dask scheduler at {address!r} sent a reply too big to read: it is not a Dask "
                         "scheduler, or not one of this version") from None


def cluster_slots(client) -> int:
    """How many tasks the cluster runs at once (its worker threads)."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # a scheduler that does not answer counts as one slot
        return 1


def store_files(out_dir: str, files: dict) -> None:
    """Write the files a worker sent back, where this machine lacks them or holds others."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / Path(name).name  # names only, never a path from elsewhere
        if not path.is_file() or path.read_bytes() != data:
            write_bytes_atomic(path, data)  # temp file + rename (alzza.saving.atomic)


def run_on_dask(tasks: list[Task], client, progress_factory, on_outcome, deadline: float | None = None):
    """Run ``tasks`` on the cluster of ``client`` (see :func:`connect`), then close it;
    returns the progress tracker. ``progress_factory(slots)`` makes the tracker once the
    cluster's size is known. After ``deadline`` (``time.monotonic()``), tasks no worker has
    taken yet are cancelled and reported as not started.
    """
    from uuid import uuid4

    futures = {}
    try:
        progress = progress_factory(cluster_slots(client))
        batch = uuid4().hex[:8]
        for task in tasks:
            key = f"alzza-reproduce-{task.name}-{batch}"
            futures[key] = (client.submit(run_task, task, True, key=key, pure=False, retries=0), task)
        pending = dict(futures)
        while pending:
            if STOP.is_set():  # interrupted: what a worker has not finished is cancelled
                for _key, (future, task) in list(pending.items()):
                    future.cancel()
                    on_outcome(task, not_started(task, "the session was interrupted first")
                               if task.name not in progress.running else
                               {**_crashed(task, KeyboardInterrupt(), "interrupted"), "status": "interrupted"})
                pending.clear()
                break
            _mark_running(client, pending, progress)
            if deadline is not None and time.monotonic() >= deadline:
                for key in [key for key, (f, t) in pending.items() if t.name not in progress.running
                            and not f.done()]:
                    future, task = pending.pop(key)
                    future.cancel()
                    on_outcome(task, not_started(task))
            for key in [key for key, (future, _) in pending.items() if future.done()]:
                future, task = pending.pop(key)
                outcome = _collect(future, task)
                if outcome.get("files"):
                    store_files(task.out_dir, outcome.pop("files"))
                on_outcome(task, outcome)
            progress.tick(TICK_SECONDS)
            if pending:
                time.sleep(POLL_SECONDS)
        return progress
    except BaseException:
        for future, _ in futures.values():
            future.cancel()
        raise
    finally:
        client.close()


def _collect(future, task: Task) -> dict:
    try:
        return future.result()
    except Exception as error:  # the worker died or the task raised: report it, go on
        return _crashed(task, error, "the Dask task failed")


def _mark_running(client, pending: dict, progress) -> None:
    """Tell the tracker which tasks a worker has taken. The scheduler's 'processing' also
    lists tasks queued on a worker, so only as many as it has threads count as running."""
    try:
        processing, threads = client.processing(), client.nthreads()
    except Exception:
        return
    for worker, keys in processing.items():
        for key in [key for key in keys if key in pending][:max(1, threads.get(worker, 1))]:
            progress.started(pending[key][1].name, where=str(worker))
