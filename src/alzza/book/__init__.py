"""The book's own interface: run the examples of "파이썬 날코딩으로 알고짜는 딥러닝" on alzza.

Change one line of the book's code — its imports — to ``from alzza.book import *``
and the rest runs as printed: the data-set classes, the model classes with their
``exec_all`` / ``train`` / ``test`` / ``visualize``, ``CnnExtModel.set_macro`` and the
chapter 1–4 functions (``abalone_exec``, ``pulsar_exec``, ``steel_exec``,
``set_hidden``).

Everything here is a thin adapter: it maps the book's constructor arguments onto
:func:`alzza.data.make_dataset` options and :class:`alzza.Model` (or model-family)
arguments. Every forward pass, gradient, optimiser step and report comes from alzza.

Module settings (the book's module-level globals), read when a call runs:

``LEARNING_RATE`` (0.001) and ``RND_STD`` (0.003)
    chapters 1–4. Assign them as in the book — ``LEARNING_RATE = 0.1`` at the top
    level of your script or notebook after the star import — or on the module:
    ``import alzza.book as book; book.LEARNING_RATE = 0.1``. When both are changed,
    your own global wins.
``SEED`` (1234)
    the seed of the session's one random stream (:mod:`alzza.book.session`): each data
    set and model made here draws its seed from it, so the first run of a session is
    reproducible and running a cell again gives a new run, as in the book.
    :func:`randomize` reseeds the stream from fresh entropy; ``reseed()`` (alzza's own)
    restarts it from ``SEED``; assigning a new ``SEED`` restarts it from that.
``USE_STANDINS`` (True)
    UrbanSound8K, Office-31 or the movie missing → say so and use the stand-in data
    set (fsdd, office31-standin, videoshot-standin). False: raise instead, naming what
    is missing and the stand-in.
``FIGURES`` (None)
    a folder: pictures (visualize, feature maps, weight histograms) are also written
    there as PNG files. In Jupyter they are shown inline either way.
``use_device("cuda")``
    every model made afterwards (here or with ``alzza.Model``) lives on that device:
    ``"cpu"`` (the default) or ``"cuda"`` (a GPU through CuPy, ``pip install 'alzza[gpu]'``;
    on Colab: Runtime → change runtime type → GPU). Checked at once: without CuPy or a
    GPU it raises one DeviceError saying so. One model elsewhere: ``model.to("cpu")``.

Data files come from alzza's data folder rule (``--data-dir``, else ``ALZZA_DATA``,
else the per-user cache), not from the book's relative paths.
"""

LEARNING_RATE = 0.001
RND_STD = 0.0030
SEED = 1234
USE_STANDINS = True
FIGURES = None


from ..device import set_default_device as use_device  # noqa: E402
from .session import randomize, reseed  # noqa: E402
from .chapters import abalone_exec, pulsar_exec, set_hidden, steel_exec  # noqa: E402
from .datasets import (  # noqa: E402
    AbaloneDataset,
    AutomataDataset,
    DummyDataset,
    FlowersDataset,
    GanDatasetMnist,
    GanDatasetPicture,
    MnistAutoDataset,
    MnistEngDataset,
    MnistKorDataset,
    Office31Dataset,
    PulsarDataset,
    PulsarSelectDataset,
    SteelDataset,
    UrbanSoundDataset,
    VideoShotDataset,
)
from .families import Autoencoder, EncoderDecoder, Gan  # noqa: E402
from .models import (  # noqa: E402
    AdamModel,
    CnnBasicModel,
    CnnExtModel,
    CnnRegModel,
    MlpModel,
    RnnBasicModel,
    RnnExtModel,
    RnnLstmModel,
)

__all__ = [
    "LEARNING_RATE", "RND_STD", "randomize", "reseed", "use_device", "set_hidden", "abalone_exec", "pulsar_exec",
    "steel_exec",
    "AbaloneDataset", "PulsarDataset", "SteelDataset", "PulsarSelectDataset", "FlowersDataset",
    "Office31Dataset", "DummyDataset", "AutomataDataset", "UrbanSoundDataset", "VideoShotDataset",
    "MnistAutoDataset", "MnistEngDataset", "MnistKorDataset", "GanDatasetPicture", "GanDatasetMnist",
    "MlpModel", "AdamModel", "CnnBasicModel", "CnnRegModel", "CnnExtModel", "RnnBasicModel", "RnnLstmModel",
    "RnnExtModel", "Autoencoder", "EncoderDecoder", "Gan",
]
