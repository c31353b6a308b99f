"""Running a causal network one step at a time, with each attention layer's key/value cache.

A decoder-only Transformer (embed, posenc, causal self-attention blocks, layer norms,
per-step feed-forward layers) computes output t from inputs 0..t only. Generating with
a full forward over the prefix repeats every earlier step's work: t symbols cost
O(t²) step-computations (and O(t³) attention scores). Stepping keeps, in every causal
attention layer, the keys and values of the steps so far
(:meth:`~alzza.layers.attention.MultiHeadAttention.step`), so step t costs one step
of every layer plus attention over t cached keys.

:class:`NetworkStepper` walks the network's layer tree once per step:

- ``serial``: its layers in turn;  ``add`` (no actions): the branches' steps summed, plus x;
- ``attention`` (causal, or cross with a bound memory): its own ``step`` with its cache;
- ``posenc``: x_t + P[t];
- layers that act on each step alone (``embed``, ``layer_normal``, ``rms_normal``,
  ``seqwrap``, ``dropout``, ``gelu`` …, :data:`PER_STEP`): their forward on a one-step sequence.

Any other layer (a recurrent layer, a non-causal attention, pooling over steps) makes
the network not steppable: :func:`stepper_for` returns None and generation falls back
to the full forward.
"""

from __future__ import annotations

import numpy as np

from ..sequences import Sequences, seq_data

__all__ = ["PER_STEP", "NetworkStepper", "stepper_for"]

#: layer types whose output at a step depends on that step's input alone
PER_STEP = frozenset({"embed", "layer_normal", "rms_normal", "seqwrap", "dropout", "gelu", "unembed"})


class NotSteppable(Exception):
    """The network has a layer that mixes steps in a way stepping can't follow."""


def _check(layer):
    kind = layer.type_name
    if kind == "serial":
        for child in layer.layers:
            _check(child)
    elif kind == "add":
        if layer.actions:
            raise NotSteppable(f"{layer.path}: add with actions {layer.actions!r}")
        for branch in layer.branches:
            _check(branch)
    elif kind == "attention":
        if not (layer.causal or layer.memory is not None):
            raise NotSteppable(f"{layer.path}: attention without causal")
    elif kind != "posenc" and kind not in PER_STEP:
        raise NotSteppable(f"{layer.path or kind}: '{kind}' is not stepped")


class NetworkStepper:
    """``step(x_t) → y_t`` for a causal network: x_t (N, F) the inputs of step t, y_t (N, K)."""

    def __init__(self, network):
        _check(network)
        self.network = network
        self.position = 0
        self.caches: dict[int, dict | None] = {}

    def step(self, x_t):
        y = self._layer(self.network, x_t)
        self.position += 1
        return y

    def _layer(self, layer, x):
        kind = layer.type_name
        if kind == "serial":
            for child in layer.layers:
                x = self._layer(child, x)
            return x
        if kind == "add":
            total = x.copy() if layer.use_x else None
            for branch in layer.branches:
                out = self._layer(branch, x)
                total = out if total is None else total + out
            return total
        if kind == "attention":
            y, self.caches[id(layer)] = layer.step(x, self.caches.get(id(layer)))
            return y
        if kind == "posenc":
            return x + np.asarray(layer.table()[self.position]).astype(x.dtype, copy=False)
        one = Sequences(x[:, None], np.ones(len(x), dtype=np.int64))
        return seq_data(layer.forward(one, False))[:, 0]


def stepper_for(model):
    """A :class:`NetworkStepper` over the model's network, or None when it can't be stepped."""
    network = getattr(model, "network", None)
    if network is None:
        return None
    try:
        return NetworkStepper(network)
    except NotSteppable:
        return None
