"""Chapter 7–8 experiments (CNNs on flowers / Office-31, regularisers, decay) and their
pictures: conv kernels + feature maps (``maps``) and weight histograms (``weights``).

Smoke runs use a generated flower tree (80 small JPEGs, resized to the experiments'
96×96) and stop after 2 minibatches; ALZZA_CACHE points into a temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _image_data import write_flowers
from PIL import Image

from alzza import errors
from alzza.data import make_dataset
from alzza.experiments import run_experiment
from alzza.experiments.catalogue import (
    PICTURES,
    find_experiment,
    list_experiments,
    parse_experiment,
)
from alzza.saving.model_files import load_model
from alzza.models import Model
from alzza.viz.maps import kernel_pictures, panel_counts, show_maps
from alzza.viz.weights import weight_histograms, weight_stats

CHAPTER7 = ["flowers96-mlp-30-10-adam", "flowers96-mlp-30-10", "flowers-cnn-5-6", "flowers-cnn-3-6-12-24",
            "office31-cnn-relu", "office31-cnn-relu-50ep", "office31-cnn-sigmoid", "office31-cnn-tanh"]
CHAPTER8 = ["flowers-mlp-noreg", "flowers-mlp-l2", "flowers-mlp-l1",
            "flowers-cnn-plain", "flowers-cnn-dropout", "flowers-cnn-noise", "flowers-cnn-batchnorm",
            "office31-cnn-plain", "office31-cnn-dropout", "office31-cnn-noise", "office31-cnn-batchnorm"]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One flower tree and one image cache for the whole module (decoded once)."""
    root = tmp_path_factory.mktemp("cnn")
    return write_flowers(root / "data"), root / "cache"


@pytest.fixture
def flower_dir(shared, monkeypatch):
    data, cache = shared
    monkeypatch.setenv("ALZZA_CACHE", str(cache))
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    return data


def assert_png(path: Path):
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] > 50 and image.size[1] > 50
        return image.size


@pytest.fixture(scope="module")
def shipped():
    """The shipped experiments, parsed once (runs take the Experiment, not the name)."""
    return {e.name: e for e in list_experiments()}


def smoke(name_or_exp, flower_dir, tmp_path, **kw):
    out = tmp_path / "runs" / getattr(name_or_exp, "name", name_or_exp)
    result = run_experiment(name_or_exp, epochs=1, max_batches=2, data_dir=flower_dir, out=out, progress=False,
                            printer=lambda *_: None, **kw)
    return result, out


# --------------------------------------------------------------------------- catalogue
def test_chapter_7_and_8_experiments_are_shipped_with_book_figures(shipped):
    for name in CHAPTER7 + CHAPTER8:
        assert name in shipped, name
        exp = shipped[name]
        assert exp.chapter == (7 if name in CHAPTER7 else 8)
        if name.startswith("office31"):
            assert exp.dataset_name == "office31-or-standin" and "stand-in" in exp.notes
            assert isinstance(exp.book["accuracy"], list) and len(exp.book["accuracy"]) == 2
        elif name != "flowers-mlp-noreg":
            assert isinstance(exp.book["accuracy"], float)
        assert exp.dataset["resolution"] == [96, 96]
    assert shipped["flowers-cnn-3-6-12-24"].pictures == ["maps"]
    for name in ("flowers-mlp-noreg", "flowers-mlp-l2", "flowers-mlp-l1"):
        assert shipped[name].pictures == ["weights"]
    assert shipped["flowers-mlp-l2"].train["l2_decay"] == 0.1
    assert shipped["flowers-mlp-l1"].train["l1_decay"] == 0.01
    assert shipped["office31-cnn-relu-50ep"].train["epochs"] == 50
    assert shipped["office31-cnn-relu"].book == {"accuracy": [0.896, 0.541], "train_seconds": 465}
    sigmoid = shipped["office31-cnn-sigmoid"].layers
    assert [spec[1].get("actfunc") for spec in sigmoid if spec[0] == "conv"] == ["sigmoid"] * 3
    # the chapter 8 CNNs are the chapter 7 CNN with a regulariser: dropout after each pooling
    # (cnn_reg_test#6), noise and batch_normal before each conv, the first on the raw input (#7, #8)
    base = shipped["flowers-cnn-plain"].layers
    assert base == shipped["flowers-cnn-3-6-12-24"].layers
    for reg, kind in (("dropout", "dropout"), ("noise", "noise"), ("batchnorm", "batch_normal")):
        layers = shipped[f"flowers-cnn-{reg}"].layers
        assert [s for s in layers if s[0] != kind] == base
        if kind == "dropout":
            assert [layers[i - 1][0] for i, s in enumerate(layers) if s[0] == kind] == ["max", "max", "avg"]
        else:
            assert [layers[i + 1][0] for i, s in enumerate(layers) if s[0] == kind] == ["conv"] * 3
            assert layers[0][0] == kind
        assert shipped[f"office31-cnn-{reg}"].layers == layers


