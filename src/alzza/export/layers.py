"""ONNX forms of alzza's layers, at inference: one emitter per layer class.

An emitter ``emit(builder, layer, value) -> value`` adds the nodes that compute the
layer's inference forward (``training=False``) on ``value`` and returns the result
(see :class:`~alzza.export.graph.Value`). Tensors stay in alzza's layout: NHWC images,
batch-major sequences; an emitter that needs ONNX's NCHW (Conv, the pools) transposes
in and out (onnxruntime removes the back-to-back transposes).

=================  ===================================================================
alzza              ONNX
=================  ===================================================================
full               Flatten, Gemm (x·W + b), activation
conv               per action: L = Transpose, Slice/pads, Conv, Transpose; A; B
max / avg          Transpose, Slice/pads, MaxPool / AveragePool (count_include_pad 0)
batch_normal       Mul, Add with the folded inference scale and shift per channel
layer_normal       LayerNormalization over the last axis (padded steps zeroed)
dropout, noise     nothing (the identity at inference)
serial, loop       the children in order
parallel           the branches, Concat on the last axis
add                the branches (+ x), Tile to the widest, Sum, then the actions
rnn, lstm, gru     see :mod:`alzza.export.recurrent` (also seqwrap)
=================  ===================================================================

Activations: relu → Relu, sigmoid → Sigmoid, tanh → Tanh, none → nothing, gelu → Erf form,
gelu_tanh → Tanh form. The Transformer's layers: see :mod:`alzza.export.attention`.
A layer type without an emitter — or an option without an ONNX form — raises one
:class:`~alzza.export.errors.ExportError` naming the layer's path and why.

Your own layer's ONNX form
--------------------------
A layer class of your own (``@register_layer``) declares how it is exported with a
method ``onnx_form(self, builder, value) -> Value``: ``builder`` is the
:class:`~alzza.export.graph.GraphBuilder` (``builder.op(op_type, inputs, hint, **attrs)``
adds a node and returns its output name, ``builder.const(array, hint)`` a weight,
``builder.scalar(x)`` a constant), ``value`` the :class:`~alzza.export.graph.Value` coming
in (its ``name`` in the graph and alzza's per-example ``shape``); return
``value.like(output_name, new_shape)``. For y = 2x::

    def onnx_form(self, builder, value):
        return value.like(builder.op("Mul", [value.name, builder.scalar(2.0)], self.path))

(``@alzza.export.emitter(MyLayer)`` on a function ``emit(builder, layer, value)`` does the
same from outside the class.) A layer with neither is one clear error: "layer type X has
no ONNX form". Export the model with ``alzza export MODEL OUT --import mylayer.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers.composite import Add, Parallel, Serial
from ..layers.conv import Conv2D
from ..layers.dense import Dense
from ..layers.layernorm import LayerNorm
from ..layers.norm import BatchNorm
from ..layers.pool import AvgPool, MaxPool
from ..layers.regularize import Dropout, Noise
from ..layers.seqwrap import WholeSequence
from .errors import ExportError
from .graph import GraphBuilder, Value
from .windows import window_plans

#: layer class → emitter; looked up along the class's MRO (``loop`` is a ``serial``)
EMITTERS: dict[type, object] = {}

ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def emitter(cls):
    """Decorator: register an emitter for layer class ``cls``."""
    def register(fn):
        EMITTERS[cls] = fn
        return fn
    return register


def where(layer) -> str:
    return layer.path or layer.type_name


def emit(b: GraphBuilder, layer, value: Value) -> Value:
    """The ONNX nodes of ``layer`` applied to ``value`` (ExportError if it has no ONNX form)."""
    own = getattr(type(layer), "onnx_form", None)
    if own is not None:
        return _own_form(b, layer, value)
    for cls in type(layer).__mro__:
        fn = EMITTERS.get(cls)
        if fn is not None:
            return fn(b, layer, value)
    known = ", ".join(sorted({c.type_name for c in EMITTERS}))
    raise ExportError(f"{where(layer)}: layer type {layer.type_name!r} cannot be exported to ONNX: it has no ONNX "
                      f"form (exportable types: {known}); a layer class of your own declares one with a method "
                      f"onnx_form(self, builder, value) (see alzza.export.layers)")


def _own_form(b: GraphBuilder, layer, value: Value) -> Value:
    """A user layer's ``onnx_form``: its failures and a result that is not a Value are ExportErrors."""
    try:
        result = layer.onnx_form(b, value)
    except ExportError:
        raise
    except Exception as exc:  # the user's code: say whose it is
        raise ExportError(f"{where(layer)}: the onnx_form of layer type {layer.type_name!r} failed: "
                          f"{type(exc).__name__}: {exc}") from None
    if not isinstance(result, Value):
        raise ExportError(f"{where(layer)}: the onnx_form of layer type {layer.type_name!r} returned "
                          f"{type(result).__name__}, not the output Value (value.like(name, shape))")
    return result


