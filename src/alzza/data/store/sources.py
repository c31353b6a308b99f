"""Where each data set comes from: the data registry (``registry.yaml``) as Python objects.

The registry names, for every data set alzza reads, each of its files with the file's
origin URL, its hash (where the hash is known as a fact, see the file's header), size,
licence and citation — or, for data that needs an account or is gone, the manual steps
and the folder layout alzza expects. It is read by ``alzza fetch`` (what to download and
how to check it), ``alzza data`` (what is there) and the missing-file error (how to get
a file). One registry entry can serve several alzza data sets (``pulsar`` serves the
data sets ``pulsar`` and ``pulsar-select``).

A user's own registry (``alzza fetch --registry FILE``, e.g. a classroom's own data)
has the same format and is checked on load: every problem is one :class:`DataError`
naming the entry and the key.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from ...errors import DataError

__all__ = ["Archive", "Content", "Listing", "Source", "SourceFile", "Unpacked", "load_registry",
           "source_for_path", "sources_for_dataset"]

HASHES = ("sha256", "md5")


@dataclass(frozen=True)
class Unpacked:
    """What a gzip file decompresses to: its size and hashes (algorithm → hex digest).

    A mirror may serve a recompressed copy of a published gzip file: its bytes (and so the
    published hash) differ, the content does not. Such a copy is accepted when its
    decompressed content has exactly this size and these hashes.
    """

    size: int
    hashes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SourceFile:
    """One file: where it goes in the data folder, where it comes from, how to check it."""

    path: str                  # relative to the data folder, '/'-separated
    url: str
    algorithm: str | None      # 'sha256', 'md5' or None (no hash known as a fact)
    digest: str | None
    size: int | None
    #: the data sets run without it (MNIST's 60k training files): a mirror may lack it
    optional: bool = False
    #: for a gzip file: what it decompresses to (a recompressed copy is checked by that)
    gunzipped: Unpacked | None = None


@dataclass(frozen=True)
class Listing:
    """A folder whose files alzza knows by name and size (a text file shipped beside the registry).

    ``entries`` is ``((path inside the folder, size), ...)`` sorted by path; the download is
    checked by the SHA-256 of its manifest (the lines ``"<sha256>  <path>"`` sorted by path).
    """

    file: str
    entries: tuple[tuple[str, int], ...]
    manifest_sha256: str
    description: str

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.entries)


@dataclass(frozen=True)
class Archive:
    """A release archive whose members under ``members`` become the source's folder."""

    url: str
    members: str
    size: int | None


@dataclass(frozen=True)
class Content:
    """What a folder of recordings must hold (checked when the archive has no known hash)."""

    count: int
    name_pattern: str
    digits: int
    speakers: tuple[str, ...]
    per_speaker_digit: int
    channels: int
    rate: int
    bits: int
    manifest_sha256: str
    bytes: int | None

    def names(self) -> list[str]:
        """Every file name the folder must hold, sorted (for a mirror, which serves them one by one)."""
        return sorted(f"{digit}_{speaker}_{n}.wav" for digit in range(self.digits)
                      for speaker in self.speakers for n in range(self.per_speaker_digit))


@dataclass(frozen=True)
class Source:
    """One registry entry (see the module docstring)."""

    name: str
    title: str
    datasets: tuple[str, ...]
    licence: str
    citation: str
    homepage: str | None
    files: tuple[SourceFile, ...] = ()
    archive: Archive | None = None
    folder: str | None = None
    content: Content | None = None
    manual: str | None = None
    layout: str | None = None
    also_reads: str | None = None
    note: str | None = None
    #: data-folder files the readers take instead of ``files`` (UCI's own abalone.data ...)
    alternatives: tuple[str, ...] = ()
    #: the folder's files by name and size: a mirror can serve them (the origin needs an account)
    listing: Listing | None = None

    @property
    def downloadable(self) -> bool:
        """alzza can download it from its origin."""
        return bool(self.files) or self.archive is not None

    @property
    def mirrorable(self) -> bool:
        """alzza knows which files to ask a mirror for, and how to check them."""
        return self.downloadable or self.listing is not None

    @property
    def paths(self) -> list[str]:
        """The data-folder paths this source provides (files, or its folder)."""
        if self.files:
            return [f.path for f in self.files]
        return [self.folder] if self.folder else []

    def verification(self) -> str:
        """How a download is checked, in words (for ``--list``)."""
        if self.files:
            kinds = sorted({f.algorithm or "none" for f in self.files})
            if kinds == ["none"]:
                return "no hash known: size only"
            return " and ".join(k.upper() if k != "sha256" else "SHA-256" for k in kinds) + " of every file"
        if self.content is not None:
            return (f"no published hash for the archive: its content is checked instead "
                    f"({self.content.count} recordings, {self.content.bits}-bit "
                    f"{self.content.rate} Hz WAV headers, SHA-256 of the file list)")
        if self.listing is not None:
            return (f"from a mirror: {self.listing.count} files by name and size, and the SHA-256 of "
                    f"the file list ({self.listing.description})")
        return "not downloaded by alzza (see the steps below)"

    def how_to_get(self) -> str:
        """The one line (``alzza fetch NAME``) or the manual steps."""
        if self.downloadable:
            return f"alzza fetch {self.name}"
        if self.listing is not None:
            return (f"alzza fetch {self.name} --mirror URL (a mirror serving {self.listing.description}), "
                    "or by hand:\n" + (self.manual or "").rstrip())
        return (self.manual or "no way known to get it").rstrip()


