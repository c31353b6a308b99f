"""Multi-head scaled dot-product attention (``attention``), Vaswani et al. 2017 §3.2.

Self-attention reads one sequence; cross-attention (``memory: NAME``) takes its queries
from its input and its keys and values from another sequence, the *memory* (an encoder's
output), which the model binds before the forward (:func:`bind_memory`) and whose
gradient it collects after the backward (:func:`memory_gradient`). The memories a
network may read are declared at build time in ``BuildContext.memories``, so a
cross-attention without one is refused when the model is built.

The textbook form — one example, one head, explicit loops over the real steps only —
is :mod:`alzza.layers.attention_reference`; the tests hold this layer to it, and to
``torch.nn.MultiheadAttention`` in float64.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..errors import AlzzaError, SpecError
from ..ops.attention import allowed_keys, masked_softmax, rotary_angles, rotate, softmax_backward
from ..sequences import SeqShape, Sequences, length_mask, seq_data, split_sequences
from .base import BuildContext, Layer
from .registry import Option, register_layer


def _name_ok(value):
    return value is None or (isinstance(value, str) and value.isidentifier())


@register_layer("attention")
class MultiHeadAttention(Layer):
    """Multi-head attention over a batch of variable-length sequences.

    Shapes (batch N, query steps T, key steps S = T for self-attention, model width D,
    memory width D_m, h heads of d_h = D/h features)::

        x (N, T, D) with lengths ℓ (N,)            memory (N, S, D_m) with lengths ℓ_m (N,)
        self:  [Q | K | V] = x·W_qkv + b_qkv        W_qkv (D, 3D), b_qkv (3D,)
        cross: Q = x·W_q + b_q,  [K | V] = memory·W_kv + b_kv     W_q (D, D), W_kv (D_m, 2D)
        Q, K, V split into heads: (N, h, T, d_h), (N, h, S, d_h), (N, h, S, d_h)
        (rotary: Q, K ← rotate(Q), rotate(K) at their positions, per head)
        S_ = Q·Kᵀ / √d_h                            (N, h, T, S)
        P = masked softmax of S_ over keys          allowed: key j < ℓ_m (or ℓ), j ≤ i if causal
        P̃ = P ⊙ M / keep_prob                       attention dropout, training only (M ~ Bernoulli)
        O = P̃·V                                     (N, h, T, d_h) → heads joined (N, T, D)
        y = O·W_o + b_o                              W_o (D, D), b_o (D,); y = 0 at padded steps

    Backward (dy (N, T, D), padded steps ignored)::

        dW_o = Oᵀ·dy,  db_o = Σ dy,  dO = dy·W_oᵀ
        dV = P̃ᵀ·dO,   dP̃ = dO·Vᵀ,   dP = dP̃ ⊙ M / keep_prob
        dS_ = P ⊙ (dP − rowsum(dP ⊙ P)) / √d_h
        dQ = dS_·K,   dK = dS_ᵀ·Q   (rotary: rotated back by −p·θ)
        self:  dW_qkv = xᵀ·[dQ | dK | dV],  db_qkv = Σ [dQ | dK | dV],  dx = [dQ | dK | dV]·W_qkvᵀ
        cross: dW_q = xᵀ·dQ, dW_kv = memoryᵀ·[dK | dV], dx = dQ·W_qᵀ, d memory = [dK | dV]·W_kvᵀ

    Nothing flows through padded steps: their keys get weight 0, their outputs are 0, and
    their input (and memory) gradients are 0. A query row with no allowed key (only
    possible for padding) has P = 0 — no NaN. torch's twin is
    ``nn.MultiheadAttention(D, h, batch_first=True)`` with ``in_proj_weight`` = W_qkvᵀ
    (cross: ``kdim = vdim = D_m``, ``q_proj_weight`` = W_qᵀ, ...), ``out_proj`` = (W_oᵀ, b_o).
    Parameters: 4D² + 4D for self-attention, 2D² + 2D·D_m + 4D for cross-attention.

    Incremental decoding: :meth:`step` (one new step of every example, with a cache of the
    keys and values so far) equals the causal forward, step by step.
    """

    OPTIONS = {
        "heads": Option((int,), doc="number of heads h (D must be divisible by h)", check=lambda v: v > 0,
                        expects="a positive integer"),
        "causal": Option((bool,), False, doc="step i attends to steps j ≤ i only (a decoder's self-attention)"),
        "memory": Option((str,), None, doc="cross-attention: the name of the memory sequence keys and values "
                                           "come from (e.g. source, an encoder's output)", check=_name_ok,
                         expects="a name (letters, digits, _)"),
        "rotary": Option((bool,), False, doc="rotary position embedding of queries and keys (RoFormer)"),
        "keep_prob": Option((float,), 1.0, doc="dropout on the attention weights: probability of keeping one",
                            check=lambda v: 0.0 < v <= 1.0, expects="in (0, 1]"),
        "bias": Option((bool,), True, doc="learn the projection biases"),
    }
    accepts_sequences = True
    decayed = ("w_qkv", "w_q", "w_kv", "w_o")

    def __init__(self, heads: int, causal: bool = False, memory: str | None = None, rotary: bool = False,
                 keep_prob: float = 1.0, bias: bool = True):
        super().__init__()
        self.check_options(heads=heads, causal=causal, rotary=rotary, keep_prob=keep_prob, bias=bias,
                           **({} if memory is None else {"memory": memory}))
        self.heads = int(heads)
        self.causal = bool(causal)
        self.memory = memory
        self.rotary = bool(rotary)
        self.keep_prob = float(keep_prob)
        self.bias = bool(bias)
        self.rng: np.random.Generator | None = None
        #: the memory sequence bound for the next forward (cross-attention), and its gradient after backward
        self.memory_value: Sequences | None = None
        self.memory_grad: np.ndarray | None = None
        #: a fixed keep pattern (bool, broadcast to (N, h, T, S)) used instead of random draws (tests)
        self.fixed_keep: np.ndarray | None = None
        #: while decoding (:func:`start_decoding`): {"cache": the step cache}; forward then steps
        self.decoding: dict | None = None

    # --- building -----------------------------------------------------------------
    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        shape = tuple(input_shape)
        if len(shape) != 2:   # a plain (T, D) tuple counts as a sequence too (serial() drops the mark)
            raise SpecError(where, f"'attention' reads a sequence of vectors (T, D), but its input is {input_shape!r}")
        width = int(shape[1])
        if width % self.heads:
            raise SpecError(where, f"'attention' splits d_model = {width} features into {self.heads} heads, but "
                                   f"{width} is not divisible by {self.heads}; choose heads dividing {width}")
        self.width, self.head_size = width, width // self.heads
        if self.rotary and (self.head_size % 2 or self.memory is not None):
            raise SpecError(where, "'attention' rotary needs an even head size d_model/heads (got "
                                   f"{self.head_size}) and self-attention (no memory)" if self.head_size % 2 else
                                   "'attention' rotary rotates queries and keys of one sequence by their positions; "
                                   "it is for self-attention, not cross-attention (memory)")
        if self.causal and ctx.encoder:
            raise SpecError(where, "'attention' with causal: true in an encoder: an encoder reads its whole input, "
                                   "so each step may attend to every step; remove causal (a causal mask belongs "
                                   "to a decoder's self-attention)")
        if self.memory is not None:
            if self.causal:
                raise SpecError(where, f"'attention' with memory {self.memory!r} and causal: true: the causal mask "
                                       "orders the steps of one sequence; cross-attention reads another "
                                       "sequence, so remove causal")
            if self.memory not in ctx.memories:
                given = ", ".join(sorted(ctx.memories)) or "none"
                raise SpecError(where, f"cross-attention reads the memory {self.memory!r}, but nothing provides it "
                                       f"here (memories this network can read: {given}); a plain network has one "
                                       "input, so cross-attention belongs in a decoder whose model passes it an "
                                       "encoder's output")
            mem_shape = tuple(ctx.memories[self.memory])
            if len(mem_shape) != 2:
                raise SpecError(where, f"memory {self.memory!r} must be a sequence of vectors (S, D_m), got "
                                       f"{mem_shape!r}")
            self.memory_width = int(mem_shape[1])
        self.rng = ctx.rng
        d, init, rng, dt = width, ctx.init, ctx.rng, ctx.dtype
        if self.memory is None:
            self.params["w_qkv"] = np.concatenate([init.weights((d, d), d, d, rng, dt) for _ in range(3)], axis=1)
            if self.bias:
                self.params["b_qkv"] = np.zeros(3 * d, dtype=dt)
        else:
            dm = self.memory_width
            self.params["w_q"] = init.weights((d, d), d, d, rng, dt)
            self.params["w_kv"] = np.concatenate([init.weights((dm, d), dm, d, rng, dt) for _ in range(2)], axis=1)
            if self.bias:
                self.params["b_q"] = np.zeros(d, dtype=dt)
                self.params["b_kv"] = np.zeros(2 * d, dtype=dt)
        self.params["w_o"] = init.weights((d, d), d, d, rng, dt)
        if self.bias:
            self.params["b_o"] = np.zeros(d, dtype=dt)
        self.input_shape = self.output_shape = SeqShape(shape)
        return self.output_shape

    # --- helpers ------------------------------------------------------------------
    def _project(self, rows, w, b):
        out = rows @ self.params[w]
        if self.bias:
            out += self.params[b]
        return out

    def _split(self, flat, n, t, parts):
        """(N·T, parts·D) → ``parts`` arrays (N, h, T, d_h)."""
        heads = flat.reshape(n, t, parts, self.heads, self.head_size).transpose(2, 0, 3, 1, 4)
        return [heads[i] for i in range(parts)]

    def _join(self, heads):
        """(N, h, T, d_h) → (N·T, D)."""
        n, h, t, dh = heads.shape
        return heads.transpose(0, 2, 1, 3).reshape(n * t, h * dh)

    def _real_rows(self, data, lengths):
        """The data with padded steps zeroed (not even a NaN there reaches a product)."""
        if len(lengths) and int(lengths.min()) < data.shape[1]:
            xp = array_module(data)
            data = xp.where(xp.asarray(length_mask(lengths, data.shape[1]))[:, :, None], data, data.dtype.type(0))
        return data

    def _bound_memory(self):
        if self.memory_value is None:
            raise AlzzaError(f"{self.path or self.type_name}: cross-attention reads the memory {self.memory!r}, but "
                             "none is bound; the model must call alzza.layers.attention.bind_memory(network, "
                             f"{self.memory!r}, encoder_output) before the forward")
        mem, mem_lengths = split_sequences(self.memory_value)
        return self._real_rows(mem, mem_lengths), mem_lengths

    # --- forward / backward -----------------------------------------------------------
    def forward(self, x, training=False):
        if self.decoding is not None:
            return self._forward_decoding(x)
        data, lengths = split_sequences(x)
        n, t, d = data.shape
        xp = array_module(data)
        data = self._real_rows(data, lengths)
        rows = data.reshape(n * t, d)
        if self.memory is None:
            q, k, v = self._split(self._project(rows, "w_qkv", "b_qkv"), n, t, 3)
            key_lengths, s = lengths, t
            mem_rows = None
        else:
            mem, key_lengths = self._bound_memory()
            s = mem.shape[1]
            mem_rows = mem.reshape(n * s, -1)
            q, = self._split(self._project(rows, "w_q", "b_q"), n, t, 1)
            k, v = self._split(self._project(mem_rows, "w_kv", "b_kv"), n, s, 2)
        if self.rotary:
            cos, sin = (xp.asarray(a) for a in rotary_angles(np.arange(t), self.head_size, dtype=data.dtype))
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        scale = data.dtype.type(1.0 / math.sqrt(self.head_size))
        scores = xp.matmul(q, k.transpose(0, 1, 3, 2))
        scores *= scale
        p = masked_softmax(scores, allowed_keys(key_lengths, t, s, self.causal))
        keep = self._dropout_mask(p.shape, p.dtype, xp) if training else None
        p_used = p * keep if keep is not None else p
        o = xp.matmul(p_used, v)
        o_rows = self._join(o)
        y = self._project(o_rows, "w_o", "b_o").reshape(n, t, d)
        y = self._real_rows(y, lengths)
        self._cache = (rows, mem_rows, q, k, v, p, keep, o_rows, lengths, (n, t, s, d))
        self.weights = p        # the attention weights of the last forward (for pictures)
        return Sequences(y, lengths)

    def _dropout_mask(self, shape, dtype, xp):
        if self.fixed_keep is not None:
            keep = xp.broadcast_to(xp.asarray(self.fixed_keep, dtype=bool), shape)
        elif self.keep_prob >= 1.0:
            return None
        else:
            rng = self.rng if self.rng is not None else np.random.default_rng()
            keep = xp.asarray(rng.random(shape) < self.keep_prob)
        mask = keep.astype(dtype)
        mask *= dtype.type(1.0 / self.keep_prob)
        return mask

    def backward(self, dy):
        rows, mem_rows, q, k, v, p, keep, o_rows, lengths, (n, t, s, d) = self._cache
        xp = array_module(rows)
        dy = self._real_rows(seq_data(dy), lengths).reshape(n * t, d)
        self.grads["w_o"] = o_rows.T @ dy
        if self.bias:
            self.grads["b_o"] = dy.sum(axis=0)
        do, = self._split(dy @ self.params["w_o"].T, n, t, 1)
        p_used = p * keep if keep is not None else p
        dv = xp.matmul(p_used.transpose(0, 1, 3, 2), do)
        dp = xp.matmul(do, v.transpose(0, 1, 3, 2))
        if keep is not None:
            dp *= keep
        ds = softmax_backward(p, dp)
        ds *= rows.dtype.type(1.0 / math.sqrt(self.head_size))
        dq = xp.matmul(ds, k)
        dk = xp.matmul(ds.transpose(0, 1, 3, 2), q)
        if self.rotary:
            cos, sin = (xp.asarray(a) for a in rotary_angles(np.arange(t), self.head_size, dtype=rows.dtype))
            dq, dk = rotate(dq, cos, sin, inverse=True), rotate(dk, cos, sin, inverse=True)
        if self.memory is None:
            dqkv = xp.concatenate([self._join(dq), self._join(dk), self._join(dv)], axis=1)
            self.grads["w_qkv"] = rows.T @ dqkv
            if self.bias:
                self.grads["b_qkv"] = dqkv.sum(axis=0)
            dx = dqkv @ self.params["w_qkv"].T if self.needs_input_grad else None
        else:
            dq_rows = self._join(dq)
            dkv = xp.concatenate([self._join(dk), self._join(dv)], axis=1)
            self.grads["w_q"] = rows.T @ dq_rows
            self.grads["w_kv"] = mem_rows.T @ dkv
            if self.bias:
                self.grads["b_q"] = dq_rows.sum(axis=0)
                self.grads["b_kv"] = dkv.sum(axis=0)
            self.memory_grad = (dkv @ self.params["w_kv"].T).reshape(n, s, -1)
            dx = dq_rows @ self.params["w_q"].T if self.needs_input_grad else None
        return None if dx is None else dx.reshape(n, t, d)

    # --- incremental decoding ---------------------------------------------------------
    def step(self, x_t, cache: dict | None = None):
        """One new step of every example: ``(y_t, cache)`` with y_t (N, D) for x_t (N, D).

        ``cache`` is None at the first step, then what the previous call returned: a dict
        with ``k``, ``v`` — (N, h, capacity, d_h) buffers holding the keys and values of the
        steps so far (grown by doubling, so a step copies nothing old) — and ``length``, the
        number of steps in them (the position of x_t). Self-attention attends to steps
        0..length (causal by construction; without ``causal`` stepping is refused, since
        later steps would change earlier outputs); cross-attention attends to the bound
        memory, whose keys and values are computed once at the first step. At inference
        only (no dropout). Stepping t tokens gives the causal forward's outputs at every step.
        """
        xp = array_module(x_t)
        x_t = xp.asarray(x_t)
        if x_t.ndim != 2 or x_t.shape[1] != self.width:
            raise ValueError(f"{self.path or self.type_name}: step takes one step (N, {self.width}), got {x_t.shape}")
        n = len(x_t)
        if self.memory is None and not self.causal:
            raise AlzzaError(f"{self.path or self.type_name}: step() decodes one step at a time, which needs "
                             "causal: true (without it every step attends to later steps too)")
        position = 0 if cache is None else int(cache["length"])
        if self.memory is None:
            q, k, v = self._split(self._project(x_t, "w_qkv", "b_qkv"), n, 1, 3)
            if self.rotary:
                cos, sin = (xp.asarray(a) for a in rotary_angles([position], self.head_size, dtype=x_t.dtype))
                q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            cache = self._append(cache, k, v, n, x_t.dtype, xp)
            keys, values = cache["k"][:, :, :cache["length"]], cache["v"][:, :, :cache["length"]]
            key_lengths = np.full(n, cache["length"], dtype=np.int64)
        else:
            q, = self._split(self._project(x_t, "w_q", "b_q"), n, 1, 1)
            if cache is None:
                mem, mem_lengths = self._bound_memory()
                s = mem.shape[1]
                k, v = self._split(self._project(mem.reshape(n * s, -1), "w_kv", "b_kv"), n, s, 2)
                cache = {"k": k, "v": v, "length": 0, "memory_lengths": mem_lengths}
            cache["length"] += 1
            keys, values, key_lengths = cache["k"], cache["v"], cache["memory_lengths"]
        scores = xp.matmul(q, keys.transpose(0, 1, 3, 2))
        scores *= x_t.dtype.type(1.0 / math.sqrt(self.head_size))
        p = masked_softmax(scores, allowed_keys(key_lengths, 1, keys.shape[2], False))
        o = xp.matmul(p, values)                                            # (N, h, 1, d_h)
        return self._project(self._join(o), "w_o", "b_o"), cache

    def _forward_decoding(self, x):
        """Forward while decoding: the new steps of x (N, t, D), each by :meth:`step` on the cache."""
        data, lengths = split_sequences(x)
        xp = array_module(data)
        outputs = []
        for step in range(data.shape[1]):
            y, self.decoding["cache"] = self.step(data[:, step], self.decoding["cache"])
            outputs.append(y)
        return Sequences(xp.stack(outputs, axis=1), lengths)

    def _append(self, cache, k, v, n, dtype, xp):
        if cache is None:
            cache = {"k": xp.empty((n, self.heads, 16, self.head_size), dtype),
                     "v": xp.empty((n, self.heads, 16, self.head_size), dtype), "length": 0}
        length = cache["length"]
        if length == cache["k"].shape[2]:                                   # full: double the capacity
            for key in ("k", "v"):
                grown = xp.empty((n, self.heads, 2 * length, self.head_size), dtype)
                grown[:, :, :length] = cache[key]
                cache[key] = grown
        cache["k"][:, :, length] = k[:, :, 0]
        cache["v"][:, :, length] = v[:, :, 0]
        cache["length"] = length + 1
        return cache


# --- decoding a whole network step by step ----------------------------------------------------
def start_decoding(network) -> None:
    """Put every attention and positional layer of ``network`` into incremental decoding.

    From now on (until :func:`stop_decoding`) a forward of ``network`` (inference only) reads
    only the *new* steps — typically (N, 1) token ids, one per call — and each attention
    layer attends to every step fed since the start through its key/value cache
    (:meth:`MultiHeadAttention.step`), each positional encoding continues at the next
    position. Every other layer of a Transformer block (layer_normal, seqwrap full, add)
    works per step anyway. So feeding tokens one call at a time gives, at each step, the
    causal forward's output at that position — at the cost of one step, not a forward over
    all the steps so far. Cross-attention memories stay bound as they are.
    """
    from .positional import PositionalEncoding   # a sibling module; imported here to keep this one's imports small

    tops = network if isinstance(network, (list, tuple)) else [network]
    for top in tops:
        for layer in top.walk():
            if isinstance(layer, MultiHeadAttention):
                layer.decoding = {"cache": None}
            elif isinstance(layer, PositionalEncoding):
                layer.offset, layer.decoding = 0, True


def stop_decoding(network) -> None:
    """Back to whole-sequence forwards (caches dropped, positions from 0)."""
    from .positional import PositionalEncoding

    tops = network if isinstance(network, (list, tuple)) else [network]
    for top in tops:
        for layer in top.walk():
            if isinstance(layer, MultiHeadAttention):
                layer.decoding = None
            elif isinstance(layer, PositionalEncoding):
                layer.offset, layer.decoding = 0, False


# --- binding memories -------------------------------------------------------------------
def cross_attentions(network, name: str | None = None):
    """The attention layers in ``network`` (a Layer or a list of Layers) that read a memory (``name``)."""
    tops = network if isinstance(network, (list, tuple)) else [network]
    return [layer for top in tops for layer in top.walk()
            if isinstance(layer, MultiHeadAttention) and layer.memory is not None
            and (name is None or layer.memory == name)]


def bind_memory(network, name: str, memory) -> None:
    """Give every cross-attention of ``network`` reading ``name`` the memory sequence for the next forward.

    ``memory``: a Sequences (N, S, D_m) (or a plain (N, S, D_m) array: all lengths S).
    """
    if not isinstance(memory, Sequences):
        memory = Sequences(memory)
    for layer in cross_attentions(network, name):
        layer.memory_value = memory


def memory_gradient(network, name: str):
    """dL/d(memory ``name``) after a backward: the sum over every cross-attention reading it
    (None when none does). Padded steps of the memory get 0."""
    total = None
    for layer in cross_attentions(network, name):
        if layer.memory_grad is not None:
            total = layer.memory_grad.copy() if total is None else total + layer.memory_grad
    return total
