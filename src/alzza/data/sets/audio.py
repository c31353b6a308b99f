"""Audio data sets (chapter 11): the book's FFT features over PCM WAV recordings.

Features: the book's FFT frames of each recording, one per ``window`` ms every
``interval`` ms, averaged into ``bands`` frequency bands — computed and cached by
:mod:`alzza.data.readers.audio_features` (:func:`fft_features`, :func:`read_audio_features`).

Data sets (inputs are :class:`~alzza.sequences.Sequences` ``(N, T, bands)`` padded to
the longest recording, with each recording's own length; ``input_shape`` is
``SeqShape((T, bands))``; targets are one-hot classes, mode ``select``):

- ``urban-sound``: the UrbanSound8K Kaggle layout, ``urban-sound/train.csv`` (columns
  ``ID``, ``Class``) and ``urban-sound/Train/<ID>.wav``; classes are the sorted class
  names.
- ``fsdd``: the Free Spoken Digit Dataset, ``fsdd/recordings/<digit>_<speaker>_<n>.wav``;
  the label is the digit. ``holdout_speakers`` (a list of names, or a count drawn with
  the run's generator) puts every recording of those speakers into the test split;
  the others are shuffled into validation (5 %) and training (the rest, a multiple of 10).
- ``urban-sound-or-fsdd``: urban-sound when ``<data>/urban-sound`` exists, else FSDD as a
  clearly named stand-in (``fsdd-standin-for-urban-sound``); it prints which.

Options of all three: ``window`` (ms, default 10), ``interval`` (ms, default 10),
``bands`` (default 100), ``max_steps`` (keep at most this many windows per recording;
default: all).

The features of a whole folder are cached on disk (:class:`~alzza.data.store.cache.DiskCache`)
under a key made of the parameters (window, interval, bands, feature version) and of
every file's path, size and mtime: a changed file or parameter gives a new key and the
features are rebuilt; an unreadable cache file is deleted and rebuilt. ``max_steps``
is applied after the cache, so it costs no rebuild.

Recordings that cannot be used (not PCM, truncated, shorter than one window) are left
out of a data set with one warning that names them; :func:`read_wav` and
:func:`fft_features` themselves raise :class:`DataError` naming the file.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ...sequences import Sequences, SeqShape
from ..store.cache import DiskCache
from ..dataset import Dataset, declared
from ..store.locate import find_data_file, missing_file_message, resolve_data_root
from ..readers.audio_features import (  # noqa: F401  (the features' names, as they were here)
    DEFAULT_BANDS,
    FEATURE_VERSION,
    AudioFeatures,
    band_edges,
    band_of_frequency,
    fft_features,
    fft_size,
    read_audio_features,
)
from ..registry import checked_option, register_dataset

__all__ = [
    "FEATURE_VERSION",
    "FSDD_SOURCE",
    "STANDIN_NAME",
    "URBAN_SOURCE",
    "AudioDataset",
    "AudioFeatures",
    "FsddDataset",
    "UrbanSoundDataset",
    "band_edges",
    "fft_features",
    "read_audio_features",
    "urban_sound_or_fsdd",
]


URBAN_DIR = "urban-sound"
FSDD_DIR = "fsdd"
STANDIN_NAME = "fsdd-standin-for-urban-sound"
URBAN_SOURCE = ("UrbanSound8K (Salamon, Jacoby & Bello, ACM MM 2014), Kaggle layout: "
                "urban-sound/train.csv (columns ID, Class) + urban-sound/Train/<ID>.wav — "
                "https://urbansounddataset.weebly.com/urbansound8k.html")
FSDD_SOURCE = ("Free Spoken Digit Dataset (Jakobovski et al., CC BY-SA 4.0): "
               "fsdd/recordings/<digit>_<speaker>_<n>.wav, 8 kHz mono — "
               "https://github.com/Jakobovski/free-spoken-digit-dataset")
#: the published facts the declared shapes use (a data set built from its files measures them):
#: UrbanSound8K's 10 classes of clips of at most 4 s (declared at 44.1 kHz, the common rate), and the
#: longest FSDD v1.0.10 recording (9_theo_16.wav), in samples at its 8 kHz
URBAN_CLASSES = ["air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
                 "gun_shot", "jackhammer", "siren", "street_music"]
URBAN_LONGEST_SECONDS, URBAN_RATE = 4, 44100
FSDD_LONGEST_SAMPLES, FSDD_RATE = 18262, 8000
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$", re.IGNORECASE)


def _warn_skipped(what: str, skipped: list, total: int) -> None:
    if not skipped:
        return
    shown = "; ".join(f"{path}: {reason.split(': ', 1)[-1]}" for path, reason in skipped[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    warnings.warn(f"{what}: left out {len(skipped)} of {total} recordings that could not be used "
                  f"({shown}{more})", stacklevel=3)


# --------------------------------------------------------------------------- options
def _check_positive_number(name):
    def check(value):
        return None if value > 0 else f"{name} must be a positive number of milliseconds, got {value!r}"
    return check


def _check_positive_int(name):
    def check(value):
        return None if value >= 1 else f"{name} must be a positive integer, got {value!r}"
    return check


def _check_holdout(value):
    if isinstance(value, int):
        return None if value >= 0 else f"holdout_speakers must be a count ≥ 0 or a list of names, got {value!r}"
    if not all(isinstance(v, str) and v for v in value):
        return f"holdout_speakers must be a list of speaker names, got {value!r}"
    return None


#: the options of every audio data set: how a recording becomes a sequence of FFT frames
OPTIONS = {
    "window": Option((int, float), 10, doc="window length in ms", check=_check_positive_number("window")),
    "interval": Option((int, float), 10, doc="a window starts every this many ms",
                       check=_check_positive_number("interval")),
    "bands": Option(int, DEFAULT_BANDS, doc="frequency bands per window (the book: 100)",
                    check=_check_positive_int("bands")),
    "max_steps": Option(int, None, doc="keep at most this many windows per recording (default: all)",
                        check=_check_positive_int("max_steps")),
}
HOLDOUT = Option((list, tuple, int), None, doc="speakers (names, or a count drawn with the run's seed) whose "
                                               "recordings all go to the test split", check=_check_holdout)


def _checked(window, interval, bands, max_steps):
    # make_dataset checks specs; this guards direct Python construction too
    window, interval, bands = (checked_option(value, OPTIONS[name], name) for name, value in
                               (("window", window), ("interval", interval), ("bands", bands)))
    if max_steps is not None:  # None: all windows
        max_steps = int(checked_option(max_steps, OPTIONS["max_steps"], "max_steps"))
    return float(window), float(interval), int(bands), max_steps


# --------------------------------------------------------------------------- shapes (declared once)
def _steps(samples: int, rate: int, window, interval, max_steps) -> int:
    from ..readers.wav import ms_to_samples, window_count

    steps = window_count(samples, ms_to_samples(window, rate), ms_to_samples(interval, rate))
    return min(steps, int(max_steps)) if max_steps is not None else steps


def fsdd_shapes(window=10, interval=10, bands=DEFAULT_BANDS, max_steps=None, holdout_speakers=None,
                name: str = "fsdd") -> dict:
    """fsdd's declared shapes: T from the release's longest recording (the data set measures its own)."""
    steps = _steps(FSDD_LONGEST_SAMPLES, FSDD_RATE, window, interval, max_steps)
    return {"name": name, "mode": "select", "input_shape": SeqShape((steps, int(bands))), "output_shape": (10,),
            "target_names": [str(d) for d in range(10)]}


def urban_shapes(window=10, interval=10, bands=DEFAULT_BANDS, max_steps=None) -> dict:
    """urban-sound's declared shapes: T from 4 s clips, its 10 published classes."""
    steps = _steps(URBAN_LONGEST_SECONDS * URBAN_RATE, URBAN_RATE, window, interval, max_steps)
    return {"name": "urban-sound", "mode": "select", "input_shape": SeqShape((steps, int(bands))),
            "output_shape": (len(URBAN_CLASSES),), "target_names": list(URBAN_CLASSES)}


