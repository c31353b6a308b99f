"""Layer types. Importing this package registers every type with the spec language.

Every layer type, by the name a spec gives it, with its class, its file, and the name the
same thing has in "Deep Learning from Scratch" 1 and 2 (DLFS; the book's ``common/``
layers) and in DeZero (``L.`` = dezero.layers, ``F.`` = dezero.functions); — where that
code base has no such layer. The textbook forms of the fast ones are in
:mod:`alzza.reference`; the contract every type keeps is in :mod:`alzza.layers.base`.

============  ==========  ==============  ==================================  ====================
spec name     class       file            DLFS                                DeZero
============  ==========  ==============  ==================================  ====================
full          Dense       dense.py        Affine + Relu / Sigmoid             L.Linear + F.relu
conv          Conv2D      conv.py         Convolution                         L.Conv2d
max           MaxPool     pool.py         Pooling                             F.pooling
avg           AvgPool     pool.py         —                                   F.average_pooling
batch_normal  BatchNorm   norm.py         BatchNormalization                  L.BatchNorm
layer_normal  LayerNorm   layernorm.py    —                                   —
dropout       Dropout     regularize.py   Dropout                             F.dropout
noise         Noise       regularize.py   —                                   —
serial        Serial      composite.py    the layer list of MultiLayerNet     a Model's layers
parallel      Parallel    composite.py    —                                   —
add           Add         composite.py    —                                   —
loop          Loop        composite.py    —                                   —
rnn           RNN         recurrent.py    TimeRNN (DLFS 2)                    L.RNN
lstm          LSTM        recurrent.py    TimeLSTM (DLFS 2)                   L.LSTM
gru           GRU         gru.py          — (DLFS 2 describes it, appendix)   —
seqwrap       SeqWrap     seqwrap.py      TimeAffine (DLFS 2), for any layer  —
attention     MultiHeadAttention  attention.py  — (DLFS 2 ch. 8: one head, no mask)  —
embed         Embedding   embedding.py    Embedding / TimeEmbedding (DLFS 2)  —
unembed       TiedProjection  embedding.py  — (weight tying: DLFS 2 ch. 6)     —
posenc        PositionalEncoding  positional.py  —                            —
rms_normal    RMSNorm     rmsnorm.py      —                                   —
seqpool       SequencePool  seqpool.py    —                                   —
============  ==========  ==============  ==================================  ====================

A bare integer n in a spec is ``full`` of width n. The activations (relu, sigmoid, tanh,
none) are an option of the layer (``actfunc``), in :mod:`alzza.ops.activations`; the
output modes (DLFS's SoftmaxWithLoss, DeZero's F.softmax_cross_entropy) are heads, in
:mod:`alzza.heads`.
"""

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
