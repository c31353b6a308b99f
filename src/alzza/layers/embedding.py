"""Token embeddings (``embed``) and the output projection tied to one (``unembed``).

A sequence of token ids becomes a sequence of vectors by looking up rows of a table;
Vaswani et al. (2017, §3.4) share that table with the pre-softmax projection ("weight
tying", Press & Wolf 2017), which ``unembed`` does.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..errors import AlzzaError, SpecError
from ..sequences import SeqShape, Sequences, length_mask, seq_data, split_sequences
from .base import BuildContext, Layer
from .registry import Option, register_layer


def _name_ok(value):
    return value is None or (isinstance(value, str) and value.isidentifier())


def scatter_rows(ids, rows, vocab: int):
    """G (V, D) with G[v] = Σ_{i: ids_i = v} rows_i — the embedding's gradient, without ``np.add.at``.

    Sort the ids, cut the sorted rows where the id changes, and sum each run with one
    ``add.reduceat`` (ids (M,) int on the host, rows (M, D)).
    """
    xp = array_module(rows)
    grad = xp.zeros((vocab, rows.shape[1]), dtype=rows.dtype)
    if len(ids) == 0:
        return grad
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    if xp is np:
        grad[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return grad
    # a device has no add.reduceat (CuPy's ufuncs lack it): run sums as differences of a cumsum;
    # the indices are host bookkeeping, copied over once
    ends = np.r_[starts[1:], len(ids)] - 1
    total = xp.cumsum(rows[xp.asarray(order)], axis=0)
    runs = total[xp.asarray(ends)]
    runs[1:] -= total[xp.asarray(ends[:-1])]
    grad[xp.asarray(sorted_ids[starts])] = runs
    return grad


@register_layer("embed")
class Embedding(Layer):
    """Token ids → vectors: y_t = E[id_t]  (× √D with ``scale``, as in §3.4).

    Shapes: ids (N, T) — or (N, T, 1), or one-hot rows (N, T, V) whose ids are the hot
    positions — with lengths ℓ (N,); table E (V, D); y (N, T, D), 0 at padded steps.
    Ids arrive as integers or as floats holding integers (models cast inputs to their dtype).

    Backward: dE[v] = c·Σ_{(n, t): id = v, t < ℓ_n} dy[n, t], c = √D with ``scale`` else 1,
    summed by sorting the ids (:func:`scatter_rows`), never ``np.add.at``; the row of
    ``padding_id`` gets no gradient (and starts at 0), as torch's ``nn.Embedding(V, D,
    padding_idx)``; a padding token's vector is 0. The ids get no gradient: dL/d(ids) is returned as zeros.
    With a ``name``, an ``unembed`` later in the network may tie its projection to E
    (its gradient is then added here). E starts N(0, 1/D) (std 1/√D).
    """

    OPTIONS = {
        "vocab": Option((int,), doc="vocabulary size V (ids 0..V-1)", check=lambda v: v > 0,
                        expects="a positive integer"),
        "width": Option((int,), doc="vector size D", check=lambda v: v > 0, expects="a positive integer"),
        "padding_id": Option((int,), None, doc="an id whose row stays 0 and gets no gradient",
                             check=lambda v: v >= 0, expects="an id >= 0"),
        "scale": Option((bool,), False, doc="multiply the vectors by √D (Vaswani et al. §3.4)"),
        "name": Option((str,), None, doc="a name an 'unembed' layer ties its projection to", check=_name_ok,
                       expects="a name (letters, digits, _)"),
    }
    accepts_sequences = True
    decayed = ()

    def __init__(self, vocab: int, width: int, padding_id: int | None = None, scale: bool = False,
                 name: str | None = None):
        super().__init__()
        given = {"padding_id": padding_id, "name": name}
        self.check_options(vocab=vocab, width=width, scale=scale, **{k: v for k, v in given.items() if v is not None})
        self.vocab, self.width, self.scale = int(vocab), int(width), bool(scale)
        self.padding_id = None if padding_id is None else int(padding_id)
        self.name = name
        #: the gradient a tied ``unembed`` adds to the table in this step
        self.tied_grad = None

    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        shape = tuple(input_shape)
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] not in (1, self.vocab)):
            raise SpecError(where, f"'embed' reads a sequence of token ids (T,) or (T, 1), or one-hot rows "
                                   f"(T, {self.vocab}); its input is {input_shape!r}")
        if self.padding_id is not None and self.padding_id >= self.vocab:
            raise SpecError(where, f"'embed' padding_id {self.padding_id} is outside the vocabulary "
                                   f"0..{self.vocab - 1}")
        self.one_hot = len(shape) == 2 and shape[1] == self.vocab and self.vocab > 1
        table = ctx.rng.standard_normal((self.vocab, self.width)).astype(ctx.dtype)
        table /= ctx.dtype.type(math.sqrt(self.width))
        if self.padding_id is not None:
            table[self.padding_id] = 0
        self.params["table"] = table
        if self.name is not None:
            if self.name in ctx.tables:
                raise SpecError(where, f"two 'embed' layers are named {self.name!r}; names must be unique")
            ctx.tables[self.name] = self
        self.input_shape = SeqShape(shape)
        self.output_shape = SeqShape((shape[0], self.width))
        return self.output_shape

    def token_ids(self, x):
        """(ids (N, T) int64 with 0 at padded steps, lengths): validated, on the host."""
        data, lengths = split_sequences(x)
        data = np.asarray(data.get() if hasattr(data, "get") else data)
        n, t = data.shape[:2]
        real = length_mask(lengths, t)
        if self.one_hot:
            ids = data.argmax(axis=2)
            bad = real & ~((data.max(axis=2) == 1) & (data.sum(axis=2) == 1))
            what = "is not a one-hot row"
        else:
            values = data.reshape(n, t)
            ids = np.rint(values).astype(np.int64) if values.dtype.kind == "f" else values.astype(np.int64)
            # an id is an integer; a float within 1e-3 of one counts (a gradient check's nudge)
            bad = real & ((ids < 0) | (ids >= self.vocab) | (np.abs(ids - values) > 1e-3))
            what = f"is not an id in 0..{self.vocab - 1} (vocab {self.vocab})"
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            value = data[i, j].tolist() if self.one_hot else data.reshape(n, t)[i, j].item()
            raise AlzzaError(f"{self.path or self.type_name}: the token at example {i}, step {j} ({value!r}) {what}; "
                             f"{int(bad.sum())} such token(s) in this batch — the data's vocabulary must match "
                             f"the embedding's")
        ids[~real] = 0
        return ids, lengths, real

    def forward(self, x, training=False):
        ids, lengths, real = self.token_ids(x)
        table = self.params["table"]
        xp = array_module(table)
        y = table[ids if xp is np else xp.asarray(ids)]                    # (N, T, D), a gather; ids: host
        if self.scale:
            y *= table.dtype.type(math.sqrt(self.width))
        used = real if self.padding_id is None else real & (ids != self.padding_id)
        if not used.all():   # padded steps, and padding tokens (whose row is 0 anyway, as in torch)
            y *= xp.asarray(used[:, :, None].astype(table.dtype))
        self._ids, self._real, self._shape = ids, real, seq_data(x).shape
        self.tied_grad = None
        return Sequences(y, lengths)

    def backward(self, dy):
        dy = seq_data(dy)
        table = self.params["table"]
        keep = self._real if self.padding_id is None else self._real & (self._ids != self.padding_id)
        flat = keep.ravel()
        rows = dy.reshape(-1, self.width)[flat if isinstance(dy, np.ndarray) else array_module(dy).asarray(flat)]
        grad = scatter_rows(self._ids.ravel()[flat], rows, self.vocab)
        if self.scale:
            grad *= table.dtype.type(math.sqrt(self.width))
        if self.tied_grad is not None:
            grad += self.tied_grad
            self.tied_grad = None
        self.grads["table"] = grad
        if not self.needs_input_grad:
            return None
        return array_module(table).zeros(self._shape, dtype=table.dtype)


@register_layer("unembed")
class TiedProjection(Layer):
    """Logits from vectors with the table of the ``embed`` named ``tie``: z = h·Eᵀ + b.

    Shapes: h (N, T, D) with lengths, E (V, D) (the embedding's, not a parameter here),
    b (V,); z (N, T, V), 0 at padded steps. Backward: dh = dz·E, db = Σ dz, and
    dE = dzᵀ·h (V, D) is added to the embedding's gradient (its backward runs later).
    Parameters: V (the bias) — E is counted once, in the embedding.
    """

    OPTIONS = {
        "tie": Option((str,), doc="the name of the 'embed' layer whose table is the projection", check=_name_ok,
                      expects="a name (letters, digits, _)"),
        "bias": Option((bool,), True, doc="learn an output bias per token"),
    }
    accepts_sequences = True

    def __init__(self, tie: str, bias: bool = True):
        super().__init__()
        self.check_options(tie=tie, bias=bias)
        self.tie, self.bias = tie, bool(bias)
        self.embedding: Embedding | None = None

    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        shape = tuple(input_shape)
        embedding = ctx.tables.get(self.tie)
        if embedding is None:
            known = ", ".join(sorted(ctx.tables)) or "none"
            raise SpecError(where, f"'unembed' ties to the embedding {self.tie!r}, but no 'embed' with name: "
                                   f"{self.tie} comes before it (named embeddings: {known})")
        if len(shape) != 2 or shape[1] != embedding.width:
            raise SpecError(where, f"'unembed' projects vectors of the embedding's width {embedding.width}, "
                                   f"but its input is {input_shape!r}")
        self.embedding = embedding
        if self.bias:
            self.params["b"] = np.zeros(embedding.vocab, dtype=ctx.dtype)
        self.input_shape = SeqShape(shape)
        self.output_shape = SeqShape((shape[0], embedding.vocab))
        return self.output_shape

    def forward(self, x, training=False):
        data, lengths = split_sequences(x)
        n, t, d = data.shape
        table = self.embedding.params["table"]
        rows = data.reshape(n * t, d)
        z = rows @ table.T
        if self.bias:
            z += self.params["b"]
        z = z.reshape(n, t, -1)
        real = length_mask(lengths, t)
        if not real.all():
            z *= array_module(z).asarray(real[:, :, None].astype(z.dtype))
            rows = rows * array_module(z).asarray(real.reshape(-1, 1).astype(z.dtype))
        self._rows, self._real, self._shape = rows, real, data.shape
        return Sequences(z, lengths)

    def backward(self, dy):
        dy = seq_data(dy)
        n, t, d = self._shape
        dz = dy.reshape(n * t, -1)
        if not self._real.all():
            dz = dz * array_module(dz).asarray(self._real.reshape(-1, 1).astype(dz.dtype))
        if self.bias:
            self.grads["b"] = dz.sum(axis=0)
        tied = dz.T @ self._rows
        emb = self.embedding
        emb.tied_grad = tied if emb.tied_grad is None else emb.tied_grad + tied
        if not self.needs_input_grad:
            return None
        return (dz @ emb.params["table"]).reshape(n, t, d)
