"""Hostile sizes (issue 16, case B): models, model files and data files that would take
all of the machine's memory are refused before anything is allocated."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pytest

from _hostile import assert_one_error, run_cli, write_experiment
from alzza import Model, load
from alzza.data import make_dataset
from alzza.data.readers.idx import read_idx
from alzza.errors import AlzzaError, DataError, ModelFileError


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def summary(tmp_path, dataset, layers, capsys):
    path = write_experiment(tmp_path, f"name: big\ndataset: {dataset}\nmodel:\n  layers: {layers}\n")
    return run_cli(["summary", path, "--data-dir", tmp_path / "data"], capsys)


@pytest.mark.parametrize("dataset, layers, where", [
    ("steel", "[1000000000000]", "layers[0]"),
    ("{name: dummy, input_shape: [8, 8, 3]}", "[[conv, {ksize: 3, chn: 1000000000}]]", "layers[0]"),
    ("{name: dummy, input_shape: [8, 3]}", "[[rnn, {recur_size: 1000000}]]", "layers[0]"),
    ("{name: dummy, input_shape: [8, 3]}", "[[lstm, {recur_size: 1000000}]]", "layers[0]"),
    ("{name: dummy, input_shape: [1000000, 1000000]}", "[4]", "layers[0]"),
], ids=["full-1e12", "conv-chn-1e9", "rnn-1e6", "lstm-1e6", "dummy-1e6x1e6"])
def test_B_huge_layers_are_refused_before_allocating(dataset, layers, where, tmp_path, tabular_data_dir, capsys):
    code, _, err = summary(tmp_path, dataset, layers, capsys)
    assert_one_error(code, err, where, "ALZZA_MAX_MEMORY", "more than the limit")


def test_B_huge_activations_are_refused(tmp_path, capsys):
    # tiny kernels, but one example's feature maps would be ~300 GiB
    code, _, err = summary(tmp_path, "{name: dummy, input_shape: [100000, 100000, 3]}",
                           "[[conv, {ksize: 3, chn: 8}], [max, {stride: 1000}]]", capsys)
    assert_one_error(code, err, "activations of one example", "ALZZA_MAX_MEMORY")


def test_B_the_book_models_fit_the_default_limit():
    from alzza.limits import limit

    assert limit("ALZZA_MAX_MEMORY") >= 4 * 1024**3
    from alzza.experiments import find_experiment
    from alzza.experiments.runner import build_model

    exp = find_experiment("vgg-19")  # the biggest: 143.7 M parameters
    data = make_dataset(exp.dataset, seed=0)
    assert build_model(exp, data, seed=0, printer=lambda *a: None).parameter_count() == 143_667_240


def test_B_training_memory_is_estimated_before_the_first_step(tabular_data_dir, monkeypatch):
    data = make_dataset("steel", data_dir=tabular_data_dir, seed=1)
    model = Model(data, [300, 300], optimizer="adam", seed=1)  # 0.4 MB of parameters, x4 with Adam
    monkeypatch.setenv("ALZZA_MAX_MEMORY", "1800K")
    with pytest.raises(AlzzaError, match="training with batch size 60.*ALZZA_MAX_MEMORY"):
        model.train(1, 60)
    model.train(1, 5, max_batches=1)  # a small batch fits


# ------------------------------------------------------------------ model files
def _saved(tmp_path, tabular_data_dir):
    data = make_dataset("steel", data_dir=tabular_data_dir, seed=1)
    model = Model(data, [4], seed=1)
    path = tmp_path / "m.npz"
    model.save(path)
    return path


def _rewrite(path, member, data: bytes, compress=zipfile.ZIP_STORED):
    """The model file with one member's bytes replaced."""
    with zipfile.ZipFile(path) as old:
        items = [(info.filename, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w", compression=compress) as new:
        for name, content in items:
            new.writestr(name, data if name == member else content)


def _npy(shape, body: bytes, descr="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + body


def test_B_array_header_declaring_4_terabytes(tmp_path, tabular_data_dir):
    path = _saved(tmp_path, tabular_data_dir)
    _rewrite(path, "param:layers[0]/w.npy", _npy((10**12,), b"\0" * 64))
    with pytest.raises(ModelFileError, match="declares"):
        load(path)


def test_B_compressed_model_file_bomb(tmp_path, tabular_data_dir, monkeypatch):
    path = _saved(tmp_path, tabular_data_dir)
    count = 50 * 1024**2  # 200 MB of float32 zeros: ~200 KB compressed
    _rewrite(path, "param:layers[0]/w.npy", _npy((count,), bytes(4 * count)), zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2 * 1024**2
    monkeypatch.setenv("ALZZA_MAX_MEMORY", "64M")
    with pytest.raises(ModelFileError, match="ALZZA_MAX_MEMORY"):
        load(path)


# ------------------------------------------------------------------ gzip IDX
def _idx_header(dims) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims)


def test_B_gzip_bomb_as_mnist(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(_idx_header((100_000, 28, 28)))
        for _ in range(78):
            handle.write(bytes(1_000_000))  # 78 MB of zeros: about 80 KB on disk
    assert path.stat().st_size < 1_000_000
    monkeypatch.setenv("ALZZA_MAX_MEMORY", "16M")
    with pytest.raises(DataError, match="ALZZA_MAX_MEMORY"):
        read_idx(path)


def test_B_gzip_that_inflates_past_its_header(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(_idx_header((10,)) + bytes(10))
        for _ in range(40):
            handle.write(bytes(1_000_000))
    with pytest.raises(DataError, match="decompresses to more than"):
        read_idx(path)


# ------------------------------------------------------------------ data sets sized by their options
def test_B_image_folder_at_a_huge_resolution_is_refused_before_decoding(tmp_path):
    from PIL import Image

    from alzza.data.readers.image_folder import read_image_folder

    for cls in ("daisy", "rose"):
        (tmp_path / "flowers" / cls).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "flowers" / cls / "0.png")
    with pytest.raises(AlzzaError, match=r"2 images at 100000×100000.*ALZZA_MAX_MEMORY"):
        read_image_folder(tmp_path / "flowers", (100_000, 100_000), cache=None, progress=False)


def test_B_videoshot_with_a_huge_timesteps_is_refused_before_generating():
    from alzza.data.readers.video import ThumbnailSet
    from alzza.data.sets.videoshot import VideoShotDataset

    thumbs = ThumbnailSet(np.zeros((3, 4, 9, 12, 3), np.uint8), np.array([0, 10, 20]), 30, 24.0)
    assert VideoShotDataset(thumbs, timesteps=5).timesteps == 5
    with pytest.raises(AlzzaError, match="sequences of 100000000 frames.*ALZZA_MAX_MEMORY"):
        VideoShotDataset(thumbs, timesteps=100_000_000)
