"""Read .mp4 (and other) movies into the book's thumbnails; write frames as .mp4 (a reader).

The book's video chapter (12) never trains on whole frames: it picks 100 random
positions in a movie, takes 4 consecutive frames at each and shrinks them to 90×120
RGB "thumbnails". :func:`read_thumbnails` does exactly that and returns uint8
``(positions, 4, 90, 120, 3)``; :func:`read_thumbnail_set` returns the same with the
positions, the frame count and the frame rate.

Library: PyAV (``av``). Its wheels bundle FFmpeg's libraries (libx264 included), so
it reads and writes H.264 .mp4 offline, with nothing downloaded at run time and no
``ffmpeg`` program needed on the PATH. It decodes in-process into NumPy arrays (no
pipes), seeks by timestamp, and resizes with FFmpeg's swscale while converting to RGB.
OpenCV's pip wheels can write only MPEG-4 part 2 (``mp4v``) and weigh ~50 MB; imageio
goes through a subprocess pipe to a bundled ffmpeg binary.

Frames are numbered from 0 in presentation order, counted from their timestamps at the
stream's average frame rate (movies are taken to have a constant frame rate, as .mp4
files almost always do). Positions lie far apart in a long movie, so the reader seeks
(to the key frame before a position, then decodes forward) when the next wanted frame
is more than :data:`SEEK_GAP` frames ahead; short movies are simply decoded in order.

Reading 100 positions takes seconds for a long movie, so the thumbnails are kept in a
:class:`~alzza.data.store.cache.DiskCache` keyed by the movie's size and modification time
and by every parameter (positions, frames per position, size, seed, format version): a
changed movie rebuilds them, and a corrupt cache file is deleted and rebuilt.

Errors are :class:`~alzza.errors.DataError`: a missing file, a file that is not a
video (or has no video stream), and a movie with too few frames.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..store.cache import DiskCache, cache_key

__all__ = [
    "THUMB_SIZE",
    "FRAMES_PER_POSITION",
    "POSITIONS",
    "ThumbnailSet",
    "VideoInfo",
    "probe_video",
    "read_thumbnail_set",
    "read_thumbnails",
    "write_video",
]

#: the book's thumbnail size (height, width)
THUMB_SIZE = (90, 120)
#: consecutive frames taken at each position
FRAMES_PER_POSITION = 4
#: random positions taken in the movie
POSITIONS = 100
#: the next wanted frame further ahead than this many frames → seek instead of decoding on
SEEK_GAP = 120

# Bump when the reading changes (resize filter, frame numbering, ...) so old caches miss.
_FORMAT_VERSION = 1
_CACHE_KIND = "video-thumbnails"
_CACHE_ARRAYS = ("thumbnails", "positions", "frame_count", "fps")


def _av():
    try:
        import av
    except ImportError as error:  # pragma: no cover - av is a declared dependency
        raise DataError("reading video needs PyAV: pip install av") from error
    return av


@dataclass
class VideoInfo:
    """What a movie holds: frame count, frame rate, frame size (height, width)."""

    path: Path
    frame_count: int
    fps: float
    height: int
    width: int


@dataclass
class ThumbnailSet:
    """Thumbnails of a movie: uint8 ``(P, F, h, w, 3)`` and where they came from.

    ``positions[p]`` is the index of the first frame of ``thumbnails[p]``; the F frames
    of a position are consecutive.
    """

    thumbnails: np.ndarray
    positions: np.ndarray
    frame_count: int
    fps: float
    from_cache: bool = False


# --------------------------------------------------------------------------- opening
def _open(path: Path):
    """The opened container and its first video stream, or a DataError."""
    av = _av()
    if not path.exists():
        raise DataError(f"video file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; expected a video file (.mp4)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise DataError(f"{path} is not a readable video file ({type(error).__name__}: {error})") from None
    if not container.streams.video:
        container.close()
        raise DataError(f"{path} has no video stream (not a video file?)")
    return container, container.streams.video[0]


def _fps(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise DataError(f"cannot tell the frame rate of the video stream in {stream.container.name}")
    return Fraction(rate)


def _count_frames(container, stream) -> int:
    """Frames in the stream: the header's count, else the packets counted by demuxing."""
    if stream.frames and stream.frames > 0:
        return int(stream.frames)
    count = 0
    for packet in container.demux(stream):
        if packet.size:
            count += 1
    container.seek(0, stream=stream)
    return count