def test_unknown_picture_is_an_experiment_error_with_a_hint():
    data = {"name": "x", "dataset": "steel", "model": {"layers": [4]}, "pictures": ["mapz"]}
    with pytest.raises(errors.ExperimentError, match=r"pictures\[0\].*'mapz'.*did you mean 'maps'"):
        parse_experiment(data, "x.yaml")
    with pytest.raises(errors.ExperimentError, match="pictures"):
        parse_experiment({**data, "pictures": 3}, "x.yaml")
    assert parse_experiment({**data, "pictures": "weights"}, "x.yaml").pictures == ["weights"]
    assert set(PICTURES) == {"maps", "weights", "attention"}


def test_maps_on_a_network_without_conv_fails_before_training(flower_dir, tmp_path):
    exp = find_experiment("flowers-mlp-l1")
    exp.pictures = ["maps"]
    with pytest.raises(errors.ExperimentError, match="no top-level 'conv'"):
        run_experiment(exp, epochs=1, max_batches=1, data_dir=flower_dir, out=tmp_path / "x",
                       progress=False, printer=lambda *_: None)
    assert not (tmp_path / "x" / "result.json").exists()


# --------------------------------------------------------------------------- smoke runs
#: these two run by name in their own tests below (maps, weights)
SMOKED_ELSEWHERE = ("flowers-cnn-3-6-12-24", "flowers-mlp-l1")


@pytest.mark.parametrize("name", [n for n in CHAPTER7 + CHAPTER8 if n not in SMOKED_ELSEWHERE])
def test_chapter_7_8_experiment_smoke_run(name, flower_dir, tmp_path, shipped):
    exp = shipped[name]
    result, out = smoke(exp, flower_dir, tmp_path)
    on_disk = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert on_disk["experiment"] == name and on_disk["epochs"] == 1
    assert on_disk["pictures"]["training"] == "training.png"
    assert on_disk["pictures"]["visualize"] == "visualize.png"
    assert_png(out / "training.png")
    for picture in exp.pictures:
        assert on_disk["pictures"][picture] == f"{picture}.png"
        assert_png(out / f"{picture}.png")
    assert ("weights" in on_disk) == ("weights" in exp.pictures)
    if name.startswith("office31"):
        assert result["dataset"].startswith("office31-standin(multi-select")
        assert len(result["metrics"]["accuracy"]) == 2
    else:
        assert result["dataset"].startswith("flowers(select")


def test_maps_run_draws_one_panel_per_kernel_and_map(flower_dir, tmp_path):
    result, out = smoke("flowers-cnn-3-6-12-24", flower_dir, tmp_path)
    assert result["pictures"]["maps"] == "maps.png" and "weights" not in result
    assert_png(out / "training.png")
    size = assert_png(out / "maps.png")
    ds = make_dataset(find_experiment("flowers-cnn-3-6-12-24").dataset, data_dir=flower_dir, seed=1234)
    model = load_model(out / "model.npz", dataset=ds, printer=lambda *_: None)
    x, _ = ds.test_data()
    fig = show_maps(model, x[:3], tmp_path / "again.png", show=False)
    kernels, examples = 6 + 12 + 24, 3
    assert panel_counts(fig) == {"kernel": kernels, "map": examples * kernels, "input": 3 * examples}
    assert len(fig.axes) == kernels + examples * kernels + 3 * examples
    assert assert_png(tmp_path / "again.png") == size  # the runner drew the same layout


