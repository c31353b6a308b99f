"""alzza — deep learning on NumPy alone, every forward and backward pass written by hand.

A tour::

    import alzza
    data = alzza.data.make_dataset("pulsar", seed=1)
    model = alzza.Model(data, [6], name="pulsar-mlp", seed=1)
    model.exec_all(epoch_count=10, batch_size=10, learning_rate=0.001, report=2)
    model.save("pulsar.npz"); same = alzza.load("pulsar.npz")
"""

from .version import __version__  # noqa: E402

from . import layers  # noqa: E402, F401  (registers the layer types)
from .errors import AlzzaError, DataError, ModelFileError, SpecError, TrainingError  # noqa: E402
from .saving.model_files import load_model as load  # noqa: E402
from .models import Autoencoder, EncoderDecoder, Gan, Model  # noqa: E402

__all__ = ["Model", "Autoencoder", "EncoderDecoder", "Gan", "load", "AlzzaError", "DataError", "ModelFileError",
           "SpecError", "TrainingError", "__version__"]
