"""docs/reproduction.json: the results behind docs/reproduction.md, committed beside it.

The run folders of a reproduction are not in the repository; this file keeps, per row
(one shipped experiment) and per seed, what the document needs and what makes a figure
checkable later::

    {"format": "alzza-reproduction/1",
     "sessions": ["2026-12-01T12:42:57+00:00: alzza 0.1.0 (code …, commit …) …", …],
     "rows": {"abalone-slp": {
         "runs": [{"seed": 1234, "metrics": {"accuracy": 0.8}, "settings": "<16 hex>",
                   "code": "<16 hex>" or "unknown", "commit": "<40 hex>", "seconds": 0.1,
                   "epochs": 10, "max_batches": null, "data": "real", "data_source": "…",
                   "validate_tail": [0.79, 0.81, 5], "device": "cpu"}],
         "seed_spreads": {"accuracy": [0.800, 0.815, 3]},
         "stale": "why the shipped settings differ from the run's (not rerun yet)"}}}

- ``settings`` is :func:`~alzza.reproduce.fingerprint.settings_fingerprint` of the
  experiment file the run used; ``code`` the package hash of the code that ran it
  (``unknown`` when it was not recorded); ``commit`` the git commit it ran at; ``device``
  the device that made it (cpu, cuda, standin: a GPU draws other random streams, so its
  figures differ). Runs recorded before devices have no ``device``: they ran on the CPU.
- The first run of a row is the one at the experiment's own seed (the row's figure);
  further runs are other seeds. ``seed_spreads`` (optional) keeps a range over seeds whose
  single runs were not recorded: rows imported from a document that gave only the range.
- ``stale`` (optional) marks a row whose shipped settings changed after its run and that
  was not rerun: ``alzza reproduce --check`` lists it, and the document shows it.

The file is hostile input like any other: bounded in size, checked field by field.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ..saving.atomic import write_text_atomic
from ..errors import AlzzaError
from ..device import DEVICES
from ..experiments.fingerprint import code_hash, settings_fingerprint_of
from .document import (INTRO, NOTES_SUFFIX, explanation, read_notes, render_document, validation_spread,
                       write_text_atomic as _write_doc)
from .notes import stale_notes
from .rows import BAND, NOT_RUN, NOT_STARTED, Row, compare, data_kind, settings_label

FORMAT = "alzza-reproduction/1"
MAX_BYTES = 4_000_000
DATA_KINDS = ("real", "stand-in", "subset", "generated", "none", "—")
UNKNOWN = "unknown"
_HEX = re.compile(r"[0-9a-f]{7,40}")


def _problem(where: str, what: str) -> AlzzaError:
    return AlzzaError(f"{where}: {what}")


def _number(value, where: str, allow_list: bool = True):
    if isinstance(value, bool) or value is None:
        raise _problem(where, f"must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise _problem(where, f"must be finite, got {value!r}")
        return value
    if allow_list and isinstance(value, list) and 0 < len(value) <= 16:
        return [_number(v, where, allow_list=False) for v in value]
    raise _problem(where, f"must be a number or a list of up to 16 numbers, got {value!r}")


def _text(value, where: str, limit: int = 2000) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _problem(where, f"must be text of at most {limit} characters")
    return value


def _check_run(run, where: str) -> dict:
    if not isinstance(run, dict):
        raise _problem(where, "must be a mapping")
    seed = run.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _problem(f"{where}.seed", f"must be an integer >= 0, got {seed!r}")
    metrics = run.get("metrics")
    if not isinstance(metrics, dict) or len(metrics) > 16:
        raise _problem(f"{where}.metrics", "must be a mapping of up to 16 figures")
    for key, value in metrics.items():
        _number(value, f"{where}.metrics.{key}")
    for key in ("settings", "code"):
        value = _text(run.get(key), f"{where}.{key}", 64)
        if value != UNKNOWN and not re.fullmatch(r"[0-9a-f]{16}", value):
            raise _problem(f"{where}.{key}", f"must be 16 hex digits or '{UNKNOWN}', got {value!r}")
    commit = _text(run.get("commit"), f"{where}.commit", 40)
    if not _HEX.fullmatch(commit):
        raise _problem(f"{where}.commit", f"must be a git commit (hex), got {commit!r}")
    if run.get("seconds") is not None:
        _number(run["seconds"], f"{where}.seconds", allow_list=False)
    if run.get("device", "cpu") not in DEVICES:  # no device field: a row from before devices, made on the CPU
        raise _problem(f"{where}.device", f"must be one of {list(DEVICES)}, got {run.get('device')!r}")
    if run.get("data", "real") not in DATA_KINDS:
        raise _problem(f"{where}.data", f"must be one of {list(DATA_KINDS)}, got {run.get('data')!r}")
    tail = run.get("validate_tail")
    if tail is not None and not (isinstance(tail, list) and len(tail) == 3):
        raise _problem(f"{where}.validate_tail", "must be [lowest, highest, epochs]")
    return run


def check_ledger(data, where: str = "reproduction.json") -> dict:
    """``data`` when it is a well-formed ledger, else one clear error naming the field."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _problem(where, f"not a reproduction ledger (its 'format' must be {FORMAT!r})")
    sessions = data.get("sessions", [])
    if not isinstance(sessions, list) or not all(isinstance(s, str) and len(s) < 20_000 for s in sessions):
        raise _problem(f"{where}: sessions", "must be a list of text lines")
    rows = data.get("rows")
    if not isinstance(rows, dict) or len(rows) > 10_000:
        raise _problem(f"{where}: rows", "must be a mapping of row name → record")
    for name, record in rows.items():
        at = f"{where}: rows.{name}"
        if not isinstance(record, dict) or not isinstance(record.get("runs"), list) or not record["runs"]:
            raise _problem(at, "must hold a non-empty list 'runs'")
        for i, run in enumerate(record["runs"]):
            _check_run(run, f"{at}.runs[{i}]")
        for key, spread in (record.get("seed_spreads") or {}).items():
            if not (isinstance(spread, list) and len(spread) == 3):
                raise _problem(f"{at}.seed_spreads.{key}", "must be [lowest, highest, seeds]")
        if "stale" in record:
            _text(record["stale"], f"{at}.stale")
    return data


