"""MNIST and friends: the IDX reader, mnist, mnist-eng, mnist-kor, gan-mnist, gan-picture,
and the Korean numeral rules.

Every test writes its own small IDX files (raw and gzip) into tmp_path. Each image
carries its label in pixel (0, 0) (= 20 · label) and the set it came from in pixel
(27, 27) (1 = train file, 2 = t10k file), so a test can check that images, labels and
splits stay aligned. One test reads the real t10k files when they are around.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alzza.data import make_dataset
from alzza.data.sets.gan_picture import GanPictureDataset, cut_tiles
from alzza.data.readers.idx import read_idx, write_idx
from alzza.data.generators.korean_numerals import (
    SYMBOLS,
    longest_reading,
    read_korean,
    read_korean_text,
)
from alzza.data.sets.gan_mnist import GanMnistDataset
from alzza.data.sets.mnist import MnistDataset
from alzza.data.sets.mnist_eng import english_targets
from alzza.data.sets.mnist_files import ENGLISH_WORDS, load_mnist, read_mnist_set
from alzza.data.sets.mnist_kor import MnistKorDataset
from alzza.errors import DataError, SpecError
from alzza.sequences import SeqShape, Sequences

MARK = {"train": 1, "t10k": 2}


def _real_data() -> Path:
    env = os.environ.get("ALZZA_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_images(labels, kind: str = "t10k", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.asarray(labels, dtype=np.uint8) * 20
    images[:, 27, 27] = MARK[kind]
    return images


def write_set(folder: Path, kind: str, count: int, gz: bool = True, seed: int = 0,
              labels=None) -> np.ndarray:
    """``<folder>/mnist/{kind}-images-idx3-ubyte[.gz]`` + labels; returns the labels."""
    if labels is None:
        labels = np.arange(count) % 10
    labels = np.asarray(labels, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(folder / "mnist" / f"{kind}-images-idx3-ubyte{suffix}", make_images(labels, kind, seed))
    write_idx(folder / "mnist" / f"{kind}-labels-idx1-ubyte{suffix}", labels)
    return labels


def digit_of(x) -> np.ndarray:
    """The label written into pixel (0, 0) of raw (unscaled, flat) inputs (any leading axes)."""
    return np.rint(np.asarray(x)[..., 0] / 20).astype(int)


# =========================================================================== IDX reader
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    images = np.arange(3 * 28 * 28, dtype=np.int64).astype(np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    ipath = write_idx(tmp_path / "img", images, compress=gz)
    lpath = write_idx(tmp_path / "lab", labels, compress=gz)
    assert (ipath.read_bytes()[:2] == b"\x1f\x8b") == gz
    got = read_idx(ipath)
    assert got.dtype == np.uint8 and got.shape == (3, 28, 28)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(read_idx(lpath), labels)
    raw = (tmp_path / "lab").read_bytes() if not gz else gzip.decompress(lpath.read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x01" and int.from_bytes(raw[4:8], "big") == 3


def test_gzip_detected_by_content_not_name(tmp_path):
    labels = np.array([1, 2, 3], dtype=np.uint8)
    fake_raw = write_idx(tmp_path / "labels-idx1-ubyte", labels, compress=True)  # gzip, no .gz
    fake_gz = write_idx(tmp_path / "labels-idx1-ubyte.gz", labels, compress=False)  # raw, .gz
    np.testing.assert_array_equal(read_idx(fake_raw), labels)
    np.testing.assert_array_equal(read_idx(fake_gz), labels)


def _header(type_code=0x08, dims=(4,)):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file_says_expected_and_got(tmp_path, gz):
    data = _header(dims=(2, 28, 28)) + bytes(2 * 784 - 100)
    path = tmp_path / "short-images"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError) as err:
        read_idx(path)
    text = str(err.value)
    assert str(path) in text and "truncated" in text
    assert f"expected {16 + 2 * 784} bytes" in text and f"got {16 + 2 * 784 - 100}" in text


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(_header(dims=(500,)) + bytes(500))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(DataError, match="cannot be decompressed") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_short_header_and_extra_bytes(tmp_path):
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="only 2 bytes"):
        read_idx(tiny)
    header = tmp_path / "header"
    header.write_bytes(_header(dims=(2, 28, 28))[:10])
    with pytest.raises(DataError, match="header of 3 dimensions needs 16 bytes, got 10"):
        read_idx(header)
    extra = tmp_path / "extra"
    extra.write_bytes(_header(dims=(4,)) + bytes(7))
    with pytest.raises(DataError, match="3 extra bytes"):
        read_idx(extra)


def test_wrong_magic(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    with pytest.raises(DataError) as err:
        read_idx(path)
    text = str(err.value)
    assert str(path) in text and "wrong magic number 0xFFD8FFE0" in text and "0x00000803" in text


@pytest.mark.parametrize("code, name", [(0x0D, "float"), (0x0C, "int32"), (0x42, "not an IDX type")])
def test_non_uint8_type_code(tmp_path, code, name):
    path = tmp_path / "floats"
    path.write_bytes(_header(code, (4,)) + bytes(16))
    with pytest.raises(DataError) as err:
        read_idx(path)
    text = str(err.value)
    assert str(path) in text and f"0x{code:02X}" in text and name in text and "0x08" in text


def test_zero_dimensions(tmp_path):
    path = tmp_path / "nodims"
    path.write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(DataError, match="declares 0 dimensions"):
        read_idx(path)


def test_count_mismatch_names_both_files(tmp_path):
    images = write_idx(tmp_path / "t10k-images-idx3-ubyte", make_images([1, 2, 3]))
    labels = write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2], dtype=np.uint8))
    with pytest.raises(DataError) as err:
        read_mnist_set(images, labels)
    text = str(err.value)
    assert "count mismatch" in text and "3 images" in text and "2 labels" in text
    assert str(images) in text and str(labels) in text


def test_swapped_and_bad_label_files(tmp_path):
    images = write_idx(tmp_path / "i", make_images([1, 2]))
    labels = write_idx(tmp_path / "l", np.array([1, 12], dtype=np.uint8))
    with pytest.raises(DataError, match="one dimension"):
        read_mnist_set(images, images)
    with pytest.raises(DataError, match="three dimensions"):
        read_mnist_set(labels, labels)
    with pytest.raises(DataError, match="label 12 at position 1"):
        read_mnist_set(images, labels)


# =========================================================================== which files
def test_missing_folder_and_half_set(tmp_path):
    with pytest.raises(DataError) as err:
        make_dataset("mnist", data_dir=tmp_path, seed=0)
    assert "mnist" in str(err.value) and str(tmp_path) in str(err.value)
    (tmp_path / "mnist").mkdir()
    with pytest.raises(DataError, match="neither the training files"):
        make_dataset("mnist", data_dir=tmp_path, seed=0)
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", make_images([1, 2]))
    with pytest.raises(DataError, match="not its labels file"):
        make_dataset("mnist", data_dir=tmp_path, seed=0)


def test_t10k_only_is_split_by_the_book_rule_and_said_once(tmp_path, capsys):
    write_set(tmp_path, "t10k", 400)
    data = make_dataset("mnist", data_dir=tmp_path, seed=0)
    assert (data.train_count, data.validate_count, data.test_count) == (320, 20, 60)
    assert str(data) == "mnist(select, 320+60+20)"
    assert "only the test (t10k) files" in data.source and "60,000" in data.source
    out = capsys.readouterr().out
    assert out.count("only the test (t10k) files") == 1
    make_dataset("mnist", data_dir=tmp_path, seed=0)
    assert "t10k" not in capsys.readouterr().out  # said once per process
    # every digit is still with its label, no image in two splits
    for x, y in (data.train_data(), data.validate_data(), data.test_data()):
        np.testing.assert_array_equal(digit_of(x), y.argmax(axis=1))
    stamps = [tuple(row) for split in (data.train_data(), data.validate_data(), data.test_data())
              for row in split[0][:, 1:40]]
    assert len(set(stamps)) == 400


def test_train_and_t10k_both_used(tmp_path):
    write_set(tmp_path, "train", 200, gz=False, seed=1)
    write_set(tmp_path, "t10k", 50, gz=True, seed=2)
    splits = load_mnist(tmp_path, np.random.default_rng(0))
    assert splits.sets == ("train", "t10k")
    assert (len(splits.train[0]), len(splits.validate[0]), len(splits.test[0])) == (190, 10, 50)
    assert (splits.train[0][:, 27, 27] == MARK["train"]).all()
    assert (splits.validate[0][:, 27, 27] == MARK["train"]).all()
    assert (splits.test[0][:, 27, 27] == MARK["t10k"]).all()
    data = MnistDataset(tmp_path, 0)
    assert "training file" in data.source and "t10k file" in data.source
    assert (data.train_count, data.validate_count, data.test_count) == (190, 10, 50)


def test_train_only_and_windows_names(tmp_path):
    folder = tmp_path / "mnist"
    labels = np.arange(100) % 10
    write_idx(folder / "train-images.idx3-ubyte", make_images(labels, "train"))
    write_idx(folder / "train-labels.idx1-ubyte", labels.astype(np.uint8))
    splits = load_mnist(tmp_path, 0, printer=lambda text: None)
    assert splits.sets == ("train",)
    assert (len(splits.train[0]), len(splits.validate[0]), len(splits.test[0])) == (80, 5, 15)
    assert "only the training files" in splits.source


# =========================================================================== mnist
def test_mnist_inputs_scale_flatten_and_pictures(tmp_path):
    write_set(tmp_path, "t10k", 100)
    raw = make_dataset("mnist", data_dir=tmp_path, seed=3)
    assert raw.input_shape == (784,) and raw.output_shape == (10,)
    assert raw.target_names == [str(d) for d in range(10)]
    x = raw.train_data()[0]
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 255 and x.max() > 1
    scaled = make_dataset({"name": "mnist", "scale": True, "flatten": False}, data_dir=tmp_path, seed=3)
    assert scaled.name == "mnist-scaled" and scaled.input_shape == (28, 28, 1)
    xs = scaled.train_data()[0]
    assert xs.shape[1:] == (28, 28, 1) and 0 <= xs.min() and xs.max() <= 1
    np.testing.assert_allclose(xs.reshape(len(xs), -1), x / 255, atol=1e-6)
    pictures = scaled.input_images(xs[:4])
    assert pictures.dtype == np.uint8 and pictures.shape == (4, 28, 28)
    np.testing.assert_array_equal(pictures, raw.input_images(x[:4]))
    assert raw.input_images(x[0]).shape == (1, 28, 28)


def test_mnist_train_ratio_labels_a_share_unlabelled_keeps_all(tmp_path):
    write_set(tmp_path, "t10k", 1000)
    full = make_dataset("mnist", data_dir=tmp_path, seed=5)
    part = make_dataset({"name": "mnist", "train_ratio": 0.05}, data_dir=tmp_path, seed=5)
    assert full.train_count == 800
    assert part.train_count == part.labelled_count == 40 and part.autoencode_count == 800
    np.testing.assert_array_equal(part.unlabelled_train_inputs(), full.train_data()[0])
    np.testing.assert_array_equal(part.train_data()[0], full.train_data()[0][:40])
    assert len(part.all_train_targets()) == 800
    assert (part.validate_count, part.test_count) == (full.validate_count, full.test_count)
    batches = list(part.train_batches(10, np.random.default_rng(0)))
    assert len(batches) == 4
    seen = np.concatenate([b[0] for b in batches])
    assert {tuple(r) for r in seen[:, 1:30]} == {tuple(r) for r in part.train_data()[0][:, 1:30]}
    auto = list(part.autoencode_batches(100, np.random.default_rng(0)))
    assert len(auto) == 8 and all(b.shape == (100, 784) for b in auto)
    assert "labels kept for 40 of the 800" in part.source
    with pytest.raises(SpecError, match="train_ratio"):
        make_dataset({"name": "mnist", "train_ratio": 0}, data_dir=tmp_path)
    with pytest.raises(DataError, match="keeps no labels"):
        make_dataset({"name": "mnist", "train_ratio": 0.001}, data_dir=tmp_path)


# =========================================================================== mnist-eng
def test_mnist_eng_targets_decode_to_the_words(tmp_path):
    write_set(tmp_path, "t10k", 200)
    data = make_dataset("mnist-eng", data_dir=tmp_path, seed=1)
    assert data.mode == "seqselect" and data.input_shape == (784,)
    assert isinstance(data.output_shape, SeqShape) and data.output_shape == (6, 27)
    assert data.target_names[0] == "#" and data.target_names[1:] == list("abcdefghijklmnopqrstuvwxyz")
    assert (data.encoder_mode, data.encoder_shape) == ("select", (10,))
    for split in ("train", "validate", "test"):
        x, t, y = data.split_triples(split)
        digits = digit_of(x)
        np.testing.assert_array_equal(t.argmax(axis=1), digits)
        np.testing.assert_array_equal(data.encoder_targets(split), t)
        assert y.shape == (len(x), 6, 27) and y.dtype == np.float32
        np.testing.assert_array_equal(y.sum(axis=2), 1.0)  # every step one symbol, pads too
        assert data.decode(y) == [ENGLISH_WORDS[d] for d in digits]
    y = data.test_data()[1]
    seven = y[digit_of(data.test_data()[0]) == 7][0]
    assert data.describe_output(seven) == "seven"
    assert list(seven.argmax(axis=1)) == [19, 5, 22, 5, 14, 0]  # s e v e n #


def test_mnist_eng_stages(tmp_path):
    write_set(tmp_path, "t10k", 200)
    data = make_dataset("mnist-eng", data_dir=tmp_path, seed=1)
    enc, dec, both = data.stage("encoder"), data.stage("decoder"), data.stage("both")
    assert (enc.mode, enc.input_shape, enc.output_shape) == ("select", (784,), (10,))
    assert (dec.mode, dec.input_shape, dec.output_shape) == ("seqselect", (10,), (6, 27))
    assert isinstance(dec.output_shape, SeqShape) and both.name == "mnist-eng-both"
    assert enc.target_names == [str(d) for d in range(10)] and hasattr(enc, "input_images")
    assert not hasattr(dec, "input_images")
    assert enc.train_count == data.train_count == 160
    for tx, ty in dec.train_batches(10, np.random.default_rng(0)):
        assert data.decode(ty) == [ENGLISH_WORDS[d] for d in tx.argmax(axis=1)]
    ex, ey = enc.validate_sample(5, np.random.default_rng(0))
    np.testing.assert_array_equal(ey.argmax(axis=1), digit_of(ex))
    assert len(list(both.train_batches(10, np.random.default_rng(0)))) == 16
    assert dec.describe_input(np.eye(10)[3]) == "3"
    assert dec.describe_output(english_targets()[3]) == "three"
    with pytest.raises(DataError, match="training mode"):
        data.stage("decode")


# =========================================================================== Korean numerals
KOREAN = {
    0: "영", 1: "일", 7: "칠", 10: "십", 11: "십일", 15: "십오", 20: "이십", 21: "이십일",
    99: "구십구", 100: "백", 101: "백일", 110: "백십", 111: "백십일", 205: "이백오",
    321: "삼백이십일", 999: "구백구십구", 1000: "천", 1001: "천일", 1010: "천십",
    1100: "천백", 1111: "천백십일", 2019: "이천십구", 3000: "삼천", 4050: "사천오십",
    7008: "칠천팔", 9999: "구천구백구십구",
}


@pytest.mark.parametrize("number, reading", sorted(KOREAN.items()))
def test_korean_reading(number, reading):
    assert read_korean_text(number) == reading
    assert read_korean(number) == list(reading)
    assert all(s in SYMBOLS for s in read_korean(number))


def test_korean_reading_limits():
    assert SYMBOLS == ("#", "영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구", "십", "백", "천")
    assert [longest_reading(d) for d in (1, 2, 3, 4)] == [1, 3, 5, 7]
    assert max(len(read_korean(n)) for n in range(10000)) == 7
    assert read_korean(np.int64(12)) == ["십", "이"]
    with pytest.raises(ValueError):
        read_korean(10000)
    with pytest.raises(ValueError):
        read_korean(-1)
    with pytest.raises(TypeError):
        read_korean(1.5)


# =========================================================================== mnist-kor
def _number_of(x: Sequences) -> np.ndarray:
    digits = digit_of(x.data.reshape(*x.shape[:2], -1))  # (n, digits)
    places = 10 ** np.arange(digits.shape[1] - 1, -1, -1)
    return digits @ places


@pytest.mark.parametrize("digits", [2, 4])
def test_mnist_kor_targets_read_the_drawn_digits(tmp_path, digits):
    write_set(tmp_path, "t10k", 400)
    data = make_dataset({"name": "mnist-kor", "digits": digits, "count": 1000}, data_dir=tmp_path, seed=2)
    assert data.mode == "seqselect" and data.name == f"mnist-kor{digits}"
    assert isinstance(data.input_shape, SeqShape) and data.input_shape == (digits, 784)
    assert isinstance(data.output_shape, SeqShape) and data.output_shape == (2 * digits, 14)
    assert (data.encoder_mode, data.encoder_shape) == ("regression", (1,))
    assert (data.train_count, data.validate_count, data.test_count) == (800, 50, 150)
    x, t, y = data.split_triples("test")
    assert isinstance(x, Sequences) and x.shape == (150, digits, 784) and (x.lengths == digits).all()
    numbers = _number_of(x)
    np.testing.assert_array_equal(numbers, data.numbers("test"))
    np.testing.assert_array_equal(t[:, 0], numbers)
    assert data.decode(y) == [read_korean_text(int(n)) for n in numbers]
    np.testing.assert_array_equal(y.sum(axis=2), 1.0)
    # test images come from the test split's images only
    test_stamps = {tuple(r) for r in load_mnist(tmp_path, 2, printer=lambda s: None).test[0][:, 1, :20]}
    drawn = {tuple(r) for r in x.data.reshape(-1, 784)[:, 28:48].astype(np.uint8)}
    assert drawn <= test_stamps
    # fresh training batches: numbers, images and readings agree, and differ epoch to epoch
    rng = np.random.default_rng(0)
    batches = list(data.train_triples(10, rng))
    assert len(batches) == 80
    for bx, bt, by in batches[:5]:
        n = _number_of(bx)
        np.testing.assert_array_equal(bt[:, 0], n)
        assert data.decode(by) == [read_korean_text(int(v)) for v in n]
    again = next(data.train_triples(10, rng))
    assert not np.array_equal(again[1], batches[0][1])
    pictures = data.input_images(x[:3])
    assert pictures.shape == (3, 28, 28 * digits) and pictures.dtype == np.uint8
    np.testing.assert_array_equal(pictures[:, 0, ::28] // 20, digit_of(x.data[:3]))
    with pytest.raises(DataError, match="fresh"):
        data.train_data()


def test_mnist_kor_fixed_splits_are_seeded_and_stages(tmp_path):
    write_set(tmp_path, "t10k", 400)
    spec = {"name": "mnist-kor", "digits": 3, "count": 400, "flatten": False}
    a = make_dataset(spec, data_dir=tmp_path, seed=7)
    b = make_dataset(spec, data_dir=tmp_path, seed=7)
    np.testing.assert_array_equal(a.test_data()[0].data, b.test_data()[0].data)
    assert a.input_shape == (3, 28, 28, 1) and a.test_data()[0].shape[1:] == (3, 28, 28, 1)
    dec = a.stage("decoder")
    assert (dec.mode, dec.input_shape, dec.output_shape) == ("seqselect", (1,), (6, 14))
    tx, ty = dec.test_data()
    assert a.decode(ty) == [read_korean_text(int(v)) for v in tx[:, 0]]
    enc = a.stage("encoder")
    assert (enc.mode, enc.input_shape, enc.output_shape) == ("regression", (3, 28, 28, 1), (1,))
    ex, et = enc.validate_sample(4, np.random.default_rng(0))
    assert isinstance(ex, Sequences) and et.shape == (4, 1)
    assert enc.describe_output(et[0]) == f"{et[0, 0]:.1f}"
    batch = next(a.stage("both").train_batches(10, np.random.default_rng(0)))
    assert isinstance(batch[0], Sequences) and batch[1].shape == (10, 6, 14)
    assert a.describe_output(batch[1][0]) == read_korean_text(int(_number_of(batch[0])[0]))


def test_mnist_kor_options_checked(tmp_path):
    with pytest.raises(SpecError, match="digits"):
        make_dataset({"name": "mnist-kor", "digits": 5}, data_dir=tmp_path)
    with pytest.raises(DataError, match="digits"):
        MnistKorDataset(tmp_path, 0, digits=0)


# =========================================================================== gan-mnist
def test_gan_mnist_range_filter_and_max_count(tmp_path):
    labels = write_set(tmp_path, "t10k", 300)
    data = make_dataset("gan-mnist", data_dir=tmp_path, seed=0)
    assert data.mode == "gan" and data.output_shape == (1,) and data.input_shape == (784,)
    x, y = data.train_data()
    assert x.min() >= -1 and x.max() <= 1 and x.min() == -1 and x.max() == 1
    np.testing.assert_array_equal(y, 1.0)
    assert data.train_count + data.validate_count + data.test_count == 300
    assert data.value_range == (-1.0, 1.0)

    some = make_dataset({"name": "gan-mnist", "nums": [6, 8]}, data_dir=tmp_path, seed=0)
    assert some.name == "gan-mnist-68"
    everything = np.concatenate([some.train_data()[0], some.validate_data()[0], some.test_data()[0]])
    assert len(everything) == int(np.isin(labels, [6, 8]).sum()) == 60
    pictures = some.input_images(everything)
    assert set(np.unique(pictures[:, 0, 0] // 20)) == {6, 8}

    capped = GanMnistDataset(tmp_path, 0, nums=[8], max_cnt=25)
    total = capped.train_count + capped.validate_count + capped.test_count
    assert total == 25 and "max_cnt 25" in capped.source
    firsts = make_images(labels)[labels == 8][:25]
    got = capped.input_images(np.concatenate([capped.train_data()[0], capped.validate_data()[0],
                                              capped.test_data()[0]]))
    assert {p.tobytes() for p in got} == {p.tobytes() for p in firsts}  # the first 25 eights

    flat = make_dataset({"name": "gan-mnist", "flatten": False, "max_cnt": 50}, data_dir=tmp_path, seed=0)
    assert flat.input_shape == (28, 28, 1) and flat.train_data()[0].shape[1:] == (28, 28, 1)
    with pytest.raises(SpecError, match="nums"):
        make_dataset({"name": "gan-mnist", "nums": [6, 10]}, data_dir=tmp_path)
    other = tmp_path / "nofive"
    write_set(other, "t10k", 30, labels=[1, 2, 3] * 10)
    with pytest.raises(DataError, match="no image of the digits"):
        GanMnistDataset(other, 0, nums=[5])


# =========================================================================== gan-picture
def _painting(path: Path, size=(100, 70), fmt="PNG") -> np.ndarray:
    """A picture whose 32×32 tiles are flat colours: tile (r, c) = (40 r, 40 c, 200)."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    for r in range(0, height, 32):
        for c in range(0, width, 32):
            pixels[r:r + 32, c:c + 32] = (40 * (r // 32) % 256, 40 * (c // 32) % 256, 200)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return pixels


def test_cut_tiles_order():
    pixels = np.arange(70 * 100 * 3).astype(np.uint8).reshape(70, 100, 3)
    tiles = cut_tiles(pixels)  # 2 rows × 3 columns; the 6-pixel and 4-pixel rims dropped
    assert tiles.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(tiles[4], pixels[32:64, 32:64])
    np.testing.assert_array_equal(tiles[2], pixels[0:32, 64:96])


def test_gan_picture_tiles_of_a_generated_jpeg(tmp_path):
    _painting(tmp_path / "pictures" / "gogh.jpg", (200, 150), "JPEG")  # 6 × 4 = 24 tiles
    data = make_dataset({"name": "gan-picture", "file": "gogh"}, data_dir=tmp_path, seed=0)
    assert data.name == "gan-picture-gogh" and data.mode == "gan"
    assert data.input_shape == (3072,) and data.output_shape == (1,)
    assert (data.train_count, data.validate_count, data.test_count) == (10, 1, 13)
    x, y = data.train_data()
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(y, 1.0)
    pictures = data.input_images(x)
    assert pictures.shape == (10, 32, 32, 3)
    blue = pictures[:, 8:24, 8:24, 2].astype(int)
    assert np.abs(blue - 200).max() <= 6  # JPEG keeps flat colours close
    same = make_dataset({"name": "gan-picture", "file": "pictures/gogh.jpg", "flatten": False},
                        data_dir=tmp_path, seed=0)
    assert same.input_shape == (32, 32, 3) and same.train_data()[0].shape == (10, 32, 32, 3)
    np.testing.assert_allclose(same.train_data()[0].reshape(10, -1), x)


def test_gan_picture_png_exact_and_downscale(tmp_path):
    pixels = _painting(tmp_path / "art.png", (100, 70))  # 3 × 2 = 6 tiles, remainder dropped
    data = GanPictureDataset(tmp_path, 0, file="art.png", flatten=False)
    everything = np.concatenate([data.train_data()[0], data.validate_data()[0], data.test_data()[0]])
    assert len(everything) == 6
    got = {p.tobytes() for p in data.input_images(everything)}
    assert got == {t.tobytes() for t in cut_tiles(pixels)}
    big = tmp_path / "big.png"
    _painting(big, (640, 480))  # 20 × 15 = 300 tiles
    small = GanPictureDataset(tmp_path, 0, file=str(big), max_tiles=50)
    total = small.train_count + small.validate_count + small.test_count
    assert 40 <= total <= 50 and "downscaled" in small.source
    with pytest.raises(DataError, match="jungsun.jpg"):
        GanPictureDataset(tmp_path, 0, file="jungsun")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (20, 40)).save(tiny)
    with pytest.raises(DataError, match="smaller than one"):
        GanPictureDataset(tmp_path, 0, file="tiny.png")


# =========================================================================== real files
def test_real_t10k_files():
    root = _real_data()
    folder = root / "mnist"
    if not (folder / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the real MNIST t10k files are not in {folder} (set ALZZA_DATA): skipped")
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    data = make_dataset("mnist", data_dir=root, seed=0)
    if (folder / "train-images-idx3-ubyte.gz").exists() or (folder / "train-images-idx3-ubyte").exists():
        assert data.test_count == 10000
    else:
        assert str(data) == "mnist(select, 8000+1500+500)"
    kor = make_dataset({"name": "mnist-kor", "digits": 2, "count": 2000}, data_dir=root, seed=0)
    assert kor.decode(kor.test_data()[1][:1])[0] == read_korean_text(int(kor.numbers("test")[0]))


def test_gan_picture_overlapping_tiles():
    """stride < 32 cuts overlapping tiles: tile k+1 is tile k shifted by the stride."""
    from alzza.data.sets.gan_picture import cut_tiles

    pixels = np.arange(64 * 80 * 3, dtype=np.uint32).reshape(64, 80, 3).astype(np.uint8)
    side = cut_tiles(pixels)
    assert side.shape == (2 * 2, 32, 32, 3)
    assert np.array_equal(side[1], pixels[0:32, 32:64])
    over = cut_tiles(pixels, stride=16)
    assert over.shape == (3 * 4, 32, 32, 3)
    assert np.array_equal(over[1], pixels[0:32, 16:48])
    assert np.array_equal(over[4], pixels[16:48, 0:32])
