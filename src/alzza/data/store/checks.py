"""The checks a download passes before it is put in the data folder (``alzza fetch``).

- a file: its size, then its hash; a gzip file whose published hash differs (a mirror's
  recompressed copy) is accepted when its decompressed content has the registry's size
  and hashes — decompressed with a bound, so a gzip bomb stops at that size;
- a folder of recordings (FSDD): the names, the WAV headers and the SHA-256 of the file
  list; a folder known by a listing (flowers): the names, sizes and the file-list SHA-256;
- a release archive: only plain files named like a recording are extracted, each within
  what is left of the folder's byte budget.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import tarfile
import zlib
from pathlib import Path

from ...errors import DataError
from .sources import Content, Listing, SourceFile

__all__ = ["check_listing", "check_recordings", "extract_members", "file_digest", "verify_file"]


def file_digest(path, algorithm: str) -> str:
    """The hex digest (``'sha256'`` or ``'md5'``) of a file, read in 1 MB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()



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


def verify_file(path: Path, spec: SourceFile, url: str, what: str, root: Path) -> str:
    """How ``path`` passed (``'MD5'``, ...), or one DataError saying why it is refused."""
    size = path.stat().st_size
    published = spec.algorithm is not None and file_digest(path, spec.algorithm) == spec.digest
    if published and (spec.size is None or size == spec.size):
        return {"sha256": "SHA-256", "md5": "MD5"}[spec.algorithm]
    if spec.gunzipped is not None:
        problem = _gunzipped_problem(path, spec)
        if problem is None:
            names = " and ".join(a.upper() if a == "md5" else "SHA-256" for a, _ in spec.gunzipped.hashes)
            return f"{names} of the decompressed content: a recompressed copy"
        raise DataError("\n".join([
            f"refused {what}: neither its bytes nor its decompressed content match the registry",
            f"  from: {url}",
            f"  {problem}",
            f"  the download was deleted; nothing was written to {root}",
            "  to fix: the server sent other data than the data set's published files; try again, another "
            "mirror, or the origin (drop --mirror / ALZZA_DATA_MIRROR)"]))
    if spec.size is not None and size != spec.size:
        raise DataError(f"refused {what}: {size:,} bytes, the registry says {spec.size:,} (cut off, or another "
                        f"file)\n  from: {url}\n  the download was deleted; nothing was written to {root}")
    if spec.algorithm is not None:
        raise DataError(_mismatch_message(what, url, spec.algorithm, spec.digest,
                                          file_digest(path, spec.algorithm), root))
    return "size"


def _gunzipped_problem(path: Path, spec: SourceFile) -> str | None:
    """None when the gzip file decompresses to the registry's content; reads at most its size + 1."""
    want = spec.gunzipped
    digests = {name: hashlib.new(name) for name, _ in want.hashes}
    count = 0
    try:
        with gzip.open(path, "rb") as stream:
            while count <= want.size:
                block = stream.read(min(1 << 20, want.size + 1 - count))
                if not block:
                    break
                count += len(block)
                for digest in digests.values():
                    digest.update(block)
    except (OSError, EOFError, zlib.error) as exc:
        return f"its bytes differ from the published file and it is not a readable gzip file ({exc})"
    if count != want.size:
        more = "more than" if count > want.size else "only"
        return f"it decompresses to {more} {count:,} bytes; the content has {want.size:,}"
    for name, expected in want.hashes:
        if digests[name].hexdigest() != expected:
            return f"the {name.upper()} of its decompressed content is {digests[name].hexdigest()}, expected {expected}"
    return None


def check_listing(folder: Path, listing: Listing) -> str | None:
    """None when ``folder`` holds exactly the listed files (names, sizes, file-list SHA-256)."""
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) \
        if folder.is_dir() else []
    expected = [path for path, _ in listing.entries]
    if found != expected:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        parts = [f"{len(found)} files, expected {listing.count}"]
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}")
        return "; ".join(parts)
    for path, size in listing.entries:
        if (folder / path).stat().st_size != size:
            return f"{path}: {(folder / path).stat().st_size} bytes, the listing says {size}"
    lines = "".join(f"{file_digest(folder / path, 'sha256')}  {path}\n" for path in expected)
    got = hashlib.sha256(lines.encode("utf-8")).hexdigest()
    if got != listing.manifest_sha256:
        return (f"the SHA-256 of the file list does not match the registry\n"
                f"  expected: {listing.manifest_sha256}\n  got:      {got}")
    return None


def extract_members(archive: Path, prefix: str, target: Path, pattern: str, budget: int) -> None:
    """The regular files directly under ``prefix`` in a tar archive, into ``target`` (no paths
    kept), ``budget`` bytes at most in all (a member claiming more is refused unread)."""
    name_re = re.compile(pattern)
    target.mkdir(parents=True, exist_ok=True)
    left = budget
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                if not member.name.startswith(prefix):
                    continue
                name = member.name[len(prefix):]
                # only plain files named like a recording: no links, folders or '..' tricks
                if not member.isfile() or "/" in name or not name_re.match(name):
                    continue
                if member.size > left:
                    raise DataError(f"the downloaded archive {archive.name} holds more than the {budget:,} "
                                    f"bytes of recordings the registry allows ({name}: {member.size:,} bytes)")
                left -= member.size
                source = tar.extractfile(member)
                with source, open(target / name, "wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataError(f"the downloaded archive {archive.name} cannot be read: {exc}") from None


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
