"""The layer registry: type names of the description language → Layer classes.

A layer class registers itself with :func:`register_layer` and declares its options
in ``OPTIONS`` (name → :class:`~alzza.options.Option`); the spec front end validates a
spec against them, so each layer's constructor receives clean, typed values.
"""

from __future__ import annotations

from ..options import Option  # noqa: F401  (layer modules import it from here)

LAYER_TYPES: dict[str, type] = {}


def register_layer(name: str):
    """Class decorator: make the class available as ``[name, {...}]`` in specs."""

    def decorate(cls):
        from .base import Layer

        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(f"register_layer({name!r}) decorates a subclass of alzza.layers.Layer, got {cls!r}")
        old = LAYER_TYPES.get(name)
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"layer type {name!r} is already {old.__module__}.{old.__qualname__}; "
                             f"choose another name for {cls.__module__}.{cls.__qualname__}")
        cls.type_name = name
        LAYER_TYPES[name] = cls
        return cls

    return decorate
