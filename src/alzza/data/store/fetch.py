"""Download data sets into the data folder, verified and atomically (``alzza fetch``).

The HTTP is :mod:`.download` (bounded in size and time); the checks are :mod:`.checks`.
The rules:

- A file goes to ``<data folder>/<its registry path>``, the data folder found by the
  usual rule (``--data-dir``, else ``ALZZA_DATA``, else the per-user folder).
- Nothing partial or unverified ever sits in the data folder under a real name: every
  download goes to a hidden staging folder inside the data folder (``.alzza-fetch-*``,
  same disk, so the final move is one atomic rename), is checked there, and only then
  renamed into place. The staging folder is removed whatever happens; one left by a
  killed process is removed by the next fetch. Free space is checked first.
- A file already in place is checked, never overwritten: if it differs from the registry
  (or is a folder, a device...) the user is told, and decides.
- A mirror (``--mirror URL`` or ``ALZZA_DATA_MIRROR``) is any served data folder: each
  file is fetched from ``URL/<its path in the data folder>`` and checked the same way.
  Every data set alzza knows the files of can come from one — those whose origin needs
  an account (flowers: a listing names its files) included. A mirror lacking a file the
  data sets run without (``optional``, MNIST's 60k training files) is a note, not a failure.
- Several data sets: each is fetched whatever happened to the others, and a table ends
  the run; any failure makes the run fail (exit 2) after it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import DataError
from .checks import check_listing, check_recordings, extract_members, file_digest, verify_file
from .download import NotOnServer, check_url, download, size_limit
from .locate import resolve_data_root
from .sources import Source, SourceFile, load_registry

__all__ = ["MIRROR_ENV", "STAGING_PREFIX", "Outcome", "check_recordings", "fetch", "file_digest",
           "mirror_from_env", "outcome_table", "resolve_names"]

MIRROR_ENV = "ALZZA_DATA_MIRROR"
STAGING_PREFIX = ".alzza-fetch-"


@dataclass
class Outcome:
    """What became of one data set: ``state`` is fetched, there, partly, by hand or FAILED."""

    name: str
    state: str
    detail: str = ""
    paths: list[Path] = field(default_factory=list)


def mirror_from_env() -> str | None:
    value = os.environ.get(MIRROR_ENV, "").strip()
    return value or None


def resolve_names(names: Iterable[str], registry: dict[str, Source]) -> list[Source]:
    """Registry entries for the names given: an entry's name or an alzza data set it serves."""
    chosen: list[Source] = []
    for name in names:
        if name in registry:
            found = [registry[name]]
        else:
            found = [s for s in registry.values() if name in s.datasets]
        if not found:
            raise DataError(f"alzza fetch: unknown data set {name!r}; known: {', '.join(registry)} "
                            "(or an alzza data set name such as pulsar-select); see alzza fetch --list")
        for source in found:
            if source not in chosen:
                chosen.append(source)
    return chosen


# --------------------------------------------------------------------------- one data set
def _url(mirror: str | None, path: str, origin: str | None) -> str:
    if mirror:
        return f"{mirror.rstrip('/')}/{urllib.parse.quote(path)}"
    return origin


def _regular(target: Path, what: str) -> bool:
    """True when ``target`` is a regular file, False when nothing is there; else one DataError."""
    if not target.exists() and not target.is_symlink():
        return False
    if target.is_file():
        return True
    kind = "a folder" if target.is_dir() else "not a regular file (a link to nothing, a device, a pipe...)"
    raise DataError(f"{target} is already there but is {kind}, not the file {what}\n"
                    "  to fix: move it away (or delete it) and fetch again; alzza never replaces what it did "
                    "not write")


