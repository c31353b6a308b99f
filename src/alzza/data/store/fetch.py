"""Download data sets into the data folder, verified and atomically (``alzza fetch``).

Built on pooch (the HTTP download, its retries and progress bar); alzza adds the checks
and the one-error messages. The rules:

- A file goes to ``<data folder>/<its registry path>``, the data folder found by the
  usual rule (``--data-dir``, else ``ALZZA_DATA``, else the per-user folder).
- Nothing partial or unverified ever sits in the data folder under a real name: every
  download goes to a hidden staging folder inside the data folder (``.alzza-fetch-*``,
  same disk, so the final move is one atomic rename), is checked there — hash and size
  for files, count / WAV headers / file-list hash for the FSDD recordings — and only
  then renamed into place. The staging folder is removed whatever happens; one left by
  a killed process is removed by the next fetch.
- A file already in place is checked, never overwritten: if it differs from the registry
  the user is told, and decides.
- A mirror (``--mirror URL`` or ``ALZZA_DATA_MIRROR``) is any served data folder: each
  file is fetched from ``URL/<its path in the data folder>`` and checked the same way
  (for FSDD, every recording from ``URL/fsdd/recordings/<name>``).
- A network failure or a hash mismatch is one :class:`DataError`: what, which URL,
  expected and got, what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ...errors import DataError
from .locate import resolve_data_root
from .sources import Content, Source, SourceFile, load_registry

__all__ = ["MIRROR_ENV", "STAGING_PREFIX", "check_recordings", "fetch", "file_digest", "mirror_from_env",
           "resolve_names"]

MIRROR_ENV = "ALZZA_DATA_MIRROR"
STAGING_PREFIX = ".alzza-fetch-"
RETRIES = 2          # pooch's retry_if_failed: 3 attempts in all, 1 s then 2 s apart
TIMEOUT = 60         # seconds without data before a download counts as failed


def mirror_from_env() -> str | None:
    value = os.environ.get(MIRROR_ENV, "").strip()
    return value or None


def file_digest(path, algorithm: str) -> str:
    """The hex digest (``'sha256'`` or ``'md5'``) of a file, read in 1 MB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pooch():
    try:
        import pooch
    except ImportError:
        raise DataError("alzza fetch downloads with pooch, which is not installed; install it with "
                        "pip install 'alzza[fetch]' (or pip install pooch)") from None
    return pooch


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


# --------------------------------------------------------------------------- downloading
def _download(url: str, staging: Path, name: str, *, progress: bool, what: str, root: Path) -> Path:
    """``url`` → ``staging/name`` through pooch (retries, progress bar); one DataError on failure."""
    pooch = _pooch()
    import requests  # a dependency of pooch

    pooch.get_logger().setLevel("WARNING")  # alzza prints its own lines
    fetcher = pooch.create(path=staging, base_url="", registry={name: None}, urls={name: url},
                           retry_if_failed=RETRIES, allow_updates=False)
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT)
    try:
        return Path(fetcher.fetch(name, downloader=downloader))
    except requests.exceptions.RequestException as exc:
        raise DataError(_network_message(what, url, exc, root)) from None
    except OSError as exc:
        raise DataError(f"could not write {what} into {root}: {exc.strerror or exc}") from None


def _network_message(what: str, url: str, exc: Exception, root: Path) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) if response is not None else None
    if status:
        why = f"the server answered {status} {response.reason or ''}".rstrip()
    else:
        why = f"{type(exc).__name__}: {_short(exc)}"
    if status == 404:
        fix = ("  to fix: the server has no such file; a mirror must serve a data folder's layout "
               "(MIRROR/<path in the data folder>); check the URL, or drop --mirror / "
               f"{MIRROR_ENV} to fetch from the origin")
    else:
        fix = ("  to fix: check the network connection and run the command again; or fetch from a mirror "
               f"(--mirror URL or the {MIRROR_ENV} environment variable: any web server holding a data "
               "folder); or download the file yourself and put it in the data folder (alzza fetch --list "
               "shows where)")
    return "\n".join([
        f"could not download {what}",
        f"  from: {url}",
        f"  because: {why} (tried {RETRIES + 1} times)",
        f"  nothing was written to {root}",
        fix,
    ])


def _short(exc: Exception) -> str:
    text = str(exc)
    # requests nests the real reason deep in its text; keep the end, which says it
    match = re.search(r"\[Errno[^\]]*\][^')]*", text)
    return match.group(0) if match else text[:300]


