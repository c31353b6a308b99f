"""Layer types. Importing this package registers every type with the spec language."""

from .base import BuildContext, Layer
from .composite import Serial
from .dense import Dense
from .registry import LAYER_TYPES, Option, register_layer

__all__ = ["BuildContext", "Layer", "Serial", "Dense", "LAYER_TYPES", "Option", "register_layer"]
