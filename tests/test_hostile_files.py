"""Hostile and damaged files (issue 16, cases A/C in model files, G, H, I, J): tampered
model files, a stale or altered cache, saves killed half-way."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from alzza import Model, load
from alzza.data import make_dataset
from alzza.data.store.cache import DiskCache, cache_key
from alzza.errors import ModelFileError


@pytest.fixture
def model_file(tmp_path, tabular_data_dir):
    data = make_dataset("steel", data_dir=tabular_data_dir, seed=1)
    model = Model(data, [4], optimizer="adam", seed=1)
    model.train(1, 5, max_batches=2)
    path = tmp_path / "m.npz"
    model.save(path)
    return path


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _write_members(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)


def _with_description(path, mutate):
    """Rewrite the model file's JSON description: ``mutate(text) -> text``."""
    members = []
    for name, data in _members(path):
        if name == "__alzza__.npy":
            array = np.load(io.BytesIO(data))
            text = mutate(array.tobytes().decode("utf-8"))
            buffer = io.BytesIO()
            np.save(buffer, np.frombuffer(text.encode("utf-8"), dtype=np.uint8))
            data = buffer.getvalue()
        members.append((name, data))
    _write_members(path, members)


# ------------------------------------------------------------------ A, C in a model file
def test_A_model_description_nesting_100000_deep(model_file):
    deep = "[" * 100_000 + "]" * 100_000
    _with_description(model_file, lambda text: text.replace('"layers": [', f'"layers": [{deep}, ', 1))
    with pytest.raises(ModelFileError, match="nest"):
        load(model_file)


def test_C_model_description_of_a_million_layers(model_file):
    many = ", ".join(["4"] * 1_600_000)
    _with_description(model_file, lambda text: text.replace('"layers": [', f'"layers": [{many}, ', 1))
    with pytest.raises(ModelFileError, match="ALZZA_MAX_SPEC_BYTES"):
        load(model_file)


def test_C_model_description_with_a_loop_of_a_million(model_file):
    _with_description(model_file,
                      lambda text: text.replace('"layers": [4', '"layers": [["loop", {"repeat": 1000000}, 4]', 1))
    with pytest.raises(ModelFileError, match="ALZZA_MAX_LAYERS"):
        load(model_file)


# ------------------------------------------------------------------ G: tampered model files
def test_G_flipped_byte_in_the_zip_directory(model_file):
    data = bytearray(model_file.read_bytes())
    directory = data.rfind(b"PK\x01\x02")  # the last central-directory entry
    data[directory + 10] ^= 0xFF  # its compression method
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged"):
        load(model_file)


def test_G_any_flipped_byte_in_the_directory_is_a_model_file_error(model_file):
    original = model_file.read_bytes()
    directory = original.find(b"PK\x01\x02")
    for offset in range(46):  # every byte of the first central-directory entry's fixed part
        data = bytearray(original)
        data[directory + offset] ^= 0xA5
        model_file.write_bytes(bytes(data))
        try:
            load(model_file)
        except ModelFileError:
            pass  # either refused with a clear error, or the byte did not matter


def test_G_flipped_byte_in_the_weights_is_caught_by_the_crc(model_file):
    data = bytearray(model_file.read_bytes())
    start = data.find(b"param:layers[0]/w.npy")
    data[start + 200] ^= 0x01  # inside that member's array data (stored, uncompressed)
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load(model_file)


def test_G_5000_digit_integer_in_the_description(model_file):
    _with_description(model_file, lambda text: text.replace('"format_version": 1', '"format_version": ' + "9" * 5000))
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(model_file)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_G_non_finite_weights(model_file, bad):
    members = []
    for name, data in _members(model_file):
        if name == "param:layers[0]/w.npy":
            w = np.load(io.BytesIO(data))
            w.flat[3] = bad
            buffer = io.BytesIO()
            np.save(buffer, w)
            data = buffer.getvalue()
        members.append((name, data))
    _write_members(model_file, members)
    with pytest.raises(ModelFileError, match=r"'param:layers\[0\]/w' holds 1 non-finite"):
        load(model_file)


def test_G_nan_in_the_optimizer_state(model_file):
    members = []
    for name, data in _members(model_file):
        if name.startswith("optim:") and name.endswith("/m.npy"):
            m = np.load(io.BytesIO(data))
            m.flat[0] = np.nan
            buffer = io.BytesIO()
            np.save(buffer, m)
            data = buffer.getvalue()
        members.append((name, data))
    _write_members(model_file, members)
    with pytest.raises(ModelFileError, match="non-finite"):
        load(model_file)


def test_G_object_array_is_refused_not_unpickled(model_file, tmp_path):
    members = _members(model_file)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    members.append(("evil.npy", buffer.getvalue()))
    _write_members(model_file, members)
    with pytest.raises(ModelFileError, match="never loads"):
        load(model_file)


