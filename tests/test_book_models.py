"""The book's chapter 9 models: exact parameter counts, the dummy data set, macro files.

SPEC §6 chapter 9 gives the parameter totals the book prints for its big models; the
shipped experiments (``alzza/experiments/book/*.yaml`` with the macros of
``alzza/experiments/macros/book9.yaml``) must build to exactly those numbers. The big
ones use the shapes-only ``dummy`` data set; the flower-sized ones are built here on a
dummy of the flower shapes too, so no data files are needed.
"""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest

from alzza.cli import main
from alzza.data import make_dataset
from alzza.errors import AlzzaError, ExperimentError, SpecError
from alzza.experiments import find_experiment, load_experiment_file
from alzza.experiments.runner import build_model

# name → (the book's parameter total (SPEC §6 chapter 9), input shape, classes)
BOOK_MODELS = {
    "inception-v3": (32_401_768, (299, 299, 3), 200),
    "vgg-19": (143_667_240, (224, 224, 3), 1000),
    "plain-34": (21_616_232, (224, 224, 3), 1000),
    "residual-34": (21_616_232, (224, 224, 3), 1000),
    "bottleneck-152": (57_344_360, (224, 224, 3), 1000),
    "inception-flower-la": (43_885, (96, 96, 3), 5),
    "inception-flower-lab": (43_885, (96, 96, 3), 5),
    "plain-flower": (173_637, (64, 64, 3), 5),
    "residual-flower": (173_637, (64, 64, 3), 5),
    "bottleneck-flower": (189_925, (64, 64, 3), 5),
}
FLOWER_MODELS = [name for name, (_, shape, _) in BOOK_MODELS.items() if shape[0] < 200]
FLOWER_CLASSES = 5


def _quiet(*_args, **_kwargs):
    pass


def _dataset_for(exp):
    """The experiment's own data set if it needs no files (dummy), else a dummy of its shapes."""
    if exp.dataset_name == "dummy":
        return make_dataset(exp.dataset)
    assert exp.dataset_name == "flowers" and exp.dataset.get("flatten") is False
    height, width = exp.dataset["resolution"]
    return make_dataset({"name": "dummy", "input_shape": [height, width, 3], "classes": FLOWER_CLASSES})


def _build(name, seed=0):
    exp = find_experiment(name)
    return exp, build_model(exp, _dataset_for(exp), seed=seed, printer=_quiet)


# --------------------------------------------------------------------------- counts
@pytest.mark.parametrize("name", list(BOOK_MODELS))
def test_book_model_parameter_count_is_exact(name):
    expected, input_shape, classes = BOOK_MODELS[name]
    exp, model = _build(name)
    assert exp.chapter == 9
    assert model.input_shape == input_shape
    assert model.output_shape == (classes,)
    assert model.parameter_count() == expected
    assert exp.book.get("parameters") == expected  # the experiment file states the book's figure too
    # the output layer sees a 1×1 grid (or VGG's 4096 features), as in the book
    assert model.layers[-1].input_shape in ((1, 1, 2048), (4096,), (1, 1, 512), (1, 1, 48), (1, 1, 64),
                                             (1, 1, 256))


@pytest.mark.parametrize("name", ["inception-v3", "plain-34"])
def test_alzza_summary_prints_the_book_total(name, capsys):
    assert main(["summary", name]) == 0
    out = capsys.readouterr().out
    total = re.search(r"Total parameters: ([\d,]+)", out)
    assert total, out[-500:]
    assert int(total.group(1).replace(",", "")) == BOOK_MODELS[name][0]


def test_flower_experiments_match_the_book_setting():
    for name in FLOWER_MODELS:
        exp = find_experiment(name)
        assert exp.dataset["name"] == "flowers"
        assert exp.dataset["resolution"] == [96, 96] if name.startswith("inception") else [64, 64]
        assert (exp.train["epochs"], exp.train["batch_size"], exp.train["learning_rate"]) == (10, 10, 0.001)
        assert exp.book["accuracy"] is not None and exp.book["train_seconds"] is not None
    la, lab = find_experiment("inception-flower-la"), find_experiment("inception-flower-lab")
    assert la.layers[0][1]["args"] == {"#act": "LA"} and lab.layers[0][1]["args"] == {"#act": "LAB"}


