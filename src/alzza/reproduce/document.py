"""docs/reproduction.md: the whole table of the book's experiments, from one reproduction.

``alzza reproduce --all --markdown-doc docs/reproduction.md --out DIR`` runs nothing: it
reads the run folders a reproduction left in ``DIR`` and writes one row per shipped
experiment. Every figure in it comes from those runs (their result.json); a row with no
run is listed as not run, with the reason. Where it was made (commit, machine, date,
command) comes from ``DIR/session.json``.

Every row outside ±0.03 gets a one-line explanation with its evidence. Some evidence is
read from the run itself:

- the data differs (a stand-in, or a subset of the book's data: the run's data source);
- the settings differ (the run did not use the book's epochs or whole epochs);
- one run's figure is noisy: our validation accuracy moved over a range wider than the
  band in the last epochs of the same run (its history).

Other explanations are written by a person in the notes file beside the document
(``reproduction-notes.yaml``, see :mod:`alzza.reproduce.notes`: each note names the runs
it was written against and quotes our figures through placeholders), and shown after the
evidence found in the runs. A row outside the band with no explanation
at all is marked *unexplained* and listed on the console.
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from ..errors import AlzzaError
from .table_report import chapter_title, write_text_atomic
from .rows import (BAND, BUILD_ONLY, NOT_RUN, NOT_STARTED, VARIANT, Row, Summary, band_text, book_text, diff_text,
                   ours_text, range_text, read_row, seconds_text, seed_verdict_text, seeds_text)
from .notes import NOTES_SUFFIX, note_text, read_notes  # noqa: F401  (NOTES_SUFFIX, read_notes: read from here too)
from .session import RUNS, read_sessions, session_lines

#: the last epochs whose validation accuracies show how much one run's figure moves
TAIL_EPOCHS = 5
DEFAULT_NOT_RUN = "not run in this session (no run folder in the reproduction's output)"


def validation_spread(result: dict | None):
    """(lowest, highest, epochs) of the validation accuracy over the run's last epochs; per
    head (lists) for a two-head model or a GAN's discriminator / generator pair."""
    if (result or {}).get("validate_tail"):  # recorded as (lowest, highest, epochs)
        low, high, epochs = result["validate_tail"]
        return low, high, int(epochs)
    history = (result or {}).get("history") or {}
    values = [v for v in history.get("validate_accuracy") or [] if v is not None]
    tail = values[-TAIL_EPOCHS:]
    if len(tail) < 2:
        return None
    if all(isinstance(v, (int, float)) for v in tail):
        return min(tail), max(tail), len(tail)
    if all(isinstance(v, (list, tuple)) for v in tail) and len({len(v) for v in tail}) == 1:
        columns = [[c for c in col if isinstance(c, (int, float))] for col in zip(*tail, strict=False)]
        if all(columns):
            return [min(c) for c in columns], [max(c) for c in columns], len(tail)
    return None


def evidence(row: Row) -> list[str]:
    """What the run itself says about a row outside the band."""
    found = []
    result = row.result or {}
    source = str(result.get("data_source") or "")
    if row.data in ("stand-in", "subset"):
        found.append(f"data differs ({row.data}): {source.split('; ')[0]}")
    if row.settings not in ("book's", BUILD_ONLY, VARIANT):
        found.append(f"settings differ: {row.settings}")
    for comparison in row.comparisons:
        spread = row.seed_range(comparison.key)
        if comparison.within is not False or spread is None or comparison.exact:
            continue
        low, high = spread
        lows, highs, books = ((low, high, comparison.book) if isinstance(low, list)
                              else ([low], [high], [comparison.book]))
        inside = all(a - 1e-9 <= b <= c + 1e-9 for a, b, c in zip(lows, books, highs, strict=False))
        wide = any(c - a > 2 * BAND for a, c in zip(lows, highs, strict=False))
        count = row.seed_count(comparison.key)
        found.append(f"seed spread of {comparison.key}: ours over {count} seeds is {range_text(spread)}, the book's "
                     f"{_figure(comparison.book)} lies {'inside' if inside else 'outside'} it"
                     + ("; one run moves more than the whole band" if wide else ""))
    spread = validation_spread(result)
    if spread:
        low, high, epochs = spread
        lows, highs = (low, high) if isinstance(low, list) else ([low], [high])
        if any(b - a > BAND for a, b in zip(lows, highs, strict=False)):
            found.append(f"one run is noisy: our accuracy on the validation sample moved over "
                         f"{range_text((low, high))} in the last {epochs} epochs")
    return found


def _figure(value) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(f"{v:.3f}" for v in value)
    return f"{value:.3f}"


def explanation(row: Row, notes: dict) -> str:
    entry = (notes.get("rows") or {}).get(row.name)
    written = note_text(row, entry) if entry and row.status == "done" else None
    if row.status == NOT_RUN:
        return str(notes.get("not_run") or DEFAULT_NOT_RUN)
    if row.status == NOT_STARTED:
        return row.message
    if row.status != "done":
        return f"{row.status}: {row.message}"
    if row.within is not False:
        return str(written or "")
    found = evidence(row) + ([str(written)] if written else [])
    if row.variant and not written:
        found.append(f"alzza's variant, not the book's setting: {row.variant}")
    return "; ".join(found) if found else "*unexplained*"


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


HEADERS = ("experiment", "data", "settings", "ours", "book", "difference", f"±{BAND:g}", "over seeds",
           f"book in seeds ±{BAND:g}", "train s (ours)", "train s (book)", "explanation")
