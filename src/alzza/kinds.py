"""The registry of model kinds: the name in a saved config (``kind``) → the class that rebuilds it.

Every model class registers itself (:mod:`alzza.models` does it for the shipped ones), so
:func:`alzza.load` finds ``Model``, ``Autoencoder``, ``EncoderDecoder`` and ``Gan`` here
without importing them: saving and loading (io.py) and the models never import each other
in a circle. A class registered here has ``from_config(config, dataset, printer)``.
"""

from __future__ import annotations

from .errors import AlzzaError

#: kind name → model class (``network`` is the plain :class:`~alzza.models.Model`)
MODEL_KINDS: dict[str, type] = {}


def register_model_kind(name: str, cls: type) -> type:
    """Make ``cls`` the class that rebuilds saved configs of kind ``name``."""
    if not callable(getattr(cls, "from_config", None)):
        raise TypeError(f"model kind {name!r}: {cls!r} has no from_config(config, dataset, printer)")
    MODEL_KINDS[name] = cls
    return cls


def model_class(kind: str) -> type:
    """The class of model kind ``kind``; AlzzaError naming the known kinds if there is none."""
    if kind not in MODEL_KINDS:
        raise AlzzaError(f"unknown model kind {kind!r} (known: {', '.join(MODEL_KINDS) or 'none'})")
    return MODEL_KINDS[kind]
