"""The gated recurrent unit (``gru``), Cho et al. 2014, in torch's form.

Same options, batching and variable-length rules as ``rnn`` and ``lstm`` (see
``recurrent.py``): a Sequences (N, T, F) in — or one vector fed at every one of
``timesteps`` steps with ``inseq: false`` — and the whole output sequence or each
example's last step out. Nothing flows through padded steps.
"""

from __future__ import annotations

import numpy as np

from ..sequences import seq_data
from .base import BuildContext
from .recurrent import _Recurrent
from .registry import register_layer


@register_layer("gru")
class GRU(_Recurrent):
    """Gated recurrent unit. Per step, with ``w`` = [W_x; W_h] (F + H, 3H) in blocks r, z, n::

        [x_r, x_z, x_n] = x_t·W_x + b              input side (one GEMM for all steps)
        [h_r, h_z, h_n] = h_{t−1}·W_h              recurrent side (one GEMM per step)
        r = σ(x_r + h_r)                           reset gate
        z = σ(x_z + h_z)                           update gate
        n = tanh(x_n + r ⊙ (h_n + b_hn))           candidate state
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}            h_0 = 0

    This is the variant of torch.nn.GRU and cuDNN: the reset gate multiplies the
    recurrent product (plus its own bias ``b_hn``, (H,)). The paper (Cho et al. 2014,
    section 2.3) resets before the product, n = tanh(x_n + (r ⊙ h_{t−1})·U_n); the
    torch form needs one recurrent GEMM per step instead of two and can be checked
    against torch. Gate blocks are in torch's order (r, z, n), so torch's
    ``weight_ih_l0`` is W_xᵀ, ``weight_hh_l0`` is W_hᵀ, and its two biases are
    b = b_ih + [b_hr, b_hz, 0] and b_hn. Parameters: (F + H)·3H + 3H + H.

    Backward, through time (dh_t = dy_t + the carry from step t+1)::

        da_n = dh_t ⊙ (1 − z) ⊙ (1 − n²)                         at x_n
        da_r = da_n ⊙ (h_n + b_hn) ⊙ r(1 − r)
        da_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        da_x = [da_r, da_z, da_n],   da_h = [da_r, da_z, da_n ⊙ r]
        carry to step t−1:  dh_t ⊙ z + da_h·W_hᵀ

    and after the loop, one GEMM each over the stacked steps:
    dW_x = Σ_t x_tᵀ·da_x, dW_h = Σ_t h_{t−1}ᵀ·da_h, db = Σ da_x, db_hn = Σ da_n ⊙ r,
    dx_t = da_x·W_xᵀ. Every factor of dh_t in those lines is known after the forward,
    so they are computed for all steps at once before the loop; each step is then two
    multiplications, a copy and one GEMM. ``cells.gru_step`` / ``gru_step_backward`` are
    the same step written plainly; the tests hold the two to each other.
    """

    gates = 3

    def build(self, input_shape, ctx: BuildContext):
        output_shape = super().build(input_shape, ctx)
        self.params["b_hn"] = np.zeros(self.recur_size, dtype=ctx.dtype)
        return output_shape

    def forward(self, x, training=False):
        if len(seq_data(x)) == 0:
            return self._empty_forward(x)
        w, b, b_hn = self.params["w"], self.params["b"], self.params["b_hn"]
        f, hidden = self.features, self.recur_size
        wh = w[f:]
        # (T, N, 3H): the input side x·W_x + b; becomes [r, z, n] in place below
        gates = self._project(x, w[:f], b)
        t_max, n, counts = self._t_max, self._n, self._counts
        states = np.zeros((t_max + 1, n, hidden), dtype=gates.dtype)      # row 0: h_0 = 0
        reset_products = np.zeros((t_max, n, hidden), dtype=gates.dtype)  # h_n + b_hn of every step
        for t in range(t_max):
            alive = counts[t]
            step = gates[t, :alive]
            h_prev = states[t, :alive]
            rz = step[:, :2 * hidden]
            hn = reset_products[t, :alive]
            if t:
                recurrent = h_prev @ wh                        # [h_r, h_z, h_n]
                rz += recurrent[:, :2 * hidden]
                np.add(recurrent[:, 2 * hidden:], b_hn, out=hn)
            else:                                              # h_0 = 0: no recurrent product
                hn[...] = b_hn
            np.multiply(rz, 0.5, out=rz)                       # σ(a) = ½ + ½·tanh(a/2)
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5                                          # r, z
            candidate = step[:, 2 * hidden:]
            candidate += step[:, :hidden] * hn                 # x_n + r ⊙ (h_n + b_hn)
            np.tanh(candidate, out=candidate)                  # n
            h = states[t + 1, :alive]
            np.subtract(h_prev, candidate, out=h)
            h *= step[:, hidden:2 * hidden]
            h += candidate                                     # n + z ⊙ (h_{t−1} − n)
        self._gate_values, self._reset_products, self._states = gates, reset_products, states
        return self._emit(states)

    def backward(self, dy):
        if self._n == 0:
            return self._empty_backward()
        hidden = self.recur_size
        wh_t = self.params["w"][self.features:].T
        t_max, n, counts = self._t_max, self._n, self._counts
        gate_values = self._gate_values.reshape(t_max, n, 3, hidden)
        reset, update, candidate = gate_values[:, :, 0], gate_values[:, :, 1], gate_values[:, :, 2]
        h_prev = self._states[:-1]
        # Step-independent factors for all steps at once:
        # da_h = dh ⊙ recurrent_factor (blocks r, z, n), da_x's n block = dh ⊙ candidate_factor.
        candidate_factor = (1 - update) * (1 - candidate * candidate)             # (1 − z)(1 − n²)
        recurrent_factor = np.empty_like(gate_values)
        np.multiply(candidate_factor * self._reset_products, reset * (1 - reset),
                    out=recurrent_factor[:, :, 0])                                 # (h_n + b_hn)… r(1 − r)
        np.multiply(h_prev - candidate, update * (1 - update), out=recurrent_factor[:, :, 1])  # (h_{t−1} − n) z(1 − z)
        np.multiply(candidate_factor, reset, out=recurrent_factor[:, :, 2])          # (1 − z)(1 − n²) r
        dh_all = self._time_major_grad(dy)
        da_x = np.zeros((t_max, n, 3 * hidden), dtype=dh_all.dtype)   # at x·W_x + b; padded rows 0
        da_h = np.zeros_like(da_x)                                    # at h_{t−1}·W_h
        carry = None
        for t in range(t_max - 1, -1, -1):
            alive = counts[t]
            dh = dh_all[t, :alive]
            if carry is not None:
                dh[:len(carry)] += carry
            da_h_t = da_h[t, :alive]
            np.multiply(dh[:, None, :], recurrent_factor[t, :alive], out=da_h_t.reshape(alive, 3, hidden))
            da_x[t, :alive, :2 * hidden] = da_h_t[:, :2 * hidden]
            np.multiply(dh, candidate_factor[t, :alive], out=da_x[t, :alive, 2 * hidden:])
            if t:
                carry = dh * update[t, :alive]
                carry += da_h_t @ wh_t
        dx = self._finish_backward(da_x, h_prev, dz_recurrent=da_h)
        self.grads["b_hn"] = da_h[:, :, 2 * hidden:].reshape(-1, hidden).sum(axis=0)
        return dx
