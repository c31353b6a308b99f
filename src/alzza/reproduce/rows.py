"""One report row per experiment: ours against the book's, from a run folder.

A row reads ``result.json`` (what the run measured) and ``task.json`` (how the task
ended) of its run folder and says:

- the data it ran on: ``real``, ``stand-in`` (a named substitute: Office-31, UrbanSound8K
  and the book's movie are not here), ``subset`` (part of the book's data: MNIST's 10,000
  test digits instead of its 60,000 training digits), ``generated`` (the automata
  sentences) or ``none`` (shapes only);
- the settings: ``book's`` when the run used the experiment's own epochs and whole
  epochs, else what was cut (``epochs 1, ≤2 batches``);
- ours, the book's and the difference for every figure the book gives (accuracy, and
  precision / recall / F1 where it reports them; per head for two-head and sequence
  models; the parameter count for the shapes-only chapter 9 models, which must match
  exactly), and whether every difference lies within ±:data:`BAND`;
- with runs at extra seeds (``--seeds``, run folders ``NAME@seedN`` beside ``NAME``, same
  settings): the lowest and highest accuracy over all seeds, i.e. how far one run of this
  experiment moves with its seed (split, init and shuffling);
- train seconds, ours and the book's (a number, a range such as ``129–301`` where the book
  gives one for several runs, or unknown), and whether ours is faster: below the book's
  number, or below the low end of its range.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..training.loop import format_accuracy

BAND = 0.03
COMPARED = ("accuracy", "precision", "recall", "f1")
SHORT = {"accuracy": "acc", "precision": "prec", "recall": "rec", "f1": "f1", "parameters": "params"}
#: the picture a row shows, first found wins
PICTURE_ORDER = ("visualize", "hashing", "maps", "weights", "training")
NOT_RUN = "not run"
#: a task the session's time budget left waiting (it counts as not run)
NOT_STARTED = "not started"
#: an extra-seed run's folder: NAME@seedN
SEED_MARK = "@seed"


@dataclass
class Comparison:
    """One figure: ours, the book's and ours − book's (scalars, or one value per head)."""

    key: str
    ours: object
    book: object
    diff: object  # None when the two can't be compared (missing, or different shapes)
    exact: bool = False  # parameter counts must agree exactly

    @property
    def within(self) -> bool | None:
        if self.diff is None:
            return None
        if self.exact:
            return self.diff == 0
        diffs = self.diff if isinstance(self.diff, (list, tuple)) else [self.diff]
        return all(abs(round(d, 9)) <= BAND for d in diffs)


@dataclass
class Row:
    name: str
    chapter: int | None
    title: str
    folder: Path
    status: str = NOT_RUN  # done, failed, killed, timed out, not run
    message: str = ""
    result: dict | None = None
    comparisons: list = field(default_factory=list)
    data: str = "—"
    settings: str = "—"
    ours_seconds: float | None = None
    book_seconds: object = None
    picture: Path | None = None
    book_epochs: int | None = None
    #: (seed, metrics) of this run and of its extra-seed runs with the same settings
    seed_metrics: list = field(default_factory=list)
    #: key → (lowest, highest, seeds) where only the range is recorded (rows imported from an older document)
    seed_spreads: dict = field(default_factory=dict)
    variant: str = ""

    def seed_count(self, key: str = "accuracy") -> int:
        if key in self.seed_spreads:
            return int(self.seed_spreads[key][2])
        return sum(m.get(key) is not None for _, m in self.seed_metrics)

    def seed_range(self, key: str = "accuracy"):
        """(lowest, highest) of metric ``key`` over the seeds run (per head for several), or None."""
        if key in self.seed_spreads:
            low, high, _ = self.seed_spreads[key]
            return low, high
        values = [metrics[key] for _, metrics in self.seed_metrics if metrics.get(key) is not None]
        if len(values) < 2:
            return None
        if all(isinstance(v, (list, tuple)) for v in values) and len({len(v) for v in values}) == 1:
            return [min(col) for col in zip(*values, strict=False)], [max(col) for col in zip(*values, strict=False)]
        if any(isinstance(v, (list, tuple)) for v in values):
            return None
        return min(values), max(values)

    @property
    def has_book_figure(self) -> bool:
        return bool(self.comparisons)

    @property
    def within(self) -> bool | None:
        """True when every compared figure is within the band; None when not comparable."""
        if self.status != "done" or not self.comparisons:
            return None
        verdicts = [c.within for c in self.comparisons]
        if any(v is None for v in verdicts):
            return None
        return all(verdicts)

    @property
    def in_seed_range(self) -> bool | None:
        """True when every book figure lies inside our range over seeds widened by ±BAND; None
        without a range over two or more seeds (or without a book figure to place)."""
        if self.status != "done" or not self.comparisons:
            return None
        verdicts = []
        for comparison in self.comparisons:
            if comparison.exact:  # a parameter count does not move with the seed
                verdicts.append(comparison.within)
                continue
            spread = self.seed_range(comparison.key)
            if spread is None or comparison.book is None:
                return None
            low, high = spread
            lows, highs, books = ((low, high, comparison.book) if isinstance(low, list)
                                  else ([low], [high], [comparison.book]))
            if not isinstance(books, (list, tuple)) or len(books) != len(lows):
                return None
            verdicts.append(all(a - BAND - 1e-9 <= b <= c + BAND + 1e-9
                                for a, b, c in zip(lows, books, highs, strict=True)))
        if any(v is None for v in verdicts):
            return None
        return all(verdicts)

    @property
    def faster(self) -> bool | None:
        low = book_seconds_low(self.book_seconds)
        if self.status != "done" or self.ours_seconds is None or low is None:
            return None
        return self.ours_seconds < low


def _difference(ours, book):
    if ours is None or book is None:
        return None
    if isinstance(ours, (list, tuple)) and isinstance(book, (list, tuple)):
        if len(ours) != len(book):
            return None
        return [float(o) - float(b) for o, b in zip(ours, book, strict=False)]
    if isinstance(ours, (list, tuple)) or isinstance(book, (list, tuple)):
        return None
    return float(ours) - float(book)


def compare(metrics: dict, book: dict) -> list[Comparison]:
    """Every figure the book gives, beside ours."""
    rows = []
    if book.get("parameters") is not None:
        ours = metrics.get("parameters")
        rows.append(Comparison("parameters", ours, book["parameters"],
                               None if ours is None else int(ours) - int(book["parameters"]), exact=True))
    for key in COMPARED:
        if book.get(key) is None:
            continue
        ours = metrics.get(key)
        rows.append(Comparison(key, ours, book[key], _difference(ours, book[key])))
    return rows


def book_seconds_low(value) -> float | None:
    """The book's train time as a number: itself, the low end of a range ('129–301'), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    numbers = re.findall(r"\d+(?:\.\d+)?", str(value))
    return min(float(n) for n in numbers) if numbers else None


