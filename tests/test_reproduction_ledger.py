"""docs/reproduction.json: the committed results behind docs/reproduction.md.

The document is generated from the ledger (so the two cannot disagree), every shipped
experiment's settings must be those of its recorded run unless the row is marked stale
(then ``alzza reproduce --check`` lists it), and the README's figures are the ledger's.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from alzza.cli import main
from alzza.errors import AlzzaError
from alzza.experiments import find_experiment, list_experiments
from alzza.experiments.fingerprint import settings_fingerprint, settings_fingerprint_of
from alzza.reproduce.ledger import (check_ledger, check_lines, ledger_rows, read_ledger, row_of, staleness,
                                    write_document_from_ledger, write_ledger)
from alzza.reproduce.notes import note_text, read_notes, runs_fingerprint, stale_notes
from alzza.reproduce.verify import compare_runs
from alzza.reproduce.rows import VARIANT

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "docs" / "reproduction.json"
DOC = ROOT / "docs" / "reproduction.md"


@pytest.fixture(scope="module")
def ledger() -> dict:
    return read_ledger(LEDGER)


def test_every_shipped_row_has_a_run_with_its_settings_or_is_marked_stale(ledger):
    for exp in list_experiments():
        record = ledger["rows"].get(exp.name)
        assert record, f"{exp.name}: no run in {LEDGER.name}"
        if record["runs"][0]["settings"] != settings_fingerprint_of(exp):
            assert record.get("stale"), (f"{exp.name}: its settings changed since its recorded run; rerun it "
                                         f"(alzza reproduce {exp.name} --record docs/reproduction.json) or say "
                                         f"why it is stale in the ledger's 'stale'")


def test_a_stale_mark_is_only_where_the_settings_changed(ledger):
    for name, record in ledger["rows"].items():
        if record.get("stale"):
            assert record["runs"][0]["settings"] != settings_fingerprint_of(find_experiment(name)), name


def test_the_document_is_the_ledger_rendered(tmp_path):
    out = tmp_path / "reproduction.md"
    (tmp_path / "reproduction-notes.yaml").write_bytes((DOC.parent / "reproduction-notes.yaml").read_bytes())
    write_document_from_ledger(LEDGER, out, printer=lambda *a: None)
    text = out.read_text(encoding="utf-8").replace(out.as_posix(), "docs/reproduction.md")
    shipped = DOC.read_text(encoding="utf-8")
    # the command line names the paths it was given; everything else is the ledger's
    text = text.replace(f"--ledger {LEDGER.as_posix()}", "--ledger docs/reproduction.json")
    shipped = re.sub(r"--ledger \S+`", "--ledger docs/reproduction.json`", shipped)
    assert text == shipped, "docs/reproduction.md is not docs/reproduction.json rendered: regenerate it with " \
                            "alzza reproduce --markdown-doc docs/reproduction.md --ledger docs/reproduction.json"


def test_check_lists_changed_settings_and_stale_rows(tmp_path, ledger, capsys):
    changed = copy.deepcopy(ledger)
    for record in changed["rows"].values():
        record.pop("stale", None)
        record["runs"][0]["settings"] = settings_fingerprint_of(find_experiment(next(iter(changed["rows"]))))
    name = "abalone-slp"
    exp = find_experiment(name)
    for other in list_experiments():  # every row current but one
        changed["rows"][other.name]["runs"][0]["settings"] = settings_fingerprint_of(other)
    changed["rows"][name]["runs"][0]["settings"] = "0" * 16
    path = write_ledger(tmp_path / "l.json", changed)
    assert main(["reproduce", "--check", "--ledger", str(path)]) == 1
    out = capsys.readouterr().out
    assert "not marked stale (1): abalone-slp" in out
    changed["rows"][name]["stale"] = "the split changed"
    write_ledger(path, changed)
    assert main(["reproduce", "--check", "--ledger", str(path)]) == 1
    assert "abalone-slp: the split changed" in capsys.readouterr().out
    changed["rows"][name]["runs"][0]["settings"] = settings_fingerprint_of(exp)
    del changed["rows"][name]["stale"]
    write_ledger(path, changed)
    assert main(["reproduce", "--check", "--ledger", str(path)]) == 0
    assert "every row's settings are those of its recorded run" in capsys.readouterr().out


def test_settings_fingerprint_ignores_words_and_the_report_interval():
    base = {"name": "x", "title": "a", "dataset": "steel", "model": {"layers": []},
            "train": {"epochs": 10, "report": 2}, "book": {"accuracy": 0.4}}
    same = {**base, "title": "b", "notes": "n", "train": {"epochs": 10, "report": 5}, "book": {"accuracy": 0.5}}
    assert settings_fingerprint(base) == settings_fingerprint(same)
    assert settings_fingerprint(base) != settings_fingerprint({**base, "train": {"epochs": 11, "report": 2}})
    assert settings_fingerprint(base) != settings_fingerprint({**base, "dataset": {"name": "steel", "split": "80/20"}})


@pytest.mark.parametrize("damage", [
    lambda d: d.update(format="other"),
    lambda d: d["rows"]["abalone-slp"]["runs"][0].update(seed=-1),
    lambda d: d["rows"]["abalone-slp"]["runs"][0].update(settings="xyz"),
    lambda d: d["rows"]["abalone-slp"]["runs"][0]["metrics"].update(accuracy=float("nan")),
    lambda d: d["rows"]["abalone-slp"]["runs"][0].update(commit="not a commit"),
    lambda d: d["rows"]["abalone-slp"].update(runs=[]),
    lambda d: d["rows"]["abalone-slp"].update(stale=5),
])
def test_a_damaged_ledger_is_refused_by_field(ledger, damage):
    data = copy.deepcopy(ledger)
    damage(data)
    with pytest.raises(AlzzaError, match="reproduction|rows|format"):
        check_ledger(data)


def test_a_ledger_that_is_not_json_is_one_error(tmp_path):
    path = tmp_path / "l.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(AlzzaError, match="JSON"):
        read_ledger(path)


def test_variants_are_never_labelled_the_books_settings(ledger):
    rows = {row.name: row for row in ledger_rows(ledger)}
    for exp in list_experiments():
        row = rows[exp.name]
        if exp.variant:
            assert row.settings != "book's", exp.name
        if row.settings == "book's":
            assert not exp.variant and row.result["epochs"] == exp.train["epochs"], exp.name
    assert rows["steel-mlp-12-6-4-layernorm"].settings == VARIANT


def test_seed_range_verdict(ledger):
    rows = {row.name: row for row in ledger_rows(ledger)}
    for row in rows.values():
        verdict = row.in_seed_range
        spread = row.seed_range("accuracy")
        if verdict is None or spread is None or isinstance(spread[0], list):
            continue
        book = next(c.book for c in row.comparisons if c.key == "accuracy")
        if len(row.comparisons) == 1:
            assert verdict == (spread[0] - 0.03 - 1e-9 <= book <= spread[1] + 0.03 + 1e-9), row.name


def test_check_lines_reports_nothing_stale_when_all_current():
    lines, status = check_lines({"settings": [], "code": ["a"], "missing": []})
    assert status == 0 and "every row's settings" in lines[0]


def test_readme_figures_are_the_ledgers(ledger):
    """The README's main-command line and its parameter counts come from docs/reproduction.json."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    main_run = re.search(r"^alzza run ([\w.-]+)", text, re.M).group(1)
    book, ours = re.search(r"the book\s+reaches ([\d.]+); ours ([\d.]+)\b", text).groups()
    run = ledger["rows"][main_run]["runs"][0]
    assert f"{run['metrics']['accuracy']:.3f}" == ours, "README's main-command figure is not the ledger's"
    assert float(book) == find_experiment(main_run).book["accuracy"]
    counts = re.findall(r"alzza summary ([\w.-]+)\s+#\s*([\d,]+) parameters", text)
    assert counts
    for name, count in counts:
        assert ledger["rows"][name]["runs"][0]["metrics"]["parameters"] == int(count.replace(",", "")), name


