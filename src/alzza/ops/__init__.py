"""Pure array functions with their math in the docstrings."""

from .activations import ACTIVATIONS, Activation, get_activation
from .losses import sigmoid, sigmoid_cross_entropy, softmax, softmax_cross_entropy

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "sigmoid",
    "sigmoid_cross_entropy",
    "softmax",
    "softmax_cross_entropy",
]
