"""``gan-mnist``: chosen digits as the real examples of a GAN (chapter 15)."""

from __future__ import annotations

import numpy as np

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ..dataset import Dataset, declared
from ..registry import checked_option, register_dataset
from .mnist_files import FLATTEN, image_shape, mnist_pool, _MnistPixels, SIDE


def _check_nums(value) -> str | None:
    if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 9 for v in value):
        return f"nums must be a list of digits 0–9 (e.g. [6, 8]), got {value!r}"
    return None


NUMS = Option((list, tuple), None, doc="only these digits, e.g. [6, 8] (default all)", check=_check_nums)
MAX_CNT = Option(int, 0, doc="at most this many images, first in file order (0 = all)", check=lambda v: v >= 0,
                 expects="a whole number ≥ 0 (0 = all)")


def gan_mnist_shapes(nums=None, flatten: bool = True, **_count) -> dict:
    """gan-mnist's name, mode, shapes and pixel range from its options (the constructor and summaries read these)."""
    digits = sorted({int(n) for n in nums}) if nums else []
    return {"name": "gan-mnist" + ("-" + "".join(map(str, digits)) if digits else ""), "mode": "gan",
            "input_shape": image_shape(flatten), "output_shape": (1,), "value_range": (-1.0, 1.0)}


@register_dataset("gan-mnist", shapes=declared(gan_mnist_shapes), options={
    "nums": NUMS, "max_cnt": MAX_CNT,
    "flatten": FLATTEN,
}, summary="MNIST digits in [-1, 1] for a GAN, optionally some classes and a max count (gan)")
class GanMnistDataset(_MnistPixels, Dataset):
    """gan-mnist: real digits in [−1, 1] for a GAN (mode ``gan``); ``y`` = 1 ("real")."""

    def __init__(self, data_dir=None, rng=None, nums=None, max_cnt: int = 0,
                 flatten: bool = True):
        nums = None if nums is None else checked_option(nums, NUMS, "nums")
        max_cnt = checked_option(max_cnt, MAX_CNT, "max_cnt")
        self._set_pixels(flatten, False, value_range=(-1.0, 1.0))
        (images, labels), source = mnist_pool(data_dir, "gan-mnist")
        nums = sorted({int(n) for n in nums}) if nums else []
        keep = np.isin(labels, nums) if nums else np.ones(len(labels), dtype=bool)
        index = np.flatnonzero(keep)
        if max_cnt:
            index = index[:max_cnt]
        if len(index) == 0:
            raise DataError(f"gan-mnist: {source} holds no image of the digits {nums}")
        what = f"digits {', '.join(map(str, nums))}" if nums else "all digits"
        source = (f"{source}: {what}, {len(index)} images"
                  + (f" (max_cnt {max_cnt}, first in file order)" if max_cnt else "") + ", scaled to [-1, 1]")
        super().__init__(**gan_mnist_shapes(nums, self.flatten), source=source)
        self.nums, self.max_cnt = nums, int(max_cnt)
        x = self._pixels(images[index])
        self._split(x, np.ones((len(index), 1), dtype=np.float32), make_rng(rng))

    def describe_input(self, x_row) -> str:
        return f"image {SIDE}×{SIDE} in [-1, 1]"