def test_record_runs_replaces_a_rows_record(tmp_path, ledger):
    from alzza.reproduce.ledger import record_runs

    runs = tmp_path / "out" / "runs" / "abalone-slp"
    runs.mkdir(parents=True)
    (runs / "result.json").write_text(json.dumps({
        "seed": 1234, "metrics": {"accuracy": 0.81234567}, "train_seconds": 0.5, "epochs": 10,
        "fingerprint": {"code": "ab" * 8}, "data_source": "UCI abalone",
        "history": {"validate_accuracy": [0.8, 0.81, 0.79, 0.8, 0.82]}}), encoding="utf-8")
    (runs / "task.json").write_text(json.dumps({"status": "done"}), encoding="utf-8")
    data = copy.deepcopy(ledger)
    data["rows"]["abalone-slp"]["stale"] = "x"
    assert record_runs(data, tmp_path / "out", "a" * 40, names={"abalone-slp"}) == ["abalone-slp"]
    record = data["rows"]["abalone-slp"]
    assert "stale" not in record and record["runs"][0]["metrics"]["accuracy"] == 0.8123
    assert record["runs"][0]["settings"] == settings_fingerprint_of(find_experiment("abalone-slp"))
    assert record["runs"][0]["validate_tail"] == [0.79, 0.82, 5]
    check_ledger(data)
    assert staleness(data)["settings"] == [(n, r) for n, r in staleness(ledger)["settings"] if n != "abalone-slp"]


