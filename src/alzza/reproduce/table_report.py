"""The report of a reproduction: ``report.md`` and a self-contained ``report.html``.

Per chapter, one row per experiment (see :mod:`alzza.reproduce.rows`): experiment, data,
settings, ours, the book's, the difference, within ±0.03, train seconds ours and the
book's, a thumbnail of the row's main picture and a link to its run folder; a summary on
top. ``report.html`` needs nothing beside it: its thumbnails are PNG ``data:`` URIs made
with Pillow, its style is inline, and it loads nothing from the network (the run-folder
links are relative, for browsing the folders beside it). ``report.md`` shows the same
thumbnails from ``thumbs/``.
"""

from __future__ import annotations

import base64
import html
import io
from itertools import groupby
from pathlib import Path

from ..saving.atomic import write_bytes_atomic
from ..saving.atomic import write_text_atomic as write_text
from .rows import (BAND, NOT_RUN, NOT_STARTED, Row, Summary, band_text, book_text, diff_text, ours_text, seconds_text,
                   seeds_text)

THUMB_SIZE = (200, 150)
HEADERS = ("experiment", "data", "settings", "ours", "book", "difference", f"±{BAND:g}", "over seeds",
           "train s (ours)", "train s (book)", "picture", "run folder")


def thumbnail_png(picture: Path, size=THUMB_SIZE) -> bytes | None:
    """A PNG thumbnail of ``picture`` no larger than ``size``; None when it can't be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(picture) as image:
            image.load()
            small = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except (OSError, UnidentifiedImageError):
        return None
    small.thumbnail(size)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_thumbnails(rows: list[Row], out_dir: Path) -> dict[str, bytes]:
    """Thumbnails of every row's picture, saved in ``<out>/thumbs/`` and returned by name."""
    thumbs = {}
    folder = out_dir / "thumbs"
    for row in rows:
        if row.picture is None:
            continue
        data = thumbnail_png(row.picture)
        if data is None:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / f"{row.name}.png", data)
        thumbs[row.name] = data
    return thumbs


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def chapter_title(chapter) -> str:
    return f"Chapter {chapter}" if chapter is not None else "Other experiments"


def _cells(row: Row) -> list[str]:
    return [row.name, row.data, row.settings, ours_text(row), book_text(row), diff_text(row), band_text(row),
            seeds_text(row), seconds_text(row.ours_seconds), seconds_text(row.book_seconds)]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[Row], out_dir: Path, session_lines: list[str], thumbs: dict) -> str:
    summary = Summary.of(rows)
    lines = ["# alzza reproduce: our results beside the book's", ""]
    lines += [f"- {line}" for line in session_lines]
    lines += ["", "## Summary", ""] + [f"- {line}" for line in summary.lines()] + [""]
    for chapter, group in groupby(rows, key=lambda r: r.chapter):
        lines += [f"## {chapter_title(chapter)}", "", "| " + " | ".join(HEADERS) + " |",
                  "|" + "---|" * len(HEADERS)]
        notes = []
        for row in group:
            link = _relative(row.folder, out_dir)
            picture = f"![{row.name}](thumbs/{row.name}.png)" if row.name in thumbs else "—"
            lines.append("| " + " | ".join(_md(c) for c in _cells(row) + [picture, f"[{link}]({link}/)"]) + " |")
            if row.status != "done" and row.message:
                notes.append(f"- **{row.name}** {row.status}: {_md(row.message)}")
        lines += [""] + notes + ([""] if notes else [])
    return "\n".join(lines) + "\n"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: middle; font-size: 14px; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.yes td.band { background: #dff3df; }
tr.no td.band { background: #f8dcdc; }
tr.failed td { background: #fbe9e9; }
tr.notrun td { color: #888; }
.message { color: #a00; font-size: 12px; }
img { display: block; }
"""


def render_html(rows: list[Row], out_dir: Path, session_lines: list[str], thumbs: dict) -> str:
    summary = Summary.of(rows)
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>alzza reproduce</title>", f"<style>{STYLE}</style></head><body>",
             "<h1>alzza reproduce: our results beside the book's</h1>", "<ul>"]
    parts += [f"<li>{esc(line)}</li>" for line in session_lines]
    parts += ["</ul>", "<h2>Summary</h2>", "<ul>"] + [f"<li>{esc(line)}</li>" for line in summary.lines()]
    parts.append("</ul>")
    numeric = {3, 4, 5, 7, 8, 9}
    for chapter, group in groupby(rows, key=lambda r: r.chapter):
        parts += [f"<h2>{esc(chapter_title(chapter))}</h2>", "<table><thead><tr>"]
        parts += [f"<th>{esc(h)}</th>" for h in HEADERS] + ["</tr></thead><tbody>"]
        for row in group:
            css = {True: "yes", False: "no"}.get(row.within, "")
            if row.status in (NOT_RUN, NOT_STARTED):
                css = "notrun"
            elif row.status != "done":
                css = "failed"
            cells = []
            for i, text in enumerate(_cells(row)):
                klass = "band" if i == 6 else ("num" if i in numeric else "")
                body = esc(text)
                if i == 3 and row.status != "done" and row.message:
                    body += f'<div class="message">{esc(row.message)}</div>'
                if i == 0:
                    body = f"<b>{body}</b><br><small>{esc(row.title)}</small>"
                cells.append(f'<td class="{klass}">{body}</td>' if klass else f"<td>{body}</td>")
            if row.name in thumbs:
                uri = "data:image/png;base64," + base64.b64encode(thumbs[row.name]).decode("ascii")
                cells.append(f'<td><img src="{uri}" alt="{esc(row.name)}"></td>')
            else:
                cells.append("<td>—</td>")
            link = _relative(row.folder, out_dir)
            cells.append(f'<td><a href="{esc(link)}/">{esc(link)}</a></td>')
            parts.append(f'<tr class="{css}">' + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it into place (never a half-written report;
    :mod:`alzza.saving.atomic`)."""
    write_text(path, text)


def write_report(rows: list[Row], out_dir: Path, session_lines: list[str]) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (and ``thumbs/``) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    thumbs = write_thumbnails(rows, out_dir)
    md, page = out_dir / "report.md", out_dir / "report.html"
    write_text_atomic(md, render_markdown(rows, out_dir, session_lines, thumbs))
    write_text_atomic(page, render_html(rows, out_dir, session_lines, thumbs))
    return md, page
