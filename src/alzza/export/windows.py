"""Sliding-window geometry for ONNX: alzza's windows as a crop, a pad and a strided op.

alzza's conv and pooling layers compute, when built, how many windows fit along each
axis (``out``) and where the first one starts: window o covers input cells
``o·s − p … o·s − p + k − 1``, with ``p`` the layer's "pad before". Whatever rule
produced those numbers (TensorFlow's ceil rule, or the book's H // s sampled from
offset (s − 1) // 2, where ``p`` may be negative: leading cells skipped), ONNX gets the
same windows from exactly the cells they span::

    first = −p                         (first window's start, in input coordinates)
    last  = (out − 1)·s − p + k        (last window's end, exclusive)
    crop the input to [max(first, 0), min(last, size))
    pad   max(−first, 0) before and max(last − size, 0) after

after which ONNX's own size rule, ⌊(L − k)/s⌋ + 1 with L = last − first, gives exactly
``out`` windows at the same places. Padded cells are zero (conv), ignored (MaxPool)
or not counted (AveragePool with count_include_pad = 0) — alzza's meanings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AxisPlan:
    """Crop [begin, end) then pad (before, after) along one axis."""

    begin: int
    end: int
    before: int
    after: int


def axis_plan(size: int, k: int, s: int, out: int, pad_before: int) -> AxisPlan:
    """The crop and pad that make ONNX's windows along one axis equal alzza's (module docstring)."""
    first = -pad_before
    last = (out - 1) * s + first + k
    return AxisPlan(max(first, 0), min(last, size), max(-first, 0), max(last - size, 0))


def layer_windows(layer) -> tuple[tuple[int, int], tuple[int, int]]:
    """((out_h, out_w), (pad_top, pad_left)) of a built conv or pooling layer, read from the
    geometry the layer itself computed (the single source of alzza's output-size rule)."""
    geometry = getattr(layer, "_geometry", None)
    if geometry is not None:                     # Conv2D: (oh, ow, (pt, pb, pl, pr))
        oh, ow, pads = geometry
    else:                                        # the pools: oh, ow, pads
        oh, ow, pads = layer.oh, layer.ow, layer.pads
    return (int(oh), int(ow)), (int(pads[0]), int(pads[2]))


def window_plans(layer) -> tuple[AxisPlan, AxisPlan]:
    """The height and width :class:`AxisPlan` of a built conv or pooling layer."""
    (oh, ow), (pt, pl) = layer_windows(layer)
    h, w = layer.input_shape[:2]
    (kh, kw), (sh, sw) = layer.ksize, layer.stride
    return axis_plan(h, kh, sh, oh, pt), axis_plan(w, kw, sw, ow, pl)
