"""Hostile input, round 2 (issue 23): ``alzza export`` and reading model files.

S1: export writes only a regular file (new, or replacing a regular file), atomically;
L1: an output that is the input is refused; T3: folders, paths under a file, read-only
folders and user layers are one clear error, ``export --import``, and a documented ONNX
form for user layers; H3: a model path that is a link to a device is refused, not read
without end; T7: the messages of the /dev/zero model, a huge ALZZA_MAX_SPEC_BYTES and a
zip-bomb model description; T8: predict on the wrong input shape."""

from __future__ import annotations

import os
import stat
import zipfile

import numpy as np
import pytest

from _hostile import assert_one_error, run_cli
from alzza import Model, load
from alzza.errors import AlzzaError, ModelFileError
from alzza.layers import Dense

pytest.importorskip("onnx")


@pytest.fixture
def model_file(tmp_path):
    model = Model(None, [Dense(3, actfunc="relu")], input_shape=(4,), output_shape=(2,), mode="regression", seed=0,
                  printer=lambda *a: None)
    path = tmp_path / "run" / "model.npz"
    model.save(path)
    return path


# ------------------------------------------------------------------ S1: only a regular file is written
def test_S1_export_to_a_fifo_is_refused_and_the_fifo_kept(model_file, tmp_path, capsys):
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    code, _, err = run_cli(["export", model_file, fifo], capsys)
    assert_one_error(code, err, str(fifo), "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _device(tmp_path):
    """A character device to export onto: as root our own null device in tmp_path (so that a
    regression replaces only that), else /dev/null (which a user can't replace)."""
    if os.geteuid() != 0:
        return "/dev/null"
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return str(node)


def test_S1_export_to_a_device_is_refused(model_file, tmp_path, capsys):
    device = _device(tmp_path)
    before = os.stat(device)
    code, _, err = run_cli(["export", model_file, device], capsys)
    assert_one_error(code, err, device, "not a regular file")
    assert stat.S_ISCHR(os.stat(device).st_mode) and os.stat(device).st_ino == before.st_ino


def test_S1_export_to_a_folder_keeps_its_contents(model_file, tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    code, _, err = run_cli(["export", model_file, folder], capsys)
    assert_one_error(code, err, str(folder), "folder")
    assert (folder / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_S1_export_replaces_a_regular_file_atomically(model_file, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    code, _, err = run_cli(["export", model_file, out], capsys)
    assert code == 0, err
    assert out.read_bytes() != b"old" and stat.S_ISREG(os.lstat(out).st_mode)


def test_S1_the_python_api_is_as_careful(model_file, tmp_path):
    from alzza.export import to_onnx

    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    with pytest.raises(AlzzaError, match="not a regular file"):
        to_onnx(load(model_file, printer=lambda *a: None), fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# ------------------------------------------------------------------ L1: the output is the input
def test_L1_export_onto_its_own_model_file_is_refused(model_file, capsys):
    before = model_file.read_bytes()
    code, _, err = run_cli(["export", model_file, model_file], capsys)
    assert_one_error(code, err, "model.npz", "is the model file")
    assert model_file.read_bytes() == before
    load(model_file, printer=lambda *a: None)


def test_L1_another_name_of_the_same_file_is_refused(model_file, tmp_path, capsys):
    link = tmp_path / "alias.onnx"
    os.link(model_file, link)
    code, _, err = run_cli(["export", model_file, link], capsys)
    assert_one_error(code, err, "is the model file")
    load(model_file, printer=lambda *a: None)


# ------------------------------------------------------------------ T3: unwritable outputs, user layers
def test_T3_output_under_a_file(model_file, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    code, _, err = run_cli(["export", model_file, blocker / "m.onnx"], capsys)
    assert_one_error(code, err, "is a file, not a folder")
    assert blocker.read_text() == "x"


def test_T3_output_where_writing_is_not_permitted(model_file, tmp_path, capsys, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code, _, err = run_cli(["export", model_file, tmp_path / "m.onnx"], capsys)
    assert_one_error(code, err, "cannot write", "permission denied")


USER_LAYER = '''
import numpy as np
from alzza.layers import Layer, register_layer


@register_layer("{name}")
class Twice(Layer):
    """y = 2x; dx = 2 dy."""

    def forward(self, x, training=False):
        return 2 * x

    def backward(self, dy):
        return 2 * dy if self.needs_input_grad else None
{extra}
'''

ONNX_FORM = '''
    def onnx_form(self, builder, value):
        """The ONNX nodes of y = 2x (see alzza.export.layers)."""
        return value.like(builder.op("Mul", [value.name, builder.scalar(2.0, "two")], self.path))
'''


def _user_model(tmp_path, name, extra=""):
    from alzza.user_code import import_user_code

    source = tmp_path / f"{name}.py"
    source.write_text(USER_LAYER.format(name=name, extra=extra))
    module = import_user_code(str(source))
    model = Model(None, [Dense(3), module.Twice()], input_shape=(4,), output_shape=(2,), mode="regression",
                  seed=0, printer=lambda *a: None)
    path = tmp_path / f"{name}.npz"
    model.save(path)
    return source, path, model


def test_T3_export_has_import_and_names_a_layer_without_onnx_form(tmp_path, capsys):
    source, path, _ = _user_model(tmp_path, "twice_no_onnx")
    code, _, err = run_cli(["export", path, tmp_path / "m.onnx", "--import", source], capsys)
    assert_one_error(code, err, "layers[1]", "twice_no_onnx", "no onnx form", "onnx_form")
    assert not (tmp_path / "m.onnx").exists()


def test_T3_a_user_layer_declares_its_onnx_form(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    source, path, model = _user_model(tmp_path, "twice_onnx", ONNX_FORM)
    out = tmp_path / "m.onnx"
    code, text, err = run_cli(["export", path, out, "--import", source, "--verify"], capsys)
    assert code == 0, err
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-5)


def test_T3_an_onnx_form_that_returns_nonsense_is_one_error(tmp_path, capsys):
    bad = '\n    def onnx_form(self, builder, value):\n        return "y"\n'
    source, path, _ = _user_model(tmp_path, "twice_bad_onnx", bad)
    code, _, err = run_cli(["export", path, tmp_path / "m.onnx", "--import", source], capsys)
    assert_one_error(code, err, "layers[1]", "onnx_form")


# ------------------------------------------------------------------ H3 and T7: a model that is a device
def test_H3_a_model_path_linked_to_dev_zero_is_refused(tmp_path, capsys):
    link = tmp_path / "zero.npz"
    link.symlink_to("/dev/zero")
    code, _, err = run_cli(["export", link, tmp_path / "m.onnx"], capsys, seconds=30)
    assert_one_error(code, err, "zero.npz", "not a regular file")
    assert "out of memory" not in err
    with pytest.raises(ModelFileError, match="not a regular file"):
        load(link)


def test_H3_a_model_that_is_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    code, _, err = run_cli(["export", fifo, tmp_path / "m.onnx"], capsys, seconds=30)
    assert_one_error(code, err, "not a regular file")


def test_H3_a_symlink_to_a_real_model_still_loads(model_file, tmp_path):
    link = tmp_path / "link.npz"
    link.symlink_to(model_file)
    assert load(link, printer=lambda *a: None).slots


# ------------------------------------------------------------------ T7: limits that blame the right thing
def test_T7_a_huge_spec_byte_limit_reads_only_the_file(tmp_path, monkeypatch, capsys, tabular_data_dir):
    spec = tmp_path / "e.yaml"
    spec.write_text("name: e\ndataset: {name: steel}\ntrain: {epochs: 1, batch_size: 5}\nmodel: {layers: [4]}\n")
    monkeypatch.setenv("ALZZA_MAX_SPEC_BYTES", "1000T")
    code, out, err = run_cli(["summary", spec, "--data-dir", tabular_data_dir], capsys)
    assert code == 0, err
    assert "out of memory" not in err


def test_T7_a_zip_bomb_model_description_is_refused_by_its_limit(model_file, tmp_path):
    """The description member declares 3 GiB (the zip directory says so): refused by
    ALZZA_MAX_SPEC_BYTES before anything is allocated or inflated, not a MemoryError."""
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.getinfo("__alzza__.npy").file_size = 3 * 1024**3  # the central directory is written at close
    with pytest.raises(ModelFileError, match="ALZZA_MAX_SPEC_BYTES"):
        load(bomb)


def test_T7_limit_errors_carry_no_spurious_layer_prefix(tmp_path, capsys, monkeypatch, tabular_data_dir):
    spec = tmp_path / "e.yaml"
    spec.write_text("name: e\ndataset: {name: steel}\ntrain: {epochs: 1, batch_size: 5}\nmodel: {layers: [4, 4, 4]}\n")
    monkeypatch.setenv("ALZZA_MAX_MEMORY", "lots")
    code, _, err = run_cli(["summary", spec, "--data-dir", tabular_data_dir], capsys)
    assert_one_error(code, err, "ALZZA_MAX_MEMORY='lots'")
    assert "layers[0]" not in err


# ------------------------------------------------------------------ T8: predict on the wrong shape
def test_T8_predict_on_the_wrong_input_shape_names_the_expected_one(model_file):
    model = load(model_file, printer=lambda *a: None)
    with pytest.raises(AlzzaError, match=r"\(4,\)") as info:
        model.predict(np.zeros((3, 5), np.float32))
    assert "(5,)" in str(info.value)  # what was given, beside what is expected
    assert model.predict(np.zeros((3, 4), np.float32)).shape == (3, 2)


def test_T8_predict_on_images_of_the_wrong_size(tmp_path):
    model = Model(None, [["conv", {"ksize": 3, "chn": 2}]], input_shape=(6, 6, 1), output_shape=(2,),
                  mode="select", seed=0, printer=lambda *a: None)
    with pytest.raises(AlzzaError, match=r"\(6, 6, 1\)"):
        model.predict(np.zeros((2, 5, 5, 1), np.float32))
    with pytest.raises(AlzzaError, match=r"\(6, 6, 1\)"):
        model.predict(np.zeros(7, np.float32))

