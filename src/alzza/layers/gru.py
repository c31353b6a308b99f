"""The gated recurrent unit (``gru``), Cho et al. 2014 — torch's form, or the paper's.

Same options, batching and variable-length rules as ``rnn`` and ``lstm`` (see
``recurrent.py``): a Sequences (N, T, F) in — or one vector fed at every one of
``timesteps`` steps with ``inseq: false`` — and the whole output sequence or each
example's last step out. Nothing flows through padded steps.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module

from ..sequences import seq_data
from ..options import flag
from .base import BuildContext
from .recurrent import RecurrentBase
from .registry import register_layer


@register_layer("gru")
class GRU(RecurrentBase):
    """Gated recurrent unit. Per step, with ``w`` = [W_x; W_h] (F + H, 3H) in blocks r, z, n::

        [x_r, x_z, x_n] = x_t·W_x + b              input side (one GEMM for all steps)
        [h_r, h_z, h_n] = h_{t−1}·W_h              recurrent side (one GEMM per step)
        r = σ(x_r + h_r)                           reset gate
        z = σ(x_z + h_z)                           update gate
        n = tanh(x_n + r ⊙ (h_n + b_hn))           candidate state
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}            h_0 = 0

    ``reset_after: true`` (the default) is this form, torch.nn.GRU's and cuDNN's: the
    reset gate multiplies the recurrent product, which has its own bias ``b_hn`` (H,).
    Gate blocks are in torch's order (r, z, n), so torch's ``weight_ih_l0`` is W_xᵀ,
    ``weight_hh_l0`` is W_hᵀ, and its biases map to b = b_ih + [b_hr, b_hz, 0] and
    b_hn. Parameters: (F + H)·3H + 3H + H.

    ``reset_after: false`` is the paper's form (Cho et al. 2014, section 2.3): the reset
    gate acts on the state before the product, with W_h = [U_r, U_z, U_n]::

        n = tanh(x_n + (r ⊙ h_{t−1})·U_n)          (r and z as above, no b_hn)

    It needs two recurrent GEMMs per step (r must be known before U_n is applied) and
    has no torch twin. Parameters: (F + H)·3H + 3H.

    Backward, through time (dh_t = dy_t + the carry from step t+1), reset after::

        da_n = dh_t ⊙ (1 − z) ⊙ (1 − n²)                         at x_n
        da_r = da_n ⊙ (h_n + b_hn) ⊙ r(1 − r)
        da_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        da_x = [da_r, da_z, da_n],   da_h = [da_r, da_z, da_n ⊙ r]
        carry to step t−1:  dh_t ⊙ z + da_h·W_hᵀ
        then dW_x = Σ_t x_tᵀ·da_x, dW_h = Σ_t h_{t−1}ᵀ·da_h, db = Σ da_x, db_hn = Σ da_n ⊙ r

    reset before::

        da_n = dh_t ⊙ (1 − z) ⊙ (1 − n²),   d(rh) = da_n·U_nᵀ
        da_r = d(rh) ⊙ h_{t−1} ⊙ r(1 − r),  da_z as above,  da = [da_r, da_z, da_n]
        carry to step t−1:  dh_t ⊙ z + d(rh) ⊙ r + [da_r, da_z]·[U_r, U_z]ᵀ
        then dW_x = Σ_t x_tᵀ·da, db = Σ da,
             dW_h = Σ_t [h_{t−1}ᵀ·da_r, h_{t−1}ᵀ·da_z, (r ⊙ h_{t−1})ᵀ·da_n]

    and dx_t = da_x·W_xᵀ in both. The weight gradients are one GEMM each over the
    stacked steps after the loop; every factor of dh_t above is known after the
    forward, so those are computed for all steps at once before the loop.
    ``cells.gru_step`` and ``cells.gru_reset_before_step`` (with their backward) are the
    same steps written plainly; the tests hold the layer to a time loop over them.
    """

    gates = 3
    OPTIONS: dict = dict(RecurrentBase.OPTIONS, reset_after=flag(
        default=True, doc="reset gate after the recurrent product (torch, cuDNN); false: before it (Cho et al.)"))

    def __init__(self, recur_size: int, inseq: bool = True, outseq: bool = True, timesteps: int | None = None,
                 reset_after: bool = True):
        super().__init__(recur_size, inseq, outseq, timesteps)
        self.reset_after = bool(reset_after)

    def build(self, input_shape, ctx: BuildContext):
        output_shape = super().build(input_shape, ctx)
        if self.reset_after:
            self.params["b_hn"] = np.zeros(self.recur_size, dtype=ctx.dtype)
        return output_shape

    # --- forward ----------------------------------------------------------------
    def forward(self, x, training=False):
        xp = array_module(x)
        if len(seq_data(x)) == 0:
            return self._empty_forward(x)
        w, b = self.params["w"], self.params["b"]
        # (T, N, 3H): the input side x·W_x + b; becomes [r, z, n] in place
        gates = self._project(x, w[:self.features], b)
        states = xp.zeros((self._t_max + 1, self._n, self.recur_size), dtype=gates.dtype)   # row 0: h_0 = 0
        if self.reset_after:
            self._forward_reset_after(gates, states)
        else:
            self._forward_reset_before(gates, states)
        self._gate_values, self._states = gates, states
        return self._emit(states)

    def _forward_reset_after(self, gates, states):
        xp = array_module(gates)
        hidden, counts = self.recur_size, self._counts
        wh, b_hn = self.params["w"][self.features:], self.params["b_hn"]
        reset_products = xp.zeros(states[1:].shape, dtype=gates.dtype)   # h_n + b_hn of every step
        for t in range(self._t_max):
            alive = counts[t]
            step = gates[t, :alive]
            h_prev = states[t, :alive]
            rz = step[:, :2 * hidden]
            hn = reset_products[t, :alive]
            if t:
                recurrent = h_prev @ wh                        # [h_r, h_z, h_n]
                rz += recurrent[:, :2 * hidden]
                xp.add(recurrent[:, 2 * hidden:], b_hn, out=hn)
            else:                                              # h_0 = 0: no recurrent product
                hn[...] = b_hn
            _sigmoid_in_place(rz)                              # r, z
            candidate = step[:, 2 * hidden:]
            candidate += step[:, :hidden] * hn                 # x_n + r ⊙ (h_n + b_hn)
            xp.tanh(candidate, out=candidate)                  # n
            _blend(h_prev, candidate, step[:, hidden:2 * hidden], out=states[t + 1, :alive])
        self._reset_products = reset_products

    def _forward_reset_before(self, gates, states):
        xp = array_module(gates)
        hidden, counts = self.recur_size, self._counts
        wh = self.params["w"][self.features:]
        u_rz, u_n = xp.ascontiguousarray(wh[:, :2 * hidden]), xp.ascontiguousarray(wh[:, 2 * hidden:])
        for t in range(self._t_max):
            alive = counts[t]
            step = gates[t, :alive]
            h_prev = states[t, :alive]
            rz = step[:, :2 * hidden]
            if t:                                              # h_0 = 0: no recurrent products
                rz += h_prev @ u_rz
            _sigmoid_in_place(rz)                              # r, z
            candidate = step[:, 2 * hidden:]
            if t:
                candidate += (step[:, :hidden] * h_prev) @ u_n   # x_n + (r ⊙ h_{t−1})·U_n
            xp.tanh(candidate, out=candidate)                  # n
            _blend(h_prev, candidate, step[:, hidden:2 * hidden], out=states[t + 1, :alive])

    # --- backward ---------------------------------------------------------------
    def backward(self, dy):
        if self._n == 0:
            return self._empty_backward()
        if self.reset_after:
            return self._backward_reset_after(dy)
        return self._backward_reset_before(dy)

    def _gate_blocks(self):
        gate_values = self._gate_values.reshape(self._t_max, self._n, 3, self.recur_size)
        return gate_values, gate_values[:, :, 0], gate_values[:, :, 1], gate_values[:, :, 2]

    def _backward_reset_after(self, dy):
        xp = array_module(dy)
        hidden, counts = self.recur_size, self._counts
        wh_t = self.params["w"][self.features:].T
        gate_values, reset, update, candidate = self._gate_blocks()
        h_prev = self._states[:-1]
        # Step-independent factors for all steps at once:
        # da_h = dh ⊙ recurrent_factor (blocks r, z, n); da_x's n block = dh ⊙ candidate_factor.
        candidate_factor = (1 - update) * (1 - candidate * candidate)                 # (1 − z)(1 − n²)
        recurrent_factor = xp.empty_like(gate_values)
        xp.multiply(candidate_factor * self._reset_products, reset * (1 - reset),
                    out=recurrent_factor[:, :, 0])                                     # … (h_n + b_hn) r(1 − r)
        xp.multiply(h_prev - candidate, update * (1 - update), out=recurrent_factor[:, :, 1])  # (h_{t−1} − n) z(1 − z)
        xp.multiply(candidate_factor, reset, out=recurrent_factor[:, :, 2])              # (1 − z)(1 − n²) r
        dh_all = self._time_major_grad(dy)
        da_x = xp.zeros((self._t_max, self._n, 3 * hidden), dtype=dh_all.dtype)   # at x·W_x + b; padded rows 0
        da_h = xp.zeros_like(da_x)                                                # at h_{t−1}·W_h
        carry = None
        for t in range(self._t_max - 1, -1, -1):
            alive = counts[t]
            dh = _with_carry(dh_all[t, :alive], carry)
            da_h_t = da_h[t, :alive]
            xp.multiply(dh[:, None, :], recurrent_factor[t, :alive], out=da_h_t.reshape(alive, 3, hidden))
            da_x[t, :alive, :2 * hidden] = da_h_t[:, :2 * hidden]
            xp.multiply(dh, candidate_factor[t, :alive], out=da_x[t, :alive, 2 * hidden:])
            if t:
                carry = dh * update[t, :alive]
                carry += da_h_t @ wh_t
        dx = self._finish_backward(da_x, h_prev, dz_recurrent=da_h)
        self.grads["b_hn"] = da_h[:, :, 2 * hidden:].reshape(-1, hidden).sum(axis=0)
        return dx

    def _backward_reset_before(self, dy):
        xp = array_module(dy)
        hidden, counts = self.recur_size, self._counts
        wh = self.params["w"][self.features:]
        u_rz_t, u_n_t = xp.ascontiguousarray(wh[:, :2 * hidden].T), xp.ascontiguousarray(wh[:, 2 * hidden:].T)
        gate_values, reset, update, candidate = self._gate_blocks()
        h_prev = self._states[:-1]
        # step-independent factors: da_n = dh ⊙ candidate_factor, da_z = dh ⊙ update_factor,
        # da_r = d(rh) ⊙ reset_factor
        candidate_factor = (1 - update) * (1 - candidate * candidate)                 # (1 − z)(1 − n²)
        update_factor = (h_prev - candidate) * update * (1 - update)                  # (h_{t−1} − n) z(1 − z)
        reset_factor = h_prev * reset * (1 - reset)                                   # h_{t−1} r(1 − r)
        dh_all = self._time_major_grad(dy)
        da = xp.zeros((self._t_max, self._n, 3 * hidden), dtype=dh_all.dtype)   # padded rows 0
        carry = None
        for t in range(self._t_max - 1, -1, -1):
            alive = counts[t]
            dh = _with_carry(dh_all[t, :alive], carry)
            da_t = da[t, :alive]
            da_n = xp.multiply(dh, candidate_factor[t, :alive], out=da_t[:, 2 * hidden:])
            d_rh = da_n @ u_n_t                                                   # at r ⊙ h_{t−1}
            xp.multiply(d_rh, reset_factor[t, :alive], out=da_t[:, :hidden])
            xp.multiply(dh, update_factor[t, :alive], out=da_t[:, hidden:2 * hidden])
            if t:
                carry = dh * update[t, :alive]
                carry += d_rh * reset[t, :alive]
                carry += da_t[:, :2 * hidden] @ u_rz_t
        dx = self._finish_backward(da, h_prev)
        # _finish_backward took h_{t−1} as the input of every recurrent block; U_n's is r ⊙ h_{t−1}
        xp.matmul((reset * h_prev).reshape(-1, hidden).T, da[:, :, 2 * hidden:].reshape(-1, hidden),
                  out=self.grads["w"][self.features:, 2 * hidden:])
        return dx


def _with_carry(dh, carry):
    """dL/dh_t: the gradient from the output (``dh``, a writable buffer) plus the carry
    from step t+1, which exists for the first rows only (fewer examples reach t+1)."""
    if carry is not None:
        dh[:len(carry)] += carry
    return dh


def _sigmoid_in_place(a):
    """a ← σ(a) = ½ + ½·tanh(a/2), in four in-place operations."""
    xp = array_module(a)
    xp.multiply(a, 0.5, out=a)
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _blend(h_prev, candidate, update, out):
    """out ← (1 − z) ⊙ n + z ⊙ h_{t−1}, written n + z ⊙ (h_{t−1} − n)."""
    xp = array_module(h_prev)
    xp.subtract(h_prev, candidate, out=out)
    out *= update
    out += candidate
