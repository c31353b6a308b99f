"""conv, max, avg, batch_normal: gradient checks, PyTorch parity, shapes, errors, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from alzza import reference
from alzza.errors import SpecError
from alzza.layers import BuildContext
from alzza.layers.conv import Conv2D
from alzza.layers.norm import BatchNorm
from alzza.layers.pool import AvgPool, MaxPool
from alzza.ops.windows import (
    col2im,
    col2im_channels_last,
    im2col,
    im2col_channels_last,
    output_size,
    prefer_channels_last,
)
from alzza.spec import parse_layers
from alzza.testing import check_layer_gradients

from _build import build_layer

TOL = 1e-6


build = build_layer  # the shared helper (tests/_build.py)


def distinct(shape, seed=0):
    """Values ≥ 0.01 apart (no ties, so max pooling is differentiable at them)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.01 - n * 0.005).astype(np.float64)


# --- windows ----------------------------------------------------------------------
@pytest.mark.parametrize("size,k,s,padding,expected", [
    (96, 3, 1, "SAME", (96, 1, 1)), (7, 2, 2, "SAME", (4, 0, 1)), (7, 3, 2, "SAME", (4, 1, 1)),
    (6, 4, 1, "SAME", (6, 1, 2)), (8, 3, 2, "VALID", (3, 0, 0)), (5, 5, 1, "VALID", (1, 0, 0)),
])
def test_output_size_follows_tensorflow(size, k, s, padding, expected):
    assert output_size(size, k, s, padding, rule="ceil") == expected


# (out, pad before, pad after) by the book: out = n // s (SAME) or (n − k + 1) // s (VALID);
# window o starts at (s − 1) // 2 + o·s − (k − 1) // 2 (SAME) or (s − 1) // 2 + o·s (VALID);
# the pads are exact: n + before + after = (out − 1)·s + k (negative: cells dropped)
@pytest.mark.parametrize("size,k,s,padding,expected", [
    (96, 3, 1, "SAME", (96, 1, 1)),
    (8, 3, 2, "SAME", (4, 1, 0)),     # starts −1, 1, 3, 5: one cell before, none after
    (7, 3, 2, "SAME", (3, 1, -1)),    # starts −1, 1, 3; cell 6 unread (TensorFlow: 4 windows, 1/1)
    (7, 2, 2, "SAME", (3, 0, -1)),    # tiles 0-1, 2-3, 4-5; cell 6 unread
    (6, 4, 1, "SAME", (6, 1, 2)),
    (8, 3, 2, "VALID", (3, 0, -1)),   # 6 // 2 windows starting 0, 2, 4; cell 7 unread
    (11, 3, 2, "VALID", (4, 0, -2)),  # 9 // 2 = 4 (TensorFlow: 5)
    (9, 1, 3, "SAME", (3, -1, -1)),   # rows 1, 4, 7
    (9, 2, 3, "VALID", (2, -1, -3)),  # 8 // 3 windows starting 1, 4
    (5, 5, 1, "VALID", (1, 0, 0)),
    (299, 3, 2, "VALID", (148, 0, -2)),  # Inception-v3's stem: 148, not 149
])
def test_output_size_follows_the_book(size, k, s, padding, expected):
    assert output_size(size, k, s, padding) == expected


def test_output_size_errors():
    with pytest.raises(ValueError, match="does not fit"):
        output_size(2, 3, 1, "VALID")
    with pytest.raises(ValueError, match="no output"):
        output_size(2, 1, 3, "SAME")
    with pytest.raises(ValueError, match="stride rule"):
        output_size(8, 3, 2, "SAME", rule="floor")
    with pytest.raises(SpecError, match="stride_rule"):
        parse_layers([["conv", {"ksize": 3, "chn": 2, "stride_rule": "floor"}]])
    with pytest.raises(SpecError, match="stride 3x3"):
        build(MaxPool(3), (2, 2, 1))


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), c> == <x, col2im(c)> for any x, c
    rng = np.random.default_rng(1)
    xp = rng.standard_normal((3, 2, 9, 8))
    kh, kw, sh, sw = 3, 2, 2, 3
    oh, ow = (9 - kh) // sh + 1, (8 - kw) // sw + 1
    cols = im2col(xp, kh, kw, sh, sw, oh, ow)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, xp.shape, kh, kw, sh, sw, oh, ow)
    assert np.isclose(np.vdot(cols, c), np.vdot(xp, back))


def test_channels_last_col2im_is_the_adjoint_of_its_im2col():
    rng = np.random.default_rng(2)
    xp = rng.standard_normal((2, 9, 8, 3))
    kh, kw, sh, sw = 3, 2, 2, 3
    oh, ow = (9 - kh) // sh + 1, (8 - kw) // sw + 1
    cols = im2col_channels_last(xp, kh, kw, sh, sw, oh, ow)
    assert cols.shape == (2 * oh * ow, kh * kw * 3)
    # the same matrix as the channels-first build, transposed
    first = im2col(np.ascontiguousarray(xp.transpose(3, 0, 1, 2)), kh, kw, sh, sw, oh, ow)
    np.testing.assert_array_equal(cols, first.T)
    c = rng.standard_normal(cols.shape)
    back = col2im_channels_last(c, xp.shape, kh, kw, sh, sw, oh, ow)
    assert np.isclose(np.vdot(cols, c), np.vdot(xp, back))


