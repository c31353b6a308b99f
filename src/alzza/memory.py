"""Memory estimates from shapes, checked against ALZZA_MAX_MEMORY before allocating.

Building a model allocates its parameters (each weight array is checked before it is
drawn, see :meth:`alzza.layers.initializers.Initializer._count_bytes`); a training step then holds,
per example, every layer's output (the forward caches backward needs) and about as
much again for the gradients flowing back. The estimates here are deliberately
simple — sums of shapes times the item size — and err on the high side:

    activations per example  A = Σ over layers of prod(output shape) · item size
    training                 ≈ P · (2 + optimiser copies) + 3 · batch · A

(P the parameter bytes: the values and their gradients, plus Adam's two moments; the
3·A covers forward caches, backward gradients and one working copy.)
"""

from __future__ import annotations

from math import prod

import numpy as np

from .limits import check_memory

#: per-example copies of the activations a training step holds (forward, backward, working)
TRAINING_COPIES = 3


def activation_bytes(network, dtype) -> int:
    """Bytes of all layers' outputs for ONE example (shapes exclude the batch axis)."""
    itemsize = np.dtype(dtype).itemsize
    total = 0
    for layer in network.walk():
        shape = getattr(layer, "output_shape", None)
        if shape:
            total += prod(int(d) for d in shape if d is not None)
    return total * itemsize


def parameter_bytes(network) -> int:
    return sum(int(p.nbytes) for layer in network.walk() for p in layer.params.values())


def check_activation_memory(network, dtype, where: str) -> None:
    """After building: one example's activations must fit (else nothing can run)."""
    check_memory(activation_bytes(network, dtype), f"{where}: the activations of one example")


def check_training(model, batch_size: int) -> None:
    """Before training: parameters, gradients, optimiser state and a batch's activations."""
    network = getattr(model, "network", None)
    if network is None:  # a family's chain: its parts' networks
        owner = getattr(model, "owner", None)
        network = getattr(owner, "network", None)
    if network is None:
        return
    dtype = getattr(model, "dtype", np.float32)
    copies = 2 + (2 if getattr(getattr(model, "optimizer", None), "name", "") == "adam" else 0)
    needed = parameter_bytes(network) * copies + TRAINING_COPIES * batch_size * activation_bytes(network, dtype)
    check_memory(needed, f"{getattr(model, 'name', 'the model')}: training with batch size {batch_size}")
