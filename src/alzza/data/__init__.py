"""Data sets by name: the registry and :func:`make_dataset`.

An experiment names its data set as a string (``'abalone'``) or a mapping with a name
and options (``{'name': 'pulsar', 'balanced': True, 'standardize': True}``).
:func:`make_dataset` checks the name and every option against the registry, so a typo
fails with one :class:`~alzza.errors.SpecError` that names the path (``dataset``,
``dataset.balanced``) and lists what is known, before any file is read.

Each data-set module registers a factory with :func:`register_dataset`; the factory is
called as ``factory(data_dir=..., rng=..., **options)`` with every declared option
filled in (defaults included) and returns a :class:`Dataset`.
"""

from __future__ import annotations

from .dataset import Dataset
from .locate import data_root, find_data_file, resolve_data_root
from .registry import DatasetEntry, DatasetOption, dataset_entry, dataset_names, make_dataset, register_dataset


# --------------------------------------------------------------------------- built-ins
def _register_tabular() -> None:
    from . import tabular

    standardize = DatasetOption(bool, False, "z-score inputs with training-split statistics")
    balanced = DatasetOption(bool, False, "oversample pulsars to match the stars (book ch. 2)")
    register_dataset("abalone", tabular.AbaloneDataset, {"standardize": standardize},
                     "abalone.csv: sex + 7 measures → ring count (regression)")
    register_dataset("pulsar", tabular.PulsarDataset,
                     {"balanced": balanced, "standardize": standardize},
                     "pulsar_stars.csv (HTRU2): 8 statistics → pulsar or not (binary)")
    register_dataset("pulsar-select", tabular.PulsarSelectDataset,
                     {"balanced": balanced, "standardize": standardize},
                     "pulsar_stars.csv as two classes star / pulsar (select)")
    register_dataset("steel", tabular.SteelDataset, {"standardize": standardize},
                     "faults.csv: 27 measures → one of 7 fault types (select)")


_register_tabular()

__all__ = [
    "Dataset",
    "DatasetEntry",
    "DatasetOption",
    "data_root",
    "dataset_entry",
    "dataset_names",
    "find_data_file",
    "make_dataset",
    "register_dataset",
    "resolve_data_root",
]
from . import images as _images  # noqa: E402,F401  (registers flowers, office31 and the stand-in)
from . import dummy as _dummy  # noqa: E402,F401  (registers dummy: shapes only, no data)
from . import automata as _automata  # noqa: E402,F401  (registers automata: generated expression strings)
from . import audio as _audio  # noqa: E402,F401  (registers urban-sound, fsdd and urban-sound-or-fsdd)
from . import videoshot as _videoshot  # noqa: E402,F401  (registers videoshot, videoshot-standin, videoshot-or-standin)
from . import mnist as _mnist, gan_picture as _gan_picture  # noqa: E402,F401  (registers mnist, mnist-eng, mnist-kor, gan-mnist, gan-picture)
