"""Helpers of the hostile-input tests (tests/test_hostile_*.py).

Each hostile case is an input a user may be handed (a shared experiment file, a model
file, a data file) or a misuse of the command line. The promise checked is always the
same: one readable error line (exit status 2) naming the problem — no traceback, no
hang, nothing written where it should not be, nothing lost.
"""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

from alzza.cli import main

#: a small valid experiment on the fixture's steel data
STEEL = "dataset: {name: steel, standardize: true}\ntrain: {epochs: 1, batch_size: 5}\n"


class Deadline(Exception):
    """A case ran past its deadline (a hang, before the fix)."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise :class:`Deadline` in this (main) thread after ``seconds``: a hang fails fast."""
    def expire(signum, frame):
        raise Deadline(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def write_experiment(folder: Path, body: str, name: str = "exp.yaml") -> Path:
    path = Path(folder) / name
    path.write_text(body, encoding="utf-8")
    return path


def run_cli(args, capsys, seconds: float = 60) -> tuple[int, str, str]:
    """``alzza ARGS`` in this process under a deadline: (exit status, stdout, stderr)."""
    with deadline(seconds):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error(code, err, *fragments):
    """Exit status 2 and one 'alzza: error:' line holding every fragment (case-insensitive)."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith(("alzza: error:", "alzza run: error:", "alzza bench: error:")), err
    for fragment in fragments:
        assert fragment.lower() in err.lower(), (fragment, err)
