"""The book's data-set classes, each a call of :func:`alzza.data.make_dataset`.

Each factory maps the book's constructor arguments to a registered data set and its
options; extra keyword arguments are that data set's own alzza options (e.g.
``standardize=True``, ``train_count=2000``). The objects are alzza data sets, and
print as the book's do: ``name(mode, train+test+validate)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .session import next_seed
from ..data import make_dataset
from ..data.sets.gan_picture import PICTURES
from ..errors import DataError, SpecError


def settings():
    """The ``alzza.book`` module, read at call time (its globals are the book's settings)."""
    return sys.modules[__package__]


def _make(name: str, **options):
    return make_dataset({"name": name, **options}, seed=next_seed())


def _or_standin(real: str, either: str, missing: str, standin: str, **options):
    """``either`` (falls back, saying so) while USE_STANDINS, else ``real`` with the stand-in named on failure."""
    try:
        return _make(either if settings().USE_STANDINS else real, **options)
    except DataError as exc:
        raise DataError(f"{exc}\n  alzza.book: without {missing} the stand-in data set is '{standin}' "
                        f"(used automatically while alzza.book.USE_STANDINS is True)") from None


def _named(dataset, name):
    dataset.name = str(name)  # the book passes the name; alzza's reports print it
    return dataset


def AbaloneDataset(**options):
    return _make("abalone", **options)


def PulsarDataset(**options):
    """Chapter 5's pulsar data set: unbalanced (chapter 2's balanced run is ``pulsar_exec(adjust_ratio=True)``)."""
    return _make("pulsar", **options)


def PulsarSelectDataset(**options):
    return _make("pulsar-select", **options)


def SteelDataset(**options):
    return _make("steel", **options)


def _flatten(resolution, input_shape) -> bool:
    """The book's ``input_shape``: ``[-1]`` flattens, ``resolution + [3]`` keeps HWC."""
    if list(input_shape) == [-1]:
        return True
    if list(input_shape) == list(resolution) + [3]:
        return False
    raise SpecError("input_shape", f"expected [-1] (flatten) or {list(resolution) + [3]} (height, width, "
                                   f"channels), got {input_shape!r}")


def FlowersDataset(resolution=[100, 100], input_shape=[-1], **options):  # noqa: B006 (the book's signature)
    return _make("flowers", resolution=list(resolution), flatten=_flatten(resolution, input_shape), **options)


def Office31Dataset(resolution=[100, 100], input_shape=[-1], **options):  # noqa: B006
    return _or_standin("office31", "office31-or-standin", "Office-31 (office31/<domain>/images/<object>/*.jpg)",
                       "office31-standin", resolution=list(resolution),
                       flatten=_flatten(resolution, input_shape), **options)


def DummyDataset(name, mode, input_shape, output_shape, **options):
    """Shapes only (chapter 9); ``output_shape`` is a class count (select) or a shape."""
    if isinstance(output_shape, int):
        key, value = ("classes", output_shape) if mode == "select" else ("output_shape", [output_shape])
    else:
        key, value = "output_shape", list(output_shape)
    return _named(_make("dummy", mode=mode, input_shape=list(input_shape), **{key: value}, **options), name)


def AutomataDataset(**options):
    return _make("automata", **options)


def UrbanSoundDataset(interval, window, **options):
    """The book's ``UrbanSoundDataset(move_msec, win_msec)``: a ``window``-ms window every ``interval`` ms."""
    return _or_standin("urban-sound", "urban-sound-or-fsdd", "UrbanSound8K (urban-sound/train.csv + Train/*.wav)",
                       "fsdd", interval=interval, window=window, **options)


def VideoShotDataset(filenames, timesteps=5, **options):
    """The book's movie list (alzza reads one movie); ``set_timesteps(n)`` works on the result."""
    files = [filenames] if isinstance(filenames, (str, Path)) else list(filenames)
    if len(files) != 1:
        raise SpecError("filenames", f"alzza reads one movie per data set, got {len(files)}: {files!r}")
    return _or_standin("videoshot", "videoshot-or-standin", f"the movie {files[0]}", "videoshot-standin",
                       file=str(files[0]), timesteps=timesteps, **options)


def MnistAutoDataset(train_ratio=0.1, **options):
    return _make("mnist", train_ratio=train_ratio, **options)


def MnistEngDataset(**options):
    return _make("mnist-eng", **options)


def MnistKorDataset(cnt, **options):
    return _make("mnist-kor", digits=cnt, **options)


def GanDatasetPicture(fname, **options):
    """The book reads ``pictures/<fname>``; so does this, under the data folder."""
    fname = str(fname)
    if fname not in PICTURES and "/" not in fname and not Path(fname).is_absolute():
        fname = f"pictures/{fname}"
    return _make("gan-picture", file=fname, **options)


def GanDatasetMnist(name, max_cnt=0, nums=None, **options):
    """The book's ``GanDatasetMnist(name, max_cnt=0, nums=None)``: ``nums`` None = all ten digits."""
    nums = list(range(10)) if nums is None else [int(n) for n in nums]
    return _named(_make("gan-mnist", max_cnt=max_cnt, nums=nums, **options), name)
