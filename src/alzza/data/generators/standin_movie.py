"""A stand-in movie rendered from the flower photos (the book's movie is not available here).

The chapter 12 movie (a 1937 feature film) is not shipped or downloadable here, so
:func:`standin_movie` renders a stand-in: ``shots`` shots of ``shot_frames`` frames each,
every shot a slow pan (left→right, right→left, top→bottom or bottom→top) or a slow zoom
(in or out) over one flower photo, cut directly to the next shot. The photos are drawn
without replacement from ``<data>/flowers/<class>/*`` with a fixed seed, the motion of
each shot too, so the movie is the same on every machine with the same photos.

The frames are written as an H.264 .mp4 with :func:`~alzza.data.readers.video.write_video` and
read back through the same reader as any user movie. The file is rendered once and
kept in the cache folder (``$ALZZA_CACHE`` or the per-user cache), named by a digest of
the parameters and of every flower file's path, size and modification time: changed
photos or parameters render a new movie.

Shot ``s`` covers frames ``s·shot_frames … (s+1)·shot_frames − 1``
(:func:`shot_starts`), which is how the stand-in data set places exactly one thumbnail
position inside each shot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ...errors import DataError
from ..store.cache import DiskCache, cache_key
from ..readers.image_folder import IMAGE_EXTENSIONS
from ..readers.video import write_video

__all__ = ["STANDIN_MOTIONS", "list_photos", "render_shot", "render_standin_frames",
           "shot_starts", "standin_movie"]

STANDIN_MOTIONS = ("pan-right", "pan-left", "pan-down", "pan-up", "zoom-in", "zoom-out")
#: the seed that picks photos and motions (fixed: the stand-in is one movie)
STANDIN_SEED = 1212
_CACHE_KIND = "videoshot-standin"
# Bump when the rendering changes so old movies are rendered again.
_FORMAT_VERSION = 1
# The crop window of a pan is this share of the photo's shorter fitting box; a zoom goes
# from the whole box to ZOOM of it.
PAN = 0.8
ZOOM = 0.75


def list_photos(folder) -> list[Path]:
    """The image files under ``folder/<class>/``, sorted (hidden folders skipped)."""
    folder = Path(folder)
    files = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files.extend(sorted(p for p in sub.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS))
    return files


def _box(photo_size, aspect: float, share: float, cx: float, cy: float):
    """A crop box of ``aspect`` (w/h), ``share`` of the largest that fits, centred at (cx, cy)."""
    pw, ph = photo_size
    width = min(pw, ph * aspect) * share
    height = width / aspect
    x0 = float(np.clip(cx - width / 2, 0, pw - width))
    y0 = float(np.clip(cy - height / 2, 0, ph - height))
    return (x0, y0, x0 + width, y0 + height)


def render_shot(photo: Image.Image, motion: str, frames: int, size) -> np.ndarray:
    """uint8 ``(frames, h, w, 3)``: a slow ``motion`` over ``photo`` (RGB), ``size`` = (h, w)."""
    height, width = size
    aspect = width / height
    pw, ph = photo.size
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for k in range(frames):
        t = k / max(1, frames - 1)
        if motion.startswith("pan"):
            full = _box(photo.size, aspect, PAN, pw / 2, ph / 2)
            bw, bh = full[2] - full[0], full[3] - full[1]
            span_x, span_y = pw - bw, ph - bh
            if motion == "pan-right":
                x0, y0 = t * span_x, span_y / 2
            elif motion == "pan-left":
                x0, y0 = (1 - t) * span_x, span_y / 2
            elif motion == "pan-down":
                x0, y0 = span_x / 2, t * span_y
            else:
                x0, y0 = span_x / 2, (1 - t) * span_y
            box = (x0, y0, x0 + bw, y0 + bh)
        else:
            share = 1 - (1 - ZOOM) * (t if motion == "zoom-in" else 1 - t)
            box = _box(photo.size, aspect, share, pw / 2, ph / 2)
        out[k] = np.asarray(photo.resize((width, height), Image.Resampling.BILINEAR, box=box))
    return out


def _choose(photos: list[Path], shots: int, seed: int):
    rng = np.random.default_rng(seed)
    if len(photos) < shots:
        raise DataError(f"the stand-in movie needs {shots} photos (one per shot), found only {len(photos)}")
    chosen = rng.choice(len(photos), size=shots, replace=False)
    motions = rng.integers(len(STANDIN_MOTIONS), size=shots)
    return [photos[i] for i in chosen], [STANDIN_MOTIONS[m] for m in motions]


def render_standin_frames(photos: list[Path], shots: int, shot_frames: int, size, seed: int = STANDIN_SEED):
    """Yield the stand-in's frames (uint8 (h, w, 3)) shot after shot."""
    chosen, motions = _choose(photos, shots, seed)
    for path, motion in zip(chosen, motions, strict=False):
        try:
            with Image.open(path) as image:
                photo = image.convert("RGB")
        except Exception as error:  # noqa: BLE001
            raise DataError(f"stand-in movie: cannot read the photo {path} ({type(error).__name__}: {error})") from None
        yield from render_shot(photo, motion, shot_frames, size)


def shot_starts(shots: int, shot_frames: int) -> np.ndarray:
    """The first frame of every shot of the stand-in."""
    return np.arange(shots, dtype=np.int64) * int(shot_frames)


def standin_movie(flowers_folder, *, shots: int = 100, shot_frames: int = 48, size=(120, 160),
                  fps: int = 24, seed: int = STANDIN_SEED, cache: DiskCache | None = None,
                  printer=print) -> Path:
    """The stand-in .mp4 (rendered on first use, then taken from the cache folder)."""
    height, width = (int(v) for v in size)
    if height % 2 or width % 2 or height < 8 or width < 8:
        raise DataError(f"the stand-in movie size must be even and at least 8×8, got {height}×{width}")
    photos = list_photos(flowers_folder)
    cache = cache if cache is not None else DiskCache()
    params = {"shots": int(shots), "shot_frames": int(shot_frames), "size": [height, width], "fps": int(fps),
              "seed": int(seed), "version": _FORMAT_VERSION}
    key = cache_key(_CACHE_KIND, params, photos, base=flowers_folder)
    path = cache.path(key).with_suffix(".mp4")
    if path.is_file() and path.stat().st_size > 0:
        return path
    printer(f"rendering the stand-in movie ({shots} shots × {shot_frames} frames, {height}×{width}, "
            f"{fps} fps) into {path} ...")
    try:
        write_video(path, render_standin_frames(photos, shots, shot_frames, (height, width), seed), fps=fps)
    except OSError as error:
        raise DataError(f"could not write the stand-in movie {path}: {error}") from None
    return path

