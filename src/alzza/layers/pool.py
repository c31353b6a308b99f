"""Max and average pooling (``max``, ``avg``) on NHWC images.

Both loop over the kh·kw kernel offsets, each a strided slice of the (padded) input
covering that offset of every window at once (see :mod:`alzza.ops.windows`) — never
over pixels. When ``ksize == stride`` and the size divides evenly, the windows tile the
input exactly: no padding, no overlap, and each slice is a plain view of
``x.reshape(N, H/kh, kh, W/kw, kw, C)``; backward then writes each slice of dx once
instead of accumulating. Output sizes and padding follow ``stride_rule`` (the book's
rule by default, TensorFlow's ceil rule as an option; see :mod:`alzza.ops.windows`);
the two agree on tiled windows. (Reducing that reshaped view with ``max(axis=(2, 4))`` gives
the same numbers but was measured ~5× slower than kh·kw elementwise operations.)
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..device import to_host
from ..ops.windows import offset_slices, padded_input, real_cells, unpadded_grad
from ..options import one_of
from .base import BuildContext, Layer
from .geometry import STRIDE_RULE_OPTION, image_shape, is_pair, plain_pair, spatial_output, to_pair
from .registry import Option, register_layer


class _Pool2D(Layer):
    """Shared options, shapes and padding of the pooling layers."""

    OPTIONS = {
        "stride": Option((int, list, tuple), doc="window step, an int or [height, width]", check=is_pair,
                         expects="a positive integer or [height, width]", plain=plain_pair),
        "ksize": Option((int, list, tuple), None, doc="window size (default: the stride)",
                        check=lambda v: v is None or is_pair(v), expects="a positive integer or [height, width]",
                        attr="ksize_option", plain=lambda v: v if v is None else plain_pair(v)),
        "padding": one_of(("SAME", "VALID"), default="SAME"),
        "stride_rule": STRIDE_RULE_OPTION,
    }
    #: value of padded cells (max: −∞ so padding never wins; avg: 0, and divide by real cells)
    pad_value = 0.0

    def __init__(self, stride, ksize=None, padding: str = "SAME", stride_rule: str = "book"):
        super().__init__()
        self.stride_rule = stride_rule
        self.stride = to_pair(stride, "stride", self.type_name)
        self.ksize = self.stride if ksize is None else to_pair(ksize, "ksize", self.type_name)
        self.padding = padding

    @property
    def ksize_option(self):
        """The ksize option as a spec writes it: None (the default) when the window is the stride."""
        return None if self.ksize == self.stride else self.ksize

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = tuple(input_shape)
        h, w, c = image_shape(self, input_shape)
        (oh, pt, pb), (ow, pl, pr) = spatial_output(self, (h, w), self.ksize, self.stride, self.padding,
                                                    self.stride_rule)
        #: cells added around the input (pt, pb, pl, pr); negative: dropped
        self.oh, self.ow, self.pads = oh, ow, (pt, pb, pl, pr)
        #: windows tile the input exactly (reshape view, no padding, no overlap; the book's
        #: VALID rule may crop a tiled input, which then takes the general path)
        self.tiled = (self.ksize == self.stride and h % self.ksize[0] == 0 and w % self.ksize[1] == 0
                      and not any(self.pads))
        self.output_shape = (oh, ow, c)
        self._setup(ctx)
        return self.output_shape

    def _setup(self, ctx):
        pass

    def _padded(self, x):
        """x itself when no padding is needed, else a padded copy (pad_value around)."""
        return padded_input(x, (1, 2), self.pads, self.pad_value)

    def _offsets(self):
        return offset_slices(*self.ksize, *self.stride, self.oh, self.ow)

    def _unpad(self, dxp):
        if not any(self.pads):
            return dxp
        return unpadded_grad(dxp, (1, 2), self.pads, self.input_shape[:2])

    def _grad_buffer(self, shape, like):
        # tiled windows write every cell exactly once; others accumulate into zeros
        xp = array_module(like)
        return xp.empty(shape, dtype=like.dtype) if self.tiled else xp.zeros(shape, dtype=like.dtype)


@register_layer("max")
class MaxPool(_Pool2D):
    """y[n, y, x, c] = max over the window of x (padded cells are −∞ and never win).

    Reference: :func:`alzza.reference.max_pool` and :func:`alzza.reference.max_pool_backward`.

    Backward sends dy to the window's maximum only. Ties: the FIRST maximum in the
    window's row-major order gets all of dy (the others get 0), as in PyTorch.

    Tiled windows (ksize == stride, no padding — the common 2×2 pool) are reduced in
    two stages that keep what backward needs, so backward is two routing passes::

        down:   m[n, Y, x, c] = max_i x[n, Y·kh + i, x, c]     first argmax i → ``self._down``
        across: y[n, Y, X, c] = max_j m[n, Y, X·kw + j, c]     argmax j → ``self._across``

    Down first: its runs are W·C contiguous floats, and it shrinks the data kh times
    before the across stage, whose runs are only C floats (6 on the chapter 7 CNN).
    The across stage takes column j over the best so far when m_j is greater, or equal
    with a smaller winning row — the window's FIRST maximum in row-major order.
    Backward: dy goes to column j = across-argmax, then to row i = down-argmax.

    Other windows (overlapping or padded) keep no argmax: going through the kernel
    offsets in order, an offset whose value equals y takes what is left of dy::

        g = dy;  for each offset o:  dx[o] += g·[x_o = y];  g −= g·[x_o = y]
    """

    pad_value = -np.inf

    def forward(self, x, training=False):
        xp = array_module(x)
        if self.tiled:
            return self._tiled_forward(x)
        xpad = self._padded(x)
        views = [xpad[:, rows, cols] for _, _, rows, cols in self._offsets()]
        if len(views) == 1:
            y = views[0].copy()
        else:
            y = xp.maximum(views[0], views[1])
            for view in views[2:]:
                xp.maximum(y, view, out=y)
        self._xp, self._y = xpad, y
        return y

    def backward(self, dy):
        xp = array_module(dy)
        if not self.needs_input_grad:
            return None
        if self.tiled:
            return self._tiled_backward(dy)
        xpad, y = self._xp, self._y
        dxp = self._grad_buffer(xpad.shape, dy)
        left = dy.copy()
        offsets = list(self._offsets())
        taken = xp.empty_like(left)
        for _, _, rows, cols in offsets:
            hit = xpad[:, rows, cols] == y
            xp.multiply(left, hit, out=taken)
            dxp[:, rows, cols] += taken
            left -= taken
        return self._unpad(dxp)

    # --- tiled windows: two argmax stages -----------------------------------------
    def _tiled_forward(self, x):
        xp = array_module(x)
        n, h, w, c = x.shape
        kh, kw = self.ksize
        oh, ow = h // kh, w // kw
        # down: the kh rows of a window are kh contiguous runs of W·C floats (fast, and it
        # leaves the slow across stage, whose runs are C floats, kh times less data)
        rows = x.reshape(n, oh, kh, w * c)
        m, self._down = _first_max([rows[:, :, i] for i in range(kh)])
        # across: the winning column; on equal maxima the one whose row is higher wins,
        # then the left one — so the window's first maximum in row-major order wins
        parts = [m.reshape(n, oh, ow, kw * c)[..., j * c:(j + 1) * c] for j in range(kw)]
        down = [self._down.reshape(n, oh, ow, kw * c)[..., j * c:(j + 1) * c] for j in range(kw)]
        y, best_row = parts[0].copy(), down[0].copy()
        across = xp.zeros(y.shape, dtype=np.uint8)
        for j in range(1, kw):
            take = xp.greater(parts[j], y)
            tied = xp.equal(parts[j], y)
            # rare on real data: on the host the tie rule runs only where it applies; a device
            # applies it always (asking would sync the device every window column)
            if xp is not np or tied.any():
                tied &= down[j] < best_row
                take |= tied
            if kw == 2:
                across = take.view(np.uint8)
            else:
                xp.copyto(across, j, where=take)
                xp.copyto(best_row, down[j], where=take)
            xp.maximum(y, parts[j], out=y)
        self._across = across
        return y

    def _tiled_backward(self, dy):
        xp = array_module(dy)
        n, oh, ow, c = dy.shape
        kh, kw = self.ksize
        dm = xp.empty((n, oh, ow, kw * c), dtype=dy.dtype)  # dL/dm, m = the down stage's output
        _route(dy, self._across, [dm[..., j * c:(j + 1) * c] for j in range(kw)])
        dx = xp.empty((n, oh, kh, ow * kw * c), dtype=dy.dtype)
        _route(dm.reshape(n, oh, -1), self._down, [dx[:, :, i] for i in range(kh)])
        return dx.reshape((n,) + self.input_shape)


def _first_max(parts):
    """(m, idx): m = max over ``parts`` (equal-shaped arrays), idx = the index of the FIRST
    part holding it (uint8), ties going to the earlier part."""
    xp = array_module(*parts)
    if len(parts) == 1:
        return parts[0].copy(), xp.zeros(parts[0].shape, dtype=np.uint8)
    m = xp.maximum(parts[0], parts[1])
    # strictly greater: an equal later part never takes over; bool → 0/1 uint8 without a copy
    idx = xp.greater(parts[1], parts[0]).view(np.uint8)
    for k, part in enumerate(parts[2:], 2):
        xp.copyto(idx, k, where=part > m)
        xp.maximum(m, part, out=m)
    return m, idx


def _route(g, idx, outs):
    """outs[k] = g·[idx = k]: the adjoint of :func:`_first_max` (each g goes to its winner)."""
    xp = array_module(g)
    if len(outs) == 2:
        xp.multiply(g, idx, out=outs[1])  # idx ∈ {0, 1}: uint8 × float keeps the float dtype
        xp.subtract(g, outs[1], out=outs[0])
        return
    for k, out in enumerate(outs):
        xp.multiply(g, idx == k, out=out)


@register_layer("avg")
class AvgPool(_Pool2D):
    """y = (1/m)·Σ over the window of x, m = the number of REAL (non-padded) cells.

    Reference: :func:`alzza.reference.avg_pool`.

    Backward: every real cell of a window receives dy/m (summed over the windows that
    contain it); padded cells get nothing.
    """

    def _setup(self, ctx):
        kh, kw = self.ksize
        (h, w), (sh, sw) = self.input_shape[:2], self.stride
        pt, _, pl, _ = self.pads
        rows = real_cells(h, kh, sh, self.oh, pt, ctx.dtype)
        cols = real_cells(w, kw, sw, self.ow, pl, ctx.dtype)
        #: 1/m per output position, (H', W', 1), broadcast over batch and channels
        self._inv_count = (1.0 / (rows[:, None] * cols[None, :]))[:, :, None].astype(ctx.dtype)

    def to_device(self, device):
        """The 1/m table moves with the model (a constant the forward multiplies by)."""
        self._inv_count = device.asarray(to_host(self._inv_count))

    #: tiled windows of at least this many cells are summed in two reductions, down the
    #: kh rows (contiguous runs of W·C floats) then across the kw cells of the (kh times
    #: smaller) result: the chapter 12 30×30 pool of 90×120×3 frames takes 0.5 ms for 50
    #: frames against 8–12 ms as 900 slice additions and 14–16 ms as one
    #: ``sum(axis=(2, 4))`` of the 6-D view (whose inner runs are C = 3 floats)
    REDUCE_CELLS = 16

    def _reduces(self):
        return self.tiled and self.ksize[0] * self.ksize[1] >= self.REDUCE_CELLS

    def forward(self, x, training=False):
        xp = array_module(x)
        if self._reduces():
            n, (kh, kw), c = len(x), self.ksize, x.shape[-1]
            rows = xp.add.reduce(x.reshape(n * self.oh, kh, -1), axis=1)         # (N·H', W·C)
            y = xp.add.reduce(rows.reshape(-1, kw, c), axis=1).reshape(n, self.oh, self.ow, c)
            y *= self._inv_count.astype(x.dtype, copy=False)
            self._padded_shape = x.shape
            return y
        xpad = self._padded(x)
        views = [xpad[:, rows, cols] for _, _, rows, cols in self._offsets()]
        y = views[0] + views[1] if len(views) > 1 else views[0].copy()
        for view in views[2:]:
            y += view
        y *= self._inv_count.astype(x.dtype, copy=False)
        self._padded_shape = xpad.shape
        return y

    def backward(self, dy):
        xp = array_module(dy)
        if not self.needs_input_grad:
            return None
        g = dy * self._inv_count.astype(dy.dtype, copy=False)
        if self._reduces():  # every cell of a window gets the window's g: one broadcast copy
            n, (kh, kw), c = len(dy), self.ksize, dy.shape[-1]
            across = xp.empty((n, self.oh, self.ow, kw, c), dtype=dy.dtype)
            across[...] = g[:, :, :, None, :]                                    # one window row
            dx = xp.empty((n, self.oh, kh, self.ow * kw * c), dtype=dy.dtype)
            dx[...] = across.reshape(n, self.oh, 1, -1)                          # copied down kh rows
            return dx.reshape(self._padded_shape)
        dxp = self._grad_buffer(self._padded_shape, dy)
        for _, _, rows, cols in self._offsets():
            if self.tiled:
                dxp[:, rows, cols] = g
            else:
                dxp[:, rows, cols] += g
        return self._unpad(dxp)
