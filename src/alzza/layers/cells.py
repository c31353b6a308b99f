"""One step of a recurrent cell, written the way the papers write it.

These are the textbook forms of the cells behind ``rnn``, ``lstm`` and ``gru``: pure
NumPy functions of one time step, no state, no time loop, no buffers. Each forward
returns the new state and a ``cache`` (the values its backward needs); each backward
takes the gradients arriving at the step's outputs and returns the gradients of every
input. The lines of each function follow the equations of its docstring one by one.

The layers in ``recurrent.py`` and ``gru.py`` compute exactly this, fused and batched
over all time steps (one input GEMM for every step, prefix rows for variable lengths,
step-independent factors computed once); the tests run these functions in a plain time
loop and require the layers to agree with it, forward and backward.

Shapes (one step of a batch)::

    x        (N, F)      the inputs of the step
    h_prev   (N, H)      the previous hidden state (zeros at t = 0)
    c_prev   (N, H)      the previous LSTM cell state
    w_x      (F, G·H)    input weights, G gate blocks side by side
    w_h      (H, G·H)    recurrent weights, same column blocks
    b        (G·H,)      bias

G = 1 for the plain cell, 4 for the LSTM (blocks f, i, o, g) and 3 for the GRU
(blocks r, z, n, torch's order; two forms, see :func:`gru_step`). In the fused layers ``w`` = [w_x; w_h] is one
(F + H, G·H) matrix.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..backend import array_module

from ..ops.activations import get_activation

__all__ = ["sigmoid", "rnn_step", "rnn_step_backward", "lstm_step", "lstm_step_backward",
           "gru_step", "gru_step_backward", "gru_reset_before_step", "gru_reset_before_step_backward",
           "RNNCache", "LSTMCache", "GRUCache"]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e^(−a)), computed as ½ + ½·tanh(a/2), which never overflows."""
    xp = array_module(a)
    return 0.5 + 0.5 * xp.tanh(0.5 * a)


# --- the plain recurrent cell ---------------------------------------------------------
class RNNCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    w_x: np.ndarray
    w_h: np.ndarray
    h: np.ndarray
    actfunc: str


def rnn_step(x, h_prev, w_x, w_h, b, actfunc: str = "tanh"):
    """One step of the plain (Elman) cell.

        z = x·W_x + h_prev·W_h + b        (N, H)
        h = f(z)                          (N, H)

    ``actfunc`` names f (tanh, relu, sigmoid, none). Returns ``(h, cache)``.
    """
    z = x @ w_x + h_prev @ w_h + b
    h = get_activation(actfunc).forward(z)
    return h, RNNCache(x, h_prev, w_x, w_h, h, actfunc)


def rnn_step_backward(dh, cache: RNNCache):
    """Backward of :func:`rnn_step`; ``dh`` (N, H) is dL/dh (from the output and from step t+1).

        dz       = dh ⊙ f'(z)             (f' written with h = f(z))
        dx       = dz·W_xᵀ                (N, F)
        dh_prev  = dz·W_hᵀ                (N, H)
        dW_x     = xᵀ·dz                  (F, H)
        dW_h     = h_prevᵀ·dz             (H, H)
        db       = Σ_n dz                 (H,)

    Returns ``(dx, dh_prev, dw_x, dw_h, db)``.
    """
    x, h_prev, w_x, w_h, h, actfunc = cache
    dz = get_activation(actfunc).backward(dh, h)
    dx = dz @ w_x.T
    dh_prev = dz @ w_h.T
    dw_x = x.T @ dz
    dw_h = h_prev.T @ dz
    db = dz.sum(axis=0)
    return dx, dh_prev, dw_x, dw_h, db


# --- LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) ----
class LSTMCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    w_x: np.ndarray
    w_h: np.ndarray
    forget: np.ndarray
    input: np.ndarray
    output: np.ndarray
    block: np.ndarray
    c: np.ndarray


def lstm_step(x, h_prev, c_prev, w_x, w_h, b):
    """One LSTM step (column blocks of w_x, w_h, b in the order f, i, o, g).

        [a_f, a_i, a_o, a_g] = x·W_x + h_prev·W_h + b       each (N, H)
        f = σ(a_f)                                          forget gate
        i = σ(a_i)                                          input gate
        o = σ(a_o)                                          output gate
        g = tanh(a_g)                                       block input
        c = f ⊙ c_prev + i ⊙ g                              cell state (N, H)
        h = o ⊙ tanh(c)                                     hidden output (N, H)

    Returns ``(h, c, cache)``.
    """
    xp = array_module(x)
    a = x @ w_x + h_prev @ w_h + b
    a_f, a_i, a_o, a_g = xp.split(a, 4, axis=1)
    f = sigmoid(a_f)
    i = sigmoid(a_i)
    o = sigmoid(a_o)
    g = xp.tanh(a_g)
    c = f * c_prev + i * g
    h = o * xp.tanh(c)
    return h, c, LSTMCache(x, h_prev, c_prev, w_x, w_h, f, i, o, g, c)


