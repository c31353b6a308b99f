"""Tiny data for the chapter 13–15 tests: an MNIST t10k set in IDX (gzip) and a painting.

The digits are noise with a per-class bright block, so a few steps of training can
already tell them apart; pixel (0, 0) is not special here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from alzza.data.readers.idx import write_idx


def write_tiny_mnist(root: Path, count: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    images = rng.integers(0, 60, size=(count, 28, 28), dtype=np.uint8)
    for d in range(10):
        images[labels == d, 2 * d + 2:2 * d + 8, 4:24] = 230
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    write_idx(root / "mnist" / "t10k-labels-idx1-ubyte.gz", labels)
    return root


def write_tiny_picture(root: Path, name: str = "gogh", size=(224, 160), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    path = root / "pictures" / f"{name}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def tiny_data_dir(root: Path) -> Path:
    write_tiny_mnist(root)
    write_tiny_picture(root, "gogh")
    write_tiny_picture(root, "jungsun", size=(160, 128), seed=1)
    return root