def test_layout_choice_follows_run_lengths():
    assert not prefer_channels_last(3, 3, 1, 96)      # the chapter 7 CNN's first layer
    assert prefer_channels_last(16, 3, 1, 16)         # the residual network's small grids
    assert prefer_channels_last(3, 7, 2, 32)          # stride 2: channels-first runs are single floats




@pytest.mark.parametrize("blocks", ["whole batch", "one image at a time"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("ksize,stride,padding,shape", [
    (3, 1, "SAME", (6, 5, 4)), (4, 1, "SAME", (6, 5, 2)), ([2, 3], 1, "VALID", (5, 6, 2)),
    (7, 2, "SAME", (9, 8, 3)), ([1, 3], [2, 1], "VALID", (5, 6, 2)),
])
def test_conv_layouts_match_the_reference_and_their_gradients(monkeypatch, layout, ksize, stride, padding, shape,
                                                              blocks):
    from alzza.layers import conv as conv_module
    monkeypatch.setattr(conv_module, "COLUMN_LAYOUT", layout)
    if blocks != "whole batch":  # the columns built and multiplied block by block
        monkeypatch.setattr(conv_module, "INFERENCE_COLUMN_LIMIT", 1)
    layer = build(Conv2D(ksize, 3, stride=stride, padding=padding, actions="L"), shape)
    layer.params["b"][:] = [0.1, -0.2, 0.3]
    x = np.random.default_rng(3).standard_normal((3,) + shape)
    expected = reference.conv2d(x, layer.params["k"], layer.params["b"], layer.stride, layer._geometry[2])
    for training in (True, False):
        np.testing.assert_allclose(layer.forward(x, training=training), expected, atol=1e-12)
    # stride 1 takes dx as a correlation with the flipped kernel, other strides col2im
    errors = check_layer_gradients(Conv2D(ksize, 3, stride=stride, padding=padding, actfunc="tanh"),
                                   shape, batch=2, training=True)
    assert max(errors.values()) < TOL, errors


# --- conv: gradients ----------------------------------------------------------------
@pytest.mark.parametrize("ksize,stride,padding,shape", [
    (3, 1, "SAME", (5, 6, 3)),
    (2, 1, "SAME", (5, 5, 2)),
    (4, 1, "SAME", (6, 5, 2)),
    (4, 2, "SAME", (7, 6, 2)),
    ([1, 7], 1, "SAME", (4, 8, 2)),
    ([7, 1], 1, "SAME", (8, 3, 2)),
    ([1, 7], 1, "VALID", (3, 8, 2)),
    (3, 2, "SAME", (7, 7, 3)),
    (3, 2, "VALID", (7, 8, 3)),
    (2, 2, "VALID", (6, 5, 2)),
    (3, [1, 2], "SAME", (5, 7, 2)),
])
@pytest.mark.parametrize("rule", ["book", "ceil"])
def test_conv_gradients(ksize, stride, padding, shape, rule):
    layer = Conv2D(ksize, 3, stride=stride, padding=padding, actfunc="tanh", stride_rule=rule)
    errors = check_layer_gradients(layer, shape, batch=2, training=True)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("actions", ["LA", "AL", "LAB", "LBA", "BLA", "LB", "L", "BL", "ALB"])
def test_conv_gradients_every_actions_order(actions):
    layer = Conv2D(3, 4, stride=2, actfunc="tanh", actions=actions)
    errors = check_layer_gradients(layer, (6, 5, 3), batch=3, training=True)
    if "LB" in actions:
        # the bias cancels in the normalisation right after it: its gradient is 0
        assert np.abs(layer.grads["b"]).max() < 1e-9
        errors.pop("conv#0/b")
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("blocks", ["whole batch", "one image at a time"])
def test_conv_bias_in_the_gemm_matches_the_separate_bias(monkeypatch, blocks):
    # channels-first columns with a row of ones (the bias inside the GEMM, db from the dK
    # GEMM) against the plain GEMM followed by z += b and db = Σ dz
    from alzza.layers import conv as conv_module

    monkeypatch.setattr(conv_module, "COLUMN_LAYOUT", "channels_first")
    if blocks != "whole batch":
        monkeypatch.setattr(conv_module, "INFERENCE_COLUMN_LIMIT", 1)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 7, 6, 2)).astype(np.float32)
    dy = rng.standard_normal((3, 3, 3, 5)).astype(np.float32)
    results = {}
    for in_gemm in (True, False):
        monkeypatch.setattr(conv_module, "BIAS_IN_GEMM", in_gemm)
        layer = build(Conv2D(3, 5, stride=2, actfunc="tanh"), (7, 6, 2), np.float32)
        layer.params["b"][:] = [0.5, -1.0, 0.25, 2.0, 0.0]
        outputs = []
        for n in (3, 2, 3):  # the batch size changes: buffers rebuilt, their row of ones with them
            y = layer.forward(x[:n], training=True).copy()
            dx = layer.backward(dy[:n])
            outputs += [y, dx, layer.grads["k"].copy(), layer.grads["b"].copy(), layer.forward(x[:n], training=False)]
        results[in_gemm] = outputs
        assert (layer._cols.shape[0] == 3 * 3 * 2 + 1) == in_gemm
    for got, expected in zip(results[True], results[False], strict=False):
        np.testing.assert_allclose(got, expected, atol=2e-5, rtol=1e-5)