def read_ledger(path) -> dict:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise _problem(str(path), f"larger than {MAX_BYTES:,} bytes; is it a reproduction ledger?")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlzzaError(f"{path}: no such ledger; 'alzza reproduce ... --record {path}' writes one") from None
    except (OSError, ValueError) as error:
        raise _problem(str(path), f"cannot be read as JSON ({error})") from None
    return check_ledger(data, str(path))


def write_ledger(path, data: dict) -> Path:
    check_ledger(data, str(path))
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    return write_text_atomic(Path(path), text)


# ---- rows of the document --------------------------------------------------------------------------

def row_of(exp, record: dict | None) -> Row:
    """The document's row of experiment ``exp`` from its ledger record (None: not run)."""
    row = Row(name=exp.name, chapter=exp.chapter, title=exp.title, folder=Path("."),
              book_seconds=(exp.book or {}).get("train_seconds"), book_epochs=exp.train.get("epochs"),
              variant=exp.variant or "")
    if not record:
        row.comparisons = compare({}, exp.book or {})
        return row
    first = record["runs"][0]
    result = {"metrics": first["metrics"], "seed": first["seed"], "train_seconds": first.get("seconds"),
              "epochs": first.get("epochs"), "max_batches": first.get("max_batches"),
              "data_source": first.get("data_source", ""), "validate_tail": first.get("validate_tail")}
    row.status, row.result = "done", result
    row.comparisons = compare(dict(first["metrics"]), exp.book or {})
    row.ours_seconds = first.get("seconds")
    kind = "count" if set(first["metrics"]) == {"parameters"} else "run"
    row.settings = settings_label(result, row.book_epochs, kind, row.variant)
    row.seed_metrics = [(run["seed"], run["metrics"]) for run in record["runs"]]
    row.seed_spreads = {key: tuple(value) for key, value in (record.get("seed_spreads") or {}).items()}
    row.data = first.get("data") or data_kind(result, exp.dataset_name)
    if record.get("stale"):
        row.message = str(record["stale"])
    return row


def ledger_rows(ledger: dict) -> list[Row]:
    from ..experiments import list_experiments

    rows = ledger["rows"]
    return [row_of(exp, rows.get(exp.name)) for exp in list_experiments()]


# ---- what changed since a row's run ----------------------------------------------------------------

def staleness(ledger: dict, notes: dict | None = None) -> dict:
    """``{"settings": [(name, marked reason or '')], "code": [names], "missing": [names],
    "notes": [(name, note's runs, row's runs)]}``: the shipped rows whose settings differ from
    their run's, whose run's code differs from this code (or is unknown), that have no run at
    all, and whose note (``notes``, :mod:`~alzza.reproduce.notes`) was written for other runs."""
    from ..experiments import list_experiments

    current_code = code_hash()
    found = {"settings": [], "code": [], "missing": [],
             "notes": stale_notes(ledger_rows(ledger), notes) if notes else []}
    for exp in list_experiments():
        record = ledger["rows"].get(exp.name)
        if not record:
            found["missing"].append(exp.name)
            continue
        first = record["runs"][0]
        if first["settings"] != settings_fingerprint_of(exp):
            found["settings"].append((exp.name, str(record.get("stale") or "")))
        if first["code"] != current_code:
            found["code"].append(exp.name)
    return found


