"""A PCM WAV reader (and writer) in plain Python + NumPy.

:func:`read_wav` parses the RIFF/WAVE container itself with :mod:`struct` — Python's
:mod:`wave` module rejects ``WAVE_FORMAT_EXTENSIBLE`` before Python 3.12, and many real
recordings (24-bit, multichannel) are written that way. Neither :mod:`wave` nor PyAV (an
alzza dependency, for video) refuses a truncated ``data`` chunk — both return the samples
that are there — and PyAV decodes IEEE-float WAV as readily as PCM, so neither could give
the errors below without this header walk; the decoding after it is a few NumPy lines.

What is accepted:

- format code 1 (``WAVE_FORMAT_PCM``), or 0xFFFE (``WAVE_FORMAT_EXTENSIBLE``) whose
  sub-format GUID is PCM;
- 8-bit (unsigned, offset 128), 16-, 24- and 32-bit (signed, little-endian) samples;
  a container wider than the valid bits (e.g. 20 valid bits in 24) is read by its
  container, which is how such samples are stored (left-justified);
- any channel count and any sample rate;
- chunks other than ``fmt `` and ``data`` (``LIST``, ``fact``, ``cue `` ...) are skipped,
  including the pad byte after an odd-sized chunk.

Samples come back as float32 ``(n, channels)`` scaled to [-1, 1]: a B-bit sample ``v``
becomes ``v / 2**(B-1)``.

Errors are :class:`~alzza.errors.DataError` naming the file: not RIFF/WAVE, no ``fmt ``
or ``data`` chunk, a format that is not PCM (IEEE float is code 3, A-law 6, µ-law 7,
ADPCM 2 or 0x11 ...), an unsupported sample width, and a truncated ``data`` chunk
(fewer bytes in the file than the chunk declares — a cut-off download or copy, which
the reader refuses rather than silently training on part of a recording). The one
exception is a declared size of 0xFFFFFFFF, the marker streaming writers leave when
they never patch the header: then the data runs to the end of the file.

Helpers: :func:`to_mono` (mean of the channels), :func:`ms_to_samples` and
:func:`cut_windows` (windows of ``window`` ms every ``interval`` ms as a strided view,
:class:`DataError` when the signal is shorter than one window), and :func:`write_wav`
(PCM 8/16/24/32-bit, optionally EXTENSIBLE) for tests and stand-ins.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ...errors import DataError

__all__ = [
    "WAVE_FORMAT_EXTENSIBLE",
    "WAVE_FORMAT_PCM",
    "WavInfo",
    "cut_windows",
    "ms_to_samples",
    "read_wav",
    "read_wav_info",
    "to_mono",
    "window_count",
    "write_wav",
]

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
#: the tail of every WAVE sub-format GUID: {XXXXXXXX-0000-0010-8000-00AA00389B71}
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_FORMAT_NAMES = {0x0002: "Microsoft ADPCM", 0x0003: "IEEE float", 0x0006: "A-law",
                 0x0007: "mu-law", 0x0011: "IMA ADPCM", 0x0055: "MP3", 0x0161: "WMA"}
_STREAMING_SIZE = 0xFFFFFFFF  # left by streaming writers that never patch the header


class WavInfo:
    """What the ``fmt `` chunk says: channels, rate, bits per sample, bytes per frame."""

    __slots__ = ("channels", "rate", "bits", "block_align", "data_offset", "data_size")

    def __init__(self, channels, rate, bits, block_align, data_offset, data_size):
        self.channels, self.rate, self.bits = channels, rate, bits
        self.block_align, self.data_offset, self.data_size = block_align, data_offset, data_size

    @property
    def frames(self) -> int:
        return self.data_size // self.block_align

    @property
    def seconds(self) -> float:
        return self.frames / self.rate

    def __repr__(self):
        return (f"WavInfo({self.channels} ch, {self.rate} Hz, {self.bits}-bit, "
                f"{self.frames} frames)")


def _format_name(code: int) -> str:
    name = _FORMAT_NAMES.get(code)
    return f"format code {code:#06x}" + (f" ({name})" if name else "")


def _parse(path, blob: bytes) -> WavInfo:
    """Walk the chunks of a RIFF/WAVE file held in ``blob``; return the format and data span."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        head = blob[:4] if len(blob) >= 4 else blob
        kind = "RIFX (big-endian) is" if head == b"RIFX" else f"the file starts with {head!r}, which is"
        raise DataError(f"{path}: not a RIFF/WAVE file ({kind} not supported; "
                        "expected 'RIFF' ... 'WAVE')")
    fmt = None
    data = None
    pos = 12
    end = len(blob)
    while pos + 8 <= end:
        chunk_id = blob[pos:pos + 4]
        (size,) = struct.unpack_from("<I", blob, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + size > end:
                raise DataError(f"{path}: the 'fmt ' chunk is malformed ({size} bytes declared, "
                                f"{end - body} present; at least 16 needed)")
            fmt = _parse_fmt(path, blob[body:body + size])
        elif chunk_id == b"data":
            available = end - body
            if size > available:
                if size == _STREAMING_SIZE:
                    size = available
                else:
                    raise DataError(
                        f"{path}: truncated WAV file: the data chunk declares {size} bytes but "
                        f"only {available} follow (a cut-off copy or download?)")
            data = (body, size)
            if fmt is not None:
                break  # everything needed; ignore trailing chunks
        pos = body + size + (size & 1)  # chunks are padded to an even size
    if fmt is None:
        raise DataError(f"{path}: no 'fmt ' chunk before the end of the file: not a valid WAV file")
    if data is None:
        raise DataError(f"{path}: no 'data' chunk: the WAV file holds no samples (truncated?)")
    channels, rate, bits, block_align = fmt
    offset, size = data
    if size % block_align:
        raise DataError(f"{path}: truncated WAV file: the data chunk holds {size} bytes, not a "
                        f"whole number of {block_align}-byte frames")
    return WavInfo(channels, rate, bits, block_align, offset, size)


def _parse_fmt(path, chunk: bytes) -> tuple[int, int, int, int]:
    code, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", chunk)
    if code == WAVE_FORMAT_EXTENSIBLE:
        if len(chunk) < 40:
            raise DataError(f"{path}: WAVE_FORMAT_EXTENSIBLE header too short ({len(chunk)} bytes, "
                            "40 expected)")
        guid = chunk[24:40]
        (sub,) = struct.unpack_from("<H", guid)
        if guid[2:] != _GUID_TAIL:
            raise DataError(f"{path}: not PCM: WAVE_FORMAT_EXTENSIBLE with an unknown sub-format "
                            f"GUID {guid.hex()}; only PCM WAV files can be read")
        code = sub
    if code != WAVE_FORMAT_PCM:
        raise DataError(f"{path}: not PCM: {_format_name(code)}; only PCM WAV files "
                        "(8-bit unsigned, 16/24/32-bit signed) can be read")
    if channels < 1:
        raise DataError(f"{path}: the WAV header says {channels} channels")
    if rate < 1:
        raise DataError(f"{path}: the WAV header says a sample rate of {rate} Hz")
    width = block_align // channels if block_align % channels == 0 else 0
    if width not in (1, 2, 3, 4) or bits > 8 * width or bits < 1:
        raise DataError(f"{path}: unsupported PCM sample size ({bits} bits, {block_align} bytes "
                        f"per frame of {channels} channels); supported: 8, 16, 24, 32 bits")
    return channels, rate, 8 * width, block_align


def read_wav_info(path) -> WavInfo:
    """Channels, rate, bits and frame count of a PCM WAV file (checks it as read_wav does)."""
    path = Path(path)
    blob = _read_bytes(path)
    return _parse(path, blob)


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise DataError(f"{path}: WAV file not found") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the WAV file: {error}") from None


def decode_pcm(raw, bits: int, channels: int) -> np.ndarray:
    """Little-endian PCM bytes → float32 ``(frames, channels)`` in [-1, 1]."""
    width = bits // 8
    if width == 1:
        values = np.frombuffer(raw, dtype=np.uint8).astype(np.float32)
        values -= 128.0
        values *= np.float32(1.0 / 128.0)
    elif width == 2:
        values = np.frombuffer(raw, dtype="<i2").astype(np.float32)
        values *= np.float32(1.0 / 32768.0)
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = (ints << 8) >> 8  # sign-extend bit 23
        values = ints.astype(np.float32)
        values *= np.float32(1.0 / 8388608.0)
    elif width == 4:
        values = np.frombuffer(raw, dtype="<i4").astype(np.float64)
        values = (values * (1.0 / 2147483648.0)).astype(np.float32)
    else:  # pragma: no cover - _parse_fmt refuses other widths
        raise ValueError(f"unsupported sample width {bits}")
    return values.reshape(-1, channels)


def read_wav(path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV file: ``(samples, rate)``, samples float32 ``(n, channels)`` in [-1, 1]."""
    path = Path(path)
    blob = _read_bytes(path)
    info = _parse(path, blob)
    raw = memoryview(blob)[info.data_offset:info.data_offset + info.data_size]
    return decode_pcm(raw, info.bits, info.channels), info.rate


def to_mono(samples: np.ndarray) -> np.ndarray:
    """``(n, channels)`` → ``(n,)``: the mean of the channels (a 1-D signal is returned as is)."""
    samples = np.asarray(samples)
    if samples.ndim == 1:
        return samples
    if samples.shape[1] == 1:
        return samples[:, 0]
    return samples.mean(axis=1, dtype=np.float32)


def ms_to_samples(ms: float, rate: int) -> int:
    """Milliseconds → a whole number of samples at ``rate`` (rounded, at least 1)."""
    return max(1, int(round(float(ms) * rate / 1000.0)))


def window_count(length: int, window: int, step: int) -> int:
    """How many windows of ``window`` samples every ``step`` samples fit in ``length`` (≥ 0)."""
    return 0 if length < window else 1 + (length - window) // step


def cut_windows(signal: np.ndarray, rate: int, window_ms: float, interval_ms: float,
                max_windows: int | None = None, path=None) -> np.ndarray:
    """Windows of ``window_ms`` every ``interval_ms`` from a 1-D signal, as a read-only view.

    Returns ``(count, window_samples)``; window ``k`` starts at sample
    ``k * interval_samples``; a last, partial window is left out. Raises
    :class:`DataError` (naming ``path`` when given) if the signal is shorter than one
    window.
    """
    signal = np.ascontiguousarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"cut_windows needs a 1-D signal (use to_mono), got shape {signal.shape}")
    window = ms_to_samples(window_ms, rate)
    step = ms_to_samples(interval_ms, rate)
    count = window_count(len(signal), window, step)
    if count == 0:
        where = f"{path}: " if path is not None else ""
        raise DataError(f"{where}too short for one window: {len(signal)} samples "
                        f"({1000.0 * len(signal) / rate:.1f} ms at {rate} Hz) but one window is "
                        f"{window} samples ({window_ms} ms)")
    if max_windows is not None:
        count = min(count, int(max_windows))
    stride = signal.strides[0]
    return np.lib.stride_tricks.as_strided(signal, shape=(count, window),
                                           strides=(step * stride, stride), writeable=False)


def write_wav(path, samples, rate: int, bits: int = 16, extensible: bool = False) -> Path:
    """Write float samples in [-1, 1] (``(n,)`` or ``(n, channels)``) as a PCM WAV file.

    Values are scaled by ``2**(bits-1)``, rounded and clipped to the sample range (8-bit
    is stored unsigned, offset 128). ``extensible`` writes a WAVE_FORMAT_EXTENSIBLE
    header with the PCM sub-format.
    """
    path = Path(path)
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    if bits not in (8, 16, 24, 32):
        raise ValueError(f"bits must be 8, 16, 24 or 32, got {bits}")
    frames, channels = samples.shape
    width = bits // 8
    scale = float(2 ** (bits - 1))
    ints = np.clip(np.rint(samples * scale), -scale, scale - 1).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 2:
        raw = ints.astype("<i2").tobytes()
    elif width == 3:
        u = (ints & 0xFFFFFF).astype("<u4").reshape(-1)
        raw = np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    else:
        raw = ints.astype("<i4").tobytes()
    block_align = channels * width
    if extensible:
        mask = (1 << channels) - 1 if channels <= 18 else 0
        guid = struct.pack("<H", WAVE_FORMAT_PCM) + _GUID_TAIL
        fmt = struct.pack("<HHIIHHHHI", WAVE_FORMAT_EXTENSIBLE, channels, rate, rate * block_align,
                          block_align, bits, 22, bits, mask) + guid
    else:
        fmt = struct.pack("<HHIIHH", WAVE_FORMAT_PCM, channels, rate, rate * block_align,
                          block_align, bits)
    pad = b"\x00" if len(raw) % 2 else b""
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(raw)) + raw + pad)
    with open(path, "wb") as file:
        file.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
