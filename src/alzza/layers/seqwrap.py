"""``seqwrap``: apply per-example layers (conv, pool, full, batch norm...) to every time step.

    y[n, t] = children(x[n, t])        for every real step t < length_n
    y[n, t] = 0                        for padded steps

The children are built for the shape of one step (the sequence shape without T) and
see a plain batch, so any layer type works inside. Only the M real steps of the batch
are gathered into that batch (N·T → M rows), run through the children in order, and
scattered back into (N, T, ...) with zeros at padding; the lengths are kept.

Because padded steps never reach the children, batch-norm statistics are computed on
real steps only, dropout masks cover real steps only, and no gradient enters or leaves
padded steps. (When every example uses all T steps the gather is skipped: the
reshape (N, T, ...) → (N·T, ...) is a view.)

Backward: gather dy at the real steps, run the children's backward in reverse order,
scatter dx back with zeros at padding.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..sequences import SeqShape, Sequences, length_mask, seq_data, split_sequences
from .base import BuildContext, Layer
from .composite import Serial
from .registry import register_layer


@register_layer("seqwrap")
class SeqWrap(Layer):
    """The children, applied step by step to a sequence (see the module docstring)."""

    accepts_children = True
    accepts_sequences = True

    def __init__(self, children: list[Layer]):
        # the children run as a serial chain on the gathered steps: Serial owns the
        # chain rule and the input-gradient flag of the first child
        self.body = Serial(children)
        super().__init__()

    @property
    def layers(self) -> list[Layer]:
        return self.body.layers

    def children(self):
        return self.body.layers

    @property
    def needs_input_grad(self):
        return self.body.needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        if hasattr(self, "body"):
            self.body.needs_input_grad = value

    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        if not self.layers:
            raise SpecError(where, "'seqwrap' needs at least one child spec")
        shape = tuple(input_shape)
        if len(shape) < 2:  # a plain (T, ...) tuple is taken as a sequence too (serial() drops the mark)
            raise SpecError(where, f"'seqwrap' applies its children to every step of a sequence, "
                                   f"but its input {shape} is not a sequence (T, ...)")
        self.input_shape = SeqShape(shape)
        step = shape[1:]
        for layer in self.layers:
            if layer.accepts_sequences and not isinstance(layer, SeqWrap) \
                    and getattr(layer, "inseq", False):
                raise SpecError(layer.path or where, f"'{layer.type_name}' reads whole sequences; inside 'seqwrap' "
                                                     "each child sees one step — put it after the seqwrap")
        step = tuple(self.body.build(step, ctx))
        self.step_shape = step
        self.output_shape = SeqShape((shape[0],) + step)
        return self.output_shape

    def forward(self, x, training=False):
        data, lengths = split_sequences(x)
        n, t = data.shape[:2]
        rows = data.reshape((n * t,) + data.shape[2:])
        index = None
        if n and int(lengths.min()) < t:
            index = np.flatnonzero(length_mask(lengths, t).ravel())
            rows = rows[index]
        rows = seq_data(self.body.forward(rows, training))
        if index is None:
            out = rows.reshape((n, t) + rows.shape[1:])
        else:
            out = np.zeros((n * t,) + rows.shape[1:], dtype=rows.dtype)
            out[index] = rows
            out = out.reshape((n, t) + rows.shape[1:])
        self._layout = (n, t, data.shape[2:], index)
        return Sequences(out, lengths)

    def backward(self, dy):
        n, t, in_step, index = self._layout
        dy = seq_data(dy)
        rows = dy.reshape((n * t,) + dy.shape[2:])
        rows = rows[index] if index is not None else rows
        rows = self.body.backward(rows)
        if not self.needs_input_grad or rows is None:
            return None
        if index is None:
            return rows.reshape((n, t) + in_step)
        dx = np.zeros((n * t,) + in_step, dtype=rows.dtype)
        dx[index] = rows.reshape((len(index),) + in_step)
        return dx.reshape((n, t) + in_step)
