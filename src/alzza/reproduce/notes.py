"""docs/reproduction-notes.yaml: the explanations a person writes, tied to the runs they explain.

A note explains a row that a run cannot explain by itself. It goes stale the moment the row
is rerun: a figure it quotes, or its whole reasoning, may no longer hold. So every note
names the runs it was written against, and quotes our figures only through placeholders
that the document fills from the ledger::

    not_run: why rows have no run (a sentence)
    rows:
      steel-slp:
        runs: 3f9a0c12          # runs_fingerprint of the row when the note was checked
        note: >-
          ours stays below the book's 0.455 at every seed ({over_seeds}); ...

Placeholders: ``{ours}`` (the row's figure at the experiment's seed), ``{over_seeds}`` (the
range over seeds), ``{seed:N}`` (the row's figure at seed N). The book's figures are written
out: they never change. ``alzza reproduce --check`` lists every note whose row was rerun
since (its ``runs`` differs from the row's), with the fingerprint to write after checking it.

The file is hostile input like the ledger: a mapping, each field checked, one clear error.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import yaml

from ..errors import AlzzaError

NOTES_SUFFIX = "-notes.yaml"
MAX_BYTES = 1_000_000
MAX_NOTE = 1500
PLACEHOLDER = re.compile(r"\{(ours|over_seeds|seed:(\d+))\}")
_FINGERPRINT = re.compile(r"[0-9a-f]{8}")


def notes_path(doc_path) -> Path:
    doc_path = Path(doc_path)
    return doc_path.with_name(doc_path.stem + NOTES_SUFFIX)


def read_notes(doc_path) -> dict:
    """The notes beside ``doc_path`` ({} when there are none), checked field by field:
    ``{"not_run": str, "rows": {name: {"runs": 8 hex, "note": str}}}``."""
    path = notes_path(doc_path)
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_BYTES:
        raise AlzzaError(f"{path}: larger than {MAX_BYTES:,} bytes; is it the notes file?")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise AlzzaError(f"{path}: not valid YAML ({error}); it holds not_run: TEXT and rows: "
                         "{NAME: {runs: FINGERPRINT, note: TEXT}}") from None
    return check_notes(data, str(path))


def check_notes(data, where: str) -> dict:
    if not isinstance(data, dict) or not set(data) <= {"not_run", "rows"}:
        raise AlzzaError(f"{where}: must be a mapping with not_run: TEXT and rows: {{NAME: {{runs, note}}}}")
    if "not_run" in data and not isinstance(data["not_run"], str):
        raise AlzzaError(f"{where}: not_run must be text")
    rows = data.get("rows") or {}
    if not isinstance(rows, dict):
        raise AlzzaError(f"{where}: rows must be a mapping of row name → {{runs, note}}")
    for name, entry in rows.items():
        at = f"{where}: rows.{name}"
        if not isinstance(entry, dict) or set(entry) != {"runs", "note"}:
            raise AlzzaError(f"{at}: must be a mapping with exactly runs: FINGERPRINT (what "
                             "'alzza reproduce --check' prints for the row) and note: TEXT")
        if not isinstance(entry["runs"], str) or not _FINGERPRINT.fullmatch(entry["runs"]):
            raise AlzzaError(f"{at}.runs: must be 8 hex digits (the row's runs fingerprint), got {entry['runs']!r}")
        if not isinstance(entry["note"], str) or not 0 < len(entry["note"]) <= MAX_NOTE:
            raise AlzzaError(f"{at}.note: must be text of 1 to {MAX_NOTE} characters")
    return {"not_run": data.get("not_run"), "rows": rows}


def runs_fingerprint(row) -> str:
    """8 hex digits naming what a row's runs measured (seeds and figures, in order): any rerun
    that changes a figure changes it."""
    measured = {"runs": [[seed, metrics] for seed, metrics in row.seed_metrics],
                "spreads": {k: list(v) for k, v in sorted(row.seed_spreads.items())}}
    text = json.dumps(measured, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def note_text(row, entry: dict) -> str:
    """The note with our figures filled in from the row; a placeholder the row cannot fill is
    one clear error (a seed it was not run at, say)."""
    from .rows import _value, ours_text, range_text

    def fill(match) -> str:
        if match[1] == "ours":
            return ours_text(row)
        if match[1] == "over_seeds":
            spread = row.seed_range()
            if spread is None:
                raise AlzzaError(f"note of {row.name}: {{over_seeds}} but the row has fewer than two seeds")
            return f"{range_text(spread)} over {row.seed_count()} seeds"
        seed = int(match[2])
        for run_seed, metrics in row.seed_metrics:
            if run_seed == seed and metrics.get("accuracy") is not None:
                return _value(metrics["accuracy"])
        raise AlzzaError(f"note of {row.name}: {{seed:{seed}}} but the row has no run at seed {seed}")

    return PLACEHOLDER.sub(fill, entry["note"])


def stale_notes(rows, notes: dict) -> list[tuple[str, str, str]]:
    """(name, the note's runs, the row's runs now) for every note written against other runs
    than its row's, and (name, runs, "no such row") for a note whose row is gone."""
    by_name = {row.name: row for row in rows}
    found = []
    for name, entry in (notes.get("rows") or {}).items():
        row = by_name.get(name)
        if row is None or row.status != "done":
            found.append((name, entry["runs"], "no such row" if row is None else "not run"))
        elif (now := runs_fingerprint(row)) != entry["runs"]:
            found.append((name, entry["runs"], now))
    return found