def _fetch_file(spec: SourceFile, source: Source, root: Path, mirror, staging: Path, bar, say) -> str:
    """'fetched', 'there' or 'absent' (an optional file the server lacks)."""
    target = root / spec.path
    what = f"{spec.path} (data set '{source.name}')"
    if _regular(target, what):
        try:
            how = verify_file(target, spec, str(target), what, root)
        except DataError:
            raise DataError(f"{target} is already there but differs from the registry's {source.name} file\n"
                            f"  expected {spec.algorithm}: {spec.digest}\n  to fix: move it away (or delete "
                            "it) and fetch again; alzza never overwrites a file it did not write") from None
        say(f"  {spec.path}: already there, checked ({how})")
        return "there"
    url = _url(mirror, spec.path, spec.url)
    limit = size_limit(spec.size)
    if spec.gunzipped is not None:  # a recompressed copy is at most a little over its content
        limit = max(limit, spec.gunzipped.size + spec.gunzipped.size // 100 + 1024)
    say(f"  {spec.path}: downloading from {url}")
    staged = staging / "file"
    try:
        download(url, staged, limit=limit, what=what, root=root, progress=bar)
    except NotOnServer:
        if not spec.optional:
            raise
        say(f"  {spec.path}: not on the server; optional (the data sets run without it)")
        return "absent"
    how = verify_file(staged, spec, url, what, root)
    _place(staged, target)
    say(f"  {spec.path}: checked ({how}), saved to {target}")
    return "fetched"


def _place(staged: Path, target: Path) -> None:
    _usual_permissions(staged)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
    except OSError as exc:
        raise DataError(f"cannot put {target.name} in place at {target}: {exc.strerror or exc}\n"
                        "  to fix: a file stands where a folder of the data folder should be; move it away") \
            from None


def _folder_names(source: Source) -> list[tuple[str, int | None]]:
    if source.listing is not None:
        return [(path, size) for path, size in source.listing.entries]
    return [(name, None) for name in source.content.names()]


def _folder_problem(folder: Path, source: Source) -> str | None:
    if source.listing is not None:
        return check_listing(folder, source.listing)
    return check_recordings(folder, source.content)


def _fetch_folder(source: Source, root: Path, mirror, staging: Path, progress: bool, say) -> str:
    folder = source.folder
    target = root / folder
    count = source.listing.count if source.listing is not None else source.content.count
    if target.exists() or target.is_symlink():
        problem = _folder_problem(target, source) if target.is_dir() else "not a folder"
        if problem:
            raise DataError(f"{target} is already there but is not the registry's {source.name}: {problem}\n"
                            "  to fix: move it away (or delete it) and fetch again; alzza never overwrites "
                            "files it did not write")
        say(f"  {folder}: already there, checked ({count} files)")
        return "there"
    unpacked = staging / "folder"
    unpacked.mkdir()
    budget = source.listing.bytes if source.listing is not None else source.content.bytes
    if mirror:
        base = f"{mirror.rstrip('/')}/{folder}"
        say(f"  {folder}: downloading {count} files from {base}/")
        left = budget if budget is not None else size_limit(None)
        bar = _bar(count, progress)
        for name, size in _folder_names(source):
            (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
            left -= download(_url(mirror, f"{folder}/{name}", None), unpacked / name,
                             limit=min(size, left) if size is not None else left,
                             what=f"{folder}/{name} (data set '{source.name}')", root=root)
            bar.update(1)
        bar.close()
        origin = base + "/"
    elif source.archive is not None:
        origin = source.archive.url
        say(f"  {folder}: downloading {origin}")
        archive = staging / "archive"
        download(origin, archive, limit=size_limit(source.archive.size, budget),
                 what=f"the {source.name} archive", root=root, progress=_byte_bar(progress))
        extract_members(archive, source.archive.members, unpacked, source.content.name_pattern,
                        budget if budget is not None else size_limit(None))
        archive.unlink()
    else:
        raise DataError(_manual_message(source, root, mirror_hint=True))
    kind = "files" if source.listing is not None else "recordings"
    problem = _folder_problem(unpacked, source)
    if problem:
        raise DataError(f"refused the {source.name} {kind}: {problem}\n  from: {origin}\n"
                        f"  the download was deleted; nothing was written to {root}\n"
                        "  to fix: the server sent other files than the registry's; try again or another mirror")
    for path in unpacked.rglob("*"):
        if path.is_file():
            _usual_permissions(path)
    _place(unpacked, target)
    checks = "sizes" if source.listing is not None else "WAV headers"
    say(f"  {folder}: checked ({count} {kind}, {checks}, file-list SHA-256), saved to {target}")
    return "fetched"


def _needed_bytes(source: Source, root: Path, mirror) -> int:
    """The most bytes fetching ``source`` can write (what is already there counts nothing)."""
    total = 0
    for spec in source.files:
        if not (root / spec.path).exists():
            total += spec.gunzipped.size if spec.gunzipped else size_limit(spec.size)
    if source.folder and (source.listing or source.content) and not (root / source.folder).exists():
        budget = source.listing.bytes if source.listing is not None else source.content.bytes
        total += budget or 0
        if not mirror and source.archive is not None:
            total += size_limit(source.archive.size, budget)
    return total


def _check_space(source: Source, root: Path, mirror) -> None:
    needed = _needed_bytes(source, root, mirror)
    free = shutil.disk_usage(root).free
    if needed > free:
        raise DataError(f"not enough free space for {source.name} in {root}: it needs up to {needed:,} bytes, "
                        f"{free:,} are free\n  nothing was downloaded\n  to fix: free some space, or choose "
                        "another data folder with --data-dir DIR or ALZZA_DATA")


def _fetch_source(source: Source, root: Path, mirror, progress: bool, say) -> Outcome:
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    except OSError as exc:
        raise DataError(f"cannot write to the data folder {root}: {exc.strerror or exc}\n"
                        "  to fix: choose a folder you can write to with --data-dir DIR or the "
                        "ALZZA_DATA environment variable") from None
    try:
        _check_space(source, root, mirror)
        states = []
        if source.folder and (source.listing is not None or source.archive is not None):
            states.append(_fetch_folder(source, root, mirror, staging, progress, say))
        bar = _byte_bar(progress)
        absent = [spec.path for spec in source.files
                  if _fetch_file(spec, source, root, mirror, staging, bar, say) == "absent"]
        states += ["fetched" if spec.path not in absent else "absent" for spec in source.files]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    paths = [root / p for p in source.paths if (root / p).exists()]
    if absent:
        return Outcome(source.name, "partly", f"without the optional {', '.join(absent)} (not on the server)",
                       paths)
    state = "fetched" if "fetched" in states else "there"
    return Outcome(source.name, state, "already there, checked" if state == "there" else "", paths)


def _usual_permissions(path: Path) -> None:
    """The mode a newly created file gets (temporary files are private, 0600, to start with)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _bar(total: int, progress: bool):
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", ncols=79, leave=True)


def _byte_bar(progress: bool):
    return None  # one line per file says what happens; a byte bar per file adds nothing on a terminal


def _clean_stale_staging(root: Path) -> None:
    if root.is_dir():
        for stale in root.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------- several data sets
def fetch(names: Iterable[str] = (), *, all_sets: bool = False, data_dir=None, mirror: str | None = None,
          registry: dict[str, Source] | None = None, progress: bool | None = None,
          printer: Callable[[str], None] = print) -> list[Outcome]:
    """Fetch the named data sets (or every one alzza can get) into the data folder.

    Returns one :class:`Outcome` per data set. Each data set is fetched whatever became of
    the others; with more than one, a table of outcomes is printed at the end. Then any
    failure is one :class:`DataError` (the data sets fetched stay: each was checked).
    Data only got by hand is an error when named alone, a 'by hand' row under ``all_sets``.
    """
    registry = registry if registry is not None else load_registry()
    mirror = mirror if mirror is not None else mirror_from_env()
    if mirror:
        check_url(mirror, "alzza fetch --mirror")
    if progress is None:
        progress = sys.stderr.isatty()
    chosen = list(registry.values()) if all_sets else resolve_names(names, registry)
    if not chosen:
        raise DataError("alzza fetch: name the data sets to fetch (see alzza fetch --list), or give --all")
    root, _ = resolve_data_root(data_dir)

    def gettable(source):
        return source.downloadable or (mirror and source.mirrorable)

    manual = [s for s in chosen if not gettable(s)]
    if manual and not all_sets and len(chosen) == 1:
        raise DataError(_manual_message(manual[0], root, mirror_hint=not mirror))
    _clean_stale_staging(root)
    outcomes: list[Outcome] = []
    failures: list[str] = []
    for source in chosen:
        if not gettable(source):
            outcomes.append(Outcome(source.name, "by hand", "see alzza fetch --list"
                                    + ("; or --mirror URL" if source.mirrorable else "")))
            continue
        printer(f"{source.name}: {source.title}")
        try:
            outcomes.append(_fetch_source(source, root, mirror, progress, printer))
        except DataError as exc:
            if len(chosen) == 1:
                raise
            printer(f"  FAILED: {exc}".replace("\n", "\n  "))
            failures.append(source.name)
            outcomes.append(Outcome(source.name, "FAILED", str(exc).splitlines()[0]))
    if all_sets:
        for source in manual:
            printer("")
            printer(_manual_message(source, root, mirror_hint=source.mirrorable))
    if len(chosen) > 1:
        printer("")
        for line in outcome_table(outcomes):
            printer(line)
    if failures:
        raise DataError(f"alzza fetch: {len(failures)} of {len(chosen)} data sets failed: {', '.join(failures)} "
                        "(the others are in place, each checked; see the lines above)")
    return outcomes


def outcome_table(outcomes: list[Outcome]) -> list[str]:
    """One row per data set: name, state, detail."""
    width = max(len(o.name) for o in outcomes)
    lines = [f"{'data set':<{width}}  {'state':<8}  detail"]
    for o in outcomes:
        lines.append(f"{o.name:<{width}}  {o.state:<8}  {o.detail}".rstrip())
    return lines


def _manual_message(source: Source, root: Path, mirror_hint: bool = False) -> str:
    steps = (source.manual or "").rstrip().replace("DATA/", f"{root}/")
    lines = [f"{source.name}: {source.title} cannot be downloaded by alzza from its origin",
             f"  expected layout in the data folder: {source.layout or source.folder}"]
    if mirror_hint and source.listing is not None:
        lines.append(f"  from a mirror it can: alzza fetch {source.name} --mirror URL (a web server serving "
                     f"{source.listing.description} in a data folder's layout)")
    return "\n".join(lines + ["  " + line for line in steps.splitlines()])