def probe_video(path) -> VideoInfo:
    """Frame count, rate and size of a movie (DataError if it is not one)."""
    path = Path(path)
    container, stream = _open(path)
    av = _av()
    try:
        frames = _count_frames(container, stream)
        return VideoInfo(path, frames, float(_fps(stream)), int(stream.codec_context.height),
                         int(stream.codec_context.width))
    except av.error.FFmpegError as error:
        raise DataError(f"{path} is not a readable video file ({error})") from None
    finally:
        container.close()


# --------------------------------------------------------------------------- reading
def _frame_index(frame, stream, fps: Fraction, start: int) -> int | None:
    if frame.pts is None or stream.time_base is None:
        return None
    return int(round((frame.pts - start) * stream.time_base * fps))


def _read_frames(path: Path, wanted: np.ndarray, size: tuple[int, int],
                 seek_gap: int = SEEK_GAP) -> dict[int, np.ndarray]:
    """Frames ``wanted`` (sorted, unique indices) resized to ``size``: index → uint8 (h, w, 3)."""
    av = _av()
    height, width = size
    container, stream = _open(path)
    stream.thread_type = "AUTO"
    out: dict[int, np.ndarray] = {}
    try:
        fps = _fps(stream)
        start = stream.start_time or 0
        targets = [int(i) for i in wanted]
        cursor = 0          # next target to fill
        current = -1        # index of the last decoded frame
        sought = None       # the target of the last seek (decode on to it, however far)
        while cursor < len(targets):
            target = targets[cursor]
            if target - current > seek_gap and target != sought:
                pts = start + int(Fraction(target) / fps / stream.time_base)
                container.seek(pts, stream=stream, backward=True, any_frame=False)
                sought = target
            seek_again = False
            for frame in container.decode(stream):
                index = _frame_index(frame, stream, fps, start)
                current = current + 1 if index is None else index
                while cursor < len(targets) and targets[cursor] < current:
                    cursor += 1     # passed without a frame (a gap in timestamps)
                if cursor < len(targets) and targets[cursor] == current:
                    out[current] = frame.to_ndarray(format="rgb24", width=width, height=height,
                                                    interpolation="BILINEAR")
                    cursor += 1
                if cursor >= len(targets):
                    break
                if targets[cursor] - current > seek_gap and targets[cursor] != sought:
                    seek_again = True
                    break           # far ahead: seek there
            if not seek_again:
                break               # done, or the end of the stream
    except av.error.FFmpegError as error:
        raise DataError(f"{path}: could not decode the video ({error})") from None
    finally:
        container.close()
    return out


def _check_size(size) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return height, width