#: the rows run on the book's own data (the real files, or the book's generator for the automata)
SAME_DATA = ("real", "generated")


def same_data_lines(rows: list[Row]) -> list[str]:
    """The band counts over all rows and over the rows on the book's own data."""
    lines = []
    for label, chosen in (("all rows", rows), ("rows on the book's own data (real files or its generator)",
                                               [r for r in rows if r.data in SAME_DATA])):
        compared = [r for r in chosen if r.within is not None]
        within = [r for r in compared if r.within]
        either = [r for r in compared if r.within or r.in_seed_range]
        seeded = [r for r in compared if r.in_seed_range is not None]
        lines.append(f"{label}: within ±{BAND:g} {len(within)} / {len(compared)}; the book's figure inside our "
                     f"seed range ±{BAND:g} {sum(bool(r.in_seed_range) for r in seeded)} / {len(seeded)} (rows with "
                     f"two or more seeds); either {len(either)} / {len(compared)}")
    return lines


INTRO = ("Generated by `{command}` from `{source}`, the committed record of every row's runs "
         "(per seed: metrics, settings fingerprint, code fingerprint, commit, seconds); every figure here comes "
         "from it, and `alzza reproduce --check` lists the rows whose settings or code changed since their run. "
         "An explanation a person wrote (`reproduction-notes.yaml`) names the runs it was checked against and "
         "quotes our figures from this record; `--check` lists it once its row is rerun. Every run here used "
         "one BLAS thread per process (`--threads 1`): another thread count sums in another order, and in "
         "float32 a run's figure can move with it as far as with the seed; `alzza reproduce --all --threads 1 "
         "--compare docs/reproduction.json` reruns every row and lists the figures that do not come back. "
         "Ours is the run at the experiment's own seed; *over seeds* is the range over all seeds run; the book's "
         "figure is one run on the author's machine. Two verdicts: *±{band:g}* when every figure the book gives "
         "is within ±{band:g} of ours (a parameter count must match exactly), and *book in seeds ±{band:g}* "
         "when every figure the book gives lies inside our range over seeds widened by {band:g} (— with one "
         "seed). *book's* settings: the row is the book's cell (no alzza variant) run for its epochs; a row "
         "whose settings changed after its run is marked *stale* until it is rerun.")


def render_document(rows: list[Row], sessions: list[dict], notes: dict, out_dir: str, *,
                    intro: str | None = None, session_text: list[str] | None = None) -> str:
    summary = Summary.of(rows)
    lines = ["# Reproduction of the book's results", "",
             intro or ("Generated by `alzza reproduce --all --markdown-doc docs/reproduction.md "
                       f"--out {out_dir}` from the run folders of the reproduction sessions below; every figure "
                       "here comes from those runs (their `result.json`). Ours is one run with the experiment's "
                       "own seed; the book's is one run on the author's machine. A row is within the band when "
                       f"every figure the book gives is within ±{BAND:g} of ours (a parameter count must match "
                       "exactly)."), "", "## Sessions", ""]
    shown = session_text if session_text is not None else session_lines(sessions)
    lines += [f"- {line}" for line in shown] or ["- none recorded"]
    stale = [r.name for r in rows if r.message and r.status == "done"]
    lines += ["", "## Summary", ""] + [f"- {line}" for line in summary.lines() + same_data_lines(rows)]
    if stale:
        lines.append(f"- stale rows (settings changed since their run, rerun pending; their figures are the old "
                     f"settings'): {len(stale)}: {', '.join(stale)}")
    lines.append("")
    not_run = [r for r in rows if r.status == NOT_RUN]
    if not_run:
        reason = str(notes.get("not_run") or DEFAULT_NOT_RUN)
        lines += [f"Not run in this session ({len(not_run)} rows): {reason}", ""]
    for chapter, group in groupby(rows, key=lambda r: r.chapter):
        lines += [f"## {chapter_title(chapter)}", "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        for row in group:
            cells = [row.name, row.data, row.settings + (" (stale)" if row.message and row.status == "done" else ""),
                     ours_text(row), book_text(row), diff_text(row), band_text(row), seeds_text(row),
                     seed_verdict_text(row), seconds_text(row.ours_seconds), seconds_text(row.book_seconds),
                     explanation(row, notes)]
            if row.message and row.status == "done":
                cells[-1] = "; ".join(filter(None, [f"stale: {row.message}", cells[-1]]))
            if row.status == NOT_RUN:
                cells[-1] = "not run in this session"
            lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_document(out_dir, doc_path, printer=print) -> tuple[Path, int]:
    """Write the document for every shipped experiment; returns (path, rows not run)."""
    from ..experiments import list_experiments

    root, doc = Path(out_dir), Path(doc_path)
    if not root.is_dir():
        raise AlzzaError(f"--markdown-doc reads a reproduction's run folders, but {root} does not exist; "
                         f"run 'alzza reproduce ... --out {root}' first")
    rows = [read_row(exp, root / RUNS / exp.name) for exp in list_experiments()]
    notes = read_notes(doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(doc, render_document(rows, read_sessions(root), notes, str(out_dir)))
    unexplained = [r.name for r in rows if r.status == "done" and r.within is False
                   and explanation(r, notes) == "*unexplained*"]
    if unexplained:
        printer(f"rows outside ±{BAND:g} with no explanation (add them to "
                f"{doc.with_name(doc.stem + NOTES_SUFFIX)}): {', '.join(unexplained)}")
    return doc, sum(r.status in (NOT_RUN, NOT_STARTED) for r in rows)

