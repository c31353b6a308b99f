"""Building a lone layer for a test: one helper instead of one per test file."""

from __future__ import annotations

import numpy as np

from alzza.layers.initializers import Initializer
from alzza.layers import BuildContext


def build_layer(layer, input_shape, dtype=np.float64, seed=0, init="glorot"):
    """``layer`` built for ``input_shape`` (a SeqShape stays one) with a seeded generator,
    ``dtype`` and the ``init`` scheme (default Glorot: well-scaled weights); returns it."""
    shape = input_shape if isinstance(input_shape, tuple) else tuple(input_shape)
    layer.build(shape, BuildContext(np.random.default_rng(seed), np.dtype(dtype), Initializer(init)))
    return layer
