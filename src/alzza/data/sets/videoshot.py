"""``videoshot`` (book chapter 12): does a new shot start at this frame of a sequence?

The movie is read once into the book's thumbnails (:mod:`alzza.data.readers.video`): 4
consecutive frames (90×120×3) at each of 100 positions, cached on disk. Laid end to
end they make 400 frames, and the first frame of every position is marked as a shot
start. A sequence of ``timesteps`` frames is then built step by step, as in the book:

- step 0 jumps to a random frame (any position, any of its 4 frames): target 1;
- every later step flips a fair coin: heads (or when the previous frame was the last
  of all) it jumps to a random frame of *another* position — target 1, a new shot
  starts here; tails it continues with the next frame — target 0 inside a position, 1
  when that next frame is the first of the following position (a cut in the movie).

Two deliberate differences from the book's code: a jump never lands in the position it
leaves (the book's jump could, and then said "new shot" over an unbroken shot, about
1% of jumps), and the first step's target is 1 but the book leaves it out of the loss
and the accuracy (its ``y[:, 2:]``): our targets keep all ``timesteps`` steps, and the
experiments ask the per-step binary head to skip step 0 where it can (see the
chapter 12 experiment files).

Inputs are :class:`~alzza.sequences.Sequences` ``(N, T, 90, 120, 3)`` float32 with raw
0–255 pixels (as the book feeds them) and every length = T; targets are plain
``(N, T, 1)`` float32; mode ``'seqbinary'``; ``input_shape`` and ``output_shape`` are
:class:`~alzza.sequences.SeqShape` ``(T, 90, 120, 3)`` and ``(T, 1)``.

Training batches are generated fresh on every call from the trainer's generator
(``train_count`` sequences make an epoch; the book's 2000). The validation and test
sets are generated once from fixed seeds, so they are the same whatever the run's
seed (the book drew a fresh test set of 128 each time). All sequences, train and test,
are drawn from the same thumbnails, as in the book.

Data sets:

- ``videoshot``: option ``file`` (an .mp4, relative to the data folder or absolute).
- ``videoshot-standin``: the movie rendered from the flower photos
  (:mod:`alzza.data.generators.standin_movie`): 100 shots × 48 frames (2 s each at 24 fps) of
  slow pans and zooms, 120×160, read back through the same reader. Its thumbnail
  positions are one per shot (4 frames inside the shot), so every position is its own
  shot, as 100 random places in a feature film almost always are.
- ``videoshot-or-standin``: ``videoshot`` when ``file`` names an existing file, else the
  stand-in (and it says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...errors import DataError, SpecError
from ...limits import check_memory
from ...options import Option
from ...sequences import Sequences, SeqShape
from ..store.cache import DiskCache
from ..dataset import Dataset, declared
from ..store.locate import find_data_file, missing_file_message, resolve_data_root
from ..registry import register_dataset
from ..generators.standin_movie import shot_starts, standin_movie
from ..readers.video import FRAMES_PER_POSITION, POSITIONS, THUMB_SIZE, ThumbnailSet, read_thumbnail_set

__all__ = ["VideoShotDataset", "make_videoshot", "make_videoshot_or_standin", "make_videoshot_standin",
           "MOVIE_SOURCE", "STANDIN_SOURCE"]

MOVIE_SOURCE = ("any movie file (.mp4 or another format FFmpeg reads); the book used "
                "'A Star Is Born' (1937), a public-domain film")
STANDIN_SOURCE = ("stand-in movie rendered from the flower photos (slow pans and zooms, one photo "
                  "per shot); the book's movie ('A Star Is Born', 1937) is not available here")

#: seed of the random thumbnail positions in a user's movie
THUMB_SEED = 12
#: seeds of the fixed validation and test sets
VALIDATE_SEED = 1201
TEST_SEED = 1202
#: seed of where, inside each stand-in shot, its thumbnail position lies
STANDIN_POSITION_SEED = 1203


def videoshot_shapes(timesteps: int = 5, *, name: str = "videoshot", frame_size=THUMB_SIZE, **_options) -> dict:
    """The name, mode, shapes and class names of ``timesteps``-frame sequences of thumbnails (the constructor
    and summaries read these)."""
    timesteps = int(timesteps)
    return {"name": name, "mode": "seqbinary", "input_shape": SeqShape((timesteps, *frame_size, 3)),
            "output_shape": SeqShape((timesteps, 1)), "target_names": ["same shot", "new shot"]}


def _named(name: str):
    return lambda **options: videoshot_shapes(name=name, **options)


def _movie_given(file, data_dir) -> Path | None:
    """Where videoshot-or-standin looks for ``file``: absolute, or under the data folder (None: no file)."""
    if not file:
        return None
    path = Path(file).expanduser()
    return path if path.is_absolute() else resolve_data_root(data_dir)[0] / path


def _videoshot_or_standin_declared(data_dir=None, file=None, **options) -> Dataset:
    # chooses as the factory does, by whether the movie file exists (a look, not a read)
    path = _movie_given(file, data_dir)
    name = "videoshot" if path is not None and path.is_file() else "videoshot-standin"
    return declared(_named(name))(data_dir, **options)


class VideoShotDataset(Dataset):
    """Sequences of thumbnail frames → per step, does a new shot start here (seqbinary)."""

    def __init__(self, thumbs: ThumbnailSet, *, name: str = "videoshot", source: str = "",
                 timesteps: int = 5, train_count: int = 2000, validate_count: int = 64,
                 test_count: int = 128):
        thumbnails = np.asarray(thumbs.thumbnails)
        if thumbnails.ndim != 5 or thumbnails.shape[-1] != 3:
            raise DataError(f"{name}: thumbnails must be (positions, frames, h, w, 3), got {thumbnails.shape}")
        positions, per_position = thumbnails.shape[:2]
        if positions < 2:
            raise DataError(f"{name}: needs at least 2 thumbnail positions to jump between, got {positions}")
        self.thumbs = thumbs
        self.frame_size = tuple(int(d) for d in thumbnails.shape[2:4])
        self.frames = thumbnails.reshape(-1, *thumbnails.shape[2:])  # uint8 (P·F, h, w, 3)
        self.per_position = int(per_position)
        self.position_count = int(positions)
        self.marks = np.zeros(len(self.frames), dtype=np.float32)
        self.marks[::per_position] = 1.0  # the first frame of each position starts a shot
        super().__init__(**videoshot_shapes(timesteps, name=name, frame_size=self.frame_size), source=source)
        self._counts = (int(train_count), int(validate_count), int(test_count))
        self.set_timesteps(timesteps)

    # ------------------------------------------------------------------ sequences
    def set_timesteps(self, timesteps: int) -> None:
        """Change the sequence length (the book's ``set_timesteps``); regenerates the fixed sets."""
        timesteps = int(timesteps)
        if timesteps < 1:
            raise DataError(f"{self.name}: timesteps must be at least 1, got {timesteps}")
        h, w = self.frame_size
        # the fixed validation and test sets are made now: refuse a size that can't fit first
        check_memory(sum(self._counts[1:]) * timesteps * h * w * 3 * 4,
                     f"{self.name}: {sum(self._counts[1:])} sequences of {timesteps} frames")
        self.timesteps = timesteps
        shapes = videoshot_shapes(timesteps, name=self.name, frame_size=self.frame_size)
        self.input_shape, self.output_shape = shapes["input_shape"], shapes["output_shape"]
        train, validate, test = self._counts
        self.train_count = train
        self._train = (Sequences(np.zeros((0, *self.input_shape), np.float32)), np.zeros((0, timesteps, 1), np.float32))
        self._validate = self.generate(validate, np.random.default_rng(VALIDATE_SEED))
        self._test = self.generate(test, np.random.default_rng(TEST_SEED))
        self.validate_count, self.test_count = validate, test

    def generate_indices(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Frame indices ``(count, T)`` into :attr:`frames` and targets ``(count, T)`` (1 = new shot)."""
        n, per, positions = len(self.frames), self.per_position, self.position_count
        index = np.empty((count, self.timesteps), dtype=np.int64)
        target = np.empty((count, self.timesteps), dtype=np.float32)
        pos = rng.integers(positions, size=count) * per + rng.integers(per, size=count)
        index[:, 0], target[:, 0] = pos, 1.0
        for k in range(1, self.timesteps):
            jump = (pos >= n - 1) | (rng.integers(2, size=count) == 0)
            here = pos // per
            other = rng.integers(positions - 1, size=count)
            other += other >= here  # any position but the current one
            jumped = other * per + rng.integers(per, size=count)
            pos = np.where(jump, jumped, pos + 1)
            index[:, k] = pos
            target[:, k] = np.where(jump, 1.0, self.marks[np.minimum(pos, n - 1)])
        return index, target

    def generate(self, count: int, rng: np.random.Generator):
        """``count`` fresh sequences: (Sequences float32 (count, T, h, w, 3), targets (count, T, 1))."""
        index, target = self.generate_indices(int(count), rng)
        x = self.frames[index].astype(np.float32)
        return Sequences(x), target[..., None]

    # ------------------------------------------------------------------ Dataset
    def train_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator:
        """One epoch: ``train_count // batch_size`` batches generated fresh from ``rng``."""
        for _ in range(self.batches_per_epoch(batch_size)):
            yield self.generate(batch_size, rng)

    def train_data(self):
        """A training-like set (fresh sequences from a fixed seed): training data is made on demand."""
        return self.generate(self.train_count, np.random.default_rng(VALIDATE_SEED + 100))

    def input_images(self, x) -> np.ndarray:
        """Each sequence as one film strip: uint8 ``(n, h, T·w + 2·(T−1), 3)``, frames side by side."""
        data = x.data if isinstance(x, Sequences) else np.asarray(x)
        if data.ndim == 4:
            data = data[None]
        frames = np.clip(np.rint(data), 0, 255).astype(np.uint8)
        count, steps, height, width = frames.shape[:4]
        gap = 2
        strip = np.full((count, height, steps * width + gap * (steps - 1), 3), 255, dtype=np.uint8)
        for k in range(steps):
            strip[:, :, k * (width + gap):k * (width + gap) + width] = frames[:, k]
        return strip

    def describe_input(self, x_row) -> str:
        height, width = self.frame_size
        return f"{self.timesteps} frames {height}×{width}"


# --------------------------------------------------------------------------- options
def _at_least(low: int, what: str):
    return lambda v: None if v >= low else f"{what} must be at least {low}, got {v!r}"


def _even_size(value) -> str | None:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 8 and v % 2 == 0 for v in value)):
        return f"movie_size must be [height, width], even numbers ≥ 8, got {value!r}"
    return None