def test_building_allocates_parameters_only():
    """No activation buffers at build time: what is allocated is (about) the weights alone.

    The initialiser may draw in float64 before casting, so allow two extra copies of
    the largest weight array, plus a little slack for Python objects.
    """
    tracemalloc.start()
    try:
        _, model = _build("residual-34")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    arrays = [p for layer in model.network.walk() for p in layer.params.values()]
    weights = sum(p.nbytes for p in arrays)
    largest = max(p.nbytes for p in arrays)
    assert peak < weights + 3 * largest + 32 * 2**20, (peak, weights)


# --------------------------------------------------------------------------- forward
@pytest.mark.parametrize("name", FLOWER_MODELS)
def test_flower_model_forward_and_backward_on_a_small_batch(name):
    _, model = _build(name)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(2,) + model.input_shape).astype(np.float32)
    out = model.forward(x)
    assert out.shape == (2, FLOWER_CLASSES)
    assert np.all(np.isfinite(out))
    y = np.eye(FLOWER_CLASSES, dtype=np.float32)[[1, 3]]
    loss, output, _ = model.loss_and_backward(x, y)
    assert output.shape == (2, FLOWER_CLASSES) and np.isfinite(loss)
    for layer in model.network.walk():
        for key, value in layer.params.items():
            assert layer.grads[key].shape == value.shape, (layer.path, key)


# --------------------------------------------------------------------------- dummy
def test_dummy_dataset_declares_shapes_and_holds_nothing():
    data = make_dataset({"name": "dummy", "input_shape": [224, 224, 3], "classes": 1000})
    assert str(data) == "dummy(select, 0+0+0)"
    assert data.mode == "select"
    assert data.input_shape == (224, 224, 3) and data.output_shape == (1000,)
    assert (data.train_count, data.validate_count, data.test_count) == (0, 0, 0)
    for x, y in (data.train_data(), data.validate_data(), data.test_data()):
        assert x.shape == (0, 224, 224, 3) and y.shape == (0, 1000)
    assert data.batches_per_epoch(10) == 0


def test_dummy_dataset_options():
    assert make_dataset({"name": "dummy", "input_shape": [8, 8, 3]}).output_shape == (1000,)
    regression = make_dataset({"name": "dummy", "input_shape": [4], "output_shape": [2], "mode": "regression"})
    assert (regression.mode, regression.output_shape) == ("regression", (2,))
    binary = make_dataset({"name": "dummy", "input_shape": [4], "mode": "binary"})
    assert (str(binary), binary.output_shape) == ("dummy(binary, 0+0+0)", (1,))


@pytest.mark.parametrize("spec, path", [
    ({"name": "dummy"}, "dataset.input_shape"),
    ({"name": "dummy", "input_shape": [0, 3]}, "dataset.input_shape"),
    ({"name": "dummy", "input_shape": "224"}, "dataset.input_shape"),
    ({"name": "dummy", "input_shape": [3], "classes": 0}, "dataset.classes"),
    ({"name": "dummy", "input_shape": [3], "classes": 2, "output_shape": [2]}, "dataset"),
    ({"name": "dummy", "input_shape": [3], "mode": "selekt"}, "dataset.mode"),
    ({"name": "dummy", "input_shape": [3], "size": 3}, "dataset.size"),
])
def test_dummy_dataset_errors_name_the_option(spec, path):
    with pytest.raises(SpecError) as err:
        make_dataset(spec)
    assert err.value.path == path


def test_training_on_dummy_stops_with_a_clear_error():
    exp = find_experiment("plain-flower")
    model = build_model(exp, make_dataset({"name": "dummy", "input_shape": [64, 64, 3], "classes": 5}), seed=0,
                        printer=_quiet)
    with pytest.raises(AlzzaError, match="0 training examples"):
        model.train(1, 10, 0.001)


