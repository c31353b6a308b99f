"""ONNX forms of the sequence layers: ``rnn``, ``lstm``, ``gru`` and ``seqwrap``.

rnn, lstm and gru become ONNX's own RNN, LSTM and GRU operators, which read a time-major
(T, N, F) input and the examples' lengths (``sequence_lens``, int32): steps past an
example's length are not computed, and its last state (Y_h, Y_c) is the one at its
own last step — alzza's ``outseq: false``. The mapping of alzza's fused parameters
``w`` = [W_x; W_h] (F + H, G·H) and ``b`` (G·H,)::

    W = W_xᵀ (1, G·H, F)     R = W_hᵀ (1, G·H, H)     B = [b, 0] (1, 2·G·H)

LSTM gates: alzza's columns are ordered (forget, input, output, block input); ONNX's
are (input, output, forget, cell), so the column blocks are reordered. The forget bias
is part of ``b`` (trained from its initial 1), so nothing else is added. rnn's
activation is passed explicitly (alzza's default is relu; ONNX's is tanh). GRU gates:
alzza's (torch's) (reset, update, candidate) become ONNX's (update, reset, hidden);
``reset_after`` is ONNX's ``linear_before_reset``.

``inseq: false`` feeds the same vector at every one of ``timesteps`` steps: the input
is tiled along a new time axis. ``use_state`` with ``outseq: true`` needs the cell
state at every step, which ONNX's LSTM does not emit: that case is unrolled over the
T steps into plain MatMul / Sigmoid / Tanh nodes (same formulas as alzza's LSTM).

Padded steps of every emitted sequence are set to zero (alzza's convention).

seqwrap: the (N, T, ...) batch is reshaped to (N·T, ...) rows, the children run on all
rows, and the result is reshaped back with padded steps zeroed. Running the children on
padded rows too changes nothing at inference: every layer there works row by row.
"""

from __future__ import annotations

import numpy as np

from ..layers.gru import GRU
from ..layers.recurrent import LSTM, RNN
from ..layers.seqwrap import SeqWrap
from .errors import ExportError
from .graph import GraphBuilder, Value
from .layers import ACTIVATION_OPS, emit, emitter, where


@emitter(SeqWrap)
def emit_seqwrap(b: GraphBuilder, layer: SeqWrap, value: Value) -> Value:
    hint = where(layer)
    steps, step_shape = value.shape[0], value.shape[1:]
    rows = b.op("Reshape", [value.name, b.ints([-1, *step_shape])], hint)
    out = emit(b, layer.body, Value(rows, tuple(step_shape)))
    back = b.op("Reshape", [out.name, b.ints([-1, steps, *out.shape])], hint)
    return b.zero_padding(Value(back, (steps,) + tuple(out.shape), True, value.lengths), hint)


def _time_major_input(b: GraphBuilder, layer, value: Value):
    """(X (T, N, F), sequence_lens int32 or '', lengths of the output, T) for a recurrent layer."""
    hint = where(layer)
    f = layer.features
    if layer.inseq:
        if not (value.seq or len(value.shape) >= 2):
            raise ExportError(f"{hint}: {layer.type_name!r} reads a sequence, got {value.shape}")
        steps = value.shape[0]
        x = value.name if len(value.shape) == 2 else b.op("Reshape", [value.name, b.ints([0, steps, f])], hint)
        x = b.op("Transpose", [x], hint, perm=[1, 0, 2])
        lens = "" if value.lengths is None else b.cached(
            ("int32", value.lengths), lambda: b.op("Cast", [value.lengths], f"{value.lengths}/int32", to=6))
        return x, lens, value.lengths, steps
    steps = layer.steps
    x = value.name if len(value.shape) == 1 else b.op("Flatten", [value.name], hint, axis=1)
    x = b.op("Unsqueeze", [x, b.ints([0], "axis0")], hint)
    x = b.op("Tile", [x, b.ints([steps, 1, 1], "repeats")], hint)
    return x, "", None, steps


def _sequence_output(b, layer, y: str, steps: int, lengths) -> Value:
    """ONNX's Y (T, 1, N, H) as alzza's (N, T, H) sequence with padded steps zeroed."""
    hint = where(layer)
    y = b.op("Squeeze", [y, b.ints([1], "axis1")], hint)
    y = b.op("Transpose", [y], hint, perm=[1, 0, 2])
    return b.zero_padding(Value(y, (steps, layer.recur_size), True, lengths), hint)


def _last_state(b, layer, state: str) -> Value:
    """ONNX's Y_h / Y_c (1, N, H) as (N, H)."""
    return Value(b.op("Squeeze", [state, b.ints([0], "axis0")], where(layer)), (layer.recur_size,))


@emitter(RNN)
def emit_rnn(b: GraphBuilder, layer: RNN, value: Value) -> Value:
    hint = where(layer)
    act = layer.activation.name
    if act == "none":
        attrs = dict(activations=["Affine"], activation_alpha=[1.0], activation_beta=[0.0])
    elif act in ACTIVATION_OPS:
        attrs = dict(activations=[ACTIVATION_OPS[act]])
    else:
        raise ExportError(f"{hint}: an rnn with activation {act!r} cannot be exported to ONNX "
                          f"(exportable: none, {', '.join(ACTIVATION_OPS)})")
    x, lens, lengths, steps = _time_major_input(b, layer, value)
    w, bias, f, h = layer.params["w"], layer.params["b"], layer.features, layer.recur_size
    inputs = [x, b.const(w[:f].T[None], f"{hint}/W"), b.const(w[f:].T[None], f"{hint}/R"),
              b.const(np.concatenate([bias, np.zeros_like(bias)])[None], f"{hint}/B"), lens]
    y, y_h = b.op("RNN", inputs, hint, outputs=2, hidden_size=h, **attrs)
    return _sequence_output(b, layer, y, steps, lengths) if layer.outseq else _last_state(b, layer, y_h)