def test_show_maps_kernels_and_errors(flower_dir, tmp_path):
    ds = make_dataset({"name": "flowers", "resolution": [16, 16], "flatten": False}, data_dir=flower_dir, seed=0)
    model = Model(ds, [["conv", {"ksize": 3, "chn": 4}], ["max", {"stride": 2}],
                       ["conv", {"ksize": [1, 3], "chn": 40}]], seed=0, printer=lambda *_: None)
    x, _ = ds.test_data()
    fig = show_maps(model, x[:2], examples=2, max_channels=8, show=False)
    assert panel_counts(fig) == {"kernel": 4 + 8, "map": 2 * (4 + 8), "input": 2 * 2}
    rgb, gray = kernel_pictures(model.layers[0].params["k"]), kernel_pictures(model.layers[2].params["k"])
    assert len(rgb) == 4 and rgb[0].shape == (3, 3, 3) and gray[0].shape == (1, 3)
    for picture in rgb + gray:
        assert picture.min() >= 0.0 and picture.max() <= 1.0
    mlp = Model(make_dataset({"name": "flowers", "resolution": [8, 8]}, data_dir=flower_dir, seed=0), [4],
                seed=0, printer=lambda *_: None)
    with pytest.raises(ValueError, match="conv"):
        show_maps(mlp, np.zeros((1, 192)), show=False)


def test_weights_run_reports_statistics_per_slot(flower_dir, tmp_path):
    result, out = smoke("flowers-mlp-l1", flower_dir, tmp_path)
    assert result["pictures"]["weights"] == "weights.png"
    assert_png(out / "weights.png")
    on_disk = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert on_disk["experiment"] == "flowers-mlp-l1" and on_disk["pictures"]["training"] == "training.png"
    assert_png(out / "training.png")
    assert list(on_disk["weights"]) == ["layers[0]/w", "layers[1]/w", "output/w"]
    for stats in on_disk["weights"].values():
        assert {"mean", "std", "near_zero", "count", "shape"} <= set(stats)
        assert 0.0 <= stats["near_zero"] <= 1.0 and stats["std"] > 0
    assert on_disk["weights"]["layers[0]/w"]["shape"] == [96 * 96 * 3, 30]


def test_weight_histograms_one_titled_panel_per_decayed_slot(tmp_path):
    model = Model(None, [["conv", {"ksize": 3, "chn": 2}], 5], input_shape=(6, 6, 3), output_shape=(3,),
                  mode="select", seed=0, printer=lambda *_: None)
    fig, stats = weight_histograms(model, tmp_path / "w.png", show=False)
    assert list(stats) == ["layers[0]/k", "layers[1]/w", "output/w"]  # no biases
    assert len(fig.axes) == 3
    for ax, name in zip(fig.axes, stats, strict=False):
        assert ax.get_title().startswith(name) and "σ" in ax.get_title() and "|w|<0.001" in ax.get_title()
    assert_png(tmp_path / "w.png")
    s = weight_stats(np.array([0.0, 0.0005, -0.5, 0.5]))
    assert s["near_zero"] == 0.5 and s["count"] == 4
    assert s["mean"] == pytest.approx(0.000125) and s["std"] == pytest.approx(np.std([0.0, 0.0005, -0.5, 0.5]))


# --------------------------------------------------------------------------- behaviour
def _decay_run(l1_decay: float) -> dict:
    """A tiny select problem: 3 of 40 input features carry the class, the rest is noise."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 40)).astype(np.float32)
    labels = np.argmax(x[:, :3], axis=1)
    y = np.eye(3, dtype=np.float32)[labels]
    model = Model(None, [8], input_shape=(40,), output_shape=(3,), mode="select", optimizer="sgd",
                  l1_decay=l1_decay, seed=0, printer=lambda *_: None)
    for _epoch in range(30):
        for i in range(0, 200, 10):
            model.train_step(x[i:i + 10], y[i:i + 10], 0.05)
    _, stats = weight_histograms(model, show=False)
    return stats


def test_l1_decay_drives_more_weights_near_zero_than_no_decay():
    plain, l1 = _decay_run(0.0), _decay_run(0.01)
    for slot in ("layers[0]/w", "output/w"):
        assert l1[slot]["near_zero"] > plain[slot]["near_zero"] + 0.2, (slot, plain[slot], l1[slot])
    assert l1["layers[0]/w"]["abs_mean"] < plain["layers[0]/w"]["abs_mean"]
