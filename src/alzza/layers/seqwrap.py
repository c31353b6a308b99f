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

After a seqwrap, the book lets non-sequence layers act on the whole (N, T, ...) tensor
(``['seqwrap', ['full', 32]], ['batch_normal'], ['full', 10]``: batch norm over all axes
but the last, ``full`` flattening time into features). :class:`WholeSequence` does that
where every sequence of a batch has all T steps, and refuses a batch whose lengths vary
(padding would enter the statistics and the features).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module

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
        xp = array_module(x)
        data, lengths = split_sequences(x)
        n, t = data.shape[:2]
        rows = data.reshape((n * t,) + data.shape[2:])
        index = None
        if n and int(lengths.min()) < t:
            index = xp.asarray(np.flatnonzero(length_mask(lengths, t).ravel()))  # host bookkeeping, one copy in
            rows = rows[index]
        rows = seq_data(self.body.forward(rows, training))
        if index is None:
            out = rows.reshape((n, t) + rows.shape[1:])
        else:
            out = xp.zeros((n * t,) + rows.shape[1:], dtype=rows.dtype)
            out[index] = rows
            out = out.reshape((n, t) + rows.shape[1:])
        self._layout = (n, t, data.shape[2:], index)
        return Sequences(out, lengths)

    def backward(self, dy):
        xp = array_module(dy)
        n, t, in_step, index = self._layout
        dy = seq_data(dy)
        rows = dy.reshape((n * t,) + dy.shape[2:])
        rows = rows[index] if index is not None else rows
        rows = self.body.backward(rows)
        if not self.needs_input_grad or rows is None:
            return None
        if index is None:
            return rows.reshape((n, t) + in_step)
        dx = xp.zeros((n * t,) + in_step, dtype=rows.dtype)
        dx[index] = rows.reshape((len(index),) + in_step)
        return dx.reshape((n, t) + in_step)


class WholeSequence(Layer):
    """A per-example layer applied to the whole fixed-length sequence tensor (the book's way).

    ``inner`` is built for the plain shape (T, ...) and sees the padded data (N, T, ...)
    as one batch: ``y = inner(x.data)``, ``dx = inner.backward(dy)``. Allowed only when
    every length is T. The output is a sequence again (same lengths) when ``inner``
    keeps the leading T axis (batch norm, dropout, noise), else a plain array (``full``).

    The wrapper is transparent: it carries ``inner``'s path, parameters, gradients and
    state (the same dicts), its options and children, so summaries, weight names and
    saved files are those of ``inner`` itself. It is inserted when a chain is built
    (:func:`alzza.models.parts.build_chain`), never written in a spec.
    """

    accepts_sequences = True

    def __init__(self, inner: Layer):
        super().__init__()
        self.inner = inner
        self.type_name = inner.type_name
        self.path = inner.path

    def __getattr__(self, name):
        # only reached for attributes this wrapper lacks: the inner layer's own
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    @property
    def needs_input_grad(self):
        return self.inner.needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        if "inner" in self.__dict__:
            self.inner.needs_input_grad = value

    @property
    def decayed(self):
        return self.inner.decayed

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = SeqShape(input_shape)
        self.timesteps = int(input_shape[0])
        out = tuple(self.inner.build(tuple(input_shape), ctx))
        # the same dicts: optimisers, summaries and save/load see the inner layer's arrays
        self.params, self.grads, self.state = self.inner.params, self.inner.grads, self.inner.state
        self.keeps_steps = len(out) >= 2 and out[0] == self.timesteps
        self.output_shape = SeqShape(out) if self.keeps_steps else out
        return self.output_shape

    def children(self):
        return self.inner.children()

    def options(self):
        return self.inner.options()

    def describe(self):
        return self.inner.describe()

    def spec_children(self):
        return self.inner.spec_children()

    def to_spec(self):
        return self.inner.to_spec()

    def forward(self, x, training=False):
        data, lengths = split_sequences(x)
        if len(lengths) and int(lengths.min()) < self.timesteps:
            raise SpecError(self.path or self.type_name,
                            f"'{self.type_name}' after a seqwrap acts on the whole (N, T, ...) sequence tensor, "
                            f"as in the book, which needs every sequence to have all {self.timesteps} steps; "
                            f"this batch has lengths {int(lengths.min())}..{int(lengths.max())}. Put it inside "
                            f"the seqwrap to apply it step by step instead")
        y = self.inner.forward(data, training)
        self._lengths = lengths
        return Sequences(y, lengths) if self.keeps_steps else y

    def backward(self, dy):
        return self.inner.backward(seq_data(dy))