# ------------------------------------------------------------------ H: a text file named .npz
def test_H_text_file_named_npz(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("this is not a model\n")
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert "not a zip/npz archive" in message and "this is not" in message
    assert "pickle" not in message


def test_H_empty_file_named_npz(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        load(path)


# ------------------------------------------------------------------ I: the cache keys on content
def _key(files, folder):
    return cache_key("thing", {"v": 1}, files, base=folder)


def test_I_same_size_change_with_mtime_restored_is_a_new_key(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    a = folder / "a.bin"
    a.write_bytes(b"first")
    before = _key([a], folder)
    info = a.stat()
    a.write_bytes(b"other")  # same size
    os.utime(a, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert a.stat().st_size == info.st_size and a.stat().st_mtime_ns == info.st_mtime_ns
    assert _key([a], folder) != before


def test_I_files_swapped_between_class_folders_is_a_new_key(tmp_path):
    folder = tmp_path / "data"
    (folder / "cat").mkdir(parents=True)
    (folder / "dog").mkdir()
    cat, dog = folder / "cat" / "1.jpg", folder / "dog" / "1.jpg"
    cat.write_bytes(b"meow")
    dog.write_bytes(b"woof")
    os.utime(dog, ns=(cat.stat().st_atime_ns, cat.stat().st_mtime_ns))
    before = _key([cat, dog], folder)
    tmp = folder / "swap"
    os.replace(cat, tmp)
    os.replace(dog, cat)
    os.replace(tmp, dog)
    assert _key([cat, dog], folder) != before


def test_I_image_folder_rebuilds_after_an_in_place_change(tmp_path, monkeypatch):
    from PIL import Image

    from alzza.data.readers.image_folder import read_image_folder

    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "env-cache"))
    folder = tmp_path / "flowers"
    rng = np.random.default_rng(0)
    for cls in ("daisy", "rose"):
        (folder / cls).mkdir(parents=True)
        for i in range(2):  # BMP: the file size depends only on the picture's size
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / cls / f"{i}.bmp")
    cache = DiskCache(tmp_path / "cache")
    first = read_image_folder(folder, (8, 8), cache=cache, progress=False)
    target = folder / "rose" / "0.bmp"
    info = target.stat()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(target)  # new pixels, same size
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the old mtime
    assert target.stat().st_size == info.st_size
    second = read_image_folder(folder, (8, 8), cache=cache, progress=False)
    assert not second.from_cache
    index = second.paths.index("rose/0.bmp")
    assert second.images[index].max() == 0 and first.images[index].max() > 0


def test_I_an_altered_cache_entry_is_rebuilt(tmp_path):
    cache = DiskCache(tmp_path / "cache")
    key = cache_key("thing", {}, [])
    cache.save(key, {"x": np.arange(4, dtype=np.float32)})
    path = cache.path(key)
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["x"] = np.array([9, 9, 9, 9], dtype=np.float32)  # same shape, other values, old checksum
    np.savez(path, **arrays)
    with pytest.warns(UserWarning, match="checksum"):
        assert cache.load(key) is None
    assert not path.exists()


# ------------------------------------------------------------------ J: atomic, cleaned, 0644
def test_J_outputs_are_mode_0644(model_file, tmp_path, tabular_data_dir):
    from alzza.cli import main

    out = tmp_path / "run"
    spec = tmp_path / "e.yaml"
    spec.write_text("name: j\ndataset: {name: steel, standardize: true}\ntrain: {epochs: 1, batch_size: 5}\n"
                    "model: {layers: [4]}\n")
    old = os.umask(0o022)
    try:
        assert main(["run", str(spec), "--data-dir", str(tabular_data_dir), "--out", str(out),
                     "--max-batches", "1", "--no-progress"]) == 0
    finally:
        os.umask(old)
    for name in ("model.npz", "result.json", "training.png", "visualize.txt"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_J_umask_is_respected(tmp_path):
    from alzza.saving.atomic import write_text_atomic

    old = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600


KILLED_SAVE = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {src!r})
import alzza.saving.atomic as atomic
from matplotlib.figure import Figure
from alzza.viz.plots import save_figure
target = {target!r}
real_replace = os.replace
def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)  # killed after writing the temp file, before the rename
os.replace = die
fig = Figure(); fig.subplots().plot([1, 2, 3])
save_figure(fig, target)
"""


@pytest.mark.parametrize("name", ["training.png", "visualize.png"])
def test_J_a_killed_picture_save_keeps_the_old_picture_and_its_temp_is_cleaned(tmp_path, name):
    from matplotlib.figure import Figure

    from alzza.viz.plots import save_figure

    target = tmp_path / name
    fig = Figure()
    fig.subplots().plot([3, 2, 1])
    save_figure(fig, target)
    before = target.read_bytes()
    src = str(Path(__file__).resolve().parents[1] / "src")
    for _ in range(3):
        code = subprocess.run([sys.executable, "-c", KILLED_SAVE.format(src=src, target=str(target))],
                              env={**os.environ, "MPLBACKEND": "Agg"}).returncode
        assert code == -9
    assert target.read_bytes() == before  # the previous picture, whole
    leftovers = sorted(p for p in tmp_path.iterdir() if p.name != name)
    assert len(leftovers) == 3  # each killed save left its temp file (fresh ones are never touched)...
    old = time.time() - 120
    for path in leftovers[:2]:
        os.utime(path, (old, old))
    save_figure(fig, target)  # ...the next save removes those of dead processes, untouched for a minute
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, leftovers[2].name])


def test_J_a_failed_save_leaves_no_temp_file(tmp_path, monkeypatch, model_file):
    model = load(model_file)
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    before = model_file.read_bytes()
    with pytest.raises(OSError):
        model.save(model_file)
    assert model_file.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_J_visualize_txt_is_written_atomically(tmp_path, tabular_data_dir, monkeypatch):
    import alzza.experiments.runner as runner

    written = []
    real = runner.write_text_atomic
    monkeypatch.setattr(runner, "write_text_atomic",
                        lambda path, text: written.append(Path(path).name) or real(path, text))
    spec = tmp_path / "e.yaml"
    spec.write_text("name: j\ndataset: steel\ntrain: {epochs: 1, batch_size: 5}\nmodel: {layers: [4]}\n")
    runner.run_experiment(str(spec), data_dir=tabular_data_dir, out=tmp_path / "out", max_batches=1,
                          printer=lambda *a: None)
    assert "visualize.txt" in written
    assert json.loads((tmp_path / "out" / "result.json").read_text())["experiment"] == "j"


CONCURRENT_READ = """
import sys
sys.path.insert(0, {src!r})
import numpy as np
from alzza.data.store.cache import DiskCache
from alzza.data.readers.image_folder import read_image_folder
result = read_image_folder({folder!r}, (8, 8), cache=DiskCache({cache!r}), progress=False)
np.save({out!r}, result.images)
"""


def test_kept_concurrent_cold_cache_runs_stay_correct(tmp_path):
    from PIL import Image

    from alzza.data.readers.image_folder import read_image_folder

    folder = tmp_path / "flowers"
    rng = np.random.default_rng(3)
    for cls in ("daisy", "rose", "tulip"):
        (folder / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / cls / f"{i}.png")
    src = str(Path(__file__).resolve().parents[1] / "src")
    cache = tmp_path / "cache"
    children = [subprocess.Popen([sys.executable, "-c", CONCURRENT_READ.format(
        src=src, folder=str(folder), cache=str(cache), out=str(tmp_path / f"images{k}.npy"))]) for k in range(3)]
    assert [child.wait(timeout=300) for child in children] == [0, 0, 0]
    results = [np.load(tmp_path / f"images{k}.npy") for k in range(3)]
    assert all(np.array_equal(results[0], r) for r in results[1:])
    assert [p.suffix for p in cache.iterdir()] == [".npz"]  # one entry, no temp files left
    again = read_image_folder(folder, (8, 8), cache=DiskCache(cache), progress=False)
    assert again.from_cache and np.array_equal(again.images, results[0])


def test_A_the_deepest_buildable_model_saves_and_loads_back(tmp_path):
    """Nothing lost: a spec just inside ALZZA_MAX_SPEC_DEPTH builds, trains, saves and loads."""
    from alzza.errors import SpecError

    def nest(depth):
        spec = 4
        for _ in range(depth):
            spec = ["serial", spec]
        return spec

    deepest = None
    for depth in range(95, 102):
        try:
            model = Model(None, [["loop", {"repeat": 2}, nest(depth)]], input_shape=[5], output_shape=[3],
                          mode="select", seed=0)
            deepest = depth
        except SpecError:
            break
    assert deepest is not None and deepest < 101
    x = np.ones((4, 5), np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    model = Model(None, [["loop", {"repeat": 2}, nest(deepest)]], input_shape=[5], output_shape=[3],
                  mode="select", seed=0)
    model.train_step(x, y, 0.1)
    model.save(tmp_path / "deep.npz")
    again = load(tmp_path / "deep.npz")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


@pytest.mark.parametrize("text", ['{"format": "alzza-checkpoint", "epoch": ' + "9" * 5000 + "}",
                                  "[" * 100_000 + "]" * 100_000, "{not json"],
                         ids=["5000-digit-epoch", "nested-100000", "not-json"])
def test_A_G_hostile_checkpoint_json_is_one_error(text, tmp_path, model_file, tabular_data_dir, capsys):
    from _hostile import assert_one_error, run_cli

    folder = tmp_path / "resume"
    folder.mkdir()
    (folder / "model.npz").write_bytes(model_file.read_bytes())
    (folder / "checkpoint.json").write_text(text)
    spec = tmp_path / "e.yaml"
    spec.write_text("name: r\ndataset: {name: steel, standardize: true}\ntrain: {epochs: 2, batch_size: 5}\n"
                    "model: {layers: [4]}\n")
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--resume", folder, "--no-progress"], capsys)
    assert_one_error(code, err, "checkpoint")
