"""The layer registry: type names of the description language → Layer classes.

A layer class registers itself with :func:`register_layer` and declares its options
in ``OPTIONS`` (name → :class:`Option`); the spec front end validates a spec against
them, so each layer's constructor receives clean, typed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LAYER_TYPES: dict[str, type] = {}

_REQUIRED = object()


@dataclass(frozen=True)
class Option:
    """One option of a layer type: its accepted Python types, default and choices."""

    types: tuple
    default: Any = _REQUIRED
    choices: tuple | None = None
    doc: str = ""
    #: extra value check and the words that describe a good value ("a positive integer")
    check: Any = None
    expects: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


def register_layer(name: str):
    """Class decorator: make the class available as ``[name, {...}]`` in specs."""

    def decorate(cls):
        cls.type_name = name
        LAYER_TYPES[name] = cls
        return cls

    return decorate