def onnx_gate_order(m: np.ndarray) -> np.ndarray:
    """Columns (…, 4H) from alzza's gate order (f, i, o, g) to ONNX's (i, o, f, c)."""
    f, i, o, g = np.split(m, 4, axis=-1)
    return np.concatenate([i, o, f, g], axis=-1)


@emitter(LSTM)
def emit_lstm(b: GraphBuilder, layer: LSTM, value: Value) -> Value:
    hint = where(layer)
    x, lens, lengths, steps = _time_major_input(b, layer, value)
    if layer.use_state and layer.outseq:
        return _unrolled_lstm_states(b, layer, x, steps, lengths)
    w, bias, f = layer.params["w"], layer.params["b"], layer.features
    inputs = [x, b.const(onnx_gate_order(w[:f]).T[None], f"{hint}/W"),
              b.const(onnx_gate_order(w[f:]).T[None], f"{hint}/R"),
              b.const(np.concatenate([onnx_gate_order(bias), np.zeros_like(bias)])[None], f"{hint}/B"), lens]
    y, y_h, y_c = b.op("LSTM", inputs, hint, outputs=3, hidden_size=layer.recur_size)
    if layer.outseq:
        return _sequence_output(b, layer, y, steps, lengths)
    return _last_state(b, layer, y_c if layer.use_state else y_h)


def _unrolled_lstm_states(b: GraphBuilder, layer: LSTM, x: str, steps: int, lengths) -> Value:
    """The cell state c_t of every step (use_state + outseq), unrolled over the T steps.

    Per step, in alzza's gate order: [a_f, a_i, a_o, a_g] = x_t·W_x + h_{t−1}·W_h + b;
    c_t = σ(a_f)·c_{t−1} + σ(a_i)·tanh(a_g); h_t = σ(a_o)·tanh(c_t). A state that runs past
    an example's length is never seen: those steps are zeroed in the output.
    """
    hint = where(layer)
    w, f = layer.params["w"], layer.features
    proj = b.op("Add", [b.op("MatMul", [x, b.const(w[:f], f"{hint}/Wx")], hint),
                        b.const(layer.params["b"], f"{hint}/b")], hint)            # (T, N, 4H)
    wh = b.const(w[f:], f"{hint}/Wh")
    h = c = None
    states = []
    for t in range(steps):
        z = b.op("Gather", [proj, b.const(np.array(t, dtype=np.int64), f"{hint}/t{t}")], f"{hint}/t{t}", axis=0)
        if h is not None:
            z = b.op("Add", [z, b.op("MatMul", [h, wh], f"{hint}/t{t}")], f"{hint}/t{t}")
        a_f, a_i, a_o, a_g = b.op("Split", [z], f"{hint}/t{t}", outputs=4, axis=1)
        ig = b.op("Mul", [b.op("Sigmoid", [a_i], f"{hint}/t{t}"), b.op("Tanh", [a_g], f"{hint}/t{t}")],
                  f"{hint}/t{t}")
        c = ig if c is None else b.op("Add", [b.op("Mul", [b.op("Sigmoid", [a_f], f"{hint}/t{t}"), c],
                                                   f"{hint}/t{t}"), ig], f"{hint}/t{t}")
        if t + 1 < steps:
            h = b.op("Mul", [b.op("Sigmoid", [a_o], f"{hint}/t{t}"), b.op("Tanh", [c], f"{hint}/t{t}")],
                     f"{hint}/t{t}")
        states.append(b.op("Unsqueeze", [c, b.ints([1], "axis1")], f"{hint}/t{t}"))
    out = states[0] if len(states) == 1 else b.op("Concat", states, hint, axis=1)
    return b.zero_padding(Value(out, (steps, layer.recur_size), True, lengths), hint)


def onnx_gru_order(m: np.ndarray) -> np.ndarray:
    """Columns (…, 3H) from alzza's (torch's) gate order (r, z, n) to ONNX's (z, r, h)."""
    r, z, n = np.split(m, 3, axis=-1)
    return np.concatenate([z, r, n], axis=-1)


@emitter(GRU)
def emit_gru(b: GraphBuilder, layer: GRU, value: Value) -> Value:
    """ONNX's GRU: ``reset_after`` true is its ``linear_before_reset = 1`` form (the reset
    gate multiplies h·W_hn + b_hn, b_hn being ONNX's recurrent bias of the h block);
    false is ``linear_before_reset = 0`` (the reset gate multiplies h before W_hn)."""
    hint = where(layer)
    x, lens, lengths, steps = _time_major_input(b, layer, value)
    w, bias, f, h = layer.params["w"], layer.params["b"], layer.features, layer.recur_size
    recurrent_bias = np.zeros_like(bias)
    if layer.reset_after:
        recurrent_bias[2 * h:] = layer.params["b_hn"]
    inputs = [x, b.const(onnx_gru_order(w[:f]).T[None], f"{hint}/W"),
              b.const(onnx_gru_order(w[f:]).T[None], f"{hint}/R"),
              b.const(np.concatenate([onnx_gru_order(bias), recurrent_bias])[None], f"{hint}/B"), lens]
    y, y_h = b.op("GRU", inputs, hint, outputs=2, hidden_size=h, linear_before_reset=int(layer.reset_after))
    return _sequence_output(b, layer, y, steps, lengths) if layer.outseq else _last_state(b, layer, y_h)
