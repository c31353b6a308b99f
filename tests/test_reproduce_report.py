"""The parts of alzza reproduce that need no child process: fingerprints, rows, the
report, the reproduction document and the parameter-count task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from alzza.experiments import find_experiment, list_experiments, load_experiment_file
from alzza.experiments import fingerprint as fp
from alzza.reproduce.count import count_parameters
from alzza.reproduce.document import write_document
from alzza.reproduce.progress import Progress, format_duration
from alzza.reproduce.table_report import write_report
from alzza.reproduce.rows import Summary, book_seconds_low, compare, data_kind, read_row
from alzza.reproduce.session import (Options, cheapest_first, expected_fingerprint, plan_tasks,
                                     select_experiments, up_to_date)
from alzza.reproduce.tasks import Task, last_message


def test_source_hash_follows_every_source_file(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "b.yaml").write_text("k: 1\n")
    first = fp.source_hash(tmp_path / "pkg")
    (tmp_path / "pkg" / "__pycache__" / "a.cpython.pyc").write_bytes(b"junk")
    (tmp_path / "pkg" / "notes.txt").write_text("not source")
    assert fp.source_hash(tmp_path / "pkg") == first
    (tmp_path / "pkg" / "b.yaml").write_text("k: 2\n")
    assert fp.source_hash(tmp_path / "pkg") != first
    (tmp_path / "pkg" / "b.yaml").write_text("k: 1\n")
    (tmp_path / "pkg" / "b.yaml").rename(tmp_path / "pkg" / "c.yaml")
    assert fp.source_hash(tmp_path / "pkg") != first  # a renamed file is other code


def test_fingerprint_changes_with_code_settings_seed_and_experiment(monkeypatch):
    exp = find_experiment("pulsar-slp")
    base = fp.fingerprint(exp, exp.train, 1234, None)
    assert base == fp.fingerprint(exp, dict(exp.train, report=7), 1234, None)  # printing only
    assert base["version"] and base["code"] == fp.code_hash() and base["seed"] == 1234
    others = [fp.fingerprint(exp, dict(exp.train, epochs=1), 1234, None),
              fp.fingerprint(exp, exp.train, 1235, None),
              fp.fingerprint(exp, exp.train, 1234, 2),
              fp.fingerprint(find_experiment("pulsar-slp-f1"), exp.train, 1234, None)]
    assert len({base["digest"], *(o["digest"] for o in others)}) == 5
    monkeypatch.setattr(fp, "code_hash", lambda: "0" * 16)
    assert fp.fingerprint(exp, exp.train, 1234, None)["digest"] != base["digest"]


def test_up_to_date_compares_the_recorded_digest(tmp_path):
    exp = find_experiment("pulsar-slp")
    task = Task(name=exp.name, chapter=2, experiment=exp.name, out_dir=str(tmp_path))
    expected = expected_fingerprint(exp, 1, 2)
    assert not up_to_date(task, expected)  # no result.json
    (tmp_path / "result.json").write_text("{not json")
    assert not up_to_date(task, expected)
    (tmp_path / "result.json").write_text(json.dumps({"fingerprint": {"digest": "other"}}))
    assert not up_to_date(task, expected)
    (tmp_path / "result.json").write_text(json.dumps({"fingerprint": expected, "metrics": {"accuracy": 0.5}}))
    assert up_to_date(task, expected)
    assert not up_to_date(task, expected_fingerprint(exp, 1, None))


def test_selection_by_chapter_name_and_all():
    chapter_2 = [e.name for e in list_experiments() if e.chapter == 2]
    assert [e.name for e in select_experiments([], [2], False)] == chapter_2
    both = select_experiments(["steel-slp"], [2], False)
    assert [e.name for e in both] == chapter_2 + ["steel-slp"]  # catalogue order
    assert len(select_experiments([], [], True)) == len(list_experiments())
    assert len(select_experiments(["pulsar-slp"], [2], False)) == 3  # no duplicates


def test_cheapest_first_follows_the_books_train_times(tmp_path):
    experiments = select_experiments(["gan-gogh", "office31-mlp-64-32-10", "steel-slp", "office31-mlp-10"], [],
                                     False)
    tasks = plan_tasks(experiments, Options(seeds=[7]), tmp_path)
    order = [t.name for t in cheapest_first(tasks, {e.name: e for e in experiments})]
    # steel-slp: no book time (quick); office31-mlp-10: 21 s; gan-gogh: 40 s; the MLP: 312 s
    assert order == ["steel-slp", "steel-slp@seed7", "office31-mlp-10", "office31-mlp-10@seed7", "gan-gogh",
                     "gan-gogh@seed7", "office31-mlp-64-32-10", "office31-mlp-64-32-10@seed7"]
    assert {t.row for t in tasks} == {e.name for e in experiments}


def test_compare_scalars_heads_and_parameter_counts():
    rows = compare({"accuracy": 0.95, "precision": 0.5, "loss": 0.1}, {"accuracy": 0.976, "precision": 0.6,
                                                                       "train_seconds": 3})
    assert [c.key for c in rows] == ["accuracy", "precision"]
    assert rows[0].diff == pytest.approx(-0.026) and rows[0].within
    assert rows[1].within is False
    heads = compare({"accuracy": [0.9, 0.5]}, {"accuracy": [0.896, 0.541]})[0]
    assert heads.diff == pytest.approx([0.004, -0.041]) and heads.within is False
    assert compare({"accuracy": 0.9}, {"accuracy": [0.9, 0.1]})[0].within is None
    assert compare({"accuracy": 0.91}, {"accuracy": 0.88})[0].within  # exactly 0.03 counts as within
    count = compare({"parameters": 173637}, {"parameters": 173637})[0]
    assert count.exact and count.within and count.diff == 0
    assert compare({"parameters": 173638}, {"parameters": 173637})[0].within is False
    assert compare({}, {}) == []


def test_book_times_and_data_kinds():
    assert book_seconds_low(21) == 21.0 and book_seconds_low("129–301") == 129.0
    assert book_seconds_low("525-607") == 525.0 and book_seconds_low(None) is None
    assert book_seconds_low("—") is None
    assert data_kind({"dataset": "pulsar(binary, 1+2+3)", "data_source": "pulsar_stars.csv"}) == "real"
    assert data_kind({"dataset": "office31-standin(multi-select)", "data_source": "stand-in built"}) == "stand-in"
    assert data_kind({"dataset": "fsdd-standin-for-urban-sound()", "data_source": "stand-in: no"}) == "stand-in"
    assert data_kind({"dataset": "mnist", "data_source": "MNIST from x: only the t10k files are here"}) == "subset"
    assert data_kind({"dataset": "gan-mnist-68", "data_source": "MNIST t10k file m/t10k.gz (10000 digits)"}) == "subset"
    assert data_kind({"dataset": "automata", "data_source": "generated: expression grammar"}) == "generated"
    assert data_kind({"dataset": "dummy", "data_source": "no data: shapes only"}) == "none"
    assert data_kind(None, "office31-or-standin") == "stand-in or real"


def _run_folder(root: Path, name: str, metrics: dict, *, status="done", message="", epochs=None, seconds=1.5,
                source="real file", dataset=None, picture=True, history=None, seed=None, folder=None) -> None:
    exp = find_experiment(name)
    folder = root / "runs" / (folder or name)
    folder.mkdir(parents=True)
    pictures = {}
    if picture:
        Image.new("RGB", (640, 480), (200, 30, 30)).save(folder / "training.png")
        pictures["training"] = "training.png"
    if status == "done":
        (folder / "result.json").write_text(json.dumps({
            "experiment": name, "metrics": metrics, "book": exp.book, "dataset": dataset or exp.dataset_name,
            "data_source": source, "epochs": epochs or exp.train["epochs"], "max_batches": None,
            "train_seconds": seconds, "pictures": pictures, "history": history or {},
            "seed": seed or 1234, "fingerprint": expected_fingerprint(exp, epochs, None, seed)}))
    (folder / "task.json").write_text(json.dumps({"status": status, "message": message, "kind": "run"}))


def test_report_rows_summary_and_self_contained_html(tmp_path):
    _run_folder(tmp_path, "pulsar-slp", {"accuracy": 0.970})  # book 0.976: within
    _run_folder(tmp_path, "steel-slp", {"accuracy": 0.300})  # book 0.455: outside
    _run_folder(tmp_path, "pulsar-ch5", {"accuracy": 0.972}, seconds=1.0)  # book 2 s: faster
    _run_folder(tmp_path, "pulsar-select-ch5", {"accuracy": 0.969}, seconds=9.0, picture=False)  # book 3 s: slower
    _run_folder(tmp_path, "steel-ch5", {}, status="failed", message="steel: faults.csv not found")
    names = ["pulsar-slp", "steel-slp", "pulsar-ch5", "pulsar-select-ch5", "steel-ch5", "abalone-ch5"]
    rows = [read_row(find_experiment(n), tmp_path / "runs" / n) for n in names]
    summary = Summary.of(rows)
    assert (summary.compared, summary.within, summary.timed, summary.faster) == (4, 3, 2, 1)
    assert (summary.failed, summary.not_run, summary.rows) == (1, 1, 6)
    md, page = write_report(rows, tmp_path, ["session line"])
    text, html = md.read_text(), page.read_text()
    assert "rows within ±0.03 of the book: 3 / 4" in text and "rows faster than the book: 1 / 2" in text
    assert "**steel-ch5** failed: steel: faults.csv not found" in text
    assert "| pulsar-slp | real | book's | 0.970 | 0.976 | -0.006 | yes |" in text
    assert "| steel-slp | real | book's | 0.300 | 0.455 | -0.155 | no |" in text
    assert "[runs/pulsar-slp](runs/pulsar-slp/)" in text and "thumbs/pulsar-slp.png" in text
    assert "| abalone-ch5 | — | — | not run |" in text
    assert html.count("data:image/png;base64,") == 3 and "http" not in html  # rows run with a picture
    assert 'href="runs/steel-slp/"' in html and "faults.csv not found" in html
    with Image.open(tmp_path / "thumbs" / "pulsar-slp.png") as thumb:
        assert thumb.size == (200, 150)


def test_document_covers_every_experiment_and_explains_outside_rows(tmp_path, capsys):
    out = tmp_path / "repro"
    _run_folder(out, "pulsar-slp", {"accuracy": 0.970})
    _run_folder(out, "steel-slp", {"accuracy": 0.300},
                history={"validate_accuracy": [0.1, 0.45, 0.31, 0.28, 0.40, 0.35]})
    _run_folder(out, "steel-slp", {"accuracy": 0.470}, seed=7, folder="steel-slp@seed7")
    _run_folder(out, "steel-slp", {"accuracy": 0.9}, seed=8, epochs=3, folder="steel-slp@seed8")  # other settings
    _run_folder(out, "office31-mlp-10", {"accuracy": [0.5, 0.4]}, dataset="office31-standin(multi-select)",
                source="stand-in built from the flower photos; more")
    _run_folder(out, "steel-mlp-10", {"accuracy": 0.1})
    _run_folder(out, "gan-gogh", {"accuracy": [0.5, 1.0], "parameters": 397505},
                history={"validate_accuracy": [[0.2, 1.0], [0.9, 0.1], [0.5, 0.6], [0.6, 0.5], [0.5, 0.5]]})
    doc = tmp_path / "docs" / "reproduction.md"
    notes = doc.with_name("reproduction-notes.yaml")
    doc.parent.mkdir()
    notes.write_text("not_run: the time budget ran out\nrows:\n  steel-slp:\n    runs: '0000abcd'\n"
                     "    note: \"the book's single run, ours {over_seeds}\"\n")
    path, missing = write_document(out, doc, printer=print)
    text = path.read_text()
    assert missing == len(list_experiments()) - 5
    line = next(row for row in text.splitlines() if row.startswith("| gan-gogh |"))
    assert "moved over 0.200–0.900 / 0.100–1.000 in the last 5 epochs" in line
    for exp in list_experiments():
        assert f"| {exp.name} |" in text
    assert "Not run in this session" in text and "the time budget ran out" in text
    line = next(row for row in text.splitlines() if row.startswith("| steel-slp |"))
    assert "our accuracy on the validation sample moved over 0.280–0.450 in the last 5 epochs" in line
    assert "seed spread of accuracy: ours over 2 seeds is 0.300–0.470, the book's 0.455 lies inside it" in line
    assert "the book's single run, ours 0.300–0.470 over 2 seeds" in line  # our figures filled from the runs
    line = next(row for row in text.splitlines() if row.startswith("| office31-mlp-10 |"))
    assert "data differs (stand-in): stand-in built from the flower photos" in line
    assert "*unexplained*" in next(row for row in text.splitlines() if row.startswith("| steel-mlp-10 |"))
    assert "steel-mlp-10" in capsys.readouterr().out  # listed for the notes file


SMALL_DUMMY = """\
name: tiny-dummy
chapter: 9
dataset: {name: dummy, input_shape: [8, 8, 3], classes: 5}
model:
  layers: [[conv, {ksize: 3, chn: 4}], [max, {stride: 2}]]