def test_readme_beyond_the_book_figures_are_the_ledgers(ledger):
    """Each row of README's "Beyond the book" results table states its seed-1234 figure as recorded."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Beyond the book", 1)[1].split("\n## ", 1)[0]
    checked = 0
    for name, cell in re.findall(r"^\| `([\w-]+)`[^|]*\| (.*) \|$", section, re.M):
        if name not in ledger["rows"]:
            continue                                    # the table of layers
        metrics = ledger["rows"][name]["runs"][0]["metrics"]
        accuracy = metrics["accuracy"]
        whole = accuracy[-1] if isinstance(accuracy, list) else accuracy
        stated = re.search(r"accuracy (?:of whole readings )?([\d.]+)", cell)
        perplexity = re.search(r"e\^([\d.]+)", cell)
        assert stated or perplexity, f"README's row {name} states no figure"
        if stated:
            assert stated.group(1) == f"{whole:.3f}", name
        if perplexity:
            assert perplexity.group(1) == f"{metrics['loss']:.3f}", name
        checked += 1
    assert checked >= 5


def test_readme_ko_beyond_the_book_figures_are_the_ledgers(ledger):
    """README.ko.md's table of the beyond-the-book rows states the same seed-1234 figures."""
    text = (ROOT / "README.ko.md").read_text(encoding="utf-8")
    checked = 0
    for name, cell in re.findall(r"^\| `([\w-]+)`[^|]*\| (.*) \|$", text, re.M):
        if name not in ledger["rows"]:
            continue
        accuracy = ledger["rows"][name]["runs"][0]["metrics"]["accuracy"]
        whole = accuracy[-1] if isinstance(accuracy, list) else accuracy
        stated = re.search(r"(?:정확도|그리디) ([\d.]+)", cell)
        if stated:
            assert stated.group(1) == f"{whole:.3f}", name
            checked += 1
    assert checked >= 3


# ---- the notes beside the document ----------------------------------------------------------------

NOTES = DOC.with_name("reproduction-notes.yaml")


def test_every_shipped_note_was_checked_against_its_rows_runs(ledger):
    """A note goes stale when its row is rerun: --check lists it until someone reads it again."""
    notes = read_notes(DOC)
    assert notes["rows"], "the notes file is empty"
    assert stale_notes(ledger_rows(ledger), notes) == [], \
        "notes written for other runs: check them, then set runs: to what 'alzza reproduce --check' prints"


def test_a_note_quotes_our_figures_only_through_placeholders(ledger):
    """Every figure of ours in a note is filled from the ledger: a number the note writes out
    must be none of its row's own figures (those go stale silently)."""
    rows = {row.name: row for row in ledger_rows(ledger)}
    for name, entry in read_notes(DOC)["rows"].items():
        ours = {f"{v:.3f}" for _, metrics in rows[name].seed_metrics for v in _flat(metrics.get("accuracy"))}
        written = set(re.findall(r"\d\.\d{3}", entry["note"]))
        assert not written & ours, f"note of {name} writes out our figures {written & ours}: use a placeholder"


def _flat(value):
    return [] if value is None else value if isinstance(value, list) else [value]


def test_check_lists_a_note_written_for_other_runs(tmp_path, ledger, capsys):
    shutil.copy(LEDGER, tmp_path / "reproduction.json")
    text = NOTES.read_text(encoding="utf-8")
    name = next(iter(read_notes(DOC)["rows"]))
    row = next(r for r in ledger_rows(ledger) if r.name == name)
    fingerprint = runs_fingerprint(row)
    (tmp_path / "reproduction-notes.yaml").write_text(text.replace(f"'{fingerprint}'", "'0badf00d'", 1),
                                                      encoding="utf-8")
    assert main(["reproduce", "--check", "--ledger", str(tmp_path / "reproduction.json")]) == 1
    assert f"{name}: note runs 0badf00d, row runs {fingerprint}" in capsys.readouterr().out
    changed = copy.deepcopy(ledger)  # a rerun that moves one figure changes the row's fingerprint
    changed["rows"][name]["runs"][0]["metrics"]["accuracy"] = 0.5
    assert runs_fingerprint(row_of(find_experiment(name), changed["rows"][name])) != fingerprint


