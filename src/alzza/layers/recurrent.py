"""Recurrent layers: ``rnn`` (the plain recurrent cell) and ``lstm``.

Both read a batch of variable-length sequences (a :class:`~alzza.sequences.Sequences`,
(N, T, F) plus a length per example) — or, with ``inseq: false``, one vector (N, F)
fed at each of ``timesteps`` steps — and emit either the whole output sequence
(``outseq: true``: a Sequences (N, T, H) with the same lengths, padded steps zero) or
each example's own last output (``outseq: false``: (N, H), taken at t = length − 1).

Nothing flows through padded steps (t ≥ length): their outputs are zero, the state of
an example stops at its length, and no gradient enters or leaves them.

How it is computed (measured in docs/performance.md)
---------------------------------------------------
Parameters are one fused matrix ``w`` = [W_x; W_h] of shape (F + H, G·H) and a bias
``b`` (G·H,), G = 1 for rnn and 4 for lstm (3 for ``gru``, in gru.py, which shares
all of this). Per batch:

1. The batch is put in time-major order (T, N, F), examples sorted by length, longest
   first. At step t only the first n_t = #{length > t} rows are alive, so every step
   works on a prefix of rows — no masks in the loop, and finished examples cost nothing.
2. One GEMM projects the inputs of all steps at once: Z = X·W_x + b, (T·N, F)·(F, G·H).
3. The loop (up to the longest length of the batch) adds only the recurrent product
   h_{t−1}·W_h and applies the cell.
4. Backward runs the loop in reverse to get dZ for every step, then gathers the weight
   gradients with one GEMM each over the stacked steps:
   dW_x = Xᵀ·dZ, dW_h = H_prevᵀ·dZ, db = Σ dZ, dX = dZ·W_xᵀ.

The same cells one step at a time, written as their equations, are in ``cells.py``;
the tests hold these layers to a time loop over those steps.
"""

from __future__ import annotations

from math import prod

import numpy as np

from ..backend import array_module

from ..errors import SpecError
from ..ops.activations import OUTPUT_FORM, get_activation
from ..sequences import (
    SeqShape,
    Sequences,
    is_sequence_shape,
    seq_data,
    split_sequences,
)
from ..options import flag, one_of, positive_int
from .base import BuildContext, Layer
from .registry import register_layer


def _positive(v):
    return v > 0


