"""Small image trees written by the tests, in the real layout of the flowers folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FLOWER_CLASSES = ["daisy", "dandelion", "rose", "sunflower", "tulip"]


def write_flowers(root: Path, per_class: int = 16, size=(12, 12), seed: int = 0, class_signal: bool = True,
                  quality: int = 75) -> Path:
    """<root>/flowers/<class>/*.jpg of random pixels; with ``class_signal`` one channel of
    class c is set to 40·c so a model has something to learn."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(FLOWER_CLASSES):
        folder = root / "flowers" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
            if class_signal:
                pixels[..., c % 3] = 40 * c
            Image.fromarray(pixels).save(folder / f"{name}{i}.jpg", quality=quality)
    return root