def _text(entry: dict, key: str, where: str, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: '{key}' must be a non-empty text, got {value!r}")
    return value


def _size(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{where}: 'size' must be a number of bytes or null, got {value!r}")
    return value


def _relative(path: str, where: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise DataError(f"{where}: path {path!r} must be relative to the data folder, "
                        "'/'-separated, without '..'")
    return path


def _digest(entry: dict, algorithm: str, where: str) -> str:
    digest = str(entry[algorithm]).lower()
    length = 64 if algorithm == "sha256" else 32
    if not re.fullmatch(f"[0-9a-f]{{{length}}}", digest):
        raise DataError(f"{where}: {algorithm} must be {length} hex digits, got {entry[algorithm]!r}")
    return digest


def _unpacked(entry, where: str) -> Unpacked:
    if not isinstance(entry, dict) or set(entry) - {"size", *HASHES}:
        raise DataError(f"{where}: 'gunzipped' is a mapping with size and sha256 and/or md5")
    hashes = tuple((name, _digest(entry, name, where)) for name in HASHES if entry.get(name) is not None)
    size = _size(entry.get("size"), where)
    if size is None or not hashes:
        raise DataError(f"{where}: 'gunzipped' needs the decompressed size and at least one hash")
    return Unpacked(size, hashes)


def _file(entry, where: str) -> SourceFile:
    if not isinstance(entry, dict):
        raise DataError(f"{where}: a file is a mapping with path, url, sha256 or md5, size")
    path = _relative(_text(entry, "path", where), where)
    url = _text(entry, "url", where)
    given = [name for name in HASHES if entry.get(name) is not None]
    if len(given) > 1:
        raise DataError(f"{where}: give one hash (sha256 or md5), not {' and '.join(given)}")
    algorithm = given[0] if given else None
    digest = _digest(entry, algorithm, where) if algorithm else None
    unknown = set(entry) - {"path", "url", "size", "optional", "gunzipped", *HASHES}
    if unknown:
        raise DataError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    optional = entry.get("optional", False)
    if not isinstance(optional, bool):
        raise DataError(f"{where}: 'optional' must be true or false, got {optional!r}")
    gunzipped = _unpacked(entry["gunzipped"], f"{where}.gunzipped") if entry.get("gunzipped") else None
    return SourceFile(path, url, algorithm, digest, _size(entry.get("size"), where), optional, gunzipped)


MAX_LISTING_BYTES = 4 * 1024 * 1024   # a listing is a few hundred kB; anything bigger is not one


def _listing(entry, where: str, base) -> Listing:
    """The ``listing:`` of a folder entry: the file (beside the registry) is read and checked."""
    if not isinstance(entry, dict) or set(entry) - {"file", "sha256", "manifest_sha256", "description"}:
        raise DataError(f"{where}: 'listing' is a mapping with file, sha256, manifest_sha256, description")
    name = _relative(_text(entry, "file", where), where)
    pinned = _digest(entry, "sha256", where) if entry.get("sha256") is not None else None
    manifest = _digest({"sha256": entry.get("manifest_sha256")}, "sha256", f"{where}.manifest_sha256")
    try:
        raw = base.joinpath(name).read_bytes() if base is not None else None
    except OSError as exc:
        raise DataError(f"{where}: cannot read the listing {name}: {exc.strerror or exc}") from None
    if raw is None:
        raise DataError(f"{where}: a listing needs a registry read from a file or the package")
    if len(raw) > MAX_LISTING_BYTES:
        raise DataError(f"{where}: the listing {name} is over {MAX_LISTING_BYTES} bytes")
    if pinned is not None and hashlib.sha256(raw).hexdigest() != pinned:
        raise DataError(f"{where}: the listing {name} does not match its SHA-256 in the registry")
    entries = []
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        size, _, path = line.partition(" ")
        if not size.isdigit() or not path:
            raise DataError(f"{where}: {name} line {number}: expected '<size> <path>', got {line[:80]!r}")
        entries.append((_relative(path, f"{where}: {name} line {number}"), int(size)))
    if not entries or [p for p, _ in entries] != sorted({p for p, _ in entries}):
        raise DataError(f"{where}: {name} must list each file once, sorted by path")
    return Listing(name, tuple(entries), manifest, _text(entry, "description", where))


def _content(entry, where: str) -> Content:
    try:
        wav = entry["wav"]
        content = Content(int(entry["count"]), str(entry["name_pattern"]), int(entry["digits"]),
                          tuple(str(s) for s in entry["speakers"]), int(entry["per_speaker_digit"]),
                          int(wav["channels"]), int(wav["rate"]), int(wav["bits"]),
                          str(entry["manifest_sha256"]).lower(), _size(entry.get("bytes"), where))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: content needs count, name_pattern, digits, speakers, "
                        f"per_speaker_digit, wav {{channels, rate, bits}} and manifest_sha256 ({exc})") from None
    if len(content.names()) != content.count:
        raise DataError(f"{where}: count {content.count} but digits × speakers × per_speaker_digit "
                        f"= {len(content.names())}")
    return content


def _source(name: str, entry, origin: str, base=None) -> Source:
    where = f"{origin}: datasets.{name}"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: must be a mapping")
    datasets = entry.get("datasets")
    if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets) or not datasets:
        raise DataError(f"{where}: 'datasets' must list the alzza data sets it serves")
    files = entry.get("files") or []
    if not isinstance(files, list):
        raise DataError(f"{where}: 'files' must be a list")
    archive = None
    if entry.get("archive") is not None:
        a = entry["archive"]
        if not isinstance(a, dict):
            raise DataError(f"{where}.archive: must be a mapping with url and members")
        archive = Archive(_text(a, "url", f"{where}.archive"), _text(a, "members", f"{where}.archive"),
                          _size(a.get("size"), f"{where}.archive"))
    content = _content(entry["content"], f"{where}.content") if entry.get("content") else None
    folder = entry.get("folder")
    if folder is not None:
        folder = _relative(_text(entry, "folder", where), where)
    listing = _listing(entry["listing"], f"{where}.listing", base) if entry.get("listing") else None
    if listing is not None and folder is None:
        raise DataError(f"{where}: a listing needs 'folder' (where its files go)")
    if archive is not None and (folder is None or content is None):
        raise DataError(f"{where}: an archive needs 'folder' (where its members go) and 'content' "
                        "(how to check them)")
    source = Source(
        name=name, title=_text(entry, "title", where), datasets=tuple(datasets),
        licence=_text(entry, "licence", where), citation=_text(entry, "citation", where),
        homepage=_text(entry, "homepage", where, required=False),
        files=tuple(_file(f, f"{where}.files[{i}]") for i, f in enumerate(files)),
        archive=archive, folder=folder, content=content,
        manual=_text(entry, "manual", where, required=False),
        layout=_text(entry, "layout", where, required=False),
        also_reads=_text(entry, "also_reads", where, required=False),
        note=_text(entry, "note", where, required=False),
        alternatives=tuple(_relative(str(a), where) for a in entry.get("alternatives") or ()),
        listing=listing)
    if not source.downloadable and not source.manual:
        raise DataError(f"{where}: give 'files', an 'archive', or the 'manual' steps")
    if not source.downloadable and not source.folder:
        raise DataError(f"{where}: a manual entry needs 'folder' (where the data goes)")
    return source


def parse_registry(text: str, origin: str, base=None) -> dict[str, Source]:
    """The sources of a registry's YAML text; ``origin`` names it in errors, ``base`` (a folder,
    a Path or an importlib Traversable) holds the listings it names."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
        raise DataError(f"{origin}: a data registry is a mapping with 'datasets'")
    return {str(name): _source(str(name), entry, origin, base) for name, entry in data["datasets"].items()}


@functools.lru_cache(maxsize=1)
def _packaged() -> dict[str, Source]:
    package = resources.files("alzza.data.store")
    text = package.joinpath("registry.yaml").read_text(encoding="utf-8")
    return parse_registry(text, "alzza's registry.yaml", package)


def load_registry(path=None) -> dict[str, Source]:
    """The packaged registry, or the one in the YAML file ``path``."""
    if path is None:
        return _packaged()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data registry: {exc.strerror or exc}") from None
    return parse_registry(text, str(path), path.parent)


def source_for_path(relative) -> Source | None:
    """The packaged source that provides the data-folder path ``relative`` (or a file in it)."""
    relative = str(relative).replace("\\", "/").strip("/")
    top = relative.split("/")[0]
    for source in _packaged().values():
        for path in source.paths:
            # a source in a folder of its own (mnist/, fsdd/...) owns everything in that folder
            if relative == path or ("/" in path or path == source.folder) and top == path.split("/")[0]:
                return source
    return None


def sources_for_dataset(dataset: str) -> list[Source]:
    """The packaged sources an alzza data set reads (``pulsar-select`` → [pulsar])."""
    return [s for s in _packaged().values() if dataset in s.datasets]
