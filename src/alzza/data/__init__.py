"""Data sets by name: the registry and :func:`make_dataset`.

An experiment names its data set as a string (``'abalone'``) or a mapping with a name
and options (``{'name': 'pulsar', 'balanced': True, 'standardize': True}``).
:func:`make_dataset` checks the name and every option against the registry, so a typo
fails with one :class:`~alzza.errors.SpecError` that names the path (``dataset``,
``dataset.balanced``) and lists what is known, before any file is read.

Each data-set module decorates its classes or factories with :func:`register_dataset`
(options declared there, once); the factory is called as
``factory(data_dir=..., rng=..., **options)`` with every declared option filled in
(defaults included) and returns a :class:`Dataset`.

:func:`describe_dataset` checks a spec the same way and returns the data set's declared
shapes (each data-set module's ``shapes=`` at registration) without reading a file: what
summaries and the spec check before training build models on.
"""

from __future__ import annotations

from ..backend import make_rng
from .dataset import Dataset, DeclaredDataset, declared
from .store.locate import data_root, find_data_file, resolve_data_root
from .registry import (
    DATASETS,
    DatasetEntry,
    DatasetOption,
    checked_spec,
    dataset_entry,
    dataset_names,
    make_dataset,
    register_dataset,
)


def describe_dataset(spec, data_dir=None, seed=None, declared_only: bool = False) -> Dataset | None:
    """The data set of ``spec`` with its declared shapes and mode, and no examples.

    The spec is checked as :func:`make_dataset` checks it, then the data set's
    declaration (its ``shapes=`` at registration) gives name, mode and shapes without
    reading a file. A data set registered without a declaration is built from its data
    (``seed`` drives that build), or with ``declared_only`` None is returned.
    """
    if isinstance(spec, Dataset):
        return spec
    entry, options = checked_spec(spec)
    if entry.shapes is None:  # a user's own data set: its shapes come from its data
        if declared_only:
            return None
        return entry.factory(data_dir=data_dir, rng=make_rng(seed), **options)
    return entry.shapes(data_dir=data_dir, **options)



__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetEntry",
    "DatasetOption",
    "DeclaredDataset",
    "data_root",
    "declared",
    "dataset_entry",
    "dataset_names",
    "describe_dataset",
    "find_data_file",
    "make_dataset",
    "register_dataset",
    "resolve_data_root",
]
from .sets import tabular as _tabular  # noqa: E402,F401  (registers abalone, pulsar, pulsar-select, steel)
from .sets import images as _images  # noqa: E402,F401  (registers flowers, office31 and the stand-in)
from .sets import dummy as _dummy  # noqa: E402,F401  (registers dummy: shapes only, no data)
from .sets import automata as _automata  # noqa: E402,F401  (registers automata: generated expression strings)
from .sets import korean_reading as _korean_reading  # noqa: E402,F401  (registers korean-numbers: digits → reading)
from .sets import expression_text as _expression_text  # noqa: E402,F401  (registers expressions: a language model's text)
from .sets import audio as _audio  # noqa: E402,F401  (registers urban-sound, fsdd and urban-sound-or-fsdd)
from .sets import videoshot as _videoshot  # noqa: E402,F401  (registers videoshot, videoshot-standin, videoshot-or-standin)
from .sets import mnist as _mnist, mnist_eng as _mnist_eng, mnist_kor as _mnist_kor  # noqa: E402,F401  (chapters 13-14)
from .sets import gan_mnist as _gan_mnist, gan_picture as _gan_picture  # noqa: E402,F401  (chapter 15's real examples)

#: the factories registered above (the shipped data sets)
_BUILTIN_FACTORIES = {name: dataset_entry(name).factory for name in dataset_names()}