def read_thumbnail_set(path, positions=POSITIONS, frames_per_position: int = FRAMES_PER_POSITION,
                       size=THUMB_SIZE, *, seed: int = 0,
                       cache: DiskCache | None | bool = True) -> ThumbnailSet:
    """The book's thumbnails of the movie at ``path``, with their positions.

    ``positions`` is a count (that many distinct start frames drawn with ``seed``, sorted)
    or a sequence of start-frame indices (used as given). At each position,
    ``frames_per_position`` consecutive frames are read and resized to ``size`` =
    (height, width). ``cache`` is a :class:`DiskCache`, ``True`` for the default one,
    or ``None``/``False`` for none.
    """
    path = Path(path)
    height, width = _check_size(size)
    frames_per_position = int(frames_per_position)
    if frames_per_position <= 0:
        raise ValueError(f"frames_per_position must be positive, got {frames_per_position}")
    explicit = not isinstance(positions, (int, np.integer))
    if explicit:
        chosen = np.asarray(positions, dtype=np.int64).reshape(-1)
        if len(chosen) == 0 or chosen.min() < 0:
            raise ValueError(f"positions must be non-negative frame indices, got {positions!r}")
        count = len(chosen)
    else:
        count = int(positions)
        if count <= 0:
            raise ValueError(f"positions must be a positive count, got {positions!r}")
    if not path.is_file():
        if not path.exists():
            raise DataError(f"video file not found: {path}")
        raise DataError(f"{path} is a folder; expected a video file (.mp4)")
    if cache is True:
        cache = DiskCache()
    elif cache is False:
        cache = None

    key = None
    if cache is not None:
        params = {"positions": chosen.tolist() if explicit else count, "seed": None if explicit else int(seed),
                  "frames_per_position": frames_per_position, "size": [height, width],
                  "version": _FORMAT_VERSION}
        key = cache_key(_CACHE_KIND, params, [path], base=path.parent)
        stored = cache.load(key, expected=_CACHE_ARRAYS)
        if stored is not None:
            thumbs = stored["thumbnails"]
            ok = (thumbs.dtype == np.uint8 and thumbs.shape == (count, frames_per_position, height, width, 3)
                  and stored["positions"].shape == (count,))
            if ok:
                return ThumbnailSet(thumbs, stored["positions"].astype(np.int64), int(stored["frame_count"]),
                                    float(stored["fps"]), from_cache=True)
            cache.discard(key, "its contents do not match the parameters")

    info = probe_video(path)
    starts = info.frame_count - frames_per_position + 1
    if explicit:
        if chosen.max() >= starts:
            raise DataError(f"{path}: has {info.frame_count} frames; position {int(chosen.max())} + "
                            f"{frames_per_position} frames runs past the end")
    else:
        if starts < count:
            raise DataError(f"{path}: too few frames: {info.frame_count}, need at least "
                            f"{count + frames_per_position - 1} for {count} positions of "
                            f"{frames_per_position} consecutive frames")
        chosen = np.sort(np.random.default_rng(seed).choice(starts, size=count, replace=False))
    wanted = np.unique((chosen[:, None] + np.arange(frames_per_position)[None, :]).reshape(-1))
    frames = _read_frames(path, wanted, (height, width))
    missing = [int(i) for i in wanted if int(i) not in frames]
    if missing:
        raise DataError(f"{path}: could not read {len(missing)} of {len(wanted)} wanted frames "
                        f"(first missing: frame {missing[0]} of {info.frame_count}); "
                        "the file may be truncated or damaged")
    thumbs = np.empty((count, frames_per_position, height, width, 3), dtype=np.uint8)
    for p, start in enumerate(chosen):
        for k in range(frames_per_position):
            thumbs[p, k] = frames[int(start) + k]
    result = ThumbnailSet(thumbs, chosen.astype(np.int64), info.frame_count, info.fps)
    if cache is not None:
        cache.save(key, {"thumbnails": thumbs, "positions": result.positions,
                         "frame_count": np.int64(info.frame_count), "fps": np.float64(info.fps)})
    return result


def read_thumbnails(path, positions=POSITIONS, frames_per_position: int = FRAMES_PER_POSITION,
                    size=THUMB_SIZE, *, seed: int = 0, cache: DiskCache | None | bool = True) -> np.ndarray:
    """uint8 ``(P, frames_per_position, h, w, 3)``: see :func:`read_thumbnail_set`."""
    return read_thumbnail_set(path, positions, frames_per_position, size, seed=seed, cache=cache).thumbnails


# --------------------------------------------------------------------------- writing
def write_video(path, frames, fps: int = 24, *, codec: str = "libx264", crf: int = 18) -> Path:
    """Write uint8 RGB frames ``(n, h, w, 3)`` (an array or an iterable) as a video file.

    H.264 in yuv420p (so h and w must be even), constant frame rate ``fps``. The file is
    written under a temporary name and moved into place, so a reader never sees half a
    movie.
    """
    av = _av()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    stream = None
    try:
        with av.open(str(temp), "w", format="mp4" if path.suffix.lower() in (".mp4", ".m4v") else None) as out:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if stream is None:
                    height, width = frame.shape[:2]
                    if height % 2 or width % 2:
                        raise ValueError(f"frame size must be even for yuv420p, got {height}×{width}")
                    stream = out.add_stream(codec, rate=int(fps))
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    if codec == "libx264":
                        stream.options = {"crf": str(crf), "preset": "fast"}
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
            if stream is None:
                raise ValueError("no frames to write")
            for packet in stream.encode():
                out.mux(packet)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