def test_conv_channels_last_kernel_gradient_either_way_round(monkeypatch):
    # dK = colsᵀ·dz (any F) and dK = (dzᵀ·cols)ᵀ (small F) are the same matrix
    from alzza.layers import conv as conv_module

    monkeypatch.setattr(conv_module, "COLUMN_LAYOUT", "channels_last")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 5, 6, 3))
    dy = rng.standard_normal((2, 5, 6, 4))
    grads = []
    for below in (64, 0):
        monkeypatch.setattr(conv_module, "TRANSPOSED_DK_BELOW", below)
        layer = build(Conv2D(3, 4, actions="L"), (5, 5 + 1, 3))
        layer.forward(x, training=True)
        layer.backward(dy)
        grads.append(layer.grads["k"])
    assert grads[0].flags.c_contiguous and grads[0].shape == (3, 3, 3, 4)
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_fused_relu_batchnorm_matches_the_separate_actions(monkeypatch, dtype):
    # "LAB" with ReLU: the mask-keeping ReLU and the in-place batch norm against the
    # actions run one by one (FUSE_RELU_BN off), forward, backward and running statistics
    from alzza.layers import conv as conv_module

    rng = np.random.default_rng(5)
    x = (rng.standard_normal((3, 6, 5, 2)) + 0.2).astype(dtype)
    dy = rng.standard_normal((3, 6, 5, 4)).astype(dtype)
    results = {}
    for fused in (True, False):
        monkeypatch.setattr(conv_module, "FUSE_RELU_BN", fused)
        layer = build(Conv2D(3, 4, actions="LAB"), (6, 5, 2), dtype)
        layer.params["b"][:] = [0.3, -0.2, 0.1, 0.0]
        y = layer.forward(x, training=True).copy()
        dx = layer.backward(dy)
        infer = layer.forward(x, training=False)
        results[fused] = (y, dx, layer.grads["k"], layer.grads["b"], layer.state["mean"].copy(),
                          layer.state["var"].copy(), infer)
        assert (layer._relu_mask is not None) == fused
    atol = 1e-12 if dtype == np.float64 else 2e-5
    for got, expected in zip(results[True], results[False], strict=False):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, atol=atol, rtol=0)
    assert (results[True][0] != results[True][0].reshape(-1, 4)[0]).any()  # not a constant output


def test_conv_fused_relu_batchnorm_gradients():
    # the fused path's gradient, numerically (inputs kept away from ReLU's kink)
    x = distinct((2, 5, 4, 2), seed=1)
    layer = Conv2D(3, 3, actions="LAB")
    errors = check_layer_gradients(layer, (5, 4, 2), x=x, training=True)
    assert layer._relu_mask is not None
    assert max(errors.values()) < TOL, errors


def test_conv_first_layer_skips_input_gradient():
    layer = build(Conv2D(3, 2, actions="BLA"), (5, 5, 2))
    layer.needs_input_grad = False
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2))
    y = layer.forward(x, training=True)
    assert layer.backward(np.ones_like(y)) is None
    assert layer.grads["k"].shape == (3, 3, 2, 2)


def test_conv_shapes_parameters_and_buffer_reuse():
    # the book's rule: 9 // 2 = 4 rows; TensorFlow's: ⌈9 / 2⌉ = 5
    assert build(Conv2D([1, 7], 5, stride=[2, 1]), (9, 10, 3), np.float32).output_shape == (4, 10, 5)
    layer = build(Conv2D([1, 7], 5, stride=[2, 1], padding="SAME", stride_rule="ceil"), (9, 10, 3), np.float32)
    assert layer.output_shape == (5, 10, 5)
    assert layer.params["k"].shape == (1, 7, 3, 5)
    assert layer.parameter_count() == 7 * 3 * 5 + 5
    assert layer.decayed == ("k",)
    rng = np.random.default_rng(0)
    for n in (4, 2, 4):  # batch size changes between steps
        x = rng.standard_normal((n, 9, 10, 3)).astype(np.float32)
        y = layer.forward(x, training=True)
        assert y.shape == (n, 5, 10, 5)
        assert layer.backward(np.ones_like(y)).shape == x.shape
    # inference (sliced into chunks) agrees with training mode without B
    from alzza.layers import conv as conv_module
    old, conv_module.INFERENCE_COLUMN_LIMIT = conv_module.INFERENCE_COLUMN_LIMIT, 300
    try:
        assert np.allclose(layer.forward(x, training=False), layer.forward(x, training=True), atol=1e-6)
    finally:
        conv_module.INFERENCE_COLUMN_LIMIT = old


def test_conv_batchnorm_state_is_the_layers_state():
    layer = build(Conv2D(3, 4, actions="LAB"), (5, 5, 2))
    assert set(layer.state) == {"mean", "var"} and layer.state["mean"].shape == (4,)
    assert layer.parameter_count() == 3 * 3 * 2 * 4 + 4  # B has no scale/shift
    before = layer.state["mean"].copy()
    layer.forward(np.random.default_rng(0).standard_normal((2, 5, 5, 2)) + 3, training=True)
    assert not np.allclose(layer.state["mean"], before)
    assert layer.state["mean"] is layer.bn.state["mean"]
    blb = build(Conv2D(3, 4, actions="BLA"), (5, 5, 2))
    assert blb.state["mean"].shape == (2,)  # B before L normalises the input channels


