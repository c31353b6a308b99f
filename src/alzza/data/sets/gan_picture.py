"""``gan-picture``: one painting cut into 32×32×3 tiles, the real examples of a GAN (ch. 15).

As the book's GanDatasetPicture: the picture is cut into a grid of non-overlapping
32×32 tiles from its top-left corner (the right and bottom remainders, narrower than a
tile, are dropped), pixels scaled to [0, 1], and the tiles split by the book's rule
(80 % a multiple of 10 / 5 % / the rest) with the run's generator.

Options:

- ``file`` [``'gogh'``]: the picture, relative to the data folder (e.g.
  ``'pictures/gogh.jpg'``) or an absolute path; the bare names ``gogh`` and ``jungsun``
  mean ``pictures/<name>.jpg``. Any format Pillow reads; grayscale or RGBA pictures
  are converted to RGB, and EXIF rotation is applied.
- ``stride`` [32]: pixels between tile starts; 32 cuts the tiles side by side as the
  book does, a smaller stride overlaps them (stride 8 turns gogh's 374 tiles into
  about 5,600). ``max_tiles`` counts side-by-side tiles.
- ``max_tiles`` [4096]: a picture that would give more tiles is first downscaled
  (Lanczos) just enough to give at most this many, so a huge photo keeps a few
  thousand tiles of visible structure instead of tens of thousands of flat patches;
  0 keeps the full resolution. The shipped paintings (733×552 → 374 tiles, 580×378 →
  198) are used at full resolution, as in the book.
- ``flatten`` [true]: one row of 3072 values; false keeps ``(32, 32, 3)`` (NHWC).

Mode ``gan``: ``x`` is a real tile, ``y`` a column of ones ``(N, 1)`` ("real", the
discriminator's target for these examples); ``output_shape == (1,)``;
``value_range == (0.0, 1.0)`` (a sigmoid generator output fits it);
:meth:`GanPictureDataset.input_images` turns real or generated rows into pictures.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageOps, UnidentifiedImageError

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ..dataset import Dataset, declared
from ..store.locate import find_data_file
from ..registry import checked_option, register_dataset

__all__ = ["PICTURES", "TILE", "GanPictureDataset", "cut_tiles", "resolve_picture"]

TILE = 32
DEFAULT_MAX_TILES = 4096
#: the shorthand names of the paintings in the data folder
PICTURES = {"gogh": "pictures/gogh.jpg", "jungsun": "pictures/jungsun.jpg"}
PICTURE_SOURCE = ("the book's GAN chapter paintings: Van Gogh, \"Wheat Field with Cypresses\" "
                  "(pictures/gogh.jpg) and a landscape by Jeong Seon (pictures/jungsun.jpg), "
                  "public domain works; any JPEG/PNG of your own works too")


def resolve_picture(file: str, data_dir=None) -> Path:
    """The picture file named by ``file`` (shorthand, data-relative or absolute path)."""
    if not isinstance(file, str) or not file:
        raise DataError(f"gan-picture: 'file' must name a picture, e.g. 'gogh' or "
                        f"'pictures/gogh.jpg', got {file!r}")
    relative = PICTURES.get(file, file)
    if Path(relative).expanduser().is_absolute():
        path = Path(relative).expanduser()
        if not path.is_file():
            raise DataError(f"gan-picture: the picture {path} does not exist")
        return path
    return find_data_file(relative, data_dir, dataset="gan-picture", source=PICTURE_SOURCE)


def cut_tiles(pixels: np.ndarray, tile: int = TILE, stride: int | None = None) -> np.ndarray:
    """uint8 ``(H, W, 3)`` → ``(rows·cols, tile, tile, 3)``, row by row from the top left.

    Tiles start every ``stride`` pixels (default ``tile``: side by side, the book's cut);
    a smaller stride gives overlapping tiles, i.e. more examples from one picture.
    """
    stride = stride or tile
    if pixels.shape[0] < tile or pixels.shape[1] < tile:
        return np.zeros((0, tile, tile, 3), dtype=pixels.dtype)
    windows = sliding_window_view(pixels[..., :3], (tile, tile, 3))[::stride, ::stride, 0]
    return np.ascontiguousarray(windows.reshape(-1, tile, tile, 3))


OPTIONS = {
    "file": Option(str, "gogh", doc="the picture: 'gogh', 'jungsun' or a path under the data folder such as "
                                    "'pictures/gogh.jpg'"),
    "max_tiles": Option(int, DEFAULT_MAX_TILES, doc="downscale a larger picture to at most this many tiles "
                                                    "(0 = never)", check=lambda v: v >= 0,
                       expects="a whole number ≥ 0 (0 = no limit)"),
    "flatten": Option(bool, True, doc="one row of 3072 values; false keeps (32, 32, 3)"),
    "stride": Option(int, TILE, doc="pixels between tile starts (32: side by side, the book's cut; smaller: "
                                    "overlapping tiles, more examples)",
                     check=lambda v: 1 <= v <= TILE, expects=f"a whole number from 1 to {TILE}"),
}


def gan_picture_shapes(file: str = "gogh", flatten: bool = True, **_tiling) -> dict:
    """gan-picture's name (the picture's file stem), mode, shapes and value range from its options (the
    constructor and summaries read these)."""
    return {"name": f"gan-picture-{Path(PICTURES.get(file, file)).stem}", "mode": "gan",
            "input_shape": (TILE * TILE * 3,) if flatten else (TILE, TILE, 3), "output_shape": (1,),
            "value_range": (0.0, 1.0)}


@register_dataset("gan-picture", options=OPTIONS, shapes=declared(gan_picture_shapes),
                  summary="a painting cut into 32×32×3 tiles in [0, 1], for a GAN (gan)")
class GanPictureDataset(Dataset):
    """gan-picture: 32×32×3 tiles of one picture in [0, 1], for a GAN (mode ``gan``)."""

    value_range = (0.0, 1.0)

    def __init__(self, data_dir=None, rng=None, file: str = "gogh",
                 max_tiles: int = DEFAULT_MAX_TILES, flatten: bool = True, stride: int = TILE):
        # make_dataset checks specs; this guards direct Python construction too
        stride = checked_option(stride, OPTIONS["stride"], "stride")
        max_tiles = checked_option(max_tiles, OPTIONS["max_tiles"], "max_tiles")
        self.flatten = checked_option(flatten, OPTIONS["flatten"], "flatten")
        path = resolve_picture(file, data_dir)
        try:
            with Image.open(path) as opened:
                picture = ImageOps.exif_transpose(opened).convert("RGB")
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"gan-picture: cannot read the picture {path}: {error}") from None
        width, height = picture.size
        note = ""
        tiles = (width // TILE) * (height // TILE)
        if max_tiles and tiles > max_tiles:
            factor = math.sqrt(max_tiles / tiles)
            size = (max(TILE, int(width * factor)), max(TILE, int(height * factor)))
            while (size[0] // TILE) * (size[1] // TILE) > max_tiles:
                size = (size[0] - 1, size[1] - 1)
            picture = picture.resize(size, Image.Resampling.LANCZOS)
            note = f", downscaled to {size[0]}×{size[1]} (max_tiles {max_tiles})"
        pieces = cut_tiles(np.asarray(picture), stride=stride)
        if len(pieces) == 0:
            raise DataError(f"gan-picture: {path} is {width}×{height}, smaller than one "
                            f"{TILE}×{TILE} tile")
        source = (f"{path} ({width}×{height}{note}): {len(pieces)} tiles of {TILE}×{TILE}"
                  + (f" every {stride} pixels" if stride != TILE else "") + ", scaled to [0, 1]")
        super().__init__(**gan_picture_shapes(file, self.flatten), source=source)
        self.picture = path
        x = pieces.reshape(len(pieces), *self.input_shape).astype(np.float32) * np.float32(1 / 255)
        self._split(x, np.ones((len(pieces), 1), dtype=np.float32), make_rng(rng))

    def input_images(self, x) -> np.ndarray:
        """Rows (or one row), real or generated, → uint8 pictures ``(n, 32, 32, 3)``."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape == self.input_shape:
            x = x[None]
        pixels = x.reshape(len(x), TILE, TILE, 3) * 255.0
        return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)

    def describe_input(self, x_row) -> str:
        return f"tile {TILE}×{TILE}×3"
