"""``alzza data [--clear-cache]``: which data sets are in the data folder, and the cache.

One row per registry entry (see :mod:`alzza.data.store.sources`): found, partly there or
missing, where, its size on disk, and the shipped experiments that use it; then the
disk cache's folder, size and limit. ``--clear-cache`` empties the cache (the data
folder is never touched: alzza does not delete data it did not write).
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

from ..data.store.cache import LIMIT_ENV, DiskCache
from ..data.store.locate import describe_rule, resolve_data_root
from ..data.store.sources import Source, load_registry


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "data", help="which data sets are there, where, their size; the cache",
        description="Every data set alzza knows: found or missing, where, its size, which experiments use "
                    "it; then the disk cache's size. --clear-cache empties the cache.")
    parser.add_argument("--data-dir", help="the data folder (else $ALZZA_DATA, else the per-user folder)")
    parser.add_argument("--clear-cache", action="store_true", help="delete every entry of the disk cache")
    return parser


def human_size(count: int | None) -> str:
    if count is None:
        return "unlimited"
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} B"  # pragma: no cover


def _disk_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).stat().st_size
            except OSError:
                pass
    return total


def status(source: Source, root: Path) -> tuple[str, int]:
    """``('found' | 'partly (2 of 4 files)' | 'missing', bytes on disk)`` of one source."""
    present = [root / p for p in source.paths if (root / p).exists()]
    size = sum(_disk_size(p) for p in present)
    expected = _folder_files(source)
    if expected is not None and present:
        count = len(expected) - len(missing_files(source, root))
        return ("found" if count == len(expected) else f"partly ({count} of {len(expected)} files)"), size
    if not present:
        instead = [root / a for a in source.alternatives if (root / a).is_file()]
        if instead:
            return f"found as {', '.join(p.name for p in instead)}", sum(p.stat().st_size for p in instead)
        return "missing", 0
    required = [f.path for f in source.files if not f.optional]
    if all((root / p).exists() for p in required) and len(present) < len(source.paths):
        return f"found ({len(present)} of {len(source.paths)} files; the missing ones are optional)", size
    if len(present) < len(source.paths):
        return f"partly ({len(present)} of {len(source.paths)} files)", size
    return "found", size


def _folder_files(source: Source) -> list[str] | None:
    """The files a folder data set must hold (its listing, or FSDD's recording names)."""
    if source.listing is not None:
        return [path for path, _ in source.listing.entries]
    if source.content is not None:
        return source.content.names()
    return None


def missing_files(source: Source, root: Path) -> list[str]:
    """The data-folder paths of ``source`` that are not there (optional files marked so)."""
    expected = _folder_files(source)
    if expected is not None:
        folder = root / source.folder
        return [f"{source.folder}/{name}" for name in expected if not (folder / name).is_file()]
    return [f.path + (" (optional)" if f.optional else "") for f in source.files if not (root / f.path).exists()]


def _there_lines(source: Source, root: Path) -> list[str]:
    missing = missing_files(source, root)
    if source.files:
        there = [f.path for f in source.files if (root / f.path).exists()]
        return [f"  there: {', '.join(there)}", f"  missing: {', '.join(missing)}"]
    shown = ", ".join(missing[:5]) + (f" ... ({len(missing)} in all)" if len(missing) > 5 else "")
    return [f"  missing: {shown}"]


def experiments_by_dataset() -> dict[str, list[str]]:
    from ..experiments import list_experiments

    used: dict[str, list[str]] = {}
    for exp in list_experiments():
        used.setdefault(exp.dataset_name, []).append(exp.name)
    return used


def run(args, out=print) -> int:
    cache = DiskCache()
    if args.clear_cache:
        count, freed = cache.clear()
        out(f"cleared the cache {cache.root}: {count} file(s), {human_size(freed)}")
        return 0
    root, rule = resolve_data_root(args.data_dir)
    out(f"data folder: {root}")
    out(f"  ({describe_rule(rule, root)}{'; it does not exist yet' if not root.exists() else ''})")
    used = experiments_by_dataset()
    for source in load_registry().values():
        state, size = status(source, root)
        where = ", ".join(source.paths)
        out("")
        out(f"{source.name}: {state}" + (f", {human_size(size)}" if size else "") + f" — {where}")
        names = sorted({e for d in source.datasets for e in used.get(d, [])})
        text = f"used by {len(names)} experiment(s): {', '.join(names)}" if names else "used by no shipped experiment"
        out(textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False))
        if state.startswith("partly") or "optional" in state:
            for line in _there_lines(source, root):
                out(line)
        if state == "missing" or state.startswith("partly"):
            how = source.how_to_get().splitlines()[0] if source.mirrorable else "by hand, see alzza fetch --list"
            out(f"  to get it: {how.removesuffix(', or by hand:')}")
    out("")
    entries = cache.entries()
    out(f"cache: {cache.root}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
        f"{human_size(sum(e[1] for e in entries))} of {human_size(cache.limit)} "
        f"(limit: ${LIMIT_ENV}; alzza data --clear-cache empties it)")
    return 0