# --- pooling: gradients -----------------------------------------------------------------
POOL_CASES = [
    (3, 2, "SAME", (7, 7, 2)),  # overlapping, padded
    (3, 2, "VALID", (7, 8, 2)),  # overlapping
    (2, 2, "SAME", (7, 7, 2)),  # odd size: one padded row and column
    (2, 2, "VALID", (7, 7, 2)),  # odd size: last row and column dropped
    (2, 2, "SAME", (6, 8, 3)),  # tiled (reshape path)
    (3, 1, "SAME", (5, 4, 2)),
    ([2, 3], [1, 2], "VALID", (5, 7, 2)),
    ([3, 2], [3, 2], "SAME", (8, 5, 2)),
    (1, 3, "SAME", (7, 8, 2)),  # stride > window
    (2, 3, "VALID", (8, 7, 2)),
    (4, 4, "SAME", (8, 12, 2)),  # tiled, 16 cells: avg sums the reshaped input in one reduction
    (2, 2, "VALID", (4, 6, 2)),  # ksize == stride, but the book's VALID rule crops: not tiled
    (4, 4, "VALID", (8, 12, 2)),
]


def test_avg_reduction_path_matches_the_slice_path(monkeypatch):
    x = distinct((3, 8, 12, 2))
    dy = np.random.default_rng(4).standard_normal((3, 2, 3, 2))
    fast = build(AvgPool(4), (8, 12, 2))
    assert fast._reduces()
    y, dx = fast.forward(x, training=True), fast.backward(dy)
    monkeypatch.setattr(AvgPool, "REDUCE_CELLS", 10 ** 6)
    slow = build(AvgPool(4), (8, 12, 2))
    assert not slow._reduces()
    np.testing.assert_allclose(y, slow.forward(x, training=True), atol=1e-12)
    np.testing.assert_allclose(dx, slow.backward(dy), atol=1e-12)


@pytest.mark.parametrize("cls", [MaxPool, AvgPool])
@pytest.mark.parametrize("ksize,stride,padding,shape", POOL_CASES)
@pytest.mark.parametrize("rule", ["book", "ceil"])
def test_pool_gradients(cls, ksize, stride, padding, shape, rule):
    layer = cls(stride, ksize=ksize, padding=padding, stride_rule=rule)
    errors = check_layer_gradients(layer, shape, batch=2, x=distinct((2,) + shape))
    assert errors["x"] < TOL, errors


def test_pool_tiled_path_is_taken():
    assert build(MaxPool(2), (6, 8, 3)).tiled
    assert not build(MaxPool(2), (7, 8, 3)).tiled
    assert not build(AvgPool(2, ksize=3), (8, 8, 3)).tiled


def test_avg_divides_by_real_cells_only():
    layer = build(AvgPool(2, stride_rule="ceil"), (3, 3, 1))  # SAME: one padded row and column
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    y = layer.forward(x)[0, :, :, 0]
    assert np.allclose(y, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])
    # the book's rule: 3 // 2 = 1 window, the 3×3 average with stride 1 sampled at (0, 0)
    assert np.allclose(build(AvgPool(2), (3, 3, 1)).forward(x)[0, :, :, 0], [[(0 + 1 + 3 + 4) / 4]])
    # a 3×3 window every 2 cells of 4: the book pads one cell BEFORE (TensorFlow: after)
    x4 = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    book = build(AvgPool(2, ksize=3), (4, 4, 1)).forward(x4)[0, :, :, 0]
    assert np.isclose(book[0, 0], (0 + 1 + 4 + 5) / 4)            # rows/columns −1..1: 2×2 real cells
    assert np.isclose(book[1, 1], np.mean(x4[0, 1:4, 1:4, 0]))     # rows/columns 1..3
    ceil = build(AvgPool(2, ksize=3, stride_rule="ceil"), (4, 4, 1)).forward(x4)[0, :, :, 0]
    assert np.isclose(ceil[0, 0], np.mean(x4[0, 0:3, 0:3, 0]))     # rows/columns 0..2
    assert np.isclose(ceil[1, 1], (10 + 11 + 14 + 15) / 4)          # rows/columns 2..4: 2×2 real


