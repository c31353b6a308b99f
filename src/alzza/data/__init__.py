"""Data sets by name: the registry and :func:`make_dataset`.

An experiment names its data set as a string (``'abalone'``) or a mapping with a name
and options (``{'name': 'pulsar', 'balanced': True, 'standardize': True}``).
:func:`make_dataset` checks the name and every option against the registry, so a typo
fails with one :class:`~alzza.errors.SpecError` that names the path (``dataset``,
``dataset.balanced``) and lists what is known, before any file is read.

Each data-set module registers a factory with :func:`register_dataset`; the factory is
called as ``factory(data_dir=..., rng=..., **options)`` with every declared option
filled in (defaults included) and returns a :class:`Dataset`.

:func:`describe_dataset` checks a spec the same way and returns the data set's declared
shapes (:mod:`alzza.data.shapes`) without reading a file: what summaries and the spec
check before training build models on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..backend import make_rng
from ..errors import SpecError
from ..options import Option, option_problem
from .dataset import Dataset
from .locate import data_root, find_data_file, resolve_data_root


def DatasetOption(types, default=None, help: str = "", check: Callable[[Any], str | None] | None = None) -> Option:
    """One option a data set accepts: its allowed types, default (None unless given), a
    one-line help and a check returning a problem text or None. It is the layers'
    :class:`~alzza.options.Option` (one class, one validator), in the argument order the
    data-set modules write."""
    return Option(types, default, doc=help, check=check)


@dataclass(frozen=True)
class DatasetEntry:
    """A registered data set: its factory, its options and a one-line summary."""

    name: str
    factory: Callable[..., Dataset]
    options: dict
    summary: str = ""
    #: ``shapes(data_dir=..., **options)`` → a Dataset without examples (None: build from the data)
    shapes: Callable[..., Dataset] | None = None


_REGISTRY: dict[str, DatasetEntry] = {}


def register_dataset(name: str, factory: Callable[..., Dataset],
                     options: Mapping[str, Option] | None = None,
                     summary: str = "", shapes: Callable[..., Dataset] | None = None) -> None:
    """Make ``name`` available to :func:`make_dataset`.

    ``factory(data_dir=..., rng=..., **options)`` builds the data set; ``options`` maps
    each option it accepts to an :class:`~alzza.options.Option` (see :func:`DatasetOption`).
    ``shapes(data_dir=..., **options)``, if given, returns the data set's shapes and mode
    without reading data (see :func:`describe_dataset`; the shipped data sets declare
    theirs in :mod:`alzza.data.shapes`). Registering a name again replaces the earlier
    entry (useful in tests and for user extensions).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a data set name must be a non-empty string, got {name!r}")
    _REGISTRY[name] = DatasetEntry(name, factory, dict(options or {}), summary, shapes)


def dataset_names() -> list[str]:
    """The registered data-set names, sorted."""
    return sorted(_REGISTRY)


def dataset_entry(name: str) -> DatasetEntry:
    """The registry entry of ``name`` (raises :class:`SpecError` if unknown)."""
    if name not in _REGISTRY:
        raise SpecError("dataset", f"unknown data set {name!r}; known data sets: "
                                   f"{', '.join(dataset_names())}")
    return _REGISTRY[name]


def make_dataset(spec, data_dir=None, seed=None) -> Dataset:
    """Build the data set described by ``spec``.

    ``spec`` is a name (``'steel'``), a mapping with ``'name'`` and options, or an
    already built :class:`Dataset` (returned as is). ``data_dir`` is the command
    line's ``--data-dir`` (see :mod:`alzza.data.locate`); ``seed`` (an int, ``None`` or
    a ``numpy.random.Generator``) drives the split.
    """
    if isinstance(spec, Dataset):
        return spec
    entry, options = _checked_spec(spec)
    return entry.factory(data_dir=data_dir, rng=make_rng(seed), **options)


def describe_dataset(spec, data_dir=None, seed=None, declared_only: bool = False) -> Dataset | None:
    """The data set of ``spec`` with its declared shapes and mode, and no examples.

    The spec is checked as :func:`make_dataset` checks it, then the data set's
    declaration (:mod:`alzza.data.shapes`, or its ``shapes=`` at registration) gives name,
    mode and shapes without reading a file. A data set registered without a
    declaration is built from its data (``seed`` drives that build), or with
    ``declared_only`` None is returned.
    """
    if isinstance(spec, Dataset):
        return spec
    from .shapes import DECLARED

    entry, options = _checked_spec(spec)
    declare = entry.shapes or DECLARED.get(entry.name)
    if declare is None or (entry.name in DECLARED and entry.factory is not _BUILTIN_FACTORIES.get(entry.name)):
        # a user's own data set (or a built-in replaced by one): its shapes come from its data
        if declared_only:
            return None
        return entry.factory(data_dir=data_dir, rng=make_rng(seed), **options)
    return declare(data_dir=data_dir, **options)


def _checked_spec(spec) -> tuple[DatasetEntry, dict]:
    """The registry entry and every option (checked, defaults filled in) of a spec."""
    name, given = _parse_spec(spec)
    entry = dataset_entry(name)
    options = {}
    for key, value in given.items():
        if key not in entry.options:
            known = ", ".join(sorted(entry.options)) or "none"
            raise SpecError(f"dataset.{key}", f"unknown option for data set {name!r}; "
                                              f"known options: {known}")
        options[key] = _check_option(name, key, value, entry.options[key])
    for key, option in entry.options.items():
        if key not in options and option.required:
            raise SpecError(f"dataset.{key}", f"data set {name!r} needs option {key!r} ({option.doc})")
        options.setdefault(key, option.default)
    return entry, options


def _parse_spec(spec) -> tuple[str, dict]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        if "name" not in spec:
            raise SpecError("dataset", "a data set mapping needs 'name'; known data sets: "
                                       f"{', '.join(dataset_names())}")
        name = spec["name"]
        if not isinstance(name, str):
            raise SpecError("dataset.name", f"expected a data set name (text), got {name!r}")
        return name, {str(k): v for k, v in spec.items() if k != "name"}
    raise SpecError("dataset", f"expected a data set name or a mapping with 'name', "
                               f"got {type(spec).__name__} {spec!r}")


def _check_option(name: str, key: str, value, option: Option):
    value, problem = option_problem(replace(option, check=None), value)
    if problem:  # the wrong kind of value
        raise SpecError(f"dataset.{key}", f"option of data set {name!r} {problem}")
    value, problem = option_problem(option, value)
    if problem:  # the data set's own check, in its own words
        raise SpecError(f"dataset.{key}", problem)
    return value


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
    "describe_dataset",
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

#: the factories registered above, so a data set re-registered by a user is built from its data
_BUILTIN_FACTORIES = {name: entry.factory for name, entry in _REGISTRY.items()}
