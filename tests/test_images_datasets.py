"""Image data sets: flowers, office31 (real layout), the office31 stand-in, and the
multi-select head they train (gradient check, PyTorch parity).

Every test writes a small tree of JPEGs into tmp_path (the real photos are not needed)
and points ALZZA_CACHE into tmp_path, so the user's cache is never touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _image_data import FLOWER_CLASSES
from _image_data import write_flowers as _write_flowers
from PIL import Image

from alzza.data import make_dataset
from alzza.data.sets.images import (
    FlowersDataset,
    Office31Dataset,
    Office31StandinDataset,
    render_gray,
    render_lowres,
)
from alzza.errors import DataError, SpecError
from alzza.heads import MultiSelectHead
from alzza.models import Model

DOMAINS = ["amazon", "dslr", "webcam"]
OBJECTS = ["back_pack", "bike", "mug"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ALZZA_DATA", raising=False)


def write_flowers(root: Path, per_class: int = 6, size=(16, 20), seed: int = 0) -> Path:
    """Random-noise photos (so low resolution shows), no class signal."""
    return _write_flowers(root, per_class, size, seed, class_signal=False, quality=95)


def office_colour(domain: int, obj: int) -> np.ndarray:
    """A flat colour that encodes (domain, object): the domain's channel is bright."""
    colour = np.full(3, 30 + 50 * obj, dtype=np.uint8)
    colour[domain] = 230
    return colour


def write_office(root: Path, objects=None, per: int = 3, size=(12, 12)) -> Path:
    """<root>/office31/{amazon,dslr,webcam}/images/<object>/*.jpg, flat colours."""
    objects = objects or {d: OBJECTS for d in DOMAINS}
    for d, domain in enumerate(DOMAINS):
        for o, obj in enumerate(objects[domain]):
            folder = root / "office31" / domain / "images" / obj
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per):
                pixels = np.broadcast_to(office_colour(d, OBJECTS.index(obj) if obj in OBJECTS else o),
                                         (*size, 3)).copy()
                Image.fromarray(pixels).save(folder / f"frame_{i:04d}.jpg", quality=95)
    return root


def all_data(ds):
    parts = [ds.train_data(), ds.validate_data(), ds.test_data()]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# --------------------------------------------------------------------------- flowers
def test_flowers_flat_shapes_names_and_split(tmp_path):
    data = write_flowers(tmp_path / "data")
    ds = make_dataset({"name": "flowers", "resolution": [8, 10]}, data_dir=data, seed=0)
    assert ds.mode == "select"
    assert ds.input_shape == (8 * 10 * 3,) and ds.output_shape == (5,)
    assert ds.target_names == FLOWER_CLASSES
    # 30 images: train int(30*0.8/10)*10 = 20, validate int(1.5) = 1, test 9
    assert (ds.train_count, ds.validate_count, ds.test_count) == (20, 1, 9)
    assert str(ds) == "flowers(select, 20+9+1)"
    x, y = ds.train_data()
    assert x.dtype == np.float32 and x.shape == (20, 240)
    assert x.max() > 1.5 and x.min() >= 0 and x.max() <= 255  # raw 0–255, as the book
    assert np.all(y.sum(axis=1) == 1)
    assert ds.describe_input(x[0]) == "image 8×10"


def test_flowers_hwc_and_default_resolution(tmp_path):
    data = write_flowers(tmp_path / "data", per_class=2)
    ds = make_dataset({"name": "flowers", "flatten": False}, data_dir=data, seed=0)
    assert ds.input_shape == (100, 100, 3)
    assert ds.train_data()[0].shape[1:] == (100, 100, 3)