def _mismatch_message(what: str, url: str, algorithm: str, expected: str, got: str, root: Path) -> str:
    label = "SHA-256" if algorithm == "sha256" else algorithm.upper()
    return "\n".join([
        f"refused {what}: its {label} does not match the registry",
        f"  from: {url}",
        f"  expected: {expected}",
        f"  got:      {got}",
        f"  the download was deleted; nothing was written to {root}",
        "  to fix: the server sent different bytes than the data set's published ones (a changed or "
        "tampered file, a broken mirror or an error page); try again, or another mirror, or the origin "
        "(drop --mirror / ALZZA_DATA_MIRROR); never use a file that fails this check",
    ])


def _verify_file(path: Path, spec: SourceFile, url: str, what: str, root: Path) -> None:
    if spec.size is not None and path.stat().st_size != spec.size and spec.algorithm is None:
        raise DataError(f"refused {what}: {path.stat().st_size} bytes, the registry says {spec.size}\n"
                        f"  from: {url}\n  the download was deleted; nothing was written to {root}")
    if spec.algorithm is not None:
        got = file_digest(path, spec.algorithm)
        if got != spec.digest:
            raise DataError(_mismatch_message(what, url, spec.algorithm, spec.digest, got, root))


# --------------------------------------------------------------------------- recordings
def _wav_problem(path: Path, content: Content) -> str | None:
    from ..readers.wav import read_wav_info

    try:
        info = read_wav_info(path)
    except DataError as exc:
        return str(exc)
    if (info.channels, info.rate, info.bits) != (content.channels, content.rate, content.bits):
        return (f"{path.name}: {info.channels} channel(s), {info.rate} Hz, {info.bits}-bit; expected "
                f"{content.channels}, {content.rate} Hz, {content.bits}-bit")
    return None


def check_recordings(folder: Path, content: Content) -> str | None:
    """None when ``folder`` holds exactly the recordings ``content`` describes, else the problem."""
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    expected = content.names()
    if names != expected:
        missing = sorted(set(expected) - set(names))
        extra = sorted(set(names) - set(expected))
        parts = [f"{len(names)} files, expected {content.count}"]
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}")
        return "; ".join(parts)
    lines = []
    for name in names:
        problem = _wav_problem(folder / name, content)
        if problem:
            return problem
        lines.append(f"{file_digest(folder / name, 'sha256')}  {name}\n")
    got = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    if got != content.manifest_sha256:
        return (f"the SHA-256 of the file list does not match the registry\n"
                f"  expected: {content.manifest_sha256}\n  got:      {got}")
    return None


