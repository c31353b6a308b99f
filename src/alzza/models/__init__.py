"""Model families: the plain network, and (chapters 13–15) the autoencoder, the
encoder-decoder and the GAN, each composed of sub-networks (see :mod:`.family`)."""

from .autoencoder import Autoencoder
from .encoder_decoder import EncoderDecoder
from .gan import Gan
from .model import Model

#: the model kinds beyond the plain network, by the name experiment files use
FAMILIES = {"autoencoder": Autoencoder, "encoder_decoder": EncoderDecoder, "gan": Gan}

__all__ = ["FAMILIES", "Autoencoder", "EncoderDecoder", "Gan", "Model"]
