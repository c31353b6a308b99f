"""A disk cache for expensive data conversions (resized images, audio FFT, video thumbnails).

A conversion is worth caching when it takes seconds and its result depends only on
some parameters and some input files. Such a result is stored as one ``.npz`` file
named by a digest of those parameters and of every input file's relative path, size,
modification time (``mtime_ns``) and *contents* (a BLAKE2b hash of its bytes), so a
changed, added, removed or swapped input file, or a changed parameter, gives a new key
and the result is rebuilt — a stale cache is never trusted, not even when a file was
changed in place with its size and mtime restored. Hashing is cheap next to what is
cached (decoding the 4,317 flower photos takes seconds; hashing their 45 MB, a few
hundredths of one).

Every entry also carries a checksum of its own arrays (``__checksum__``), verified on
each read: an entry altered or damaged on disk is discarded and rebuilt.

Rules, and why:

- Never pickle. Files are written with ``allow_pickle=False`` and read with
  :func:`alzza.saving.npz.read_npz` (bounded, checked, no pickle); object arrays are refused. Strings go in as
  fixed-width unicode arrays (``np.array(list_of_str)``, dtype ``<U..``), which load
  without pickle.
- Writes are atomic: the file is written under a temporary name in the same folder
  and moved into place with ``os.replace``, so a crash or a parallel reader never sees
  half a file.
- A file that cannot be read (truncated, garbage, missing an expected array) is
  deleted with a warning and reported as a miss, so the caller rebuilds it.
- The cache is an optimisation: when it cannot be written (read-only disk, full
  disk) a warning is given and the caller goes on with the data it computed.

Where it lives: the ``ALZZA_CACHE`` environment variable if set, else
``platformdirs.user_cache_dir('alzza')/cache``.

How big it gets: at most ``ALZZA_CACHE_LIMIT`` (default 5 GB; e.g. ``500MB``, ``20GB``,
``unlimited``). Every save that takes the cache over the limit deletes the least
recently used entries until it fits again — "used" meaning written or read: a read
sets the file's modification time to now (access times are unreliable: many disks are
mounted ``noatime``). The entry just written is never the one evicted, so one entry
bigger than the limit still works (it goes at the next save).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import platformdirs

from ...saving.atomic import atomic_write
from ...saving.npz import read_npz

__all__ = ["DEFAULT_LIMIT", "DiskCache", "cache_key", "cache_limit", "default_cache_root", "parse_size",
           "str_array"]

# A kind becomes part of a file name, so keep it to characters safe on every system.
_KIND_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{64}$")

LIMIT_ENV = "ALZZA_CACHE_LIMIT"
#: the default size limit: the biggest shipped conversions (flower photos at 128×128, FSDD
#: spectra) take a few hundred MB each, so 5 GB keeps every experiment's data warm
DEFAULT_LIMIT = 5 * 1000**3
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_SIZE_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int | None:
    """Bytes in ``'500MB'``, ``'5 GB'``, ``'2GiB'``, ``'1048576'``; None for ``'unlimited'``.

    Raises ``ValueError`` with the accepted forms for anything else.
    """
    if str(text).strip().lower() in ("unlimited", "none", "inf"):
        return None
    match = _SIZE_PATTERN.match(str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise ValueError(f"not a size: {text!r}; write e.g. 500MB, 5GB, 2GiB, 1048576 or unlimited")
    return int(float(match.group(1)) * _UNITS[unit])


def cache_limit() -> int | None:
    """The size limit in bytes from ``ALZZA_CACHE_LIMIT`` (default 5 GB); None when unlimited."""
    from ...errors import DataError

    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_LIMIT
    try:
        return parse_size(text)
    except ValueError as exc:
        raise DataError(f"the {LIMIT_ENV} environment variable: {exc}") from None


def default_cache_root() -> Path:
    """The cache folder: ``$ALZZA_CACHE`` if set, else the per-user cache dir + ``/cache``."""
    env = os.environ.get("ALZZA_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("alzza")) / "cache"


def cache_key(
    kind: str,
    params: Mapping,
    files: Iterable[str | os.PathLike],
    *,
    base: str | os.PathLike | None = None,
) -> str:
    """The cache key of a conversion: ``'<kind>-<sha256 hex digest>'``.

    The digest covers ``kind``, the JSON of ``params`` (sorted keys, so dict order does
    not matter) and, for each file in the order given, its path relative to ``base``
    (default: the files' common parent folder), its size and its ``mtime_ns``. Paths
    are relative so that the key does not depend on where the data folder is mounted.
    Give files in a stable (e.g. sorted) order; reordering them changes the key.

    The kind is kept readable at the front of the key because the cache file is named
    ``<root>/<key>.npz``, i.e. ``<root>/<kind>-<digest>.npz``.

    Raises ``FileNotFoundError`` if a file does not exist, ``TypeError`` if ``params``
    is not JSON-serialisable and ``ValueError`` for a kind that is not file-name safe.
    """
    if not _KIND_PATTERN.match(kind):
        raise ValueError(f"cache kind {kind!r} must be letters, digits, '_', '.', '-'")
    paths = [os.fspath(f) for f in files]
    if base is None:
        base = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else "."
    # Plain strings, not pathlib: this runs once per file (thousands) on every read.
    prefix = os.path.join(os.fspath(base), "")

    digest = hashlib.sha256()
    digest.update(kind.encode("utf-8") + b"\0")
    digest.update(json.dumps(params, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\0")
    for path in paths:
        stat = os.stat(path)
        relative = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, base)
        relative = relative.replace(os.sep, "/")
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0{file_digest(path)}\n".encode())
    return f"{kind}-{digest.hexdigest()}"


#: bytes read at a time when hashing a file (bounded memory for big movies)
_HASH_CHUNK = 1 << 20


def file_digest(path) -> str:
    """BLAKE2b (16 bytes) of a file's contents, read in chunks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


#: the array that holds an entry's checksum of its other arrays
CHECKSUM = "__checksum__"


def arrays_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """BLAKE2b of every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{value.dtype.str}\0{value.shape}\0".encode())
        digest.update(value.view(np.uint8).reshape(-1) if value.size else b"")
    return digest.hexdigest()


class DiskCache:
    """Named sets of NumPy arrays stored as ``<root>/<key>.npz``.

    >>> cache = DiskCache(tmp)                                     # doctest: +SKIP
    >>> key = cache_key("image-folder", {"resolution": [64, 64]}, files)
    >>> arrays = cache.load(key, expected=["pixels", "labels"])
    >>> if arrays is None:
    ...     arrays = convert(files)          # the expensive part
    ...     cache.save(key, arrays)
    """

    def __init__(self, root: str | os.PathLike | None = None, limit: int | None | str = "default"):
        self.root = Path(root) if root is not None else default_cache_root()
        #: the size limit in bytes (None: unlimited); by default ``ALZZA_CACHE_LIMIT``
        self.limit = cache_limit() if limit == "default" else limit

    def __repr__(self) -> str:
        return f"DiskCache({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file a key is stored in."""
        if not _KEY_PATTERN.match(key):
            raise ValueError(f"not a cache key made by cache_key(): {key!r}")
        return self.root / f"{key}.npz"

    def load(self, key: str, expected: Iterable[str] = ()) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None when there are none (a miss).

        Every array is read into memory here, so a truncated file fails now and not
        later in the caller. A file that fails to read, or lacks one of the
        ``expected`` array names, is deleted with a warning and reported as a miss.
        """
        path = self.path(key)
        if not path.exists():
            return None
        try:
            # bounded and checked before allocating (alzza.saving.npz); never unpickled
            arrays = read_npz(path)
        except Exception as error:  # noqa: BLE001 — any failure means "rebuild it"
            self.discard(key, f"{type(error).__name__}: {error}")
            return None
        stored_sum = arrays.pop(CHECKSUM, None)
        if stored_sum is None or stored_sum.dtype.kind != "U" or stored_sum.shape != () \
                or str(stored_sum) != arrays_checksum(arrays):
            self.discard(key, "its checksum does not match its contents" if stored_sum is not None
                         else "it has no checksum")
            return None
        missing = [name for name in expected if name not in arrays]
        if missing:
            self.discard(key, f"missing arrays {missing}")
            return None
        _touch(path)
        return arrays

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> bool:
        """Store ``arrays`` under ``key`` atomically; True if written.

        Arrays of dtype object are refused (they would need pickle); store strings as
        ``np.array(list_of_str)``. If the file cannot be written a warning is given and
        False returned: the caller already holds the data, only the speed-up is lost.
        """
        path = self.path(key)
        arrays = {name: np.asarray(value) for name, value in arrays.items()}
        if CHECKSUM in arrays:
            raise ValueError(f"{CHECKSUM!r} is reserved for the cache's own checksum")
        for name, value in arrays.items():
            if value.dtype.hasobject:
                raise TypeError(
                    f"cache array {name!r} has dtype object, which would need pickle; "
                    "store strings as np.array(list_of_str)"
                )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # temp file in the same folder + os.replace (alzza.saving.atomic); a killed save's temp
            # file is removed by a later save of the same key
            with atomic_write(path, "wb") as file:
                np.savez(file, allow_pickle=False, **arrays, **{CHECKSUM: np.array(arrays_checksum(arrays))})
            self.evict(keep=path)
            return True
        except OSError as error:
            warnings.warn(
                f"could not write the cache file {path} ({error}); going on without it",
                stacklevel=2,
            )
            return False

    def discard(self, key: str, reason: str) -> None:
        """Delete the file of ``key`` with a warning giving ``reason``.

        Callers use this too when a file loads but its contents do not make sense
        (e.g. arrays of inconsistent lengths), so it is rebuilt next time.
        """
        path = self.path(key)
        warnings.warn(
            f"the cache file {path} is corrupt ({reason}); deleting it and rebuilding",
            stacklevel=3,
        )
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            warnings.warn(f"could not delete the corrupt cache file {path}: {error}", stacklevel=3)


    # --- size ----------------------------------------------------------------------
    def entries(self) -> list[tuple[Path, int, int]]:
        """``(path, bytes, last use in ns)`` of every entry, least recently used first."""
        found = []
        if not self.root.is_dir():
            return found
        for path in self.root.glob("*.npz"):
            try:
                stat = path.stat()
            except OSError:  # removed meanwhile by another process
                continue
            found.append((path, stat.st_size, stat.st_mtime_ns))
        return sorted(found, key=lambda entry: (entry[2], entry[0].name))

    def size(self) -> int:
        """Bytes held by the cache's entries."""
        return sum(size for _, size, _ in self.entries())

    def evict(self, keep: Path | None = None) -> list[Path]:
        """Delete least recently used entries until the cache fits its limit; the deleted paths."""
        if self.limit is None:
            return []
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        removed = []
        for path, size, _ in entries:
            if total <= self.limit:
                break
            if keep is not None and path == keep:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as error:
                warnings.warn(f"could not delete the cache file {path}: {error}", stacklevel=2)
                continue
            total -= size
            removed.append(path)
        return removed

    def clear(self) -> tuple[int, int]:
        """Delete every entry (and left-over temporary files); ``(files, bytes)`` removed."""
        count = freed = 0
        if not self.root.is_dir():
            return 0, 0
        # entries, and the hidden temporary files a killed save leaves beside them
        for path in [*self.root.glob("*.npz"), *(p for p in self.root.glob(".*") if p.is_file())]:
            try:
                size = path.stat().st_size
                path.unlink()
            except OSError:
                continue
            count += 1
            freed += size
        return count, freed


def _touch(path: Path) -> None:
    """Mark an entry as just used (its mtime is the LRU clock); a read-only cache just isn't reordered."""
    try:
        os.utime(path)
    except OSError:
        pass


def str_array(strings: Iterable[str]) -> np.ndarray:
    """Strings as a fixed-width unicode array (dtype ``<U..``), which loads without pickle.

    ``dtype=str`` is explicit so that an empty list gives ``<U1`` and not float64.
    """
    return np.array(list(strings), dtype=str)
