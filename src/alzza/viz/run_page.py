"""report.html: one self-contained page per run.

The page holds the experiment (name, chapter, title, notes, data set, settings), our
test figures beside the book's, why training stopped, the per-epoch history, every
picture of the run and the model summary. It is a single file: pictures are inlined
as ``data:image/png;base64`` URIs, the style sheet is inline, and there is no script
and no link to anything outside — it opens offline, from a mail attachment, or in CI
artefacts alike.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from ..training.callbacks import format_accuracy, write_text_atomic

REPORT_FILE = "report.html"
COMPARED = ("accuracy", "precision", "recall", "f1")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; background: #fff; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em;
     border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.25em 0.8em; text-align: left;
     border-bottom: 1px solid #eee; } th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #555; } .stop { background: #fff6d6; padding: 0.4em 0.8em; display: inline-block; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.4em 0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return "+".join(_number(v) for v in value)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.4g}" if abs(value) >= 10 else f"{value:.3f}"
    return _e(value)


def image_data_uri(path: Path) -> str:
    """A PNG file as a data: URI (the page carries its pictures inside it)."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _comparison_rows(result: dict) -> list[str]:
    metrics, book = result.get("metrics") or {}, result.get("book") or {}
    rows = []
    # one form for a per-head pair everywhere on the page (here and in the history table):
    # 0.242+1.000, its heads named in the row's label
    names = "discriminator+generator" if "discriminator_accuracy" in metrics else ""
    for key in COMPARED:
        if key in metrics:
            ours = metrics[key]
            theirs = book.get(key)
            label = f"{key} ({names})" if names and key == "accuracy" else key
            rows.append(f"<tr><td>{_e(label)}</td><td class=num>{_e(format_accuracy(ours))}</td>"
                        f"<td class=num>{_e(format_accuracy(theirs)) if theirs is not None else '—'}</td></tr>")
    seconds = result.get("train_seconds")
    ours = (f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s") if seconds is not None else "—"
    rows.append(f"<tr><td>train time</td><td class=num>{ours}</td>"
                f"<td class=num>{_e(book['train_seconds']) + ' s' if book.get('train_seconds') is not None else '—'}"
                "</td></tr>")
    return rows


def _history_tables(result: dict) -> str:
    histories = result.get("histories") or [result.get("history") or {}]
    parts = []
    for history in histories:
        epochs = history.get("epoch") or []
        if not epochs:
            continue
        label = history.get("accuracy_label") or "accuracy"
        head = (f"<tr><th>epoch</th><th>loss</th><th>{_e(label)}</th><th>validation loss</th>"
                f"<th>validation {_e(label)}</th><th>learning rate</th><th>seconds</th></tr>")
        body = []
        for i, epoch in enumerate(epochs):
            def at(key):
                values = history.get(key) or []
                return values[i] if i < len(values) else None
            body.append(f"<tr><td class=num>{epoch}</td><td class=num>{_number(at('loss'))}</td>"
                        f"<td class=num>{_number(at('train_accuracy'))}</td>"
                        f"<td class=num>{_number(at('validate_loss'))}</td>"
                        f"<td class=num>{_number(at('validate_accuracy'))}</td>"
                        f"<td class=num>{_number(at('learning_rate'))}</td>"
                        f"<td class=num>{_number(at('seconds'))}</td></tr>")
        stage = history.get("stage") or "train"
        reason = history.get("stop_reason") or ""
        count = history.get("validate_count")
        scored = (f"; validation on {count} examples" + (" (the whole split)" if history.get("validate_full")
                                                         else " (a fixed sample)")) if count else ""
        parts.append(f"<h3>stage: {_e(stage)} — {len(epochs)} epochs, {_e(reason)}{_e(scored)}</h3>"
                     f"<table>{head}{''.join(body)}</table>")
    return "".join(parts)


def _epochs_text(result: dict) -> str:
    """'13 run of 40', or for a family '6 run in 3 stages (encoder 2, decoder 2, both 2)'."""
    stages = result.get("histories") or []
    if len(stages) > 1:
        each = ", ".join(f"{h.get('stage')} {h.get('epochs_run', len(h.get('epoch') or []))}" for h in stages)
        return f"{result.get('epochs_run', '?')} run in {len(stages)} stages ({each})"
    return f"{result.get('epochs_run', '?')} run of {result.get('epochs')}"


def report_html(result: dict, pictures: dict[str, Path], summary: str = "", notes: str = "") -> str:
    """The page's HTML text for a result.json record and its pictures (name → PNG path)."""
    title = f"{result.get('experiment', '')}: {result.get('title', '')}"
    settings = [("data set", result.get("dataset")), ("chapter", result.get("chapter")),
                ("model kind", result.get("kind")), ("parameters", f"{result.get('parameters', 0):,}"),
                ("epochs", _epochs_text(result)),
                ("batch size", result.get("batch_size")), ("learning rate", result.get("learning_rate")),
                ("optimizer", result.get("optimizer")), ("seed", result.get("seed")),
                ("alzza", result.get("version"))]
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in settings if v is not None)
    stop = result.get("stop_reason") or ""
    figures = "".join(
        f"<figure><img alt=\"{_e(name)}\" src=\"{image_data_uri(path)}\"><figcaption>{_e(path.name)}"
        f"</figcaption></figure>" for name, path in pictures.items() if Path(path).is_file())
    metrics = result.get("metrics") or {}
    other = "".join(f"<tr><td>{_e(k)}</td><td class=num>{_number(v)}</td></tr>" for k, v in metrics.items()
                    if k not in COMPARED)
    notes = f"<p class=meta>{_e(notes)}</p>" if notes else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{_e(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>{notes}
<p class=stop>training stopped: {_e(stop or 'completed')} — {_e(result.get('epochs_run', '?'))} epochs run</p>
<h2>Experiment</h2><table>{meta}</table>
<h2>Test result: ours beside the book's</h2>
<table><tr><th>metric</th><th>ours</th><th>book</th></tr>{''.join(_comparison_rows(result))}</table>
{f'<h2>All test metrics</h2><table>{other}</table>' if other else ''}
<h2>Pictures</h2>{figures or '<p>none</p>'}
<h2>History</h2>{_history_tables(result)}
<h2>Model</h2><pre>{_e(summary)}</pre>
</body></html>
"""


def write_report(out_dir, result: dict, model=None, notes: str = "") -> str:
    """Write ``<out_dir>/report.html`` for a run; returns its file name."""
    out_dir = Path(out_dir)
    pictures = {name: out_dir / file for name, file in (result.get("pictures") or {}).items()}
    summary = ""
    if model is not None:
        from .summary import summary_text

        summary = summary_text(model)
    write_text_atomic(out_dir / REPORT_FILE, report_html(result, pictures, summary, notes))
    return REPORT_FILE
