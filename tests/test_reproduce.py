"""alzza reproduce end to end: the local pool, a loopback Dask cluster, --resume, crashes.

Every task is a real ``alzza run`` child process on the small data files of the fixture
(``tabular_data_dir``), in smoke form (``--epochs 1 --max-batches 2``).
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from alzza.cli import main
from alzza.experiments import find_experiment, list_experiments
from alzza.reproduce.executors import run_local, store_files
from alzza.reproduce.progress import Progress
from alzza.reproduce.session import expected_fingerprint
from alzza.reproduce.tasks import Task, run_task

SMOKE = ["--epochs", "1", "--max-batches", "2"]
CHAPTER_2 = [e.name for e in list_experiments() if e.chapter == 2]


def _reproduce(capsys, *words) -> tuple[int, str]:
    code = main(["reproduce", *map(str, words)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _result(out: Path, name: str) -> dict:
    return json.loads((out / "runs" / name / "result.json").read_text())


def _task(out: Path, name: str) -> dict:
    return json.loads((out / "runs" / name / "task.json").read_text())


def _report_rows(out: Path) -> dict[str, list[str]]:
    """The table rows of report.md by experiment name (cells, stripped)."""
    rows = {}
    for line in (out / "report.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("experiment",):
            rows[cells[0]] = cells
    return rows


def _check_report(out: Path, names: list[str]) -> None:
    rows = _report_rows(out)
    assert set(names) <= set(rows)
    page = (out / "report.html").read_text()
    for name in names:
        assert name in page
    # self-contained: pictures inline, nothing fetched from elsewhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(uris) == len(names)
    with Image.open(io.BytesIO(base64.b64decode(uris[0]))) as thumb:
        assert thumb.format == "PNG" and max(thumb.size) <= 200


def test_chapter_2_on_the_local_pool(tmp_path, tabular_data_dir, capsys):
    out = tmp_path / "repro"
    code, text = _reproduce(capsys, "--chapter", 2, *SMOKE, "--workers", 2, "--out", out,
                            "--data-dir", tabular_data_dir)
    assert code == 0, text
    assert len(CHAPTER_2) == 3
    _check_report(out, CHAPTER_2)
    logs = set()
    for name in CHAPTER_2:
        result, task = _result(out, name), _task(out, name)
        exp = find_experiment(name)
        assert task["status"] == "done" and task["returncode"] == 0
        assert result["experiment"] == name and result["epochs"] == 1 and result["max_batches"] == 2
        assert result["fingerprint"]["digest"] == expected_fingerprint(exp, 1, 2)["digest"]
        assert result["seed"] == (exp.seed if exp.seed is not None else 1234)
        log = (out / "runs" / name / "log.txt").read_text()
        assert log.startswith("$ ") and f"-m alzza.cli run {name} " in log.splitlines()[0]
        logs.add(log)
    assert len(logs) == 3  # one process and one log per experiment
    assert "3 done, 0 running, 0 failed" in text and "finished in" in text
    rows = _report_rows(out)
    assert rows["pulsar-slp"][1] == "real" and rows["pulsar-slp"][2] == "epochs 1, ≤2 batches"
    assert rows["pulsar-slp"][4] == "0.976"  # the book's figure
    diff = float(rows["pulsar-slp"][5])
    assert diff == pytest.approx(_result(out, "pulsar-slp")["metrics"]["accuracy"] - 0.976, abs=6e-4)


@pytest.fixture
def loopback_cluster():
    """A Dask scheduler with two workers on 127.0.0.1 (ephemeral ports), stopped afterwards."""
    import distributed  # the "cluster" extra (in the dev extra and requirements-ci.txt)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1",
                                       scheduler_port=0, dashboard_address=None, protocol="tcp")
    try:
        yield cluster
    finally:
        cluster.close()


def test_chapter_2_on_a_loopback_dask_cluster(tmp_path, tabular_data_dir, capsys, loopback_cluster):
    address = loopback_cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    out = tmp_path / "repro"
    code, text = _reproduce(capsys, "--chapter", 2, *SMOKE, "--scheduler", address, "--out", out,
                            "--data-dir", tabular_data_dir)
    assert code == 0, text
    _check_report(out, CHAPTER_2)
    workers = set(loopback_cluster.scheduler_info["workers"])
    for name in CHAPTER_2:
        task = _task(out, name)
        assert task["status"] == "done" and task["worker"] in workers
    assert f"Dask cluster at {address}" in (out / "report.md").read_text()


def test_an_unreachable_scheduler_is_one_message(tmp_path, capsys, monkeypatch):
    import socket

    from alzza.reproduce import executors

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)
    out = tmp_path / "repro"
    code, text = _reproduce(capsys, "pulsar-slp", "--scheduler", f"tcp://127.0.0.1:{port}", "--out", out)
    assert code == 2 and f"cannot reach the Dask scheduler at 'tcp://127.0.0.1:{port}'" in text
    assert "Traceback" not in text and not (out / "session.json").exists()


def test_resume_skips_only_up_to_date_runs(tmp_path, tabular_data_dir, capsys):
    out = tmp_path / "repro"
    common = ["pulsar-slp", "--workers", 1, "--out", out, "--data-dir", tabular_data_dir]
    code, text = _reproduce(capsys, *common, *SMOKE)
    assert code == 0, text
    first = _result(out, "pulsar-slp")
    code, text = _reproduce(capsys, *common, *SMOKE, "--resume")
    assert code == 0 and "1 up to date" in text and "start " not in text
    assert _result(out, "pulsar-slp") == first
    # other settings: the run is redone, even with --resume
    code, text = _reproduce(capsys, *common, "--epochs", 1, "--max-batches", 3, "--resume")
    assert code == 0 and "start    pulsar-slp" in text
    assert _result(out, "pulsar-slp")["max_batches"] == 3
    # without --resume, everything runs again
    code, text = _reproduce(capsys, *common, "--epochs", 1, "--max-batches", 3)
    assert "start    pulsar-slp" in text
    sessions = json.loads((out / "session.json").read_text())["sessions"]
    assert len(sessions) == 4 and sessions[1]["command"][-1] == "--resume"


def test_extra_seeds_show_the_spread_of_one_run(tmp_path, tabular_data_dir, capsys):
    out = tmp_path / "repro"
    code, text = _reproduce(capsys, "steel-slp", "--seeds", 1234, 7, *SMOKE, "--workers", 2, "--out", out,
                            "--data-dir", tabular_data_dir)
    assert code == 0, text
    assert not (out / "runs" / "steel-slp@seed1234").exists()  # the experiment's own seed runs once
    seeded = _result(out, "steel-slp@seed7")
    assert seeded["seed"] == 7 and _result(out, "steel-slp")["seed"] == 1234
    accuracies = sorted([_result(out, "steel-slp")["metrics"]["accuracy"], seeded["metrics"]["accuracy"]])
    cell = _report_rows(out)["steel-slp"][7]
    assert cell == f"{accuracies[0]:.3f}–{accuracies[1]:.3f} (2 seeds)"
    assert "steel-slp@seed7" not in _report_rows(out)  # one row per experiment


def test_tasks_left_when_the_budget_is_spent_are_reported(tmp_path, tabular_data_dir, capsys):
    out = tmp_path / "repro"
    # a budget spent before the first task can start: nothing runs, everything is reported
    code, text = _reproduce(capsys, "pulsar-slp", "steel-slp", *SMOKE, "--workers", 1, "--budget", 1e-6,
                            "--out", out, "--data-dir", tabular_data_dir)
    assert code == 1 and "Traceback" not in text
    for name in ("pulsar-slp", "steel-slp"):
        assert _task(out, name)["status"] == "not started"
        assert not (out / "runs" / name / "log.txt").exists()
        assert _report_rows(out)[name][3] == "not started"
    assert "not run: 2" in (out / "report.md").read_text()


BROKEN = """\
name: broken-pulsar
chapter: 2
title: a conv layer on tabular inputs (fails when the model is built)
dataset: pulsar
model:
  layers: [[conv, {ksize: 3, chn: 2}]]
