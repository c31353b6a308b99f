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
  :func:`alzza.npz.read_npz` (bounded, checked, no pickle); object arrays are refused. Strings go in as
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

from ..atomic import atomic_write
from ..npz import read_npz

__all__ = ["DiskCache", "cache_key", "default_cache_root", "str_array"]

# A kind becomes part of a file name, so keep it to characters safe on every system.
_KIND_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{64}$")


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
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0{file_digest(path)}\n".encode("utf-8"))
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
        digest.update(f"{name}\0{value.dtype.str}\0{value.shape}\0".encode("utf-8"))
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

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_cache_root()

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
            # bounded and checked before allocating (alzza.npz); never unpickled
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
            # temp file in the same folder + os.replace (alzza.atomic); a killed save's temp
            # file is removed by the next save of the same key
            with atomic_write(path, "wb") as file:
                np.savez(file, allow_pickle=False, **arrays, **{CHECKSUM: np.array(arrays_checksum(arrays))})
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


def str_array(strings: Iterable[str]) -> np.ndarray:
    """Strings as a fixed-width unicode array (dtype ``<U..``), which loads without pickle.

    ``dtype=str`` is explicit so that an empty list gives ``<U1`` and not float64.
    """
    return np.array(list(strings), dtype=str)
