"""Sliding windows over images: output sizes, padding, im2col and its adjoint col2im.

Notation: an input of height H, a window (kernel) of height k, a stride s; likewise
for the width. Output position o covers input rows ``o·s − p_top … o·s − p_top + k − 1``.

Two rules give the output size and the padding (``stride_rule``).

The book's rule (``book``, the default): the layer is computed as if its stride were 1
— SAME pads ``⌊(k − 1)/2⌋`` cells before and the rest of ``k − 1`` after, VALID keeps
the ``H − k + 1`` windows that fit — and the stride then keeps every s-th of those
positions starting at ``⌊(s − 1)/2⌋``::

    SAME:   H' = ⌊H / s⌋,            p_top = ⌊(k − 1)/2⌋ − ⌊(s − 1)/2⌋
    VALID:  H' = ⌊(H − k + 1) / s⌋,  p_top = −⌊(s − 1)/2⌋

TensorFlow's rule (``ceil``)::

    SAME:   H' = ⌈H / s⌉,   total = max((H' − 1)·s + k − H, 0),  p_top = ⌊total / 2⌋
    VALID:  H' = ⌊(H − k) / s⌋ + 1,  p_top = 0

The book's pads are exact, ``H + p_top + p_bottom = (H' − 1)·s + k``, so "pad, then a
plain strided window" reproduces the layer anywhere (torch, ONNX); a negative count
drops that many cells instead (leading ones when the stride exceeds the kernel,
trailing ones no window reaches). TensorFlow's pads are never negative: trailing cells
no window reaches are simply not read. The two rules agree when s = 1 and, for
pooling, when the windows tile the input (k = s dividing H).

Every function here loops over the k_h·k_w *kernel offsets* (i, j), never over pixels:
for one offset the cells it touches in all windows at once form the strided slice

    x[i : i + s·(H' − 1) + 1 : s,  j : j + s·(W' − 1) + 1 : s]

so a window operation is kh·kw big array operations, with the stride taken in the slice.

im2col / col2im work on a channels-first layout ``(C, N, H_p, W_p)`` (H_p, W_p padded):
there a slice copies contiguous runs of W' floats, where NHWC would copy runs of only C
floats (3 for RGB) — measured several times faster on the chapter 7 CNN's shapes.
The column matrix has shape ``(kh·kw·C, N·H'·W')`` with rows ordered (i, j, c), so a
kernel stored as (kh, kw, C, F) reshapes to the (kh·kw·C, F) matrix without a copy::

    cols[(i, j, c), (n, y, x)] = x_p[c, n, y·s_h + i, x·s_w + j]
    Y (N·H'·W', F) = colsᵀ · K          — one GEMM, Y is NHWC already

col2im is the adjoint (transpose) of im2col: every column entry is added back to the
input cell it was copied from, ``dx_p[c, n, y·s_h + i, x·s_w + j] += dcols[(i, j, c), (n, y, x)]``,
done as kh·kw strided-slice additions (no ``np.add.at``).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module


STRIDE_RULES = ("book", "ceil")


def output_size(size: int, k: int, s: int, padding: str, rule: str = "book") -> tuple[int, int, int]:
    """``(out, pad_before, pad_after)`` along one axis (see the module docstring).

    A negative pad drops cells (the book's rule only). Raises ValueError when
    no window fits (a VALID window larger than the input, or fewer cells than the stride).
    """
    if rule not in STRIDE_RULES:
        raise ValueError(f"stride rule must be one of {STRIDE_RULES}, got {rule!r}")
    if padding == "VALID" and size < k:
        raise ValueError(f"a window of {k} does not fit in {size} cells with VALID padding")
    if rule == "ceil":
        if padding == "SAME":
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            return out, total // 2, total - total // 2
        return (size - k) // s + 1, 0, 0
    if padding == "SAME":
        out, before = size // s, (k - 1) // 2 - (s - 1) // 2
    else:
        out, before = (size - k + 1) // s, -((s - 1) // 2)
    if out < 1:
        raise ValueError(f"a stride of {s} leaves no output from {size} cells")
    return out, before, (out - 1) * s + k - size - before


def _axis_copy(size: int, before: int, after: int) -> tuple[int, slice, slice]:
    """(padded length, source slice, destination slice) of one axis: ``before``/``after``
    cells added, or dropped where negative."""
    first, last = max(-before, 0), size - max(-after, 0)
    start = max(before, 0)
    return start + (last - first) + max(after, 0), slice(first, last), slice(start, start + last - first)


def padded_input(x: np.ndarray, axes, pads, fill=0.0) -> np.ndarray:
    """``x`` with ``pads[2i], pads[2i+1]`` cells of ``fill`` added before/after axis
    ``axes[i]`` (a negative count drops cells). Returns ``x`` itself when nothing changes."""
    xp = array_module(x)
    if not any(pads):
        return x
    shape, src, dst = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
    for i, axis in enumerate(axes):
        shape[axis], src[axis], dst[axis] = _axis_copy(x.shape[axis], pads[2 * i], pads[2 * i + 1])
    out = xp.full(shape, fill, dtype=x.dtype)
    out[tuple(dst)] = x[tuple(src)]
    return out


def unpadded_grad(dxp: np.ndarray, axes, pads, sizes) -> np.ndarray:
    """Adjoint of :func:`padded_input`: the gradient of the original cells, a fresh
    array (dropped cells get 0)."""
    xp = array_module(dxp)
    shape, src, dst = list(dxp.shape), [slice(None)] * dxp.ndim, [slice(None)] * dxp.ndim
    dropped = False
    for i, axis in enumerate(axes):
        before, after = pads[2 * i], pads[2 * i + 1]
        _, dst[axis], src[axis] = _axis_copy(sizes[i], before, after)
        shape[axis] = sizes[i]
        dropped = dropped or before < 0 or after < 0
    if not dropped:
        return xp.ascontiguousarray(dxp[tuple(src)])
    out = xp.zeros(shape, dtype=dxp.dtype)
    out[tuple(dst)] = dxp[tuple(src)]
    return out


def window_slice(offset: int, stride: int, count: int) -> slice:
    """The cells at kernel offset ``offset`` of ``count`` windows ``stride`` apart."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def offset_slices(kh, kw, sh, sw, oh, ow):
    """Yield ``(i, j, rows, cols)`` slices for every kernel offset, row-major (i, then j)."""
    for i in range(kh):
        rows = window_slice(i, sh, oh)
        for j in range(kw):
            yield i, j, rows, window_slice(j, sw, ow)


def real_cells(size: int, k: int, s: int, out: int, pad_before: int, dtype) -> np.ndarray:
    """Number of real (non-padded) cells of each of ``out`` windows along one axis.

    Window o starts at a = o·s − p and covers min(a + k, size) − max(a, 0) real cells.
    """
    start = np.arange(out) * s - pad_before
    return (np.minimum(start + k, size) - np.maximum(start, 0)).astype(dtype)


def pad_channels_first(x: np.ndarray, pads, out: np.ndarray | None = None) -> np.ndarray:
    """NHWC ``x`` → zero-padded channels-first ``(C, N, H + pt + pb, W + pl + pr)``.

    ``pads`` = (pt, pb, pl, pr); a negative count drops rows / columns instead (the
    book's rule). ``out`` (a buffer of that shape whose border is zero, e.g. one
    returned by an earlier call) is reused: only its interior is written.
    """
    xp = array_module(x)
    n, h, w, c = x.shape
    hp, rows_in, rows_out = _axis_copy(h, pads[0], pads[1])
    wp, cols_in, cols_out = _axis_copy(w, pads[2], pads[3])
    if out is None:
        out = xp.zeros((c, n, hp, wp), dtype=x.dtype)
    out[:, :, rows_out, cols_out] = x[:, rows_in, cols_in].transpose(3, 0, 1, 2)
    return out


def im2col(xpad: np.ndarray, kh, kw, sh, sw, oh, ow, out: np.ndarray | None = None) -> np.ndarray:
    """Column matrix ``(kh·kw·C, N·oh·ow)`` of padded channels-first ``xpad`` (C, N, Hp, Wp).

    cols[(i, j, c), (n, y, x)] = xpad[c, n, y·sh + i, x·sw + j]: kh·kw strided-slice copies
    into one buffer (``out``, reused when given).
    """
    xp = array_module(xpad)
    c, n = xpad.shape[:2]
    if out is None:
        out = xp.empty((kh, kw, c, n, oh, ow), dtype=xpad.dtype)
    cols = out.reshape(kh, kw, c, n, oh, ow)
    for i, j, rows, colsl in offset_slices(kh, kw, sh, sw, oh, ow):
        cols[i, j] = xpad[:, :, rows, colsl]
    return out.reshape(kh * kw * c, n * oh * ow)


def zeroed(out: np.ndarray | None, shape, dtype) -> np.ndarray:
    """``out`` filled with zeros, or a new zero array of ``shape`` when there is none (reused buffers)."""
    xp = array_module(out)
    if out is None:
        return xp.zeros(shape, dtype=dtype)
    out.fill(0)
    return out


def col2im(dcols: np.ndarray, padded_shape, kh, kw, sh, sw, oh, ow,
           out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint of :func:`im2col`: ``(kh·kw·C, N·oh·ow)`` → ``(C, N, Hp, Wp)``.

    dxp[c, n, y·sh + i, x·sw + j] += dcols[(i, j, c), (n, y, x)], summed over all
    windows that share a cell — kh·kw strided-slice additions. ``out`` is zeroed and reused.
    """
    c, n = padded_shape[:2]
    out = zeroed(out, padded_shape, dcols.dtype)
    d = dcols.reshape(kh, kw, c, n, oh, ow)
    for i, j, rows, colsl in offset_slices(kh, kw, sh, sw, oh, ow):
        out[:, :, rows, colsl] += d[i, j]
    return out


#: (array module, M, dtype) → ones(M) on that module's device
_ONES: dict = {}


def channel_sum(a2: np.ndarray) -> np.ndarray:
    """Σ over the rows of a (M, C) matrix, as ones(M)·A (one GEMV).

    For the few channels of image layers this is ~10× faster than ``a2.sum(axis=0)``
    (which adds rows of C floats one by one) and no less accurate (BLAS blocks the sum).
    """
    xp = array_module(a2)
    m = a2.shape[0]
    key = (xp.__name__, m, a2.dtype)  # per array module: a host vector never meets a device matrix
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 32:
            _ONES.clear()
        ones = _ONES[key] = xp.ones(m, dtype=a2.dtype)
    return ones @ a2


# --- the channels-last (NHWC) column build, for small grids --------------------------------
#
# The same column matrix transposed, ``(N·oh·ow, kh·kw·C)`` with columns ordered (i, j, c),
# gathered from a padded NHWC input ``(N, Hp, Wp, C)``::
#
#     cols[(n, y, x), (i, j, c)] = x_p[n, y·s_h + i, x·s_w + j, c]
#
# In NHWC the kw·C cells of one window row are contiguous, so one strided view
# (N, oh, ow, kh, kw, C) of x_p copies runs of kw·C floats in a single NumPy call; the
# channels-first build copies runs of only W' floats (4–16 on the residual network's late
# grids) and of single floats when the stride is > 1. Y = cols · K is NHWC as well.


def prefer_channels_last(c: int, kw: int, sw: int, ow: int) -> bool:
    """True when the NHWC build moves longer runs than the channels-first one.

    Runs: kw·C floats (NHWC) against W' (channels-first, stride 1) or 1 (stride > 1).
    Measured on the book's shapes (batch 64, 1 thread): 96×96×3 3×3 cf 4.2 ms vs NHWC
    25 ms; 48×48×6 2.6 vs 6.0; 24×24×12 1.6 vs 1.5; 16×16×16 1.2 vs 0.41; 8×8×32 0.83 vs
    0.17; 4×4×64 0.76 vs 0.06; 64×64×3 7×7 stride 2: 18 vs 8.
    """
    return sw > 1 or kw * c >= ow


def pad_channels_last(x: np.ndarray, pads, out: np.ndarray | None = None) -> np.ndarray:
    """NHWC ``x`` → zero-padded NHWC ``(N, H + pt + pb, W + pl + pr, C)`` (``out``'s border must be zero).

    As in :func:`pad_channels_first`, a negative count drops rows / columns instead.
    """
    xp = array_module(x)
    n, h, w, c = x.shape
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr) and out is None:
        return x
    hp, rows_in, rows_out = _axis_copy(h, pt, pb)
    wp, cols_in, cols_out = _axis_copy(w, pl, pr)
    if out is None:
        out = xp.zeros((n, hp, wp, c), dtype=x.dtype)
    out[:, rows_out, cols_out] = x[:, rows_in, cols_in]
    return out


def window_view(xpad: np.ndarray, kh, kw, sh, sw, oh, ow) -> np.ndarray:
    """View (N, oh, ow, kh, kw, C) of padded NHWC ``xpad``: every window, no copy.

    Overlapping windows share memory, so the view is only ever read (copied into the
    column matrix). NumPy is told so (``writeable=False``); CuPy's ``as_strided`` has no
    such flag, so on a device the read-only promise is this function's alone.
    """
    xp = array_module(xpad)
    sn, sy, sx, sc = xpad.strides
    n, c = xpad.shape[0], xpad.shape[3]
    shape, strides = (n, oh, ow, kh, kw, c), (sn, sy * sh, sx * sw, sy, sx, sc)
    if xp is np:
        return np.lib.stride_tricks.as_strided(xpad, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


def im2col_channels_last(xpad: np.ndarray, kh, kw, sh, sw, oh, ow, out: np.ndarray | None = None) -> np.ndarray:
    """Column matrix ``(N·oh·ow, kh·kw·C)`` of padded NHWC ``xpad``: one strided-view copy."""
    xp = array_module(xpad)
    n, c = xpad.shape[0], xpad.shape[3]
    if out is None:
        out = xp.empty((n * oh * ow, kh * kw * c), dtype=xpad.dtype)
    xp.copyto(out.reshape(n, oh, ow, kh, kw, c), window_view(xpad, kh, kw, sh, sw, oh, ow))
    return out


def col2im_channels_last(dcols: np.ndarray, padded_shape, kh, kw, sh, sw, oh, ow,
                         out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint of :func:`im2col_channels_last`: ``(N·oh·ow, kh·kw·C)`` → ``(N, Hp, Wp, C)``.

    dxp[n, y·sh + i, x·sw + j, c] += dcols[(n, y, x), (i, j, c)]: kh·kw strided-slice
    additions of runs of C floats (windows overlap, so one strided write cannot do it).
    """
    n, c = padded_shape[0], padded_shape[3]
    out = zeroed(out, padded_shape, dcols.dtype)
    d = dcols.reshape(n, oh, ow, kh, kw, c)
    for i, j, rows, colsl in offset_slices(kh, kw, sh, sw, oh, ow):
        out[:, rows, colsl] += d[:, :, :, i, j]
    return out
