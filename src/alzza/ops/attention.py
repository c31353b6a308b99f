"""The pieces of scaled dot-product attention: masks, the masked softmax and its backward, rotary.

Shapes: scores S and weights P are (N, h, T, S) — batch, heads, query steps, key steps.

Masks are boolean and mean **allowed** (True = this query may look at this key), the
convention of ``torch.nn.functional.scaled_dot_product_attention``'s boolean
``attn_mask``; ``torch.nn.MultiheadAttention``'s boolean ``attn_mask`` and
``key_padding_mask`` mean the opposite (True = NOT allowed). See
docs/implementing-a-paper.md and tests/test_attention_torch.py, which checks both.

Masked softmax over the last axis, with every disallowed score removed::

    m_i = max_{j allowed} S_ij          (0 for a row with no allowed key)
    E_ij = exp(S_ij − m_i) if allowed else 0
    P_ij = E_ij / Σ_j E_ij               (a row with no allowed key is all zeros: no NaN)

Subtracting the row maximum keeps exp ≤ 1 (no overflow); it cancels in the ratio.
Backward (P is a softmax of its row, so ∂P_ij/∂S_ik = P_ij(δ_jk − P_ik))::

    dS = P ⊙ (dP − rowsum(dP ⊙ P))

which is zero wherever P is (masked keys, fully masked rows).

Rotary position embedding (Su et al. 2021, RoFormer §3.4): in each head, the pairs of
features (2i, 2i+1) of a query or key at position p are rotated by the angle p·θ_i,
θ_i = base^(−2i/d_h)::

    [x'_2i, x'_2i+1] = [x_2i·cos − x_2i+1·sin,  x_2i·sin + x_2i+1·cos]

so q'·k' depends on the positions only through their difference. The rotation is
orthogonal, so its backward is the rotation by −p·θ_i.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module


def allowed_keys(key_lengths, queries: int, keys: int, causal: bool, query_offset: int = 0) -> np.ndarray:
    """(N, 1, T, S) boolean mask, True = allowed: key j < key_length[n], and j ≤ i + offset if causal.

    Host bookkeeping (NumPy): ``key_lengths`` (N,) int. ``query_offset`` is the position of
    query row 0 (for incremental decoding, where the queries are the last steps).
    """
    key_lengths = np.asarray(key_lengths)
    j = np.arange(keys)
    mask = j[None, None, None, :] < key_lengths[:, None, None, None]          # (N, 1, 1, S)
    if causal:
        i = np.arange(queries) + query_offset
        mask = mask & (j[None, :] <= i[:, None])[None, None]                  # (N, 1, T, S)
    return np.broadcast_to(mask, (len(key_lengths), 1, queries, keys))


def masked_softmax(scores, allowed):
    """P = softmax of ``scores`` over the last axis among the ``allowed`` entries (see module docstring).

    ``scores`` (..., T, S) is overwritten (it becomes P); ``allowed`` broadcasts to it.
    """
    xp = array_module(scores)
    allowed = xp.asarray(allowed)
    scores[...] = xp.where(allowed, scores, -xp.inf)
    row_max = scores.max(axis=-1, keepdims=True)
    row_max[~xp.isfinite(row_max)] = 0                # a fully masked row: nothing to subtract
    scores -= row_max
    xp.exp(scores, out=scores)                        # exp(−inf) = 0 at masked entries
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1                             # a fully masked row stays all zeros
    scores /= total
    return scores


def softmax_backward(p, dp):
    """dS = P ⊙ (dP − rowsum(dP ⊙ P)): the gradient at the scores from the gradient at P."""
    inner = (dp * p).sum(axis=-1, keepdims=True)
    ds = dp - inner
    ds *= p
    return ds


def rotary_angles(positions, head_size: int, base: float = 10000.0, dtype=np.float64):
    """(cos, sin) of the angles p·θ_i, each (len(positions), head_size/2) (positions on the host)."""
    half = head_size // 2
    theta = base ** (-np.arange(half, dtype=np.float64) * 2.0 / head_size)
    angles = np.asarray(positions, dtype=np.float64)[:, None] * theta[None, :]
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def rotate(x, cos, sin, inverse: bool = False):
    """The rotary rotation of ``x`` (..., T, d_h) by angles with (cos, sin) (T, d_h/2).

    ``inverse`` rotates by the negative angles (the backward of the forward rotation).
    """
    xp = array_module(x)
    even, odd = x[..., 0::2], x[..., 1::2]
    if inverse:
        sin = -sin
    out = xp.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out