def data_kind(result: dict | None, dataset_name: str = "") -> str:
    """real / stand-in / subset / generated / none, from the data set the run reports."""
    if not result:
        return "stand-in or real" if dataset_name.endswith(("-or-standin", "-or-fsdd")) else "—"
    source = str(result.get("data_source") or "").lower()
    dataset = str(result.get("dataset") or "").lower()
    if "standin" in dataset or source.startswith("stand-in"):
        return "stand-in"
    if source.startswith("no data"):
        return "none"
    if source.startswith("generated"):
        return "generated"
    # MNIST: only the 10,000 t10k digits here, not the book's 60,000 training digits
    if "only the" in source or "mnist t10k file" in source:
        return "subset"
    return "real"


VARIANT = "alzza's variant"
#: the settings label of a row that only builds its model and counts the parameters
BUILD_ONLY = "build only"


def settings_label(result: dict | None, book_epochs: int | None, kind: str = "run", variant: str = "") -> str:
    """``book's`` only for a run of a row that is the book's cell (no ``variant``) with the
    experiment's own epochs and whole epochs; ``alzza's variant`` for a row that changes the
    book's settings on purpose; else what the run cut."""
    if not result:
        return "—"
    if kind == "count" or set(result.get("metrics") or {}) == {"parameters"}:
        return BUILD_ONLY
    epochs, max_batches = result.get("epochs"), result.get("max_batches")
    if epochs == book_epochs and not max_batches:
        return VARIANT if variant else "book's"
    parts = [f"epochs {epochs}"]
    if max_batches:
        parts.append(f"≤{max_batches} batches")
    return ", ".join(parts)


def main_picture(folder: Path, result: dict | None) -> Path | None:
    pictures = (result or {}).get("pictures") or {}
    for name in PICTURE_ORDER:
        file = pictures.get(name)
        if file and (folder / file).is_file():
            return folder / file
    for file in pictures.values():
        if (folder / str(file)).is_file():
            return folder / str(file)
    return None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _same_settings(a: dict, b: dict) -> bool:
    fa, fb = a.get("fingerprint") or {}, b.get("fingerprint") or {}
    keys = ("version", "code", "experiment", "settings", "max_batches")
    return bool(fa) and all(fa.get(k) == fb.get(k) for k in keys)


def seed_metrics(name: str, folder: Path, result: dict) -> list:
    """(seed, metrics) of the run in ``folder`` and of the ``NAME@seedN`` runs beside it
    made by the same code and settings."""
    found = [(result.get("seed"), result.get("metrics") or {})]
    for other in sorted(folder.parent.glob(f"{name}{SEED_MARK}*")):
        task = _read_json(other / "task.json") or {}
        record = _read_json(other / "result.json")
        if record is None or task.get("status", "done") != "done" or not _same_settings(result, record):
            continue
        found.append((record.get("seed"), record.get("metrics") or {}))
    return found