def _urban_or_fsdd_declared(data_dir=None, **options) -> Dataset:
    # chooses as the factory does, by whether the real folder exists (a look, not a read)
    if (resolve_data_root(data_dir)[0] / URBAN_DIR).exists():
        return declared(urban_shapes)(data_dir, **options)
    return declared(fsdd_shapes)(data_dir, name=STANDIN_NAME, **options)


def _ms(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------- data sets
class AudioDataset(Dataset):
    """Recordings as sequences of FFT frames → class (select).

    Inputs are :class:`Sequences`; the splits hold ``(Sequences, one-hot targets)``, so
    the base class's batch methods (which index ``x[index]``) work unchanged.
    """

    def __init__(self, name: str, *, source: str, window=10, interval=10, bands=DEFAULT_BANDS,
                 max_steps=None):
        self.window, self.interval, self.bands, self.max_steps = _checked(window, interval, bands, max_steps)
        super().__init__(name, "select", source=source)
        self.features: AudioFeatures | None = None
        self.speakers: list | None = None

    def _read(self, files, folder) -> AudioFeatures:
        features = read_audio_features(files, folder, window=self.window, interval=self.interval,
                                       bands=self.bands, cache=DiskCache())
        _warn_skipped(self.name, features.skipped, len(files))
        if len(features) == 0:
            raise DataError(f"{self.name}: none of the {len(files)} recordings in {folder} could be used "
                            f"(first problem: {features.skipped[0][1] if features.skipped else 'none'})")
        self.features = features
        return features

    def _finish(self, features: AudioFeatures, labels: np.ndarray, class_names: list,
                rng: np.random.Generator, test_mask: np.ndarray | None = None) -> None:
        self.target_names = list(class_names)
        count = len(class_names)
        self.output_shape = (count,)
        xs = features.sequences(self.max_steps)
        self.input_shape = SeqShape((xs.timesteps, self.bands))
        ys = np.eye(count, dtype=np.float32)[labels]
        if test_mask is None:
            self._split_sequences(xs, ys, rng)
        else:
            self._split_holdout(xs, ys, rng, test_mask)

    def _split_sequences(self, xs: Sequences, ys: np.ndarray, rng, train_ratio=0.8, validate_ratio=0.05):
        """The base class's rule (same arithmetic, same draw from ``rng``) for Sequences."""
        count = len(xs)
        train = int(count * train_ratio / 10) * 10
        validate = int(count * validate_ratio)
        order = rng.permutation(count)
        self._set_sequence_splits(xs, ys, order[:train], order[train:train + validate],
                                  order[train + validate:])

    def _split_holdout(self, xs: Sequences, ys: np.ndarray, rng, test_mask: np.ndarray):
        """Test = the held-out examples; the others: 5 % validation, training the rest (× 10)."""
        test = np.flatnonzero(test_mask)
        rest = np.flatnonzero(~test_mask)
        rest = rest[rng.permutation(len(rest))]
        train = int((len(rest) - int(len(rest) * 0.05)) / 10) * 10
        self._set_sequence_splits(xs, ys, rest[:train], rest[train:], test)

    def _set_sequence_splits(self, xs: Sequences, ys, train, validate, test) -> None:
        def part(index):
            return xs[index].astype(np.float32), np.ascontiguousarray(ys[index], dtype=np.float32)

        self._train, self._validate, self._test = part(train), part(validate), part(test)
        self.train_count, self.validate_count, self.test_count = len(train), len(validate), len(test)

    def describe_input(self, x_row) -> str:
        length = int(x_row.lengths[0]) if isinstance(x_row, Sequences) else len(x_row)
        return (f"sound of {length} steps ({_ms(self.window)} ms windows every "
                f"{_ms(self.interval)} ms)")


@register_dataset("urban-sound", options=OPTIONS, shapes=declared(urban_shapes),
                  summary="urban-sound/train.csv + Train/<ID>.wav: FFT frame sequences → class (select)")
class UrbanSoundDataset(AudioDataset):
    """urban-sound: ``urban-sound/train.csv`` (ID, Class) + ``urban-sound/Train/<ID>.wav``."""

    def __init__(self, data_dir=None, rng=None, window=10, interval=10, bands=DEFAULT_BANDS,
                 max_steps=None):
        super().__init__("urban-sound", source=URBAN_SOURCE, window=window, interval=interval,
                         bands=bands, max_steps=max_steps)
        root = find_data_file(URBAN_DIR, data_dir, dataset="urban-sound", source=URBAN_SOURCE)
        data_root, rule = resolve_data_root(data_dir)
        table = root / "train.csv"
        wav_folder = root / "Train"
        for path, relative in ((table, f"{URBAN_DIR}/train.csv"), (wav_folder, f"{URBAN_DIR}/Train")):
            if not path.exists():
                raise DataError(missing_file_message(relative, path, data_root, rule, "urban-sound",
                                                     URBAN_SOURCE))
        ids, classes = _read_urban_table(table)
        files = [wav_folder / f"{i}.wav" for i in ids]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(f"urban-sound: {len(missing)} recording(s) listed in {table} are missing "
                            f"from {wav_folder}: {', '.join(missing[:5])}"
                            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        class_names = sorted(set(classes))
        index = {name: i for i, name in enumerate(class_names)}
        features = self._read(files, root)
        labels = np.array([index[classes[i]] for i in features.kept], dtype=np.int64)
        self._finish(features, labels, class_names, make_rng(rng))


def _read_urban_table(path: Path) -> tuple[list[str], list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise DataError(f"{path}: empty file; expected a header 'ID,Class' and one row per recording")
    header = [h.strip().lower() for h in rows[0]]
    if "id" not in header or "class" not in header:
        raise DataError(f"{path}: expected columns 'ID' and 'Class' in the header, got {rows[0]}")
    id_col, class_col = header.index("id"), header.index("class")
    ids, classes = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(id_col, class_col):
            raise DataError(f"{path}, line {line}: expected {len(header)} columns, got {row}")
        ids.append(row[id_col].strip())
        classes.append(row[class_col].strip())
    if not ids:
        raise DataError(f"{path}: no recordings listed")
    return ids, classes


@register_dataset("fsdd", options={**OPTIONS, "holdout_speakers": HOLDOUT}, shapes=declared(fsdd_shapes),
                  summary="fsdd/recordings/<digit>_<speaker>_<n>.wav: FFT frame sequences → digit (select)")
class FsddDataset(AudioDataset):
    """fsdd: ``fsdd/recordings/<digit>_<speaker>_<n>.wav`` → digit; whole speakers may be held out."""

    def __init__(self, data_dir=None, rng=None, window=10, interval=10, bands=DEFAULT_BANDS,
                 max_steps=None, holdout_speakers=None, name: str = "fsdd", source: str = FSDD_SOURCE):
        super().__init__(name, source=source, window=window, interval=interval, bands=bands,
                         max_steps=max_steps)
        rng = make_rng(rng)
        find_data_file(FSDD_DIR, data_dir, dataset=name, source=source)
        folder = find_data_file(f"{FSDD_DIR}/recordings", data_dir, dataset=name, source=source)
        files, digits, speakers, ignored = _list_fsdd(folder)
        if ignored:
            warnings.warn(f"{name}: ignored {len(ignored)} file(s) in {folder} not named "
                          f"<digit>_<speaker>_<n>.wav: {', '.join(ignored[:5])}", stacklevel=2)
        if not files:
            raise DataError(f"{name}: no recordings named <digit>_<speaker>_<n>.wav in {folder}")
        self.speakers = sorted(set(speakers))
        features = self._read(files, folder)
        labels = digits[features.kept]
        kept_speakers = speakers[features.kept]
        test_mask = None
        held = self._holdout(holdout_speakers, rng)
        if held:
            self.holdout = held
            self.name = f"{name}-holdout-{'+'.join(held)}"
            self.source = f"{source}; test split = all recordings of {', '.join(held)}"
            test_mask = np.isin(kept_speakers, held)
        else:
            self.holdout = []
        self._finish(features, labels, [str(d) for d in range(10)], rng, test_mask)

    def _holdout(self, holdout, rng) -> list[str]:
        if holdout is None or holdout == 0 or holdout == []:
            return []
        if isinstance(holdout, bool):
            raise DataError(f"holdout_speakers must be a count or a list of names, got {holdout!r}")
        if isinstance(holdout, (int, np.integer)):
            if not 0 < holdout < len(self.speakers):
                raise DataError(f"{self.name}: holdout_speakers={holdout} must leave at least one of the "
                                f"{len(self.speakers)} speakers for training ({', '.join(self.speakers)})")
            chosen = rng.choice(len(self.speakers), size=int(holdout), replace=False)
            return sorted(self.speakers[i] for i in chosen)
        names = [str(n) for n in holdout]
        unknown = [n for n in names if n not in self.speakers]
        if unknown:
            raise DataError(f"{self.name}: unknown speaker(s) in holdout_speakers: {', '.join(unknown)}; "
                            f"the speakers are: {', '.join(self.speakers)}")
        if set(names) >= set(self.speakers):
            raise DataError(f"{self.name}: holdout_speakers holds out every speaker; none left for training")
        return sorted(set(names))


def _list_fsdd(folder: Path):
    files, digits, speakers, ignored = [], [], [], []
    for entry in sorted(folder.iterdir()):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        match = _FSDD_NAME.match(entry.name)
        if not match:
            ignored.append(entry.name)
            continue
        files.append(entry)
        digits.append(int(match.group(1)))
        speakers.append(match.group(2))
    return files, np.array(digits, dtype=np.int64), np.array(speakers, dtype=str), ignored


@register_dataset("urban-sound-or-fsdd", options=OPTIONS, shapes=_urban_or_fsdd_declared,
                  summary="urban-sound when <data>/urban-sound exists, else FSDD as its stand-in")
def urban_sound_or_fsdd(data_dir=None, rng=None, printer=print, **options) -> Dataset:
    """urban-sound when ``<data>/urban-sound`` exists, else FSDD named as its stand-in; says which."""
    root, _ = resolve_data_root(data_dir)
    if (root / URBAN_DIR).exists():
        printer(f"urban-sound-or-fsdd: using UrbanSound8K from {root / URBAN_DIR}")
        return UrbanSoundDataset(data_dir=data_dir, rng=rng, **options)
    source = (f"stand-in: UrbanSound8K is not here ({root / URBAN_DIR} not found), so the Free "
              f"Spoken Digit Dataset stands in (10 spoken digits instead of 10 urban sound classes; "
              f"accuracies are not comparable with the book's). {FSDD_SOURCE}")
    printer(f"urban-sound-or-fsdd: {root / URBAN_DIR} not found; using FSDD as the stand-in "
            f"({STANDIN_NAME})")
    return FsddDataset(data_dir=data_dir, rng=rng, name=STANDIN_NAME, source=source, **options)