def lstm_step_backward(dh, dc, cache: LSTMCache):
    """Backward of :func:`lstm_step`.

    ``dh`` (N, H) is dL/dh and ``dc`` (N, H) the gradient reaching c from outside this
    step's h (from step t+1's cell, or from the output when the layer emits c).

        dc   ← dc + dh ⊙ o ⊙ (1 − tanh² c)        c feeds h through tanh
        da_f = dc ⊙ c_prev ⊙ f(1 − f)
        da_i = dc ⊙ g ⊙ i(1 − i)
        da_o = dh ⊙ tanh c ⊙ o(1 − o)
        da_g = dc ⊙ i ⊙ (1 − g²)
        da   = [da_f, da_i, da_o, da_g]            (N, 4H)
        dx = da·W_xᵀ,  dh_prev = da·W_hᵀ,  dc_prev = dc ⊙ f
        dW_x = xᵀ·da,  dW_h = h_prevᵀ·da,  db = Σ_n da

    Returns ``(dx, dh_prev, dc_prev, dw_x, dw_h, db)``.
    """
    xp = array_module(dh)
    x, h_prev, c_prev, w_x, w_h, f, i, o, g, c = cache
    tanh_c = xp.tanh(c)
    dc = dc + dh * o * (1 - tanh_c ** 2)
    da_f = dc * c_prev * f * (1 - f)
    da_i = dc * g * i * (1 - i)
    da_o = dh * tanh_c * o * (1 - o)
    da_g = dc * i * (1 - g ** 2)
    da = xp.concatenate([da_f, da_i, da_o, da_g], axis=1)
    dx = da @ w_x.T
    dh_prev = da @ w_h.T
    dc_prev = dc * f
    dw_x = x.T @ da
    dw_h = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dw_x, dw_h, db


# --- GRU (Cho et al. 2014), in the form torch.nn.GRU and cuDNN compute -----------------
class GRUCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    w_x: np.ndarray
    w_h: np.ndarray
    reset: np.ndarray
    update: np.ndarray
    candidate: np.ndarray
    #: h_n + b_hn (the reset-after form only; None in the paper's form)
    hn: np.ndarray | None = None