def read_row(exp, folder: Path) -> Row:
    """The row of experiment ``exp`` from its run folder (which may not exist)."""
    row = Row(name=exp.name, chapter=exp.chapter, title=exp.title, folder=folder,
              book_seconds=(exp.book or {}).get("train_seconds"), book_epochs=exp.train.get("epochs"),
              variant=getattr(exp, "variant", "") or "")
    task = _read_json(folder / "task.json")
    result = _read_json(folder / "result.json")
    if task is not None:
        row.status, row.message = task.get("status", "failed"), task.get("message", "")
    elif result is not None:
        row.status = "done"  # a run folder written by 'alzza run' itself
    if row.status == "done" and result is None:
        row.status, row.message = "failed", "no result.json in the run folder"
    if result is not None and row.status == "done":
        row.result = result
        metrics = dict(result.get("metrics") or {})
        if result.get("parameters") is not None:  # every run records its model's size beside the metrics
            metrics.setdefault("parameters", result["parameters"])
        row.comparisons = compare(metrics, exp.book or {})
        row.ours_seconds = result.get("train_seconds")
        row.settings = settings_label(result, row.book_epochs, (task or {}).get("kind", "run"), row.variant)
        row.picture = main_picture(folder, result)
        row.seed_metrics = seed_metrics(exp.name, folder, result)
    else:
        # a failed row still shows which figures the book gives
        row.comparisons = compare({}, exp.book or {})
    row.data = data_kind(result, exp.dataset_name)
    return row


# ---- formatting shared by the report and the document -------------------------------------------

def _value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return format_accuracy([float(v) for v in value])
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return format_accuracy(float(value))


def _signed(diff, exact: bool) -> str:
    if diff is None:
        return "—"
    if isinstance(diff, (list, tuple)):
        return " / ".join(f"{d:+.3f}" for d in diff)
    return f"{diff:+,}" if exact else f"{diff:+.3f}"


def _labelled(row: Row, pick) -> str:
    if not row.comparisons:
        return "—"
    if len(row.comparisons) == 1:
        return pick(row.comparisons[0])
    return ", ".join(f"{SHORT.get(c.key, c.key)} {pick(c)}" for c in row.comparisons)


def ours_text(row: Row) -> str:
    if row.status != "done":
        return row.status
    if not row.comparisons:  # no book figure: still show our accuracy
        metrics = (row.result or {}).get("metrics") or {}
        return _value(metrics["accuracy"]) if "accuracy" in metrics else "—"
    return _labelled(row, lambda c: _value(c.ours))


def book_text(row: Row) -> str:
    return _labelled(row, lambda c: _value(c.book))


def diff_text(row: Row) -> str:
    if row.status != "done":
        return "—"
    return _labelled(row, lambda c: _signed(c.diff, c.exact))


def band_text(row: Row) -> str:
    verdict = row.within
    if row.status != "done":
        return "—"
    if not row.comparisons:
        return "no book figure"
    if verdict is None:
        return "not comparable"
    return "yes" if verdict else "no"


def range_text(spread) -> str:
    """'0.412–0.470', or one range per head: '0.85–0.90 / 0.20–0.25'."""
    low, high = spread
    if isinstance(low, list):
        return " / ".join(f"{a:.3f}–{b:.3f}" for a, b in zip(low, high, strict=False))
    return f"{low:.3f}–{high:.3f}"


def seeds_text(row: Row) -> str:
    """The accuracy range over the seeds run: '0.412–0.470 (3 seeds)'; '—' with one seed."""
    spread = row.seed_range("accuracy")
    if spread is None:
        return "no seed: a count" if row.settings == BUILD_ONLY else "—"
    return f"{range_text(spread)} ({row.seed_count('accuracy')} seeds)"


def seed_verdict_text(row: Row) -> str:
    """Whether the book's figure lies in our seed range widened by ±BAND: yes / no / — (one seed)."""
    verdict = row.in_seed_range
    if verdict is None:
        return "—"
    return "yes" if verdict else "no"


def seconds_text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return str(value)


@dataclass
class Summary:
    rows: int
    run: int
    failed: int
    not_run: int
    compared: int
    within: int
    timed: int
    faster: int

    @classmethod
    def of(cls, rows: list[Row]) -> Summary:
        done = [r for r in rows if r.status == "done"]
        compared = [r for r in done if r.within is not None]
        timed = [r for r in done if r.faster is not None]
        return cls(rows=len(rows), run=len(done),
                   failed=sum(r.status not in ("done", NOT_RUN, NOT_STARTED) for r in rows),
                   not_run=sum(r.status in (NOT_RUN, NOT_STARTED) for r in rows), compared=len(compared),
                   within=sum(bool(r.within) for r in compared), timed=len(timed),
                   faster=sum(bool(r.faster) for r in timed))

    def lines(self) -> list[str]:
        return [
            f"rows within ±{BAND:g} of the book: {self.within} / {self.compared} "
            f"(rows run with a book figure to compare; parameter counts must match exactly)",
            f"rows faster than the book: {self.faster} / {self.timed} (rows run with a book train time; "
            f"a range counts only when ours is below its low end)",
            f"rows: {self.rows}; run: {self.run}; failed: {self.failed}; not run: {self.not_run}",
        ]