def test_max_padding_never_wins_and_ties_go_to_the_first():
    layer = build(MaxPool(2), (3, 3, 1))
    x = -np.ones((1, 3, 3, 1))  # all negative: a zero pad would win
    assert np.all(layer.forward(x) == -1)
    layer = build(MaxPool(2), (2, 2, 1))
    layer.forward(np.zeros((1, 2, 2, 1)))
    dx = layer.backward(np.ones((1, 1, 1, 1)))
    assert dx[0, :, :, 0].tolist() == [[1, 0], [0, 0]]
    overlapping = build(MaxPool(1, ksize=2, padding="VALID"), (2, 3, 1))
    overlapping.forward(np.array([[5.0, 5.0, 1.0], [5.0, 0.0, 5.0]]).reshape(1, 2, 3, 1))
    dx = overlapping.backward(np.ones((1, 1, 2, 1)))
    # window 1 = [[5, 5], [5, 0]] → its first cell; window 2 = [[5, 1], [0, 5]] → its first cell
    assert dx[0, :, :, 0].tolist() == [[1, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("k", [2, 3, [2, 3]])
def test_tiled_max_routes_to_the_first_maximum_like_a_window_loop(k):
    # few distinct values: most windows hold ties, in every arrangement
    x = np.random.default_rng(5).integers(0, 3, (4, 6, 6, 2)).astype(np.float64)
    layer = build(MaxPool(k), (6, 6, 2))
    assert layer.tiled
    dy = np.random.default_rng(6).standard_normal(layer.forward(x).shape)
    y, dx = layer.forward(x, training=True), layer.backward(dy)
    np.testing.assert_array_equal(y, reference.max_pool(x, layer.ksize))
    np.testing.assert_array_equal(dx, reference.max_pool_backward(x, dy, layer.ksize))  # the first maximum


@pytest.mark.parametrize("k", [2, 3, [2, 3]])
def test_avg_pool_matches_the_textbook_mean_of_each_window(k):
    x = np.random.default_rng(7).standard_normal((3, 6, 6, 2))
    layer = build(AvgPool(k, padding="VALID", stride_rule="ceil"), (6, 6, 2))  # windows from the corner
    np.testing.assert_allclose(layer.forward(x), reference.avg_pool(x, layer.ksize), atol=1e-12)


# --- batch norm ---------------------------------------------------------------------------
@pytest.mark.parametrize("rescale", [True, False])
@pytest.mark.parametrize("shape", [(4, 5, 3), (6,)])
def test_batchnorm_training_gradients(rescale, shape):
    layer = BatchNorm(rescale=rescale)
    x = np.random.default_rng(2).standard_normal((4,) + shape) * 2 + 1
    errors = check_layer_gradients(layer, shape, x=x, training=True)
    assert max(errors.values()) < TOL, errors
    assert layer.parameter_count() == (2 * shape[-1] if rescale else 0)
    assert layer.decayed == ()


def test_batchnorm_is_per_channel_and_uses_running_stats_at_inference():
    layer = build(BatchNorm(epsilon=0.001, exp_ratio=0.1), (4, 4, 3))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 4, 3)) * [1, 2, 3] + [0, 5, -5]
    y = layer.forward(x, training=True)
    per_channel = y.reshape(-1, 3)
    assert np.allclose(per_channel.mean(0), 0, atol=1e-9)
    assert np.allclose(per_channel.var(0), x.reshape(-1, 3).var(0) / (x.reshape(-1, 3).var(0) + 0.001))
    mean, var = x.reshape(-1, 3).mean(0), x.reshape(-1, 3).var(0)
    assert np.allclose(layer.state["mean"], 0.1 * mean)
    assert np.allclose(layer.state["var"], 0.9 + 0.1 * var)
    layer.params["gamma"][:] = [1.0, 2.0, 0.5]
    layer.params["beta"][:] = [0.0, 1.0, -1.0]
    running = {k: v.copy() for k, v in layer.state.items()}
    out = layer.forward(x, training=False)
    expected = reference.batch_norm(x, layer.params["gamma"], layer.params["beta"], 0.001,
                                    mean=running["mean"], var=running["var"])
    assert np.allclose(out, expected)
    for key in running:  # inference leaves the statistics alone
        assert np.array_equal(layer.state[key], running[key])
    layer.params["gamma"][:], layer.params["beta"][:] = 1.0, 0.0  # training: the batch's own statistics
    np.testing.assert_allclose(layer.forward(x, training=True), reference.batch_norm(x, 1.0, 0.0, 0.001), atol=1e-12)


# --- spec front end and build-time errors ---------------------------------------------------
def _build_spec(spec, input_shape):
    layers = parse_layers(spec)
    ctx = BuildContext(np.random.default_rng(0), np.dtype(np.float32))
    shape = tuple(input_shape)
    for layer in layers:
        shape = layer.build(shape, ctx)
    return layers, shape


def test_spec_builds_the_chapter_7_cnn_shapes():
    spec = [["conv", {"ksize": 3, "chn": 6}], ["max", {"stride": 2}], ["conv", {"ksize": 3, "chn": 12}],
            ["max", {"stride": 2}], ["conv", {"ksize": 3, "chn": 24}], ["avg", {"stride": 3}]]
    layers, shape = _build_spec(spec, (96, 96, 3))
    assert shape == (8, 8, 24)
    assert [layer.parameter_count() for layer in layers] == [168, 0, 660, 0, 2616, 0]


def test_valid_kernel_larger_than_input_names_the_layer():
    with pytest.raises(SpecError) as info:
        _build_spec([["conv", {"ksize": 3, "chn": 2}], ["conv", {"ksize": 5, "chn": 2, "padding": "VALID"}]],
                    (4, 4, 1))
    assert info.value.path == "layers[1]" and "VALID" in str(info.value)
    with pytest.raises(SpecError) as info:
        _build_spec([["max", {"stride": 1, "ksize": 5, "padding": "VALID"}]], (4, 6, 1))
    assert info.value.path == "layers[0]"


@pytest.mark.parametrize("actions", ["LX", "AB", "LAL", "", "LAA"])
def test_bad_actions_string_is_a_spec_error(actions):
    with pytest.raises(SpecError) as info:
        parse_layers([8, ["conv", {"ksize": 3, "chn": 2, "actions": actions}]])
    assert info.value.path.startswith("layers[1]") and "actions" in str(info.value)
    with pytest.raises(SpecError):
        Conv2D(3, 2, actions=actions)


@pytest.mark.parametrize("spec,words", [
    (["conv", {"ksize": 3}], "chn"),
    (["conv", {"ksize": [3, 0], "chn": 2}], "ksize"),
    (["conv", {"ksize": 3, "chn": 2, "padding": "same"}], "padding"),
    (["max", {"ksize": 2}], "stride"),
])
def test_bad_options_are_spec_errors(spec, words):
    with pytest.raises(SpecError, match=words):
        parse_layers([spec])


def test_conv_needs_an_image():
    with pytest.raises(SpecError) as info:
        _build_spec([8, ["conv", {"ksize": 3, "chn": 2}]], (5,))
    assert info.value.path == "layers[1]"


