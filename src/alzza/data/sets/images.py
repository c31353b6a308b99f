"""The book's image data sets: flowers (ch. 5–9) and Office-31 (ch. 6–8), and a stand-in.

- ``flowers``: ``<data>/flowers/<class>/*.jpg`` (daisy, dandelion, rose, sunflower,
  tulip) → class (select).
- ``office31``: ``<data>/office31/{amazon,dslr,webcam}/images/<31 objects>/*.jpg`` →
  (domain, object) (multi-select: 3 + 31 logits side by side).
- ``office31-standin``: the same shape of problem built from the flower photos, for
  machines without Office-31: 3 "domains" (``photo``, ``gray``, ``lowres``) × the 5
  flower classes. It is named as a stand-in everywhere it appears.
- ``office31-or-standin``: resolves when loaded — Office-31 if ``<data>/office31``
  exists, else the stand-in — and prints which one it used. The chapter 6 experiments
  name this one, so they run everywhere.

Options shared by all of them:

- ``resolution`` ``[h, w]`` (default ``[100, 100]``): every image is resized to it.
- ``flatten`` (default true): one row of ``h·w·3`` values per image (for MLPs);
  false keeps ``(h, w, 3)`` (NHWC, for CNNs).
- ``scale`` (default false): divide pixels by 255. The book feeds raw 0–255 values,
  so false reproduces it; true is a named alzza variant (the name ends in
  ``-scaled``).

Reading goes through :func:`~alzza.data.readers.image_folder.read_image_folder` with the disk
cache, so a first run decodes (with a progress bar) and later runs load in a moment.
Images are split by the Dataset base's rule with the run's generator.

``input_images(x)`` turns input rows back into uint8 pictures ``(n, h, w, 3)``
(un-flatten, un-scale); ``Model.visualize`` uses it to draw its grid.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ...backend import make_rng
from ...errors import DataError
from ...options import Option
from ..store.cache import DiskCache
from ..dataset import Dataset, declared
from ..readers.image_folder import read_image_folder
from ..store.locate import find_data_file, missing_file_message, resolve_data_root
from ..registry import checked_option, register_dataset

__all__ = [
    "FLOWERS_SOURCE",
    "OFFICE31_DOMAINS",
    "OFFICE31_SOURCE",
    "STANDIN_DOMAINS",
    "STANDIN_SOURCE",
    "FlowersDataset",
    "ImageDataset",
    "Office31Dataset",
    "Office31StandinDataset",
    "office31_or_standin",
    "render_gray",
    "render_lowres",
]

FLOWERS_DIR = "flowers"
OFFICE31_DIR = "office31"
FLOWERS_SOURCE = ('Kaggle "Flowers Recognition" (alxmamaev): photos from Flickr, Google '
                  "Images and Yandex — https://www.kaggle.com/datasets/alxmamaev/flowers-recognition")
OFFICE31_SOURCE = ("Office-31 (Saenko et al., ECCV 2010): 31 office objects photographed in "
                   "3 domains (amazon, dslr, webcam), laid out as "
                   "office31/<domain>/images/<object>/*.jpg")
STANDIN_SOURCE = ("stand-in built from the flower photos; Office-31 is not available here "
                  "(domains: photo = as is, gray = grayscale, lowres = 1/4 resolution blown "
                  "back up; objects: the flower classes)")

OFFICE31_DOMAINS = ("amazon", "dslr", "webcam")
STANDIN_DOMAINS = ("photo", "gray", "lowres")
HEAD_NAMES = ["domain", "object"]
#: the published facts the declared shapes use (the data sets themselves count the folders they read)
FLOWER_CLASSES = ["daisy", "dandelion", "rose", "sunflower", "tulip"]
OFFICE31_OBJECTS = 31
#: the low-resolution domain of the stand-in keeps 1/LOWRES_FACTOR of each side
LOWRES_FACTOR = 4
#: ITU-R BT.601 luma weights (what Pillow's convert('L') uses)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def check_resolution(value) -> str | None:
    """Problem text for a bad ``resolution`` option, else None."""
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value)):
        return f"resolution must be [height, width], two positive integers, got {value!r}"
    return None


def _checked_options(resolution, flatten, scale) -> tuple[tuple[int, int], bool, bool]:
    # make_dataset checks specs; this guards direct Python construction too
    problem = check_resolution(resolution)  # its words for a value of the wrong type as well
    if problem:
        raise DataError(problem)
    return ((int(resolution[0]), int(resolution[1])), checked_option(flatten, OPTIONS["flatten"], "flatten"),
            checked_option(scale, OPTIONS["scale"], "scale"))


# --------------------------------------------------------------------------- shapes (declared once)
def image_shape(resolution, flatten: bool) -> tuple:
    """One image as an input: (h·w·3,) flat, else (h, w, 3)."""
    height, width = int(resolution[0]), int(resolution[1])
    return (height * width * 3,) if flatten else (height, width, 3)


def _scaled(name: str, scale: bool) -> str:
    return name + ("-scaled" if scale else "")


def flowers_shapes(resolution=(100, 100), flatten: bool = True, scale: bool = False) -> dict:
    """flowers' name, mode, shapes and its 5 published classes (the constructor counts the folders it reads)."""
    return {"name": _scaled("flowers", scale), "mode": "select", "input_shape": image_shape(resolution, flatten),
            "output_shape": (len(FLOWER_CLASSES),), "target_names": list(FLOWER_CLASSES)}


