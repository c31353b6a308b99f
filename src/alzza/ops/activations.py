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

GELU (Hendrycks & Gimpel 2016) is the exception: its derivative needs z itself (GELU is
not monotone, so z cannot be recovered from y). It says so with ``needs_input = True``;
its forward leaves z untouched, and a layer using it keeps z and calls
``backward(dy, y, z)``:

=========  ==========================================  ==========================================
name       y = f(z)                                    dy/dz
=========  ==========================================  ==========================================
gelu       z·Φ(z) = ½z·(1 + erf(z/√2))                 Φ(z) + z·φ(z),  φ(z) = e^(−z²/2)/√(2π)
gelu_tanh  ½z·(1 + tanh(u)), u = √(2/π)(z + 0.044715z³)  ½(1 + tanh u) + ½z(1 − tanh²u)·√(2/π)(1 + 3·0.044715z²)
=========  ==========================================  ==========================================

``gelu`` is torch's ``F.gelu(x)`` (``approximate='none'``, the exact erf form; erf from
:mod:`alzza.ops.erf`, absolute error about 1e-12 in float64); ``gelu_tanh`` is
``F.gelu(x, approximate='tanh')``.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from .erf import normal_cdf


class Activation:
    """An elementwise function with its derivative expressed through the output."""

    name = "none"
    #: the derivative needs the input z (then forward leaves z untouched and backward gets z)
    needs_input = False

    def forward(self, z: np.ndarray) -> np.ndarray:
        """y = f(z); may overwrite z (unless ``needs_input``)."""
        return z

    def backward(self, dy: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """dL/dz = dL/dy · f'(z), f' written with y = f(z) (and z where ``needs_input``)."""
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

    def backward(self, dy, y, z=None):
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

    def backward(self, dy, y, z=None):
        return dy * y * (1 - y)


class Tanh(Activation):
    """y = tanh(z); dy/dz = 1 − y²."""

    name = "tanh"

    def forward(self, z):
        xp = array_module(z)
        return xp.tanh(z, out=z)

    def backward(self, dy, y, z=None):
        return dy * (1 - y * y)


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715


class GELU(Activation):
    """y = z·Φ(z), Φ the standard normal CDF (exact erf form, torch's ``approximate='none'``).

    dy/dz = Φ(z) + z·φ(z), φ(z) = e^(−z²/2)/√(2π). Needs z in backward (``needs_input``).
    The backward reads Φ(z) back from the output, Φ(z) = y/z (½ at z = 0), instead of
    evaluating the erf series a second time: the series is most of a GELU layer's cost.
    """

    name = "gelu"
    needs_input = True

    def forward(self, z):
        return z * normal_cdf(z)

    def backward(self, dy, y, z=None):
        xp = array_module(z)
        t = z.dtype.type
        nonzero = z != 0
        cdf = xp.where(nonzero, y / xp.where(nonzero, z, t(1)), t(0.5))     # Φ(z) = y / z
        return dy * (cdf + z * (t(_INV_SQRT_2PI) * xp.exp(t(-0.5) * z * z)))


class GELUTanh(Activation):
    """y = ½z·(1 + tanh u), u = √(2/π)·(z + 0.044715·z³) (torch's ``approximate='tanh'``).

    dy/dz = ½(1 + tanh u) + ½z·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·z²). Needs z.
    """

    name = "gelu_tanh"
    needs_input = True

    def forward(self, z):
        xp = array_module(z)
        t = z.dtype.type
        th = xp.tanh(t(_SQRT_2_OVER_PI) * (z + t(_TANH_CUBIC) * z * z * z))
        return t(0.5) * z * (1 + th)

    def backward(self, dy, y, z=None):
        xp = array_module(z)
        t = z.dtype.type
        th = xp.tanh(t(_SQRT_2_OVER_PI) * (z + t(_TANH_CUBIC) * z * z * z))
        du = t(_SQRT_2_OVER_PI) * (1 + t(3 * _TANH_CUBIC) * z * z)
        return dy * (t(0.5) * (1 + th) + t(0.5) * z * (1 - th * th) * du)


ACTIVATIONS: dict[str, Activation] = {
    "relu": ReLU(),
    "sigmoid": Sigmoid(),
    "tanh": Tanh(),
    "none": Identity(),
    "gelu": GELU(),
    "gelu_tanh": GELUTanh(),
}
#: the activations whose derivative is written with the output alone (what a recurrent cell,
#: which keeps only its states, can use)
OUTPUT_FORM = tuple(name for name, act in ACTIVATIONS.items() if not act.needs_input)
# accepted spellings that mean the same function
_ALIASES = {"identity": "none", "linear": "none", None: "none"}


def get_activation(name) -> Activation:
    """The activation called ``name`` (relu, sigmoid, tanh, none, gelu, gelu_tanh); KeyError if unknown."""
    name = _ALIASES.get(name, name)
    return ACTIVATIONS[name]
