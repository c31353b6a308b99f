"""Each shipped data set's declared shapes: what a model needs to be built, without the data.

``alzza summary`` and the spec check before training build the model on a
:class:`DeclaredDataset` — name, mode, input and output shapes (and the heads, the
encoder-decoder's intermediate targets, a GAN's value range) — computed from the data
set's options alone. No file is read: a summary works with an empty data folder, and a
typo in a spec is reported before the data loads.

Where a shape depends on the data, the declaration uses the data set's published facts:
5 flower classes, Office-31's 3 domains × 31 objects, UrbanSound8K's 10 classes of clips
of at most 4 s, FSDD's longest recording (v1.0.10: 18,262 samples at 8 kHz, so its
window count). The "-or-" data sets choose as their factories do, by whether the real
data's folder exists (a look at the folder, not a read). A data set registered by a user
without ``shapes=`` is built from its data instead (see :func:`alzza.data.describe_dataset`).
The tests check every declaration against the data set built from small files.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..sequences import SeqShape
from .dataset import Dataset
from .store.locate import resolve_data_root

__all__ = ["DECLARED", "DeclaredDataset", "FSDD_LONGEST_SAMPLES", "URBAN_LONGEST_SECONDS"]

FLOWER_CLASSES = ["daisy", "dandelion", "rose", "sunflower", "tulip"]
OFFICE31_OBJECTS = 31
URBAN_CLASSES = ["air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
                 "gun_shot", "jackhammer", "siren", "street_music"]
#: the longest FSDD v1.0.10 recording (9_theo_16.wav), in samples at its 8 kHz
FSDD_LONGEST_SAMPLES, FSDD_RATE = 18262, 8000
#: UrbanSound8K's clips are at most 4 s long (declared at 44.1 kHz, the common rate)
URBAN_LONGEST_SECONDS, URBAN_RATE = 4, 44100


class DeclaredDataset(Dataset):
    """A data set's shapes and meaning, without examples; asking for data is a DataError."""

    declared = True

    def __init__(self, name: str, mode: str, *, input_shape, output_shape, source: str = "", **extra):
        meta = {k: extra.pop(k) for k in ("head_sizes", "target_names", "head_names") if k in extra}
        super().__init__(name, mode, source=source or "declared shapes (no data read)",
                         input_shape=input_shape, output_shape=output_shape, **meta)
        for key, value in extra.items():  # encoder_shape, encoder_mode, value_range, ...
            setattr(self, key, value)

    def _no_data(self, *args, **kwargs):
        raise DataError(f"{self.name}: only its declared shapes are here (for summaries); "
                        "build it with make_dataset to get its examples")

    train_data = validate_data = test_data = train_batches = validate_sample = show_sample = _no_data


def _suffix(standardize=False, balanced=False, scale=False) -> str:
    return ("-balanced" if balanced else "") + ("-std" if standardize else "") + ("-scaled" if scale else "")


# --------------------------------------------------------------------------- tables
def _abalone(data_dir, standardize, split="80/5/15", split_multiple=10):
    return DeclaredDataset("abalone" + _suffix(standardize), "regression", input_shape=(10,), output_shape=(1,))


def _pulsar(data_dir, balanced, standardize, split="80/5/15", split_multiple=10):
    return DeclaredDataset("pulsar" + _suffix(standardize, balanced), "binary", input_shape=(8,),
                           output_shape=(1,), target_names=["star", "pulsar"])


def _pulsar_select(data_dir, balanced, standardize):
    return DeclaredDataset("pulsar-select" + _suffix(standardize, balanced), "select", input_shape=(8,),
                           output_shape=(2,), target_names=["star", "pulsar"])


def _steel(data_dir, standardize, split="80/5/15", split_multiple=10):
    from .sets.tabular import STEEL_CLASSES, STEEL_INPUTS, STEEL_UCI

    return DeclaredDataset("steel" + _suffix(standardize), "select", input_shape=(STEEL_INPUTS,),
                           output_shape=(STEEL_CLASSES,), target_names=STEEL_UCI[1][STEEL_INPUTS:])