def check_lines(found: dict) -> tuple[list[str], int]:
    """The report of ``alzza reproduce --check`` and its exit status (1 when a row's settings
    changed since its run, marked stale or not, or a row was never run)."""
    lines = []
    marked = [(n, r) for n, r in found["settings"] if r]
    unmarked = [n for n, r in found["settings"] if not r]
    if unmarked:
        lines.append(f"settings changed since the run, not marked stale ({len(unmarked)}): {', '.join(unmarked)}")
    if marked:
        lines.append(f"stale: settings changed since the run, rerun pending ({len(marked)}):")
        lines += [f"  {name}: {reason}" for name, reason in marked]
    if found["missing"]:
        lines.append(f"never run ({len(found['missing'])}): {', '.join(found['missing'])}")
    if found.get("notes"):
        lines.append(f"notes written for other runs than their row's ({len(found['notes'])}): check each "
                     "against the row's figures, then set its runs: to the row's fingerprint")
        lines += [f"  {name}: note runs {was}, row runs {now}" for name, was, now in found["notes"]]
    lines.append(f"run with other code than this checkout's ({len(found['code'])} rows; any edit to the "
                 f"package changes the code hash, so this alone does not make a row stale)")
    status = 1 if found["settings"] or found["missing"] or found.get("notes") else 0
    if not status:
        lines.insert(0, "every row's settings are those of its recorded run, and every note was checked against them")
    return lines, status


# ---- recording new runs ----------------------------------------------------------------------------

def run_record(exp, folder: Path, commit: str) -> dict | None:
    from .rows import _read_json

    task = _read_json(folder / "task.json") or {}
    result = _read_json(folder / "result.json")
    if result is None or task.get("status", "done") != "done":
        return None
    metrics = dict(result.get("metrics") or {})
    if result.get("parameters") is not None:
        metrics.setdefault("parameters", result["parameters"])
    metrics = {k: _rounded(v) for k, v in metrics.items() if v is not None and not isinstance(v, (str, bool, dict))}
    code = (result.get("fingerprint") or {}).get("code") or UNKNOWN
    device = (result.get("fingerprint") or {}).get("device") or "cpu"  # results from before devices: the CPU
    spread = validation_spread(result)
    tail = None
    if spread and not isinstance(spread[0], list):
        tail = [round(spread[0], 4), round(spread[1], 4), spread[2]]
    seconds = result.get("train_seconds")
    return {"seed": int(result.get("seed") or 0), "metrics": metrics, "settings": settings_fingerprint_of(exp),
            "code": code, "commit": commit, "seconds": None if seconds is None else round(float(seconds), 2),
            "epochs": result.get("epochs"), "max_batches": result.get("max_batches"),
            "data": data_kind(result, exp.dataset_name), "data_source": str(result.get("data_source") or "")[:500],
            "validate_tail": tail, "device": device}


def seed_folders(exp, root: Path) -> list[Path]:
    """The run folders of a row in a reproduction's ``runs`` folder: its own seed's first
    (``NAME``), then its other seeds' (``NAME@seedN``)."""
    from .rows import SEED_MARK

    return [root / exp.name, *sorted(root.glob(f"{exp.name}{SEED_MARK}*"))]


def record_runs(ledger: dict, out_dir, commit: str, names=None, session_line: str | None = None) -> list[str]:
    """Put the finished runs of ``out_dir/runs`` (the experiment's own seed first, then its
    ``NAME@seedN`` runs) into ``ledger`` in place of the rows' old records; returns the
    names recorded. A row recorded here is no longer stale."""
    from ..experiments import list_experiments
    from .session import RUNS

    root = Path(out_dir) / RUNS
    recorded = []
    for exp in list_experiments():
        if names is not None and exp.name not in names:
            continue
        own, *others = [run_record(exp, folder, commit) for folder in seed_folders(exp, root)]
        if own is None:
            continue
        runs = [own] + [run for run in others if run is not None and run["code"] == own["code"]]
        ledger["rows"][exp.name] = {"runs": runs}
        recorded.append(exp.name)
    if session_line and recorded:
        ledger.setdefault("sessions", []).append(session_line)
    return recorded


def _rounded(value):
    """Figures kept to 4 decimals (the document shows 3): a compact file."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def write_document_from_ledger(ledger_path, doc_path, printer=print) -> tuple[Path, int]:
    """Write the document from the committed ledger (docs/reproduction.json); returns (path, rows not run)."""
    ledger, doc = read_ledger(ledger_path), Path(doc_path)
    rows = ledger_rows(ledger)
    notes = read_notes(doc)
    command = f"alzza reproduce --markdown-doc {doc.as_posix()} --ledger {Path(ledger_path).as_posix()}"
    intro = INTRO.format(command=command, source=Path(ledger_path).name, band=BAND)
    doc.parent.mkdir(parents=True, exist_ok=True)
    _write_doc(doc, render_document(rows, [], notes, "", intro=intro, session_text=list(ledger["sessions"])))
    unexplained = [r.name for r in rows if r.status == "done" and r.within is False and not r.in_seed_range
                   and explanation(r, notes) == "*unexplained*"]
    if unexplained:
        printer(f"rows outside ±{BAND:g} with no explanation (add them to "
                f"{doc.with_name(doc.stem + NOTES_SUFFIX)}): {', '.join(unexplained)}")
    return doc, sum(r.status in (NOT_RUN, NOT_STARTED) for r in rows)