class RecurrentBase(Layer):
    """What rnn, lstm and gru share: options, shapes, time-major batching and the final GEMMs."""

    #: gates per unit (columns of w per hidden unit)
    gates = 1
    decayed = ("w",)
    #: this layer reads and writes Sequences (the model lets sequence shapes reach it)
    accepts_sequences = True

    OPTIONS: dict = {
        "recur_size": positive_int("size H of the recurrent state"),
        "inseq": flag("the input is a sequence (else one vector fed at every step)", True),
        "outseq": flag("emit the whole output sequence (else each example's last step)", True),
        "timesteps": positive_int("number of steps when inseq is false", None),
    }

    def __init__(self, recur_size: int, inseq: bool = True, outseq: bool = True, timesteps: int | None = None):
        super().__init__()
        self.recur_size = int(recur_size)
        self.inseq = bool(inseq)
        self.outseq = bool(outseq)
        self.timesteps = None if timesteps is None else int(timesteps)
        #: per-batch arrays reused from call to call (see :meth:`_workspace`)
        self._workspaces: dict = {}

    # --- building ---------------------------------------------------------------
    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        shape = tuple(input_shape)
        if self.recur_size <= 0:
            raise SpecError(where, f"'{self.type_name}' recur_size must be a positive integer, got {self.recur_size}")
        if self.inseq:
            if len(shape) < 2:
                raise SpecError(where, f"'{self.type_name}' reads a sequence (T, F), but its input is {shape}; "
                                       "to feed one vector at every step set inseq: false and timesteps")
            steps, features = shape[0], prod(shape[1:])
            self.input_shape = SeqShape(shape)
        else:
            if is_sequence_shape(input_shape):
                raise SpecError(where, f"'{self.type_name}' with inseq: false reads one vector per example, "
                                       f"but its input is the sequence {input_shape!r}; set inseq: true")
            if self.timesteps is None:
                raise SpecError(where, f"'{self.type_name}' with inseq: false needs 'timesteps'")
            steps, features = self.timesteps, prod(shape)
            self.input_shape = shape
        hidden, width = self.recur_size, self.gates * self.recur_size
        self.features, self.steps = int(features), int(steps)
        self.params["w"] = ctx.init.weights((features + hidden, width), features + hidden, hidden, ctx.rng, ctx.dtype)
        self.params["b"] = self._initial_bias(np.zeros(width, dtype=ctx.dtype))
        self.output_shape = SeqShape((steps, hidden)) if self.outseq else (hidden,)
        return self.output_shape

    def _initial_bias(self, b):
        return b

    def to_device(self, device):
        """Workspaces belong to the old device: remade on the next batch."""
        self._workspaces = {}

    # --- batching ---------------------------------------------------------------
    def _workspace(self, name, shape, dtype, zero=False):
        """A layer-owned array of ``shape``, reused while the shape stays (zero-filled when ``zero``).

        The per-batch arrays of a step (gates, states, gate factors, dL/da) are a few MB
        each; fresh ones cost their page faults again on every call, a quarter to a
        third of an lstm-automata training step (batch 64, 1 thread, CPU time: 17.2 →
        11.3 ms and 18.0 → 14.1 in two runs of ``python benchmarks/ab_round3.py lstm``).
        Only internal arrays live here: what a layer returns is always a fresh array.
        """
        key = (name, np.dtype(dtype))
        buf = self._workspaces.get(key)
        if buf is None or buf.shape != tuple(shape):
            xp = array_module(self.params["w"])  # workspaces live where the weights do
            buf = self._workspaces[key] = xp.empty(shape, dtype=dtype)
        if zero:
            buf.fill(0)
        return buf

    def _project(self, x, wx, b):
        """Time-major, length-sorted batch and the input projection of every step.

        Returns Z (T_max, N, G·H) = X·wx + b (a fresh buffer the loop may overwrite) and
        caches the batch layout on self.
        """
        xp = array_module(x)
        if self.inseq:
            data, lengths = split_sequences(x)
            n, t_all = data.shape[:2]
            data = data.reshape(n, t_all, -1)
            if data.shape[2] != self.features:
                raise ValueError(f"{self.path or self.type_name}: expected {self.features} features per step, "
                                 f"got {data.shape[2]}")
        else:
            data = xp.asarray(seq_data(x))
            n, t_all = len(data), self.steps
            data = data.reshape(n, -1)
            lengths = np.full(n, t_all, dtype=np.int64)
        # Bookkeeping stays on the host whatever the device: the lengths, the sort order,
        # counts[t] (a Python-usable int per step, the slice bound of the step loop).
        # Only the index arrays that gather device rows are copied to the device, once.
        t_max = int(lengths.max()) if n else 0
        mixed = bool(n) and int(lengths.min()) != t_max
        perm = np.argsort(-lengths, kind="stable") if mixed else None
        sorted_lengths = lengths[perm] if mixed else lengths
        # counts[t] = examples still running at step t (a prefix of the sorted batch)
        counts = (sorted_lengths[None, :] > np.arange(t_max)[:, None]).sum(axis=1) if mixed \
            else np.full(t_max, n, dtype=np.int64)
        perm = xp.asarray(perm) if mixed else None                     # gathers rows: on the device
        width = wx.shape[1]
        if self.inseq:
            xs = data[perm, :t_max] if mixed else data[:, :t_max]
            xtm = self._workspace("x", (t_max, n, self.features), np.result_type(xs.dtype, wx.dtype))
            xp.copyto(xtm, xs.transpose(1, 0, 2))                       # (T_max, N, F)
            if mixed:  # padded inputs are never read: zero them so not even a NaN leaks in
                xtm[xp.asarray(~(np.arange(n)[None, :] < counts[:, None]))] = 0
            z = self._workspace("z", (t_max, n, width), xtm.dtype)
            xp.matmul(xtm.reshape(-1, self.features), wx, out=z.reshape(-1, width))
            z += b
        else:
            xtm = xp.ascontiguousarray(data)
            xw = xtm @ wx
            xw += b
            z = self._workspace("z", (t_max, n, width), xw.dtype)
            z[...] = xw
        self._x, self._xshape, self._lengths = xtm, seq_data(x).shape, lengths
        self._perm, self._counts = perm, counts
        #: (row, example) of each example's last real state in (T_max + 1, N, H): a device index
        self._last = (xp.asarray(sorted_lengths), xp.arange(n))
        self._n, self._t_all, self._t_max = n, t_all, t_max
        return z

    def _emit(self, states):
        """The layer's output from per-step states (T_max + 1, N, H) (row 0 is the zero initial state)."""
        xp = array_module(states)
        n, t_all, t_max, perm = self._n, self._t_all, self._t_max, self._perm
        hidden = self.recur_size
        if not self.outseq:
            last = states[self._last]                                  # step length−1 is row length
            if perm is None:
                return last
            out = xp.empty_like(last)
            out[perm] = last
            return out
        if perm is None and t_max == t_all:
            # a copy even where the transpose is contiguous already (N = 1): states is reused
            out = xp.array(states[1:].transpose(1, 0, 2), order="C")
        else:
            out = xp.zeros((n, t_all, hidden), dtype=states.dtype)
            if perm is None:
                out[:, :t_max] = states[1:].transpose(1, 0, 2)
            else:
                out[perm, :t_max] = states[1:].transpose(1, 0, 2)
        return Sequences(out, self._lengths)

    def _time_major_grad(self, dy):
        """dL/d(output) as a writable (T_max, N, H) buffer in sorted order."""
        xp = array_module(dy)
        dy = seq_data(dy)
        n, t_max, perm = self._n, self._t_max, self._perm
        if self.outseq:
            ds = dy[perm, :t_max] if perm is not None else dy[:, :t_max]
            grad = self._workspace("grad", (t_max, n, self.recur_size), self.params["w"].dtype)
            xp.copyto(grad, ds.transpose(1, 0, 2))
            return grad
        grad = self._workspace("grad", (t_max, n, self.recur_size), self.params["w"].dtype, zero=True)
        rows, examples = self._last
        grad[rows - 1, examples] = dy[perm] if perm is not None else dy
        return grad

    def _finish_backward(self, dz, prev_states, dz_recurrent=None):
        """Weight gradients with one GEMM each over all steps, and dL/dx.

        dz (T_max, N, G·H) holds dL/dz for real steps and zeros for padded ones;
        prev_states (T_max, N, H) holds h_{t−1}. ``dz_recurrent`` is the gradient at the
        recurrent product h_{t−1}·W_h where it differs from dz (the GRU's reset gate sits
        between them); by default the two are the same.
        """
        xp = array_module(dz)
        w = self.params["w"]
        f, width = self.features, w.shape[1]
        dzf = dz.reshape(-1, width)
        gw = xp.empty_like(w)
        if self.inseq:
            xp.matmul(self._x.reshape(-1, f).T, dzf, out=gw[:f])
        else:
            dz_sum = dz.sum(axis=0)                                    # the same x fed at every step
            xp.matmul(self._x.T, dz_sum, out=gw[:f])
        dzf_recurrent = dzf if dz_recurrent is None else dz_recurrent.reshape(-1, width)
        xp.matmul(prev_states.reshape(-1, self.recur_size).T, dzf_recurrent, out=gw[f:])
        self.grads["w"] = gw
        self.grads["b"] = dzf.sum(axis=0)
        if not self.needs_input_grad:
            return None
        if not self.inseq:
            return (dz_sum @ w[:f].T).reshape(self._xshape)
        dxtm = self._workspace("dx", (self._t_max, self._n, f), dzf.dtype)
        xp.matmul(dzf, w[:f].T, out=dxtm.reshape(-1, f))
        n, t_all, t_max, perm = self._n, self._t_all, self._t_max, self._perm
        if perm is None and t_max == t_all:
            dx = xp.array(dxtm.transpose(1, 0, 2), order="C")  # a fresh array: dxtm is reused
        else:
            dx = xp.zeros((n, t_all, f), dtype=dxtm.dtype)
            if perm is None:
                dx[:, :t_max] = dxtm.transpose(1, 0, 2)
            else:
                dx[perm, :t_max] = dxtm.transpose(1, 0, 2)
        return dx.reshape(self._xshape)

    def _empty_backward(self):
        xp = array_module(self.params["w"])
        self.grads.update({key: xp.zeros_like(value) for key, value in self.params.items()})  # the slots' dict
        return xp.zeros(self._xshape, self.params["w"].dtype) if self.needs_input_grad else None

    def _empty_forward(self, x):
        data = seq_data(x)
        n = len(data)
        dtype = self.params["w"].dtype
        xp = array_module(self.params["w"])
        self._n, self._xshape = 0, data.shape
        if self.outseq:
            t_all = data.shape[1] if self.inseq else self.steps
            return Sequences(xp.zeros((0, t_all, self.recur_size), dtype), np.zeros(0, np.int64))
        return xp.zeros((n, self.recur_size), dtype)


