"""Read a folder of images, one subfolder per class, into arrays (a reader, not a data set).

Layout::

    folder/
        daisy/      100080576_f52e8ee070_n.jpg  ...
        dandelion/  ...

Classes are the subfolder names, sorted; label ``i`` is ``class_names[i]``. Files are
sorted within a class, so the order (and hence any seeded split made later) is the same
on every machine. Images are decoded with Pillow, converted to RGB and resized to the
requested ``(height, width)`` with bilinear filtering.

Pixel values stay in 0–255 (as float32), as the book feeds them: scaling is the data
set's or the model's choice, not the reader's. ``images`` is ``N×H×W×3`` (HWC, what the
CNN chapters use); the MLP chapters want one flat row per image, which is
``result.flat()`` (``images.reshape(N, -1)``, a view, no copy).

Decoding thousands of photos takes seconds, so the decoded, resized pixels are kept in
a :class:`~alzza.data.store.cache.DiskCache` keyed by the resolution and by every image
file's relative path, size and modification time: changing, adding or removing an image
rebuilds the cache. The cache holds uint8 pixels (exactly what Pillow produced, at a
quarter of the float32 size); they are turned into float32 on each read.

A file that cannot be decoded (a truncated JPEG, a text file named ``.jpg``) is skipped
and reported — one bad photo must not stop a run over thousands. Files without an image
extension (``notes.txt``, ``.DS_Store``) are ignored and mentioned once.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from alzza.data.store.cache import DiskCache, cache_key, str_array
from alzza.errors import DataError
from alzza.limits import check_memory
from alzza.progress import progress_bar

__all__ = ["IMAGE_EXTENSIONS", "ImageFolder", "read_image_folder"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif"})

# Bump when the decoding changes (filter, colour conversion, ...) so old caches miss.
_FORMAT_VERSION = 1
_CACHE_KIND = "image-folder"
_CACHE_ARRAYS = ("pixels", "labels", "class_names", "paths", "skipped_paths", "skipped_reasons")
# How many paths a warning lists before "... and N more".
_LISTED = 10


@dataclass
class ImageFolder:
    """The images of a class-per-subfolder tree.

    Attributes:
        images: float32 ``(N, H, W, 3)``, RGB, values 0–255 (not scaled).
        labels: int64 ``(N,)``, index into ``class_names``.
        class_names: sorted subfolder names.
        paths: ``N`` paths relative to the folder, POSIX style (``'daisy/1.jpg'``).
        skipped: ``(path, reason)`` of image files that could not be decoded.
        ignored: relative paths of entries that are not images and were not read.
        from_cache: True when the pixels came from the disk cache, not the decoder.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def resolution(self) -> tuple[int, int]:
        """``(height, width)`` of every image."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def flat(self) -> np.ndarray:
        """The images as ``(N, H·W·3)`` rows, for MLPs (a view of ``images``)."""
        return self.images.reshape(len(self.images), -1)


def read_image_folder(
    folder: str | os.PathLike,
    resolution: tuple[int, int] = (100, 100),
    *,
    cache: DiskCache | None,
    progress: bool | None = None,
) -> ImageFolder:
    """Read every image under ``folder/<class>/`` resized to ``resolution = (height, width)``.

    ``cache=None`` decodes every time; pass a :class:`DiskCache` (e.g. ``DiskCache()``
    for the default location) to decode once. ``progress`` is the decoding bar's setting
    (:func:`alzza.progress.progress_bar`: None automatic, True always, False never;
    nothing is shown on a cache hit, which is fast).

    Raises :class:`DataError` if the folder is missing, has no class subfolders, or a
    class subfolder has no readable image. Warns (``UserWarning``) about skipped
    unreadable images and ignored non-image files.
    """
    height, width = _check_resolution(resolution)
    folder = Path(folder)
    class_names, files, labels, ignored = _list_tree(folder)
    if ignored:
        warnings.warn(
            f"ignored {len(ignored)} file(s) in {folder} that are not images "
            f"({' '.join(sorted(IMAGE_EXTENSIONS))}): {_listing(ignored)}",
            stacklevel=2,
        )

    key = None
    if cache is not None:
        params = {"resolution": [height, width], "version": _FORMAT_VERSION}
        key = cache_key(_CACHE_KIND, params, files, base=folder)
        stored = cache.load(key, expected=_CACHE_ARRAYS)
        if stored is not None:
            result = _from_arrays(stored, class_names, (height, width))
            if result is None:
                cache.discard(key, "its contents do not match the image folder")
            else:
                result.ignored = ignored
                _warn_skipped(folder, result.skipped, len(files))
                return result

    # uint8 pixels, then their float32 copy: refused before decoding when that can't fit
    check_memory(len(files) * height * width * 3 * 5, f"{folder}: {len(files)} images at {height}×{width}")
    pixels, kept, skipped = _decode_all(folder, files, (height, width), progress)
    _warn_skipped(folder, skipped, len(files))
    kept_labels = labels[kept]
    for index, name in enumerate(class_names):
        if not np.any(kept_labels == index):
            raise DataError(
                f"the class folder {folder / name} has no readable image "
                f"({np.count_nonzero(labels == index)} file(s) failed to decode)"
            )
    result = ImageFolder(
        images=pixels.astype(np.float32),
        labels=kept_labels,
        class_names=class_names,
        paths=[_relative(files[i], folder) for i in kept],
        skipped=skipped,
        ignored=ignored,
        from_cache=False,
    )
    if cache is not None:
        cache.save(
            key,
            {
                "pixels": pixels,
                "labels": result.labels,
                "class_names": str_array(class_names),
                "paths": str_array(result.paths),
                "skipped_paths": str_array(path for path, _ in skipped),
                "skipped_reasons": str_array(reason for _, reason in skipped),
            },
        )
    return result


def _check_resolution(resolution) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in resolution)
    except (TypeError, ValueError):
        raise ValueError(f"resolution must be (height, width), got {resolution!r}") from None
    if height <= 0 or width <= 0:
        raise ValueError(f"resolution must be positive, got {resolution!r}")
    return height, width


def _list_tree(folder: Path) -> tuple[list[str], list[Path], np.ndarray, list[str]]:
    """Class names, image files (class by class, sorted), their labels, and ignored entries."""
    if not folder.exists():
        raise DataError(
            f"image folder not found: looked for {folder.resolve()} "
            "(expected one subfolder of images per class)"
        )
    if not folder.is_dir():
        raise DataError(f"{folder.resolve()} is a file; expected a folder with one subfolder per class")

    ignored: list[str] = []
    class_names: list[str] = []
    for entry in sorted(folder.iterdir()):
        # Hidden folders (.ipynb_checkpoints, .git) and __MACOSX are never classes.
        if entry.is_dir() and not entry.name.startswith(".") and entry.name != "__MACOSX":
            class_names.append(entry.name)
        else:
            ignored.append(_relative(entry, folder))
    if not class_names:
        raise DataError(
            f"no class subfolders in {folder.resolve()}: expected one subfolder of images "
            "per class, e.g. daisy/*.jpg, rose/*.jpg"
        )

    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(class_names):
        count = 0
        for entry in sorted((folder / name).iterdir()):
            if entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS:
                files.append(entry)
                labels.append(index)
                count += 1
            else:
                ignored.append(_relative(entry, folder))
        if count == 0:
            raise DataError(
                f"the class folder {(folder / name).resolve()} has no image files "
                f"({' '.join(sorted(IMAGE_EXTENSIONS))})"
            )
    return class_names, files, np.array(labels, dtype=np.int64), ignored


def _decode_all(
    folder: Path, files: list[Path], size: tuple[int, int], progress: bool | None
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """uint8 pixels of the readable files, the indices of those files, and the skipped ones."""
    height, width = size
    # Filled in place, one image at a time: no list of N small arrays, no extra copy.
    pixels = np.empty((len(files), height, width, 3), dtype=np.uint8)
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    bar = progress_bar(len(files), progress, f"decoding {folder.name}", unit="img", iterable=files)
    for index, path in enumerate(bar):
        try:
            pixels[len(kept)] = _decode(path, height, width)
        except Exception as error:  # noqa: BLE001 — any decoder failure means "skip this file"
            skipped.append((_relative(path, folder), f"{type(error).__name__}: {error}"))
            continue
        kept.append(index)
    bar.close()
    # Drop the unused tail slots; copy so the big buffer is not kept alive by a view.
    pixels = pixels[: len(kept)].copy() if skipped else pixels
    return pixels, np.array(kept, dtype=np.int64), skipped


def _decode(path: Path, height: int, width: int) -> np.ndarray:
    """One image as uint8 ``(height, width, 3)``."""
    with Image.open(path) as image:
        image.load()  # decode now, so a truncated file fails here and not later
        rgb = image.convert("RGB")
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def _from_arrays(
    stored: dict[str, np.ndarray], class_names: list[str], size: tuple[int, int]
) -> ImageFolder | None:
    """The cached result, or None if the arrays are inconsistent (then the entry is rebuilt)."""
    pixels, labels, paths = stored["pixels"], stored["labels"], stored["paths"]
    count = len(labels)
    consistent = (
        pixels.dtype == np.uint8
        and pixels.shape == (count, *size, 3)
        and labels.dtype == np.int64
        and labels.ndim == 1
        and paths.shape == (count,)
        and list(stored["class_names"]) == class_names
        and (count == 0 or (labels.min() >= 0 and labels.max() < len(class_names)))
        and stored["skipped_paths"].shape == stored["skipped_reasons"].shape
    )
    if not consistent:
        return None
    return ImageFolder(
        images=pixels.astype(np.float32),
        labels=labels,
        class_names=list(class_names),
        paths=[str(p) for p in paths],
        skipped=[(str(p), str(r)) for p, r in zip(stored["skipped_paths"], stored["skipped_reasons"], strict=False)],
        from_cache=True,
    )


def _warn_skipped(folder: Path, skipped: list[tuple[str, str]], total: int) -> None:
    if skipped:
        listed = "; ".join(f"{path} ({reason})" for path, reason in skipped[:_LISTED])
        more = f"; and {len(skipped) - _LISTED} more" if len(skipped) > _LISTED else ""
        warnings.warn(
            f"skipped {len(skipped)} of {total} images in {folder} that could not be read: "
            f"{listed}{more}",
            stacklevel=3,
        )


def _listing(paths: list[str]) -> str:
    listed = ", ".join(paths[:_LISTED])
    return listed + (f", and {len(paths) - _LISTED} more" if len(paths) > _LISTED else "")


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()
