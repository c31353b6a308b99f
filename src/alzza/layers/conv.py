"""2-D convolution (``conv``) with the book's ``actions`` string (L, A, B in any order)."""

from __future__ import annotations

from math import prod

import numpy as np

from ..backend import array_module

from ..ops.activations import ACTIVATIONS, get_activation
from ..ops.channelwise import per_channel
from ..ops.windows import (
    channel_sum,
    col2im,
    col2im_channels_last,
    im2col,
    im2col_channels_last,
    pad_channels_first,
    pad_channels_last,
    prefer_channels_last,
    unpadded_grad,
)
from ..options import one_of, positive_int
from .base import BuildContext, Layer
from .geometry import STRIDE_RULE_OPTION, image_shape, is_pair, plain_pair, spatial_output, to_pair
from .norm import BatchNorm
from .registry import Option, register_layer

#: the column matrix is built and multiplied for at most this many floats at a time (all
#: of it at inference, the forward GEMM in channels-last training): 1 MB stays in cache
#: between the gather and the GEMM. Residual-flower64 inference at batch 64, 1 thread,
#: min of 8: 128 ms with 2^24, 95 with 2^20, 83 with 2^18, 89 with 2^17
INFERENCE_COLUMN_LIMIT = 1 << 18
#: column layout: None picks per layer (:func:`~alzza.ops.windows.prefer_channels_last`);
#: "channels_first" or "channels_last" forces one (the tests hold both to a reference)
COLUMN_LAYOUT = None
#: actions "LAB" with ReLU: the ReLU and batch norm fused (see ``Conv2D._fuses_relu_into_bn``);
#: False runs them as separate actions (the reference the tests compare with)
FUSE_RELU_BN = True
#: channels-first columns carry a last row of ones and the kernel matrix the bias as its last
#: row, so the GEMM adds b and the dK GEMM yields db (no pass over z, no separate sum).
#: Chapter 7 CNN, batch 64, 1 thread, CPU-time medians (``python benchmarks/ab_round3.py bias``):
#: first layer forward GEMM + bias 15.9 → 12.5 ms, dK + db 14.3 → 11.8 ms; second layer 0.88,
#: 1.01. False: the plain GEMM, then z += b (the reference)
BIAS_IN_GEMM = True
#: channels-last dK with fewer output channels than this is taken as (dzᵀ·cols)ᵀ: 1 thread,
#: CPU-time medians (``python benchmarks/ab_round3.py dk``), (M, K, F) = (65536, 147, 16)
#: 10.5 → 8.3 ms, (16384, 144, 16) 2.18 → 1.76, (36864, 108, 24) 6.0 → 4.6; at F = 32 and 64
#: the two ways were not clearly apart (medians and minima disagree from run to run)
TRANSPOSED_DK_BELOW = 32


def actions_error(actions) -> str | None:
    """Why ``actions`` is not a valid actions string, or None if it is."""
    if not isinstance(actions, str):
        return f"must be a string of L, A, B, got {actions!r}"
    bad = sorted(set(actions) - set("LAB"))
    if bad:
        return f"may contain only L (linear), A (activation), B (batch norm), got {actions!r}"
    if actions.count("L") != 1:
        return f"must contain exactly one L, got {actions!r}"
    if actions.count("A") > 1 or actions.count("B") > 1:
        return f"may use A and B at most once each, got {actions!r}"
    return None