@register_layer("rnn")
class RNN(RecurrentBase):
    """The plain recurrent cell:  h_t = f(x_t·W_x + h_{t−1}·W_h + b),  h_0 = 0.

    ``actfunc`` is f (relu by default, as in the book; tanh for the classic Elman cell).

    Backward, through time (dy_t the gradient arriving at output t):
        dh_t = dy_t + dz_{t+1}·W_hᵀ          (the recurrent carry)
        dz_t = dh_t ⊙ f'(z_t)                 (f' written with h_t, as every activation here)
    then dW_x = Σ_t x_tᵀ·dz_t, dW_h = Σ_t h_{t−1}ᵀ·dz_t, db = Σ_t dz_t, dx_t = dz_t·W_xᵀ.
    """

    gates = 1
    OPTIONS: dict = dict(RecurrentBase.OPTIONS, actfunc=one_of(OUTPUT_FORM, "activation f of the cell", "relu"))

    def __init__(self, recur_size: int, inseq: bool = True, outseq: bool = True, timesteps: int | None = None,
                 actfunc: str = "relu"):
        super().__init__(recur_size, inseq, outseq, timesteps)
        self.actfunc = actfunc
        self.activation = get_activation(actfunc)

    def forward(self, x, training=False):
        xp = array_module(x)
        if len(seq_data(x)) == 0:
            return self._empty_forward(x)
        w, b = self.params["w"], self.params["b"]
        f = self.features
        wh = w[f:]
        z = self._project(x, w[:f], b)
        t_max, n, counts = self._t_max, self._n, self._counts
        states = self._workspace("states", (t_max + 1, n, self.recur_size), z.dtype, zero=True)
        name = self.activation.name
        for t in range(t_max):
            k = counts[t]
            zt = z[t, :k]
            if t:
                zt += states[t, :k] @ wh
            out = states[t + 1, :k]
            if name == "relu":
                xp.maximum(zt, 0, out=out)
            elif name == "tanh":
                xp.tanh(zt, out=out)
            else:
                out[...] = self.activation.forward(zt)
        self._states = states
        return self._emit(states)

    def backward(self, dy):
        xp = array_module(dy)
        if self._n == 0:
            return self._empty_backward()
        wh_t = self.params["w"][self.features:].T
        states, counts = self._states, self._counts
        dh_all = self._time_major_grad(dy)
        # f'(z) for all steps at once, written with the outputs h
        deriv = self.activation.backward(xp.ones_like(states[1:]), states[1:])
        dz = self._workspace("da", dh_all.shape, dh_all.dtype, zero=True)
        carry = None
        for t in range(self._t_max - 1, -1, -1):
            k = counts[t]
            dh = dh_all[t, :k]
            if carry is not None:
                dh[:len(carry)] += carry
            dzt = xp.multiply(dh, deriv[t, :k], out=dz[t, :k])
            carry = dzt @ wh_t if t else None
        return self._finish_backward(dz, states[:-1])