# --------------------------------------------------------------------------- images
def _image_shape(resolution, flatten) -> tuple:
    height, width = int(resolution[0]), int(resolution[1])
    return (height * width * 3,) if flatten else (height, width, 3)


def _flowers(data_dir, resolution, flatten, scale):
    return DeclaredDataset("flowers" + _suffix(scale=scale), "select", input_shape=_image_shape(resolution, flatten),
                           output_shape=(len(FLOWER_CLASSES),), target_names=list(FLOWER_CLASSES))


def _domains(name, domains, objects, resolution, flatten, scale):
    return DeclaredDataset(name + _suffix(scale=scale), "multi-select", input_shape=_image_shape(resolution, flatten),
                           output_shape=(len(domains) + objects,), head_sizes=(len(domains), objects),
                           head_names=["domain", "object"])


def _office31(data_dir, resolution, flatten, scale):
    from .sets.images import OFFICE31_DOMAINS

    return _domains("office31", OFFICE31_DOMAINS, OFFICE31_OBJECTS, resolution, flatten, scale)


def _office31_standin(data_dir, resolution, flatten, scale):
    from .sets.images import STANDIN_DOMAINS

    return _domains("office31-standin", STANDIN_DOMAINS, len(FLOWER_CLASSES), resolution, flatten, scale)


def _office31_or_standin(data_dir, **options):
    from .sets.images import OFFICE31_DIR

    real = (resolve_data_root(data_dir)[0] / OFFICE31_DIR).exists()
    return (_office31 if real else _office31_standin)(data_dir, **options)


# --------------------------------------------------------------------------- audio
def _audio_steps(samples: int, rate: int, window, interval, max_steps) -> int:
    from .readers.wav import ms_to_samples, window_count

    steps = window_count(samples, ms_to_samples(window, rate), ms_to_samples(interval, rate))
    return min(steps, int(max_steps)) if max_steps is not None else steps


def _fsdd(data_dir, window, interval, bands, max_steps, holdout_speakers=None, name="fsdd"):
    steps = _audio_steps(FSDD_LONGEST_SAMPLES, FSDD_RATE, window, interval, max_steps)
    return DeclaredDataset(name, "select", input_shape=SeqShape((steps, int(bands))), output_shape=(10,),
                           target_names=[str(d) for d in range(10)])


def _urban(data_dir, window, interval, bands, max_steps):
    steps = _audio_steps(URBAN_LONGEST_SECONDS * URBAN_RATE, URBAN_RATE, window, interval, max_steps)
    return DeclaredDataset("urban-sound", "select", input_shape=SeqShape((steps, int(bands))),
                           output_shape=(len(URBAN_CLASSES),), target_names=list(URBAN_CLASSES))


def _urban_or_fsdd(data_dir, **options):
    from .sets.audio import STANDIN_NAME, URBAN_DIR

    if (resolve_data_root(data_dir)[0] / URBAN_DIR).exists():
        return _urban(data_dir, **options)
    return _fsdd(data_dir, name=STANDIN_NAME, **options)


# --------------------------------------------------------------------------- generated
def _automata(data_dir, **_options):
    from .generators import expression_grammar as grammar
    from .sets.automata import TIMESTEPS

    return DeclaredDataset("automata", "binary", input_shape=SeqShape((TIMESTEPS, grammar.ALPHABET_SIZE)),
                           output_shape=(1,), target_names=["invalid", "valid"])


def _dummy(data_dir, **options):
    from .sets.dummy import make_dummy

    return make_dummy(data_dir, None, **options)  # reads nothing: it is shapes only already


# --------------------------------------------------------------------------- MNIST
def _mnist_image(flatten) -> tuple:
    from .sets.mnist_files import PIXELS, SIDE

    return (PIXELS,) if flatten else (SIDE, SIDE, 1)


