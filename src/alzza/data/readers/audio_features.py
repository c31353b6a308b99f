"""The book's FFT features of PCM recordings (chapter 11), and reading them for a folder, cached.

Features (:func:`fft_features`): the recording is made mono (mean of the channels) and
cut into windows of ``window`` ms every ``interval`` ms (a last, partial window is left
out); each window's FFT magnitude (``np.fft.rfft``, rectangular window, no scaling) is
averaged into ``bands`` (100) equal-width frequency bands from 0 Hz to the Nyquist
frequency. All windows of a recording go through one ``rfft`` call over a strided view of
the signal. When a window has fewer than ``2 * bands`` samples, the FFT is zero-padded to
``2 * bands`` points, so every band holds at least one bin.

:func:`read_audio_features` computes them for a list of WAV files, caching the result on
disk under a key of the parameters and of every file's path, size and mtime. The audio
data sets (:mod:`alzza.data.sets.audio`) are built on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...sequences import Sequences
from ..store.cache import DiskCache, cache_key, str_array
from .wav import cut_windows, read_wav, to_mono

#: bump when the feature computation changes: old cache files are then never used
FEATURE_VERSION = 1
DEFAULT_BANDS = 100
_CACHE_KIND = "audio-fft"
_CACHE_ARRAYS = ("frames", "lengths", "paths", "skipped_paths", "skipped_reasons")


def band_edges(bins: int, bands: int) -> np.ndarray:
    """``bands + 1`` bin indices cutting ``bins`` FFT bins into equal-width bands.

    Band ``b`` averages bins ``edges[b] : edges[b + 1]``; widths differ by at most one and
    none is empty when ``bins >= bands``.
    """
    return (np.arange(bands + 1, dtype=np.int64) * bins) // bands


def fft_size(window_samples: int, bands: int) -> int:
    """The FFT length: the window, zero-padded to ``2 * bands`` points if shorter."""
    return max(int(window_samples), 2 * int(bands))


def fft_features(signal: np.ndarray, rate: int, window: float = 10, interval: float = 10,
                 bands: int = DEFAULT_BANDS, max_steps: int | None = None, path=None) -> np.ndarray:
    """The book's features of one recording: ``(windows, bands)`` float32.

    ``signal`` is 1-D (mono) or ``(n, channels)`` (made mono by the mean of the
    channels). Raises :class:`DataError` (naming ``path``) when the signal is shorter
    than one window.
    """
    signal = to_mono(np.asarray(signal, dtype=np.float32))
    frames = cut_windows(signal, rate, window, interval, max_windows=max_steps, path=path)
    n_fft = fft_size(frames.shape[1], bands)
    magnitude = np.abs(np.fft.rfft(frames, n=n_fft, axis=1))  # (windows, n_fft // 2 + 1)
    edges = band_edges(magnitude.shape[1], bands)
    sums = np.add.reduceat(magnitude, edges[:-1], axis=1)
    return (sums / np.diff(edges)).astype(np.float32)


def band_of_frequency(freq: float, rate: int, window: float, bands: int = DEFAULT_BANDS) -> int:
    """The band a pure tone of ``freq`` Hz lands in (for checks and plots)."""
    from .wav import ms_to_samples

    n_fft = fft_size(ms_to_samples(window, rate), bands)
    bins = n_fft // 2 + 1
    k = int(round(freq * n_fft / rate))
    edges = band_edges(bins, bands)
    return int(np.searchsorted(edges, k, side="right") - 1)


@dataclass
class AudioFeatures:
    """The features of a list of recordings, concatenated, with each one's length.

    ``frames`` is ``(sum of lengths, bands)``; recording ``i`` holds
    ``frames[offsets[i]:offsets[i] + lengths[i]]``. ``paths`` are the recordings that were
    read (relative to the folder), ``kept`` their indices in the list asked for, and
    ``skipped`` the ``(path, reason)`` of those that could not be used.
    """

    frames: np.ndarray
    lengths: np.ndarray
    paths: list
    kept: np.ndarray
    skipped: list = field(default_factory=list)
    from_cache: bool = False
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def sequences(self, max_steps: int | None = None) -> Sequences:
        """Padded ``Sequences (N, T, bands)``: T the longest length (at most ``max_steps``)."""
        lengths = self.lengths.astype(np.int64)
        if max_steps is not None:
            lengths = np.minimum(lengths, int(max_steps))
        steps = int(lengths.max()) if len(lengths) else 1
        bands = self.frames.shape[1]
        data = np.zeros((len(lengths), steps, bands), dtype=np.float32)
        # one contiguous block copy per recording (faster than a fancy-indexed scatter)
        for i, (start, length) in enumerate(zip(self.offsets.tolist(), lengths.tolist(), strict=False)):
            data[i, :length] = self.frames[start:start + length]
        return Sequences(data, lengths)


def read_audio_features(files, folder, *, window: float = 10, interval: float = 10,
                        bands: int = DEFAULT_BANDS, cache: DiskCache | None = None,
                        progress: bool | None = None) -> AudioFeatures:
    """FFT features of every WAV file in ``files`` (paths under ``folder``), cached.

    ``progress`` as :func:`alzza.progress.progress_bar`'s: ``None`` follows ``alzza run``'s
    ``--no-progress`` and shows the bar only to someone watching.

    Unusable files (not PCM, truncated, too short...) are skipped and reported in
    ``skipped``; the caller decides what to say. The cache key covers the parameters
    and every file's path (relative to ``folder``), size and mtime.
    """
    from ...progress import progress_bar

    start = time.perf_counter()
    folder = Path(folder)
    files = [Path(f) for f in files]
    params = {"window": float(window), "interval": float(interval), "bands": int(bands),
              "version": FEATURE_VERSION}
    key = None
    if cache is not None:
        key = cache_key(_CACHE_KIND, params, files, base=folder)
        stored = cache.load(key, expected=_CACHE_ARRAYS)
        if stored is not None:
            result = _from_arrays(stored, files, folder, bands)
            if result is not None:
                result.seconds = time.perf_counter() - start
                return result
            cache.discard(key, "its contents do not match the recordings")
    parts, lengths, kept, skipped = [], [], [], []
    bar = progress_bar(len(files), False if len(files) < 200 else progress, f"FFT of {folder.name}", unit="wav",
                       iterable=files)
    for index, path in enumerate(bar):
        try:
            samples, rate = read_wav(path)
            feats = fft_features(samples, rate, window, interval, bands, path=path)
        except DataError as error:
            skipped.append((_relative(path, folder), str(error)))
            continue
        parts.append(feats)
        lengths.append(len(feats))
        kept.append(index)
    bar.close()
    frames = np.concatenate(parts) if parts else np.zeros((0, bands), np.float32)
    result = AudioFeatures(frames=frames, lengths=np.array(lengths, dtype=np.int64),
                           paths=[_relative(files[i], folder) for i in kept],
                           kept=np.array(kept, dtype=np.int64), skipped=skipped)
    if cache is not None:
        cache.save(key, {
            "frames": frames,
            "lengths": result.lengths,
            "paths": str_array(result.paths),
            "skipped_paths": str_array(p for p, _ in skipped),
            "skipped_reasons": str_array(r for _, r in skipped),
        })
    result.seconds = time.perf_counter() - start
    return result


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def _from_arrays(stored: dict, files: list[Path], folder: Path, bands: int) -> AudioFeatures | None:
    """An AudioFeatures from cached arrays, or None when they do not fit the file list."""
    frames, lengths = stored["frames"], stored["lengths"]
    paths = [str(p) for p in stored["paths"]]
    wanted = {_relative(f, folder): i for i, f in enumerate(files)}
    skipped = list(zip((str(p) for p in stored["skipped_paths"]),
                       (str(r) for r in stored["skipped_reasons"]), strict=False))
    if (frames.ndim != 2 or frames.shape[1] != bands or frames.dtype != np.float32
            or lengths.ndim != 1 or len(lengths) != len(paths) or np.any(lengths < 1)
            or int(lengths.sum()) != len(frames) or len(paths) + len(skipped) != len(files)
            or any(p not in wanted for p in paths)):
        return None
    kept = np.array([wanted[p] for p in paths], dtype=np.int64)
    return AudioFeatures(frames=frames, lengths=lengths.astype(np.int64), paths=paths, kept=kept,
                         skipped=skipped, from_cache=True)