def test_a_note_fills_its_placeholders_from_the_row(ledger):
    row = next(r for r in ledger_rows(ledger) if r.name == "steel-slp")
    seeds = {seed: metrics["accuracy"] for seed, metrics in row.seed_metrics}
    text = note_text(row, {"runs": "00000000", "note": "ours {ours}; {over_seeds}; seed 1 {seed:1}"})
    assert text == (f"ours {seeds[1234]:.3f}; {min(seeds.values()):.3f}–{max(seeds.values()):.3f} over 3 seeds; "
                    f"seed 1 {seeds[1]:.3f}")
    with pytest.raises(AlzzaError, match="no run at seed 99"):
        note_text(row, {"runs": "00000000", "note": "{seed:99}"})


@pytest.mark.parametrize("text, complaint", [
    ("rows: [a, b]\n", "rows must be a mapping"),
    ("rows:\n  steel-slp: just a line\n", "exactly runs: FINGERPRINT"),
    ("rows:\n  steel-slp: {runs: 12, note: x}\n", "must be 8 hex digits"),
    ("rows:\n  steel-slp: {runs: 'abcdefgh', note: x}\n", "must be 8 hex digits"),
    ("rows:\n  steel-slp: {runs: '0000abcd', note: ''}\n", "note: must be text"),
    ("rows:\n  steel-slp: {runs: '0000abcd', note: x, extra: 1}\n", "exactly runs"),
    ("surprise: 1\n", "must be a mapping with not_run"),
    ("rows: {a: [\n", "not valid YAML"),
])
def test_a_damaged_notes_file_is_one_clear_error(tmp_path, text, complaint):
    (tmp_path / "reproduction-notes.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(AlzzaError, match=re.escape(complaint)):
        read_notes(tmp_path / "reproduction.md")


# ---- rerunning rows against the ledger (--compare) --------------------------------------------------

def _finished_run(root: Path, name: str, seed: int, metrics: dict, epochs: int | None = None) -> None:
    exp = find_experiment(name)
    folder = root / "runs" / (name if seed == exp.seed or (exp.seed is None and seed == 1234) else f"{name}@seed{seed}")
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({
        "experiment": name, "metrics": metrics, "seed": seed, "epochs": epochs or exp.train["epochs"],
        "max_batches": None, "data_source": "real file", "history": {}}))
    (folder / "task.json").write_text(json.dumps({"status": "done", "kind": "run"}))


def test_compare_sorts_reruns_into_same_moved_other_settings_and_unrecorded(tmp_path, ledger, capsys):
    runs = {run["seed"]: run["metrics"] for run in ledger["rows"]["steel-slp"]["runs"]}
    _finished_run(tmp_path, "steel-slp", 1234, dict(runs[1234]))
    _finished_run(tmp_path, "steel-slp", 1, {**runs[1], "accuracy": runs[1]["accuracy"] + 0.01})
    _finished_run(tmp_path, "steel-slp", 2, dict(runs[2]), epochs=1)  # a smoke run says nothing
    _finished_run(tmp_path, "steel-slp", 99, dict(runs[2]))
    found = compare_runs(ledger, tmp_path)
    assert found.same == ["steel-slp@1234"]
    assert found.different == [("steel-slp@1", {"accuracy": (runs[1]["accuracy"],
                                                              round(runs[1]["accuracy"] + 0.01, 4))})]
    assert found.other_settings == ["steel-slp@2"] and found.not_recorded == ["steel-slp@99"]
    assert found.status == 1
    assert main(["reproduce", "steel-slp", "--report-only", "--out", str(tmp_path), "--compare", str(LEDGER)]) == 1
    out = capsys.readouterr().out
    assert "1 of 2 runs give the recorded figures exactly" in out and "different: steel-slp@1: accuracy" in out


def test_the_paper_guide_quotes_the_ledger(ledger):
    """docs/implementing-a-paper.md's table of the GRU and layer-norm rows states their recorded figures."""
    text = (ROOT / "docs" / "implementing-a-paper.md").read_text(encoding="utf-8")
    checked = 0
    for name, accuracy, seconds, varied, ours in re.findall(
            r"^\| ([\w.-]+) \| ([\d.]+)[^|]*\| ([\d.]+) s \| ([\w.-]+): book [\d.]+, ours ([\d.]+)", text, re.M):
        run, other = ledger["rows"][name]["runs"][0], ledger["rows"][varied]["runs"][0]
        assert accuracy == f"{run['metrics']['accuracy']:.3f}", name
        assert seconds == f"{run['seconds']:.1f}", name
        assert ours == f"{other['metrics']['accuracy']:.3f}", varied
        checked += 1
    assert checked == 2