def _domain_object_shapes(name, domains, objects: int, resolution, flatten: bool, scale: bool) -> dict:
    return {"name": _scaled(name, scale), "mode": "multi-select", "input_shape": image_shape(resolution, flatten),
            "output_shape": (len(domains) + objects,), "head_sizes": (len(domains), objects),
            "head_names": list(HEAD_NAMES)}


def office31_shapes(resolution=(100, 100), flatten: bool = True, scale: bool = False) -> dict:
    """office31's name, mode and shapes: 3 domains × 31 published objects."""
    return _domain_object_shapes("office31", OFFICE31_DOMAINS, OFFICE31_OBJECTS, resolution, flatten, scale)


def office31_standin_shapes(resolution=(100, 100), flatten: bool = True, scale: bool = False) -> dict:
    """office31-standin's name, mode and shapes: 3 renderings × the 5 flower classes."""
    return _domain_object_shapes("office31-standin", STANDIN_DOMAINS, len(FLOWER_CLASSES), resolution, flatten,
                                 scale)


def _office31_or_standin_declared(data_dir=None, **options) -> Dataset:
    # chooses as the factory does, by whether the real folder exists (a look, not a read)
    real = (resolve_data_root(data_dir)[0] / OFFICE31_DIR).exists()
    return declared(office31_shapes if real else office31_standin_shapes)(data_dir, **options)


#: the options every image data set takes
OPTIONS = {
    "resolution": Option((list, tuple), [100, 100], doc="image size [height, width]", check=check_resolution),
    "flatten": Option(bool, True, doc="one row of h·w·3 values (MLPs); false keeps (h, w, 3) for CNNs"),
    "scale": Option(bool, False, doc="divide pixels by 255 (alzza variant; the book feeds raw 0–255 values)"),
}