def activation(b: GraphBuilder, layer, name: str, value: Value) -> Value:
    """f(value) for alzza's activation ``name`` (canonical name, e.g. from ``Activation.name``)."""
    if name == "none":
        return value
    if name in ("gelu", "gelu_tanh"):
        return value.like(_gelu(b, where(layer), value.name, name == "gelu_tanh"))
    op = ACTIVATION_OPS.get(name)
    if op is None:
        raise ExportError(f"{where(layer)}: activation {name!r} cannot be exported to ONNX (exportable: none, "
                          f"{', '.join(ACTIVATION_OPS)})")
    return value.like(b.op(op, [value.name], where(layer)))


def _gelu(b: GraphBuilder, hint: str, x: str, tanh: bool) -> str:
    """½x(1 + erf(x/√2)) with ONNX's Erf, or ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if tanh:
        cube = b.op("Mul", [b.op("Mul", [x, x], hint), x], hint)
        inner = b.op("Add", [x, b.op("Mul", [cube, b.scalar(0.044715, "gelu/c")], hint)], hint)
        t = b.op("Tanh", [b.op("Mul", [inner, b.scalar(math.sqrt(2 / math.pi), "gelu/s")], hint)], hint)
    else:
        t = b.op("Erf", [b.op("Mul", [x, b.scalar(math.sqrt(0.5), "gelu/r")], hint)], hint)
    half_x = b.op("Mul", [x, b.scalar(0.5, "half")], hint)
    return b.op("Mul", [half_x, b.op("Add", [t, b.scalar(1.0, "one")], hint)], hint)


# --- full ---------------------------------------------------------------------------
@emitter(Dense)
def emit_dense(b, layer: Dense, value: Value) -> Value:
    hint = where(layer)
    x = value.name if len(value.shape) == 1 else b.op("Flatten", [value.name], hint, axis=1)
    y = b.op("Gemm", [x, b.const(layer.params["w"], f"{hint}/w"), b.const(layer.params["b"], f"{hint}/b")], hint)
    return activation(b, layer, layer.activation.name, Value(y, (layer.width,)))


@emitter(WholeSequence)
def emit_whole_sequence(b, layer: WholeSequence, value: Value) -> Value:
    """The book's whole-tensor layer after a seqwrap: the inner layer on the (N, T, ...)
    tensor as one plain value (alzza runs it only where every step is real), a sequence
    again when it keeps the steps."""
    out = emit(b, layer.inner, Value(value.name, tuple(value.shape)))
    return Value(out.name, tuple(out.shape), True, value.lengths) if layer.keeps_steps else out


# --- batch normalisation at inference -------------------------------------------------
def batch_norm_scale_shift(layer: BatchNorm):
    """(a, c) of y = a·x + c per channel, folded from the running statistics as alzza folds them."""
    dtype = np.float32
    var, mean = layer.state["var"].astype(dtype), layer.state["mean"].astype(dtype)
    scale = 1.0 / np.sqrt(var + dtype(layer.epsilon))
    shift = -mean * scale
    if layer.rescale:
        gamma, beta = layer.params["gamma"].astype(dtype), layer.params["beta"].astype(dtype)
        scale, shift = scale * gamma, shift * gamma + beta
    return scale, shift


@emitter(BatchNorm)
def emit_batch_norm(b, layer: BatchNorm, value: Value) -> Value:
    hint = where(layer)
    scale, shift = batch_norm_scale_shift(layer)
    y = b.op("Mul", [value.name, b.const(scale, f"{hint}/scale")], hint)
    return value.like(b.op("Add", [y, b.const(shift, f"{hint}/shift")], hint))


# --- regularisers: the identity at inference ------------------------------------------
@emitter(Dropout)
@emitter(Noise)
def emit_identity(b, layer, value: Value) -> Value:
    return value


# --- windows: conv and pooling ---------------------------------------------------------
def _nchw_windows(b, layer, value: Value):
    """NCHW input cropped to the cells the windows span, and the pads ONNX adds around it."""
    hint = where(layer)
    x = b.op("Transpose", [value.name], hint, perm=[0, 3, 1, 2])
    ph, pw = window_plans(layer)
    h, w = layer.input_shape[:2]
    if (ph.begin, ph.end, pw.begin, pw.end) != (0, h, 0, w):
        x = b.op("Slice", [x, b.ints([ph.begin, pw.begin], "starts"), b.ints([ph.end, pw.end], "ends"),
                          b.ints([2, 3], "axes")], hint)
    return x, [ph.before, pw.before, ph.after, pw.after]


def _nhwc(b, layer, name: str, shape) -> Value:
    return Value(b.op("Transpose", [name], where(layer), perm=[0, 2, 3, 1]), tuple(shape))


def _check_image(layer, value: Value):
    if value.seq or len(value.shape) != 3:
        raise ExportError(f"{where(layer)}: {layer.type_name!r} needs an image (N, H, W, C), got {value.shape}")


@emitter(Conv2D)
def emit_conv(b, layer: Conv2D, value: Value) -> Value:
    hint = where(layer)
    for action in layer.actions:
        if action == "L":
            _check_image(layer, value)
            x, pads = _nchw_windows(b, layer, value)
            kernel = np.transpose(layer.params["k"], (3, 2, 0, 1))      # (kh, kw, C, F) → (F, C, kh, kw)
            y = b.op("Conv", [x, b.const(kernel, f"{hint}/k"), b.const(layer.params["b"], f"{hint}/b")], hint,
                     kernel_shape=list(layer.ksize), strides=list(layer.stride), pads=pads)
            value = _nhwc(b, layer, y, layer.output_shape)
        elif action == "A":
            value = activation(b, layer, layer.activation.name, value)
        else:
            value = emit_batch_norm(b, layer.bn, value)
    return value


def _emit_pool(b, layer, value: Value, op_type: str, **attrs) -> Value:
    _check_image(layer, value)
    x, pads = _nchw_windows(b, layer, value)
    y = b.op(op_type, [x], where(layer), kernel_shape=list(layer.ksize), strides=list(layer.stride), pads=pads,
             **attrs)
    return _nhwc(b, layer, y, layer.output_shape)


@emitter(MaxPool)
def emit_max(b, layer: MaxPool, value: Value) -> Value:
    return _emit_pool(b, layer, value, "MaxPool")


@emitter(AvgPool)
def emit_avg(b, layer: AvgPool, value: Value) -> Value:
    # alzza divides by the real (non-padded) cells of each window: count_include_pad = 0
    return _emit_pool(b, layer, value, "AveragePool", count_include_pad=0)


# --- composites --------------------------------------------------------------------------
@emitter(Serial)
def emit_serial(b, layer: Serial, value: Value) -> Value:
    for child in layer.layers:
        value = emit(b, child, value)
    return value


@emitter(Parallel)
def emit_parallel(b, layer: Parallel, value: Value) -> Value:
    outs = [emit(b, branch, value) for branch in layer.branches]
    if len(outs) == 1:
        return outs[0]
    return outs[0].like(b.op("Concat", [o.name for o in outs], where(layer), axis=-1), layer.output_shape)


def _tiled(b, layer, value: Value, width: int) -> str:
    """``value`` repeated along its last axis up to ``width`` channels (np.tile's order)."""
    chn = value.shape[-1]
    if chn == width:
        return value.name
    repeats = [1] * (value.rank - 1) + [width // chn]
    return b.op("Tile", [value.name, b.ints(repeats, "repeats")], where(layer))


@emitter(Add)
def emit_add(b, layer: Add, value: Value) -> Value:
    width = layer.output_shape[-1]
    outs = [emit(b, branch, value) for branch in layer.branches]
    terms = [_tiled(b, layer, o, width) for o in outs]
    if layer.use_x:
        terms.append(_tiled(b, layer, value, width))
    total = terms[0] if len(terms) == 1 else b.op("Sum", terms, where(layer))
    out = outs[0].like(total, layer.output_shape)
    for action in layer.actions:
        out = activation(b, layer, layer.activation.name, out) if action == "A" else emit_batch_norm(b, layer.bn, out)
    return b.zero_padding(out, where(layer)) if value.seq else out   # a residual's padding: 0, as in alzza


@emitter(LayerNorm)
def emit_layer_norm(b, layer: LayerNorm, value: Value) -> Value:
    """ONNX's LayerNormalization over the last axis (γ = 1, β = 0 without ``rescale``);
    on a sequence the padded steps are zeroed, as alzza leaves them."""
    hint = where(layer)
    d = value.shape[-1]
    gamma = layer.params.get("gamma", np.ones(d, np.float32))
    beta = layer.params.get("beta", np.zeros(d, np.float32))
    y = b.op("LayerNormalization", [value.name, b.const(gamma, f"{hint}/gamma"), b.const(beta, f"{hint}/beta")],
             hint, axis=-1, epsilon=float(layer.epsilon))
    return b.zero_padding(value.like(y), hint)