def _mnist(data_dir, flatten, scale, train_ratio):
    from .sets.mnist_files import DIGIT_NAMES

    return DeclaredDataset("mnist" + _suffix(scale=scale), "select", input_shape=_mnist_image(flatten),
                           output_shape=(10,), target_names=list(DIGIT_NAMES),
                           value_range=(0.0, 1.0) if scale else (0.0, 255.0))


def _mnist_eng(data_dir, flatten, scale):
    from .sets.mnist_files import ENGLISH_STEPS, ENGLISH_SYMBOLS

    return DeclaredDataset("mnist-eng" + _suffix(scale=scale), "seqselect", input_shape=_mnist_image(flatten),
                           output_shape=SeqShape((ENGLISH_STEPS, len(ENGLISH_SYMBOLS))),
                           target_names=list(ENGLISH_SYMBOLS), encoder_mode="select", encoder_shape=(10,),
                           value_range=(0.0, 1.0) if scale else (0.0, 255.0))


def _mnist_kor(data_dir, digits, flatten, scale, count):
    from .generators.korean_numerals import SYMBOLS as KOREAN_SYMBOLS

    return DeclaredDataset(f"mnist-kor{int(digits)}" + _suffix(scale=scale), "seqselect",
                           input_shape=SeqShape((int(digits), *_mnist_image(flatten))),
                           output_shape=SeqShape((2 * int(digits), len(KOREAN_SYMBOLS))),
                           target_names=list(KOREAN_SYMBOLS), encoder_mode="regression", encoder_shape=(1,),
                           value_range=(0.0, 1.0) if scale else (0.0, 255.0))


def _gan_mnist(data_dir, nums, max_cnt, flatten):
    digits = sorted({int(n) for n in nums}) if nums else []
    return DeclaredDataset("gan-mnist" + ("-" + "".join(map(str, digits)) if digits else ""), "gan",
                           input_shape=_mnist_image(flatten), output_shape=(1,), value_range=(-1.0, 1.0))


def _gan_picture(data_dir, file, max_tiles, flatten, stride):
    from .sets.gan_picture import PICTURES, TILE

    stem = Path(PICTURES.get(file, file)).stem
    return DeclaredDataset(f"gan-picture-{stem}", "gan",
                           input_shape=(TILE * TILE * 3,) if flatten else (TILE, TILE, 3), output_shape=(1,),
                           value_range=(0.0, 1.0))


# --------------------------------------------------------------------------- video
def _videoshot(name):
    def declare(data_dir, timesteps, **_options):
        from .readers.video import THUMB_SIZE

        return DeclaredDataset(name, "seqbinary", input_shape=SeqShape((int(timesteps), *THUMB_SIZE, 3)),
                               output_shape=SeqShape((int(timesteps), 1)), target_names=["same shot", "new shot"])
    return declare


def _videoshot_or_standin(data_dir, file=None, **options):
    if file:
        path = Path(file).expanduser()
        path = path if path.is_absolute() else resolve_data_root(data_dir)[0] / path
        if path.is_file():
            return _videoshot("videoshot")(data_dir, **options)
    return _videoshot("videoshot-standin")(data_dir, **options)


#: data set name → ``declare(data_dir, **options) -> DeclaredDataset`` (options as make_dataset fills them)
DECLARED = {
    "abalone": _abalone, "pulsar": _pulsar, "pulsar-select": _pulsar_select, "steel": _steel,
    "flowers": _flowers, "office31": _office31, "office31-standin": _office31_standin,
    "office31-or-standin": _office31_or_standin,
    "fsdd": _fsdd, "urban-sound": _urban, "urban-sound-or-fsdd": _urban_or_fsdd,
    "automata": _automata, "dummy": _dummy,
    "mnist": _mnist, "mnist-eng": _mnist_eng, "mnist-kor": _mnist_kor, "gan-mnist": _gan_mnist,
    "gan-picture": _gan_picture,
    "videoshot": _videoshot("videoshot"), "videoshot-standin": _videoshot("videoshot-standin"),
    "videoshot-or-standin": _videoshot_or_standin,
}