# --- float32 end to end ------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    Conv2D(3, 4, actions="LAB"), Conv2D(2, 4, stride=2, actions="BLA"), MaxPool(2), MaxPool(2, ksize=3),
    AvgPool(2), AvgPool(2, ksize=3), BatchNorm(),
], ids=lambda layer: layer.describe())
def test_float32_throughout(layer):
    build(layer, (7, 6, 3), np.float32)
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 3)).astype(np.float32)
    for training in (True, False):
        y = layer.forward(x, training=training)
        assert y.dtype == np.float32
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    for key, g in layer.grads.items():
        assert g.dtype == np.float32 and g.shape == layer.params[key].shape
    for value in layer.state.values():
        assert value.dtype == np.float32


# --- PyTorch parity --------------------------------------------------------------------------
def _nchw(torch, a):
    return torch.tensor(np.ascontiguousarray(a.transpose(0, 3, 1, 2)), requires_grad=True)


def _nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


# The references below never read a layer's geometry: the book's rule is computed from
# its definition (the stride-1 map, then every s-th position from (s - 1) // 2), and
# TensorFlow's ceil rule from pads worked out by hand in each case's comment.
def _book_subsample(t, size_hw, stride):
    """Every s-th row/column of a stride-1 map (NCHW), from (s - 1) // 2, ⌊size / s⌋ of them."""
    (nh, nw), (sh, sw) = size_hw, stride
    bh, bw = (sh - 1) // 2, (sw - 1) // 2
    return t[:, :, bh:bh + (nh // sh) * sh:sh, bw:bw + (nw // sw) * sw:sw]


def _same_pads_stride1(kh, kw):
    """(left, right, top, bottom) of a stride-1 SAME window: (k - 1) // 2 before, the rest after."""
    return ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _book_reference(torch, xt, kind, ksize, stride, padding, kt=None, bt=None):
    """The book's strided layer: the stride-1 layer (SAME: padded (k-1)//2 before; VALID: no
    padding) on the whole input, then subsampled."""
    F = torch.nn.functional
    (kh, kw), (h, w) = _pair(ksize), xt.shape[2:]
    pads = _same_pads_stride1(kh, kw) if padding == "SAME" else (0, 0, 0, 0)
    full_hw = (h, w) if padding == "SAME" else (h - kh + 1, w - kw + 1)
    if kind == "conv":
        full = F.conv2d(F.pad(xt, pads), kt, bt)
    elif kind == "max":
        full = F.max_pool2d(F.pad(xt, pads, value=-float("inf")), (kh, kw), 1)
    else:  # avg over real cells only
        sums = F.avg_pool2d(F.pad(xt, pads), (kh, kw), 1, divisor_override=1)
        counts = F.avg_pool2d(F.pad(torch.ones_like(xt), pads), (kh, kw), 1, divisor_override=1)
        full = sums / counts
    return _book_subsample(full, full_hw, _pair(stride))


def _ceil_reference(torch, xt, kind, ksize, stride, pads, kt=None, bt=None):
    """TensorFlow's strided layer from hand-worked (top, bottom, left, right) pads."""
    F = torch.nn.functional
    pt, pb, pl, pr = pads
    k, s = _pair(ksize), _pair(stride)
    if kind == "conv":
        return F.conv2d(F.pad(xt, (pl, pr, pt, pb)), kt, bt, stride=s)
    if kind == "max":
        return F.max_pool2d(F.pad(xt, (pl, pr, pt, pb), value=-float("inf")), k, s)
    sums = F.avg_pool2d(F.pad(xt, (pl, pr, pt, pb)), k, s, divisor_override=1)
    counts = F.avg_pool2d(F.pad(torch.ones_like(xt), (pl, pr, pt, pb)), k, s, divisor_override=1)
    return sums / counts


# input 9×8. Book: SAME → (9 // s, 8 // s); VALID → ((9 - k + 1) // s, (8 - k + 1) // s).
BOOK_CONV_CASES = [
    (3, 1, "SAME", (9, 8)), (3, 2, "SAME", (4, 4)), (4, 1, "SAME", (9, 8)), (4, 2, "SAME", (4, 4)),
    (2, 2, "VALID", (4, 3)), (3, 2, "VALID", (3, 3)), ([1, 7], 1, "SAME", (9, 8)),
    ([5, 2], [2, 1], "SAME", (4, 8)),
    (1, 3, "SAME", (3, 2)),             # stride > kernel: rows 1, 4, 7 and columns 1, 4
    (2, 3, "VALID", (2, 2)),            # 8 // 3 and 7 // 3 windows, from offset 1
    ([3, 1], [3, 2], "VALID", (2, 4)),
]
# input 9×8. Ceil: out = ⌈n / s⌉ (SAME), total = (out − 1)·s + k − n, top = ⌊total / 2⌋.
CEIL_CONV_CASES = [
    (3, 2, "SAME", (5, 4), (1, 1, 0, 1)),      # H: 4·2+3−9 = 2 → 1/1; W: 3·2+3−8 = 1 → 0/1
    (4, 2, "SAME", (5, 4), (1, 2, 1, 1)),      # H: 8+4−9 = 3 → 1/2;  W: 6+4−8 = 2 → 1/1
    (3, 2, "VALID", (4, 3), (0, 0, 0, 0)),     # (9−3)//2+1, (8−3)//2+1
    (2, 2, "VALID", (4, 4), (0, 0, 0, 0)),
    (1, 3, "SAME", (3, 3), (0, 0, 0, 0)),      # totals −2, −1 → 0
    ([5, 2], [2, 1], "SAME", (5, 8), (2, 2, 0, 1)),  # H: 8+5−9 = 4 → 2/2; W: 7+2−8 = 1 → 0/1
]


def _conv_pair(rule, ksize, stride, padding):
    torch = pytest.importorskip("torch")
    layer = build(Conv2D(ksize, 5, stride=stride, padding=padding, actions="L", stride_rule=rule), (9, 8, 3))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 8, 3))
    layer.params["b"][:] = rng.standard_normal(5)
    y = layer.forward(x, training=True)
    r = rng.standard_normal(y.shape)
    dx = layer.backward(r)
    xt = _nchw(torch, x)
    kt = torch.tensor(layer.params["k"].transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bt = torch.tensor(layer.params["b"].copy(), requires_grad=True)
    return torch, layer, (y, r, dx), (xt, kt, bt)


def _assert_conv_matches(torch, layer, ours, theirs, yt):
    (y, r, dx), (xt, kt, bt) = ours, theirs
    assert y.shape[1:3] == tuple(yt.shape[2:])
    (yt * torch.tensor(r.transpose(0, 3, 1, 2).copy())).sum().backward()
    assert np.allclose(y, _nhwc(yt), atol=1e-10)
    assert np.allclose(dx, _nhwc(xt.grad), atol=1e-10)
    assert np.allclose(layer.grads["k"], kt.grad.numpy().transpose(2, 3, 1, 0), atol=1e-10)
    assert np.allclose(layer.grads["b"], bt.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("ksize,stride,padding,out_hw", BOOK_CONV_CASES)
def test_conv_matches_torch_book_rule(ksize, stride, padding, out_hw):
    torch, layer, ours, theirs = _conv_pair("book", ksize, stride, padding)
    assert layer.output_shape == out_hw + (5,)
    xt, kt, bt = theirs
    yt = _book_reference(torch, xt, "conv", ksize, stride, padding, kt, bt)
    _assert_conv_matches(torch, layer, ours, theirs, yt)


@pytest.mark.parametrize("ksize,stride,padding,out_hw,pads", CEIL_CONV_CASES)
def test_conv_matches_torch_ceil_rule(ksize, stride, padding, out_hw, pads):
    torch, layer, ours, theirs = _conv_pair("ceil", ksize, stride, padding)
    assert layer.output_shape == out_hw + (5,)
    xt, kt, bt = theirs
    yt = _ceil_reference(torch, xt, "conv", ksize, stride, pads, kt, bt)
    _assert_conv_matches(torch, layer, ours, theirs, yt)


BOOK_POOL_CASES = [
    (3, 2, "SAME", (7, 7, 2), (3, 3)), (3, 2, "VALID", (9, 8, 2), (3, 3)), (2, 2, "SAME", (7, 7, 2), (3, 3)),
    (2, 2, "VALID", (7, 6, 2), (3, 2)), (2, 2, "SAME", (6, 8, 2), (3, 4)), (3, 1, "SAME", (6, 6, 2), (6, 6)),
    (1, 3, "SAME", (7, 8, 2), (2, 2)),  # stride > window: rows 1, 4; columns 1, 4
    (2, 3, "VALID", (8, 7, 2), (2, 2)),  # 7 // 3 and 6 // 3 windows from offset 1
]
CEIL_POOL_CASES = [
    (3, 2, "SAME", (7, 7, 2), (4, 4), (1, 1, 1, 1)),    # 3·2+3−7 = 2 → 1/1
    (3, 2, "VALID", (9, 8, 2), (4, 3), (0, 0, 0, 0)),
    (2, 2, "SAME", (7, 7, 2), (4, 4), (0, 1, 0, 1)),    # 3·2+2−7 = 1 → 0/1
    (2, 2, "VALID", (7, 6, 2), (3, 3), (0, 0, 0, 0)),
    (2, 2, "SAME", (6, 8, 2), (3, 4), (0, 0, 0, 0)),
    (3, 1, "SAME", (6, 6, 2), (6, 6), (1, 1, 1, 1)),
]


def _pool_pair(kind, rule, ksize, stride, padding, shape):
    torch = pytest.importorskip("torch")
    cls = MaxPool if kind == "max" else AvgPool
    layer = build(cls(stride, ksize=ksize, padding=padding, stride_rule=rule), shape)
    x = distinct((2,) + shape, seed=4)
    y = layer.forward(x, training=True)
    r = np.random.default_rng(5).standard_normal(y.shape)
    return torch, layer, x, y, r, layer.backward(r)


def _assert_pool_matches(torch, y, r, dx, xt, yt):
    assert y.shape[1:3] == tuple(yt.shape[2:])
    (yt * torch.tensor(r.transpose(0, 3, 1, 2).copy())).sum().backward()
    assert np.allclose(y, _nhwc(yt), atol=1e-12)
    assert np.allclose(dx, _nhwc(xt.grad), atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("ksize,stride,padding,shape,out_hw", BOOK_POOL_CASES)
def test_pools_match_torch_book_rule(kind, ksize, stride, padding, shape, out_hw):
    torch, layer, x, y, r, dx = _pool_pair(kind, "book", ksize, stride, padding, shape)
    assert layer.output_shape == out_hw + (shape[2],)
    xt = _nchw(torch, x)
    _assert_pool_matches(torch, y, r, dx, xt, _book_reference(torch, xt, kind, ksize, stride, padding))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("ksize,stride,padding,shape,out_hw,pads", CEIL_POOL_CASES)
def test_pools_match_torch_ceil_rule(kind, ksize, stride, padding, shape, out_hw, pads):
    torch, layer, x, y, r, dx = _pool_pair(kind, "ceil", ksize, stride, padding, shape)
    assert layer.output_shape == out_hw + (shape[2],)
    xt = _nchw(torch, x)
    _assert_pool_matches(torch, y, r, dx, xt, _ceil_reference(torch, xt, kind, ksize, stride, pads))


def test_batchnorm_matches_torch_in_training():
    """Forward, dx, dγ, dβ and the running mean match F.batch_norm(training=True).

    The running variance does not: torch updates it with the UNBIASED batch variance
    (×M/(M−1)), the book and alzza with the biased one used to normalise. We check ours
    against the formula and torch's against ours rescaled by M/(M−1).
    """
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    ratio, eps = 0.1, 0.001
    layer = build(BatchNorm(epsilon=eps, exp_ratio=ratio), (4, 5, 3))
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5, 3)) * 2 + 1
    layer.params["gamma"][:] = rng.standard_normal(3)
    layer.params["beta"][:] = rng.standard_normal(3)
    y = layer.forward(x, training=True)
    r = rng.standard_normal(y.shape)
    dx = layer.backward(r)

    xt = _nchw(torch, x)
    gt = torch.tensor(layer.params["gamma"].copy(), requires_grad=True)
    bt = torch.tensor(layer.params["beta"].copy(), requires_grad=True)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    yt = F.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=ratio, eps=eps)
    (yt * torch.tensor(r.transpose(0, 3, 1, 2).copy())).sum().backward()
    assert np.allclose(y, _nhwc(yt), atol=1e-10)
    assert np.allclose(dx, _nhwc(xt.grad), atol=1e-10)
    assert np.allclose(layer.grads["gamma"], gt.grad.numpy(), atol=1e-10)
    assert np.allclose(layer.grads["beta"], bt.grad.numpy(), atol=1e-10)
    assert np.allclose(layer.state["mean"], rm.numpy())
    m = x.size // 3
    biased = x.reshape(-1, 3).var(0)
    assert np.allclose(layer.state["var"], (1 - ratio) + ratio * biased)
    assert np.allclose(rv.numpy(), (1 - ratio) + ratio * biased * m / (m - 1))


