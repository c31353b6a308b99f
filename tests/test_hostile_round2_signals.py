"""Hostile input, round 2 (issue 23): interrupted runs and the command that resumes them.

W2: the checkpoint records the run's settings (epochs, batch size, rate, max batches);
``--resume`` uses them, a flag given again must agree (``--epochs`` may be raised) or is
refused; SIGTERM prints the same resume hint as Ctrl-C. And the kept SIGINT behaviour,
tested without a race against a loaded machine: the signal is sent only once the child
has reported a trained epoch (so it lands inside training), and the only time limits are
generous hang guards."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import alzza.training.callbacks
from _hostile import STEEL, assert_one_error, run_cli, write_experiment

SRC = str(Path(__file__).resolve().parents[1] / "src")
#: a hang guard only: nothing here must take this long, however loaded the machine
HANG_GUARD = 600

BODY = "name: resumable\n" + STEEL + "model: {layers: [4]}\n"


@pytest.fixture(autouse=True)
def _in_work(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))


def _cut_after(monkeypatch, writes: int):
    """Interrupt the run (as Ctrl-C would) right after its ``writes``-th checkpoint."""
    real = alzza.training.callbacks.Checkpoint.write
    count = {"n": 0}

    def write(self, run, epoch):
        real(self, run, epoch)
        count["n"] += 1
        if count["n"] == writes:
            raise KeyboardInterrupt

    monkeypatch.setattr(alzza.training.callbacks.Checkpoint, "write", write)
    return lambda: monkeypatch.setattr(alzza.training.callbacks.Checkpoint, "write", real)


@pytest.fixture
def interrupted(tmp_path, tabular_data_dir, capsys, monkeypatch):
    """A run with --epochs 4 --max-batches 2 --batch-size 4 --lr 0.003, interrupted after epoch 2."""
    spec = write_experiment(tmp_path, BODY)
    out = tmp_path / "run"
    restore = _cut_after(monkeypatch, 2)
    code, text, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--out", out, "--epochs", "4",
                               "--max-batches", "2", "--batch-size", "4", "--lr", "0.003", "--checkpoint-every", "1",
                               "--no-progress"], capsys)
    restore()
    assert code == 130, err
    hint = [line for line in text.splitlines() if line.startswith("Interrupted. Continue")]
    assert hint == [f"Interrupted. Continue from the last checkpoint with: alzza run {spec} --resume {out}"]
    return spec, out


def test_W2_the_printed_resume_command_continues_the_same_run(interrupted, tabular_data_dir, capsys):
    spec, out = interrupted
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--resume", out, "--no-progress"], capsys)
    assert code == 0, err
    result = json.loads((out / "result.json").read_text())
    assert result["epochs"] == 4 and result["history"]["epoch"] == [1, 2, 3, 4]
    assert result["max_batches"] == 2 and result["batch_size"] == 4 and result["learning_rate"] == 0.003


@pytest.mark.parametrize("flag, value", [("--max-batches", "5"), ("--batch-size", "6"), ("--lr", "0.1"),
                                         ("--epochs", "3")])
def test_W2_a_flag_given_again_must_agree(flag, value, interrupted, tabular_data_dir, capsys):
    spec, out = interrupted
    checkpoint = (out / "checkpoint.json").read_bytes()
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--resume", out, flag, value,
                            "--no-progress"], capsys)
    assert_one_error(code, err, flag, "resume")
    assert (out / "checkpoint.json").read_bytes() == checkpoint


def test_W2_the_same_flags_again_and_more_epochs_are_accepted(interrupted, tabular_data_dir, capsys):
    spec, out = interrupted
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--resume", out, "--max-batches", "2",
                            "--lr", "0.003", "--epochs", "5", "--no-progress"], capsys)
    assert code == 0, err
    assert json.loads((out / "result.json").read_text())["history"]["epoch"] == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------ signals to a real child process
def _start_child(tmp_path, tabular_data_dir, *extra):
    spec = write_experiment(tmp_path, "name: slow\n" + STEEL.replace("epochs: 1", "epochs: 100000") +
                            "model: {layers: [4]}\n")
    out = tmp_path / "o"
    child = subprocess.Popen(
        [sys.executable, "-m", "alzza.cli", "run", str(spec), "--out", str(out), "--data-dir", str(tabular_data_dir),
         "--no-progress", "--report", "1", "--max-batches", "2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue = queue.Queue()

    def read():
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen = []
    end = time.monotonic() + HANG_GUARD
    while time.monotonic() < end:  # until the child reports a trained epoch: then it is inside training
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith("Epoch 2"):
            return child, lines, reader, seen, out
    child.kill()
    child.wait()
    pytest.fail(f"the child never reported an epoch: {''.join(seen)}")


def _finish(child, lines, reader, seen):
    """(stdout, stderr) of the child once it has ended (stdout is the reader thread's alone)."""
    child.wait(timeout=HANG_GUARD)
    reader.join(timeout=HANG_GUARD)
    err = child.stderr.read()
    while True:
        line = lines.get(timeout=HANG_GUARD)
        if line is None:
            break
        seen.append(line)
    return "".join(seen), err


def test_kept_sigint_exits_130_with_one_line(tmp_path, tabular_data_dir):
    child, lines, reader, seen, _ = _start_child(tmp_path, tabular_data_dir)
    child.send_signal(signal.SIGINT)
    _, err = _finish(child, lines, reader, seen)
    assert child.returncode == 130, err
    assert err.strip().splitlines() == ["alzza: interrupted"]


def test_W2_sigterm_prints_the_same_resume_hint_as_ctrl_c(tmp_path, tabular_data_dir):
    child, lines, reader, seen, out = _start_child(tmp_path, tabular_data_dir, "--checkpoint-every", "1")
    child.send_signal(signal.SIGTERM)
    text, err = _finish(child, lines, reader, seen)
    assert child.returncode == 143, err
    assert err.strip().splitlines() == ["alzza: terminated"]
    assert f"Interrupted. Continue from the last checkpoint with: alzza run {tmp_path / 'exp.yaml'} --resume {out}" \
        in text
    assert (out / "checkpoint.json").is_file()
