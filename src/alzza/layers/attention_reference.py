"""The textbook forms of the Transformer's layers: one example, one head, plain loops.

These are the equations of Vaswani et al. (2017) written as directly as NumPy allows, on
the *real* steps of one example only (no padding, so no padding mask), with the causal
mask as a loop bound and the softmax as its definition. They are slow and never used in
training: the tests hold the fast layers (batched, masked, fused projections) to them —
forward and every gradient. Shapes without the batch axis: x (T, D), memory (S, D_m).
"""

from __future__ import annotations

import math

import numpy as np


def softmax(s):
    """softmax of a vector: e^(s − max s) / Σ e^(s − max s)."""
    e = np.exp(s - s.max())
    return e / e.sum()


def rotary(x, positions, base: float = 10000.0):
    """RoFormer's rotation of each pair (2i, 2i+1) of the rows of x (T, d_h) by p·base^(−2i/d_h)."""
    out = np.empty_like(x)
    for row, p in enumerate(positions):
        for i in range(x.shape[1] // 2):
            angle = p * base ** (-2.0 * i / x.shape[1])
            c, s = math.cos(angle), math.sin(angle)
            a, b = x[row, 2 * i], x[row, 2 * i + 1]
            out[row, 2 * i], out[row, 2 * i + 1] = a * c - b * s, a * s + b * c
    return out


def unrotary(dx, positions, base: float = 10000.0):
    """The transpose of :func:`rotary` (rotation by the negative angles)."""
    out = np.empty_like(dx)
    for row, p in enumerate(positions):
        for i in range(dx.shape[1] // 2):
            angle = p * base ** (-2.0 * i / dx.shape[1])
            c, s = math.cos(angle), math.sin(angle)
            a, b = dx[row, 2 * i], dx[row, 2 * i + 1]
            out[row, 2 * i], out[row, 2 * i + 1] = a * c + b * s, -a * s + b * c
    return out


def attention(x, memory, w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o, heads, causal=False, rotate=False, keep=None):
    """Multi-head attention of one example; ``memory`` is x for self-attention.

        Q = x·W_q + b_q (T, D),  K = memory·W_k + b_k (S, D),  V = memory·W_v + b_v (S, D)
        for each head a (columns a·d_h … (a+1)·d_h) and each query step i:
            s_j = q_i·k_j / √d_h  for the keys j it may see (j ≤ i when causal)
            p = softmax(s),  o_i = Σ_j p_j·m_j·v_j   (m = keep[a, i, j], the dropout factor, else 1)
        y = [o heads joined]·W_o + b_o

    Returns y (T, D) and the cache for :func:`attention_backward`.
    """
    t, d = x.shape
    dh = d // heads
    q, k, v = x @ w_q + b_q, memory @ w_k + b_k, memory @ w_v + b_v
    o = np.zeros((t, d))
    probs = []
    for a in range(heads):
        cols = slice(a * dh, (a + 1) * dh)
        qa, ka, va = q[:, cols], k[:, cols], v[:, cols]
        if rotate:
            qa, ka = rotary(qa, range(t)), rotary(ka, range(len(ka)))
        head_probs = []
        for i in range(t):
            visible = i + 1 if causal else len(ka)
            s = np.array([qa[i] @ ka[j] for j in range(visible)]) / math.sqrt(dh)
            p = softmax(s)
            m = keep[a, i, :visible] if keep is not None else np.ones(visible)
            o[i, cols] = sum(p[j] * m[j] * va[j] for j in range(visible))
            head_probs.append((p, m))
        probs.append((qa, ka, va, head_probs))
    return o @ w_o + b_o, (x, memory, w_q, w_k, w_v, w_o, heads, causal, rotate, o, probs)


def attention_backward(dy, cache):
    """Gradients of :func:`attention`: (dx, dmemory, {w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o}).

    Per head and query step i, with dp_j = m_j·(do_i·v_j):
        dv_j += p_j·m_j·do_i,   ds = p ⊙ (dp − Σ_j dp_j·p_j) / √d_h,
        dq_i += Σ_j ds_j·k_j,   dk_j += ds_j·q_i
    """
    x, memory, w_q, w_k, w_v, w_o, heads, causal, rotate, o, probs = cache
    t, d = x.shape
    dh = d // heads
    grads = {"w_o": o.T @ dy, "b_o": dy.sum(axis=0)}
    do = dy @ w_o.T
    dq, dk, dv = np.zeros((t, d)), np.zeros((len(memory), d)), np.zeros((len(memory), d))
    for a, (qa, ka, va, head_probs) in enumerate(probs):
        cols = slice(a * dh, (a + 1) * dh)
        dqa, dka = np.zeros_like(qa), np.zeros_like(ka)
        for i, (p, m) in enumerate(head_probs):
            visible = len(p)
            dp = np.array([m[j] * (do[i, cols] @ va[j]) for j in range(visible)])
            for j in range(visible):
                dv[j, cols] += p[j] * m[j] * do[i, cols]
            ds = p * (dp - dp @ p) / math.sqrt(dh)
            for j in range(visible):
                dqa[i] += ds[j] * ka[j]
                dka[j] += ds[j] * qa[i]
        if rotate:
            dqa, dka = unrotary(dqa, range(t)), unrotary(dka, range(len(ka)))
        dq[:, cols], dk[:, cols] = dqa, dka
    grads.update(w_q=x.T @ dq, b_q=dq.sum(axis=0), w_k=memory.T @ dk, b_k=dk.sum(axis=0),
                 w_v=memory.T @ dv, b_v=dv.sum(axis=0))
    return dq @ w_q.T, dk @ w_k.T + dv @ w_v.T, grads


def embedding(ids, table):
    """Rows of the table: y_t = E[id_t]   (ids (T,), E (V, D) → y (T, D))."""
    return np.stack([table[i] for i in ids])


def embedding_backward(dy, ids, vocab, padding_id=None):
    """dE[v] = Σ_{t: id_t = v} dy_t, row ``padding_id`` left at zero."""
    grad = np.zeros((vocab, dy.shape[1]))
    for t, i in enumerate(ids):
        if i != padding_id:
            grad[i] += dy[t]
    return grad


def sinusoid(positions, d):
    """§3.5: PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d))."""
    table = np.zeros((len(positions), d))
    for row, p in enumerate(positions):
        for i in range(0, d, 2):
            table[row, i] = math.sin(p / 10000 ** (i / d))
            if i + 1 < d:
                table[row, i + 1] = math.cos(p / 10000 ** (i / d))
    return table


def rms_norm(x, gain, eps):
    """Zhang & Sennrich 2019: y = x / √(mean(x²) + ε) ⊙ g, per row of x (T, D)."""
    return np.stack([row / math.sqrt(np.mean(row * row) + eps) * gain for row in x])
