"""Window geometry shared by conv and the pools: size/stride pairs, image input shapes,
output sizes and the ``stride_rule`` option (the arithmetic itself is in
:mod:`alzza.ops.windows`)."""

from __future__ import annotations

from ..errors import SpecError
from ..ops.windows import STRIDE_RULES, output_size
from ..options import one_of
from .base import Layer


def is_pair(value) -> bool:
    """A positive int, or a list/tuple of two positive ints."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))


def to_pair(value, name: str, where: str = "") -> tuple[int, int]:
    """``3`` → (3, 3); ``[1, 7]`` → (1, 7); SpecError otherwise."""
    if not is_pair(value):
        raise SpecError(where, f"{name} must be a positive integer or [height, width], got {value!r}")
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def plain_pair(pair):
    """(3, 3) → 3, (1, 7) → [1, 7]: a pair as a spec writes it."""
    if isinstance(pair, int):
        return pair
    return pair[0] if pair[0] == pair[1] else list(pair)


def image_shape(layer: Layer, input_shape) -> tuple[int, int, int]:
    """(H, W, C) of an image input, or a SpecError naming the layer."""
    if len(input_shape) != 3:
        raise SpecError(layer.path, f"{layer.type_name!r} needs image input (height, width, channels), "
                                    f"got shape {tuple(input_shape)}")
    return tuple(int(v) for v in input_shape)


def spatial_output(layer: Layer, hw, ksize, stride, padding, rule="book"):
    """((oh, pt, pb), (ow, pl, pr)) or a SpecError naming the layer (see
    :func:`alzza.ops.windows.output_size`; a negative pt / pl skips leading cells)."""
    try:
        return (output_size(hw[0], ksize[0], stride[0], padding, rule),
                output_size(hw[1], ksize[1], stride[1], padding, rule))
    except ValueError:
        what = ("with VALID padding" if padding == "VALID" and (hw[0] < ksize[0] or hw[1] < ksize[1])
                else f"with stride {stride[0]}x{stride[1]} (make the input larger or the stride smaller)")
        raise SpecError(layer.path, f"{layer.type_name!r}: a {ksize[0]}x{ksize[1]} window does not fit the "
                                    f"{hw[0]}x{hw[1]} input {what}") from None


#: the ``stride_rule`` option shared by conv and the pools
STRIDE_RULE_OPTION = one_of(STRIDE_RULES, default="book", doc=
                            "output size of a strided window: 'book' (H // s with SAME, (H - k + 1) // s "
                            "with VALID, sampling from offset (s - 1) // 2) or 'ceil' (TensorFlow's ceil(H / s))")
