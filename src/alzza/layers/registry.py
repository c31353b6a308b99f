"""The layer registry: type names of the description language → Layer classes.

A layer class registers itself with :func:`register_layer` and declares its options
in ``OPTIONS`` (name → :class:`~alzza.options.Option`); the spec front end validates a
spec against them, so each layer's constructor receives clean, typed values.
"""

from __future__ import annotations

from ..options import Option  # noqa: F401  (layer modules import it from here)
from ..registries import Registry

LAYER_TYPES = Registry("layer type", "type_name")


def register_layer(name: str):
    """Class decorator: make the Layer subclass available as ``[name, {...}]`` in specs."""
    from .base import Layer

    return LAYER_TYPES.register(name, Layer)
