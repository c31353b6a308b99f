"""The image-folder reader and the disk cache it uses.

Small trees of JPEG/PNG files are written by each test into tmp_path; caches live in
tmp_path too, never in the user's cache. One test reads the real flowers folder when it
is present.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alzza.data.store.cache import DiskCache, cache_key, default_cache_root, str_array
from alzza.data.readers.image_folder import ImageFolder, read_image_folder
from alzza.errors import DataError

FLOWERS = Path(os.environ.get("ALZZA_FLOWERS", "/work/shared/data/flowers"))
CLASSES = ["cat", "apple", "bird"]  # deliberately unsorted: the reader sorts them


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Whatever a test does, a default DiskCache() must not touch the user's cache."""
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "env-cache"))


def write_image(path: Path, rng: np.random.Generator, size=(20, 30)) -> np.ndarray:
    """A random-colour image of ``size = (height, width)``; returns its pixels."""
    pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def make_tree(root: Path, per_class: int = 4, seed: int = 0) -> Path:
    """3 classes × ``per_class`` images of 20×30, alternating JPEG and PNG."""
    rng = np.random.default_rng(seed)
    for name in CLASSES:
        for i in range(per_class):
            ext = ".jpg" if i % 2 == 0 else ".PNG"  # upper case extensions count too
            write_image(root / name / f"img{i}{ext}", rng)
    return root


def read(folder, resolution=(8, 12), cache=None):
    return read_image_folder(folder, resolution, cache=cache, progress=False)


