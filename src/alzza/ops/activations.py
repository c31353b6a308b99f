"""Activation functions and their derivatives.

Every activation here has a derivative that can be written with its *output* y alone,
so a layer keeps only y for backward (one array, not two):

=========  ======================  ============================
name       y = f(z)                dy/dz in terms of y
=========  ======================  ============================
relu       max(z, 0)               1 if y > 0 else 0
sigmoid    1 / (1 + e^(-z))        y · (1 − y)
tanh       tanh(z)                 1 − y²
none       z                       1
=========  ======================  ============================

``backward(dy, y)`` returns dL/dz = dL/dy · f'(z). Forward may work in place on z
(a layer's pre-activation buffer is not needed afterwards), which saves an allocation
per call on small networks.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module


class Activation:
    """An elementwise function with its derivative expressed through the output."""

    name = "none"

    def forward(self, z: np.ndarray) -> np.ndarray:
        """y = f(z); may overwrite z."""
        return z

    def backward(self, dy: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dL/dz = dL/dy · f'(z), f' written with y = f(z)."""
        return dy


class Identity(Activation):
    """y = z, dy/dz = 1."""

    name = "none"


class ReLU(Activation):
    """y = max(z, 0); dy/dz = [y > 0] (the subgradient at 0 is taken as 0)."""

    name = "relu"

    def forward(self, z):
        xp = array_module(z)
        return xp.maximum(z, 0, out=z)

    def backward(self, dy, y):
        return dy * (y > 0)  # bool × float32 stays float32


class Sigmoid(Activation):
    """y = 1 / (1 + e^(−z)) = ½ + ½·tanh(z/2); dy/dz = y(1 − y).

    The tanh form never overflows (e^(−z) does for z < −88 in float32) and costs
    three array operations.
    """

    name = "sigmoid"

    def forward(self, z):
        xp = array_module(z)
        xp.multiply(z, 0.5, out=z)
        xp.tanh(z, out=z)
        xp.multiply(z, 0.5, out=z)
        return xp.add(z, 0.5, out=z)

    def backward(self, dy, y):
        return dy * y * (1 - y)


class Tanh(Activation):
    """y = tanh(z); dy/dz = 1 − y²."""

    name = "tanh"

    def forward(self, z):
        xp = array_module(z)
        return xp.tanh(z, out=z)

    def backward(self, dy, y):
        return dy * (1 - y * y)


ACTIVATIONS: dict[str, Activation] = {
    "relu": ReLU(),
    "sigmoid": Sigmoid(),
    "tanh": Tanh(),
    "none": Identity(),
}
# accepted spellings that mean the same function
_ALIASES = {"identity": "none", "linear": "none", None: "none"}


def get_activation(name) -> Activation:
    """The activation called ``name`` (relu, sigmoid, tanh, none); KeyError if unknown."""
    name = _ALIASES.get(name, name)
    return ACTIVATIONS[name]