# --- end to end ----------------------------------------------------------------------------
def test_small_cnn_trains_in_float32():
    from alzza import Model
    from alzza.data.dataset import Dataset

    class Stripes(Dataset):
        """8×8×3 images: class 0 has a bright top half, class 1 a bright bottom half."""

        def __init__(self, rng):
            super().__init__("stripes", "select", input_shape=(8, 8, 3), output_shape=(2,))
            labels = rng.integers(0, 2, 60)
            xs = rng.normal(0, 0.5, (60, 8, 8, 3))
            for i, label in enumerate(labels):
                xs[i, 4 * label:4 * label + 4] += 1.0
            self._split(xs, np.eye(2)[labels], rng)

    data = Stripes(np.random.default_rng(0))
    model = Model(data, [["conv", {"ksize": 3, "chn": 4}], ["max", {"stride": 2}],
                         ["conv", {"ksize": 3, "chn": 4, "actions": "LAB"}], ["avg", {"stride": 2}]],
                  optimizer="adam", init="he", seed=0, printer=lambda *a: None)
    x, y = data.train_data()
    losses = [model.train_step(x, y, 0.01)[0] for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0], losses
    out = model.forward(x)
    assert out.dtype == np.float32
    for layer in model.network.walk():
        for key, g in layer.grads.items():
            assert g.dtype == np.float32, f"{layer.path}/{key}"
    assert model.layers[2].state["mean"].dtype == np.float32