def test_flowers_scale_divides_by_255_and_is_named(tmp_path):
    data = write_flowers(tmp_path / "data")
    raw = make_dataset({"name": "flowers", "resolution": [8, 8]}, data_dir=data, seed=5)
    scaled = make_dataset({"name": "flowers", "resolution": [8, 8], "scale": True},
                          data_dir=data, seed=5)
    assert scaled.name == "flowers-scaled" and raw.name == "flowers"
    assert scaled.train_data()[0].max() <= 1.0
    np.testing.assert_allclose(scaled.train_data()[0] * 255, raw.train_data()[0], atol=1e-3)
    np.testing.assert_array_equal(scaled.train_data()[1], raw.train_data()[1])


@pytest.mark.parametrize("flatten", [True, False])
@pytest.mark.parametrize("scale", [False, True])
def test_input_images_round_trip(tmp_path, flatten, scale):
    data = write_flowers(tmp_path / "data")
    ds = make_dataset({"name": "flowers", "resolution": [8, 10], "flatten": flatten, "scale": scale},
                      data_dir=data, seed=1)
    x = ds.test_data()[0]
    pictures = ds.input_images(x)
    assert pictures.dtype == np.uint8 and pictures.shape == (len(x), 8, 10, 3)
    original = x.reshape(len(x), 8, 10, 3) * (255 if scale else 1)
    np.testing.assert_allclose(pictures, original, atol=0.51)
    assert ds.input_images(x[0]).shape == (1, 8, 10, 3)  # one row works too


