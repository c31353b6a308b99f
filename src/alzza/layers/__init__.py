"""Layer types. Importing this package registers every type with the spec language."""

from .base import BuildContext, Layer
from .composite import Serial
from .dense import Dense
from .registry import LAYER_TYPES, Option, register_layer
from . import conv, norm, pool  # noqa: E402,F401  (registers conv, max, avg, batch_normal)
from . import regularize  # noqa: E402,F401  (registers dropout, noise)
from . import recurrent, seqwrap  # noqa: E402,F401  (registers rnn, lstm, seqwrap)
from . import gru, layernorm  # noqa: E402,F401  (registers gru, layer_normal)
from . import attention, embedding, positional, rmsnorm, seqpool  # noqa: E402,F401  (the Transformer's layers)

__all__ = ["BuildContext", "Layer", "Serial", "Dense", "LAYER_TYPES", "Option", "register_layer"]
