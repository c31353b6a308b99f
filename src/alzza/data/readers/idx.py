"""The IDX file format (MNIST's), raw or gzip-compressed, read with every check spelled out.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
data in C order::

    magic  = 0x00 0x00 <type code> <number of dimensions>
    dims   = n_dims × uint32, big-endian
    data   = prod(dims) items of the type

MNIST's label files are ``0x00000801`` (uint8, 1-D: count) and its image files
``0x00000803`` (uint8, 3-D: count × rows × columns). Only the unsigned-byte type code
``0x08`` is read here (it is all MNIST uses); the other codes of the format are named
in the error so a user knows what the file holds.

A file is gzip-compressed when it starts with the gzip magic bytes ``1f 8b`` — the file
name does not matter, so ``t10k-images-idx3-ubyte`` that is really gzip, or a ``.gz``
that was already unpacked, both read. Every problem is one :class:`DataError` that names
the file and says exactly what is wrong: not IDX (wrong magic), an unsupported type,
a header or data shorter than it declares ("truncated: expected N bytes, got M"), or
bytes left over after the data.
"""

from __future__ import annotations

import gzip
import zlib
from math import prod
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...limits import format_bytes, max_memory

__all__ = ["GZIP_MAGIC", "IDX_TYPES", "read_idx", "write_idx"]

GZIP_MAGIC = b"\x1f\x8b"
#: type code → (name, item size) for every type the IDX format defines
IDX_TYPES = {
    0x08: ("unsigned byte", 1),
    0x09: ("signed byte", 1),
    0x0B: ("short (int16)", 2),
    0x0C: ("int (int32)", 4),
    0x0D: ("float (float32)", 4),
    0x0E: ("double (float64)", 8),
}
UBYTE = 0x08
#: a sanity bound on the number of dimensions (MNIST uses 1 and 3)
MAX_DIMS = 16


def read_idx(path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (raw or gzip), uint8, shape = its dims.

    Raises :class:`DataError` naming the file and the problem when the file is not a
    valid unsigned-byte IDX file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == GZIP_MAGIC
            handle.seek(0)
            raw = _read_bounded(gzip.GzipFile(fileobj=handle) if compressed else handle, path, compressed)
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as error:
        if compressed:
            raise DataError(f"{path}: the file starts like gzip (bytes 1f 8b) but cannot be "
                            f"decompressed ({error}); it is probably truncated or corrupt — "
                            "download it again") from None
        raise DataError(f"cannot read the IDX file {path}: {error}") from None
    return _parse(raw, f"{path}" + (" (gzip)" if compressed else ""))


#: bytes read beyond what the header declares, to report how many extra there are
EXTRA_SLACK = 1 << 20


def _read_bounded(stream, path: Path, compressed: bool) -> bytes:
    """The file's bytes, never more than its header declares (+ a little, to report extra
    bytes) and never more than ALZZA_MAX_MEMORY: a gzip bomb is refused, not inflated."""
    head = stream.read(4)
    if len(head) == 4 and head[:2] == b"\x00\x00" and 0 < head[3] <= MAX_DIMS:
        head += stream.read(4 * head[3])
    declared = None
    if len(head) >= 4 and len(head) == 4 + 4 * head[3]:
        dims = [int.from_bytes(head[4 + 4 * k:8 + 4 * k], "big") for k in range(head[3])]
        declared = len(head) + prod(dims) * IDX_TYPES.get(head[2], ("", 1))[1]
        if declared > max_memory():
            raise DataError(f"{path}: its header declares {' × '.join(map(str, dims))} values "
                            f"({format_bytes(declared)}), more than the limit of {format_bytes(max_memory())} "
                            "(ALZZA_MAX_MEMORY); the file is damaged or not MNIST")
    cap = (declared if declared is not None else len(head)) + EXTRA_SLACK
    data = head + stream.read(cap - len(head))
    if len(data) >= cap and stream.read(1):
        if compressed:
            raise DataError(f"{path}: decompresses to more than the {format_bytes(cap - EXTRA_SLACK)} its "
                            "header declares; the file is damaged (or a decompression bomb)")
        size = path.stat().st_size
        raise DataError(f"{path}: expected {cap - EXTRA_SLACK} bytes, got {size} ({size - cap + EXTRA_SLACK} extra "
                        "bytes after the data); the header does not match the data")
    return data


def _parse(raw: bytes, where: str) -> np.ndarray:
    if len(raw) < 4:
        raise DataError(f"{where}: truncated: an IDX file starts with a 4-byte magic number, "
                        f"but the file has only {len(raw)} bytes")
    magic = int.from_bytes(raw[:4], "big")
    zero, type_code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00":
        raise DataError(
            f"{where}: wrong magic number 0x{magic:08X}: not an IDX file (an IDX file starts "
            "with two zero bytes, a type code and the number of dimensions, e.g. 0x00000801 "
            "for MNIST labels, 0x00000803 for MNIST images)")
    if type_code != UBYTE:
        known = IDX_TYPES.get(type_code)
        what = f"0x{type_code:02X} ({known[0]})" if known else f"0x{type_code:02X} (not an IDX type)"
        raise DataError(f"{where}: magic number 0x{magic:08X} has type code {what}; only "
                        "unsigned-byte IDX files (type code 0x08, as MNIST's) can be read")
    if ndim == 0 or ndim > MAX_DIMS:
        raise DataError(f"{where}: magic number 0x{magic:08X} declares {ndim} dimensions; "
                        f"expected 1 to {MAX_DIMS} (MNIST: 1 for labels, 3 for images)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{where}: truncated: the header of {ndim} dimensions needs "
                        f"{header} bytes, got {len(raw)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    shape = " × ".join(str(d) for d in dims)
    if len(raw) < expected:
        raise DataError(f"{where}: truncated: expected {expected} bytes (a {header}-byte header "
                        f"and {shape} data bytes), got {len(raw)} ({expected - len(raw)} missing)"
                        + (" after decompression" if where.endswith("(gzip)") else ""))
    if len(raw) > expected:
        raise DataError(f"{where}: expected {expected} bytes (a {header}-byte header and "
                        f"{shape} data bytes), got {len(raw)} ({len(raw) - expected} extra bytes "
                        "after the data); the header does not match the data")
    return np.frombuffer(raw, dtype=np.uint8, count=expected - header, offset=header).reshape(dims)


def write_idx(path, array, compress: bool | None = None) -> Path:
    """Write a uint8 array as an IDX file (gzip when ``compress``, default: name ends .gz).

    For tests and for users who make their own MNIST-like files.
    """
    path = Path(path)
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays, got {array.dtype}")
    if not 1 <= array.ndim <= MAX_DIMS:
        raise ValueError(f"an IDX array needs 1 to {MAX_DIMS} dimensions, got {array.ndim}")
    data = bytes([0, 0, UBYTE, array.ndim])
    data += b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        data = gzip.compress(data, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
