"""The registry of model kinds: the name in a saved config (``kind``) → the class that rebuilds it.

Every model class registers itself with ``@register_model_kind(name)``, so
:func:`alzza.load` finds ``Model``, ``Autoencoder``, ``EncoderDecoder`` and ``Gan`` here
without importing them: saving and loading (saving/model_files.py) and the models never import each other
in a circle. A class registered here has ``from_config(config, dataset, printer)``.
"""

from __future__ import annotations

from ..errors import AlzzaError
from ..registries import Registry

#: kind name → model class (``network`` is the plain :class:`~alzza.models.Model`)
MODEL_KINDS = Registry("model kind", "kind")


def register_model_kind(name: str):
    """Class decorator: the class rebuilds saved configs of kind ``name`` (it has ``from_config``)."""
    register = MODEL_KINDS.register(name)

    def decorate(cls):
        if not callable(getattr(cls, "from_config", None)):
            raise TypeError(f"model kind {name!r}: {cls!r} has no from_config(config, dataset, printer)")
        return register(cls)

    return decorate


def model_class(kind: str) -> type:
    """The class of model kind ``kind``; AlzzaError naming the known kinds if there is none."""
    if kind not in MODEL_KINDS:
        raise AlzzaError(f"unknown model kind {kind!r} (known: {', '.join(MODEL_KINDS) or 'none'})")
    return MODEL_KINDS[kind]
