"""The data-set registry: names → factories with their declared options, and :func:`make_dataset`.

A data-set class or factory function registers itself with the decorator
:func:`register_dataset` — the same :class:`~alzza.registries.Registry` as layer types and
output modes — declaring its options once (name → :class:`~alzza.options.Option`).
Data-set modules import only this module, never the package, so the package's imports
never run in a circle. The factory is called as ``factory(data_dir=..., rng=..., **options)``
with every declared option filled in (defaults included) and returns a
:class:`~alzza.data.dataset.Dataset`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..backend import make_rng
from ..errors import DataError, SpecError
from ..options import Option, option_problem
from ..registries import Registry
from .dataset import Dataset

#: data-set name → factory (a Dataset class or a function), filled by ``@register_dataset``
DATASETS = Registry("data set", "dataset_name")


def DatasetOption(types, default=None, help: str = "", check: Callable[[Any], str | None] | None = None) -> Option:
    """An :class:`~alzza.options.Option` written positionally, with None as its default:
    ``DatasetOption(int, 40, "size", check)`` is ``Option(int, 40, doc="size", check=check)``."""
    return Option(types, default, doc=help, check=check)


def checked_option(value, option: Option, name: str):
    """A data set's option as its constructor receives it from Python (``make_dataset`` has
    checked a spec's already): the value when it fits ``option``, else one DataError —
    ``option 'NAME' must be ..., got ...``, or the option's own check's words. NumPy's
    bools count as bools."""
    if isinstance(value, np.bool_):
        value = bool(value)
    value, problem = option_problem(replace(option, check=None), value)
    if problem is None and option.check is not None:
        verdict = option.check(value)
        if isinstance(verdict, str) and verdict:
            if not verdict.startswith("must "):
                raise DataError(verdict)  # the check's own words name the option already
            problem = verdict
        if verdict is False:
            problem = f"must be {option.expects or 'valid'}, got {value!r}"
    if problem:
        raise DataError(f"option '{name}' {problem}")
    return value


@dataclass(frozen=True)
class DatasetEntry:
    """A registered data set: its factory, its options and a one-line summary."""

    name: str
    factory: Callable[..., Dataset]
    options: dict
    summary: str = ""
    #: ``shapes(data_dir=..., **options)`` → a Dataset without examples (None: build from the data)
    shapes: Callable[..., Dataset] | None = None


def register_dataset(name: str, factory: Callable[..., Dataset] | None = None,
                     options: Mapping[str, Option] | None = None, summary: str = "",
                     shapes: Callable[..., Dataset] | None = None):
    """Decorator: make the decorated data-set class or factory available as ``name``::

        @register_dataset("abalone", options={"standardize": STANDARDIZE}, summary="...")
        class AbaloneDataset(TabularDataset): ...

    ``factory(data_dir=..., rng=..., **options)`` builds the data set; ``options`` maps
    each option it accepts to an :class:`~alzza.options.Option`. ``shapes(data_dir=...,
    **options)``, if given, returns the data set's shapes and mode without reading data
    (see :func:`alzza.data.describe_dataset`; the shipped data sets declare theirs in their
    own modules with :func:`~alzza.data.dataset.declared`). A name already taken by another factory is a ValueError.

    ``register_dataset(name, factory, options, ...)``, the factory given, registers it at once
    (the form for a factory made at run time).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a data set name must be a non-empty string, got {name!r}")
    declared = dict(options or {})

    def decorate(made: Callable[..., Dataset]):
        if not callable(made):
            raise TypeError(f"data set {name!r}: register a Dataset class or a factory function, got {made!r}")
        # the declaration travels with the factory: a class registered under two names
        # would carry one of them (its own subclasses, unregistered, are not looked at)
        taken = getattr(made, "dataset_name", None)
        if taken not in (None, name) and DATASETS.get(taken) is made:
            raise ValueError(f"data set {name!r}: {made.__qualname__} is already data set {taken!r}")
        DATASETS.register(name)(made)
        made.dataset_declaration = DatasetEntry(name, made, declared, summary, shapes)
        return made

    return decorate if factory is None else decorate(factory)


def dataset_names() -> list[str]:
    """The registered data-set names, sorted."""
    return sorted(DATASETS)


def dataset_entry(name: str) -> DatasetEntry:
    """The registry entry of ``name`` (raises :class:`SpecError` if unknown)."""
    if name not in DATASETS:
        raise SpecError("dataset", f"unknown data set {name!r}; known data sets: "
                                   f"{', '.join(dataset_names())} (a data set of your own: @register_dataset "
                                   "in a module given with --import MODULE_OR_PATH)")
    return DATASETS[name].dataset_declaration


def make_dataset(spec, data_dir=None, seed=None) -> Dataset:
    """Build the data set described by ``spec``.

    ``spec`` is a name (``'steel'``), a mapping with ``'name'`` and options, or an
    already built :class:`Dataset` (returned as is). ``data_dir`` is the command
    line's ``--data-dir`` (see :mod:`alzza.data.store.locate`); ``seed`` (an int, ``None`` or
    a ``numpy.random.Generator``) drives the split.
    """
    if isinstance(spec, Dataset):
        return spec
    entry, options = checked_spec(spec)
    return entry.factory(data_dir=data_dir, rng=make_rng(seed), **options)


def checked_spec(spec) -> tuple[DatasetEntry, dict]:
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