def test_flowers_missing_folder_follows_the_data_dir_rule(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as info:
        make_dataset("flowers", data_dir=empty)
    text = str(info.value)
    assert str(empty / "flowers") in text and "--data-dir" in text and "flowers" in text


@pytest.mark.parametrize("bad", [[100], [0, 10], ["a", 3], [True, 4]])
def test_flowers_bad_resolution_is_a_spec_error(tmp_path, bad):
    with pytest.raises(SpecError, match="resolution"):
        make_dataset({"name": "flowers", "resolution": bad}, data_dir=tmp_path)


def test_flowers_direct_construction_checks_options(tmp_path):
    with pytest.raises(DataError, match="flatten"):
        FlowersDataset(data_dir=tmp_path, flatten="yes")


# --------------------------------------------------------------------------- office31
def test_office31_domain_object_targets(tmp_path):
    data = write_office(tmp_path / "data")
    ds = make_dataset({"name": "office31", "resolution": [6, 6]}, data_dir=data, seed=0)
    assert isinstance(ds, Office31Dataset)
    assert ds.mode == "multi-select" and ds.name == "office31"
    assert ds.head_sizes == (3, 3) and ds.output_shape == (6,)
    assert ds.head_names == ["domain", "object"]
    assert ds.target_names == [DOMAINS, OBJECTS]
    assert ds.train_count + ds.validate_count + ds.test_count == 27
    x, y = all_data(ds)
    # two one-hot groups side by side
    assert np.all(y[:, :3].sum(axis=1) == 1) and np.all(y[:, 3:].sum(axis=1) == 1)
    assert np.all(y.sum(axis=0)[:3] == 9) and np.all(y.sum(axis=0)[3:] == 9)
    # each target matches the colour its picture was drawn with
    pictures = ds.input_images(x).astype(np.float32)
    for picture, target in zip(pictures, y, strict=False):
        domain, obj = int(target[:3].argmax()), int(target[3:].argmax())
        np.testing.assert_allclose(picture.mean(axis=(0, 1)), office_colour(domain, obj), atol=6)


def test_office31_hwc(tmp_path):
    data = write_office(tmp_path / "data", per=2)
    ds = make_dataset({"name": "office31", "resolution": [5, 7], "flatten": False},
                      data_dir=data, seed=0)
    assert ds.input_shape == (5, 7, 3)


def test_office31_objects_must_match_in_every_domain(tmp_path):
    objects = {"amazon": OBJECTS, "dslr": OBJECTS, "webcam": ["back_pack", "bike", "pen"]}
    data = write_office(tmp_path / "data", objects=objects)
    with pytest.raises(DataError, match="same object folders") as info:
        make_dataset({"name": "office31", "resolution": [4, 4]}, data_dir=data)
    assert "webcam" in str(info.value) and "mug" in str(info.value) and "pen" in str(info.value)


def test_office31_missing_folder_names_the_path(tmp_path):
    with pytest.raises(DataError) as info:
        make_dataset("office31", data_dir=tmp_path)
    assert str(tmp_path / "office31") in str(info.value)


def test_office31_missing_domain_names_the_path(tmp_path):
    data = write_office(tmp_path / "data", per=1)
    for path in sorted((data / "office31" / "dslr").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (data / "office31" / "dslr").rmdir()
    with pytest.raises(DataError) as info:
        make_dataset({"name": "office31", "resolution": [4, 4]}, data_dir=data)
    text = str(info.value)
    assert "office31/dslr/images" in text and str(data / "office31" / "dslr" / "images") in text


# --------------------------------------------------------------------------- stand-in
def standin(data, seed=0, **options):
    spec = {"name": "office31-standin", "resolution": [16, 16], **options}
    return make_dataset(spec, data_dir=data, seed=seed)


def _domain_examples(ds, domain):
    x, y = all_data(ds)
    return ds.input_images(x[y[:, domain] == 1]).astype(np.float32)


def test_standin_shape_names_and_domains(tmp_path):
    data = write_flowers(tmp_path / "data", size=(16, 16))
    ds = standin(data)
    assert isinstance(ds, Office31StandinDataset)
    assert ds.name == "office31-standin" and "standin" in str(ds)
    assert str(ds).startswith("office31-standin(multi-select, ")
    assert "stand-in built from the flower photos" in ds.source
    assert "Office-31 is not available here" in ds.source
    assert ds.head_sizes == (3, 5) and ds.output_shape == (8,)
    assert ds.target_names == [["photo", "gray", "lowres"], FLOWER_CLASSES]
    assert ds.head_names == ["domain", "object"]
    x, y = all_data(ds)
    assert len(x) == 30  # each photo appears once
    domain_counts = y[:, :3].sum(axis=0)
    assert list(domain_counts) == [10, 10, 10]
    assert list(y[:, 3:].sum(axis=0)) == [6] * 5


def test_standin_gray_and_lowres_renderings(tmp_path):
    data = write_flowers(tmp_path / "data", size=(16, 16))
    ds = standin(data)
    photo, gray, lowres = (_domain_examples(ds, d) for d in range(3))
    assert np.all(gray[..., 0] == gray[..., 1]) and np.all(gray[..., 1] == gray[..., 2])
    assert not np.all(photo[..., 0] == photo[..., 1])

    def roughness(images):  # mean jump between horizontal neighbours
        return float(np.abs(np.diff(images, axis=2)).mean())

    # noise photos: the low-resolution rendering has lost the pixel-level detail
    assert roughness(lowres) < 0.5 * roughness(photo)


def test_render_functions_keep_shape_and_dtype():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 16, 12, 3), dtype=np.uint8)
    low = render_lowres(images)
    gray = render_gray(images)
    assert low.shape == images.shape == gray.shape and low.dtype == gray.dtype == np.uint8
    assert not np.array_equal(low, images)
    flat = np.full((1, 8, 8, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(render_lowres(flat), flat)  # a flat image stays flat
    np.testing.assert_array_equal(render_gray(flat), flat)


def test_standin_is_deterministic_given_the_seed(tmp_path):
    data = write_flowers(tmp_path / "data", size=(16, 16))
    a, b, c = standin(data, seed=7), standin(data, seed=7), standin(data, seed=8)
    for split in ("train_data", "validate_data", "test_data"):
        np.testing.assert_array_equal(getattr(a, split)()[0], getattr(b, split)()[0])
        np.testing.assert_array_equal(getattr(a, split)()[1], getattr(b, split)()[1])
    assert not np.array_equal(a.train_data()[1], c.train_data()[1])


def test_standin_scale_and_hwc(tmp_path):
    data = write_flowers(tmp_path / "data", size=(16, 16))
    ds = standin(data, scale=True, flatten=False)
    assert ds.name == "office31-standin-scaled" and ds.input_shape == (16, 16, 3)
    assert ds.train_data()[0].max() <= 1.0


def test_office31_or_standin_picks_the_real_one_when_present(tmp_path, capsys):
    data = write_office(tmp_path / "data", per=2)
    ds = make_dataset({"name": "office31-or-standin", "resolution": [4, 4]}, data_dir=data)
    assert ds.name == "office31"
    assert "using Office-31" in capsys.readouterr().out


def test_office31_or_standin_falls_back_to_the_standin(tmp_path, capsys):
    data = write_flowers(tmp_path / "data", per_class=2, size=(8, 8))
    ds = make_dataset({"name": "office31-or-standin", "resolution": [8, 8]}, data_dir=data)
    assert ds.name == "office31-standin"
    out = capsys.readouterr().out
    assert "stand-in" in out and "office31-standin" in out


def test_second_load_comes_from_the_cache(tmp_path, capsys):
    data = write_flowers(tmp_path / "data", per_class=2, size=(8, 8))
    make_dataset({"name": "flowers", "resolution": [8, 8]}, data_dir=data)
    files = list((tmp_path / "cache").glob("image-folder-*.npz"))
    assert len(files) == 1
    again = make_dataset({"name": "flowers", "resolution": [8, 8]}, data_dir=data)
    assert again.train_count + again.validate_count + again.test_count == 10
    assert list((tmp_path / "cache").glob("image-folder-*.npz")) == files


# --------------------------------------------------------------------------- multi-select head
def _multi_problem(rng, n=6, sizes=(3, 4)):
    logits = rng.normal(0, 2, size=(n, sum(sizes)))
    first, second = rng.integers(0, sizes[0], n), rng.integers(0, sizes[1], n)
    y = np.zeros_like(logits)
    y[np.arange(n), first] = 1
    y[np.arange(n), sizes[0] + second] = 1
    return logits, y, first, second


def test_multi_select_model_gradients():
    rng = np.random.default_rng(0)
    model = Model(None, [5], input_shape=(4,), output_shape=(7,), mode="multi-select",
                  head_sizes=(3, 4), dtype="float64", seed=0, init={"scheme": "normal", "std": 0.5})
    x = rng.normal(size=(6, 4))
    _, y, _, _ = _multi_problem(rng)
    from alzza import testing

    errors = testing.check_model_gradients(model, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_multi_select_head_output_gradient_numerically():
    """Central differences on the logits, independent of alzza.testing."""
    rng = np.random.default_rng(1)
    logits, y, _, _ = _multi_problem(rng)
    head = MultiSelectHead((3, 4))
    head.loss(logits, y)
    analytic = head.backward()
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        old = logits[idx]
        logits[idx] = old + 1e-6
        plus = head.loss(logits, y)
        logits[idx] = old - 1e-6
        minus = head.loss(logits, y)
        logits[idx] = old
        numeric[idx] = (plus - minus) / 2e-6
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)


def test_multi_select_head_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits, y, first, second = _multi_problem(rng, n=8, sizes=(3, 31))
    head = MultiSelectHead((3, 31))
    loss = head.loss(logits, y)
    grad = head.backward()
    t_logits = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    cross_entropy = torch.nn.CrossEntropyLoss()
    t_loss = (cross_entropy(t_logits[:, :3], torch.tensor(first))
              + cross_entropy(t_logits[:, 3:], torch.tensor(second)))
    t_loss.backward()
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-10)
    np.testing.assert_allclose(grad, t_logits.grad.numpy(), rtol=1e-9, atol=1e-12)
    accuracy = head.accuracy(logits, y)
    assert accuracy == (float(np.mean(logits[:, :3].argmax(1) == first)),
                        float(np.mean(logits[:, 3:].argmax(1) == second)))