book: {parameters: 1399}
"""


def test_count_task_records_the_parameter_count(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SMALL_DUMMY)
    record = count_parameters(spec, tmp_path / "run", printer=lambda *_: None)
    # conv 3·3·3·4 + 4 = 112; 4·4·4 = 64 features → full 5: 64·5 + 5 = 325
    assert record["parameters"] == 112 + 325 == record["metrics"]["parameters"]
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["fingerprint"]["digest"] == expected_fingerprint(load_experiment_file(spec))["digest"]
    row = read_row(load_experiment_file(spec), tmp_path / "run")
    assert row.settings == "build only" and row.within is False  # 437 against the book's 1399
    assert row.comparisons[0].diff == 437 - 1399


def test_progress_counts_and_time_left():
    now = [0.0]
    lines = []
    progress = Progress(4, 2, lines.append, clock=lambda: now[0])
    assert "time left: after the first task" in progress.status_line()
    progress.started("a")
    progress.started("b")
    now[0] = 10.0
    progress.finished_task("a", {"status": "done", "seconds": 10.0, "result": {"metrics": {"accuracy": 0.5},
                                                                               "book": {"accuracy": 0.6}}})
    assert "done     a in 10 s: accuracy 0.500 (book 0.600)" in lines
    # b has run 10 s of its expected 10; two tasks wait at 10 s each; two slots
    assert progress.seconds_left() == pytest.approx(10.0)
    progress.finished_task("b", {"status": "failed", "seconds": 10.0, "message": "boom"})
    assert "FAILED   b in 10 s: failed: boom" in lines
    assert "[2/4] 1 done, 0 running, 1 failed, 2 waiting" in lines[-1]
    assert format_duration(125) == "2 min 5 s" and format_duration(4000) == "1 h 6 min"


def test_last_message_prefers_the_error_line():
    assert last_message("a\nalzza: error: steel: no file\nmore\n") == "steel: no file"
    assert last_message("one\ntwo\n\n") == "two"
    assert last_message("") == ""