@register_layer("lstm")
class LSTM(RecurrentBase):
    """Long short-term memory. Per step, with one fused product of [x_t, h_{t−1}]:

        [a_f, a_i, a_o, a_g] = x_t·W_x + h_{t−1}·W_h + b        (w columns in this order)
        f = σ(a_f), i = σ(a_i), o = σ(a_o)                      forget, input, output gates
        g = tanh(a_g)                                           block input
        c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)         h_0 = c_0 = 0

    The forget-gate bias starts at 1 (the others at 0), so memory is kept at first.
    ``use_state`` emits c instead of h.

    Backward (dh_t, dc_t the gradients arriving at step t from the output and from t+1):
        dh_t = dy^h_t + da_{t+1}·W_hᵀ
        dc_t = dy^c_t + dc_{t+1} ⊙ f_{t+1} + dh_t ⊙ o ⊙ (1 − tanh²c_t)
        da_f = dc_t ⊙ c_{t−1} ⊙ f(1−f),  da_i = dc_t ⊙ g ⊙ i(1−i),
        da_o = dh_t ⊙ tanh c_t ⊙ o(1−o),  da_g = dc_t ⊙ i ⊙ (1 − g²)
    The factors that do not depend on the carried gradients are computed for all steps
    at once before the loop, so each step is a handful of array operations and one GEMM.

    Implementation note: σ(a) = ½ + ½·tanh(a/2), so the gate columns of w and b are
    halved once per forward and a single tanh over all 4H columns serves all four gates.
    """

    gates = 4
    OPTIONS: dict = dict(RecurrentBase.OPTIONS, use_state=flag("emit the cell state c instead of h", False))

    def __init__(self, recur_size: int, inseq: bool = True, outseq: bool = True, timesteps: int | None = None,
                 use_state: bool = False):
        super().__init__(recur_size, inseq, outseq, timesteps)
        self.use_state = bool(use_state)

    def _initial_bias(self, b):
        b[:self.recur_size] = 1.0   # forget gate
        return b

    def forward(self, x, training=False):
        xp = array_module(x)
        if len(seq_data(x)) == 0:
            return self._empty_forward(x)
        w, b = self.params["w"], self.params["b"]
        f, hidden = self.features, self.recur_size
        # σ(a) = ½ + ½·tanh(a/2): halve the three sigmoid blocks once, then one tanh serves all four
        scale = xp.ones(4 * hidden, dtype=w.dtype)
        scale[:3 * hidden] = 0.5
        w_scaled = w * scale
        # (T, N, 4H): the pre-activations a = x·W_x + b, turned into [f, i, o, g] in place below
        gates = self._project(x, w_scaled[:f], b * scale)
        wh = w_scaled[f:]
        t_max, n, counts = self._t_max, self._n, self._counts
        hidden_states = self._workspace("h", (t_max + 1, n, hidden), gates.dtype, zero=True)   # row 0: h_0 = 0
        cell_states = self._workspace("c", (t_max + 1, n, hidden), gates.dtype, zero=True)     # row 0: c_0 = 0
        tanh_cells = self._workspace("tanh c", (t_max, n, hidden), gates.dtype, zero=True)     # tanh c_t
        sigmoid_end = 3 * hidden
        for t in range(t_max):
            alive = counts[t]
            step_gates = gates[t, :alive]
            if t:
                step_gates += hidden_states[t, :alive] @ wh
            xp.tanh(step_gates, out=step_gates)
            sigmoids = step_gates[:, :sigmoid_end]
            sigmoids *= 0.5
            sigmoids += 0.5                              # step_gates now holds [f, i, o, g]
            c = cell_states[t + 1, :alive]
            xp.multiply(step_gates[:, hidden:2 * hidden], step_gates[:, sigmoid_end:], out=c)   # i ⊙ g
            if t:
                c += step_gates[:, :hidden] * cell_states[t, :alive]                         # + f ⊙ c_{t−1}
            tanh_c = xp.tanh(c, out=tanh_cells[t, :alive])
            xp.multiply(step_gates[:, 2 * hidden:sigmoid_end], tanh_c, out=hidden_states[t + 1, :alive])
        self._gate_values, self._tanh_cells = gates, tanh_cells
        self._hidden_states, self._cell_states = hidden_states, cell_states
        return self._emit(cell_states if self.use_state else hidden_states)

    def backward(self, dy):
        xp = array_module(dy)
        if self._n == 0:
            return self._empty_backward()
        hidden = self.recur_size
        wh_t = self.params["w"][self.features:].T
        t_max, n, counts = self._t_max, self._n, self._counts
        gate_values = self._gate_values.reshape(t_max, n, 4, hidden)
        forget_gate, input_gate = gate_values[:, :, 0], gate_values[:, :, 1]
        output_gate, block_input = gate_values[:, :, 2], gate_values[:, :, 3]
        tanh_cells = self._tanh_cells
        # Step-independent factors, for all steps at once: da_gate = dc ⊙ gate_factor
        # (dh ⊙ gate_factor for the output gate), and dc gains dh ⊙ dc_per_dh.
        dtype = gate_values.dtype
        gate_factor = self._workspace("gate factor", gate_values.shape, dtype)
        # σ' = s(1 − s) of the three sigmoid gates, in the buffer dL/da uses later
        sigmoid_slope = self._workspace("da", (t_max, n, 4 * hidden), dtype).reshape(gate_values.shape)[:, :, :3]
        xp.subtract(1, gate_values[:, :, :3], out=sigmoid_slope)
        sigmoid_slope *= gate_values[:, :, :3]
        xp.multiply(self._cell_states[:-1], sigmoid_slope[:, :, 0], out=gate_factor[:, :, 0])  # c_{t−1} f(1−f)
        xp.multiply(block_input, sigmoid_slope[:, :, 1], out=gate_factor[:, :, 1])             # g i(1−i)
        xp.multiply(tanh_cells, sigmoid_slope[:, :, 2], out=gate_factor[:, :, 2])              # tanh c o(1−o)
        one_minus_square = self._workspace("1 - y²", tanh_cells.shape, dtype)
        xp.multiply(block_input, block_input, out=one_minus_square)
        xp.subtract(1, one_minus_square, out=one_minus_square)
        xp.multiply(input_gate, one_minus_square, out=gate_factor[:, :, 3])                  # i (1−g²)
        dc_per_dh = xp.multiply(tanh_cells, tanh_cells, out=one_minus_square)
        xp.subtract(1, dc_per_dh, out=dc_per_dh)
        dc_per_dh *= output_gate                                                             # o (1 − tanh² c)
        grad = self._time_major_grad(dy)
        other = self._workspace("other grad", grad.shape, grad.dtype, zero=True)   # no output: zero
        if self.use_state:
            dc_all, dh_all = grad, other
        else:
            dh_all, dc_all = grad, other
        da = self._workspace("da", (t_max, n, 4 * hidden), grad.dtype, zero=True)  # dL/da, padded rows 0
        carry_h = carry_c = None
        for t in range(t_max - 1, -1, -1):
            alive = counts[t]
            dh = dh_all[t, :alive]
            dc = dc_all[t, :alive]
            if carry_h is not None:
                alive_next = len(carry_h)
                dh[:alive_next] += carry_h
                dc[:alive_next] += carry_c
            dc += dh * dc_per_dh[t, :alive]
            da_t = da[t, :alive]
            da_gates = da_t.reshape(alive, 4, hidden)
            xp.multiply(dc[:, None, :], gate_factor[t, :alive], out=da_gates)
            xp.multiply(dh, gate_factor[t, :alive, 2], out=da_gates[:, 2])
            if t:
                carry_c = dc * forget_gate[t, :alive]
                carry_h = da_t @ wh_t
        return self._finish_backward(da, self._hidden_states[:-1])