#: the options of every videoshot data set
COMMON = {
    "timesteps": Option(int, 5, doc="frames per sequence (the book's set_timesteps)", check=_at_least(1, "timesteps")),
    "train_count": Option(int, 2000, doc="training sequences per epoch (generated fresh)",
                          check=_at_least(1, "train_count")),
    "validate_count": Option(int, 64, doc="validation sequences (fixed seed)", check=_at_least(1, "validate_count")),
    "test_count": Option(int, 128, doc="test sequences (fixed seed; the book's 128)",
                         check=_at_least(1, "test_count")),
}
#: the options of the book's movie
MOVIE = {
    "file": Option(str, None, doc="the movie (.mp4), relative to the data folder or absolute"),
    "positions": Option(int, POSITIONS, doc="random thumbnail positions in the movie (the book's 100)",
                        check=_at_least(2, "positions")),
}
#: the options of the stand-in movie
STANDIN = {
    "shots": Option(int, 100, doc="stand-in: shots (one flower photo each)", check=_at_least(2, "shots")),
    "shot_frames": Option(int, 48, doc="stand-in: frames per shot",
                          check=_at_least(FRAMES_PER_POSITION, "shot_frames")),
    "movie_size": Option((list, tuple), [120, 160], doc="stand-in: frame size [height, width]", check=_even_size),
    "fps": Option(int, 24, doc="stand-in: frames per second", check=_at_least(1, "fps")),
}