def gru_step(x, h_prev, w_x, w_h, b, b_hn):
    """One GRU step (column blocks of w_x, w_h, b in torch's order r, z, n).

        [x_r, x_z, x_n] = x·W_x + b                 input side, each (N, H)
        [h_r, h_z, h_n] = h_prev·W_h                recurrent side, each (N, H)
        r = σ(x_r + h_r)                            reset gate
        z = σ(x_z + h_z)                            update gate
        n = tanh(x_n + r ⊙ (h_n + b_hn))            candidate state
        h = (1 − z) ⊙ n + z ⊙ h_prev                new state (N, H)

    ``b_hn`` (H,) is the bias of the recurrent candidate term; it sits inside the reset
    product, so it is not the same as a bias on x_n. This is torch's (and cuDNN's)
    form, "reset after" the recurrent product. Cho et al. (2014, section 2.3) reset
    *before* it — :func:`gru_reset_before_step`; the two are different functions.
    Returns ``(h, cache)``.
    """
    xp = array_module(x)
    x_r, x_z, x_n = xp.split(x @ w_x + b, 3, axis=1)
    h_r, h_z, h_n = xp.split(h_prev @ w_h, 3, axis=1)
    hn = h_n + b_hn
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = xp.tanh(x_n + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, GRUCache(x, h_prev, w_x, w_h, r, z, n, hn)


def gru_step_backward(dh, cache: GRUCache):
    """Backward of :func:`gru_step`; ``dh`` (N, H) is dL/dh.

        dn    = dh ⊙ (1 − z)
        dz    = dh ⊙ (h_prev − n)
        da_n  = dn ⊙ (1 − n²)                       at x_n (the input side)
        dr    = da_n ⊙ (h_n + b_hn)
        da_r  = dr ⊙ r(1 − r)
        da_z  = dz ⊙ z(1 − z)
        da_x  = [da_r, da_z, da_n]                  (N, 3H), at x·W_x + b
        da_h  = [da_r, da_z, da_n ⊙ r]              (N, 3H), at h_prev·W_h
        dx = da_x·W_xᵀ,   dh_prev = dh ⊙ z + da_h·W_hᵀ
        dW_x = xᵀ·da_x,   dW_h = h_prevᵀ·da_h,   db = Σ_n da_x,   db_hn = Σ_n da_n ⊙ r

    Returns ``(dx, dh_prev, dw_x, dw_h, db, db_hn)``.
    """
    xp = array_module(dh)
    x, h_prev, w_x, w_h, r, z, n, hn = cache
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    da_n = dn * (1 - n ** 2)
    dr = da_n * hn
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    da_x = xp.concatenate([da_r, da_z, da_n], axis=1)
    da_h = xp.concatenate([da_r, da_z, da_n * r], axis=1)
    dx = da_x @ w_x.T
    dh_prev = dh * z + da_h @ w_h.T
    dw_x = x.T @ da_x
    dw_h = h_prev.T @ da_h
    db = da_x.sum(axis=0)
    db_hn = (da_n * r).sum(axis=0)
    return dx, dh_prev, dw_x, dw_h, db, db_hn


def gru_reset_before_step(x, h_prev, w_x, w_h, b):
    """One GRU step as Cho et al. (2014, section 2.3) write it: the reset gate acts on h_prev.

        [x_r, x_z, x_n] = x·W_x + b                 input side, each (N, H)
        [U_r, U_z, U_n] = W_h                       column blocks, each (H, H)
        r = σ(x_r + h_prev·U_r)                     reset gate
        z = σ(x_z + h_prev·U_z)                     update gate
        n = tanh(x_n + (r ⊙ h_prev)·U_n)            candidate state
        h = (1 − z) ⊙ n + z ⊙ h_prev                new state (N, H)

    (The paper writes no biases and uses h̃ for n; b here is the usual input bias.)
    Returns ``(h, cache)``.
    """
    xp = array_module(x)
    x_r, x_z, x_n = xp.split(x @ w_x + b, 3, axis=1)
    u_r, u_z, u_n = xp.split(w_h, 3, axis=1)
    r = sigmoid(x_r + h_prev @ u_r)
    z = sigmoid(x_z + h_prev @ u_z)
    n = xp.tanh(x_n + (r * h_prev) @ u_n)
    h = (1 - z) * n + z * h_prev
    return h, GRUCache(x, h_prev, w_x, w_h, r, z, n)


def gru_reset_before_step_backward(dh, cache: GRUCache):
    """Backward of :func:`gru_reset_before_step`; ``dh`` (N, H) is dL/dh.

        da_n   = dh ⊙ (1 − z) ⊙ (1 − n²)
        d(rh)  = da_n·U_nᵀ                          gradient at r ⊙ h_prev
        da_r   = d(rh) ⊙ h_prev ⊙ r(1 − r)
        da_z   = dh ⊙ (h_prev − n) ⊙ z(1 − z)
        da     = [da_r, da_z, da_n]                 (N, 3H), at x·W_x + b
        dx = da·W_xᵀ
        dh_prev = dh ⊙ z + d(rh) ⊙ r + [da_r, da_z]·[U_r, U_z]ᵀ
        dW_x = xᵀ·da,  db = Σ_n da
        dW_h = [h_prevᵀ·da_r, h_prevᵀ·da_z, (r ⊙ h_prev)ᵀ·da_n]

    Returns ``(dx, dh_prev, dw_x, dw_h, db)``.
    """
    xp = array_module(dh)
    x, h_prev, w_x, w_h, r, z, n, _ = cache
    u_r, u_z, u_n = xp.split(w_h, 3, axis=1)
    da_n = dh * (1 - z) * (1 - n ** 2)
    d_rh = da_n @ u_n.T
    da_r = d_rh * h_prev * r * (1 - r)
    da_z = dh * (h_prev - n) * z * (1 - z)
    da = xp.concatenate([da_r, da_z, da_n], axis=1)
    dx = da @ w_x.T
    dh_prev = dh * z + d_rh * r + da_r @ u_r.T + da_z @ u_z.T
    dw_x = x.T @ da
    dw_h = xp.concatenate([h_prev.T @ da_r, h_prev.T @ da_z, (r * h_prev).T @ da_n], axis=1)
    db = da.sum(axis=0)
    return dx, dh_prev, dw_x, dw_h, db
