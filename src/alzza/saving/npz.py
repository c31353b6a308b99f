"""Reading ``.npz`` archives that may be hostile: bounded, checked, never unpickled.

``np.load`` trusts the file: a member's header may declare a 4 TB array (allocated
before a byte is read), a member may decompress from 8 MB to 8 GiB, a damaged zip
directory raises ``NotImplementedError``, and a file that is not a zip at all is
reported as "pickled data". This reader checks before it allocates:

0. the path is a regular file (a link to one is fine): a FIFO, a device such as
   ``/dev/zero`` or a folder is refused before a byte is read;
1. the file is a zip archive (else: "not a zip/npz archive", with its first bytes);
2. every member is a ``.npy`` file whose declared uncompressed size (zip directory)
   fits, with all the others, in ALZZA_MAX_MEMORY — zipfile never inflates a member
   beyond that declared size, so this bounds the decompression;
3. every member's ``.npy`` header parses, declares no object (pickle) dtype, and its
   shape × item size is exactly the member's size after the header;
4. only then is the array allocated (once) and filled straight from the stream; the CRC
   check at the end of each member catches flipped bytes in the data.

Every problem is a :class:`NpzError` (a ValueError) whose message says what is wrong;
callers turn it into their own error (ModelFileError, a cache miss).
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from math import prod
from pathlib import Path

import numpy as np

from ..limits import format_bytes, max_memory

__all__ = ["NpzError", "read_npz"]


class NpzError(ValueError):
    """An .npz file can't be read safely: not a zip, damaged, too big, or not plain arrays."""


def _first_bytes(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return ""
    if not head:
        return "; the file is empty"
    text = head.decode("ascii", "replace")
    shown = text if text.isprintable() else head.hex(" ")
    return f"; it starts with {shown!r}"


#: room for a .npy header in a member bounded by ``member_limits``
NPY_HEADER_ROOM = 4096


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def open_regular(path: Path):
    """``path`` opened for reading, after checking it is a regular file (links followed).

    A FIFO would block the open, so the kind is checked first; O_NONBLOCK and the
    second check on the open descriptor close the gap of a swap in between.
    """
    mode = os.stat(path).st_mode  # FileNotFoundError for a missing file
    if not stat.S_ISREG(mode):
        raise NpzError(f"it is {_kind(mode)}, not a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NpzError(f"it is {_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_npz(path, max_bytes: int | None = None, member_limits: dict | None = None) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file ``path`` (name → array, member order), read safely.

    ``max_bytes`` (default ALZZA_MAX_MEMORY) bounds the total decompressed size;
    ``member_limits`` maps an array name to ``(bytes, setting)``: that member's data may
    not be bigger (checked on the zip directory, before anything is inflated; ``setting``
    names the limit in the message). Raises :class:`NpzError` for anything wrong and
    ``FileNotFoundError`` for a missing file.
    """
    path = Path(path)
    allowed = max_memory() if max_bytes is None else max_bytes
    handle = open_regular(path)
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        handle.close()
        raise NpzError(f"not a zip/npz archive{_first_bytes(path)}") from None
    except (OSError, ValueError, EOFError, NotImplementedError, RuntimeError, zipfile.LargeZipFile) as exc:
        handle.close()
        raise NpzError(f"its zip directory is damaged ({type(exc).__name__}: {exc})") from None
    arrays: dict[str, np.ndarray] = {}
    with handle, archive:
        infos = archive.infolist()
        for info in infos:
            bound = (member_limits or {}).get(info.filename[:-4] if info.filename.endswith(".npy") else None)
            if bound is not None and info.file_size > bound[0] + NPY_HEADER_ROOM:
                raise NpzError(f"array {info.filename[:-4]!r} would take {format_bytes(info.file_size)} once "
                               f"decompressed, more than the limit of {format_bytes(bound[0])} ({bound[1]})")
        total = sum(info.file_size for info in infos)
        if total > allowed:
            raise NpzError(f"its arrays would take {format_bytes(total)} once decompressed, more than the limit "
                           f"of {format_bytes(allowed)} (ALZZA_MAX_MEMORY)")
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise NpzError(f"member {info.filename!r} is not a .npy array")
            name = info.filename[:-4]
            try:
                arrays[name] = _read_member(archive, info)
            except NpzError as exc:
                raise NpzError(f"array {name!r}: {exc}") from None
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError,
                    zlib.error, KeyError, TypeError, SyntaxError) as exc:
                raise NpzError(f"array {name!r} is damaged ({type(exc).__name__}: {exc})") from None
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise NpzError(f"unknown .npy format version {version}")
        if dtype.hasobject:
            raise NpzError("holds Python objects (pickled data), which alzza never loads")
        header = stream.tell()
        count = prod(shape)
        nbytes = count * dtype.itemsize
        if header + nbytes != info.file_size:
            raise NpzError(f"its header declares {tuple(shape)} {dtype} ({format_bytes(nbytes)}), but the member "
                           f"holds {format_bytes(max(0, info.file_size - header))} of data")
        array = np.empty(count, dtype=dtype)
        view = memoryview(array.view(np.uint8))
        filled = 0
        while filled < nbytes:
            got = stream.readinto(view[filled:])
            if not got:
                raise NpzError(f"truncated: {filled} of {nbytes} data bytes")
            filled += got
        if stream.read(1):
            raise NpzError("more data than its header declares")
    if fortran:
        return array.reshape(shape[::-1]).T
    return array.reshape(shape)