# --------------------------------------------------------------------------- factories
def _movie_path(file: str, data_dir) -> Path:
    path = Path(file).expanduser()
    if path.is_absolute():
        if not path.exists():
            root, rule = resolve_data_root(data_dir)
            raise DataError(missing_file_message(str(path), path, root, rule, "videoshot", MOVIE_SOURCE))
        return path
    return find_data_file(file, data_dir, dataset="videoshot", source=MOVIE_SOURCE)


@register_dataset("videoshot", options={**COMMON, **MOVIE}, shapes=declared(_named("videoshot")),
                  summary="a movie's thumbnails → per step, does a new shot start (seqbinary)")
def make_videoshot(data_dir=None, rng=None, *, file=None, timesteps=5, train_count=2000,
                   validate_count=64, test_count=128, positions=POSITIONS, **_ignored) -> VideoShotDataset:
    """``videoshot``: thumbnails of the movie ``file`` (relative to the data folder, or absolute)."""
    del rng  # the fixed sets have fixed seeds; training batches come from the trainer's generator
    if not file:
        raise SpecError("dataset.file", "data set 'videoshot' needs 'file': a movie (.mp4) relative "
                                        "to the data folder or an absolute path")
    path = _movie_path(file, data_dir)
    thumbs = read_thumbnail_set(path, positions, FRAMES_PER_POSITION, THUMB_SIZE, seed=THUMB_SEED)
    return VideoShotDataset(thumbs, name="videoshot", source=f"{path} — {MOVIE_SOURCE}", timesteps=timesteps,
                            train_count=train_count, validate_count=validate_count, test_count=test_count)


