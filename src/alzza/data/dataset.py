"""The Dataset base: what every data set gives the models and the trainer.

A data set decides what its examples mean (``mode``, shapes, target names) and how
they are split; readers (``csv_reader`` and friends) only turn files into arrays, and
losses live in the heads, not here. The split follows the book's rule: shuffle all
examples with the run's generator, then take ``int(n * 0.8 / 10) * 10`` for training,
``int(n * 0.05)`` for validation and the rest for testing (4177 abalone give
3340 / 208 / 629). The book prints a data set as ``name(mode, train+test+validate)``
and so do we.

Subclasses load their arrays and call :meth:`Dataset._split`; generated data sets
(automata, video shots) set the counts themselves and override :meth:`train_batches`.
Arrays are float32 and C-contiguous. Randomness comes only from the
``numpy.random.Generator`` passed in, never from NumPy's global state.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import DataError
from ..options import checked, positive_int
from ..sequences import SeqShape, Sequences

Batch = tuple[np.ndarray, np.ndarray]

_EMPTY = np.zeros((0,), dtype=np.float32)

#: what a data set may declare beside its shapes and names (set as attributes of the same name)
FURTHER_FACTS = ("encoder_mode", "encoder_shape", "encoder_target_names", "value_range")


class Dataset:
    """Examples split into train / validation / test, plus what the targets mean.

    Attributes (the contract models and the trainer rely on):

    - ``name``: e.g. ``'abalone'``, ``'pulsar-balanced'``, ``'steel-std'``.
    - ``mode``: ``'regression'``, ``'binary'``, ``'select'``, ``'multi-select'`` (and the
      sequence modes added by later data sets).
    - ``input_shape`` / ``output_shape``: the shape of one example / one target.
    - ``head_sizes``: group sizes for multi-select (e.g. ``(3, 31)``), else ``None``.
    - ``target_names``: class names (select), a list of lists (multi-select),
      two names (binary) or ``None``.
    - ``head_names``: group names for multi-select, else ``None``.
    - ``source``: where the data comes from, for messages and reports.
    - ``train_count``, ``validate_count``, ``test_count``.
    - ``input_mean`` / ``input_std``: set when inputs were standardised (else ``None``).
    - the facts some data sets add (keywords of the constructor too, :data:`FURTHER_FACTS`):
      ``encoder_mode`` / ``encoder_shape`` / ``encoder_target_names`` (an encoder-decoder's
      intermediate target ``t``) and ``value_range`` (a GAN's pixel range).

    Methods a data set overrides where it can say better, with their defaults below:
    :meth:`describe_input`, :meth:`describe_output`, :meth:`show_sample`,
    :meth:`all_train_targets`, :meth:`autoencode_batches` (and ``autoencode_count``).
    Methods only some data sets have (the models still look for them by name):
    ``input_images(x)`` (inputs back as uint8 pictures ``(n, h, w, 3)``: the image data
    sets), ``unlabelled_train_inputs()`` (mnist), ``stage(mode)`` and
    ``describe_encoder_output(t_row)`` (the encoder-decoder data sets).

    A data set's shapes are declared once, in its own module: a function of its options
    that returns these keywords (name, mode, shapes, names), which its constructor passes
    here and :func:`declared` turns into the ``shapes=`` of ``register_dataset`` (the
    shapes without the data, for summaries and spec checks).
    """

    #: True on a :class:`DeclaredDataset` (shapes only, no examples)
    declared = False

    def __init__(self, name: str, mode: str, *, source: str = "",
                 input_shape: tuple | None = None, output_shape: tuple | None = None,
                 head_sizes: tuple | None = None, target_names: list | None = None,
                 head_names: list | None = None, **facts):
        unknown = sorted(set(facts) - set(FURTHER_FACTS))
        if unknown:
            raise TypeError(f"Dataset {name!r}: unknown keyword(s) {unknown}; "
                            f"known beside the shapes: {', '.join(FURTHER_FACTS)}")
        for key, value in facts.items():
            setattr(self, key, value)
        self.name = name
        self.mode = mode
        self.source = source
        # a SeqShape (a tuple marked as a sequence) is kept as it is
        self.input_shape = _shape(input_shape)
        self.output_shape = _shape(output_shape)
        self.head_sizes = tuple(head_sizes) if head_sizes is not None else None
        self.target_names = target_names
        self.head_names = head_names
        self.input_mean: np.ndarray | None = None
        self.input_std: np.ndarray | None = None
        self.train_count = self.validate_count = self.test_count = 0
        empty = (_EMPTY, _EMPTY)
        self._train: Batch = empty
        self._validate: Batch = empty
        self._test: Batch = empty

    # ------------------------------------------------------------------ splitting
    def _split(self, xs, ys, rng: np.random.Generator, train_ratio: float = 0.8,
               validate_ratio: float = 0.05, *, test_is_validate: bool = False, multiple: int = 10) -> None:
        """Shuffle all examples with ``rng`` and cut them by the book's rule.

        Chapter 5's rule (the default): train = ``int(n * train_ratio / 10) * 10`` (a
        multiple of 10, so batches of 10 divide it), validate = ``int(n * validate_ratio)``,
        test = the rest. Chapters 1–4 (``test_is_validate``): train =
        ``int(n * train_ratio) // multiple * multiple`` (``multiple`` is the book's
        ``mb_size``), test = the rest, and each epoch's figure is the test split's (the
        validation split is the test split: the same examples).
        """
        xs = xs if isinstance(xs, Sequences) else np.asarray(xs)
        ys = np.asarray(ys)
        count = len(xs)
        if len(ys) != count:
            raise DataError(f"{self.name}: {count} inputs but {len(ys)} targets")
        if count == 0:
            raise DataError(f"{self.name}: the data set has no examples")
        order = rng.permutation(count)
        if test_is_validate:
            train = int(count * train_ratio) // multiple * multiple
            test = (xs[order[train:]], ys[order[train:]])
            self._set_splits((xs[order[:train]], ys[order[:train]]), test, test)
            return
        train = int(count * train_ratio / 10) * 10
        validate = int(count * validate_ratio)
        self._set_splits(
            (xs[order[:train]], ys[order[:train]]),
            (xs[order[train:train + validate]], ys[order[train:train + validate]]),
            (xs[order[train + validate:]], ys[order[train + validate:]]),
        )

    def _set_splits(self, train: Batch, validate: Batch, test: Batch) -> None:
        """Store the three splits as float32, C-contiguous arrays and set the counts.

        For data sets whose files come already split (e.g. MNIST's train / t10k files).
        Shapes not declared in the constructor are taken from the arrays.
        """
        def clean(pair: Batch) -> Batch:
            x, y = pair
            return (x.astype(np.float32) if isinstance(x, Sequences) else np.ascontiguousarray(x, dtype=np.float32),
                    np.ascontiguousarray(y, dtype=np.float32))

        self._train, self._validate, self._test = clean(train), clean(validate), clean(test)
        self.train_count = len(self._train[0])
        self.validate_count = len(self._validate[0])
        self.test_count = len(self._test[0])
        if self.input_shape is None:
            x0 = self._train[0]
            self.input_shape = SeqShape(x0.shape[1:]) if isinstance(x0, Sequences) else tuple(x0.shape[1:])
        if self.output_shape is None:
            self.output_shape = tuple(self._train[1].shape[1:])

    def _standardize_inputs(self) -> None:
        """z-score every input feature with the mean and std of the TRAIN split only.

        Using training statistics alone keeps test data unseen (no leakage). A feature
        that is constant in training (std 0) is divided by 1 instead. The statistics are
        kept in ``input_mean`` / ``input_std`` so inputs can be shown in original units.
        """
        train_x = self._train[0]
        if len(train_x) == 0:
            raise DataError(f"{self.name}: cannot standardise inputs: no training examples")
        mean = train_x.mean(axis=0, dtype=np.float64)
        std = train_x.std(axis=0, dtype=np.float64)
        std[~(std > 0)] = 1.0
        self.input_mean = mean.astype(np.float32)
        self.input_std = std.astype(np.float32)

        def scale(pair: Batch) -> Batch:
            x, y = pair
            z = ((x - mean) / std).astype(np.float32) if len(x) else x
            return np.ascontiguousarray(z), y

        self._train = scale(self._train)
        self._validate = scale(self._validate)
        self._test = scale(self._test)

    # ------------------------------------------------------------------ access
    def batches_per_epoch(self, batch_size: int) -> int:
        """How many minibatches make one epoch: ``train_count // batch_size`` (≥ 1 if any)."""
        batch_size = _positive(batch_size, "batch_size")
        if self.train_count <= 0:
            return 0
        return max(1, self.train_count // batch_size)

    def train_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        """One epoch of minibatches in a fresh random order drawn from ``rng``.

        Yields :meth:`batches_per_epoch` batches of exactly ``batch_size`` examples; the
        remainder (fewer than ``batch_size``) is left out of this epoch, as in the book.
        When the training split is smaller than one batch, the one batch holds it all.
        """
        count = self.batches_per_epoch(batch_size)
        x, y = self._train
        order = rng.permutation(self.train_count)
        for k in range(count):
            index = order[k * batch_size:(k + 1) * batch_size]
            yield x[index], y[index]

    def validate_sample(self, count: int, rng: np.random.Generator) -> Batch:
        """``count`` validation examples chosen at random (all of them if fewer exist)."""
        x, y = self._validate
        if count is None or count >= self.validate_count:
            return x, y
        index = rng.permutation(self.validate_count)[:max(0, int(count))]
        return x[index], y[index]

    def show_sample(self, count: int, rng: np.random.Generator) -> Batch:
        """Examples to visualise: ``count`` random validation examples, or the first test
        examples when the validation split is empty (tiny data sets)."""
        x, y = self.validate_sample(count, rng)
        if len(y) == 0:
            x, y = self.test_data()
            x, y = x[:count], y[:count]
        return x, y

    #: how many inputs unsupervised training (the autoencoder's) goes over; None: ``train_count``
    autoencode_count: int | None = None

    def autoencode_batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """One epoch of input batches for unsupervised training (:class:`~alzza.data.views.Reconstruction`).

        Default: the inputs of :meth:`train_batches`. A data set that keeps labels for only
        part of its training inputs (mnist's ``train_ratio``) overrides it with all of them.
        """
        for x, _ in self.train_batches(batch_size, rng):
            yield x

    def train_data(self) -> Batch:
        """All training examples ``(x, y)`` in split order."""
        return self._train

    def validate_data(self) -> Batch:
        """All validation examples ``(x, y)``."""
        return self._validate

    def test_data(self) -> Batch:
        """All test examples ``(x, y)``."""
        return self._test

    # ------------------------------------------------------------------ text
    def original_input(self, x_row) -> np.ndarray:
        """One input row in original units (undoes standardisation if it was applied)."""
        row = np.asarray(x_row, dtype=np.float32)
        if self.input_mean is not None:
            row = row * self.input_std + self.input_mean
        return row

    def describe_input(self, x_row) -> str:
        """A short text of one input row, for ``visualize`` (values in original units)."""
        row = self.original_input(x_row)
        if row.ndim > 1:
            return f"array of shape {row.shape}"
        return format_values(row)

    def describe_output(self, y_row) -> str | None:
        """A data set's own text of one target or estimate (per-step classes → a word, say).

        Default None: the callers (:mod:`alzza.viz.text`) write the target names instead.
        """
        return None

    def all_train_targets(self) -> np.ndarray | None:
        """The targets of ALL training inputs, for reports only (semantic-hash neighbours'
        labels). Default None: nothing beyond :meth:`train_data`'s is kept (mnist with
        ``train_ratio`` < 1 keeps its hidden labels for this)."""
        return None

    def __str__(self) -> str:
        # the book's format: name(mode, train+test+validate)
        return (f"{self.name}({self.mode}, "
                f"{self.train_count}+{self.test_count}+{self.validate_count})")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"


def format_number(value: float) -> str:
    """A compact text of one value: '15', '0.455', '140.6', '2538079'."""
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    if 1000 <= abs(value) < 1e15:
        text = f"{value:.1f}"  # whole numbers stay whole: '2538079', not '2.538e+06'
        return text.removesuffix(".0")
    return f"{value:.4g}"


def format_values(values, limit: int = 8) -> str:
    """Space-separated values, the first ``limit`` of them and a count of the rest."""
    values = np.ravel(values)
    text = " ".join(format_number(v) for v in values[:limit])
    if len(values) > limit:
        text += f" ... (+{len(values) - limit} more)"
    return text


def _shape(shape):
    if shape is None or isinstance(shape, tuple):
        return shape
    return tuple(shape)


def _positive(value, name: str) -> int:
    return int(checked(value, positive_int(), name, DataError))


#: examples a generated data set makes in one call while an epoch is drawn
GENERATED_CHUNK = 1024


def generated_batches(batches: int, batch_size: int, make) -> Iterator:
    """``batches`` minibatches of fresh examples for a data set that generates its own:
    ``make(count)`` returns ``(x, y)`` for ``count`` batches at once (about
    :data:`GENERATED_CHUNK` examples a call, so the generator is not called per batch)."""
    per_chunk = max(1, GENERATED_CHUNK // batch_size)
    left = batches
    while left > 0:
        count = min(per_chunk, left)
        x, y = make(count)
        for k in range(count):
            part = slice(k * batch_size, (k + 1) * batch_size)
            yield x[part], y[part]
        left -= count


class DeclaredDataset(Dataset):
    """A data set's shapes and meaning without examples; asking it for data is a DataError.

    ``alzza summary`` and the spec check before training build models on it: no file is
    read, so a summary works with an empty data folder and a typo in a spec is reported
    before the data loads. Keywords beyond :class:`Dataset`'s are set as attributes.
    """

    declared = True

    def __init__(self, name: str, mode: str, *, input_shape, output_shape, source: str = "", **extra):
        known = ("head_sizes", "target_names", "head_names", *FURTHER_FACTS)
        meta = {k: extra.pop(k) for k in known if k in extra}
        super().__init__(name, mode, source=source or "declared shapes (no data read)",
                         input_shape=input_shape, output_shape=output_shape, **meta)
        for key, value in extra.items():  # a user's own further facts
            setattr(self, key, value)

    def _no_data(self, *args, **kwargs):
        raise DataError(f"{self.name}: only its declared shapes are here (for summaries); "
                        "build it with make_dataset to get its examples")

    train_data = validate_data = test_data = train_batches = validate_sample = show_sample = _no_data


def declared(shapes):
    """``register_dataset(..., shapes=declared(shapes))``: the data set's declaration as a
    :class:`DeclaredDataset`. ``shapes(**options)`` is the function of the data set's module
    that its constructor also reads: it returns Dataset's keywords (name, mode, input_shape,
    output_shape, target_names, ...) from the options alone."""
    def declare(data_dir=None, **options):
        del data_dir  # the shapes follow from the options; the data folder is not looked at
        return DeclaredDataset(**shapes(**options))

    declare.__doc__ = f"The declared shapes of {getattr(shapes, '__qualname__', shapes)} (no data read)."
    return declare