@register_layer("conv")
class Conv2D(Layer):
    """2-D convolution on NHWC images, with bias, activation and optional batch norm.

    Reference (the same correlation, one output cell at a time): :func:`alzza.reference.conv2d`.

    ``actions`` runs in order: L = the linear convolution z = x ⊛ K + b, A = the
    activation f, B = batch normalisation without scale/shift (running statistics in
    ``state['mean']``, ``state['var']``). 'LA' (default), 'LAB', 'LBA', 'BLA', 'AL', ...

    The linear part as one GEMM (see :mod:`alzza.ops.windows`)::

        cols = im2col(pad(x))                      (kh·kw·C, N·H'·W')
        z    = colsᵀ · K + b                       (N·H'·W', F) = NHWC,  K as (kh·kw·C, F)

    Backward, dz (N·H'·W', F)::

        dK = cols · dz       (kh·kw·C, F) → (kh, kw, C, F)
        db = Σ_rows dz
        dx = unpad(col2im(K · dzᵀ))

    Output size and padding follow ``stride_rule`` (:mod:`alzza.ops.windows`): the
    book's (default) or TensorFlow's ceil rule.

    On small grids the same matrix is built transposed from the NHWC input,
    colsᵀ (N·H'·W', kh·kw·C), with one strided gather (z = colsᵀ·K, dK = cols·dz,
    dcolsᵀ = dz·Kᵀ; see :func:`~alzza.ops.windows.prefer_channels_last`).

    The column matrix is kept from forward for dK (no recompute); its buffer and the
    padded input's are reused from step to step in training. At inference the batch is
    processed in slices so that the column matrix stays under ~64 MB.
    """

    OPTIONS = {
        "ksize": Option((int, list, tuple), doc="kernel size, an int or [height, width]", check=is_pair,
                        expects="a positive integer or [height, width]", plain=plain_pair),
        "chn": positive_int("number of output channels"),
        "stride": Option((int, list, tuple), 1, check=is_pair, expects="a positive integer or [height, width]",
                         plain=plain_pair),
        "padding": one_of(("SAME", "VALID"), default="SAME"),
        "actfunc": one_of(ACTIVATIONS, "activation function", "relu"),
        "actions": Option((str,), "LA", doc="L, A, B in the order they run",
                          check=lambda v: actions_error(v) is None,
                          expects="a string of L, A, B with exactly one L (A and B at most once)"),
        "stride_rule": STRIDE_RULE_OPTION,
    }
    decayed = ("k",)

    def __init__(self, ksize, chn: int, stride=1, padding: str = "SAME", actfunc: str = "relu",
                 actions: str = "LA", stride_rule: str = "book"):
        super().__init__()
        self.stride_rule = stride_rule
        self.ksize = to_pair(ksize, "ksize", "conv")
        self.stride = to_pair(stride, "stride", "conv")
        self.chn = chn
        self.padding = padding
        self.actfunc = actfunc
        self.activation = get_activation(actfunc)
        self.actions = actions
        self.bn: BatchNorm | None = None
        self._buffers: dict = {}
        #: the fused ReLU's mask of the last training forward (None: not fused)
        self._relu_mask = None

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = tuple(input_shape)
        h, w, c = image_shape(self, input_shape)
        (oh, pt, pb), (ow, pl, pr) = spatial_output(self, (h, w), self.ksize, self.stride, self.padding,
                                                    self.stride_rule)
        #: (H', W', (pt, pb, pl, pr)): zero cells added around the input (negative: dropped)
        self._geometry = (oh, ow, (pt, pb, pl, pr))
        kh, kw = self.ksize
        self.params["k"] = ctx.init.weights((kh, kw, c, self.chn), kh * kw * c, kh * kw * self.chn,
                                            ctx.rng, ctx.dtype)
        self.params["b"] = np.zeros(self.chn, dtype=ctx.dtype)
        self.output_shape = (oh, ow, self.chn)
        if "B" in self.actions:
            # B before L normalises the input's channels, after L the output's
            bn_shape = self.input_shape if self.actions.index("B") < self.actions.index("L") else self.output_shape
            self.bn = BatchNorm(rescale=False)
            self.bn.path = f"{self.path}/bn"
            self.bn.build(bn_shape, ctx)
            self.state = self.bn.state  # the same arrays: saved and loaded with this layer
        self._buffers = {}
        return self.output_shape

    def to_device(self, device):
        """Reused buffers belong to the old device: remade on the next call."""
        self._buffers = {}
        if self.bn is not None:
            self.bn.to_device(device)

    # --- the linear part ----------------------------------------------------------
    def _buffer(self, name, shape, dtype, zero=False, ones_row=False):
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            xp = array_module(self.params["k"])  # buffers live where the kernel does
            buf = self._buffers[name] = (xp.zeros if zero else xp.empty)(shape, dtype=dtype)
            if ones_row:  # the columns' row of ones (BIAS_IN_GEMM): the rows above are rewritten every call
                buf[-1] = 1
        return buf

    def _channels_last(self):
        if COLUMN_LAYOUT is not None:
            return COLUMN_LAYOUT == "channels_last"
        return prefer_channels_last(self.input_shape[2], self.ksize[1], self.stride[1], self._geometry[1])

    def _columns(self, x, reuse: bool, channels_last: bool, prefix: str = "", out=None):
        """(cols, padded shape) of NHWC x; buffers reused when ``reuse`` (named with ``prefix``:
        inference has its own, so that it never overwrites the columns a training backward needs).

        cols is (kh·kw·C, N·H'·W') channels-first, or its transpose built from NHWC.
        """
        xp = array_module(x)
        n, h, w, c = x.shape
        oh, ow, pads = self._geometry
        kh, kw = self.ksize
        hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]  # pads may skip leading cells
        if channels_last:
            pshape = (n, hp, wp, c)
            xpad = self._buffer(prefix + "xpl", pshape, x.dtype, zero=True) if reuse and any(pads) else None
            xpad = pad_channels_last(x, pads, out=xpad)
            cbuf = out if out is not None else \
                self._buffer(prefix + "colsl", (n * oh * ow, kh * kw * c), x.dtype) if reuse else None
            return im2col_channels_last(xpad, kh, kw, *self.stride, oh, ow, out=cbuf), pshape
        pshape = (c, n, hp, wp)
        xpad = self._buffer(prefix + "xp", pshape, x.dtype, zero=True) if reuse else None
        xpad = pad_channels_first(x, pads, out=xpad)
        rows, m = kh * kw * c, n * oh * ow
        if BIAS_IN_GEMM:  # (kh·kw·C + 1, N·H'·W'): the last row is ones, written once per buffer
            cbuf = self._buffer(prefix + "cols1", (rows + 1, m), x.dtype, ones_row=True) if reuse else \
                xp.ones((rows + 1, m), x.dtype)
            im2col(xpad, kh, kw, *self.stride, oh, ow, out=cbuf[:rows])
            return cbuf, pshape
        cbuf = self._buffer(prefix + "cols", (rows, m), x.dtype) if reuse else None
        return im2col(xpad, kh, kw, *self.stride, oh, ow, out=cbuf), pshape

    def _kernel_matrix(self, last):
        """K as (kh·kw·C, F), with b appended as a last row where the columns carry ones."""
        k2 = self.params["k"].reshape(-1, self.chn)
        if last or not BIAS_IN_GEMM:
            return k2, True
        return array_module(k2).concatenate([k2, self.params["b"][None]]), False

    def _linear_forward(self, x, training):
        xp = array_module(x)
        n = len(x)
        oh, ow, _ = self._geometry
        last = self._channels_last()
        k2, add_bias = self._kernel_matrix(last)
        if training and last and n > 1:
            # the whole column matrix is kept for dK, but it is filled and multiplied a
            # cache-sized block of images at a time (the rows of one image are contiguous)
            kh, kw = self.ksize
            c = x.shape[3]
            cols = self._buffer("colsl", (n * oh * ow, kh * kw * c), x.dtype)
            z = xp.empty((n, oh, ow, self.chn), dtype=x.dtype)
            step = max(1, INFERENCE_COLUMN_LIMIT // max(1, oh * ow * k2.shape[0]))
            for start in range(0, n, step):
                stop = min(n, start + step)
                block = cols[start * oh * ow:stop * oh * ow]
                _, self._pshape = self._columns(x[start:stop], reuse=True, channels_last=True, prefix="block-",
                                                out=block)
                part = z[start:stop].reshape(-1, self.chn)
                xp.matmul(block, k2, out=part)
                per_channel(xp.add, part, self.params["b"], out=part)
            self._pshape = (n,) + self._pshape[1:]
            self._cols, self._cols_last = cols, last
            return z
        if training:
            cols, self._pshape = self._columns(x, reuse=True, channels_last=last)
            self._cols, self._cols_last = cols, last
            z = (cols if last else cols.T) @ k2
            if add_bias:
                per_channel(xp.add, z, self.params["b"], out=z)
            return z.reshape(n, oh, ow, self.chn)
        z = xp.empty((n, oh, ow, self.chn), dtype=x.dtype)
        step = max(1, INFERENCE_COLUMN_LIMIT // max(1, oh * ow * k2.shape[0]))
        for start in range(0, n, step):
            # reused buffers: a fresh 10–40 MB column matrix per call costs its page faults
            # (measured 20 ms a call on the residual network's first layer, against 2 ms)
            cols, _ = self._columns(x[start:start + step], reuse=True, channels_last=last, prefix="infer-")
            part = z[start:start + step].reshape(-1, self.chn)
            xp.matmul(cols if last else cols.T, k2, out=part)
            if add_bias:
                per_channel(xp.add, part, self.params["b"], out=part)
        return z

    def _linear_backward(self, dz, need_dx):
        xp = array_module(dz)
        dz2 = dz.reshape(-1, self.chn)
        cols, last = self._cols, self._cols_last
        kshape = self.params["k"].shape
        if last and self.chn < TRANSPOSED_DK_BELOW:
            # dKᵀ = dzᵀ·cols: OpenBLAS is faster this way round when F is small (see the constant)
            self.grads["k"] = xp.ascontiguousarray((dz2.T @ cols).T).reshape(kshape)
            self.grads["b"] = channel_sum(dz2)
        elif last or cols.shape[0] == prod(kshape[:3]):
            self.grads["k"] = ((cols.T if last else cols) @ dz2).reshape(kshape)
            self.grads["b"] = channel_sum(dz2)
        else:  # the row of ones gives db = Σ_rows dz in the same GEMM
            gkb = cols @ dz2
            self.grads["k"] = gkb[:-1].reshape(kshape)
            self.grads["b"] = gkb[-1].copy()
        if not need_dx:
            return None
        oh, ow, (pt, pb, pl, pr) = self._geometry
        kh, kw = self.ksize
        h, w = self.input_shape[:2]
        k2 = self.params["k"].reshape(-1, self.chn)
        if last and self.stride == (1, 1) and min(pt, pb, pl, pr) >= 0:
            # stride 1: dx is the full correlation of dz with the flipped kernel — one gather
            # and one GEMM straight into a fresh NHWC dx (no scatter-add, no unpadding copy)
            #   dx[n, y, x, c] = Σ_{i,j,f} dz_p[n, y + i, x + j, f] · K[kh−1−i, kw−1−j, c, f]
            n = dz.shape[0]
            fpads = (kh - 1 - pt, kh - 1 - pb, kw - 1 - pl, kw - 1 - pr)
            dzp = pad_channels_last(dz, fpads, out=self._buffer(
                "dzp", (n, h + kh - 1, w + kw - 1, self.chn), dz.dtype, zero=True) if any(fpads) else None)
            dcols = im2col_channels_last(dzp, kh, kw, 1, 1, h, w,
                                         out=self._buffer("dcolsl", (n * h * w, kh * kw * self.chn), dz.dtype))
            flipped = self.params["k"][::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, kshape[2])
            return (dcols @ flipped).reshape(n, h, w, kshape[2])
        if last:
            dxp = col2im_channels_last(dz2 @ k2.T, self._pshape, kh, kw, *self.stride, oh, ow,
                                       out=self._buffer("dxpl", self._pshape, dz.dtype))
            if min(pt, pb, pl, pr) < 0:  # cells the book's rule drops get no gradient (a fresh array)
                return unpadded_grad(dxp, (1, 2), (pt, pb, pl, pr), (h, w))
            # a fresh array the caller owns: dxp is reused by the next backward
            return xp.array(dxp[:, pt:pt + h, pl:pl + w], order="C")
        # into a reused buffer: the (kh·kw·C, N·H'·W') matrix is tens of MB, which the
        # allocator maps afresh (page faults) on every call (ab_round3.py dcols: 61 MB
        # 24.8 → 15.3 ms, the 96 px CNN's 30 MB 9.5 → 8.7)
        dcols = xp.matmul(k2, dz2.T, out=self._buffer("dcols", (k2.shape[0], dz2.shape[0]), dz.dtype))
        dxp = col2im(dcols, self._pshape, kh, kw, *self.stride, oh, ow,
                     out=self._buffer("dxp", self._pshape, dz.dtype))
        if min(pt, pb, pl, pr) < 0:  # cells the book's rule drops get no gradient
            dxp = unpadded_grad(dxp, (2, 3), (pt, pb, pl, pr), (h, w))
            pt = pl = 0
        # a fresh array the caller owns: dxp is reused by the next backward (with one channel
        # and no padding the transposed slice is already contiguous, so ascontiguousarray
        # would hand back a view of it)
        return xp.array(dxp[:, :, pt:pt + h, pl:pl + w].transpose(1, 2, 3, 0), order="C")

    # --- the actions --------------------------------------------------------------
    def _fuses_relu_into_bn(self, index):
        """True when action ``index`` is an A (ReLU) on L's output, right before B: then the
        ReLU keeps a boolean mask instead of its output, B normalises in place and its
        backward applies the mask (one buffer and two passes fewer; tested against the
        separate actions)."""
        return (FUSE_RELU_BN and self.actions[index:index + 2] == "AB" and index > 0
                and self.actions[index - 1] == "L" and self.activation.name == "relu")

    def forward(self, x, training=False):
        xp = array_module(x)
        previous = None
        if training:
            self._relu_mask = None
        for index, action in enumerate(self.actions):
            if action == "L":
                x = self._linear_forward(x, training)
            elif action == "A":
                if self._fuses_relu_into_bn(index):
                    x2 = x.reshape(-1, x.shape[-1])
                    if training:
                        self._relu_mask = xp.greater(x2, 0, out=self._buffer("relu-mask", x2.shape, bool))
                    xp.maximum(x2, 0, out=x2)
                    x2 = self.bn.normalize(x2, out=x2) if training else self.bn.infer(x2, out=x2)
                    return x2.reshape(x.shape)  # "LAB" is the only order with L, A, B in a row: B was last
                # the activation works in place: only on the conv's own output
                self._act_z = x if self.activation.needs_input else None   # gelu keeps z
                x = self.activation.forward(x if previous == "L" else x.copy())
                self._act_y = x
            else:
                x = self.bn.forward(x, training)
            previous = action
        return x

    def backward(self, dy):
        for action in reversed(self.actions):
            if action == "L":
                dy = self._linear_backward(dy, self.needs_input_grad)
                if dy is None:
                    return None  # the data's gradient; what runs before L has no parameters
            elif action == "A":
                if self._relu_mask is None:
                    dy = self.activation.backward(dy, self._act_y, self._act_z)
            elif self._relu_mask is not None:
                dy = self.bn.backward(dy, mask=self._relu_mask)
            else:
                dy = self.bn.backward(dy)
        return dy
