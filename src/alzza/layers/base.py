"""The Layer: build, forward, backward — and nothing else.

A layer is built once for an input shape (shapes exclude the batch axis) and then maps
a batch forward and a gradient backward::

    output_shape = layer.build(input_shape, ctx)
    y  = layer.forward(x, training)      # caches what backward needs
    dx = layer.backward(dy)              # fills layer.grads, returns dL/dx

Backward computes gradients only; the optimiser applies them (so a gradient can be
checked before anything moves, and a frozen sub-network simply isn't stepped).
Parameters live in ``params`` and their gradients under the same keys in ``grads``;
optimisers update ``params`` arrays in place, so their identity never changes.
Keys listed in ``decayed`` (weights, kernels — never biases) receive L1/L2 decay.
Non-trained buffers (batch-norm running statistics) live in ``state`` and are saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np

from ..init import Initializer


@dataclass
class BuildContext:
    """What building needs besides the input shape: the RNG, the dtype, the initialiser."""

    rng: np.random.Generator
    dtype: np.dtype
    init: Initializer = field(default_factory=Initializer)


class Layer:
    """Base class of every layer type (see the module docstring for the contract)."""

    #: name of the layer type in the description language (the registry key)
    type_name = "layer"
    #: parameter keys that receive L1/L2 decay
    decayed: tuple[str, ...] = ()

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        #: where this layer sits in the spec, e.g. ``layers[2]`` (for messages and weight names)
        self.path = ""
        #: False for a first layer whose input is data: backward may skip dL/dx
        self.needs_input_grad = True

    # --- the contract -------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...], ctx: BuildContext) -> tuple[int, ...]:
        """Create parameters for ``input_shape``; return (and remember) the output shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return input_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    # --- structure ----------------------------------------------------------------
    def children(self) -> list["Layer"]:
        """Sub-layers (composites override)."""
        return []

    def options(self) -> dict:
        """The options of this layer as written in a spec (for summaries)."""
        return {}

    def walk(self):
        """This layer and all layers below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def parameter_count(self) -> int:
        """Number of trainable scalars here and below."""
        return sum(int(p.size) for layer in self.walk() for p in layer.params.values())

    def describe(self) -> str:
        """One line for the structure dump: type and options."""
        opts = ", ".join(f"{k}={v}" for k, v in self.options().items())
        return f"{self.type_name}({opts})" if opts else self.type_name

    def __repr__(self):
        return f"<{self.describe()} at {self.path or '?'}>"


def flat_size(shape) -> int:
    """Number of scalars in one example of ``shape``."""
    return int(prod(shape))
