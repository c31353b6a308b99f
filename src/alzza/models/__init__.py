"""Model families: the plain network, and (chapters 13–15) the autoencoder, the
encoder-decoder and the GAN, each composed of sub-networks (see :mod:`.family`)."""

from .kinds import MODEL_KINDS
from .autoencoder import Autoencoder
from .encoder_decoder import EncoderDecoder
from .gan import Gan
from .model import Model
from .translator import Translator

#: the model kinds beyond the plain network, by the name experiment files use (read from the registry)
FAMILIES = {kind: cls for kind, cls in MODEL_KINDS.items() if kind != "network"}

__all__ = ["FAMILIES", "Autoencoder", "EncoderDecoder", "Gan", "Model", "Translator"]