class ImageDataset(Dataset):
    """A data set of RGB images of one resolution, flat or HWC, raw 0–255 or scaled."""

    def __init__(self, shapes, *, resolution, flatten: bool, scale: bool, source: str):
        self.resolution, self.flatten, self.scale = _checked_options(resolution, flatten, scale)
        # ``shapes``: the data set's declaration; what the files hold (classes) is set when they are read
        super().__init__(**shapes(self.resolution, self.flatten, self.scale), source=source)

    def _inputs(self, images: np.ndarray) -> np.ndarray:
        """float32 NHWC 0–255 pixels → model inputs (scaled in place, flattened as a view)."""
        images = np.asarray(images, dtype=np.float32)
        if self.scale:
            images *= np.float32(1.0 / 255.0)
        return images.reshape(len(images), *self.input_shape)

    def input_images(self, x) -> np.ndarray:
        """Input rows (or one row) back as uint8 pictures ``(n, h, w, 3)``."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape == self.input_shape:
            x = x[None]
        height, width = self.resolution
        pixels = x.reshape(len(x), height, width, 3)
        if self.scale:
            pixels = pixels * 255.0
        return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)

    def describe_input(self, x_row) -> str:
        height, width = self.resolution
        return f"image {height}×{width}"


# --------------------------------------------------------------------------- flowers
def _read_flowers(dataset: str, data_dir, resolution, source: str):
    folder = find_data_file(FLOWERS_DIR, data_dir, dataset=dataset, source=source)
    return read_image_folder(folder, resolution, cache=DiskCache())


@register_dataset("flowers", options=OPTIONS, shapes=declared(flowers_shapes),
                  summary="flowers/<class>/*.jpg: 5 kinds of flower photos → class (select)")
class FlowersDataset(ImageDataset):
    """flowers: one folder per class (daisy, dandelion, rose, sunflower, tulip) → class."""

    def __init__(self, data_dir=None, rng=None, resolution=(100, 100), flatten: bool = True,
                 scale: bool = False):
        super().__init__(flowers_shapes, resolution=resolution, flatten=flatten,
                         scale=scale, source=FLOWERS_SOURCE)
        folder = _read_flowers("flowers", data_dir, self.resolution, FLOWERS_SOURCE)
        self.target_names = list(folder.class_names)
        count = len(self.target_names)
        self.output_shape = (count,)
        ys = np.eye(count, dtype=np.float32)[folder.labels]
        self._split(self._inputs(folder.images), ys, make_rng(rng))


# --------------------------------------------------------------------------- office31
def _two_hot(domains: np.ndarray, objects: np.ndarray, sizes: tuple[int, int]) -> np.ndarray:
    """Targets ``(n, d + o)``: the domain's one-hot, then the object's, side by side."""
    ys = np.zeros((len(domains), sizes[0] + sizes[1]), dtype=np.float32)
    rows = np.arange(len(domains))
    ys[rows, domains] = 1.0
    ys[rows, sizes[0] + objects] = 1.0
    return ys


class _DomainObjectDataset(ImageDataset):
    """multi-select (domain, object) over images; subclasses gather the arrays."""

    def _finish(self, images, domains, objects, domain_names, object_names, rng) -> None:
        sizes = (len(domain_names), len(object_names))
        self.head_sizes = sizes
        self.head_names = list(HEAD_NAMES)
        self.target_names = [list(domain_names), list(object_names)]
        self.output_shape = (sizes[0] + sizes[1],)
        self._split(self._inputs(images), _two_hot(domains, objects, sizes), rng)


@register_dataset("office31", options=OPTIONS, shapes=declared(office31_shapes),
                  summary="office31/<domain>/images/<object>/*.jpg → (domain, object) (multi-select)")
class Office31Dataset(_DomainObjectDataset):
    """office31: ``office31/{amazon,dslr,webcam}/images/<object>/*.jpg`` → (domain, object)."""

    def __init__(self, data_dir=None, rng=None, resolution=(100, 100), flatten: bool = True,
                 scale: bool = False):
        super().__init__(office31_shapes, resolution=resolution, flatten=flatten,
                         scale=scale, source=OFFICE31_SOURCE)
        root = find_data_file(OFFICE31_DIR, data_dir, dataset="office31", source=OFFICE31_SOURCE)
        data_root, rule = resolve_data_root(data_dir)
        cache = DiskCache()
        parts, domains, objects, object_names = [], [], [], None
        for index, domain in enumerate(OFFICE31_DOMAINS):
            folder = root / domain / "images"
            if not folder.is_dir():
                relative = f"{OFFICE31_DIR}/{domain}/images"
                raise DataError(missing_file_message(relative, folder, data_root, rule,
                                                     "office31", OFFICE31_SOURCE))
            read = read_image_folder(folder, self.resolution, cache=cache)
            if object_names is None:
                object_names, first = list(read.class_names), domain
            elif read.class_names != object_names:
                missing = sorted(set(object_names) - set(read.class_names))
                extra = sorted(set(read.class_names) - set(object_names))
                raise DataError(
                    f"office31: every domain must hold the same object folders, but {folder} "
                    f"differs from the {first} domain: missing {missing or 'none'}, "
                    f"extra {extra or 'none'}")
            parts.append(read.images)
            domains.append(np.full(len(read), index, dtype=np.int64))
            objects.append(read.labels)
        images = np.concatenate(parts) if len(parts) > 1 else parts[0]
        del parts
        self._finish(images, np.concatenate(domains), np.concatenate(objects),
                     OFFICE31_DOMAINS, object_names, make_rng(rng))


# --------------------------------------------------------------------------- stand-in
def render_gray(images: np.ndarray) -> np.ndarray:
    """uint8 ``(n, h, w, 3)`` → the same in grayscale (BT.601 luma, copied to 3 channels)."""
    luma = np.rint(images.astype(np.float32) @ LUMA)
    gray = np.clip(luma, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


def render_lowres(images: np.ndarray, factor: int = LOWRES_FACTOR) -> np.ndarray:
    """uint8 ``(n, h, w, 3)`` → each image shrunk to 1/``factor`` a side and blown back up
    (both bilinear): the detail is gone, the size is the same."""
    out = np.empty_like(images)
    height, width = images.shape[1:3]
    small = (max(1, width // factor), max(1, height // factor))
    for i, pixels in enumerate(images):
        picture = Image.fromarray(pixels).resize(small, Image.Resampling.BILINEAR)
        out[i] = np.asarray(picture.resize((width, height), Image.Resampling.BILINEAR))
    return out


@register_dataset("office31-standin", options=OPTIONS, shapes=declared(office31_standin_shapes),
                  summary="stand-in for Office-31 from the flower photos: (photo|gray|lowres, flower) (multi-select)")
class Office31StandinDataset(_DomainObjectDataset):
    """office31-standin: (domain, object) from the flower photos, when Office-31 is absent.

    Domains: ``photo`` (as is), ``gray`` (grayscale in 3 channels), ``lowres`` (1/4 of
    the resolution, blown back up bilinearly); objects: the 5 flower classes.
    """

    def __init__(self, data_dir=None, rng=None, resolution=(100, 100), flatten: bool = True,
                 scale: bool = False):
        super().__init__(office31_standin_shapes, resolution=resolution,
                         flatten=flatten, scale=scale, source=STANDIN_SOURCE)
        rng = make_rng(rng)
        folder = _read_flowers("office31-standin", data_dir, self.resolution, STANDIN_SOURCE)
        # Each photo appears ONCE, in one domain. Rendering every photo in all three
        # domains would put the same picture (in another colour or sharpness) in the
        # training split and the test split, so the test would reward memorising photos.
        # The domain is chosen by a seeded rule: a permutation drawn from the run's
        # generator, cut in thirds (same seed → same domains → same data set).
        count = len(folder)
        domains = np.empty(count, dtype=np.int64)
        order = rng.permutation(count)
        for index, part in enumerate(np.array_split(order, len(STANDIN_DOMAINS))):
            domains[part] = index
        # The decoded (cached) photos are exact uint8 values stored as float32.
        pixels = folder.images.astype(np.uint8)
        for index, render in ((1, render_gray), (2, render_lowres)):
            chosen = np.flatnonzero(domains == index)
            pixels[chosen] = render(pixels[chosen])
        self._finish(pixels.astype(np.float32), domains, folder.labels, STANDIN_DOMAINS,
                     folder.class_names, rng)


@register_dataset("office31-or-standin", options=OPTIONS, shapes=_office31_or_standin_declared,
                  summary="office31 when <data>/office31 exists, else office31-standin")
def office31_or_standin(data_dir=None, rng=None, printer=print, **options) -> Dataset:
    """Office-31 when ``<data>/office31`` exists, else the flower stand-in; says which."""
    root, _ = resolve_data_root(data_dir)
    if (root / OFFICE31_DIR).exists():
        printer(f"office31-or-standin: using Office-31 from {root / OFFICE31_DIR}")
        return Office31Dataset(data_dir=data_dir, rng=rng, **options)
    printer(f"office31-or-standin: {root / OFFICE31_DIR} not found; using the stand-in "
            "built from the flower photos (office31-standin)")
    return Office31StandinDataset(data_dir=data_dir, rng=rng, **options)
