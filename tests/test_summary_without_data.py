"""``alzza summary`` and the spec check read no data and draw no weights.

Summaries build the model on each data set's declared shapes (each data-set module's shapes=) with
ShapeOnly weights (a broadcast zero: right shape and size, no memory). The tests run
every shipped experiment's summary on an empty data folder, hold each declaration
against the data set built from small files, and measure VGG-19's build with tracemalloc.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from _family_data import write_tiny_mnist, write_tiny_picture
from _image_data import write_flowers
from alzza.cli import main
from alzza.data import describe_dataset
from alzza.data.store import locate
from alzza.data import make_dataset
from alzza.data import register_dataset
from alzza.data.registry import DATASETS
from alzza.data.sets.dummy import make_dummy
from alzza.data.dataset import DeclaredDataset
from alzza.data.sets.audio import FSDD_LONGEST_SAMPLES
from alzza.data.readers.wav import write_wav
from alzza.errors import DataError, SpecError
from alzza.experiments import find_experiment, list_experiments
from alzza.experiments.runner import build_model
from alzza.sequences import SeqShape

REAL_DATA = os.environ.get("ALZZA_DATA", "")


@pytest.fixture(autouse=True)
def _no_ambient_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locate, "default_data_root", lambda: tmp_path / "user-cache" / "data")


def test_every_shipped_summary_runs_on_an_empty_data_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    experiments = list_experiments()
    assert len(experiments) > 90
    for exp in experiments:  # what cmd_summary does, without re-reading the catalogue each time
        model = build_model(exp, describe_dataset(exp.dataset, data_dir=empty), seed=0, allocate=False)
        assert model.summary(print_it=False).startswith("Model "), exp.name
    for name in ("flowers-cnn-5-6", "mnist-kor-3", "urban-lstm-20-10ms", "gan-gogh"):  # and the command itself
        assert main(["summary", name, "--data-dir", str(empty)]) == 0, name
        out = capsys.readouterr().out
        assert out.startswith("Model ") and "Total parameters:" in out, name
    assert "Total parameters: 9,761" in _summary("flowers-cnn-5-6", empty, capsys)  # the figure
    assert list(empty.iterdir()) == []


def _summary(name, data_dir, capsys) -> str:
    assert main(["summary", name, "--data-dir", str(data_dir)]) == 0
    return capsys.readouterr().out


def test_summary_table_without_data_equals_the_one_with_data(tabular_data_dir, tmp_path, capsys):
    assert main(["summary", "steel-mlp-12-6-4", "--data-dir", str(tmp_path / "nothing")]) == 0
    declared = capsys.readouterr().out
    exp = find_experiment("steel-mlp-12-6-4")
    real = build_model(exp, make_dataset(exp.dataset, data_dir=tabular_data_dir), seed=0).summary(print_it=False)
    assert declared.strip() == real.strip()
    assert "Total parameters: 477" in declared  # 27·12+12 + 12·6+6 + 6·4+4 + 4·7+7


def test_vgg19_summary_allocates_no_weights(capsys):
    exp = find_experiment("vgg-19")
    tracemalloc.start()
    try:
        dataset = describe_dataset(exp.dataset)
        model = build_model(exp, dataset, seed=0, allocate=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert model.parameter_count() == 143_667_240  # VGG-19's published count
    assert peak < 20 * 2**20  # the real weights are 575 MB of float32
    weights = [s.value for s in model.slots if s.value.ndim > 1]
    assert weights and all(w.strides == (0,) * w.ndim and not w.flags.writeable for w in weights)
    with pytest.raises(ValueError):  # a shape-only model cannot be trained by mistake
        weights[0][...] = 1.0


def test_allocated_and_shape_only_builds_agree(tabular_data_dir):
    exp = find_experiment("steel-mlp-12-6-4")
    dataset = make_dataset(exp.dataset, data_dir=tabular_data_dir)
    real, shapes = build_model(exp, dataset, seed=0), build_model(exp, dataset, seed=0, allocate=False)
    assert [(s.name, s.value.shape) for s in real.slots] == [(s.name, s.value.shape) for s in shapes.slots]
    assert any(np.abs(s.value).sum() > 0 for s in real.slots)  # the real one drew its weights


def _fsdd(root: Path) -> Path:
    folder = root / "fsdd" / "recordings"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for digit in range(10):
        for speaker in ("ann", "bob"):
            write_wav(folder / f"{digit}_{speaker}_0.wav", rng.uniform(-0.5, 0.5, 800 + 40 * digit), 8000)
    return root


def _tables(root, files):
    files.abalone(root)
    files.pulsar(root)
    files.faults(root)
    return root


CASES = [
    ("abalone", _tables), ({"name": "abalone", "standardize": True}, _tables),
    ({"name": "pulsar", "balanced": True, "standardize": True}, _tables), ("pulsar-select", _tables),
    ("steel", _tables),
    ({"name": "flowers", "resolution": [8, 10], "flatten": False}, lambda r, f: write_flowers(r, 2)),
    ({"name": "flowers", "resolution": [8, 8], "scale": True}, lambda r, f: write_flowers(r, 2)),
    ({"name": "office31-standin", "resolution": [8, 8]}, lambda r, f: write_flowers(r, 2)),
    ({"name": "office31-or-standin", "resolution": [8, 8], "flatten": False}, lambda r, f: write_flowers(r, 2)),
    ({"name": "mnist", "flatten": False, "scale": True}, lambda r, f: write_tiny_mnist(r)),
    ({"name": "mnist", "train_ratio": 0.5}, lambda r, f: write_tiny_mnist(r)),
    ("mnist-eng", lambda r, f: write_tiny_mnist(r)),
    ({"name": "mnist-kor", "digits": 2, "count": 100}, lambda r, f: write_tiny_mnist(r)),
    ({"name": "gan-mnist", "nums": [8, 6]}, lambda r, f: write_tiny_mnist(r)),
    ({"name": "gan-picture", "file": "jungsun", "flatten": False}, lambda r, f: write_tiny_picture(r, "jungsun")),
    ({"name": "automata", "train_count": 20, "validate_count": 5, "test_count": 5}, lambda r, f: r),
    ({"name": "dummy", "input_shape": [6, 6, 3], "classes": 4}, lambda r, f: r),
    ({"name": "fsdd", "window": 100, "interval": 10, "bands": 20}, lambda r, f: _fsdd(r)),
    ({"name": "urban-sound-or-fsdd", "max_steps": 3}, lambda r, f: _fsdd(r)),
]


@pytest.mark.parametrize("spec, write", CASES, ids=lambda v: str(v) if not callable(v) else "")
def test_declared_shapes_match_the_data_set_built_from_files(spec, write, tmp_path, tabular_files):
    root = tmp_path / "data"
    root.mkdir()
    write(root, tabular_files)
    declared = describe_dataset(spec, data_dir=tmp_path / "nothing-here" if _generated(spec) else root)
    built = make_dataset(spec, data_dir=root, seed=1)
    assert isinstance(declared, DeclaredDataset) or declared.name == "dummy"  # dummy is shapes only already
    assert (declared.name, declared.mode) == (built.name, built.mode)
    assert type(declared.output_shape) is type(built.output_shape) and declared.output_shape == built.output_shape
    assert type(declared.input_shape) is type(built.input_shape)
    if isinstance(built.input_shape, SeqShape) and _audio(spec):
        # T is declared from the real release's longest recording; the test files are shorter
        assert declared.input_shape[1:] == built.input_shape[1:]
    else:
        assert declared.input_shape == built.input_shape
    for attribute in ("head_sizes", "encoder_shape", "encoder_mode", "value_range"):
        assert getattr(declared, attribute, None) == getattr(built, attribute, None), attribute
    if built.mode in ("select", "binary") and not _audio(spec):
        assert declared.target_names == built.target_names


def _generated(spec) -> bool:
    return (spec if isinstance(spec, str) else spec["name"]) in ("automata", "dummy")


def _audio(spec) -> bool:
    return (spec if isinstance(spec, str) else spec["name"]) in ("fsdd", "urban-sound-or-fsdd")


def test_the_or_data_sets_choose_by_folder(tmp_path):
    (tmp_path / "office31").mkdir()
    (tmp_path / "urban-sound").mkdir()
    office = describe_dataset({"name": "office31-or-standin", "resolution": [8, 8]}, data_dir=tmp_path)
    assert office.name == "office31" and office.head_sizes == (3, 31)
    assert describe_dataset("office31-or-standin", data_dir=tmp_path / "x").head_sizes == (3, 5)
    urban = describe_dataset("urban-sound-or-fsdd", data_dir=tmp_path)
    assert urban.name == "urban-sound" and urban.output_shape == (10,)
    assert urban.input_shape == SeqShape((400, 100))  # 4 s clips in 10 ms windows
    assert describe_dataset("fsdd").input_shape == SeqShape((228, 100))
    movie = tmp_path / "movie.mp4"
    movie.write_bytes(b"")
    assert describe_dataset({"name": "videoshot-or-standin", "file": str(movie)}).name == "videoshot"
    assert describe_dataset({"name": "videoshot-or-standin", "timesteps": 6}).input_shape == SeqShape((6, 90, 120, 3))


@pytest.mark.skipif(not (Path(REAL_DATA) / "fsdd" / "recordings").is_dir(),
                    reason="needs ALZZA_DATA with the FSDD recordings")
def test_fsdd_longest_recording_is_the_declared_one():
    from alzza.data.readers.wav import read_wav_info

    folder = Path(REAL_DATA) / "fsdd" / "recordings"
    assert max(read_wav_info(p).frames for p in folder.iterdir()) == FSDD_LONGEST_SAMPLES


def test_declared_data_sets_hold_no_examples():
    declared = describe_dataset("steel")
    with pytest.raises(DataError, match="only its declared shapes"):
        declared.train_data()


def test_a_bad_option_is_the_same_error_as_for_make_dataset(tmp_path):
    with pytest.raises(SpecError, match=r"dataset.resolutoin: unknown option"):
        describe_dataset({"name": "flowers", "resolutoin": [8, 8]})


def test_a_spec_typo_is_reported_before_the_data_loads(tmp_path, capsys):
    spec = tmp_path / "typo.yaml"
    spec.write_text("name: typo\ndataset: {name: flowers, resolution: [16, 16], flatten: false}\n"
                    "model:\n  layers: [['conv', {ksize: 3, chnn: 6}]]\n"
                    "train: {epochs: 1, batch_size: 2, learning_rate: 0.001}\n")
    assert main(["run", str(spec), "--data-dir", str(tmp_path / "no-data"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "chnn" in err and "data file not found" not in err


def test_a_user_data_set_without_declared_shapes_is_built_from_its_data(tmp_path, capsys):
    built = []

    def factory(data_dir=None, rng=None):
        built.append(data_dir)
        return make_dummy(input_shape=[5], classes=3)

    register_dataset("my-own", factory)
    try:
        assert describe_dataset("my-own", data_dir=tmp_path).input_shape == (5,)
        assert built == [tmp_path]
        assert describe_dataset("my-own", declared_only=True) is None
    finally:
        del DATASETS["my-own"]
