"""Pictures of visualize(): the captioned image grid, its PNG, Jupyter display, and
smoke runs of the chapter 5–6 image experiments writing all their files.

Small JPEG trees are written into tmp_path; ALZZA_CACHE points into tmp_path.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from _image_data import FLOWER_CLASSES, write_flowers
from PIL import Image

from alzza.data import make_dataset
from alzza.experiments import run_experiment
from alzza.models import Model
from alzza.viz.images import estimate_captions, image_grid, in_notebook, show_inline

IMAGE_EXPERIMENTS = ["flowers-mlp-10", "flowers-mlp-30-10", "office31-mlp-10",
                     "office31-mlp-64-32-10", "office31-mlp-64-32-10-adam"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ALZZA_DATA", raising=False)


def write_office(root: Path, per: int = 3, size=(12, 12)) -> Path:
    rng = np.random.default_rng(0)
    for domain in ("amazon", "dslr", "webcam"):
        for obj in ("back_pack", "bike", "mug"):
            folder = root / "office31" / domain / "images" / obj
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per):
                pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"frame_{i:04d}.jpg")
    return root


@pytest.fixture
def flower_dir(tmp_path) -> Path:
    return write_flowers(tmp_path / "data")


def assert_png(path: Path):
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        assert width > 50 and height > 50
    return width, height


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


# --------------------------------------------------------------------------- image_grid
def test_image_grid_panels_and_captions():
    images = np.zeros((7, 6, 5, 3), dtype=np.uint8)
    fig = image_grid(images, [f"caption {i}" for i in range(7)], columns=3, title="seven")
    assert len(fig.axes) == 7  # the two empty cells of the 3×3 grid are removed
    assert titles(fig) == [f"caption {i}" for i in range(7)]


def test_image_grid_checks_its_arguments():
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="captions"):
        image_grid(images, ["only one"])


# --------------------------------------------------------------------------- visualize
def test_visualize_writes_a_png_grid_with_class_captions(flower_dir, tmp_path):
    ds = make_dataset({"name": "flowers", "resolution": [10, 10]}, data_dir=flower_dir, seed=0)
    assert ds.validate_count == 4
    printed = []
    model = Model(ds, [6], seed=0, printer=printed.append)
    model.train(epochs=1, report=0)
    path = tmp_path / "out" / "visualize.png"
    lines = model.visualize(num=4, path=path)
    assert len(lines) == 4 and all(line.startswith("image 10×10 => estimate ") for line in lines)
    assert "Model flowers-model Visualization" in printed
    assert_png(path)
    fig = model.last_figure
    assert fig is not None and len(fig.axes) == 4
    for title in titles(fig):
        assert title.startswith("est: ") and " / ans: " in title
        assert title.endswith(("✓", "✗"))
        named = [name for name in FLOWER_CLASSES if name in title]
        assert named, title


def test_visualize_without_path_keeps_the_figure_only(flower_dir, tmp_path):
    ds = make_dataset({"name": "flowers", "resolution": [10, 10], "flatten": False,
                       "scale": True}, data_dir=flower_dir, seed=0)
    model = Model(ds, [4], seed=0, printer=lambda *_: None)
    model.visualize(num=2)
    assert len(model.last_figure.axes) == 2
    assert not list(tmp_path.rglob("*.png"))


def test_visualize_multi_select_captions_name_both_heads(flower_dir, tmp_path, capsys):
    ds = make_dataset({"name": "office31-standin", "resolution": [10, 10]},
                      data_dir=flower_dir, seed=0)
    model = Model(ds, [6], seed=0, printer=lambda *_: None)
    path = tmp_path / "multi.png"
    lines = model.visualize(num=4, path=path)
    assert len(lines) == 4 and all(" | " in line for line in lines)
    assert_png(path)
    assert len(model.last_figure.axes) == 4
    for title in titles(model.last_figure):
        domain_line, object_line = title.split("\n")
        assert domain_line.startswith("domain est: ")
        assert any(d in domain_line for d in ("photo", "gray", "lowres"))
        assert object_line.startswith("object est: ")
        assert any(name in object_line for name in FLOWER_CLASSES)


def test_visualize_on_tabular_data_draws_nothing(tabular_data_dir, tmp_path):
    ds = make_dataset("steel", data_dir=tabular_data_dir, seed=0)
    model = Model(ds, [4], seed=0, printer=lambda *_: None)
    path = tmp_path / "none.png"
    lines = model.visualize(num=2, path=path)
    assert len(lines) >= 1 and model.last_figure is None and not path.exists()


def test_estimate_captions_binary_and_select():
    class Head:
        mode = "binary"

    class Data:
        target_names = ("star", "pulsar")

    captions, colors = estimate_captions(Data(), Head(), np.array([[0.9], [0.2]]), np.array([[1.0], [1.0]]))
    assert captions[0].startswith("est: pulsar") and captions[0].endswith("✓")
    assert captions[1].startswith("est: star") and captions[1].endswith("✗")
    assert colors == ["tab:green", "tab:red"]


# --------------------------------------------------------------------------- Jupyter
def test_show_inline_does_nothing_outside_a_kernel(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    fig = image_grid(np.zeros((1, 4, 4, 3), dtype=np.uint8), ["x"])
    assert not in_notebook() and show_inline(fig) is False


def test_show_inline_displays_png_in_a_kernel(monkeypatch):
    shown = []
    display_module = types.ModuleType("IPython.display")
    display_module.Image = lambda data, format: ("image", format, data)
    display_module.display = shown.append
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    ipython.display = display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    fig = image_grid(np.zeros((2, 4, 4, 3), dtype=np.uint8), ["a", "b"])
    assert in_notebook() and show_inline(fig) is True
    assert len(shown) == 1 and shown[0][1] == "png" and shown[0][2].startswith(b"\x89PNG")
    # a terminal IPython (no kernel) is not a notebook
    ipython.get_ipython = lambda: types.SimpleNamespace()
    assert not in_notebook()


# --------------------------------------------------------------------------- smoke runs
@pytest.mark.parametrize("name", IMAGE_EXPERIMENTS)
def test_image_experiment_smoke_run(name, flower_dir, tmp_path, capsys):
    out = tmp_path / "runs" / name
    printed = []
    result = run_experiment(name, epochs=1, max_batches=2, data_dir=flower_dir, out=out,
                            progress=False, printer=printed.append)
    assert result["pictures"] == {"training": "training.png", "visualize": "visualize.png"}
    on_disk = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert on_disk["experiment"] == name and on_disk["pictures"]["visualize"] == "visualize.png"
    assert_png(out / "training.png")
    assert_png(out / "visualize.png")
    if name.startswith("office31"):
        # no office31 folder here: the stand-in is used, and it says so
        assert result["dataset"].startswith("office31-standin(multi-select")
        assert len(result["metrics"]["accuracy"]) == 2
        assert "using the stand-in" in capsys.readouterr().out
    else:
        assert result["dataset"].startswith("flowers(select")


def test_office31_experiment_uses_the_real_layout_when_present(tmp_path):
    data = write_office(tmp_path / "data")
    result = run_experiment("office31-mlp-10", epochs=1, max_batches=2, data_dir=data,
                            out=tmp_path / "run", progress=False, printer=lambda *_: None)
    assert result["dataset"].startswith("office31(multi-select")
    assert_png(tmp_path / "run" / "visualize.png")
