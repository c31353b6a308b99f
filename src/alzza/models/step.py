"""One training step, shared by the Model and by the family models' chains.

Anything with a head, an optimiser, its ``slots`` and three hooks —
``_train_forward(x)`` (forward in training mode), ``_train_backward(d)`` (gradients
only, from dL/d(output) down) and ``_target(y, output)`` (targets cast and shaped like
the output) — plus ``output_in_chunks(x)`` for inference, gets from this class:

    loss = head.loss(f(x), y) + decay terms        (loss_and_backward: grads filled, nothing moved)
    θ ← optimiser.step(θ, ∇θ loss)                 (train_step: the only place weights change)
"""

from __future__ import annotations

import math

from ..device import to_host
from ..layers.base import check_gradients


class TrainingStep:
    """loss_and_backward / train_step / evaluate / predict over the three hooks above."""

    def loss_and_backward(self, x, y):
        """Forward in training mode, the loss (with decay terms), and all gradients.

        Nothing is updated: afterwards every trained layer's ``grads`` hold dL/dθ.
        Returns ``(loss, output, y)`` with y cast and shaped like the output.
        """
        loss, output, y = self.training_loss(x, y)
        self._train_backward(self.head.backward())
        if not self.__dict__.get("_gradients_checked"):  # the layer contract, once per model
            check_gradients(dict.fromkeys(slot.layer for slot in self.slots if slot.layer is not None))
            self._gradients_checked = True
        return loss, output, y

    def training_loss(self, x, y):
        """Forward in training mode and the loss with its decay terms, no backward.

        Returns ``(loss, output, y)`` with y cast and shaped like the output.
        """
        output = self._train_forward(x)
        y = self._target(y, output)
        return self.head.loss(output, y) + self.optimizer.decay_loss(self.slots), output, y

    def train_step(self, x, y, learning_rate: float):
        """One minibatch: gradients, then one optimiser step. Returns (loss, accuracy).

        A non-finite loss skips the step: the weights stay as they were (finite), so
        the trainer can say which layer or which data made it, and nothing is lost.
        """
        loss, output, y = self.loss_and_backward(x, y)
        acc = self.head.accuracy(output, y)
        if math.isfinite(loss):
            self.optimizer.step(self.slots, learning_rate)
        return loss, acc

    def evaluate(self, x, y) -> dict:
        """All of the head's metrics on (x, y), computed in inference mode (plain Python
        floats; a per-head accuracy is a tuple of them)."""
        output = self.output_in_chunks(x)
        return plain_metrics(self.head.metrics(output, self._target(y, output)))

    def predict(self, x):
        """The head's estimate: a value, a probability, or class probabilities (host arrays,
        whatever the model's device)."""
        return to_host(self.head.estimate(self.output_in_chunks(x)))


def plain_metrics(metrics: dict) -> dict:
    """NumPy scalars → Python floats (tuples → tuples of floats): what users, JSON and
    format strings expect, whatever the model kind."""
    def plain(value):
        if isinstance(value, (tuple, list)):
            return tuple(plain(v) for v in value)
        if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            value = value.item()
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    return {key: plain(value) for key, value in metrics.items()}