def read_quietly(folder, resolution=(8, 12), cache=None) -> tuple[ImageFolder, list[str]]:
    """Read and return the warning messages given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read(folder, resolution, cache)
    return result, [str(w.message) for w in caught]


def leftover_temp_files(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.suffix != ".npz"] if root.exists() else []


# ---------------------------------------------------------------- reading


def test_classes_sorted_and_labels_follow_them(tmp_path):
    result = read(make_tree(tmp_path / "data"))
    assert result.class_names == ["apple", "bird", "cat"]
    assert result.labels.dtype == np.int64
    assert result.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert result.paths[:4] == ["apple/img0.jpg", "apple/img1.PNG", "apple/img2.jpg", "apple/img3.PNG"]
    for path, label in zip(result.paths, result.labels, strict=False):
        assert path.split("/")[0] == result.class_names[label]
    assert result.skipped == [] and result.ignored == [] and not result.from_cache


def test_resized_float32_pixels_in_0_255(tmp_path):
    result = read(make_tree(tmp_path / "data"), resolution=(8, 12))
    assert result.images.shape == (12, 8, 12, 3)
    assert result.images.dtype == np.float32
    assert result.resolution == (8, 12)
    assert 0.0 <= result.images.min() and result.images.max() <= 255.0
    assert result.images.max() > 1.0  # not scaled to [0, 1]
    flat = result.flat()
    assert flat.shape == (12, 8 * 12 * 3) and np.shares_memory(flat, result.images)


def test_pixels_match_pillow_resize(tmp_path):
    rng = np.random.default_rng(1)
    original = write_image(tmp_path / "data" / "only" / "a.png", rng)  # PNG: lossless
    result = read(tmp_path / "data", resolution=(10, 15))
    expected = np.asarray(Image.fromarray(original).resize((15, 10), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(result.images[0], expected.astype(np.float32))


def test_same_resolution_keeps_pixels_exactly(tmp_path):
    rng = np.random.default_rng(2)
    original = write_image(tmp_path / "data" / "only" / "a.png", rng, size=(20, 30))
    result = read(tmp_path / "data", resolution=(20, 30))
    np.testing.assert_array_equal(result.images[0], original.astype(np.float32))


def test_grey_and_rgba_images_become_rgb(tmp_path):
    folder = tmp_path / "data" / "mixed"
    folder.mkdir(parents=True)
    Image.new("L", (5, 7), 200).save(folder / "grey.png")
    Image.new("RGBA", (5, 7), (10, 20, 30, 128)).save(folder / "rgba.png")
    Image.new("P", (5, 7), 3).save(folder / "palette.gif")
    result = read(tmp_path / "data", resolution=(4, 4))
    assert result.images.shape == (3, 4, 4, 3)
    assert result.paths == ["mixed/grey.png", "mixed/palette.gif", "mixed/rgba.png"]
    np.testing.assert_array_equal(result.images[0], 200.0)
    np.testing.assert_array_equal(result.images[2][..., 0], 10.0)


def test_missing_folder_error_names_the_path(tmp_path):
    missing = tmp_path / "no" / "such" / "flowers"
    with pytest.raises(DataError, match="not found") as info:
        read(missing)
    assert str(missing) in str(info.value)


def test_folder_without_class_subfolders(tmp_path):
    folder = tmp_path / "flat"
    write_image(folder / "a.jpg", np.random.default_rng(0))
    with pytest.raises(DataError, match="no class subfolders") as info:
        read(folder)
    assert str(folder) in str(info.value)


def test_empty_class_folder_is_an_error_naming_it(tmp_path):
    folder = make_tree(tmp_path / "data")
    (folder / "empty").mkdir()
    (folder / "empty" / "readme.txt").write_text("nothing here")
    with pytest.raises(DataError, match="no image files") as info:
        read(folder)
    assert str(folder / "empty") in str(info.value)


def test_class_folder_with_only_unreadable_images_is_an_error(tmp_path):
    folder = make_tree(tmp_path / "data")
    (folder / "broken").mkdir()
    (folder / "broken" / "x.jpg").write_bytes(b"not a jpeg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="no readable image") as info:
            read(folder)
    assert str(folder / "broken") in str(info.value)


def test_corrupt_images_are_skipped_with_a_warning_and_counted(tmp_path):
    folder = make_tree(tmp_path / "data")
    rng = np.random.default_rng(5)
    (folder / "bird" / "garbage.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    whole = (folder / "cat" / "img0.jpg").read_bytes()
    (folder / "cat" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])

    result, messages = read_quietly(folder)

    assert len(result) == 12
    assert [path for path, _ in result.skipped] == ["bird/garbage.jpg", "cat/truncated.jpg"]
    assert all(reason for _, reason in result.skipped)
    assert "bird/garbage.jpg" not in result.paths and "cat/truncated.jpg" not in result.paths
    summary = [m for m in messages if m.startswith("skipped")]
    assert len(summary) == 1
    assert "skipped 2 of 14 images" in summary[0]
    assert "bird/garbage.jpg" in summary[0] and "cat/truncated.jpg" in summary[0]
    # Labels stay aligned with paths after the gaps.
    for path, label in zip(result.paths, result.labels, strict=False):
        assert path.split("/")[0] == result.class_names[label]


def test_non_image_files_are_ignored_and_mentioned_once(tmp_path):
    folder = make_tree(tmp_path / "data")
    (folder / "apple" / "notes.txt").write_text("picked in autumn")
    (folder / "bird" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / "README.md").write_text("flowers")
    (folder / ".ipynb_checkpoints").mkdir()

    result, messages = read_quietly(folder)

    assert len(result) == 12 and result.skipped == []
    assert result.class_names == ["apple", "bird", "cat"]
    assert sorted(result.ignored) == sorted(
        [".ipynb_checkpoints", "README.md", "apple/notes.txt", "bird/.DS_Store"]
    )
    ignored = [m for m in messages if m.startswith("ignored")]
    assert len(ignored) == 1 and "ignored 4 file(s)" in ignored[0] and "apple/notes.txt" in ignored[0]


def test_bad_resolution_is_refused(tmp_path):
    folder = make_tree(tmp_path / "data")
    with pytest.raises(ValueError, match="resolution"):
        read(folder, resolution=(0, 10))
    with pytest.raises(ValueError, match="resolution"):
        read(folder, resolution=64)


# ---------------------------------------------------------------- caching


def test_second_read_comes_from_the_cache(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")

    first = read(folder, cache=cache)
    second = read(folder, cache=cache)

    assert not first.from_cache and second.from_cache
    np.testing.assert_array_equal(first.images, second.images)
    assert second.images.dtype == np.float32
    np.testing.assert_array_equal(first.labels, second.labels)
    assert second.labels.dtype == np.int64
    assert (first.class_names, first.paths) == (second.class_names, second.paths)
    assert len(list((tmp_path / "cache").glob("image-folder-*.npz"))) == 1


def test_cache_hit_does_not_decode(tmp_path, monkeypatch):
    """A hit serves the pixels from the cache: the decoder is never called.

    (The key hashes the files' contents, so the old proof — overwrite the images with
    same-size zeros and restore their mtime — is now a miss: see test_hostile_cache.py.)
    """
    import alzza.data.readers.image_folder as image_folder

    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    first = read(folder, cache=cache)

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cache hit must not decode the images")

    monkeypatch.setattr(image_folder, "_decode_all", no_decoding)
    second, messages = read_quietly(folder, cache=cache)

    assert second.from_cache and messages == []
    np.testing.assert_array_equal(first.images, second.images)


def test_resolution_is_part_of_the_key(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    read(folder, (8, 12), cache=cache)
    other = read(folder, (6, 6), cache=cache)
    assert not other.from_cache and other.images.shape == (12, 6, 6, 3)
    assert read(folder, (8, 12), cache=cache).from_cache


def test_changed_file_invalidates_the_cache(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    first = read(folder, cache=cache)
    changed = folder / "bird" / "img1.PNG"
    new_pixels = write_image(changed, np.random.default_rng(99))
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    second = read(folder, cache=cache)

    assert not second.from_cache
    index = second.paths.index("bird/img1.PNG")
    expected = np.asarray(Image.fromarray(new_pixels).resize((12, 8), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(second.images[index], expected.astype(np.float32))
    assert not np.array_equal(first.images[index], second.images[index])
    assert read(folder, cache=cache).from_cache


def test_added_and_removed_files_invalidate_the_cache(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    read(folder, cache=cache)
    write_image(folder / "apple" / "new.jpg", np.random.default_rng(7))
    added = read(folder, cache=cache)
    assert not added.from_cache and len(added) == 13
    (folder / "cat" / "img2.jpg").unlink()
    removed = read(folder, cache=cache)
    assert not removed.from_cache and len(removed) == 12 and "cat/img2.jpg" not in removed.paths


def test_skipped_files_are_remembered_by_the_cache(tmp_path):
    folder = make_tree(tmp_path / "data")
    (folder / "cat" / "bad.jpg").write_bytes(b"GIF89a nonsense")
    cache = DiskCache(tmp_path / "cache")
    first, _ = read_quietly(folder, cache=cache)
    second, messages = read_quietly(folder, cache=cache)
    assert second.from_cache
    assert second.skipped == first.skipped and [p for p, _ in second.skipped] == ["cat/bad.jpg"]
    assert any("skipped 1 of 13 images" in m for m in messages)


def test_corrupt_cache_file_is_rebuilt_with_a_warning(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    first = read(folder, cache=cache)
    (cached,) = (tmp_path / "cache").glob("image-folder-*.npz")
    cached.write_bytes(b"garbage" * 100)

    with pytest.warns(UserWarning, match="corrupt"):
        rebuilt = read(folder, cache=cache)

    assert not rebuilt.from_cache
    np.testing.assert_array_equal(first.images, rebuilt.images)
    assert read(folder, cache=cache).from_cache  # and the rebuilt file is good


def test_truncated_cache_file_is_rebuilt(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    read(folder, cache=cache)
    (cached,) = (tmp_path / "cache").glob("image-folder-*.npz")
    data = cached.read_bytes()
    cached.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match="corrupt"):
        assert not read(folder, cache=cache).from_cache


def test_cache_with_inconsistent_contents_is_rebuilt(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    read(folder, cache=cache)
    (cached,) = (tmp_path / "cache").glob("image-folder-*.npz")
    key = cached.stem
    arrays = cache.load(key)
    arrays["labels"] = arrays["labels"][:-1]  # one label short
    cache.save(key, arrays)
    with pytest.warns(UserWarning, match="do not match"):
        assert not read(folder, cache=cache).from_cache
    assert read(folder, cache=cache).from_cache


def test_cache_is_written_atomically_without_temp_files(tmp_path):
    folder = make_tree(tmp_path / "data")
    cache = DiskCache(tmp_path / "cache")
    read(folder, cache=cache)
    read(folder, (5, 5), cache=cache)
    assert leftover_temp_files(tmp_path / "cache") == []
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


# ---------------------------------------------------------------- DiskCache itself


def test_disk_cache_round_trip_with_strings_and_no_pickle(tmp_path):
    files = [tmp_path / "a.bin", tmp_path / "b.bin"]
    for f in files:
        f.write_bytes(b"x")
    cache = DiskCache(tmp_path / "cache")
    key = cache_key("fft", {"window": 40}, files)
    assert key.startswith("fft-") and cache.load(key) is None
    arrays = {
        "x": np.arange(6, dtype=np.float32).reshape(2, 3),
        "names": str_array(["라벨", "label"]),
        "none": str_array([]),
    }
    assert cache.save(key, arrays)
    assert cache.path(key) == tmp_path / "cache" / f"{key}.npz"
    loaded = cache.load(key, expected=["x", "names"])
    assert loaded["x"].dtype == np.float32 and loaded["names"].tolist() == ["라벨", "label"]
    assert loaded["none"].shape == (0,) and loaded["none"].dtype.kind == "U"
    with np.load(cache.path(key), allow_pickle=False) as raw:  # readable without pickle
        assert set(raw.files) == {"x", "names", "none", "__checksum__"}  # + the entry's own checksum
    with pytest.raises(TypeError, match="pickle"):
        cache.save(key, {"bad": np.array([{"a": 1}], dtype=object)})
    assert leftover_temp_files(tmp_path / "cache") == []


def test_disk_cache_missing_expected_array_is_a_miss(tmp_path):
    cache = DiskCache(tmp_path / "cache")
    key = cache_key("thing", {}, [])
    cache.save(key, {"a": np.zeros(3, dtype=np.float32)})
    with pytest.warns(UserWarning, match="missing arrays"):
        assert cache.load(key, expected=["a", "b"]) is None
    assert not cache.path(key).exists()


def test_cache_key_depends_on_kind_params_and_file_stats(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    a, b = data / "a.jpg", data / "b.jpg"
    a.write_bytes(b"12345")
    b.write_bytes(b"678")
    base = cache_key("k", {"p": 1, "q": [2, 3]}, [a, b])
    assert base == cache_key("k", {"q": [2, 3], "p": 1}, [a, b])  # key order is irrelevant
    assert base != cache_key("other", {"p": 1, "q": [2, 3]}, [a, b])
    assert base != cache_key("k", {"p": 2, "q": [2, 3]}, [a, b])
    assert base != cache_key("k", {"p": 1, "q": [2, 3]}, [a])
    stat = a.stat()
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert base != cache_key("k", {"p": 1, "q": [2, 3]}, [a, b])
    # Relative paths: the same tree moved elsewhere (stats kept) gives the same key.
    key_here = cache_key("k", {}, [a, b], base=data)
    moved = tmp_path / "moved"
    data.rename(moved)
    assert key_here == cache_key("k", {}, [moved / "a.jpg", moved / "b.jpg"], base=moved)
    with pytest.raises(ValueError):
        cache_key("bad/kind", {}, [])


def test_default_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "mine"))
    assert default_cache_root() == tmp_path / "mine"
    assert DiskCache().root == tmp_path / "mine"
    monkeypatch.delenv("ALZZA_CACHE")
    assert default_cache_root().name == "cache"


def test_unwritable_cache_warns_and_goes_on(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    folder = make_tree(tmp_path / "data")
    with pytest.warns(UserWarning, match="could not write the cache"):
        result = read(folder, cache=DiskCache(blocker / "cache"))
    assert len(result) == 12


# ---------------------------------------------------------------- the real photos


@pytest.mark.skipif(not FLOWERS.is_dir(), reason=f"flowers photos not found at {FLOWERS}")
def test_real_flowers_folder(tmp_path):
    cache = DiskCache(tmp_path / "cache")
    start = time.perf_counter()
    first = read(FLOWERS, resolution=(16, 16), cache=cache)
    decode_seconds = time.perf_counter() - start
    start = time.perf_counter()
    second = read(FLOWERS, resolution=(16, 16), cache=cache)
    cached_seconds = time.perf_counter() - start

    assert first.class_names == ["daisy", "dandelion", "rose", "sunflower", "tulip"]
    assert len(first) + len(first.skipped) == 4317
    assert first.images.shape == (len(first), 16, 16, 3) and first.images.dtype == np.float32
    assert np.bincount(first.labels, minlength=5).min() > 0
    assert second.from_cache
    np.testing.assert_array_equal(first.images, second.images)
    print(f"flowers 16x16: decode {decode_seconds:.2f} s, cached {cached_seconds:.3f} s")