book: {accuracy: 0.5}
"""


def test_a_crashing_task_is_reported_and_the_others_go_on(tmp_path, tabular_data_dir, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    out = tmp_path / "repro"
    code, text = _reproduce(capsys, broken, "pulsar-slp", *SMOKE, "--workers", 2, "--out", out,
                            "--data-dir", tabular_data_dir)
    assert code == 1
    assert "FAILED   broken-pulsar" in text and "1 done" in text and "1 failed" in text
    task = _task(out, "broken-pulsar")
    assert task["status"] == "failed" and task["returncode"] == 2
    assert "conv" in task["message"] and "Traceback" not in (out / "runs/broken-pulsar/log.txt").read_text()
    assert _task(out, "pulsar-slp")["status"] == "done"
    rows = _report_rows(out)
    assert rows["broken-pulsar"][3] == "failed" and rows["pulsar-slp"][6] in ("yes", "no")
    report = (out / "report.md").read_text()
    assert f"**broken-pulsar** failed: {task['message']}" in report
    assert "failed: 1" in report


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc (Linux)")
def test_sigterm_stops_the_running_tasks_and_writes_the_report(tmp_path, tabular_data_dir):
    import os
    import signal
    import subprocess

    out = tmp_path / "repro"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"), MPLBACKEND="Agg")
    # an experiment that trains for a very long time, so it is surely running when the signal comes
    parent = subprocess.Popen([sys.executable, "-m", "alzza.cli", "reproduce", "pulsar-slp", "--epochs", "1000000",
                               "--workers", "1", "--out", str(out), "--data-dir", str(tabular_data_dir)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)  # its own process group: the finally below ends all of it
    try:
        lines = []
        for line in parent.stdout:  # wait until the task has started
            lines.append(line)
            if line.startswith("start    pulsar-slp"):
                break
        deadline = time.monotonic() + 60
        while not (out / "runs/pulsar-slp/log.txt").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        parent.send_signal(signal.SIGTERM)
        rest = parent.communicate(timeout=60)[0]
    finally:
        if parent.poll() is None:
            parent.kill()
        try:  # never leave a training grandchild behind, whatever happened above
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert parent.returncode == 130, "".join(lines) + rest
    assert "alzza: interrupted" in rest
    assert _processes_mentioning(str(out / "runs" / "pulsar-slp")) == []  # the child was stopped too
    assert _task(out, "pulsar-slp")["status"] == "interrupted", "".join(lines) + rest
    assert _report_rows(out)["pulsar-slp"][3] == "interrupted"


class ScriptTask(Task):
    """A task whose child is a given Python script (to kill or hang it on purpose)."""

    def __init__(self, name, out_dir, script, timeout=None):
        super().__init__(name=name, chapter=None, experiment=name, out_dir=str(out_dir), timeout=timeout)
        self.script = script

    def command(self):
        return [sys.executable, "-c", self.script]


def test_a_killed_or_hanging_task_is_reported(tmp_path):
    killed = run_task(ScriptTask("k", tmp_path / "k", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    assert killed["status"] == "killed" and "SIGKILL" in killed["message"]
    hung = run_task(ScriptTask("h", tmp_path / "h", "import time; time.sleep(60)", timeout=0.5))
    assert hung["status"] == "timed out" and "0.5 s" in hung["message"]
    silent = run_task(ScriptTask("s", tmp_path / "s", "print('nothing written')"))
    assert silent["status"] == "failed" and "no result.json" in silent["message"]


def test_the_pool_goes_on_after_a_killed_task(tmp_path):
    write = "import json, sys; open(sys.argv[1], 'w').write(json.dumps({'metrics': {}}))"
    tasks = [ScriptTask("dies", tmp_path / "dies", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")]
    for name in ("a", "b"):
        task = ScriptTask(name, tmp_path / name, write)
        task.command = lambda t=task: [sys.executable, "-c", write, str(Path(t.out_dir) / "result.json")]
        tasks.append(task)
    lines, outcomes = [], {}
    progress = Progress(len(tasks), 2, lines.append)

    def record(task, outcome):
        outcomes[task.name] = outcome["status"]
        progress.finished_task(task.name, outcome)

    run_local(tasks, 2, progress, record, deadline=time.monotonic() + 3600)
    assert outcomes == {"dies": "killed", "a": "done", "b": "done"}
    assert progress.done == 2 and progress.failed == 1
    assert any(line.startswith("KILLED   dies") for line in lines)
    # once the time budget has run out, no further task starts
    outcomes.clear()
    run_local(tasks, 2, Progress(3, 2, lines.append), record, deadline=time.monotonic() - 1)
    assert outcomes == {"dies": "not started", "a": "not started", "b": "not started"}


def test_files_sent_back_by_a_worker_are_stored_once(tmp_path):
    folder = tmp_path / "run"
    store_files(str(folder), {"result.json": b"{}", "../escape.txt": b"x"})
    assert (folder / "result.json").read_bytes() == b"{}"
    assert (folder / "escape.txt").is_file() and not (tmp_path / "escape.txt").exists()
    before = (folder / "result.json").stat().st_mtime_ns
    store_files(str(folder), {"result.json": b"{}"})
    assert (folder / "result.json").stat().st_mtime_ns == before
    store_files(str(folder), {"result.json": b"{\"a\": 1}"})
    assert (folder / "result.json").read_bytes() == b"{\"a\": 1}"


def test_user_errors_are_one_message(tmp_path, capsys):
    assert main(["reproduce"]) == 2
    assert "--chapter N" in capsys.readouterr().err
    assert main(["reproduce", "--chapter", "99", "--out", str(tmp_path)]) == 2
    assert "no experiment in chapter 99" in capsys.readouterr().err
    assert main(["reproduce", "pulsar-slpp", "--out", str(tmp_path)]) == 2
    assert "pulsar-slp" in capsys.readouterr().err  # the nearest name
    assert main(["reproduce", "--markdown-doc", str(tmp_path / "d.md"), "--out", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_shipped_rows_of_every_folder_run_by_name_and_a_users_file_by_path(tmp_path):
    """A shipped experiment (book/ or beyond/) is handed to its worker by name — its source
    is a path inside the package, not a file on disk; a user's experiment file by its path."""
    from alzza.experiments import find_experiment
    from alzza.reproduce.session import Options, plan_tasks

    own = tmp_path / "mine.yaml"
    own.write_text("name: mine\ndataset: steel\ntrain: {epochs: 1}\nmodel: {layers: [4]}\n")
    exps = [find_experiment("steel-slp"), find_experiment("automata-transformer"), find_experiment(str(own))]
    tasks = plan_tasks(exps, Options(), tmp_path / "out")
    assert [t.experiment for t in tasks] == ["steel-slp", "automata-transformer", str(own.resolve())]