def test_running_statistics_are_saved_and_loaded(tmp_path):
    from alzza import Model
    from alzza.saving.model_files import load_model

    model = Model(layers=[["conv", {"ksize": 3, "chn": 4, "actions": "LAB"}], ["max", {"stride": 2}],
                          ["batch_normal"], ["avg", {"stride": 2, "ksize": 3}]],
                  input_shape=(8, 8, 3), output_shape=(2,), mode="select", seed=0, printer=lambda *a: None)
    x = np.random.default_rng(0).standard_normal((4, 8, 8, 3)) + 2
    model.train_step(x, np.eye(2)[[0, 1, 0, 1]], 0.01)
    model.save(tmp_path / "cnn.npz")
    loaded = load_model(tmp_path / "cnn.npz")
    for old, new in zip(model.network.walk(), loaded.network.walk(), strict=False):
        for key in old.state:
            assert np.array_equal(old.state[key], new.state[key])
    assert np.any(loaded.layers[0].state["mean"] != 0)
    assert np.allclose(model.forward(x), loaded.forward(x))


@pytest.mark.parametrize("ksize,stride,padding,out_hw", BOOK_CONV_CASES)
def test_layer_pads_translate_to_pad_then_strided_conv(ksize, stride, padding, out_hw):
    """What exporters rely on: F.pad with the layer's own (possibly negative) pads, then a
    plain strided conv, is the layer (checked against the independent reference above)."""
    torch, layer, ours, theirs = _conv_pair("book", ksize, stride, padding)
    F = torch.nn.functional
    xt, kt, bt = theirs
    _, _, (pt, pb, pl, pr) = layer._geometry
    yt = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), kt, bt, stride=_pair(stride))
    ref = _book_reference(torch, xt, "conv", ksize, stride, padding, kt, bt)
    assert tuple(yt.shape) == tuple(ref.shape)
    assert np.allclose(yt.detach().numpy(), ref.detach().numpy(), atol=1e-10)