# --------------------------------------------------------------------------- macro files
def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_macro_files_merge_shipped_then_local_then_own(tmp_path):
    _write(tmp_path / "mine.yaml", "block: [serial, [full, {width: 3}]]\nvgg_19: [full, {width: 7}]\n")
    exp_file = _write(tmp_path / "exp.yaml", (
        "name: mine\n"
        "dataset: {name: dummy, input_shape: [4], classes: 2}\n"
        "macro_files: [book9, mine.yaml]\n"               # relative to the experiment file
        "macros: {block: [full, {width: 5}]}\n"           # the file's own macros win
        "model: {layers: [[custom, {name: block}], [custom, {name: vgg_19}]]}\n"))
    exp = load_experiment_file(exp_file)
    assert exp.macro_files == ["book9", "mine.yaml"]
    assert exp.macros["block"] == ["full", {"width": 5}]
    assert exp.macros["vgg_19"] == ["full", {"width": 7}]       # mine.yaml overrides book9
    assert "bottleneck_152" in exp.macros                       # the rest of book9 is there
    model = build_model(exp, make_dataset(exp.dataset), seed=0, printer=_quiet)
    assert model.parameter_count() == (4 * 5 + 5) + (5 * 7 + 7) + (7 * 2 + 2)
    assert model.config()["macros"]["block"] == ["full", {"width": 5}]  # a saved model carries its macros


@pytest.mark.parametrize("entry, message", [
    ("book8", "no shipped macro file 'book8' (did you mean 'book9'?)"),
    ("missing.yaml", "does not exist"),
    (3, "must be a macro file name or path"),
])
def test_macro_file_errors(tmp_path, entry, message):
    exp_file = _write(tmp_path / "exp.yaml", (
        "name: bad\ndataset: {name: dummy, input_shape: [4]}\n"
        f"macro_files: [{entry}]\nmodel: {{layers: [3]}}\n"))
    with pytest.raises(ExperimentError, match=re.escape(message)) as err:
        load_experiment_file(exp_file)
    assert "macro_files[0]" in str(err.value)


def test_macro_file_must_be_a_mapping(tmp_path):
    _write(tmp_path / "list.yaml", "- [full, {width: 3}]\n")
    exp_file = _write(tmp_path / "exp.yaml", (
        "name: bad\ndataset: {name: dummy, input_shape: [4]}\nmacro_files: [list.yaml]\nmodel: {layers: [3]}\n"))
    with pytest.raises(ExperimentError, match="mapping of macro name to spec"):
        load_experiment_file(exp_file)


def _with_stride_rule(spec, rule):
    """A copy of ``spec`` with ``stride_rule: rule`` on every conv and pool."""
    if isinstance(spec, list):
        out = [_with_stride_rule(item, rule) for item in spec]
        if out and out[0] in ("conv", "max", "avg"):
            options = dict(out[1]) if len(out) > 1 and isinstance(out[1], dict) else {}
            options["stride_rule"] = rule
            out = [out[0], options] + [item for item in out[1:] if not isinstance(item, dict)]
        return out
    if isinstance(spec, dict):
        return {key: _with_stride_rule(value, rule) for key, value in spec.items()}
    return spec


def test_inception_v3_grids_follow_the_books_stride_rule():
    """The book's dump: 299 → 148 → 146 → 72 → 70 → 34, then SAME reductions to 17 and 8.
    With TensorFlow's ceil rule the same cells give 149 … 35 → 18 → 9 and 33,630,568."""
    from alzza import Model

    exp, model = _build("inception-v3")
    shapes = [layer.output_shape for layer in model.network.walk() if layer.type_name in ("conv", "max")]
    assert sorted({shape[0] for shape in shapes}, reverse=True) == [148, 146, 72, 70, 34, 17, 8]
    macros = _with_stride_rule(exp.macros, "ceil")
    ceil = Model(_dataset_for(exp), exp.layers, macros=macros, seed=0, printer=_quiet)
    assert ceil.parameter_count() == 33_630_568
