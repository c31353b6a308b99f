"""Where a model computes and how it steps: its device, its dtype and its one optimiser.

One :class:`Runtime` per model, made when the model is built and shared by every chain
of it (:class:`~alzza.models.parts.Chain`): a chain casts its batches and targets and
steps its slots through the runtime it was given, never by reaching back into the model.
Moving a model (``model.to('cuda')``) changes the runtime's device, so every chain
follows at once.
"""

from __future__ import annotations

from ..sequences import Sequences, seq_data

__all__ = ["OnRuntime", "Runtime"]


class Runtime:
    """``device`` (:mod:`alzza.device`), ``dtype`` (a NumPy dtype) and ``optimizer``."""

    def __init__(self, device, dtype, optimizer):
        self.device, self.dtype, self.optimizer = device, dtype, optimizer

    def cast(self, a):
        """An input batch on the device in the dtype (one copy per batch); a Sequences keeps
        its lengths on the host."""
        if isinstance(a, Sequences):
            return Sequences(self.device.asarray(a.data, dtype=self.dtype), a.lengths)
        return self.device.asarray(a, dtype=self.dtype)

    def target(self, y, output):
        """Targets cast and shaped like the output's data ((N, T, K) for a sequence output)."""
        return self.cast(seq_data(y)).reshape(seq_data(output).shape)

    def __repr__(self) -> str:
        return f"Runtime({self.device.name}, {self.dtype}, {self.optimizer.name})"


class OnRuntime:
    """``device``, ``dtype`` and ``optimizer`` read and set through ``self.runtime``: what a
    model and each of its chains show of the one Runtime they share."""

    runtime: Runtime

    @property
    def device(self):
        """Where the arrays live (:mod:`alzza.device`)."""
        return self.runtime.device

    @device.setter
    def device(self, device):
        self.runtime.device = device

    @property
    def dtype(self):
        """The dtype of every weight and activation (float32 unless chosen)."""
        return self.runtime.dtype

    @property
    def optimizer(self):
        """The one optimiser that steps every slot of every chain."""
        return self.runtime.optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        self.runtime.optimizer = optimizer