def _extract_members(archive: Path, prefix: str, target: Path, pattern: str) -> None:
    """The regular files directly under ``prefix`` in a tar archive, into ``target`` (no paths kept)."""
    name_re = re.compile(pattern)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                if not member.name.startswith(prefix):
                    continue
                name = member.name[len(prefix):]
                # only plain files named like a recording: no links, folders or '..' tricks
                if not member.isfile() or "/" in name or not name_re.match(name):
                    continue
                source = tar.extractfile(member)
                with source, open(target / name, "wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"the downloaded archive {archive.name} cannot be read: {exc}") from None


# --------------------------------------------------------------------------- fetching
def _fetch_file(spec: SourceFile, source: Source, root: Path, mirror: str | None, staging: Path,
                progress: bool, say) -> None:
    target = root / spec.path
    what = f"{spec.path} (data set '{source.name}')"
    if target.exists():
        if spec.algorithm is not None:
            got = file_digest(target, spec.algorithm)
            if got != spec.digest:
                raise DataError(f"{target} is already there but differs from the registry's "
                                f"{source.name} file\n  expected {spec.algorithm}: {spec.digest}\n"
                                f"  got:          {got}\n  to fix: move it away (or delete it) and fetch again; "
                                "alzza never overwrites a file it did not write")
        say(f"  {spec.path}: already there{', checked' if spec.algorithm else ''}")
        return
    url = f"{mirror.rstrip('/')}/{spec.path}" if mirror else spec.url
    say(f"  {spec.path}: downloading from {url}")
    downloaded = _download(url, staging, Path(spec.path).name, progress=progress, what=what, root=root)
    _verify_file(downloaded, spec, url, what, root)
    _usual_permissions(downloaded)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(downloaded, target)
    label = {"sha256": "SHA-256", "md5": "MD5"}.get(spec.algorithm, "size")
    say(f"  {spec.path}: checked ({label}), saved to {target}")


def _fetch_recordings(source: Source, root: Path, mirror: str | None, staging: Path, progress: bool,
                      say) -> None:
    content, folder = source.content, source.folder
    target = root / folder
    if target.exists():
        problem = check_recordings(target, content)
        if problem:
            raise DataError(f"{target} is already there but is not the registry's {source.name}: {problem}\n"
                            "  to fix: move it away (or delete it) and fetch again; alzza never overwrites "
                            "files it did not write")
        say(f"  {folder}: already there, checked ({content.count} recordings)")
        return
    unpacked = staging / "recordings"
    if mirror:
        base = f"{mirror.rstrip('/')}/{folder}"
        say(f"  {folder}: downloading {content.count} recordings from {base}/")
        names = content.names()
        bar = _bar(len(names), progress)
        for name in names:
            got = _download(f"{base}/{name}", staging / "files", name, progress=False,
                            what=f"{folder}/{name} (data set '{source.name}')", root=root)
            unpacked.mkdir(exist_ok=True)
            os.replace(got, unpacked / name)
            bar.update(1)
        bar.close()
        origin = base + "/"
    else:
        url = source.archive.url
        say(f"  {folder}: downloading {url}")
        archive = _download(url, staging, "archive" + _suffix(url), progress=progress,
                            what=f"the {source.name} archive", root=root)
        _extract_members(archive, source.archive.members, unpacked, content.name_pattern)
        archive.unlink()
        origin = url
    problem = check_recordings(unpacked, content)
    if problem:
        raise DataError(f"refused the {source.name} recordings: {problem}\n  from: {origin}\n"
                        f"  the download was deleted; nothing was written to {root}\n"
                        "  to fix: the server sent other files than the registry's release; try again or "
                        "another mirror")
    for path in unpacked.iterdir():
        _usual_permissions(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(unpacked, target)
    say(f"  {folder}: checked ({content.count} recordings, WAV headers, file-list SHA-256), saved to {target}")


def _usual_permissions(path: Path) -> None:
    """The mode a newly created file gets (temporary files are private, 0600, to start with)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _suffix(url: str) -> str:
    for ending in (".tar.gz", ".tgz", ".tar"):
        if url.endswith(ending):
            return ending
    return ""


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


def _clean_stale_staging(root: Path) -> None:
    if root.is_dir():
        for stale in root.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)


def fetch(names: Iterable[str] = (), *, all_sets: bool = False, data_dir=None, mirror: str | None = None,
          registry: dict[str, Source] | None = None, progress: bool | None = None,
          printer: Callable[[str], None] = print) -> list[Path]:
    """Fetch the named data sets (or every downloadable one) into the data folder.

    Returns the data-folder paths now in place. Data that can only be got by hand is an
    error when named, and is listed with its steps under ``all_sets``. Every failure is
    one :class:`DataError`; data sets fetched before it stay (each was checked).
    """
    registry = registry if registry is not None else load_registry()
    mirror = mirror if mirror is not None else mirror_from_env()
    if progress is None:
        progress = sys.stderr.isatty()
    chosen = list(registry.values()) if all_sets else resolve_names(names, registry)
    if not chosen:
        raise DataError("alzza fetch: name the data sets to fetch (see alzza fetch --list), or give --all")
    manual = [s for s in chosen if not s.downloadable]
    if manual and not all_sets:
        raise DataError("\n\n".join(_manual_message(s, data_dir) for s in manual))
    root, _ = resolve_data_root(data_dir)
    _clean_stale_staging(root)
    done: list[Path] = []
    for source in chosen:
        if not source.downloadable:
            continue
        printer(f"{source.name}: {source.title}")
        try:
            root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
        except OSError as exc:
            raise DataError(f"cannot write to the data folder {root}: {exc.strerror or exc}\n"
                            "  to fix: choose a folder you can write to with --data-dir DIR or the "
                            "ALZZA_DATA environment variable") from None
        try:
            if source.archive is not None:
                _fetch_recordings(source, root, mirror, staging, progress, printer)
            for spec in source.files:
                _fetch_file(spec, source, root, mirror, staging, progress, printer)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        done += [root / p for p in source.paths]
    for source in manual:
        printer("")
        printer(_manual_message(source, data_dir))
    return done


def _manual_message(source: Source, data_dir) -> str:
    root, _ = resolve_data_root(data_dir)
    steps = (source.manual or "").rstrip().replace("DATA/", f"{root}/")
    return (f"{source.name}: {source.title} cannot be downloaded by alzza\n"
            f"  expected layout in the data folder: {source.layout or source.folder}\n"
            + "\n".join("  " + line for line in steps.splitlines()))
