"""Hostile input, round 2 (issue 23): reproduce, bench, gradcheck options and one spec.

H2: a "scheduler" that accepts the connection and never speaks Dask is one clear error
after the connect timeout (a setting); W3: ``--seeds -1`` is refused before anything
runs; W5: ``[seqwrap], [layer_normal], [full]`` builds as it does with batch_normal;
T6: ``bench --rows nope`` and ``--json`` under a file are one ``alzza: error:`` line;
T2: ``gradcheck --tol`` must be a positive number."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest

from _hostile import assert_one_error, run_cli
from alzza import Model
from alzza.layers.seqwrap import WholeSequence
from alzza.sequences import SeqShape, Sequences


@pytest.fixture(autouse=True)
def _in_work(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


# ------------------------------------------------------------------ H2: a silent scheduler
@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def garbage_server():
    """A TCP server on 127.0.0.1 that answers every connection with a frame claiming 2**62 bytes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except OSError:
                continue
            held.append(conn)
            conn.sendall((2**62).to_bytes(8, "little") + b"\xff" * 64)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_H2_a_scheduler_that_never_speaks_is_one_error(silent_server, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("ALZZA_SCHEDULER_TIMEOUT", "1")
    code, _, err = run_cli(["reproduce", "abalone-slp", "--scheduler", silent_server, "--out", tmp_path / "r",
                            "--epochs", "1"], capsys, seconds=120)
    assert_one_error(code, err, silent_server, "did not answer", "ALZZA_SCHEDULER_TIMEOUT")


def test_H2_a_garbage_scheduler_reply_is_not_out_of_memory(garbage_server, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("ALZZA_SCHEDULER_TIMEOUT", "1")
    code, _, err = run_cli(["reproduce", "abalone-slp", "--scheduler", garbage_server, "--out", tmp_path / "r",
                            "--epochs", "1"], capsys, seconds=120)
    assert_one_error(code, err, garbage_server, "not a dask scheduler")
    assert "out of memory" not in err


def test_H2_the_timeout_setting_is_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ALZZA_SCHEDULER_TIMEOUT", "soon")
    code, _, err = run_cli(["reproduce", "abalone-slp", "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "r"],
                           capsys)
    assert_one_error(code, err, "ALZZA_SCHEDULER_TIMEOUT")


# ------------------------------------------------------------------ W3: negative seeds
@pytest.mark.parametrize("seed", ["-1", "nope"])
def test_W3_negative_seeds_are_refused_before_anything_runs(seed, tmp_path, capsys):
    code, _, err = run_cli(["reproduce", "abalone-slp", "--seeds", seed, "--out", tmp_path / "r"], capsys)
    assert code == 2 and "--seeds" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ W5: layer_normal after a seqwrap
def test_W5_layer_normal_after_seqwrap_keeps_the_whole_sequence_rule():
    steps, features = 3, 4
    spec = [["seqwrap", ["full", {"width": 5, "actfunc": "tanh"}]], ["layer_normal"], ["full", {"width": 6}]]
    model = Model(None, spec, input_shape=SeqShape((steps, features)), output_shape=(2,), mode="select", seed=0,
                  printer=lambda *a: None)
    full = model.network.layers[2]
    assert isinstance(full, WholeSequence) and full.params["w"].shape == (steps * 5, 6)
    x = Sequences(np.random.default_rng(0).standard_normal((4, steps, features)).astype(np.float32),
                  np.full(4, steps))
    assert model.predict(x).shape == (4, 2)


def test_W5_after_a_recurrent_layer_a_full_still_needs_seqwrap():
    from alzza.errors import SpecError

    spec = [["seqwrap", ["full", {"width": 5}]], ["rnn", {"recur_size": 4}], ["full", {"width": 6}]]
    with pytest.raises(SpecError, match="seqwrap"):
        Model(None, spec, input_shape=SeqShape((3, 4)), output_shape=(2,), mode="select", seed=0,
              printer=lambda *a: None)


# ------------------------------------------------------------------ T6: bench options
def test_T6_bench_unknown_row_is_one_error_line(capsys):
    code, _, err = run_cli(["bench", "--rows", "nope", "--no-torch", "--quick"], capsys)
    assert_one_error(code, err, "nope", "mlp-pulsar")


def test_T6_bench_json_under_a_file_is_refused_before_measuring(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, err = run_cli(["bench", "--rows", "mlp-pulsar", "--no-torch", "--quick", "--no-profile",
                              "--json", blocker / "y.json"], capsys)
    assert_one_error(code, err, "--json", "is a file, not a folder")
    assert "mlp-pulsar" not in out  # nothing was measured first


def test_T6_bench_json_in_a_missing_folder_is_created(tmp_path, capsys, monkeypatch):
    from alzza.bench import harness

    monkeypatch.setattr(harness, "run_row", lambda row, batch, *a, **k: {"row": row.name, "batch": batch})
    monkeypatch.setattr(harness, "table_lines", lambda results: ["", ""])
    target = tmp_path / "new" / "deeper" / "b.json"
    code, _, err = run_cli(["bench", "--rows", "mlp-pulsar", "--no-torch", "--quick", "--json", target], capsys)
    assert code == 0, err
    assert target.is_file()


# ------------------------------------------------------------------ T2: gradcheck --tol
@pytest.mark.parametrize("tol", ["nan", "-1", "0", "inf"])
def test_T2_gradcheck_tol_must_be_a_positive_number(tol, capsys):
    code, _, err = run_cli(["gradcheck", "abalone-slp", "--tol", tol], capsys)
    assert code == 2 and "--tol" in err and "Traceback" not in err


# ------------------------------------------------------------------ T7: --import files that misbehave
def test_T7_an_import_file_that_calls_sys_exit_is_one_message(tmp_path, capsys):
    module = tmp_path / "exits.py"
    module.write_text("import sys\n\nsys.exit(3)\n")
    code, _, err = run_cli(["summary", "abalone-slp", "--import", module], capsys)
    assert_one_error(code, err, "sys.exit(3)", "exits.py", "line 3")


def test_T7_a_syntax_error_in_an_import_file_is_placed_in_that_file(tmp_path, capsys):
    module = tmp_path / "typo.py"
    module.write_text("x = 1\ndef broken(:\n    pass\n")
    code, _, err = run_cli(["summary", "abalone-slp", "--import", module], capsys)
    assert_one_error(code, err, f"{module} line 2", "SyntaxError")
    assert "frozen" not in err


# ------------------------------------------------------------------ T4: reproduce's folders and result.json
def test_T4_reproduce_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("mine")
    code, _, err = run_cli(["reproduce", "abalone-slp", "--out", target, "--epochs", "1"], capsys)
    assert_one_error(code, err, "--out", "not a folder")
    assert target.read_text() == "mine"


def test_T4_reproduce_out_under_a_file(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("mine")
    code, _, err = run_cli(["reproduce", "abalone-slp", "--out", target / "r", "--epochs", "1"], capsys)
    assert_one_error(code, err, "--out", "is a file, not a folder")


def test_T4_resume_with_a_result_json_that_is_a_folder(tmp_path, capsys):
    folder = tmp_path / "r" / "runs" / "abalone-slp" / "result.json"
    folder.mkdir(parents=True)
    code, _, err = run_cli(["reproduce", "abalone-slp", "--out", tmp_path / "r", "--epochs", "1", "--resume",
                            "--workers", "1"], capsys)
    assert_one_error(code, err, "result.json", "is a folder")


@pytest.mark.parametrize("record", [{"metrics": [1, 2]}, {"metrics": "x"}, [1, 2, 3], "deep"])
def test_T4_resume_with_a_result_json_of_the_wrong_form_is_not_up_to_date(record, tmp_path):
    import json

    from alzza.experiments import find_experiment
    from alzza.reproduce.session import expected_fingerprint, up_to_date
    from alzza.reproduce.tasks import Task

    exp = find_experiment("abalone-slp")
    expected = expected_fingerprint(exp)
    folder = tmp_path / "runs" / "abalone-slp"
    folder.mkdir(parents=True)
    text = "[" * 100_000 + "]" * 100_000 if record == "deep" else \
        json.dumps({**record, "fingerprint": expected} if isinstance(record, dict) else record)
    (folder / "result.json").write_text(text)
    task = Task.__new__(Task)
    task.out_dir = str(folder)
    assert up_to_date(task, expected) is False
