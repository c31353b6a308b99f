"""Atomic file writes: a temp file in the target's folder, then ``os.replace``.

A reader (or a later run) sees either the old file or the whole new one, never half a
picture or half a model, whatever kills the writer. The rules, and why:

- the temp file lies in the same folder as the target, so the final ``os.replace`` is a
  rename on one file system (atomic);
- its name is ``.<target name>.<pid>.<random>.tmp``: recognisable, so the temp files of
  saves that were killed (SIGKILL gives no chance to clean up) are removed by the next
  save of the same target — but only those whose process is gone and which nobody has
  written to for STALE_SECONDS, so two processes saving side by side (even from another
  machine or container, whose pids mean nothing here) never delete each other's work;
- on any failure the temp file is removed and the old target is left as it was;
- the new file gets the mode a plain ``open(path, "w")`` would give (0666 minus the
  umask, so 0644 usually), not ``mkstemp``'s private 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_path", "atomic_write", "clean_stale_temps", "target_problem", "write_bytes_atomic",
           "write_text_atomic"]

_TEMP_SUFFIX = ".tmp"
#: a temp file untouched this long, whose process is gone, is a killed save's leftover
STALE_SECONDS = 60.0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (someone else's), or we can't tell: keep its file
    return True


def clean_stale_temps(path) -> int:
    """Delete the temp files of earlier, killed saves of ``path``; return how many."""
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.([0-9]+)\.[A-Za-z0-9_]+{re.escape(_TEMP_SUFFIX)}$")
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime >= STALE_SECONDS:
                os.unlink(entry.path)
                removed += 1
    return removed


def target_problem(path) -> str | None:
    """Why a file may not be written at ``path`` by a rename (None when it may): only a new
    name, or a regular file (a link to one counts), is replaced — never a folder, a FIFO, a
    device (``/dev/null`` replaced by a regular file breaks the machine) or a socket."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        return "a part of this path is a file, not a folder"
    except OSError as exc:
        return f"cannot look at it ({exc.strerror or exc})"
    if mode is None:
        for parent in path.parents:
            if parent.exists():
                return None if parent.is_dir() else "a part of this path is a file, not a folder"
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a plain file")
    return f"is {kind}, not a regular file"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp path beside ``path``; on a clean exit it replaces ``path``.

    For writers that want a file name (``savefig``, ``np.savez``): write to the yielded
    path, and the context manager renames it into place, or deletes it on an error.
    """
    path = Path(path)
    clean_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """Yield an open file whose contents replace ``path`` atomically on a clean exit."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()


def write_bytes_atomic(path, data: bytes) -> Path:
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> Path:
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)