def standin_positions(shots: int, shot_frames: int, per_position: int = FRAMES_PER_POSITION) -> np.ndarray:
    """One thumbnail position per stand-in shot, its frames all inside the shot (fixed seed)."""
    if shot_frames < per_position:
        raise DataError(f"a stand-in shot needs at least {per_position} frames, got {shot_frames}")
    offsets = np.random.default_rng(STANDIN_POSITION_SEED).integers(shot_frames - per_position + 1, size=shots)
    return shot_starts(shots, shot_frames) + offsets


@register_dataset("videoshot-standin", options={**COMMON, **STANDIN},
                  shapes=declared(_named("videoshot-standin")),
                  summary="videoshot on a stand-in movie rendered from the flower photos")
def make_videoshot_standin(data_dir=None, rng=None, *, timesteps=5, train_count=2000, validate_count=64,
                           test_count=128, shots=100, shot_frames=48, movie_size=(120, 160), fps=24,
                           printer=print, **_ignored) -> VideoShotDataset:
    """``videoshot-standin``: the stand-in movie from the flower photos (rendered once, cached)."""
    del rng
    flowers = find_data_file("flowers", data_dir, dataset="videoshot-standin",
                             source="the flower photos (flowers/<class>/*.jpg) the stand-in movie is rendered from")
    cache = DiskCache()
    movie = standin_movie(flowers, shots=shots, shot_frames=shot_frames, size=movie_size, fps=fps,
                          cache=cache, printer=printer)
    thumbs = read_thumbnail_set(movie, standin_positions(shots, shot_frames), FRAMES_PER_POSITION,
                                THUMB_SIZE, cache=cache)
    return VideoShotDataset(thumbs, name="videoshot-standin", source=STANDIN_SOURCE, timesteps=timesteps,
                            train_count=train_count, validate_count=validate_count, test_count=test_count)


@register_dataset("videoshot-or-standin", options={**COMMON, **MOVIE, **STANDIN},
                  shapes=_videoshot_or_standin_declared,
                  summary="videoshot when 'file' exists, else videoshot-standin")
def make_videoshot_or_standin(data_dir=None, rng=None, *, file=None, printer=print, **options) -> VideoShotDataset:
    """The book's movie when ``file`` names an existing file, else the stand-in (said so)."""
    path = _movie_given(file, data_dir)
    if path is not None:
        if path.is_file():
            printer(f"videoshot-or-standin: using the movie {path}")
            return make_videoshot(data_dir, rng, file=str(path), **options)
        printer(f"videoshot-or-standin: {path} not found; using the stand-in movie rendered from the "
                "flower photos (videoshot-standin)")
    else:
        printer("videoshot-or-standin: no movie file given; using the stand-in movie rendered from the "
                "flower photos (videoshot-standin)")
    return make_videoshot_standin(data_dir, rng, printer=printer, **options)
