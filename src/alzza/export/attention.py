"""ONNX forms of the Transformer's layers (inference): embed, posenc, attention, rms_normal, seqpool.

=================  ===================================================================
alzza              ONNX
=================  ===================================================================
embed              Cast to int64, Gather from the table (one-hot rows: MatMul), × √D
posenc             Add of the table's first T rows (offset 0)
attention (self)   MatMul x·W_qkv + b, Reshape/Transpose to heads, MatMul Q·Kᵀ, Mul 1/√d_h,
                   Where(allowed, S, −1e30), Softmax, MatMul P·V, back to (N, T, D), MatMul W_o + b
rms_normal         Mul, ReduceMean, Add ε, Sqrt, Div, Mul g
seqpool            mean: Mul by mask/length, ReduceSum over T; first: Gather step 0
=================  ===================================================================

Masks: allowed = (key j < length) [and j ≤ i when causal], built from the graph's lengths
input. Disallowed scores become −1e30, so their exp is 0 and a real query row (which
always has an allowed key) equals alzza's softmax; padded query rows are zeroed at the
end. Cross-attention (a second input), rotary positions and ``seqpool`` ``last`` have
no ONNX form here: they raise an ExportError naming the layer.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers.attention import MultiHeadAttention
from ..layers.embedding import Embedding, TiedProjection
from ..layers.positional import PositionalEncoding
from ..layers.rmsnorm import RMSNorm
from ..layers.seqpool import SequencePool
from .errors import ExportError
from .graph import GraphBuilder, Value
from .layers import emitter, where


def _matmul_add(b: GraphBuilder, x: str, w, bias, hint: str) -> str:
    y = b.op("MatMul", [x, b.const(w, f"{hint}/w")], hint)
    return y if bias is None else b.op("Add", [y, b.const(bias, f"{hint}/b")], hint)


@emitter(Embedding)
def emit_embedding(b: GraphBuilder, layer: Embedding, value: Value) -> Value:
    hint = where(layer)
    steps = value.shape[0]
    table = layer.params["table"]
    if layer.one_hot:
        y = b.op("MatMul", [value.name, b.const(table, f"{hint}/table")], hint)
    else:
        ids = value.name if len(value.shape) == 1 else b.op("Reshape", [value.name, b.ints([-1, steps])], hint)
        ids = b.op("Cast", [b.op("Round", [ids], hint)], hint, to=7)          # int64
        y = b.op("Gather", [b.const(table, f"{hint}/table"), ids], hint, axis=0)
    if layer.scale:
        y = b.op("Mul", [y, b.scalar(math.sqrt(layer.width), f"{hint}/scale")], hint)
    # a padding id's row is 0 and stays 0 (it gets no gradient): the Gather gives alzza's zeros
    return b.zero_padding(Value(y, (steps, layer.width), True, value.lengths), hint)


@emitter(TiedProjection)
def emit_tied(b: GraphBuilder, layer: TiedProjection, value: Value) -> Value:
    hint = where(layer)
    table = layer.embedding.params["table"]
    y = _matmul_add(b, value.name, table.T, layer.params.get("b"), hint)
    return b.zero_padding(value.like(y, (value.shape[0], table.shape[0])), hint)


@emitter(PositionalEncoding)
def emit_posenc(b: GraphBuilder, layer: PositionalEncoding, value: Value) -> Value:
    hint = where(layer)
    steps = value.shape[0]
    y = b.op("Add", [value.name, b.const(np.asarray(layer.table())[:steps], f"{hint}/table")], hint)
    return b.zero_padding(value.like(y), hint)


def _allowed(b: GraphBuilder, layer, value: Value, steps: int) -> str | None:
    """bool (N or 1, 1, T, T): True where a query may look at a key (None: everything allowed)."""
    hint = where(layer)
    mask = None
    if value.lengths is not None:
        keys = b.step_mask(value.lengths, steps)                                    # (N, S)
        mask = b.op("Unsqueeze", [keys, b.ints([1, 2], "axes12")], hint)             # (N, 1, 1, S)
    if layer.causal:
        causal = b.const(np.tril(np.ones((steps, steps), dtype=np.int64))[None, None], f"{hint}/causal")
        causal = b.op("Cast", [causal], hint, to=9)                                  # bool
        mask = causal if mask is None else b.op("And", [mask, causal], hint)
    return mask


@emitter(MultiHeadAttention)
def emit_attention(b: GraphBuilder, layer: MultiHeadAttention, value: Value) -> Value:
    hint = where(layer)
    if layer.memory is not None:
        raise ExportError(f"{hint}: cross-attention reads a second sequence (memory {layer.memory!r}); the exporter "
                          "writes one-input graphs, so only self-attention can be exported")
    if layer.rotary:
        raise ExportError(f"{hint}: rotary positions have no ONNX form in this exporter; export a model without "
                          "rotary: true")
    steps, d, h, dh = value.shape[0], layer.width, layer.heads, layer.head_size
    qkv = _matmul_add(b, value.name, layer.params["w_qkv"], layer.params.get("b_qkv"), hint)   # (N, T, 3D)
    qkv = b.op("Reshape", [qkv, b.ints([0, steps, 3, h, dh])], hint)
    qkv = b.op("Transpose", [qkv], hint, perm=[2, 0, 3, 1, 4])                                # (3, N, h, T, d_h)
    q, k, v = (b.op("Gather", [qkv, b.const(np.array(i, dtype=np.int64), f"{hint}/index{i}")], hint, axis=0)
               for i in range(3))
    kt = b.op("Transpose", [k], hint, perm=[0, 1, 3, 2])
    scores = b.op("Mul", [b.op("MatMul", [q, kt], hint), b.scalar(1.0 / math.sqrt(dh), f"{hint}/scale")], hint)
    allowed = _allowed(b, layer, value, steps)
    if allowed is not None:
        scores = b.op("Where", [allowed, scores, b.scalar(-1e30, "masked")], hint)
    p = b.op("Softmax", [scores], hint, axis=-1)
    o = b.op("Transpose", [b.op("MatMul", [p, v], hint)], hint, perm=[0, 2, 1, 3])           # (N, T, h, d_h)
    o = b.op("Reshape", [o, b.ints([0, steps, d])], hint)
    y = _matmul_add(b, o, layer.params["w_o"], layer.params.get("b_o"), hint)
    return b.zero_padding(value.like(y), hint)


@emitter(RMSNorm)
def emit_rms_norm(b: GraphBuilder, layer: RMSNorm, value: Value) -> Value:
    hint = where(layer)
    square = b.op("Mul", [value.name, value.name], hint)
    mean = b.op("ReduceMean", [square], hint, axes=[-1], keepdims=1)
    rms = b.op("Sqrt", [b.op("Add", [mean, b.scalar(layer.epsilon, f"{hint}/epsilon")], hint)], hint)
    y = b.op("Div", [value.name, rms], hint)
    if layer.rescale:
        y = b.op("Mul", [y, b.const(layer.params["gain"], f"{hint}/gain")], hint)
    return b.zero_padding(value.like(y), hint)


@emitter(SequencePool)
def emit_seqpool(b: GraphBuilder, layer: SequencePool, value: Value) -> Value:
    hint = where(layer)
    steps, out_shape = value.shape[0], tuple(value.shape[1:])
    if layer.how == "first":
        y = b.op("Gather", [value.name, b.const(np.array(0, dtype=np.int64), f"{hint}/first")], hint, axis=1)
        return Value(y, out_shape)
    if layer.how != "mean":
        raise ExportError(f"{hint}: seqpool how: {layer.how!r} has no ONNX form in this exporter (mean and first do)")
    if value.lengths is None:
        return Value(b.op("ReduceMean", [value.name], hint, axes=[1], keepdims=0), out_shape)
    mask = b.op("Cast", [b.step_mask(value.lengths, steps)], hint, to=1)                      # (N, T) float
    length = b.op("Cast", [b.op("Unsqueeze", [value.lengths, b.ints([1], "axis1")], hint)], hint, to=1)
    weights = b.op("Unsqueeze", [b.op("Div", [mask, length], hint), b.ints([2], "axis2")], hint)
    y = b.op("ReduceSum", [b.op("Mul", [value.name, weights], hint), b.ints([1], "axis1")], hint, keepdims=0)
    return Value(y, out_shape)
